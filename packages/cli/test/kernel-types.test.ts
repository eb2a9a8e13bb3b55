// The kernel type source: a BTF file is read and indexed once per process and used again
// while the file is unchanged (a tracing program's warm compile is mostly that read), and
// read again when it changes.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeBtf, type BtfType } from "@luabpf/elf";
import { afterAll, describe, expect, it } from "vitest";
import { IoError } from "../src/errors.js";
import { kernelTypeSource } from "../src/kernel-types.js";

const dir = mkdtempSync(join(tmpdir(), "luabpf-kernel-types-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const int: BtfType = { kind: "int", name: "int", size: 4, signed: true };
const u64: BtfType = { kind: "int", name: "u64", size: 8, signed: false };

describe("kernelTypeSource", () => {
  it("reads a BTF file once while it is unchanged and again when it changes", () => {
    const path = join(dir, "one.btf");
    writeFileSync(path, encodeBtf([int]).bytes);
    const first = kernelTypeSource(path).btf!;
    expect(first.idsNamed("int")).toHaveLength(1);
    expect(kernelTypeSource(path).btf).toBe(first);

    writeFileSync(path, encodeBtf([int, u64]).bytes);
    utimesSync(path, new Date(), new Date(Date.now() + 5000)); // a different modification time, whatever the clock's resolution
    const second = kernelTypeSource(path).btf!;
    expect(second).not.toBe(first);
    expect(second.idsNamed("u64")).toHaveLength(1);
  });

  it("a file that stops being BTF is an IoError, not the index read before", () => {
    const path = join(dir, "two.btf");
    writeFileSync(path, encodeBtf([int]).bytes);
    expect(kernelTypeSource(path).btf).toBeDefined();
    writeFileSync(path, "not BTF at all");
    utimesSync(path, new Date(), new Date(Date.now() + 10000));
    expect(() => kernelTypeSource(path).btf).toThrow(IoError);
    expect(() => kernelTypeSource(path).btf).toThrow(/not a BTF file/);
  });

  it("a missing file is an IoError naming it", () => {
    const path = join(dir, "missing.btf");
    expect(() => kernelTypeSource(path).btf).toThrow(IoError);
    expect(kernelTypeSource(path).btfOrigin).toBe(path);
  });
});
