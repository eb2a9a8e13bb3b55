// A tiny eBPF instruction encoder for the loader's tests: each helper returns one or two
// 8-byte slots in the kernel's little-endian layout
//   byte 0 opcode | byte 1 dst_reg (low nibble), src_reg (high nibble) | bytes 2–3 off (s16)
//   bytes 4–7 imm (s32)
// Deliberately independent of @luabpf/backend-ebpf, so a bug there cannot hide here.

import { BPF_FUNC } from "@luabpf/platform";
export function slot(opcode: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  bytes[0] = opcode;
  bytes[1] = (dst & 0x0f) | ((src & 0x0f) << 4);
  view.setInt16(2, off, true);
  view.setInt32(4, imm, true);
  return bytes;
}

/** Concatenates instructions into program code. */
export function program(...insns: Uint8Array[]): Uint8Array {
  const code = new Uint8Array(insns.reduce((n, i) => n + i.length, 0));
  let at = 0;
  for (const insn of insns) {
    code.set(insn, at);
    at += insn.length;
  }
  return code;
}

export const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R6 = 6, R10 = 10;

/** dst = imm (64-bit mov, BPF_ALU64 | BPF_MOV | BPF_K). */
export const movImm = (dst: number, imm: number) => slot(0xb7, dst, 0, 0, imm);
/** dst = src (BPF_ALU64 | BPF_MOV | BPF_X). */
export const movReg = (dst: number, src: number) => slot(0xbf, dst, src, 0, 0);
/** dst += imm (BPF_ALU64 | BPF_ADD | BPF_K). */
export const addImm = (dst: number, imm: number) => slot(0x07, dst, 0, 0, imm);
/** dst = *(u32 *)(src + off) (BPF_LDX | BPF_MEM | BPF_W). */
export const ldxw = (dst: number, src: number, off: number) => slot(0x61, dst, src, off, 0);
/** *(u32 *)(dst + off) = imm (BPF_ST | BPF_MEM | BPF_W). */
export const stw = (dst: number, off: number, imm: number) => slot(0x62, dst, 0, off, imm);
/** lock *(u64 *)(dst + off) += src (BPF_STX | BPF_ATOMIC | BPF_DW, imm = BPF_ADD). */
export const atomicAdd64 = (dst: number, src: number, off: number) => slot(0xdb, dst, src, off, 0x00);
/** r0 = *(u8 *)(skb->data + imm) (legacy BPF_LD | BPF_ABS | BPF_B; needs r6 = ctx). */
export const ldAbsB = (imm: number) => slot(0x30, 0, 0, 0, imm);
/** if dst == imm goto +off (BPF_JMP | BPF_JEQ | BPF_K). */
export const jeqImm = (dst: number, imm: number, off: number) => slot(0x15, dst, 0, off, imm);
/** call helper `id` (BPF_JMP | BPF_CALL). */
export const call = (id: number) => slot(0x85, 0, 0, 0, id);
/** exit (BPF_JMP | BPF_EXIT). */
export const exit = () => slot(0x95, 0, 0, 0, 0);
/** dst = imm64 (BPF_LD | BPF_IMM | BPF_DW, two slots), with src_reg 0 as a compiler emits it before relocation. */
export const lddw = (dst: number, imm: bigint) =>
  program(slot(0x18, dst, 0, 0, Number(BigInt.asIntN(32, imm))), slot(0, 0, 0, 0, Number(BigInt.asIntN(32, imm >> 32n))));

/** Helper ids come from the platform table. */
export const BPF_FUNC_map_lookup_elem = BPF_FUNC.map_lookup_elem;

/** Little-endian encodings of map keys and values. */
export const u32 = (value: number) => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
};
export const u64 = (value: bigint | number) => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
  return bytes;
};
export const readU32 = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
export const readU64 = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
