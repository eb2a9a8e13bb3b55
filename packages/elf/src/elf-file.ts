// Generic ELF64 little-endian reader: header, section headers, symbol table and
// REL relocations, with every offset bounds-checked against the file. Knows nothing
// about eBPF conventions; object-reader.ts builds the BpfObject view on top.
// Extended section numbering (e_shnum = 0, SHN_XINDEX) is rejected: eBPF objects
// never have 65280 sections.

import { ByteReader } from "./bytes.js";
import { Elf, SectionType, SymbolType } from "./constants.js";
import { ElfError, withContext } from "./errors.js";

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  align: number;
  entrySize: number;
  /** Contents (empty for SHT_NOBITS). */
  data: Uint8Array;
}

export interface ElfSymbolEntry {
  index: number;
  /** Symbol name; for an unnamed STT_SECTION symbol, the name of its section. */
  name: string;
  bind: number;
  type: number;
  /** st_shndx */
  section: number;
  value: number;
  size: number;
}

export interface ElfRelocation {
  offset: number;
  type: number;
  symbol: number;
}

export interface ElfFile {
  machine: number;
  type: number;
  sections: ElfSection[];
  /** Symbols of the (single) SHT_SYMTAB, index 0 included; empty if there is none. */
  symbols: ElfSymbolEntry[];
  /** Index of the first non-local symbol (sh_info of .symtab). */
  firstGlobal: number;
}

/** Parses the ELF container; throws ElfError on anything malformed or not ELF64-LE. */
export function parseElf(bytes: Uint8Array): ElfFile {
  const reader = new ByteReader(bytes, "ELF file");
  const magic = [0x7f, 0x45, 0x4c, 0x46];
  if (magic.some((byte, index) => index < bytes.length && bytes[index] !== byte)) {
    throw new ElfError("not an ELF file (bad magic)");
  }
  if (bytes.length < Elf.headerSize) throw new ElfError(`ELF file truncated: ${bytes.length} bytes, header needs 64`);
  if (reader.u8(4) !== Elf.classElf64) throw new ElfError(`ELF class ${reader.u8(4)} is not ELFCLASS64`);
  if (reader.u8(5) !== Elf.dataLsb) throw new ElfError(`ELF data encoding ${reader.u8(5)} is not little-endian`);
  const type = reader.u16(16);
  const machine = reader.u16(18);
  const sectionHeaderOffset = reader.u64(40);
  const sectionHeaderSize = reader.u16(58);
  const sectionCount = reader.u16(60);
  const stringTableIndex = reader.u16(62);
  if (sectionCount === 0 && sectionHeaderOffset !== 0) throw new ElfError("extended section numbering is not supported");
  if (sectionCount > 0 && sectionHeaderSize !== Elf.sectionHeaderSize) {
    throw new ElfError(`section header size ${sectionHeaderSize}, expected ${Elf.sectionHeaderSize}`);
  }
  reader.check(sectionHeaderOffset, sectionCount * Elf.sectionHeaderSize);

  const sections: ElfSection[] = [];
  for (let index = 0; index < sectionCount; index++) {
    sections.push(
      withContext(`section header ${index}`, () => {
        const at = sectionHeaderOffset + index * Elf.sectionHeaderSize;
        const section: ElfSection = {
          index,
          name: "",
          type: reader.u32(at + 4),
          flags: reader.u64(at + 8),
          offset: reader.u64(at + 24),
          size: reader.u64(at + 32),
          link: reader.u32(at + 40),
          info: reader.u32(at + 44),
          align: reader.u64(at + 48),
          entrySize: reader.u64(at + 56),
          data: new Uint8Array(0),
        };
        if (section.type !== SectionType.nobits && section.type !== SectionType.null) {
          section.data = reader.slice(section.offset, section.size);
        }
        return section;
      }),
    );
  }
  if (sectionCount > 0) {
    const names = sections[stringTableIndex];
    if (names === undefined || names.type !== SectionType.strtab) {
      throw new ElfError(`e_shstrndx ${stringTableIndex} is not a string table`);
    }
    const nameReader = new ByteReader(names.data, "section name table");
    const nameOffsets = sections.map((_, index) => reader.u32(sectionHeaderOffset + index * Elf.sectionHeaderSize));
    sections.forEach((section, index) => {
      section.name = withContext(`section header ${index}: name`, () => nameReader.cString(nameOffsets[index]!));
    });
  }

  const symbolTables = sections.filter((section) => section.type === SectionType.symtab);
  if (symbolTables.length > 1) throw new ElfError("more than one symbol table");
  const symtab = symbolTables[0];
  const symbols = symtab ? withContext(`section ${symtab.name}`, () => parseSymbols(symtab, sections)) : [];
  return { machine, type, sections, symbols, firstGlobal: symtab?.info ?? 0 };
}

function parseSymbols(symtab: ElfSection, sections: ElfSection[]): ElfSymbolEntry[] {
  if (symtab.entrySize !== Elf.symbolSize) throw new ElfError(`entry size ${symtab.entrySize}, expected 24`);
  if (symtab.size % Elf.symbolSize !== 0) throw new ElfError(`size ${symtab.size} is not a multiple of 24`);
  const strings = sections[symtab.link];
  if (strings === undefined || strings.type !== SectionType.strtab) {
    throw new ElfError(`sh_link ${symtab.link} is not a string table`);
  }
  const names = new ByteReader(strings.data, strings.name);
  const reader = new ByteReader(symtab.data, symtab.name);
  const symbols: ElfSymbolEntry[] = [];
  for (let index = 0; index < symtab.size / Elf.symbolSize; index++) {
    symbols.push(
      withContext(`symbol ${index}`, () => {
        const at = index * Elf.symbolSize;
        const info = reader.u8(at + 4);
        const section = reader.u16(at + 6);
        const symbol: ElfSymbolEntry = {
          index,
          name: names.cString(reader.u32(at)),
          bind: info >> 4,
          type: info & 0xf,
          section,
          value: reader.u64(at + 8),
          size: reader.u64(at + 16),
        };
        if (symbol.name === "" && symbol.type === SymbolType.section) {
          symbol.name = sections[section]?.name ?? "";
        }
        return symbol;
      }),
    );
  }
  return symbols;
}

/**
 * Entries of a SHT_REL section; symbol indices are checked against `symbolCount`.
 * Error messages start at the relocation; callers prefix the section.
 */
export function parseRelocations(section: ElfSection, symbolCount: number): ElfRelocation[] {
  if (section.type !== SectionType.rel) throw new ElfError(`not SHT_REL (type ${section.type})`);
  if (section.size % Elf.relSize !== 0) throw new ElfError(`size ${section.size} is not a multiple of 16`);
  const reader = new ByteReader(section.data, section.name);
  const relocations: ElfRelocation[] = [];
  for (let index = 0; index < section.size / Elf.relSize; index++) {
    const at = index * Elf.relSize;
    const relocation = { offset: reader.u64(at), type: reader.u32(at + 8), symbol: reader.u32(at + 12) };
    if (relocation.symbol >= symbolCount) {
      throw new ElfError(`relocation ${index}: symbol ${relocation.symbol} out of range (${symbolCount} symbols)`);
    }
    relocations.push(relocation);
  }
  return relocations;
}
