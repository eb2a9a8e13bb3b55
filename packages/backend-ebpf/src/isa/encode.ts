// Binary encoding of eBPF instructions: Insn[] <-> little-endian bytes.
//
// Each slot is 8 bytes: opcode, (src << 4) | dst, off (int16 LE), imm (int32 LE). lddw takes two
// slots: the first carries the low 32 bits of the immediate, the second (all other fields zero)
// the high 32 bits. Both directions validate every instruction against the form table through
// checkInsn, so anything encoded decodes back to an equal Insn and vice versa. Linear time.

import { IsaError, checkInsn, describeInsn, insnSlots, type Insn } from "./insn.js";
import { LDDW_CODE } from "./opcodes.js";

/** Bytes per instruction slot. */
export const SLOT_BYTES = 8;

/** Total number of 8-byte slots the instructions occupy. */
export function countSlots(insns: readonly Insn[]): number {
  let slots = 0;
  for (const insn of insns) slots += insnSlots(insn);
  return slots;
}

/**
 * Encodes instructions to little-endian bytes (8 per slot, 16 for lddw).
 * Throws IsaError, naming the instruction index, for any instruction checkInsn rejects.
 */
export function encodeInsns(insns: readonly Insn[]): Uint8Array {
  const bytes = new Uint8Array(countSlots(insns) * SLOT_BYTES);
  let pos = 0;
  for (let index = 0; index < insns.length; index++) {
    const insn = insns[index]!;
    try {
      checkInsn(insn);
    } catch (cause) {
      throw new IsaError(`cannot encode instruction ${index}: ${(cause as Error).message}`, { cause });
    }
    if (insn.imm64 === undefined) {
      writeSlot(bytes, pos, insn.code, insn.dst, insn.src, insn.off, insn.imm);
      pos += SLOT_BYTES;
    } else {
      const imm64 = BigInt.asUintN(64, insn.imm64);
      writeSlot(bytes, pos, insn.code, insn.dst, insn.src, insn.off, Number(BigInt.asIntN(32, imm64)));
      writeSlot(bytes, pos + SLOT_BYTES, 0, 0, 0, 0, Number(BigInt.asIntN(32, imm64 >> 32n)));
      pos += 2 * SLOT_BYTES;
    }
  }
  return bytes;
}

/** Encodes one instruction (8 or 16 bytes). */
export function encodeInsn(insn: Insn): Uint8Array {
  return encodeInsns([insn]);
}

/** One 8-byte slot, little-endian (fields checked by checkInsn: a typed-array store keeps the low byte). */
function writeSlot(bytes: Uint8Array, pos: number, code: number, dst: number, src: number, off: number, imm: number): void {
  bytes[pos] = code;
  bytes[pos + 1] = (src << 4) | dst;
  bytes[pos + 2] = off;
  bytes[pos + 3] = off >> 8;
  bytes[pos + 4] = imm;
  bytes[pos + 5] = imm >> 8;
  bytes[pos + 6] = imm >> 16;
  bytes[pos + 7] = imm >> 24;
}

function hexBytes(bytes: Uint8Array, start: number, length: number): string {
  return [...bytes.subarray(start, start + length)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/**
 * Decodes little-endian bytes into instructions. Throws IsaError, naming the slot and its bytes,
 * when the length is not a multiple of 8, an opcode or field combination is invalid, or a lddw
 * lacks a well-formed second slot.
 */
export function decodeInsns(bytes: Uint8Array): Insn[] {
  if (bytes.length % SLOT_BYTES !== 0) {
    throw new IsaError(`cannot decode ${bytes.length} bytes: not a multiple of ${SLOT_BYTES}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const insns: Insn[] = [];
  const slots = bytes.length / SLOT_BYTES;
  for (let slot = 0; slot < slots; slot++) {
    const pos = slot * SLOT_BYTES;
    const regs = view.getUint8(pos + 1);
    const insn: Insn = {
      code: view.getUint8(pos),
      dst: regs & 0x0f,
      src: regs >> 4,
      off: view.getInt16(pos + 2, true),
      imm: view.getInt32(pos + 4, true),
    };
    const where = (): string => `slot ${slot} (${hexBytes(bytes, pos, insn.code === LDDW_CODE ? 16 : 8)})`;
    if (insn.code === LDDW_CODE) {
      if (slot + 1 >= slots) throw new IsaError(`cannot decode ${where()}: lddw is missing its second slot`);
      const next = pos + SLOT_BYTES;
      if (view.getUint8(next) !== 0 || view.getUint8(next + 1) !== 0 || view.getInt16(next + 2, true) !== 0) {
        throw new IsaError(`cannot decode ${where()}: the second slot of lddw must have zero code, registers and off`);
      }
      const lo = BigInt(view.getUint32(pos + 4, true));
      const hi = BigInt(view.getInt32(next + 4, true));
      insn.imm64 = (hi << 32n) | lo;
      insn.imm = 0;
      slot++;
    }
    try {
      checkInsn(insn);
    } catch (cause) {
      throw new IsaError(`cannot decode ${where()}: ${(cause as Error).message}`, { cause });
    }
    insns.push(insn);
  }
  return insns;
}

/** Decodes exactly one instruction from 8 (or, for lddw, 16) bytes. */
export function decodeInsn(bytes: Uint8Array): Insn {
  const insns = decodeInsns(bytes);
  if (insns.length !== 1) throw new IsaError(`expected one instruction, decoded ${insns.length}: ${insns.map(describeInsn).join(", ")}`);
  return insns[0]!;
}
