/**
 * Backend file tests: IR in, `luabpf opt --emit asm` out, checked with FileCheck —
 * instruction selection, leaving SSA and register allocation as the eBPF they produce
 * (format and runner: passes/test/filetest.ts, filecheck.ts).
 * `LUABPF_BLESS=1 npx vitest run filetests` rewrites generated expectations.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { runFileTest } from "@luabpf/test-support";
import { optRunner } from "../../passes/test/opt-runner.js";

const DIR = join(import.meta.dirname, "files");
const BLESS = process.env.LUABPF_BLESS === "1";
const files = readdirSync(DIR).filter((f) => f.endsWith(".ir")).sort();

describe("backend file tests", () => {
  test("there are backend file tests", () => expect(files.length).toBeGreaterThanOrEqual(3));
  for (const file of files) {
    test(file, async () => {
      const path = join(DIR, file);
      const text = readFileSync(path, "utf8");
      const r = await runFileTest(`test/files/${file}`, text, optRunner(path), { bless: BLESS });
      if (BLESS && r.blessed !== undefined && r.blessed !== text) writeFileSync(path, r.blessed);
      expect(r.failures, r.failures.join("\n\n")).toEqual([]);
    });
  }
});
