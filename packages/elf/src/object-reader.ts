// eBPF object reader: ELF container (elf-file.ts) → BpfObject, interpreting the
// libbpf conventions the way bpf_object__open does:
//  - programs are STT_FUNC symbols in executable sections; those of `.text` are
//    BPF-to-BPF subprograms (`subprogram`), linked into their callers by the loader;
//  - relocations come from the SHT_REL section whose sh_info names the code section:
//    R_BPF_64_64 on an lddw of a map (a symbol in `.maps`) or of a global variable (a
//    symbol in a data section), R_BPF_64_32 on a call into `.text`;
//  - data sections (`.rodata*`, `.data*`, `.bss*`: allocated, not executable) are kept
//    with their bytes and their BTF DATASEC, whose size and variable offsets are taken
//    from the section and the symbol table (clang leaves them for the loader to fix);
//  - maps are the VARs of the BTF DATASEC `.maps`, located by their ELF symbols
//    (clang leaves DATASEC offsets to be patched by .rel.BTF, so libbpf — and we —
//    take offsets from the symbol table);
//  - the license is the NUL-terminated contents of section `license`;
//  - a program's prototype is the BTF FUNC of its name;
//  - DWARF sections (.debug_*) and their relocations are not read.

import { decodeBtf, type BtfTable } from "./btf-decoder.js";
import { decodeBtfExt, type BtfExt } from "./btf-ext.js";
import { parseMapDefinition } from "./btf-maps.js";
import { skipModifiers, type BtfType } from "./btf-types.js";
import { CoreReloKind, INSN_SIZE as BPF_INSN_SIZE, type CoreReloKindName } from "@luabpf/platform";
import { Elf, RelocType, SHN_UNDEF, SectionFlag, SectionType, SymbolType } from "./constants.js";
import { ElfError, withContext } from "./errors.js";
import { parseElf, parseRelocations, type ElfFile, type ElfSection } from "./elf-file.js";
import type { BpfObject, ObjectAttach, ObjectCoreRelocation, ObjectDataSection, ObjectLine, ObjectMap, ObjectProgram } from "./object.js";

/** Parses an eBPF ELF object (writer output or clang's). Throws ElfError with context. */
export function readObject(bytes: Uint8Array): BpfObject {
  const elf = parseElf(bytes);
  if (elf.type !== Elf.typeRel) throw new ElfError(`ELF type ${elf.type} is not ET_REL`);
  if (elf.machine !== Elf.machineBpf) throw new ElfError(`ELF machine ${elf.machine} is not EM_BPF (247)`);
  if (elf.symbols.length === 0) throw new ElfError("no symbol table");
  const btfSection = elf.sections.find((section) => section.name === ".BTF");
  const btf = btfSection ? withContext("section .BTF", () => decodeBtf(btfSection.data)) : undefined;
  const dataSections = new Set(elf.sections.filter(isDataSection).map((section) => section.index));
  const located = readPrograms(elf, dataSections);
  if (btf) attachPrototypes(located, btf);
  const extSection = elf.sections.find((section) => section.name === ".BTF.ext");
  if (btf && extSection) {
    withContext("section .BTF.ext", () => {
      const ext = decodeBtfExt(extSection.data);
      attachLines(located, btf, ext);
      attachCoreRelocations(located, btf, ext);
    });
  }
  const programs = located.map((entry) => entry.program);
  readAttachNotes(elf, programs);
  const data = readDataSections(elf, btf);
  return { license: readLicense(elf), programs, maps: readMaps(elf, btf), ...(data.length > 0 ? { data } : {}) };
}

/** Whether `section` holds global data as libbpf sees it: `.rodata*`, `.data*`, `.bss*`, allocated, not code. */
function isDataSection(section: ElfSection): boolean {
  return (
    (section.type === SectionType.progbits || section.type === SectionType.nobits) &&
    (section.flags & SectionFlag.alloc) !== 0 &&
    (section.flags & SectionFlag.execInstr) === 0 &&
    /^\.(rodata|data|bss)(\.|$)/.test(section.name)
  );
}

/**
 * The object's non-empty data sections in section order, as libbpf makes maps of them: bytes,
 * whether they are read-only, and the BTF DATASEC fixed up (size from the section, offsets from
 * the symbols).
 */
function readDataSections(elf: ElfFile, btf: BtfTable | undefined): ObjectDataSection[] {
  const out: ObjectDataSection[] = [];
  for (const section of elf.sections.filter(isDataSection)) {
    if (section.size === 0) continue;
    withContext(`section ${section.name}`, () => {
      const bytes = section.type === SectionType.nobits ? new Uint8Array(section.size) : section.data.slice();
      const datasec = btf?.types.find((type) => type.kind === "datasec" && type.name === section.name);
      let type: BtfType | undefined;
      if (datasec?.kind === "datasec") {
        const vars = datasec.vars.map((entry) => {
          const variable = skipModifiers(entry.var);
          const symbol = variable.kind === "var" ? elf.symbols.find((s) => s.section === section.index && s.name === variable.name && s.type !== SymbolType.section) : undefined;
          if (symbol === undefined) throw new ElfError(`BTF variable ${"name" in variable ? variable.name : "?"} has no symbol in the section`);
          if (symbol.value + entry.size > section.size) throw new ElfError(`variable ${symbol.name} (offset ${symbol.value}, ${entry.size} bytes) extends past the section's ${section.size} bytes`);
          return { ...entry, offset: symbol.value };
        });
        type = { kind: "datasec", name: datasec.name, size: section.size, vars: vars.sort((a, b) => a.offset - b.offset) };
      }
      out.push({ name: section.name, bytes, readonly: section.name.startsWith(".rodata"), ...(type ? { type } : {}) });
    });
  }
  return out;
}

/** Name of the section holding programs' attach data (see ObjectProgram.attach). */
export const ATTACH_SECTION = ".luabpf.attach";

/**
 * Reads `.luabpf.attach`: one JSON object per line, `program` naming the program; known
 * fields of the right type are kept, anything else is ignored (forward compatibility).
 */
function readAttachNotes(elf: ElfFile, programs: ObjectProgram[]): void {
  const section = elf.sections.find((candidate) => candidate.name === ATTACH_SECTION);
  if (section === undefined) return;
  withContext(`section ${ATTACH_SECTION}`, () => {
    const lines = new TextDecoder().decode(section.data).split("\n");
    lines.forEach((line, index) => {
      if (line.trim() === "" || line === "\0") return;
      let note: unknown;
      try {
        note = JSON.parse(line.replace(/\0+$/, ""));
      } catch {
        throw new ElfError(`line ${index + 1}: not a JSON object`);
      }
      if (typeof note !== "object" || note === null || typeof (note as { program?: unknown }).program !== "string") {
        throw new ElfError(`line ${index + 1}: expected an object with a "program" name`);
      }
      const record = note as Record<string, unknown>;
      const program = programs.find((candidate) => candidate.name === record.program);
      if (program === undefined) throw new ElfError(`line ${index + 1}: no program named ${String(record.program)}`);
      const attach: ObjectAttach = {};
      for (const key of ["interface", "symbol", "path"] as const) if (typeof record[key] === "string") attach[key] = record[key];
      if (typeof record.retprobe === "boolean") attach.retprobe = record.retprobe;
      for (const key of ["pid", "cpu"] as const) if (Number.isInteger(record[key])) attach[key] = record[key] as number;
      program.attach = attach;
    });
  });
}

/** Parses only the `.BTF` section of an object (for tools that want the types). */
export function readObjectBtf(bytes: Uint8Array): BtfTable | undefined {
  const elf = parseElf(bytes);
  const section = elf.sections.find((candidate) => candidate.name === ".BTF");
  return section ? withContext("section .BTF", () => decodeBtf(section.data)) : undefined;
}

function readLicense(elf: ElfFile): string {
  const section = elf.sections.find((candidate) => candidate.name === "license");
  if (section === undefined) return "";
  const end = section.data.indexOf(0);
  return new TextDecoder().decode(section.data.subarray(0, end < 0 ? section.data.length : end));
}

function isCodeSection(section: ElfSection): boolean {
  return (
    section.type === SectionType.progbits &&
    (section.flags & SectionFlag.execInstr) !== 0 &&
    section.size > 0
  );
}

/** A program and the section offset of its first instruction. */
interface LocatedProgram {
  program: ObjectProgram;
  start: number;
}

function readPrograms(elf: ElfFile, dataSections: ReadonlySet<number>): LocatedProgram[] {
  const programs: LocatedProgram[] = [];
  for (const section of elf.sections.filter(isCodeSection)) {
    withContext(`section ${section.name}`, () => {
      if (section.size % BPF_INSN_SIZE !== 0) throw new ElfError(`size ${section.size} is not a multiple of 8`);
      const functions = elf.symbols
        .filter((symbol) => symbol.section === section.index && symbol.type === SymbolType.func)
        .sort((a, b) => a.value - b.value || a.index - b.index);
      if (functions.length === 0) throw new ElfError("no STT_FUNC symbol names a program");
      const here = functions.map((symbol) =>
        withContext(`program ${symbol.name}`, () => {
          if (symbol.value % BPF_INSN_SIZE !== 0 || symbol.size % BPF_INSN_SIZE !== 0 || symbol.size === 0) {
            throw new ElfError(`value ${symbol.value} / size ${symbol.size} not a non-empty run of instructions`);
          }
          if (symbol.value + symbol.size > section.size) {
            throw new ElfError(`extends past the section end (${symbol.value}+${symbol.size} > ${section.size})`);
          }
          return {
            start: symbol.value,
            program: {
              name: symbol.name,
              section: section.name,
              code: section.data.slice(symbol.value, symbol.value + symbol.size),
              relocations: [],
              ...(section.name === ".text" ? { subprogram: true } : {}),
            } satisfies ObjectProgram as ObjectProgram,
          };
        }),
      );
      const relocationSections = elf.sections.filter(
        (candidate) =>
          (candidate.type === SectionType.rel || candidate.type === SectionType.rela) && candidate.info === section.index,
      );
      for (const relocationSection of relocationSections) {
        withContext(`section ${relocationSection.name}`, () => {
          if (relocationSection.type === SectionType.rela) throw new ElfError("SHT_RELA is not used by eBPF");
          parseRelocations(relocationSection, elf.symbols.length).forEach((relocation, index) =>
            withContext(`relocation ${index}`, () => {
              if (relocation.type === RelocType.none) return;
              const symbol = elf.symbols[relocation.symbol]!;
              if (relocation.type === RelocType.bpf64_32) {
                // A call into .text, against its section symbol (or a function symbol there).
                const target = elf.sections[symbol.section];
                if (target?.name !== ".text") throw new ElfError(`call relocation against ${symbol.name || "a section symbol"} outside .text`);
                const owner = here.find((entry) => relocation.offset >= entry.start && relocation.offset < entry.start + entry.program.code.length);
                if (owner === undefined) throw new ElfError(`offset ${relocation.offset} is outside every program`);
                const offset = relocation.offset - owner.start;
                if (symbol.type !== SymbolType.section) {
                  // Against a function symbol: make the imm relative to the section, as with the section symbol.
                  const view = new DataView(owner.program.code.buffer, owner.program.code.byteOffset);
                  view.setInt32(offset + 4, view.getInt32(offset + 4, true) + symbol.value / BPF_INSN_SIZE, true);
                }
                owner.program.relocations.push({ offset, symbol: ".text", type: "call" });
                return;
              }
              if (relocation.type !== RelocType.bpf64_64) {
                throw new ElfError(`relocation type ${relocation.type} against ${symbol.name} is not supported`);
              }
              const owner = here.find(
                (entry) => relocation.offset >= entry.start && relocation.offset < entry.start + entry.program.code.length,
              );
              if (owner === undefined) throw new ElfError(`offset ${relocation.offset} is outside every program`);
              const offset = relocation.offset - owner.start;
              if (offset % BPF_INSN_SIZE !== 0 || offset + 2 * BPF_INSN_SIZE > owner.program.code.length) {
                throw new ElfError(`offset ${relocation.offset} is not the start of an lddw in ${owner.program.name}`);
              }
              if (dataSections.has(symbol.section)) {
                const section = elf.sections[symbol.section]!;
                owner.program.relocations.push({ offset, symbol: section.name, type: "data", addend: symbol.value });
                return;
              }
              if (symbol.section === SHN_UNDEF) {
                throw new ElfError(`${symbol.name || "a symbol"} is an extern (.kconfig/.ksyms variables are not supported)`);
              }
              owner.program.relocations.push({ offset, symbol: symbol.name });
            }),
          );
        });
      }
      for (const entry of here) {
        entry.program.relocations.sort((a, b) => a.offset - b.offset);
        programs.push(entry);
      }
    });
  }
  return programs;
}

/** Each program's prototype: the BTF FUNC of its name (clang and our writer emit one per program). */
function attachPrototypes(programs: LocatedProgram[], btf: BtfTable): void {
  const funcs = new Map<string, BtfType>();
  for (const type of btf.types) if (type.kind === "func" && !funcs.has(type.name)) funcs.set(type.name, type.proto);
  for (const { program } of programs) {
    const proto = funcs.get(program.name);
    if (proto?.kind === "func_proto") program.proto = proto;
  }
}

/**
 * Distributes `.BTF.ext` line info over the programs of each section. All-empty
 * records (no file, no text, line 0) carry nothing and are left out, which is what
 * makes writer output round-trip when the program had no lines.
 */
function attachLines(programs: LocatedProgram[], btf: BtfTable, ext: BtfExt): void {
  for (const section of ext.lineInfo) {
    const name = btf.stringAt(section.sectionNameOffset);
    const inSection = programs.filter((entry) => entry.program.section === name);
    section.records.forEach((record, index) =>
      withContext(`line info ${name}[${index}]`, () => {
        const file = btf.stringAt(record.fileNameOffset);
        const text = btf.stringAt(record.lineOffset);
        const line = record.lineCol >>> 10;
        const column = record.lineCol & 0x3ff;
        if (file === "" && text === "" && line === 0 && column === 0) return;
        const owner = inSection.find(
          (entry) => record.insnOffset >= entry.start && record.insnOffset < entry.start + entry.program.code.length,
        );
        if (owner === undefined) return; // lines of .text subprograms or of code outside any symbol
        const entry: ObjectLine = { offset: record.insnOffset - owner.start, file, line, column, text };
        (owner.program.lines ??= []).push(entry);
      }),
    );
  }
}

const CORE_KIND_NAMES = new Map<number, CoreReloKindName>(
  Object.entries(CoreReloKind).map(([name, value]) => [value, name as CoreReloKindName]),
);

/** Distributes `.BTF.ext` CO-RE relocation records over the programs of each section. */
function attachCoreRelocations(programs: LocatedProgram[], btf: BtfTable, ext: BtfExt): void {
  for (const section of ext.coreRelocations) {
    const name = btf.stringAt(section.sectionNameOffset);
    const inSection = programs.filter((entry) => entry.program.section === name);
    section.records.forEach((record, index) =>
      withContext(`CO-RE relocation ${name}[${index}]`, () => {
        const kind = CORE_KIND_NAMES.get(record.kind);
        if (kind === undefined) throw new ElfError(`unknown kind ${record.kind}`);
        const type = btf.types[record.typeId];
        if (type === undefined) throw new ElfError(`type id ${record.typeId} out of range`);
        const owner = inSection.find(
          (entry) => record.insnOffset >= entry.start && record.insnOffset < entry.start + entry.program.code.length,
        );
        if (owner === undefined) return; // relocations outside any symbol
        const relocation: ObjectCoreRelocation = {
          offset: record.insnOffset - owner.start,
          kind,
          type,
          access: btf.stringAt(record.accessStringOffset),
        };
        (owner.program.coreRelocations ??= []).push(relocation);
      }),
    );
  }
  for (const entry of programs) entry.program.coreRelocations?.sort((a, b) => a.offset - b.offset);
}

function readMaps(elf: ElfFile, btf: BtfTable | undefined): ObjectMap[] {
  if (elf.sections.some((section) => section.name === "maps")) {
    throw new ElfError("section maps: legacy (struct bpf_map_def) maps are not supported; use BTF-defined .maps");
  }
  const mapsSection = elf.sections.find((section) => section.name === ".maps");
  if (mapsSection === undefined) return [];
  return withContext("section .maps", () => {
    const symbols = elf.symbols.filter((symbol) => symbol.section === mapsSection.index && symbol.type !== SymbolType.section);
    if (symbols.length === 0) return [];
    if (btf === undefined) throw new ElfError("BTF-defined maps need a .BTF section");
    const datasec = btf.types.find((type) => type.kind === "datasec" && type.name === ".maps");
    if (datasec === undefined || datasec.kind !== "datasec") throw new ElfError("no BTF DATASEC .maps");
    const maps = datasec.vars.map((entry, index) =>
      withContext(`DATASEC entry ${index}`, () => {
        const variable = skipModifiers(entry.var);
        if (variable.kind !== "var") throw new ElfError(`entry is a ${variable.kind}, not a var`);
        const symbol = symbols.find((candidate) => candidate.name === variable.name);
        if (symbol === undefined) throw new ElfError(`map ${variable.name} has no symbol in .maps`);
        return { offset: symbol.value, map: parseMapDefinition(variable.name, variable.type) };
      }),
    );
    return maps.sort((a, b) => a.offset - b.offset).map((entry) => entry.map);
  });
}
