/**
 * File tests: every `test/files/*.ir` names a pipeline (`; pipeline: sccp,dce`), holds the
 * input IR, `; run: f(1, 2) == 3` lines executed by the interpreter before and after the
 * pipeline, and `; check:` / `; nextln:` / `; not:` directives matched against the printed
 * functions after the pipeline (run with verification and the analysis check on).
 *
 * `LUABPF_BLESS=1 npx vitest run filetests` rewrites the `check:`/`nextln:` lines of every
 * file to the exact current output (keeping `not:` and `run:` lines). Review the diff.
 */
import { parseModule, printFunction } from "@luabpf/ir";
import { interpret } from "./interp.js";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PassManager, parsePipeline } from "../src/index.js";
import { fileCheck, type Directive } from "@luabpf/test-support";

const DIR = join(import.meta.dirname, "files");
const BLESS = process.env.LUABPF_BLESS === "1";

interface RunLine {
  fn: string;
  args: bigint[];
  expected: bigint;
  line: number;
}

function parseHeader(text: string) {
  let pipeline: string | undefined;
  const directives: Directive[] = [];
  const runs: RunLine[] = [];
  text.split("\n").forEach((raw, i) => {
    const m = /^\s*;\s*(pipeline|check|nextln|not|run):\s?(.*)$/.exec(raw);
    if (!m) return;
    const [, kind, rest] = m as unknown as [string, string, string];
    if (kind === "pipeline") pipeline = rest.trim();
    else if (kind === "run") {
      const r = /^\s*(\w+)\(([^)]*)\)\s*==\s*(-?\d+)\s*$/.exec(rest);
      if (!r) throw new Error(`line ${i + 1}: bad run line '${rest}' (want: fn(1, 2) == 3)`);
      const args = r[2]!.trim() ? r[2]!.split(",").map((a) => BigInt(a.trim())) : [];
      runs.push({ fn: r[1]!, args, expected: BigInt(r[3]!), line: i + 1 });
    } else directives.push({ kind: kind as Directive["kind"], text: rest.trimEnd(), line: i + 1 });
  });
  if (pipeline === undefined) throw new Error("missing '; pipeline: ...' header");
  return { pipeline, directives, runs };
}

function bless(text: string, output: string): string {
  const kept = text.split("\n").filter((l) => !/^\s*;\s*(check|nextln):/.test(l));
  while (kept.length && kept[kept.length - 1]!.trim() === "") kept.pop();
  const out = output.trimEnd().split("\n");
  return [...kept, "", ...out.map((l, i) => `; ${i === 0 ? "check" : "nextln"}: ${l}`.trimEnd()), ""].join("\n");
}

const files = readdirSync(DIR).filter((f) => f.endsWith(".ir")).sort();

describe("file tests", () => {
  test("there are file tests", () => expect(files.length).toBeGreaterThan(5));
  for (const file of files) {
    test(file, () => {
      const path = join(DIR, file);
      const text = readFileSync(path, "utf8");
      const { pipeline, directives, runs } = parseHeader(text);
      const module = parseModule(text, { file });
      const before = runs.map((r) => interpret(module, r.fn, r.args).value);
      new PassManager(parsePipeline(pipeline), { verify: true, checkAnalyses: true }).run(module);
      const output = module.functions.map(printFunction).join("\n");
      runs.forEach((r, i) => {
        expect(before[i], `line ${r.line}: ${r.fn}(${r.args.join(", ")}) before the pipeline`).toBe(r.expected);
        expect(interpret(module, r.fn, r.args).value, `line ${r.line}: ${r.fn}(${r.args.join(", ")}) after the pipeline`).toBe(r.expected);
      });
      if (BLESS) {
        const blessed = bless(text, output);
        if (blessed !== text) writeFileSync(path, blessed);
        return;
      }
      expect(directives.filter((d) => d.kind !== "not").length, "a file test needs check lines (bless with LUABPF_BLESS=1)").toBeGreaterThan(0);
      const failure = fileCheck(output, directives);
      expect(failure, `${file}: ${failure}\n--- output ---\n${output}`).toBeUndefined();
    });
  }
});
