// Symbol → file offset for uprobes. The uprobe PMU wants the offset of the probed instruction
// in the binary's file, while symbol tables give virtual addresses. As libbpf's
// elf_find_func_offset does, the symbol is looked up in .symtab, then .dynsym (stripped
// binaries and shared libraries keep only the latter), and its address is translated through
// the PT_LOAD program header that contains it: offset = vaddr - p_vaddr + p_offset.
//
// This reads host executables (x86-64, aarch64, ...), not eBPF objects, so it is independent of
// @luabpf/elf's reader, which rejects everything but EM_BPF relocatables; the ELF numbers are
// elf's. ELF64 little-endian only.
import { readFileSync } from "node:fs";
import { SectionType, SegmentType, SHN_UNDEF, SymbolType } from "@luabpf/elf";
import { LoaderError } from "./errors.js";

/** A function symbol of a host binary. */
export interface HostSymbol {
  name: string;
  /** Virtual address (st_value). */
  address: bigint;
  size: bigint;
  /** Offset in the file, what the uprobe PMU takes. */
  fileOffset: bigint;
}

interface ProgramHeader {
  type: number;
  offset: bigint;
  vaddr: bigint;
  fileSize: bigint;
}

/**
 * Every defined function symbol of an ELF64-LE file (from .symtab and .dynsym; the first
 * definition of a name wins), with its file offset.
 *
 * @throws LoaderError when the file is not an ELF64 little-endian binary
 */
export function functionSymbols(path: string): Map<string, HostSymbol> {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (why: string): never => {
    throw new LoaderError(`${path}: ${why}`);
  };
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46) fail("not an ELF file");
  if (bytes[4] !== 2 || bytes[5] !== 1) fail("only 64-bit little-endian ELF binaries can be probed");
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => view.getBigUint64(at, true);
  const inFile = (at: number, size: number) => {
    if (at < 0 || at + size > bytes.length) fail(`truncated (offset ${at} + ${size} past ${bytes.length})`);
  };

  const phoff = Number(u64(32));
  const phentsize = u16(54);
  const phnum = u16(56);
  const shoff = Number(u64(40));
  const shentsize = u16(58);
  const shnum = u16(60);
  inFile(phoff, phentsize * phnum);
  inFile(shoff, shentsize * shnum);

  const segments: ProgramHeader[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    segments.push({ type: u32(at), offset: u64(at + 8), vaddr: u64(at + 16), fileSize: u64(at + 32) });
  }
  const loads = segments.filter((segment) => segment.type === SegmentType.load);

  const sections = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return { type: u32(at + 4), offset: Number(u64(at + 24)), size: Number(u64(at + 32)), link: u32(at + 40), entsize: Number(u64(at + 56)) };
  });

  const symbols = new Map<string, HostSymbol>();
  for (const tableType of [SectionType.symtab, SectionType.dynsym]) {
    for (const table of sections.filter((section) => section.type === tableType)) {
      const strings = sections[table.link];
      if (!strings || table.entsize < 24) continue;
      inFile(table.offset, table.size);
      inFile(strings.offset, strings.size);
      for (let at = table.offset; at + 24 <= table.offset + table.size; at += table.entsize) {
        const info = bytes[at + 4]!;
        const type = info & 0xf;
        const shndx = u16(at + 6);
        if ((type !== SymbolType.func && type !== SymbolType.gnuIfunc) || shndx === SHN_UNDEF) continue;
        const nameStart = strings.offset + u32(at);
        const nameEnd = bytes.indexOf(0, nameStart);
        if (nameEnd < 0 || nameEnd > strings.offset + strings.size) continue;
        // Versioned dynamic names (`malloc@@GLIBC_2.2.5`) are looked up without the version.
        const name = bytes.toString("utf8", nameStart, nameEnd).replace(/@.*$/, "");
        if (name === "" || symbols.has(name)) continue;
        const address = u64(at + 8);
        const segment = loads.find((load) => address >= load.vaddr && address < load.vaddr + load.fileSize);
        if (!segment) continue;
        symbols.set(name, { name, address, size: u64(at + 16), fileOffset: address - segment.vaddr + segment.offset });
      }
    }
  }
  return symbols;
}

/**
 * The file offset of function `symbol` in binary `path`, plus `extra` bytes.
 *
 * @throws LoaderError when the binary has no such function
 */
export function symbolFileOffset(path: string, symbol: string, extra = 0n): bigint {
  const found = functionSymbols(path).get(symbol);
  if (!found) throw new LoaderError(`${path}: no function symbol ${symbol} (checked .symtab and .dynsym)`);
  return found.fileOffset + extra;
}
