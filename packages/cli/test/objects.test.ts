// Objects from every example are read by independent tools: llvm-objdump, llvm-readelf,
// and libbpf (bpftool prog loadall) loads them into the kernel. Output is deterministic.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { kernelOrSkip } from "@luabpf/loader";
import { withoutAttachNotice } from "@luabpf/test-support";
import { compileToElf } from "../src/driver.js";
import { cli, ensureBpffs, example, haveTool, ROOT, run } from "./helpers.js";

const examples = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".lua")).sort();
const dir = mkdtempSync(join(tmpdir(), "luabpf-objects-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const objectOf = (name: string): string => {
  const out = join(dir, name.replace(/\.lua$/, ".o"));
  writeFileSync(out, compileToElf(readFileSync(example(name), "utf8"), { file: name }));
  return out;
};

describe("example objects", () => {
  test("there are examples", () => expect(examples.length).toBeGreaterThanOrEqual(6));

  test.each(examples)("%s compiles to the same bytes twice", (name) => {
    const src = readFileSync(example(name), "utf8");
    expect(Buffer.from(compileToElf(src, { file: name })).equals(Buffer.from(compileToElf(src, { file: name })))).toBe(true);
  });

  describe.skipIf(!haveTool("llvm-objdump-16") || !haveTool("llvm-readelf-16"))("LLVM reads them without warnings", () => {
    test.each(examples)("%s", async (name) => {
      const o = objectOf(name);
      const dis = run("llvm-objdump-16", ["-d", "-r", o]);
      expect(dis.status).toBe(0);
      expect(dis.stderr).toBe("");
      expect(dis.stdout).toMatch(/exit/);
      const elf = run("llvm-readelf-16", ["-a", o]);
      expect(elf.status).toBe(0);
      expect(elf.stderr).toBe("");
      expect(elf.stdout).toMatch(/EM_BPF|BPF/);
      // Our --emit asm listing agrees with llvm-objdump's disassembly, instruction for instruction.
      const ours = await cli("compile", example(name), "--emit", "asm");
      expect(ours.code).toBe(0);
      const insnLines = (s: string): string[] => s.split("\n").filter((l) => /^\s+\d+:\t/.test(l)).map((l) => l.trim());
      const theirs = run("llvm-objdump-16", ["-d", o]).stdout;
      expect(insnLines(ours.stdout).length).toBeGreaterThan(0);
      expect(insnLines(ours.stdout).map((l) => l.split("\t")[1])).toEqual(insnLines(theirs).map((l) => l.split("\t")[1]));
    });
  });

  describe.skipIf(!haveTool("bpftool") || !kernelOrSkip())("libbpf loads them (bpftool prog loadall)", () => {
    test.each(examples)("%s", (name) => {
      ensureBpffs();
      const o = objectOf(name);
      const pin = `/sys/fs/bpf/luabpf-test-${process.pid}-${name.replace(/\W/g, "_")}`;
      try {
        const r = run("bpftool", ["prog", "loadall", o, pin]);
        expect(withoutAttachNotice(r.stderr)).toBe("");
        expect(r.status).toBe(0);
        expect(readdirSync(pin).length).toBeGreaterThan(0);
      } finally {
        rmSync(pin, { recursive: true, force: true });
      }
    });
  });
});
