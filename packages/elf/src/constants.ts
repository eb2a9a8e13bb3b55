// Numeric constants of ELF64 (System V gABI), the eBPF ELF conventions libbpf follows,
// and BTF (kernel Documentation/bpf/btf.rst). Defined once here; writer and reader
// both import them, so a value cannot drift between the two directions. The eBPF numbers
// (map types, the `lddw` opcode, the instruction size) come from @luabpf/platform.

/** ELF identification and header values used for eBPF relocatable objects. */
export const Elf = {
  classElf64: 2,
  dataLsb: 1,
  versionCurrent: 1,
  typeRel: 1,
  machineBpf: 247,
  headerSize: 64,
  sectionHeaderSize: 64,
  symbolSize: 24,
  relSize: 16,
} as const;

/** Section header types (sh_type). */
export const SectionType = {
  null: 0,
  progbits: 1,
  symtab: 2,
  strtab: 3,
  rela: 4,
  nobits: 8,
  rel: 9,
  /** The dynamic symbol table of executables and shared libraries (read for uprobes). */
  dynsym: 11,
} as const;

/** Program header types (p_type), of host executables (uprobe offsets). */
export const SegmentType = { load: 1 } as const;

/** Section header flags (sh_flags). */
export const SectionFlag = {
  write: 0x1,
  alloc: 0x2,
  execInstr: 0x4,
  infoLink: 0x40,
} as const;

/** Symbol binding (high nibble of st_info). */
export const SymbolBind = { local: 0, global: 1, weak: 2 } as const;

/** Symbol type (low nibble of st_info). */
export const SymbolType = { notype: 0, object: 1, func: 2, section: 3, file: 4, gnuIfunc: 10 } as const;

/** Special section index: undefined symbol. */
export const SHN_UNDEF = 0;

/** eBPF relocation types (ELF64_R_TYPE of r_info). */
export const RelocType = {
  none: 0,
  /** 64-bit immediate of an `lddw` (map or global-data address). */
  bpf64_64: 1,
  /** Used by clang inside .BTF/.BTF.ext; ignored by libbpf. */
  bpf64Abs64: 2,
  bpf64Abs32: 3,
  bpf64NoDyld32: 4,
  /** pc-relative call to a bpf-to-bpf subprogram. */
  bpf64_32: 10,
} as const;

/** BTF_KIND_* numbers. */
export const BtfKind = {
  unknown: 0,
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  fwd: 7,
  typedef: 8,
  volatile: 9,
  const: 10,
  restrict: 11,
  func: 12,
  func_proto: 13,
  var: 14,
  datasec: 15,
  float: 16,
  decl_tag: 17,
  type_tag: 18,
  enum64: 19,
} as const;

/**
 * The bytes that follow a record's 12-byte header, by kind (the kernel's `btf_type_size`
 * minus the header): a fixed part plus `vlen` entries of `btf_member` / `btf_var_secinfo` /
 * `btf_enum64` (12 bytes) or `btf_enum` / `btf_param` (8 bytes). Undefined for a kind this
 * table does not know. The one definition the BTF decoder and the BTF index read.
 */
export function btfRecordExtraSize(kind: number, vlen: number): number | undefined {
  switch (kind) {
    case BtfKind.int:
    case BtfKind.var:
    case BtfKind.decl_tag:
      return 4;
    case BtfKind.array:
      return 12;
    case BtfKind.struct:
    case BtfKind.union:
    case BtfKind.datasec:
    case BtfKind.enum64:
      return 12 * vlen;
    case BtfKind.enum:
    case BtfKind.func_proto:
      return 8 * vlen;
    case BtfKind.ptr:
    case BtfKind.fwd:
    case BtfKind.typedef:
    case BtfKind.volatile:
    case BtfKind.const:
    case BtfKind.restrict:
    case BtfKind.func:
    case BtfKind.float:
    case BtfKind.type_tag:
      return 0;
    default:
      return undefined;
  }
}

/** BTF_INT_* encoding bits (bits 24..27 of the int's extra word). */
export const BtfIntEncoding = { signed: 1, char: 2, bool: 4 } as const;

/** Magic number opening both `.BTF` and `.BTF.ext`. */
export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** `struct btf_header` size. */
export const BTF_HEADER_SIZE = 24;
/** `struct btf_ext_header` size including the (empty) CO-RE relocation fields, as clang writes it. */
export const BTF_EXT_HEADER_SIZE = 32;
/** `struct bpf_func_info` record size in `.BTF.ext`. */
export const BTF_FUNC_INFO_SIZE = 8;
/** `struct bpf_line_info` record size in `.BTF.ext`. */
export const BTF_LINE_INFO_SIZE = 16;
