// Machine instructions: the `Insn` record, its validation against the form table, and
// constructor helpers that build well-formed instructions from operation names.
//
// An Insn mirrors the kernel's `struct bpf_insn` field for field. The one exception is lddw,
// which spans two 8-byte slots: its 64-bit immediate lives in `imm64` (and `imm` stays 0),
// so there is a single source of truth for the value.

import { LuabpfError } from "@luabpf/platform/errors";
import {
  ALU_BINARY_OPS, ALU_OTHER_OPS, ATOMIC_OPS, CallSrc, FIELD_BIT, InsnClass, JMP_OPS, LDDW_CODE, Mode, PseudoSrc, SIZES, Source,
  formsWithCode, lookupForm,
  type AluBinaryOp, type AtomicOp, type InsnForm, type JmpCondOp, type SizeName,
} from "./opcodes.js";

/** One eBPF machine instruction (`struct bpf_insn`); lddw keeps its 64-bit immediate in `imm64`. */
export interface Insn {
  /** Opcode byte. */
  code: number;
  /** Destination register, 0..10. */
  dst: number;
  /** Source register 0..10, or a pseudo kind for lddw and call. */
  src: number;
  /** Signed 16-bit offset. */
  off: number;
  /** Signed 32-bit immediate; 0 for lddw. */
  imm: number;
  /** 64-bit immediate of lddw (two slots); absent for every other instruction. */
  imm64?: bigint;
}

/**
 * Error raised for malformed instructions, bytes, assembly text or assembler input. An
 * internal error where luabpf made the instructions; callers that pass on bytes or text
 * from elsewhere wrap it as the input's fault.
 */
export class IsaError extends LuabpfError {
  override readonly name: string = "IsaError";
  readonly kind = "internal" as const;
  readonly category = "internal" as const;
}

/** A jump whose target is farther than its offset field reaches (the program is too large for it). */
export class JumpRangeError extends IsaError {
  override readonly name = "JumpRangeError";
  constructor(
    message: string,
    /** The distance in instruction slots. */
    readonly distance: number,
  ) {
    super(message);
  }
}

/** Register numbers: r0 holds return values, r1..r5 arguments, r6..r9 are callee-saved, r10 is the read-only frame pointer. */
export const Reg = {
  R0: 0, R1: 1, R2: 2, R3: 3, R4: 4, R5: 5, R6: 6, R7: 7, R8: 8, R9: 9, R10: 10,
  /** The frame pointer, r10. */
  FP: 10,
} as const satisfies Record<string, number>;

/** Highest register number. */
export const MAX_REG = 10;

/** Number of 8-byte slots an instruction occupies: 2 for lddw, 1 otherwise. */
export function insnSlots(insn: Insn): 1 | 2 {
  return insn.code === LDDW_CODE ? 2 : 1;
}

/** Short hexadecimal description of an instruction's fields, for error messages. */
export function describeInsn(insn: Insn): string {
  const hex = (n: number): string => (n < 0 ? "-0x" + (-n).toString(16) : "0x" + n.toString(16));
  const imm64 = insn.imm64 === undefined ? "" : ` imm64=${insn.imm64}`;
  return `{code=${hex(insn.code)} dst=${insn.dst} src=${insn.src} off=${insn.off} imm=${hex(insn.imm)}${imm64}}`;
}

function isIntIn(value: number, lo: number, hi: number): boolean {
  return Number.isInteger(value) && value >= lo && value <= hi;
}

const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * Checks an instruction against the form table and returns its form.
 * Throws IsaError naming the problem when the opcode/selector combination is unknown, a field is out of
 * range (registers 0..10, off int16, imm int32, imm64 int64/uint64), or a field the form does not use is non-zero
 * (the kernel rejects such instructions).
 */
export function checkInsn(insn: Insn): InsnForm {
  const { code, dst, src, off, imm } = insn;
  if (!isIntIn(code, 0, 0xff)) invalid(insn, "code must be a byte");
  if (!isIntIn(dst, 0, 15) || !isIntIn(src, 0, 15)) invalid(insn, "register fields must be 0..15");
  if (!isIntIn(off, -0x8000, 0x7fff)) invalid(insn, `off ${off} does not fit in int16`);
  if (!isIntIn(imm, -0x80000000, 0x7fffffff)) invalid(insn, `imm ${imm} does not fit in int32`);
  const form = lookupForm(insn) ?? invalid(insn, noFormReason(insn));
  const used = form.used;
  if (code === LDDW_CODE) {
    if (insn.imm64 === undefined) invalid(insn, "lddw needs imm64");
    if (imm !== 0) invalid(insn, "lddw keeps its immediate in imm64; imm must be 0");
    if (insn.imm64! < INT64_MIN || insn.imm64! > UINT64_MAX) invalid(insn, "imm64 does not fit in 64 bits");
    if (src > PseudoSrc.MAP_IDX_VALUE) invalid(insn, `lddw pseudo src ${src} is not 0..6`);
  } else if (insn.imm64 !== undefined) {
    invalid(insn, "only lddw has imm64");
  }
  if (form.name === "jmp.call") {
    if (src > CallSrc.KFUNC) invalid(insn, `call src ${src} is not 0 (helper), 1 (bpf call) or 2 (kfunc)`);
    if (off !== 0 && src !== CallSrc.KFUNC) invalid(insn, "call off is only used by kfunc calls (src=2)");
  } else {
    if (used & FIELD_BIT.dst && dst > MAX_REG) invalid(insn, `dst r${dst} is not a register (0..10)`);
    if (used & FIELD_BIT.src && code !== LDDW_CODE && src > MAX_REG) invalid(insn, `src r${src} is not a register (0..10)`);
  }
  if (!(used & FIELD_BIT.dst) && dst !== 0) invalid(insn, `${form.name} does not use dst, which must be 0`);
  if (!(used & FIELD_BIT.src) && src !== 0) invalid(insn, `${form.name} does not use src, which must be 0`);
  if (!(used & FIELD_BIT.off) && off !== 0) invalid(insn, `${form.name} does not use off, which must be 0`);
  if (!(used & FIELD_BIT.imm) && imm !== 0) invalid(insn, `${form.name} does not use imm, which must be 0`);
  return form;
}

/** Throws the IsaError of an instruction {@link checkInsn} rejects. */
function invalid(insn: Insn, why: string): never {
  throw new IsaError(`invalid instruction ${describeInsn(insn)}: ${why}`);
}

function noFormReason(insn: Insn): string {
  const candidates = formsWithCode(insn.code);
  if (candidates.length === 0) return `no instruction form has opcode 0x${insn.code.toString(16)}`;
  const needs = candidates.map((f) => {
    const parts: string[] = [];
    if (f.select.off !== undefined) parts.push(`off=${f.select.off}`);
    if (f.select.imm !== undefined) parts.push(`imm=0x${f.select.imm.toString(16)}`);
    if (f.select.srcNonZero !== undefined) parts.push(f.select.srcNonZero ? "src!=0" : "src=0");
    return `${f.name} (${parts.join(", ")})`;
  });
  return `no instruction form matches off=${insn.off} imm=${insn.imm} src=${insn.src} for opcode 0x${insn.code.toString(16)}; it needs ${needs.join(" or ")}`;
}

// ---------------------------------------------------------------------------------------------
// Constructors. Each returns a fresh, well-formed Insn.

function make(code: number, dst: number, src: number, off: number, imm: number): Insn {
  return { code, dst, src, off, imm };
}

function sizeCode(size: SizeName): number {
  return SIZES[size].code;
}

/** 64-bit ALU operation with a register source: `dst op= src` (e.g. `alu64Reg("add", 1, 2)` is `r1 += r2`). */
export function alu64Reg(op: AluBinaryOp, dst: number, src: number): Insn {
  const info = ALU_BINARY_OPS[op];
  return make(InsnClass.ALU64 | info.op | Source.X, dst, src, info.off, 0);
}

/** 64-bit ALU operation with an immediate: `dst op= imm`. */
export function alu64Imm(op: AluBinaryOp, dst: number, imm: number): Insn {
  const info = ALU_BINARY_OPS[op];
  return make(InsnClass.ALU64 | info.op | Source.K, dst, 0, info.off, imm);
}

/** 32-bit ALU operation with a register source: `wdst op= wsrc` (zero-extends into the upper half). */
export function alu32Reg(op: AluBinaryOp, dst: number, src: number): Insn {
  const info = ALU_BINARY_OPS[op];
  return make(InsnClass.ALU | info.op | Source.X, dst, src, info.off, 0);
}

/** 32-bit ALU operation with an immediate: `wdst op= imm`. */
export function alu32Imm(op: AluBinaryOp, dst: number, imm: number): Insn {
  const info = ALU_BINARY_OPS[op];
  return make(InsnClass.ALU | info.op | Source.K, dst, 0, info.off, imm);
}

/** `rdst = rsrc`. */
export function mov64Reg(dst: number, src: number): Insn {
  return alu64Reg("mov", dst, src);
}

/** `rdst = imm` (imm is sign-extended to 64 bits). */
export function mov64Imm(dst: number, imm: number): Insn {
  return alu64Imm("mov", dst, imm);
}

/** `wdst = wsrc`. */
export function mov32Reg(dst: number, src: number): Insn {
  return alu32Reg("mov", dst, src);
}

/** `wdst = imm`. */
export function mov32Imm(dst: number, imm: number): Insn {
  return alu32Imm("mov", dst, imm);
}

/** `rdst = -rdst`. */
export function neg64(dst: number): Insn {
  return make(InsnClass.ALU64 | ALU_OTHER_OPS.neg | Source.K, dst, 0, 0, 0);
}

/** `wdst = -wdst`. */
export function neg32(dst: number): Insn {
  return make(InsnClass.ALU | ALU_OTHER_OPS.neg | Source.K, dst, 0, 0, 0);
}

/** Sign-extending move `rdst = (sBITS)rsrc` (cpu v4). */
export function movsx64(dst: number, src: number, bits: 8 | 16 | 32): Insn {
  return make(InsnClass.ALU64 | ALU_OTHER_OPS.movsx | Source.X, dst, src, bits, 0);
}

/** Sign-extending move `wdst = (sBITS)wsrc` (cpu v4). */
export function movsx32(dst: number, src: number, bits: 8 | 16): Insn {
  return make(InsnClass.ALU | ALU_OTHER_OPS.movsx | Source.X, dst, src, bits, 0);
}

/** Byte-order conversions: `be`/`le` convert from host order (ALU class), `bswap` swaps unconditionally (ALU64, cpu v4). */
export type EndianKind = "be" | "le" | "bswap";

/** Byte swap `rdst = be16 rdst` and friends; `bits` is the width converted (the rest is zeroed). */
export function endian(kind: EndianKind, dst: number, bits: 16 | 32 | 64): Insn {
  const cls = kind === "bswap" ? InsnClass.ALU64 : InsnClass.ALU;
  const source = kind === "be" ? Source.X : Source.K;
  return make(cls | ALU_OTHER_OPS.end | source, dst, 0, 0, bits);
}

/** Load `dst = *(uSIZE *)(src + off)` (zero-extending). */
export function ldxMem(size: SizeName, dst: number, src: number, off: number): Insn {
  return make(InsnClass.LDX | Mode.MEM | sizeCode(size), dst, src, off, 0);
}

/** Sign-extending load `dst = *(sSIZE *)(src + off)` for B, H, W (cpu v4). */
export function ldxMemSx(size: Exclude<SizeName, "DW">, dst: number, src: number, off: number): Insn {
  return make(InsnClass.LDX | Mode.MEMSX | sizeCode(size), dst, src, off, 0);
}

/** Store register `*(uSIZE *)(dst + off) = src`. */
export function stxMem(size: SizeName, dst: number, src: number, off: number): Insn {
  return make(InsnClass.STX | Mode.MEM | sizeCode(size), dst, src, off, 0);
}

/** Store immediate `*(uSIZE *)(dst + off) = imm`. */
export function stMem(size: SizeName, dst: number, off: number, imm: number): Insn {
  return make(InsnClass.ST | Mode.MEM | sizeCode(size), dst, 0, off, imm);
}

/** Legacy packet load `r0 = *(uSIZE *)skb[imm]` (socket filters; r6 must hold the skb). */
export function ldAbs(size: Exclude<SizeName, "DW">, imm: number): Insn {
  return make(InsnClass.LD | Mode.ABS | sizeCode(size), 0, 0, 0, imm);
}

/** Legacy packet load `r0 = *(uSIZE *)skb[src + imm]`. */
export function ldInd(size: Exclude<SizeName, "DW">, src: number, imm: number): Insn {
  return make(InsnClass.LD | Mode.IND | sizeCode(size), 0, src, 0, imm);
}

/** Conditional jump comparing 64-bit `dst` with `imm`: `if rdst OP imm goto +off`. */
export function jmpImm(op: JmpCondOp, dst: number, imm: number, off: number): Insn {
  return make(InsnClass.JMP | JMP_OPS[op].op | Source.K, dst, 0, off, imm);
}

/** Conditional jump comparing 64-bit registers: `if rdst OP rsrc goto +off`. */
export function jmpReg(op: JmpCondOp, dst: number, src: number, off: number): Insn {
  return make(InsnClass.JMP | JMP_OPS[op].op | Source.X, dst, src, off, 0);
}

/** Conditional jump comparing the low 32 bits with `imm`: `if wdst OP imm goto +off` (cpu v3). */
export function jmp32Imm(op: JmpCondOp, dst: number, imm: number, off: number): Insn {
  return make(InsnClass.JMP32 | JMP_OPS[op].op | Source.K, dst, 0, off, imm);
}

/** Conditional jump comparing 32-bit registers: `if wdst OP wsrc goto +off` (cpu v3). */
export function jmp32Reg(op: JmpCondOp, dst: number, src: number, off: number): Insn {
  return make(InsnClass.JMP32 | JMP_OPS[op].op | Source.X, dst, src, off, 0);
}

/** Unconditional jump `goto +off` (off in slots, relative to the next instruction). */
export function ja(off: number): Insn {
  return make(InsnClass.JMP | JMP_OPS.ja.op, 0, 0, off, 0);
}

/** Long unconditional jump `gotol +imm` with a 32-bit offset (JMP32 class, cpu v4). */
export function gotol(imm: number): Insn {
  return make(InsnClass.JMP32 | JMP_OPS.ja.op, 0, 0, 0, imm);
}

/** Call helper function number `helperId` (`call 14`). */
export function call(helperId: number): Insn {
  return make(InsnClass.JMP | JMP_OPS.call.op, 0, CallSrc.HELPER, 0, helperId);
}

/** BPF-to-BPF call (src=1); `imm` is the callee's offset in slots relative to the next instruction. */
export function callLocal(imm: number): Insn {
  return make(InsnClass.JMP | JMP_OPS.call.op, 0, CallSrc.PSEUDO_CALL, 0, imm);
}

/** Kernel function call (src=2) by BTF id; `btfFdIndex` selects a module BTF (0 = vmlinux). */
export function callKfunc(btfId: number, btfFdIndex = 0): Insn {
  return make(InsnClass.JMP | JMP_OPS.call.op, 0, CallSrc.KFUNC, btfFdIndex, btfId);
}

/** `exit`: return r0 to the caller. */
export function exit(): Insn {
  return make(InsnClass.JMP | JMP_OPS.exit.op, 0, 0, 0, 0);
}

/**
 * 64-bit immediate load `rdst = imm64 ll` (two slots). `src` may name a pseudo kind (see PseudoSrc).
 * The value is stored as a signed 64-bit integer, so `0xffff_ffff_ffff_ffffn` becomes `-1n`.
 */
export function lddw(dst: number, imm64: bigint, src = 0): Insn {
  return { code: LDDW_CODE, dst, src, off: 0, imm: 0, imm64: BigInt.asIntN(64, imm64) };
}

/**
 * Map reference `rdst = map` as lddw with src = BPF_PSEUDO_MAP_FD and immediate 0, to be patched by a
 * relocation. (clang leaves src = 0 in objects and libbpf sets src itself; both are accepted by libbpf.)
 */
export function ldMapFd(dst: number): Insn {
  return lddw(dst, 0n, PseudoSrc.MAP_FD);
}

/** Atomic operation on `*(uSIZE *)(dst + off)` with value register `src` (W or DW; cmpxchg compares with r0). */
export function atomic(op: AtomicOp, size: "W" | "DW", dst: number, src: number, off: number): Insn {
  return make(InsnClass.STX | Mode.ATOMIC | sizeCode(size), dst, src, off, ATOMIC_OPS[op].imm);
}

/** `lock *(uSIZE *)(dst + off) += src`. */
export function atomicAdd(size: "W" | "DW", dst: number, src: number, off: number): Insn {
  return atomic("add", size, dst, src, off);
}

/** Whether two instructions have equal fields (imm64 included). */
export function insnEquals(a: Insn, b: Insn): boolean {
  return a.code === b.code && a.dst === b.dst && a.src === b.src && a.off === b.off && a.imm === b.imm && a.imm64 === b.imm64;
}

/** Whether an instruction is a jump whose target is relative (ja, gotol or a conditional jump, not call/exit). */
export function isRelativeJump(insn: Insn): boolean {
  const cls = insn.code & 0x07;
  if (cls !== InsnClass.JMP && cls !== InsnClass.JMP32) return false;
  const op = insn.code & 0xf0;
  return op !== JMP_OPS.call.op && op !== JMP_OPS.exit.op;
}

/** The condition that holds exactly when `op` does not (`jset` has none). */
export const INVERSE_JUMPS: Readonly<Record<JmpCondOp, JmpCondOp | undefined>> = {
  jeq: "jne", jne: "jeq", jgt: "jle", jle: "jgt", jge: "jlt", jlt: "jge",
  jsgt: "jsle", jsle: "jsgt", jsge: "jslt", jslt: "jsge", jset: undefined,
};

/** The condition that holds for the operands exchanged (`a < b` is `b > a`). */
export const SWAPPED_JUMPS: Readonly<Record<JmpCondOp, JmpCondOp>> = {
  jeq: "jeq", jne: "jne", jlt: "jgt", jle: "jge", jgt: "jlt", jge: "jle",
  jslt: "jsgt", jsle: "jsge", jsgt: "jslt", jsge: "jsle", jset: "jset",
};

const JMP_CONDITION_BY_OP = new Map<number, JmpCondOp>(
  Object.entries(JMP_OPS)
    .filter(([, info]) => "operator" in info)
    .map(([name, info]) => [info.op, name as JmpCondOp]),
);

/** The conditional jump (same class, operands and offset) with the opposite condition; undefined for `jset` and non-conditional jumps. */
export function invertJump(insn: Insn): Insn | undefined {
  const cond = JMP_CONDITION_BY_OP.get(insn.code & 0xf0);
  const cls = insn.code & 0x07;
  if (!cond || (cls !== InsnClass.JMP && cls !== InsnClass.JMP32)) return undefined;
  const inverse = INVERSE_JUMPS[cond];
  return inverse === undefined ? undefined : { ...insn, code: (insn.code & 0x0f) | JMP_OPS[inverse].op };
}

/** Whether an instruction is gotol, whose jump offset lives in imm rather than off. */
export function isGotol(insn: Insn): boolean {
  return insn.code === (InsnClass.JMP32 | JMP_OPS.ja.op);
}
