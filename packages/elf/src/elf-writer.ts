// ELF64 little-endian relocatable writer for eBPF (EM_BPF, ET_REL), producing what
// libbpf's bpf_object__open expects from clang output:
//
//   [0] null  [1] .strtab  then per code section: <section>, .rel<section>
//   license  [.luabpf.attach]  .maps  .BTF  .BTF.ext  [.debug_abbrev .debug_info .rel.debug_info
//   .debug_str .debug_line .rel.debug_line]  .symtab
//
// `.luabpf.attach` (programs' attach data, ObjectProgram.attach) is one JSON object per
// line, not allocated; libbpf and bpftool ignore sections they do not know.
// The DWARF sections (dwarf.ts) are written when some program has line records; their
// relocations name STT_SECTION symbols of the sections they point into.
//
// Three steps: plan the section list (so every index is known), collect the symbols
// (null symbol, locals, then globals: programs, `_license`, maps; sh_info of
// .symtab is the first global, per the gABI), then encode contents and lay them out:
// ELF header, contents in section order aligned to sh_addralign, section headers.
// Nothing depends on hash-map iteration order or time, so the output is a pure
// function of the input (byte-identical across runs).

import { ByteWriter, StringTable, utf8, withScratchBuffers } from "./bytes.js";
import { BtfBuilder } from "./btf-encoder.js";
import { encodeBtfExt, type BtfExtSection, type CoreRelocationInfo, type FuncInfo, type LineInfo } from "./btf-ext.js";
import { CoreReloKind } from "@luabpf/platform";
import { mapDefinitionType } from "./btf-maps.js";
import { btfVoid, type BtfDatasecEntry, type BtfFuncProto, type BtfType } from "./btf-types.js";
import { DEBUG_SECTIONS, encodeDwarf, wantsDwarf, type PlacedProgram } from "./dwarf.js";
import { Elf, RelocType, SectionFlag, SectionType, SymbolBind, SymbolType } from "./constants.js";
import { ElfError } from "./errors.js";
import { RECORD_TAG_PREFIX, type BpfObject, type ObjectProgram } from "./object.js";
import { ATTACH_SECTION } from "./object-reader.js";
import { validateObject } from "./validate.js";

/** Options of {@link writeObject}. */
export interface WriteOptions {
  /** Emit `.BTF.ext` with func info for each program (default true). */
  btfExt?: boolean;
  /** Emit DWARF (`.debug_line`, `.debug_info`, ...) when programs have line records (default true). */
  dwarf?: boolean;
}

/** The prototype of programs that do not give one: `int (void *ctx)`. */
export const DEFAULT_PROGRAM_PROTO: BtfFuncProto = {
  kind: "func_proto",
  ret: { kind: "int", name: "int", size: 4, signed: true },
  params: [{ name: "ctx", type: { kind: "ptr", target: btfVoid } }],
};

interface Section {
  name: string;
  type: number;
  flags: number;
  data: Uint8Array;
  align: number;
  entrySize: number;
  link: number;
  info: number;
}

interface ElfSymbol {
  /** Empty for section symbols. */
  name: string;
  bind: number;
  type: number;
  section: number;
  value: number;
  size: number;
}

/**
 * Serialises `object` as an eBPF ELF relocatable file, byte-for-byte deterministically.
 * Throws ElfError on invalid input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readObject, writeObject } from "@luabpf/elf";
 *
 * // r0 = 2; exit  — an XDP program that passes every packet.
 * const code = Uint8Array.from([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
 * const bytes = writeObject({
 *   license: "GPL",
 *   programs: [{ name: "pass", section: "xdp", code, relocations: [], lines: [{ offset: 0, file: "pass.lua", line: 2, column: 3, text: "return 2" }] }],
 *   maps: [],
 * });
 * const back = readObject(bytes);
 * assert.deepEqual(back.programs.map((p) => [p.name, p.section, p.lines?.[0]?.line]), [["pass", "xdp", 2]]);
 * ```
 */
export function writeObject(object: BpfObject, options: WriteOptions = {}): Uint8Array {
  validateObject(object);
  // Sections are built in scratch buffers, then copied into the file's own array (layout).
  return withScratchBuffers(() => writeValidObject(object, options));
}

function writeValidObject(object: BpfObject, options: WriteOptions): Uint8Array {
  const emitBtfExt = options.btfExt ?? true;
  const emitDwarf = (options.dwarf ?? true) && wantsDwarf(object);

  // 1. Plan sections. Code sections group programs by name, in order of first appearance.
  const groups = new Map<string, ObjectProgram[]>();
  for (const program of object.programs) {
    const group = groups.get(program.section);
    if (group) group.push(program);
    else groups.set(program.section, [program]);
  }
  const plan = ["", ".strtab"];
  for (const [name, programs] of groups) {
    plan.push(name);
    if (programs.some((program) => program.relocations.length > 0)) plan.push(`.rel${name}`);
  }
  plan.push("license");
  const attachNotes = object.programs.filter((program) => program.attach !== undefined);
  if (attachNotes.length > 0) plan.push(ATTACH_SECTION);
  if (object.maps.length > 0) plan.push(".maps");
  plan.push(".BTF");
  if (emitBtfExt) plan.push(".BTF.ext");
  if (emitDwarf) {
    plan.push(".debug_abbrev", ".debug_info", ".rel.debug_info", ".debug_str", ".debug_line", ".rel.debug_line");
    if (groups.size > 1) plan.push(".debug_ranges", ".rel.debug_ranges");
  }
  plan.push(".symtab");
  const indexOf = (name: string): number => {
    const index = plan.indexOf(name);
    if (index < 0) throw new ElfError(`internal: section ${name} was not planned`);
    return index;
  };

  // 2. Symbols, with the map definitions' sizes and `.maps` offsets. Section symbols
  // (local, nameless) for the sections debug relocations point into.
  const symbols: ElfSymbol[] = [];
  if (emitDwarf) {
    for (const name of [...groups.keys(), ".debug_abbrev", ".debug_str", ".debug_line", ...(groups.size > 1 ? [".debug_ranges"] : [])]) {
      symbols.push({ name: "", bind: SymbolBind.local, type: SymbolType.section, section: indexOf(name), value: 0, size: 0 });
    }
  }
  const codeOffsets = new Map<ObjectProgram, number>();
  // Calls into `.text` are relocated against its section symbol, as clang does (one
  // section symbol per section: the DWARF ones may already include it).
  if (object.programs.some((p) => p.relocations.some((r) => r.type === "call"))) {
    const text = indexOf(".text");
    if (!symbols.some((symbol) => symbol.type === SymbolType.section && symbol.section === text)) {
      symbols.push({ name: "", bind: SymbolBind.local, type: SymbolType.section, section: text, value: 0, size: 0 });
    }
  }
  for (const [name, programs] of groups) {
    let offset = 0;
    for (const program of programs) {
      codeOffsets.set(program, offset);
      symbols.push({
        name: program.name,
        bind: program.subprogram ? SymbolBind.local : SymbolBind.global,
        type: SymbolType.func,
        section: indexOf(name),
        value: offset,
        size: program.code.length,
      });
      offset += program.code.length;
    }
  }
  const licenseBytes = new ByteWriter().utf8(object.license).u8(0).finish();
  symbols.push({
    name: "_license",
    bind: SymbolBind.global,
    type: SymbolType.object,
    section: indexOf("license"),
    value: 0,
    size: licenseBytes.length,
  });
  const mapEntries: BtfDatasecEntry[] = [];
  let mapsSize = 0;
  const recordTags: BtfType[] = [];
  for (const map of object.maps) {
    const definition = mapDefinitionType(map);
    const variable: BtfType = { kind: "var", name: map.name, type: definition, linkage: "global" };
    mapEntries.push({ var: variable as BtfDatasecEntry["var"], offset: mapsSize, size: definition.size });
    if (map.record) {
      // A record type without a name gets one (a typedef) so that the tag can spell it.
      const named = "name" in map.record && map.record.name !== "" ? map.record : ({ kind: "typedef", name: `${map.name}_record`, target: map.record } as BtfType);
      const spelling = named.kind === "struct" || named.kind === "union" || named.kind === "enum" ? `${named.kind} ${named.name}` : (named as { name: string }).name;
      recordTags.push(named, { kind: "decl_tag", name: RECORD_TAG_PREFIX + spelling, target: variable, componentIdx: -1 });
    }
    symbols.push({
      name: map.name,
      bind: SymbolBind.global,
      type: SymbolType.object,
      section: indexOf(".maps"),
      value: mapsSize,
      size: definition.size,
    });
    mapsSize += definition.size;
  }
  // Locals first (a stable sort keeps input order within each class); index 0 is the null symbol.
  symbols.sort((a, b) => Number(a.bind !== SymbolBind.local) - Number(b.bind !== SymbolBind.local));
  const firstGlobal = symbols.findIndex((symbol) => symbol.bind !== SymbolBind.local);
  const symbolIndex = new Map<string, number>();
  symbols.forEach((symbol, index) => {
    if (symbol.type !== SymbolType.section) symbolIndex.set(symbol.name, index + 1);
  });
  const sectionSymbolIndex = new Map<string, number>();
  for (let index = 0; index < symbols.length; index++) {
    const symbol = symbols[index]!;
    if (symbol.type === SymbolType.section) sectionSymbolIndex.set(plan[symbol.section]!, index + 1);
  }

  // 3. Contents.
  const names = new StringTable();
  const nameOffsets = plan.map((name) => names.add(name));
  const contents = new Map<string, Uint8Array>();
  const btf = new BtfBuilder();
  const funcInfo: BtfExtSection<FuncInfo>[] = [];
  const lineInfo: BtfExtSection<LineInfo>[] = [];
  const coreInfo: BtfExtSection<CoreRelocationInfo>[] = [];
  for (const [name, programs] of groups) {
    const code = new ByteWriter(programs.reduce((n, program) => n + program.code.length, 0));
    const relocations = new ByteWriter(programs.reduce((n, program) => n + program.relocations.length * Elf.relSize, 0));
    const records: FuncInfo[] = [];
    const lineRecords: LineInfo[] = [];
    const coreRecords: CoreRelocationInfo[] = [];
    for (const program of programs) {
      const start = codeOffsets.get(program)!;
      code.bytes(program.code);
      records.push({ insnOffset: start, typeId: btf.add({ kind: "func", name: program.name, proto: program.proto ?? DEFAULT_PROGRAM_PROTO, linkage: program.subprogram ? "static" : "global" }) });
      // The kernel requires line info to begin at each function's first instruction.
      const lines = program.lines ?? [];
      if (lines[0]?.offset !== 0) lineRecords.push({ insnOffset: start, fileNameOffset: 0, lineOffset: 0, lineCol: 0 });
      // Consecutive records mostly name the same file, often the same line (another column):
      // the string table is asked only when the string changes (it would give the same offset).
      let fileNameOffset = 0;
      let lineOffset = 0;
      for (let k = 0; k < lines.length; k++) {
        const line = lines[k]!;
        if (k === 0 || line.file !== lines[k - 1]!.file) fileNameOffset = btf.strings.add(line.file);
        if (k === 0 || line.text !== lines[k - 1]!.text) lineOffset = btf.strings.add(line.text);
        lineRecords.push({ insnOffset: start + line.offset, fileNameOffset, lineOffset, lineCol: ((line.line << 10) | line.column) >>> 0 });
      }
      for (const relocation of program.coreRelocations ?? []) {
        coreRecords.push({
          insnOffset: start + relocation.offset,
          typeId: btf.add(relocation.type),
          accessStringOffset: btf.strings.add(relocation.access),
          kind: CoreReloKind[relocation.kind],
        });
      }
      for (const relocation of program.relocations) {
        // validateObject checked the symbol exists; calls name the `.text` section symbol.
        const index = relocation.type === "call" ? sectionSymbolIndex.get(relocation.symbol)! : symbolIndex.get(relocation.symbol)!;
        relocations.u64(start + relocation.offset).u32(relocation.type === "call" ? RelocType.bpf64_32 : RelocType.bpf64_64).u32(index);
      }
    }
    funcInfo.push({ sectionNameOffset: btf.strings.add(name), records });
    lineInfo.push({ sectionNameOffset: btf.strings.add(name), records: lineRecords });
    coreInfo.push({ sectionNameOffset: btf.strings.add(name), records: coreRecords });
    contents.set(name, code.finish());
    contents.set(`.rel${name}`, relocations.finish());
  }
  if (mapEntries.length > 0) btf.add({ kind: "datasec", name: ".maps", size: mapsSize, vars: mapEntries });
  for (const type of recordTags) btf.add(type);
  contents.set("license", licenseBytes);
  // One JSON object per line, keyed by program name; fields in a fixed order (deterministic output).
  const noteLines = attachNotes.map((program) => {
    const a = program.attach!;
    const fields = { program: program.name, interface: a.interface, symbol: a.symbol, path: a.path, retprobe: a.retprobe, pid: a.pid, cpu: a.cpu };
    return `${JSON.stringify(fields)}\n`;
  });
  if (noteLines.length > 0) contents.set(ATTACH_SECTION, utf8(noteLines.join("")));
  contents.set(".maps", zeros(mapsSize));
  contents.set(".BTF", btf.finish());
  if (emitBtfExt) contents.set(".BTF.ext", encodeBtfExt(funcInfo, lineInfo, coreInfo));
  if (emitDwarf) {
    const layout = new Map<string, { programs: PlacedProgram[]; size: number }>();
    for (const [name, programs] of groups) {
      layout.set(name, {
        programs: programs.map((program) => ({ program, start: codeOffsets.get(program)!, proto: program.proto ?? DEFAULT_PROGRAM_PROTO })),
        size: programs.reduce((n, program) => n + program.code.length, 0),
      });
    }
    for (const section of encodeDwarf(layout, { ...object.debug })) {
      contents.set(section.name, section.data);
      if (section.relocations.length === 0) continue;
      const rel = new ByteWriter(section.relocations.length * Elf.relSize);
      for (const r of section.relocations) {
        const index = sectionSymbolIndex.get(r.section);
        if (index === undefined) throw new ElfError(`internal: no section symbol for ${r.section}`);
        rel.u64(r.offset).u32(r.size === 8 ? RelocType.bpf64Abs64 : RelocType.bpf64Abs32).u32(index);
      }
      contents.set(`.rel${section.name}`, rel.finish());
    }
  }
  const symtab = new ByteWriter((symbols.length + 1) * Elf.symbolSize).zeros(Elf.symbolSize); // null symbol
  for (const symbol of symbols) {
    symtab
      .u32(symbol.type === SymbolType.section ? 0 : names.add(symbol.name)) // section symbols are named by their section
      .u8((symbol.bind << 4) | symbol.type)
      .u8(0) // st_other: STV_DEFAULT
      .u16(symbol.section)
      .u64(symbol.value)
      .u64(symbol.size);
  }
  contents.set(".symtab", symtab.finish());
  contents.set(".strtab", names.finish()); // last: symbol names were added above

  const strtabIndex = indexOf(".strtab");
  const symtabIndex = indexOf(".symtab");
  const sections = plan.map((name): Section => {
    const data = contents.get(name) ?? EMPTY;
    // Each section's header fields, written out (no object spreads: this runs per section per compile).
    if (name === "") return section(name, data, SectionType.null, 0, 0);
    if (name === ".strtab") return section(name, data, SectionType.strtab, 0, 1);
    if (name === ".symtab") {
      return section(name, data, SectionType.symtab, 0, 8, Elf.symbolSize, strtabIndex, firstGlobal < 0 ? symbols.length + 1 : firstGlobal + 1);
    }
    if (name === "license") return section(name, data, SectionType.progbits, SectionFlag.alloc | SectionFlag.write, 1);
    if (name === ".maps") return section(name, data, SectionType.progbits, SectionFlag.alloc | SectionFlag.write, 8);
    if (name === ATTACH_SECTION) return section(name, data, SectionType.progbits, 0, 1);
    if (name === ".BTF" || name === ".BTF.ext") return section(name, data, SectionType.progbits, 0, 4);
    if ((DEBUG_SECTIONS as readonly string[]).includes(name)) return section(name, data, SectionType.progbits, 0, 1);
    if (groups.has(name)) return section(name, data, SectionType.progbits, SectionFlag.alloc | SectionFlag.execInstr, 8);
    // The only other planned sections are relocations (`.rel` + code section name).
    return section(name, data, SectionType.rel, SectionFlag.infoLink, 8, Elf.relSize, symtabIndex, indexOf(name.slice(".rel".length)));
  });
  return layout(sections, nameOffsets, indexOf(".strtab"));
}

const EMPTY = new Uint8Array(0);

/** Zero bytes for `.maps` (only read: layout copies them into the file), one array shared by every object. */
let zeroBytes = new Uint8Array(256);
function zeros(size: number): Uint8Array {
  if (zeroBytes.length < size) zeroBytes = new Uint8Array(Math.max(size, 2 * zeroBytes.length));
  return zeroBytes.subarray(0, size);
}

function section(name: string, data: Uint8Array, type: number, flags: number, align: number, entrySize = 0, link = 0, info = 0): Section {
  return { name, type, flags, data, align, entrySize, link, info };
}

/** The file: ELF header, section contents in order (each aligned), section headers; in an array of its own. */
function layout(sections: Section[], nameOffsets: number[], stringTableIndex: number): Uint8Array {
  // Offsets first, so that the file is written once into an array of its final size.
  const offsets = new Array<number>(sections.length);
  let at = Elf.headerSize;
  sections.forEach((section, index) => {
    if (section.type === SectionType.null) {
      offsets[index] = 0;
      return;
    }
    const align = Math.max(section.align, 1);
    at = Math.ceil(at / align) * align;
    offsets[index] = at;
    at += section.data.length;
  });
  const sectionHeaderOffset = Math.ceil(at / 8) * 8;
  const out = ByteWriter.exact(sectionHeaderOffset + sections.length * Elf.sectionHeaderSize)
    .u8(0x7f).u8(0x45).u8(0x4c).u8(0x46).u8(Elf.classElf64).u8(Elf.dataLsb).u8(Elf.versionCurrent).u8(0)
    .zeros(8) // EI_ABIVERSION and padding
    .u16(Elf.typeRel)
    .u16(Elf.machineBpf)
    .u32(Elf.versionCurrent)
    .u64(0) // e_entry
    .u64(0) // e_phoff
    .u64(sectionHeaderOffset)
    .u32(0) // e_flags
    .u16(Elf.headerSize)
    .u16(0) // e_phentsize
    .u16(0) // e_phnum
    .u16(Elf.sectionHeaderSize)
    .u16(sections.length)
    .u16(stringTableIndex);
  sections.forEach((section, index) => {
    if (section.type === SectionType.null) return;
    out.zeros(offsets[index]! - out.size).bytes(section.data);
  });
  out.zeros(sectionHeaderOffset - out.size);
  sections.forEach((section, index) => {
    out
      .u32(nameOffsets[index]!)
      .u32(section.type)
      .u64(section.flags)
      .u64(0) // sh_addr
      .u64(offsets[index]!)
      .u64(section.data.length)
      .u32(section.link)
      .u32(section.info)
      .u64(section.align)
      .u64(section.entrySize);
  });
  return out.finish();
}
