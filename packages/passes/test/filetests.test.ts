/**
 * The file tests of the passes: every `test/files/*.ir` is run through the real `luabpf
 * opt` command (in process), its output FileChecked and its `exec:` lines run in the
 * interpreter before and after (see filetest.ts for the format, filecheck.ts for the
 * directives). `LUABPF_BLESS=1 npx vitest run filetests` rewrites generated expectations;
 * review the diff.
 */
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { fileTestsIn, runFileTestIn } from "@luabpf/test-support";
import { optRunner } from "./opt-runner.js";

const DIR = join(import.meta.dirname, "files");
const BLESS = process.env.LUABPF_BLESS === "1";

const files = fileTestsIn(DIR);

describe("file tests", () => {
  test("there are file tests", () => expect(files.length).toBeGreaterThan(5));
  for (const file of files) {
    test(file, async () => {
      const r = await runFileTestIn(DIR, file, optRunner, { bless: BLESS });
      expect(r.failures, r.failures.join("\n\n")).toEqual([]);
    });
  }
});
