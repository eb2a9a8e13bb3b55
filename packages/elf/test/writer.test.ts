// Writer: determinism, ELF structure (read back with our generic ELF parser, which
// is checked against llvm-readelf in tools.test.ts) and input validation.
import { MapType } from "@luabpf/platform";
import { describe, expect, it } from "vitest";
import {
  ElfError,
  RelocType,
  SectionFlag,
  SectionType,
  SymbolBind,
  SymbolType,
  parseElf,
  parseRelocations,
  writeObject,
  type BpfObject,
} from "../src/index.js";
import { lookupProgram, returnZero, sampleObject } from "./fixtures.js";

describe("writeObject determinism", () => {
  it("gives byte-identical output for the same input", () => {
    const first = writeObject(sampleObject());
    const second = writeObject(sampleObject());
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
  });

  it("does not depend on object identity of structurally equal types", () => {
    const shared = sampleObject();
    const copied = structuredClone(shared);
    expect(Buffer.from(writeObject(copied)).equals(Buffer.from(writeObject(shared)))).toBe(true);
  });

  it("changes when the input changes", () => {
    const changed = sampleObject();
    changed.maps[0]!.maxEntries = 17;
    expect(Buffer.from(writeObject(changed)).equals(Buffer.from(writeObject(sampleObject())))).toBe(false);
  });
});

describe("writeObject ELF structure", () => {
  // Without DWARF (dwarf.test.ts covers the debug sections).
  const elf = parseElf(writeObject(sampleObject(), { dwarf: false }));
  const section = (name: string) => {
    const found = elf.sections.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no section ${name}`);
    return found;
  };

  it("is an ELF64 LE EM_BPF relocatable with the expected sections in order", () => {
    expect(elf.machine).toBe(247);
    expect(elf.type).toBe(1);
    expect(elf.sections.map((candidate) => candidate.name)).toEqual([
      "",
      ".strtab",
      "socket",
      ".relsocket",
      "xdp",
      "kprobe/do_sys_open",
      ".relkprobe/do_sys_open",
      "license",
      ".maps",
      ".BTF",
      ".BTF.ext",
      ".symtab",
    ]);
  });

  it("marks code sections alloc+exec with 8-byte alignment", () => {
    for (const name of ["socket", "xdp", "kprobe/do_sys_open"]) {
      expect(section(name)).toMatchObject({
        type: SectionType.progbits,
        flags: SectionFlag.alloc | SectionFlag.execInstr,
        align: 8,
      });
    }
    expect(section("socket").data).toEqual(lookupProgram);
    expect(section("xdp").data).toEqual(returnZero);
  });

  it("writes a NUL-terminated license and zeroed .maps storage", () => {
    expect(section("license")).toMatchObject({ flags: SectionFlag.alloc | SectionFlag.write });
    expect([...section("license").data]).toEqual([0x47, 0x50, 0x4c, 0]);
    const maps = section(".maps");
    expect(maps.flags).toBe(SectionFlag.alloc | SectionFlag.write);
    expect(maps.size).toBe(32 + 40); // 4 and 5 pointer members
    expect(maps.data.every((byte) => byte === 0)).toBe(true);
  });

  it("lists local symbols first and points sh_info at the first global", () => {
    const symtab = section(".symtab");
    expect(symtab.link).toBe(elf.sections.indexOf(section(".strtab")));
    expect(symtab.info).toBe(elf.firstGlobal);
    const firstGlobal = elf.symbols.findIndex((symbol) => symbol.bind !== SymbolBind.local);
    expect(symtab.info).toBe(firstGlobal);
    expect(elf.symbols.slice(firstGlobal).every((symbol) => symbol.bind !== SymbolBind.local)).toBe(true);
  });

  it("has one STT_FUNC per program, one STT_OBJECT per map and _license", () => {
    const rows = elf.symbols.slice(1).map((symbol) => ({
      name: symbol.name,
      bind: symbol.bind,
      type: symbol.type,
      section: elf.sections[symbol.section]!.name,
      value: symbol.value,
      size: symbol.size,
    }));
    const global = SymbolBind.global;
    expect(rows).toEqual([
      { name: "count_packets", bind: global, type: SymbolType.func, section: "socket", value: 0, size: 72 },
      { name: "pass_all", bind: global, type: SymbolType.func, section: "xdp", value: 0, size: 16 },
      { name: "probe_open", bind: global, type: SymbolType.func, section: "kprobe/do_sys_open", value: 0, size: 72 },
      { name: "_license", bind: global, type: SymbolType.object, section: "license", value: 0, size: 4 },
      { name: "counters", bind: global, type: SymbolType.object, section: ".maps", value: 0, size: 32 },
      { name: "table", bind: global, type: SymbolType.object, section: ".maps", value: 32, size: 40 },
    ]);
  });

  it("relocates each lddw against its map with R_BPF_64_64", () => {
    const rel = section(".relsocket");
    expect(rel).toMatchObject({ type: SectionType.rel, entrySize: 16, flags: SectionFlag.infoLink });
    expect(rel.link).toBe(elf.sections.indexOf(section(".symtab")));
    expect(rel.info).toBe(elf.sections.indexOf(section("socket")));
    const relocations = parseRelocations(rel, elf.symbols.length);
    expect(relocations).toHaveLength(1);
    expect(relocations[0]!.type).toBe(RelocType.bpf64_64);
    expect(relocations[0]!.offset).toBe(0);
    expect(elf.symbols[relocations[0]!.symbol]!.name).toBe("counters");
  });

  it("puts several programs of one section back to back", () => {
    const object: BpfObject = {
      license: "GPL",
      programs: [
        { name: "first", section: "xdp", code: returnZero, relocations: [] },
        { name: "second", section: "xdp", code: lookupProgram, relocations: [{ offset: 0, symbol: "m" }] },
      ],
      maps: [{ name: "m", type: MapType.array, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 }],
    };
    const parsed = parseElf(writeObject(object));
    const xdp = parsed.sections.find((candidate) => candidate.name === "xdp")!;
    expect(xdp.size).toBe(returnZero.length + lookupProgram.length);
    const second = parsed.symbols.find((symbol) => symbol.name === "second")!;
    expect(second.value).toBe(16);
    const rel = parsed.sections.find((candidate) => candidate.name === ".relxdp")!;
    expect(parseRelocations(rel, parsed.symbols.length)[0]!.offset).toBe(16);
  });
});

describe("writeObject validation", () => {
  const expectError = (mutate: (object: BpfObject) => void, message: RegExp) => {
    const object = sampleObject();
    mutate(object);
    let caught: unknown;
    try {
      writeObject(object);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ElfError);
    expect((caught as Error).message).toMatch(message);
  };

  it("rejects a relocation that does not point at an lddw", () => {
    expectError(
      (object) => (object.programs[0]!.relocations[0]!.offset = 16),
      /^program 0 \(count_packets\): relocation 0: offset 16: opcode 0xbf is not lddw/,
    );
  });
  it("rejects a misaligned relocation and one past the end", () => {
    expectError((object) => (object.programs[0]!.relocations[0]!.offset = 4), /not at an instruction boundary/);
    expectError((object) => (object.programs[0]!.relocations[0]!.offset = 64), /an lddw needs 16 bytes/);
  });
  it("rejects a relocation against an unknown map", () => {
    expectError((object) => (object.programs[0]!.relocations[0]!.symbol = "nope"), /symbol "nope" is not a map/);
  });
  it("rejects duplicate and non-identifier names", () => {
    expectError((object) => (object.programs[1]!.name = "counters"), /symbol name counters is used twice/);
    expectError((object) => (object.maps[0]!.name = "a-b"), /"a-b" is not a C identifier/);
    expectError((object) => (object.programs[0]!.name = "_license"), /used twice/);
  });
  it("rejects code that is not whole instructions", () => {
    expectError((object) => (object.programs[1]!.code = new Uint8Array(12)), /code size 12/);
    expectError((object) => (object.programs[1]!.code = new Uint8Array(0)), /code size 0/);
  });
  it("rejects reserved section names", () => {
    expectError((object) => (object.programs[1]!.section = ".maps"), /reserved/);
    expectError((object) => (object.programs[1]!.section = ".relxdp"), /reserved/);
  });
  it("rejects a key type whose size disagrees with keySize", () => {
    expectError((object) => (object.maps[0]!.keySize = 8), /map counters: key type unsigned int has size 4, keySize is 8/);
  });
  it("rejects out-of-range map numbers", () => {
    expectError((object) => (object.maps[1]!.maxEntries = -1), /map 1 \(table\): maxEntries -1 is not a u32/);
  });
  it("rejects line info that does not increase or points into an lddw", () => {
    expectError(
      (object) =>
        (object.programs[0]!.lines = [
          { offset: 0, file: "f", line: 1, column: 1, text: "" },
          { offset: 8, file: "f", line: 1, column: 1, text: "" },
        ]),
      /line 1: offset 8 is the second half of an lddw/,
    );
    expectError(
      (object) =>
        (object.programs[1]!.lines = [
          { offset: 8, file: "f", line: 1, column: 1, text: "" },
          { offset: 0, file: "f", line: 1, column: 1, text: "" },
        ]),
      /offset 0 does not increase/,
    );
  });
  it("accepts a map with neither key nor value (ring buffer): only type and max_entries", () => {
    const object = sampleObject();
    object.maps.push({ name: "events", type: MapType.ringbuf, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 });
    const maps = parseElf(writeObject(object)).sections.find((candidate) => candidate.name === ".maps")!;
    expect(maps.size).toBe(32 + 40 + 16);
  });
});
