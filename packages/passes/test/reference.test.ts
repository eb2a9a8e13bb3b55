/**
 * docs/passes.md's reference part is generated from the registry: it must equal what the
 * registry says now (`LUABPF_BLESS=1 npx vitest run reference` rewrites it), and every
 * built-in pass links to a file that exists.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { REFERENCE_BEGIN, REFERENCE_END, defaultRegistry, passReference } from "../src/index.js";

const DOC = join(import.meta.dirname, "../../../docs/passes.md");

test("docs/passes.md holds the reference generated from the registry", () => {
  const doc = readFileSync(DOC, "utf8");
  const begin = doc.indexOf(REFERENCE_BEGIN);
  const end = doc.indexOf(REFERENCE_END);
  expect(begin).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(begin);
  const generated = `${REFERENCE_BEGIN}\n${passReference()}${REFERENCE_END}`;
  const current = doc.slice(begin, end + REFERENCE_END.length);
  if (process.env.LUABPF_BLESS === "1" && current !== generated) writeFileSync(DOC, doc.slice(0, begin) + generated + doc.slice(end + REFERENCE_END.length));
  else expect(current).toBe(generated);
});

test("the reference lists every pass with its source file, and the -O pipelines", () => {
  const text = passReference();
  for (const name of defaultRegistry.names()) {
    expect(text).toContain(`| [\`${name}\`](../packages/passes/src/passes/${name}.ts) |`);
    expect(existsSync(join(import.meta.dirname, `../src/passes/${name}.ts`)), name).toBe(true);
  }
  expect(text).toMatch(/\| `-O2` \| `inline, sccp, instcombine, /);
  expect(text).toContain("| aggressive: boolean = true (");
});
