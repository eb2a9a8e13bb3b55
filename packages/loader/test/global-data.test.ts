// Global data in clang objects (test/c/global_data.bpf.c), loaded as libbpf loads it: each of
// .rodata, .data, .bss and .rodata.cst4 becomes a one-entry array map holding the section's
// bytes, and every `lddw` of a variable's address becomes a map-value load of the right
// offset — both clang forms: against the variable's symbol, and against the section symbol
// with the offset in the instruction (the bpf_printk format). The reader's part (sections,
// DATASEC offsets fixed up from the symbols, relocation kinds) is checked without a kernel;
// the rest through BPF_PROG_TEST_RUN on packets of known lengths.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { readObject, type BpfObject, type BtfType } from "@luabpf/elf";
import { MapFlag } from "@luabpf/platform";
import { BpfError, buildPacket, kernelOrSkip, loadObject, mapInfo, typedMap } from "../src/index.js";
import { compileBpfC, hasTool } from "@luabpf/test-support";

const C_DIR = new URL("./c/", import.meta.url);
const kernel = kernelOrSkip();
const clang = hasTool("clang-16");
if (!clang && process.env.CI) throw new Error("global-data tests need clang-16");

/** The object's data section `name`'s variables and their offsets, from its fixed-up DATASEC. */
function variables(object: BpfObject, name: string): Record<string, number> {
  const type = object.data?.find((section) => section.name === name)?.type;
  if (type?.kind !== "datasec") throw new Error(`no DATASEC for ${name}`);
  return Object.fromEntries(type.vars.map((entry) => [(entry.var as BtfType & { name: string }).name, entry.offset]));
}

describe.skipIf(!clang)("global data", () => {
  let object: BpfObject;
  beforeAll(() => {
    object = readObject(new Uint8Array(readFileSync(compileBpfC(C_DIR, "global_data"))));
  });

  it("reads every data section with its bytes, its variables' offsets and its relocations", () => {
    const sections = Object.fromEntries((object.data ?? []).map((section) => [section.name, section]));
    expect(Object.keys(sections).sort()).toEqual([".bss", ".data", ".rodata", ".rodata.cst4"]);
    expect(sections[".rodata"]!.readonly).toBe(true);
    expect(sections[".rodata.cst4"]!.readonly).toBe(true);
    expect(sections[".data"]!.readonly).toBe(false);
    // Initial values: packets = 100 (.data), nothing in .bss, the table in .rodata.cst4.
    expect(new DataView(sections[".data"]!.bytes.buffer).getBigUint64(0, true)).toBe(100n);
    expect(sections[".bss"]!.bytes).toEqual(new Uint8Array(12));
    expect([...sections[".rodata.cst4"]!.bytes]).toEqual([3, 5, 7, 11]);
    // clang leaves DATASEC offsets zero; the reader takes them from the symbols.
    expect(variables(object, ".bss")).toEqual({ bytes: 0, last_len: 8 });
    // bpf_printk's format is a static variable named after its function.
    expect(variables(object, ".rodata")).toEqual({ snap_len: 0, "count_bytes.____fmt": 4 });
    const relocations = object.programs.find((program) => program.name === "count_bytes")!.relocations;
    expect(relocations.map((r) => [r.type, r.symbol, r.addend])).toEqual([
      ["data", ".data", 0],
      ["data", ".bss", 0],
      ["data", ".bss", 8],
      ["data", ".rodata", 0], // the printk format: the section symbol, its offset in the lddw
      ["data", ".rodata", 0], // snap_len
      ["data", ".rodata.cst4", 0],
    ]);
  });

  describe.skipIf(!kernel)("on the kernel", () => {
    /** A test run gives a socket filter the packet without its Ethernet header. */
    const skbLen = (packet: Uint8Array) => packet.length - 14;
    /** What count_bytes returns for a packet with setting `snap`. */
    const expected = (packet: Uint8Array, snap: number) => Math.min(skbLen(packet), snap) + [3, 5, 7, 11][skbLen(packet) & 3]!;

    it("binds each variable to its section's map and offset", () => {
      const loaded = loadObject(object);
      try {
        const program = loaded.programs.get("count_bytes")!;
        const short = buildPacket("udp");
        const long = buildPacket("tcp,payload=0123456789012345678901234567890123456789");
        expect(skbLen(short)).toBeLessThan(48);
        expect(skbLen(long)).toBeGreaterThan(48);
        expect(program.testRun(short).retval).toBe(expected(short, 48));
        expect(program.testRun(long).retval).toBe(expected(long, 48));
        // .data started at 100; .bss at zero: two runs counted, the last length kept.
        expect(typedMap(loaded.maps.get(".data")!).get(0)).toEqual({ packets: 102n });
        // Typed by the DATASEC in the kernel too (what bpftool's map dump shows by variable).
        expect(mapInfo(loaded.maps.get(".data")!.fd).btfValueTypeId).toBeGreaterThan(0);
        expect(typedMap(loaded.maps.get(".bss")!).get(0)).toEqual({ bytes: BigInt(skbLen(short) + skbLen(long)), last_len: skbLen(long) });
      } finally {
        loaded.close();
      }
    });

    it("makes .rodata read-only for programs and frozen; a setting changed before load is what the program reads", () => {
      const rodata = object.data!.find((section) => section.name === ".rodata")!;
      const bytes = rodata.bytes.slice();
      new DataView(bytes.buffer).setUint32(variables(object, ".rodata").snap_len!, 20, true);
      const loaded = loadObject({ ...object, data: object.data!.map((section) => (section === rodata ? { ...section, bytes } : section)) });
      try {
        const map = loaded.maps.get(".rodata")!;
        expect(map.flags & MapFlag.rdonlyProg).toBe(MapFlag.rdonlyProg);
        expect(mapInfo(map.fd).flags & MapFlag.rdonlyProg).toBe(MapFlag.rdonlyProg);
        // Frozen: user space can no longer write it (EPERM).
        expect(() => typedMap(map).set(0, { snap_len: 30 })).toThrow(BpfError);
        const packet = buildPacket("tcp,payload=0123456789012345678901234567890123456789");
        expect(loaded.programs.get("count_bytes")!.testRun(packet).retval).toBe(expected(packet, 20));
        // .data and .bss stay writable from user space, as with libbpf.
        typedMap(loaded.maps.get(".data")!).set(0, { packets: 7 });
        expect(typedMap(loaded.maps.get(".data")!).get(0)).toEqual({ packets: 7n });
      } finally {
        loaded.close();
      }
    });
  });
});
