// Context layouts against the running kernel's BTF: `bpftool btf dump` of
// /sys/kernel/btf/vmlinux lists each struct's members with bit offsets; every field of
// our tables must sit at the kernel's offset, and each struct must have the kernel's size.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { CONTEXT_STRUCTS, contextField } from "../src/index.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
function bpftool(): string | undefined {
  if (!existsSync(VMLINUX)) return undefined;
  try {
    return execFileSync("bpftool", ["btf", "dump", "file", VMLINUX], { encoding: "utf8", maxBuffer: 1 << 28 });
  } catch {
    return undefined;
  }
}
const dump = bpftool();

/** The kernel's members of `struct name`: [member name or "(anon)", byte offset], and the size. */
function kernelStruct(name: string): { size: number; members: [string, number][] } {
  const lines = dump!.split("\n");
  const at = lines.findIndex((l) => new RegExp(`^\\[\\d+\\] STRUCT '${name}' size=(\\d+) vlen=(\\d+)`).test(l));
  expect(at, `struct ${name} in ${VMLINUX}`).toBeGreaterThanOrEqual(0);
  const [, size, vlen] = /size=(\d+) vlen=(\d+)/.exec(lines[at]!)!;
  const members = lines.slice(at + 1, at + 1 + Number(vlen)).map((l): [string, number] => {
    const m = /^\s*'([^']*)' type_id=\d+ bits_offset=(\d+)/.exec(l)!;
    return [m[1]!, Number(m[2]) / 8];
  });
  return { size: Number(size), members };
}

describe.skipIf(dump === undefined)(`context layouts agree with ${VMLINUX} (needs bpftool)`, () => {
  for (const [name, ours] of Object.entries(CONTEXT_STRUCTS)) {
    test(`struct ${name}`, () => {
      const kernel = kernelStruct(name);
      expect(ours.size).toBe(kernel.size);
      // Every kernel member is one of ours at the same offset (anonymous unions by offset).
      for (const [member, offset] of kernel.members) {
        const f = member === "(anon)" ? ours.fields.find((x) => x.offset === offset) : contextField(ours, member);
        expect(f, `${name}.${member}`).toBeDefined();
        expect(f!.offset, `${name}.${member}`).toBe(offset);
      }
      expect(ours.fields.length).toBe(kernel.members.length);
    });
  }
});
