/**
 * The eBPF instruction encoding's opcode-byte fields, as the kernel's instruction-set
 * document (Documentation/bpf/standardization/instruction-set.rst) lays them out:
 *
 *   ALU/ALU64/JMP/JMP32:  op (4 bits) | source (1 bit) | class (3 bits)
 *   LD/LDX/ST/STX:        mode (3 bits) | size (2 bits) | class (3 bits)
 *
 * with the jump operations, the slot size and the `lddw` opcode derived from them. The
 * backend's ISA table (backend-ebpf/src/isa/opcodes.ts) builds every instruction form from
 * these fields; the ELF validator and the loader's CO-RE relocator, which do not depend on
 * the backend, read them here.
 */

/** Masks of the opcode byte's fields. */
export const OpcodeField = {
  CLASS: 0x07,
  SOURCE: 0x08,
  SIZE: 0x18,
  MODE: 0xe0,
  OP: 0xf0,
} as const satisfies Record<string, number>;

/** Instruction classes: the low 3 bits of the opcode byte. */
export const InsnClass = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const satisfies Record<string, number>;

/** Name of an instruction class. */
export type InsnClassName = keyof typeof InsnClass;

/** Source bit of ALU and jump opcodes: K uses `imm`, X uses the `src` register. */
export const Source = { K: 0x00, X: 0x08 } as const satisfies Record<string, number>;

/** Access sizes of load/store opcodes: the size field (bits 3..4) and the width in bytes. */
export const ACCESS_SIZES = {
  B: { code: 0x10, bytes: 1 },
  H: { code: 0x08, bytes: 2 },
  W: { code: 0x00, bytes: 4 },
  DW: { code: 0x18, bytes: 8 },
} as const satisfies Record<string, { readonly code: number; readonly bytes: 1 | 2 | 4 | 8 }>;

/** Memory modes of load/store opcodes: the top 3 bits of the opcode byte. */
export const Mode = {
  /** 64-bit immediate load `lddw` (LD class, DW size, 16 bytes). */
  IMM: 0x00,
  /** Legacy packet load at a constant offset (LD class). */
  ABS: 0x20,
  /** Legacy packet load at a register plus constant offset (LD class). */
  IND: 0x40,
  /** Regular memory access. */
  MEM: 0x60,
  /** Sign-extending load (LDX class, cpu v4). */
  MEMSX: 0x80,
  /** Atomic read-modify-write (STX class, W and DW only). */
  ATOMIC: 0xc0,
} as const satisfies Record<string, number>;

/** The op field (bits 4..7) of jump opcodes (JMP and JMP32 classes). */
export const JmpOpCode = {
  ja: 0x00,
  jeq: 0x10,
  jgt: 0x20,
  jge: 0x30,
  jset: 0x40,
  jne: 0x50,
  jsgt: 0x60,
  jsge: 0x70,
  call: 0x80,
  exit: 0x90,
  jlt: 0xa0,
  jle: 0xb0,
  jslt: 0xc0,
  jsle: 0xd0,
} as const satisfies Record<string, number>;

/** Opcode byte of `lddw` (BPF_LD | BPF_IMM | BPF_DW), the only two-slot instruction and the only one a map relocation may target. */
export const LDDW_OPCODE = InsnClass.LD | Mode.IMM | ACCESS_SIZES.DW.code;

/** Size of one instruction slot in bytes (an `lddw` takes two). */
export const INSN_SIZE = 8;
