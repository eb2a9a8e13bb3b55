/**
 * Backend file tests: IR in, `luabpf opt --emit asm` out, checked with FileCheck —
 * instruction selection, leaving SSA and register allocation as the eBPF they produce
 * (format and runner: test-support filetest.ts, filecheck.ts).
 * `LUABPF_BLESS=1 npx vitest run filetests` rewrites generated expectations.
 */
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { fileTestsIn, runFileTestIn } from "@luabpf/test-support";
import { optRunner } from "../../passes/test/opt-runner.js";

const DIR = join(import.meta.dirname, "files");
const BLESS = process.env.LUABPF_BLESS === "1";
const files = fileTestsIn(DIR);

describe("backend file tests", () => {
  test("there are backend file tests", () => expect(files.length).toBeGreaterThanOrEqual(3));
  for (const file of files) {
    test(file, async () => {
      const r = await runFileTestIn(DIR, file, optRunner, { bless: BLESS });
      expect(r.failures, r.failures.join("\n\n")).toEqual([]);
    });
  }
});
