// DWARF: the debug sections the writer adds when programs carry line records, judged by
// independent readers — llvm-dwarfdump-16/-19 --verify accept them, their line tables hold
// exactly the programs' line records (per code section, told apart by relocations),
// llvm-objdump -S interleaves the source lines, .debug_info names every program with its
// prototype — while libbpf ignores them (bpftool prog loadall) and our reader too.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect } from "vitest";
import { parseElf, readObject, writeObject, type BpfObject, type BtfType } from "../src/index.js";
import { returnZero, sampleObject } from "./fixtures.js";
import { itWith, run, withPinDir, withTempDir, writeTemp } from "./tools.js";

const uint: BtfType = { kind: "int", name: "unsigned int", size: 4, signed: false };
const skb: BtfType = {
  kind: "struct",
  name: "__sk_buff",
  size: 192,
  members: [
    { name: "len", type: uint, bitOffset: 0 },
    { name: "cb", type: { kind: "array", elem: uint, count: 5 }, bitOffset: 48 * 8 },
  ],
};

/** The sample object with source lines in two files, typed prototypes, and a compilation directory. */
function debugObject(compDir: string): BpfObject {
  const object = sampleObject();
  object.debug = { producer: "luabpf test", compDir };
  object.programs[0]!.lines = [
    { offset: 0, file: "count.lua", line: 4, column: 3, text: "local v = counters[0]" },
    { offset: 48, file: "count.lua", line: 5, column: 10, text: "return 0" },
  ];
  object.programs[0]!.proto = {
    kind: "func_proto",
    ret: { kind: "typedef", name: "s64", target: { kind: "int", name: "long long", size: 8, signed: true } },
    params: [{ name: "skb", type: { kind: "ptr", target: skb } }],
  };
  object.programs[2]!.lines = [{ offset: 16, file: "/abs/probe.lua", line: 12, column: 1, text: "probe()" }];
  return object;
}

const SOURCES: Record<string, string> = {
  "count.lua": "-- counter\nlocal bpf = require('bpf')\nbpf.socket(function (skb)\n  local v = counters[0]\n  return 0\nend)\n",
  "pass.lua": "local bpf = require('bpf')\nbpf.xdp(function (ctx)\n    return 0\nend)\n",
};

function withObject(body: (path: string, dir: string) => void): void {
  withTempDir((dir) => {
    for (const [name, text] of Object.entries(SOURCES)) writeFileSync(join(dir, name), text);
    body(writeTemp(dir, "debug.o", writeObject(debugObject(dir))), dir);
  });
}

/** Rows of `llvm-dwarfdump --debug-line`: address, line, column, file index, end of sequence. */
function lineRows(out: string): { address: number; line: number; column: number; file: number; end: boolean }[] {
  return [...out.matchAll(/^0x([0-9a-f]{16})\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+\d+\s+\d+\s+(.*)$/gm)].map((m) => ({
    address: Number.parseInt(m[1]!, 16),
    line: Number(m[2]),
    column: Number(m[3]),
    file: Number(m[4]),
    end: m[5]!.includes("end_sequence"),
  }));
}

describe("DWARF sections", () => {
  for (const version of ["16", "19"]) {
    itWith([`llvm-dwarfdump-${version}`])(`llvm-dwarfdump-${version} --verify accepts them`, () => {
      withObject((path) => {
        const r = run(`llvm-dwarfdump-${version}`, ["--verify", path]);
        expect(r.stderr).toBe("");
        expect(r.stdout).toMatch(/No errors\./);
        expect(r.status).toBe(0);
      });
    });
  }

  itWith(["llvm-dwarfdump-19"])("the line table holds each program's line records, one sequence per code section", () => {
    withObject((path) => {
      const r = run("llvm-dwarfdump-19", ["--debug-line", path]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/file_names\[\s*1\]:\s+name: "count\.lua"/);
      expect(r.stdout).toMatch(/file_names\[\s*2\]:\s+name: "pass\.lua"/);
      expect(r.stdout).toMatch(/file_names\[\s*3\]:\s+name: "\/abs\/probe\.lua"/);
      const rows = lineRows(r.stdout);
      // socket (72 bytes), xdp (16 bytes), kprobe (72 bytes), in section order.
      expect(rows).toEqual([
        { address: 0, line: 4, column: 3, file: 1, end: false },
        { address: 48, line: 5, column: 10, file: 1, end: false },
        { address: 72, line: 5, column: 10, file: 1, end: true },
        { address: 0, line: 3, column: 5, file: 2, end: false },
        { address: 8, line: 4, column: 1, file: 2, end: false },
        { address: 16, line: 4, column: 1, file: 2, end: true },
        { address: 16, line: 12, column: 1, file: 3, end: false },
        { address: 72, line: 12, column: 1, file: 3, end: true },
      ]);
    });
  });

  for (const version of ["16", "19"]) {
    itWith([`llvm-objdump-${version}`])(`llvm-objdump-${version} -S interleaves the Lua lines of every section`, () => {
      withObject((path) => {
        const r = run(`llvm-objdump-${version}`, ["-S", path]);
        // Only the file that does not exist on this machine is missing.
        expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/warning: .*failed to find source \/abs\/probe\.lua$/)]);
        expect(r.stdout).toMatch(/<count_packets>:\n; {3}local v = counters\[0\]\n\s+0:\t18 01/);
        expect(r.stdout).toMatch(/; {3}return 0\n\s+6:\t85 00 00 00 01 00 00 00\tcall 0x1/);
        expect(r.stdout).toMatch(/<pass_all>:\n; {5}return 0\n\s+0:\tb7 00/);
        expect(r.stdout).toMatch(/; end\)\n\s+1:\t95/);
      });
    });
  }

  itWith(["llvm-dwarfdump-19"])(".debug_info describes every program with its prototype and types", () => {
    withObject((path, dir) => {
      const r = run("llvm-dwarfdump-19", ["--debug-info", path]);
      expect(r.status).toBe(0);
      const out = r.stdout;
      expect(out).toMatch(/DW_TAG_compile_unit\n\s+DW_AT_producer\s+\("luabpf test"\)\n\s+DW_AT_name\s+\("count\.lua"\)\n\s+DW_AT_comp_dir\s+\("([^"]+)"\)/);
      expect(out).toContain(`DW_AT_comp_dir\t("${dir}")`);
      expect(out).toMatch(/DW_AT_ranges\s+\(0x00000000\n\s+\[0x0+, 0x0+48\)\n\s+\[0x0+, 0x0+10\)\n\s+\[0x0+, 0x0+48\)\)/);
      expect(out).toMatch(/DW_TAG_subprogram\n\s+DW_AT_name\s+\("count_packets"\)\n\s+DW_AT_low_pc\s+\(0x0+\)\n\s+DW_AT_high_pc\s+\(0x0+48\)\n\s+DW_AT_decl_file\s+\("[^"]*count\.lua"\)\n\s+DW_AT_decl_line\s+\(4\)\n\s+DW_AT_prototyped\s+\(true\)\n\s+DW_AT_type\s+\(0x[0-9a-f]+ "s64"\)/);
      expect(out).toMatch(/DW_TAG_formal_parameter\n\s+DW_AT_name\s+\("skb"\)\n\s+DW_AT_type\s+\(0x[0-9a-f]+ "__sk_buff \*"\)/);
      expect(out).toMatch(/DW_TAG_structure_type\n\s+DW_AT_name\s+\("__sk_buff"\)\n\s+DW_AT_byte_size\s+\(192\)/);
      expect(out).toMatch(/DW_TAG_member\n\s+DW_AT_name\s+\("cb"\)\n\s+DW_AT_type\s+\(0x[0-9a-f]+ "unsigned int\[\[0, 5\)\]"\)\n\s+DW_AT_data_member_location\s+\(48\)/);
      expect(out).toMatch(/DW_TAG_base_type\n\s+DW_AT_name\s+\("unsigned int"\)\n\s+DW_AT_encoding\s+\(DW_ATE_unsigned\)/);
      expect(out).toMatch(/DW_TAG_base_type\n\s+DW_AT_name\s+\("long long"\)\n\s+DW_AT_encoding\s+\(DW_ATE_signed\)\n\s+DW_AT_byte_size\s+\(0x08\)/);
      expect(out).toMatch(/DW_TAG_subprogram\n\s+DW_AT_name\s+\("pass_all"\)/);
      expect(out).toMatch(/DW_TAG_formal_parameter\n\s+DW_AT_name\s+\("ctx"\)\n\s+DW_AT_type\s+\(0x[0-9a-f]+ "void \*"\)/);
      // One unit for the object.
      expect(out.match(/DW_TAG_compile_unit/g)).toHaveLength(1);
    });
  });

  itWith(["llvm-dwarfdump-19"])("a single code section gets low_pc/high_pc and no .debug_ranges", () => {
    const object: BpfObject = {
      license: "GPL",
      programs: [{ name: "only", section: "xdp", code: returnZero, relocations: [], lines: [{ offset: 0, file: "one.lua", line: 2, column: 3, text: "x" }] }],
      maps: [],
    };
    const bytes = writeObject(object);
    expect(parseElf(bytes).sections.map((s) => s.name).filter((n) => n.includes("debug"))).toEqual([
      ".debug_abbrev",
      ".debug_info",
      ".rel.debug_info",
      ".debug_str",
      ".debug_line",
      ".rel.debug_line",
    ]);
    withTempDir((dir) => {
      const path = writeTemp(dir, "one.o", bytes);
      expect(run("llvm-dwarfdump-19", ["--verify", path]).stdout).toMatch(/No errors\./);
      expect(run("llvm-dwarfdump-19", ["--debug-info", path]).stdout).toMatch(/DW_AT_low_pc\s+\(0x0+\)\n\s+DW_AT_high_pc\s+\(0x0+10\)/);
    });
  });

  itWith([])("no line records, or dwarf: false, means no debug sections; the reader ignores them", () => {
    const names = (bytes: Uint8Array): string[] => parseElf(bytes).sections.map((s) => s.name);
    const plain: BpfObject = { license: "GPL", programs: [{ name: "p", section: "xdp", code: returnZero, relocations: [] }], maps: [] };
    expect(names(writeObject(plain)).some((n) => n.includes("debug"))).toBe(false);
    expect(names(writeObject(debugObject("/x"), { dwarf: false })).some((n) => n.includes("debug"))).toBe(false);
    const withDwarf = readObject(writeObject(debugObject("/x")));
    const without = readObject(writeObject(debugObject("/x"), { dwarf: false }));
    expect(withDwarf).toEqual(without);
    expect(Buffer.from(writeObject(debugObject("/x"))).equals(Buffer.from(writeObject(debugObject("/x"))))).toBe(true);
  });

  itWith(["bpftool"], { kernel: true })("libbpf loads an object with DWARF (bpftool prog loadall)", () => {
    withTempDir((dir) => {
      const path = writeTemp(dir, "debug.o", writeObject(debugObject(dir)));
      withPinDir((pins) => {
        mkdirSync(pins, { recursive: true });
        const load = run("bpftool", ["prog", "loadall", path, pins, "pinmaps", `${pins}/maps`]);
        expect(load.stderr).toBe("");
        expect(load.status).toBe(0);
      });
    });
  });
});


