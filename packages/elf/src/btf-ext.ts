// `.BTF.ext`: per-section instruction metadata that libbpf hands to the kernel with
// each program. We write and read func info (one record per program: the
// instruction offset and the id of its BTF FUNC), line info and CO-RE relocations
// (struct bpf_core_relo: instruction, local type id, access string, kind). Layout (libbpf's btf.h,
// struct btf_ext_header): magic, version, flags, hdr_len, then (offset, length)
// pairs relative to the end of the header; each info block is a record size
// followed by per-section groups {sec_name_off, num_info, records...}. In an ELF
// object, instruction offsets are in bytes; libbpf divides them by 8 when loading.

import { ByteReader, ByteWriter } from "./bytes.js";
import { BTF_EXT_HEADER_SIZE, BTF_FUNC_INFO_SIZE, BTF_LINE_INFO_SIZE, BTF_MAGIC, BTF_VERSION } from "./constants.js";
import { ElfError, withContext } from "./errors.js";
import { CORE_RELO_SIZE } from "@luabpf/platform";

/** One func-info record: the FUNC type id of the function starting at `insnOffset` bytes. */
export interface FuncInfo {
  insnOffset: number;
  typeId: number;
}
/** One line-info record (offsets into the BTF string section). */
export interface LineInfo {
  insnOffset: number;
  fileNameOffset: number;
  lineOffset: number;
  /** line number << 10 | column, as in struct bpf_line_info. */
  lineCol: number;
}
/**
 * One CO-RE relocation record (`struct bpf_core_relo`): the loader computes `kind` for
 * the local type `typeId` and access string against the target kernel's BTF and patches
 * the instruction at `insnOffset` bytes.
 */
export interface CoreRelocationInfo {
  insnOffset: number;
  typeId: number;
  /** Offset of the access string ("0:1:2", or an enumerator index) in the BTF strings. */
  accessStringOffset: number;
  /** A `CoreReloKind` value of @luabpf/platform. */
  kind: number;
}
export interface BtfExtSection<T> {
  /** Offset of the section name in the `.BTF` string section. */
  sectionNameOffset: number;
  records: T[];
}
/** Decoded `.BTF.ext`. */
export interface BtfExt {
  funcInfo: BtfExtSection<FuncInfo>[];
  lineInfo: BtfExtSection<LineInfo>[];
  coreRelocations: BtfExtSection<CoreRelocationInfo>[];
}

/** Encodes func info, line info and CO-RE relocations. */
export function encodeBtfExt(
  funcInfo: readonly BtfExtSection<FuncInfo>[],
  lineInfo: readonly BtfExtSection<LineInfo>[] = [],
  coreRelocations: readonly BtfExtSection<CoreRelocationInfo>[] = [],
): Uint8Array {
  const funcLength = blockLength(BTF_FUNC_INFO_SIZE, funcInfo);
  const lineLength = blockLength(BTF_LINE_INFO_SIZE, lineInfo);
  const coreLength = blockLength(CORE_RELO_SIZE, coreRelocations);
  const writer = new ByteWriter(BTF_EXT_HEADER_SIZE + funcLength + lineLength + coreLength)
    .u16(BTF_MAGIC)
    .u8(BTF_VERSION)
    .u8(0)
    .u32(BTF_EXT_HEADER_SIZE)
    .u32(0) // func_info_off
    .u32(funcLength)
    .u32(funcLength) // line_info_off
    .u32(lineLength)
    .u32(funcLength + lineLength) // core_relo_off
    .u32(coreLength);
  // Each block: record size, then {sec_name_off, num_info, records} per section (see blockLength).
  if (funcLength > 0) {
    writer.u32(BTF_FUNC_INFO_SIZE);
    for (const section of funcInfo) {
      if (section.records.length === 0) continue;
      writer.u32(section.sectionNameOffset).u32(section.records.length);
      for (const record of section.records) writer.u32(record.insnOffset).u32(record.typeId);
    }
  }
  if (lineLength > 0) {
    writer.u32(BTF_LINE_INFO_SIZE);
    for (const section of lineInfo) {
      if (section.records.length === 0) continue;
      writer.u32(section.sectionNameOffset).u32(section.records.length);
      for (const record of section.records) writer.u32(record.insnOffset).u32(record.fileNameOffset).u32(record.lineOffset).u32(record.lineCol);
    }
  }
  if (coreLength > 0) {
    writer.u32(CORE_RELO_SIZE);
    for (const section of coreRelocations) {
      if (section.records.length === 0) continue;
      writer.u32(section.sectionNameOffset).u32(section.records.length);
      for (const record of section.records) writer.u32(record.insnOffset).u32(record.typeId).u32(record.accessStringOffset).u32(record.kind);
    }
  }
  return writer.finish();
}

/**
 * The length of one info block: record size, then {sec_name_off, num_info, records} per
 * section. A block holding only its record size makes libbpf reject the whole .BTF.ext
 * ("has no records", -EINVAL), so an empty block is written with length 0, and sections
 * without records are left out.
 */
function blockLength(recordSize: number, sections: readonly BtfExtSection<unknown>[]): number {
  let length = 0;
  for (const section of sections) if (section.records.length > 0) length += 8 + section.records.length * recordSize;
  return length === 0 ? 0 : 4 + length;
}

/** Decodes a `.BTF.ext` blob (a header without the CO-RE fields, as old writers emit, has none). */
export function decodeBtfExt(bytes: Uint8Array): BtfExt {
  const reader = new ByteReader(bytes, ".BTF.ext");
  if (reader.u16(0) !== BTF_MAGIC) throw new ElfError(`.BTF.ext: bad magic 0x${reader.u16(0).toString(16)}`);
  const headerLength = reader.u32(4);
  if (headerLength < 24) throw new ElfError(`.BTF.ext: header length ${headerLength} too small`);
  const block = <T>(what: string, field: number, minRecord: number, read: (at: number) => T): BtfExtSection<T>[] =>
    withContext(`.BTF.ext ${what}`, () => {
      const start = headerLength + reader.u32(field);
      const length = reader.u32(field + 4);
      if (length === 0) return [];
      reader.check(start, length);
      const end = start + length;
      const recordSize = reader.u32(start);
      if (recordSize < minRecord) throw new ElfError(`record size ${recordSize} < ${minRecord}`);
      const sections: BtfExtSection<T>[] = [];
      let at = start + 4;
      while (at < end) {
        const sectionNameOffset = reader.u32(at);
        const count = reader.u32(at + 4);
        at += 8;
        if (at + count * recordSize > end) throw new ElfError(`section group ${sections.length} runs past the block`);
        const records: T[] = [];
        for (let index = 0; index < count; index++) records.push(read(at + index * recordSize));
        at += count * recordSize;
        sections.push({ sectionNameOffset, records });
      }
      return sections;
    });
  return {
    funcInfo: block("func info", 8, BTF_FUNC_INFO_SIZE, (at) => ({
      insnOffset: reader.u32(at),
      typeId: reader.u32(at + 4),
    })),
    lineInfo: block("line info", 16, BTF_LINE_INFO_SIZE, (at) => ({
      insnOffset: reader.u32(at),
      fileNameOffset: reader.u32(at + 4),
      lineOffset: reader.u32(at + 8),
      lineCol: reader.u32(at + 12),
    })),
    coreRelocations:
      headerLength >= BTF_EXT_HEADER_SIZE
        ? block("CO-RE relocations", 24, CORE_RELO_SIZE, (at) => ({
            insnOffset: reader.u32(at),
            typeId: reader.u32(at + 4),
            accessStringOffset: reader.u32(at + 8),
            kind: reader.u32(at + 12),
          }))
        : [],
  };
}
