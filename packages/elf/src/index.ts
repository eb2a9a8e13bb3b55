// @luabpf/elf — writes and reads eBPF relocatable ELF objects (the format clang
// emits and libbpf loads), including BTF and `.BTF.ext` func info. Stands alone but for
// @luabpf/platform, the dependency-free table of eBPF numbers (map types, `lddw`): no
// dependency on the compiler, no third-party dependency.
//
//   BpfObject ──writeObject──▶ bytes (ELF64 LE, EM_BPF, ET_REL) ──readObject──▶ BpfObject
//
// Modules: object.ts (data model), validate.ts + elf-writer.ts (writer),
// elf-file.ts + object-reader.ts (reader), btf-types.ts / btf-encoder.ts /
// btf-decoder.ts (BTF), btf-maps.ts (libbpf map layout), btf-ext.ts (.BTF.ext).

export type { BpfObject, ObjectAttach, ObjectCoreRelocation, ObjectDataSection, ObjectDebugInfo, ObjectLine, ObjectMap, ObjectProgram, ObjectRelocation } from "./object.js";
export { DEFAULT_PROGRAM_PROTO, writeObject, type WriteOptions } from "./elf-writer.js";
export { DEBUG_SECTIONS, Dwarf, encodeDwarf, type DebugRelocation, type DebugSection, type DwarfOptions, type PlacedProgram } from "./dwarf.js";
export { RECORD_TAG_PREFIX } from "./object.js";
export { ATTACH_SECTION, readObject, readObjectBtf } from "./object-reader.js";
export { parseElf, parseRelocations, type ElfFile, type ElfRelocation, type ElfSection, type ElfSymbolEntry } from "./elf-file.js";
export { ElfError } from "./errors.js";
export {
  btfInt,
  btfSizeof,
  btfVoid,
  describeBtfType,
  skipModifiers,
  type BtfArray,
  type BtfComposite,
  type BtfDatasec,
  type BtfDatasecEntry,
  type BtfDeclTag,
  type BtfEnum,
  type BtfEnum64,
  type BtfFloat,
  type BtfFunc,
  type BtfFuncProto,
  type BtfFwd,
  type BtfInt,
  type BtfLinkage,
  type BtfMember,
  type BtfParam,
  type BtfPtr,
  type BtfQualifier,
  type BtfType,
  type BtfTypedef,
  type BtfTypeTag,
  type BtfVar,
  type BtfVoid,
} from "./btf-types.js";
export { BtfBuilder, encodeBtf } from "./btf-encoder.js";
export { decodeBtf, type BtfTable } from "./btf-decoder.js";
export { BtfIndex, readBtfFile, type BtfEntry } from "./btf-index.js";
export {
  decodeBtfExt,
  encodeBtfExt,
  type BtfExt,
  type BtfExtSection,
  type CoreRelocationInfo,
  type FuncInfo,
  type LineInfo,
} from "./btf-ext.js";
export { mapDefinitionType, parseMapDefinition } from "./btf-maps.js";
export {
  BtfKind,
  Elf,
  RelocType,
  SectionFlag,
  SectionType,
  SegmentType,
  SHN_UNDEF,
  SymbolBind,
  SymbolType,
} from "./constants.js";
export { StringTable } from "./bytes.js";
