// Numeric constants of ELF64 (System V gABI), the eBPF ELF conventions libbpf follows,
// and BTF (kernel Documentation/bpf/btf.rst). Defined once here; writer and reader
// both import them, so a value cannot drift between the two directions.

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
} as const;

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
export const SymbolType = { notype: 0, object: 1, func: 2, section: 3, file: 4 } as const;

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

/** Size of one eBPF instruction slot; `lddw` takes two. */
export const BPF_INSN_SIZE = 8;

/** Opcode byte of `lddw` (BPF_LD | BPF_IMM | BPF_DW). */
export const BPF_LDDW = 0x18;

/** BPF_MAP_TYPE_* values from the kernel's uapi/linux/bpf.h. */
export const MapType = {
  unspec: 0,
  hash: 1,
  array: 2,
  prog_array: 3,
  perf_event_array: 4,
  percpu_hash: 5,
  percpu_array: 6,
  stack_trace: 7,
  cgroup_array: 8,
  lru_hash: 9,
  lru_percpu_hash: 10,
  lpm_trie: 11,
  array_of_maps: 12,
  hash_of_maps: 13,
  devmap: 14,
  sockmap: 15,
  cpumap: 16,
  xskmap: 17,
  sockhash: 18,
  cgroup_storage: 19,
  reuseport_sockarray: 20,
  percpu_cgroup_storage: 21,
  queue: 22,
  stack: 23,
  sk_storage: 24,
  devmap_hash: 25,
  struct_ops: 26,
  ringbuf: 27,
  inode_storage: 28,
  task_storage: 29,
  bloom_filter: 30,
  user_ringbuf: 31,
  cgrp_storage: 32,
  arena: 33,
} as const satisfies Record<string, number>;

/** BPF_F_* map flags commonly used in `map_flags`. */
export const MapFlag = {
  noPrealloc: 1 << 0,
  noCommonLru: 1 << 1,
  numaNode: 1 << 2,
  rdonly: 1 << 3,
  wronly: 1 << 4,
  rdonlyProg: 1 << 7,
  wronlyProg: 1 << 8,
  mmapable: 1 << 10,
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
