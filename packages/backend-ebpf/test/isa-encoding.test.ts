// Encoding table of the eBPF instruction-set layer: every instruction form of INSN_FORMS appears in
// at least one row (instruction, llvm-objdump text, bytes), and each row is checked both ways:
// encode -> bytes, decode -> insn, print -> text, parse -> insn. The rows' text and bytes were
// confirmed with LLVM, and the "LLVM cross-check" block below re-checks them on every run: bytes against
// llvm-mc's encoder, text against llvm-objdump (16, and 19 for forms LLVM 16 does not know).

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  INSN_FORMS, PseudoSrc, checkInsn, formByName, insnEquals, printObjdump, type PrintOptions, decodeInsns, encodeInsns, parseInsn, printInsn,
  alu32Imm, alu32Reg, alu64Imm, alu64Reg, atomic, call, callKfunc, callLocal, endian, exit, gotol, ja, jmp32Imm,
  jmp32Reg, jmpImm, jmpReg, ldAbs, ldInd, ldMapFd, lddw, ldxMem, ldxMemSx, mov32Imm, mov64Imm, mov64Reg, movsx32,
  movsx64, neg32, neg64, stMem, stxMem,
  type Insn,
} from "../src/isa/index.js";

/** One row: instruction, its text as `llvm-objdump -d` prints it (LLVM 16, or 19 for newer forms), its bytes. */
type Row = readonly [insn: Insn, text: string, bytes: string];

const ROWS: readonly Row[] = [
  [alu64Imm("add", 1, 1), "r1 += 0x1", "07 01 00 00 01 00 00 00"],
  [alu64Reg("add", 2, 3), "r2 += r3", "0f 32 00 00 00 00 00 00"],
  [alu32Imm("add", 4, 1), "w4 += 0x1", "04 04 00 00 01 00 00 00"],
  [alu32Reg("add", 5, 6), "w5 += w6", "0c 65 00 00 00 00 00 00"],
  [alu64Imm("sub", 1, -3), "r1 -= -0x3", "17 01 00 00 fd ff ff ff"],
  [alu64Reg("sub", 2, 3), "r2 -= r3", "1f 32 00 00 00 00 00 00"],
  [alu32Imm("sub", 4, -3), "w4 -= -0x3", "14 04 00 00 fd ff ff ff"],
  [alu32Reg("sub", 5, 6), "w5 -= w6", "1c 65 00 00 00 00 00 00"],
  [alu64Imm("mul", 1, 3), "r1 *= 0x3", "27 01 00 00 03 00 00 00"],
  [alu64Reg("mul", 2, 3), "r2 *= r3", "2f 32 00 00 00 00 00 00"],
  [alu32Imm("mul", 4, 3), "w4 *= 0x3", "24 04 00 00 03 00 00 00"],
  [alu32Reg("mul", 5, 6), "w5 *= w6", "2c 65 00 00 00 00 00 00"],
  [alu64Imm("div", 1, 7), "r1 /= 0x7", "37 01 00 00 07 00 00 00"],
  [alu64Reg("div", 2, 3), "r2 /= r3", "3f 32 00 00 00 00 00 00"],
  [alu32Imm("div", 4, 7), "w4 /= 0x7", "34 04 00 00 07 00 00 00"],
  [alu32Reg("div", 5, 6), "w5 /= w6", "3c 65 00 00 00 00 00 00"],
  [alu64Imm("sdiv", 1, -5), "r1 s/= -0x5", "37 01 01 00 fb ff ff ff"],
  [alu64Reg("sdiv", 2, 3), "r2 s/= r3", "3f 32 01 00 00 00 00 00"],
  [alu32Imm("sdiv", 4, -5), "w4 s/= -0x5", "34 04 01 00 fb ff ff ff"],
  [alu32Reg("sdiv", 5, 6), "w5 s/= w6", "3c 65 01 00 00 00 00 00"],
  [alu64Imm("or", 1, 0xff), "r1 |= 0xff", "47 01 00 00 ff 00 00 00"],
  [alu64Reg("or", 2, 3), "r2 |= r3", "4f 32 00 00 00 00 00 00"],
  [alu32Imm("or", 4, 0xff), "w4 |= 0xff", "44 04 00 00 ff 00 00 00"],
  [alu32Reg("or", 5, 6), "w5 |= w6", "4c 65 00 00 00 00 00 00"],
  [alu64Imm("and", 1, 15), "r1 &= 0xf", "57 01 00 00 0f 00 00 00"],
  [alu64Reg("and", 2, 3), "r2 &= r3", "5f 32 00 00 00 00 00 00"],
  [alu32Imm("and", 4, 15), "w4 &= 0xf", "54 04 00 00 0f 00 00 00"],
  [alu32Reg("and", 5, 6), "w5 &= w6", "5c 65 00 00 00 00 00 00"],
  [alu64Imm("lsh", 1, 3), "r1 <<= 0x3", "67 01 00 00 03 00 00 00"],
  [alu64Reg("lsh", 2, 3), "r2 <<= r3", "6f 32 00 00 00 00 00 00"],
  [alu32Imm("lsh", 4, 3), "w4 <<= 0x3", "64 04 00 00 03 00 00 00"],
  [alu32Reg("lsh", 5, 6), "w5 <<= w6", "6c 65 00 00 00 00 00 00"],
  [alu64Imm("rsh", 1, 63), "r1 >>= 0x3f", "77 01 00 00 3f 00 00 00"],
  [alu64Reg("rsh", 2, 3), "r2 >>= r3", "7f 32 00 00 00 00 00 00"],
  [alu32Imm("rsh", 4, 63), "w4 >>= 0x3f", "74 04 00 00 3f 00 00 00"],
  [alu32Reg("rsh", 5, 6), "w5 >>= w6", "7c 65 00 00 00 00 00 00"],
  [alu64Imm("mod", 1, 7), "r1 %= 0x7", "97 01 00 00 07 00 00 00"],
  [alu64Reg("mod", 2, 3), "r2 %= r3", "9f 32 00 00 00 00 00 00"],
  [alu32Imm("mod", 4, 7), "w4 %= 0x7", "94 04 00 00 07 00 00 00"],
  [alu32Reg("mod", 5, 6), "w5 %= w6", "9c 65 00 00 00 00 00 00"],
  [alu64Imm("smod", 1, -7), "r1 s%= -0x7", "97 01 01 00 f9 ff ff ff"],
  [alu64Reg("smod", 2, 3), "r2 s%= r3", "9f 32 01 00 00 00 00 00"],
  [alu32Imm("smod", 4, -7), "w4 s%= -0x7", "94 04 01 00 f9 ff ff ff"],
  [alu32Reg("smod", 5, 6), "w5 s%= w6", "9c 65 01 00 00 00 00 00"],
  [alu64Imm("xor", 1, -1), "r1 ^= -0x1", "a7 01 00 00 ff ff ff ff"],
  [alu64Reg("xor", 2, 3), "r2 ^= r3", "af 32 00 00 00 00 00 00"],
  [alu32Imm("xor", 4, -1), "w4 ^= -0x1", "a4 04 00 00 ff ff ff ff"],
  [alu32Reg("xor", 5, 6), "w5 ^= w6", "ac 65 00 00 00 00 00 00"],
  [alu64Imm("mov", 1, 42), "r1 = 0x2a", "b7 01 00 00 2a 00 00 00"],
  [alu64Reg("mov", 2, 3), "r2 = r3", "bf 32 00 00 00 00 00 00"],
  [alu32Imm("mov", 4, 42), "w4 = 0x2a", "b4 04 00 00 2a 00 00 00"],
  [alu32Reg("mov", 5, 6), "w5 = w6", "bc 65 00 00 00 00 00 00"],
  [alu64Imm("arsh", 1, 5), "r1 s>>= 0x5", "c7 01 00 00 05 00 00 00"],
  [alu64Reg("arsh", 2, 3), "r2 s>>= r3", "cf 32 00 00 00 00 00 00"],
  [alu32Imm("arsh", 4, 5), "w4 s>>= 0x5", "c4 04 00 00 05 00 00 00"],
  [alu32Reg("arsh", 5, 6), "w5 s>>= w6", "cc 65 00 00 00 00 00 00"],
  [neg64(7), "r7 = -r7", "87 07 00 00 00 00 00 00"],
  [neg32(8), "w8 = -w8", "84 08 00 00 00 00 00 00"],
  [movsx64(1, 2, 8), "r1 = (s8)r2", "bf 21 08 00 00 00 00 00"],
  [movsx64(3, 4, 16), "r3 = (s16)r4", "bf 43 10 00 00 00 00 00"],
  [movsx64(5, 6, 32), "r5 = (s32)r6", "bf 65 20 00 00 00 00 00"],
  [movsx32(7, 8, 8), "w7 = (s8)w8", "bc 87 08 00 00 00 00 00"],
  [movsx32(9, 0, 16), "w9 = (s16)w0", "bc 09 10 00 00 00 00 00"],
  [endian("le", 2, 16), "r2 = le16 r2", "d4 02 00 00 10 00 00 00"],
  [endian("le", 3, 32), "r3 = le32 r3", "d4 03 00 00 20 00 00 00"],
  [endian("le", 5, 64), "r5 = le64 r5", "d4 05 00 00 40 00 00 00"],
  [endian("be", 2, 16), "r2 = be16 r2", "dc 02 00 00 10 00 00 00"],
  [endian("be", 3, 32), "r3 = be32 r3", "dc 03 00 00 20 00 00 00"],
  [endian("be", 5, 64), "r5 = be64 r5", "dc 05 00 00 40 00 00 00"],
  [endian("bswap", 2, 16), "r2 = bswap16 r2", "d7 02 00 00 10 00 00 00"],
  [endian("bswap", 3, 32), "r3 = bswap32 r3", "d7 03 00 00 20 00 00 00"],
  [endian("bswap", 5, 64), "r5 = bswap64 r5", "d7 05 00 00 40 00 00 00"],
  [jmpImm("jeq", 1, 0, -5), "if r1 == 0x0 goto -0x5", "15 01 fb ff 00 00 00 00"],
  [jmpReg("jeq", 2, 3, 1), "if r2 == r3 goto +0x1", "1d 32 01 00 00 00 00 00"],
  [jmp32Imm("jeq", 4, 0, -1), "if w4 == 0x0 goto -0x1", "16 04 ff ff 00 00 00 00"],
  [jmp32Reg("jeq", 5, 6, 0), "if w5 == w6 goto +0x0", "1e 65 00 00 00 00 00 00"],
  [jmpImm("jgt", 1, -1, -4), "if r1 > -0x1 goto -0x4", "25 01 fc ff ff ff ff ff"],
  [jmpReg("jgt", 2, 3, 2), "if r2 > r3 goto +0x2", "2d 32 02 00 00 00 00 00"],
  [jmp32Imm("jgt", 4, 3, -2), "if w4 > 0x3 goto -0x2", "26 04 fe ff 03 00 00 00"],
  [jmp32Reg("jgt", 5, 6, 1), "if w5 > w6 goto +0x1", "2e 65 01 00 00 00 00 00"],
  [jmpImm("jge", 1, 32, -3), "if r1 >= 0x20 goto -0x3", "35 01 fd ff 20 00 00 00"],
  [jmpReg("jge", 2, 3, 3), "if r2 >= r3 goto +0x3", "3d 32 03 00 00 00 00 00"],
  [jmp32Imm("jge", 4, 6, -3), "if w4 >= 0x6 goto -0x3", "36 04 fd ff 06 00 00 00"],
  [jmp32Reg("jge", 5, 6, 2), "if w5 >= w6 goto +0x2", "3e 65 02 00 00 00 00 00"],
  [jmpImm("jset", 1, -3, -2), "if r1 & -0x3 goto -0x2", "45 01 fe ff fd ff ff ff"],
  [jmpReg("jset", 2, 3, 4), "if r2 & r3 goto +0x4", "4d 32 04 00 00 00 00 00"],
  [jmp32Imm("jset", 4, 9, -4), "if w4 & 0x9 goto -0x4", "46 04 fc ff 09 00 00 00"],
  [jmp32Reg("jset", 5, 6, 3), "if w5 & w6 goto +0x3", "4e 65 03 00 00 00 00 00"],
  [jmpImm("jne", 1, 64, -1), "if r1 != 0x40 goto -0x1", "55 01 ff ff 40 00 00 00"],
  [jmpReg("jne", 2, 3, 5), "if r2 != r3 goto +0x5", "5d 32 05 00 00 00 00 00"],
  [jmp32Imm("jne", 4, 12, -5), "if w4 != 0xc goto -0x5", "56 04 fb ff 0c 00 00 00"],
  [jmp32Reg("jne", 5, 6, 4), "if w5 != w6 goto +0x4", "5e 65 04 00 00 00 00 00"],
  [jmpImm("jsgt", 1, -5, 0), "if r1 s> -0x5 goto +0x0", "65 01 00 00 fb ff ff ff"],
  [jmpReg("jsgt", 2, 3, 6), "if r2 s> r3 goto +0x6", "6d 32 06 00 00 00 00 00"],
  [jmp32Imm("jsgt", 4, 15, -6), "if w4 s> 0xf goto -0x6", "66 04 fa ff 0f 00 00 00"],
  [jmp32Reg("jsgt", 5, 6, 5), "if w5 s> w6 goto +0x5", "6e 65 05 00 00 00 00 00"],
  [jmpImm("jsge", 1, 96, 1), "if r1 s>= 0x60 goto +0x1", "75 01 01 00 60 00 00 00"],
  [jmpReg("jsge", 2, 3, 7), "if r2 s>= r3 goto +0x7", "7d 32 07 00 00 00 00 00"],
  [jmp32Imm("jsge", 4, 18, -7), "if w4 s>= 0x12 goto -0x7", "76 04 f9 ff 12 00 00 00"],
  [jmp32Reg("jsge", 5, 6, 6), "if w5 s>= w6 goto +0x6", "7e 65 06 00 00 00 00 00"],
  [jmpImm("jlt", 1, -7, 2), "if r1 < -0x7 goto +0x2", "a5 01 02 00 f9 ff ff ff"],
  [jmpReg("jlt", 2, 3, 8), "if r2 < r3 goto +0x8", "ad 32 08 00 00 00 00 00"],
  [jmp32Imm("jlt", 4, 21, -8), "if w4 < 0x15 goto -0x8", "a6 04 f8 ff 15 00 00 00"],
  [jmp32Reg("jlt", 5, 6, 7), "if w5 < w6 goto +0x7", "ae 65 07 00 00 00 00 00"],
  [jmpImm("jle", 1, 128, 3), "if r1 <= 0x80 goto +0x3", "b5 01 03 00 80 00 00 00"],
  [jmpReg("jle", 2, 3, 9), "if r2 <= r3 goto +0x9", "bd 32 09 00 00 00 00 00"],
  [jmp32Imm("jle", 4, 24, -9), "if w4 <= 0x18 goto -0x9", "b6 04 f7 ff 18 00 00 00"],
  [jmp32Reg("jle", 5, 6, 8), "if w5 <= w6 goto +0x8", "be 65 08 00 00 00 00 00"],
  [jmpImm("jslt", 1, -9, 4), "if r1 s< -0x9 goto +0x4", "c5 01 04 00 f7 ff ff ff"],
  [jmpReg("jslt", 2, 3, 10), "if r2 s< r3 goto +0xa", "cd 32 0a 00 00 00 00 00"],
  [jmp32Imm("jslt", 4, 27, -10), "if w4 s< 0x1b goto -0xa", "c6 04 f6 ff 1b 00 00 00"],
  [jmp32Reg("jslt", 5, 6, 9), "if w5 s< w6 goto +0x9", "ce 65 09 00 00 00 00 00"],
  [jmpImm("jsle", 1, 160, 5), "if r1 s<= 0xa0 goto +0x5", "d5 01 05 00 a0 00 00 00"],
  [jmpReg("jsle", 2, 3, 11), "if r2 s<= r3 goto +0xb", "dd 32 0b 00 00 00 00 00"],
  [jmp32Imm("jsle", 4, 30, -11), "if w4 s<= 0x1e goto -0xb", "d6 04 f5 ff 1e 00 00 00"],
  [jmp32Reg("jsle", 5, 6, 10), "if w5 s<= w6 goto +0xa", "de 65 0a 00 00 00 00 00"],
  [ja(3), "goto +0x3", "05 00 03 00 00 00 00 00"],
  [ja(-1), "goto -0x1", "05 00 ff ff 00 00 00 00"],
  [ja(-32768), "goto -0x8000", "05 00 00 80 00 00 00 00"],
  [ja(32767), "goto +0x7fff", "05 00 ff 7f 00 00 00 00"],
  [gotol(100000), "gotol +0x186a0", "06 00 00 00 a0 86 01 00"],
  [gotol(-2), "gotol -0x2", "06 00 00 00 fe ff ff ff"],
  [call(14), "call 0xe", "85 00 00 00 0e 00 00 00"],
  [call(1), "call 0x1", "85 00 00 00 01 00 00 00"],
  [callLocal(-1), "call -0x1", "85 10 00 00 ff ff ff ff"],
  [callKfunc(12345), "call 0x3039", "85 20 00 00 39 30 00 00"],
  [exit(), "exit", "95 00 00 00 00 00 00 00"],
  [lddw(1, 0n), "r1 = 0x0 ll", "18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00"],
  [lddw(2, 0x123456789abcdef0n), "r2 = 0x123456789abcdef0 ll", "18 02 00 00 f0 de bc 9a 00 00 00 00 78 56 34 12"],
  [lddw(3, -1n), "r3 = -0x1 ll", "18 03 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff"],
  [lddw(4, 0x80000000n), "r4 = 0x80000000 ll", "18 04 00 00 00 00 00 80 00 00 00 00 00 00 00 00"],
  [lddw(5, -0x8000000000000000n), "r5 = -0x8000000000000000 ll", "18 05 00 00 00 00 00 00 00 00 00 00 00 00 00 80"],
  [ldMapFd(1), "ld_pseudo\tr1, 0x1, 0x0", "18 11 00 00 00 00 00 00 00 00 00 00 00 00 00 00"],
  [lddw(2, 7n, PseudoSrc.MAP_VALUE), "ld_pseudo\tr2, 0x2, 0x7", "18 22 00 00 07 00 00 00 00 00 00 00 00 00 00 00"],
  [lddw(3, 0xffffffffn, PseudoSrc.BTF_ID), "ld_pseudo\tr3, 0x3, 0xffffffff", "18 33 00 00 ff ff ff ff 00 00 00 00 00 00 00 00"],
  [ldAbs("B", 23), "r0 = *(u8 *)skb[0x17]", "30 00 00 00 17 00 00 00"],
  [ldInd("B", 3, 0), "r0 = *(u8 *)skb[r3]", "50 30 00 00 00 00 00 00"],
  [ldAbs("H", 23), "r0 = *(u16 *)skb[0x17]", "28 00 00 00 17 00 00 00"],
  [ldInd("H", 3, 0), "r0 = *(u16 *)skb[r3]", "48 30 00 00 00 00 00 00"],
  [ldAbs("W", 23), "r0 = *(u32 *)skb[0x17]", "20 00 00 00 17 00 00 00"],
  [ldInd("W", 3, 0), "r0 = *(u32 *)skb[r3]", "40 30 00 00 00 00 00 00"],
  [ldxMem("B", 0, 1, 0), "r0 = *(u8 *)(r1 + 0x0)", "71 10 00 00 00 00 00 00"],
  [stxMem("B", 10, 2, 32767), "*(u8 *)(r10 + 0x7fff) = r2", "73 2a ff 7f 00 00 00 00"],
  [stMem("B", 1, 4, 255), "*(u8 *)(r1 + 0x4) = 0xff", "72 01 04 00 ff 00 00 00"],
  [ldxMem("H", 0, 1, -2), "r0 = *(u16 *)(r1 - 0x2)", "69 10 fe ff 00 00 00 00"],
  [stxMem("H", 10, 2, 32767), "*(u16 *)(r10 + 0x7fff) = r2", "6b 2a ff 7f 00 00 00 00"],
  [stMem("H", 1, 4, 255), "*(u16 *)(r1 + 0x4) = 0xff", "6a 01 04 00 ff 00 00 00"],
  [ldxMem("W", 0, 1, -2), "r0 = *(u32 *)(r1 - 0x2)", "61 10 fe ff 00 00 00 00"],
  [stxMem("W", 10, 2, 32767), "*(u32 *)(r10 + 0x7fff) = r2", "63 2a ff 7f 00 00 00 00"],
  [stMem("W", 1, -32768, 255), "*(u32 *)(r1 - 0x8000) = 0xff", "62 01 00 80 ff 00 00 00"],
  [ldxMem("DW", 0, 1, -2), "r0 = *(u64 *)(r1 - 0x2)", "79 10 fe ff 00 00 00 00"],
  [stxMem("DW", 10, 2, -8), "*(u64 *)(r10 - 0x8) = r2", "7b 2a f8 ff 00 00 00 00"],
  [stMem("DW", 1, 4, -5), "*(u64 *)(r1 + 0x4) = -0x5", "7a 01 04 00 fb ff ff ff"],
  [ldxMemSx("B", 2, 1, 4), "r2 = *(s8 *)(r1 + 0x4)", "91 12 04 00 00 00 00 00"],
  [ldxMemSx("H", 2, 1, 4), "r2 = *(s16 *)(r1 + 0x4)", "89 12 04 00 00 00 00 00"],
  [ldxMemSx("W", 2, 1, 4), "r2 = *(s32 *)(r1 + 0x4)", "81 12 04 00 00 00 00 00"],
  [atomic("add", "W", 1, 2, -16), "lock *(u32 *)(r1 - 0x10) += r2", "c3 21 f0 ff 00 00 00 00"],
  [atomic("add", "DW", 1, 2, 8), "lock *(u64 *)(r1 + 0x8) += r2", "db 21 08 00 00 00 00 00"],
  [atomic("or", "W", 1, 2, -16), "lock *(u32 *)(r1 - 0x10) |= w2", "c3 21 f0 ff 40 00 00 00"],
  [atomic("or", "DW", 1, 2, 8), "lock *(u64 *)(r1 + 0x8) |= r2", "db 21 08 00 40 00 00 00"],
  [atomic("and", "W", 1, 2, -16), "lock *(u32 *)(r1 - 0x10) &= w2", "c3 21 f0 ff 50 00 00 00"],
  [atomic("and", "DW", 1, 2, 8), "lock *(u64 *)(r1 + 0x8) &= r2", "db 21 08 00 50 00 00 00"],
  [atomic("xor", "W", 1, 2, -16), "lock *(u32 *)(r1 - 0x10) ^= w2", "c3 21 f0 ff a0 00 00 00"],
  [atomic("xor", "DW", 1, 2, 8), "lock *(u64 *)(r1 + 0x8) ^= r2", "db 21 08 00 a0 00 00 00"],
  [atomic("fetch_add", "W", 1, 2, -16), "w2 = atomic_fetch_add((u32 *)(r1 - 0x10), w2)", "c3 21 f0 ff 01 00 00 00"],
  [atomic("fetch_add", "DW", 1, 2, 8), "r2 = atomic_fetch_add((u64 *)(r1 + 0x8), r2)", "db 21 08 00 01 00 00 00"],
  [atomic("fetch_or", "W", 1, 2, -16), "w2 = atomic_fetch_or((u32 *)(r1 - 0x10), w2)", "c3 21 f0 ff 41 00 00 00"],
  [atomic("fetch_or", "DW", 1, 2, 8), "r2 = atomic_fetch_or((u64 *)(r1 + 0x8), r2)", "db 21 08 00 41 00 00 00"],
  [atomic("fetch_and", "W", 1, 2, -16), "w2 = atomic_fetch_and((u32 *)(r1 - 0x10), w2)", "c3 21 f0 ff 51 00 00 00"],
  [atomic("fetch_and", "DW", 1, 2, 8), "r2 = atomic_fetch_and((u64 *)(r1 + 0x8), r2)", "db 21 08 00 51 00 00 00"],
  [atomic("fetch_xor", "W", 1, 2, -16), "w2 = atomic_fetch_xor((u32 *)(r1 - 0x10), w2)", "c3 21 f0 ff a1 00 00 00"],
  [atomic("fetch_xor", "DW", 1, 2, 8), "r2 = atomic_fetch_xor((u64 *)(r1 + 0x8), r2)", "db 21 08 00 a1 00 00 00"],
  [atomic("xchg", "W", 1, 2, -16), "w2 = xchg32_32(r1 - 0x10, w2)", "c3 21 f0 ff e1 00 00 00"],
  [atomic("xchg", "DW", 1, 2, 8), "r2 = xchg_64(r1 + 0x8, r2)", "db 21 08 00 e1 00 00 00"],
  [atomic("cmpxchg", "W", 1, 2, -16), "w0 = cmpxchg32_32(r1 - 0x10, w0, w2)", "c3 21 f0 ff f1 00 00 00"],
  [atomic("cmpxchg", "DW", 1, 2, 8), "r0 = cmpxchg_64(r1 + 0x8, r0, r2)", "db 21 08 00 f1 00 00 00"],
  [mov64Imm(1, -2147483648), "r1 = -0x80000000", "b7 01 00 00 00 00 00 80"],
  [mov64Imm(1, 2147483647), "r1 = 0x7fffffff", "b7 01 00 00 ff ff ff 7f"],
  [mov32Imm(1, -1), "w1 = -0x1", "b4 01 00 00 ff ff ff ff"],
  [mov64Reg(10, 0), "r10 = r0", "bf 0a 00 00 00 00 00 00"],
  [ldxMem("DW", 0, 10, -512), "r0 = *(u64 *)(r10 - 0x200)", "79 a0 00 fe 00 00 00 00"],
];

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

function unhex(text: string): Uint8Array {
  return Uint8Array.from(text.split(" ").map((b) => parseInt(b, 16)));
}

/** The instruction a text round trip yields: fields LLVM's syntax does not print (call's src/off) become 0. */
function printable(insn: Insn): Insn {
  const form = checkInsn(insn);
  const out = { ...insn };
  for (const field of form.unprinted) out[field] = 0;
  return out;
}

describe("encoding table", () => {
  it("covers every instruction form", () => {
    const covered = new Set(ROWS.map(([insn]) => checkInsn(insn).name));
    expect(INSN_FORMS.filter((f) => !covered.has(f.name)).map((f) => f.name)).toEqual([]);
  });

  it.each(ROWS.map((row) => [row[1], row] as const))("%s", (_, [insn, text, bytes]) => {
    expect(hex(encodeInsns([insn]))).toBe(bytes);
    expect(decodeInsns(unhex(bytes))).toEqual([insn]);
    expect(printInsn(insn)).toBe(text);
    expect(parseInsn(text)).toEqual(printable(insn));
  });

  it("encodes and decodes the whole table as one program", () => {
    const insns = ROWS.map(([insn]) => insn);
    const bytes = encodeInsns(insns);
    expect(hex(bytes)).toBe(ROWS.map(([, , b]) => b).join(" "));
    expect(decodeInsns(bytes)).toEqual(insns);
  });

  it("round-trips decimal and subregister text", () => {
    for (const [insn] of ROWS) {
      for (const options of [{ hex: false }, { subregisters: true }, { hex: false, subregisters: true }]) {
        expect(parseInsn(printInsn(insn, options)), printInsn(insn, options)).toEqual(printable(insn));
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// LLVM cross-check: llvm-mc is an independent encoder, llvm-objdump an independent printer.
// LLVM 16 is what CI installs; the tests skip only when its tools are missing and CI is unset.
// LLVM 16 predates store-immediate, jset and the cpu v4 forms (and mis-decodes 32-bit atomics
// without --mattr=+alu32): those rows are checked against LLVM 19 when it is installed, and the
// test asserts LLVM 16 really cannot handle them, so the exclusion lists stay minimal.

function findTool(name: string): string | undefined {
  const result = spawnSync(name, ["--version"], { encoding: "utf8" });
  return result.status === 0 ? name : undefined;
}

interface Llvm {
  version: number;
  mc: string;
  objdump: string;
  objcopy: string;
}

function findLlvm(version: number): Llvm | undefined {
  const mc = findTool(`llvm-mc-${version}`);
  const objdump = findTool(`llvm-objdump-${version}`);
  const objcopy = findTool(`llvm-objcopy-${version}`);
  return mc && objdump && objcopy ? { version, mc, objdump, objcopy } : undefined;
}

const llvm16 = findLlvm(16);
const llvm19 = findLlvm(19);
const inCi = Boolean(process.env.CI);
const workDir = mkdtempSync(join(tmpdir(), "luabpf-isa-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function run(tool: string, args: string[]): string {
  const result = spawnSync(tool, args, { encoding: "utf8" });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${tool} ${args.join(" ")} failed:\n${result.stderr}`);
  return result.stdout;
}

let fileCounter = 0;
function tempFile(ext: string): string {
  return join(workDir, `f${fileCounter++}.${ext}`);
}

/** Assembles text with llvm-mc and returns the .text bytes. */
function llvmAssemble(llvm: Llvm, source: string): Uint8Array {
  const s = tempFile("s");
  const o = tempFile("o");
  const bin = tempFile("bin");
  writeFileSync(s, source);
  run(llvm.mc, ["-triple", "bpfel", "-mattr=+alu32", "-filetype=obj", s, "-o", o]);
  run(llvm.objcopy, ["-O", "binary", "--only-section=.text", o, bin]);
  return new Uint8Array(readFileSync(bin));
}

/** Whether llvm-mc accepts a single line. */
function llvmAccepts(llvm: Llvm, line: string): boolean {
  const s = tempFile("s");
  writeFileSync(s, line + "\n");
  return spawnSync(llvm.mc, ["-triple", "bpfel", "-mattr=+alu32", "-filetype=obj", s, "-o", tempFile("o")]).status === 0;
}

/** Writes raw bytes into an object's .text (via .byte directives) and returns its path. */
function objectWithBytes(llvm: Llvm, bytes: Uint8Array): string {
  const s = tempFile("s");
  const o = tempFile("o");
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 8) lines.push(".byte " + [...bytes.subarray(i, i + 8)].join(", "));
  writeFileSync(s, lines.join("\n") + "\n");
  run(llvm.mc, ["-triple", "bpfel", "-filetype=obj", s, "-o", o]);
  return o;
}

const OBJDUMP_FLAGS: readonly { flags: string[]; options: PrintOptions }[] = [
  { flags: [], options: {} },
  { flags: ["--mattr=+alu32"], options: { subregisters: true } },
  { flags: ["--no-print-imm-hex"], options: { hex: false } },
];

/** Disassembles an object and returns slot -> instruction text (objdump's ` <target>` annotation removed). */
function llvmDisassemble(llvm: Llvm, object: string, flags: string[]): Map<number, string> {
  const out = run(llvm.objdump, ["-d", ...flags, object]);
  const texts = new Map<number, string>();
  for (const line of out.split("\n")) {
    const m = /^\s*(\d+):\t[0-9a-f ]+\t(.*)$/.exec(line);
    if (m) texts.set(Number(m[1]), m[2]!.replace(/\s+<[^<>]*>$/, ""));
  }
  return texts;
}

/** Forms whose syntax LLVM 16's assembler does not know. */
function llvm16CannotAssemble(name: string): boolean {
  return (
    formByName(name).cpu === 4 || name.startsWith("st.") || name.includes(".jset.") || name === "ld.pseudo" ||
    (name.startsWith("atomic.") && !/\.(add|and|or|xor)$/.test(name))
  );
}

/** Forms llvm-objdump-16 prints as <unknown> or as a different instruction, under the given flags. */
function llvm16CannotPrint(name: string, flags: string[]): boolean {
  const alu32 = flags.includes("--mattr=+alu32");
  return (
    formByName(name).cpu === 4 || name.startsWith("st.") || name.includes(".jset.") ||
    (!alu32 && name.startsWith("atomic.w.") && name !== "atomic.w.add")
  );
}

/** Rows whose text carries every field, so an assembler can reproduce their bytes. */
const ASSEMBLABLE = ROWS.filter(([insn]) => insnEquals(printable(insn), insn));

function rowBytes(rows: readonly Row[], bytes: Uint8Array): [string, string][] {
  let pos = 0;
  return rows.map(([, text, expected]) => {
    const length = expected.split(" ").length;
    const slice = hex(bytes.subarray(pos, pos + length));
    pos += length;
    return [text, slice];
  });
}

describe.skipIf(!llvm16 && !inCi)("LLVM 16 cross-check", () => {
  const llvm = llvm16!;

  it("finds llvm-mc-16, llvm-objdump-16 and llvm-objcopy-16", () => {
    expect(llvm16, "LLVM 16 tools are required when CI is set").toBeDefined();
  });

  it("llvm-mc-16 encodes every row it knows to the same bytes", () => {
    const rows = ASSEMBLABLE.filter(([insn]) => !llvm16CannotAssemble(checkInsn(insn).name));
    const bytes = llvmAssemble(llvm, rows.map(([, text]) => text).join("\n") + "\n");
    expect(rowBytes(rows, bytes)).toEqual(rows.map(([, text, b]) => [text, b]));
  });

  it("llvm-mc-16 rejects exactly the rows listed as unknown to it", () => {
    const rows = ASSEMBLABLE.filter(([insn]) => llvm16CannotAssemble(checkInsn(insn).name));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter(([, text]) => llvmAccepts(llvm, text)).map(([, text]) => text)).toEqual([]);
  });

  for (const { flags, options } of OBJDUMP_FLAGS) {
    it(`llvm-objdump-16 -d ${flags.join(" ")} prints every row it knows as printInsn does`, () => {
      const object = objectWithBytes(llvm, encodeInsns(ROWS.map(([insn]) => insn)));
      const texts = llvmDisassemble(llvm, object, flags);
      let slot = 0;
      const actual: string[] = [];
      const expected: string[] = [];
      const wrongAnyway: string[] = [];
      for (const [insn, , bytes] of ROWS) {
        const mine = printInsn(insn, options);
        const theirs = texts.get(slot) ?? "(missing)";
        if (llvm16CannotPrint(checkInsn(insn).name, flags)) {
          if (theirs === mine) wrongAnyway.push(mine);
        } else {
          actual.push(mine);
          expected.push(theirs);
        }
        slot += bytes.split(" ").length / 8;
      }
      expect(actual).toEqual(expected);
      expect(wrongAnyway, "rows listed as unknown to llvm-objdump-16 that it prints correctly").toEqual([]);
    });
  }

  it("printObjdump reproduces llvm-objdump-16 -d output byte for byte", () => {
    const insns = ROWS.map(([insn]) => insn).filter((insn) => !llvm16CannotPrint(checkInsn(insn).name, []));
    const object = objectWithBytes(llvm, encodeInsns(insns));
    for (const { flags, options } of OBJDUMP_FLAGS) {
      const listing = printObjdump(object, [{ name: ".text", insns, symbols: [{ slot: 0, name: ".text" }] }], options);
      expect(listing).toBe(run(llvm.objdump, ["-d", ...flags, object]));
    }
  });
});

describe.skipIf(!inCi && (!llvm16 || !findTool("clang-16")))("clang-16 objects", () => {
  const source = `
    struct { int type; } counters __attribute__((section(".maps")));
    unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
    struct s { unsigned char a; unsigned short b; unsigned c; unsigned long d; };
    __attribute__((noinline)) static int helper(int x) { return x * 3 + (x >> 2); }
    __attribute__((section("socket"))) int prog(struct s *p) {
      unsigned long r = p->d;
      __sync_fetch_and_add(&p->d, 5);
    #if __BPF_CPU_VERSION__ >= 3
      r += __sync_fetch_and_add(&p->d, 5);
      r += __sync_val_compare_and_swap(&p->c, 1, 2) + __sync_lock_test_and_set(&p->d, r);
    #endif
      if (((int *)&counters)[0] > 7) r += helper((int)r);
      for (int i = 0; i < 4; i++) if (p->b & (1 << i)) r ^= p->a + i;
      r += load_byte(p, 14);
      return (int)(r == 42 ? r * 9 : r / 3);
    }
    __attribute__((section("xdp"))) int other(void *ctx) { return helper(1) > 2; }
  `;

  for (const cpu of ["v1", "v2", "v3"]) {
    it(`decodes and lists -mcpu=${cpu} output exactly as llvm-objdump-16 -d does`, () => {
      const c = tempFile("c");
      const object = tempFile("o");
      writeFileSync(c, source);
      run("clang-16", ["-O2", "-target", "bpf", `-mcpu=${cpu}`, "-c", c, "-o", object]);
      const sectionNames = [...run(llvm16!.objdump, ["-h", object]).matchAll(/^\s*\d+ (\S+)\s+[0-9a-f]+ [0-9a-f]+ TEXT$/gm)]
        .map((m) => m[1]!);
      const symbolLines = [...run(llvm16!.objdump, ["-t", object]).matchAll(/^([0-9a-f]{16}) (.{7}) (\S+)\t[0-9a-f]+ (.*)$/gm)];
      const sections = sectionNames.map((name) => {
        const bin = tempFile("bin");
        run(llvm16!.objcopy, ["-O", "binary", `--only-section=${name}`, object, bin]);
        const symbols = symbolLines
          .filter((m) => m[3] === name && !m[2]!.includes("d"))
          .map((m) => ({ slot: Number(BigInt("0x" + m[1]) / 8n), name: m[4]! }));
        return { name, insns: decodeInsns(new Uint8Array(readFileSync(bin))), symbols };
      });
      expect(sections.length).toBeGreaterThanOrEqual(3);
      expect(printObjdump(object, sections, { subregisters: true })).toBe(run(llvm16!.objdump, ["-d", "--mattr=+alu32", object]));
      // Plain llvm-objdump-16 mis-decodes 32-bit atomics, which only -mcpu=v3 emits here.
      if (cpu !== "v3") expect(printObjdump(object, sections)).toBe(run(llvm16!.objdump, ["-d", object]));
    });
  }
});

describe.skipIf(!llvm19)("LLVM 19 cross-check of forms LLVM 16 does not know", () => {
  const llvm = llvm19!;
  const newRows = ROWS.filter(([insn]) => {
    const name = checkInsn(insn).name;
    return llvm16CannotAssemble(name) || llvm16CannotPrint(name, []);
  });

  it("llvm-mc-19 encodes them to the same bytes", () => {
    // llvm-mc-19 parses gotol's operand as a 16-bit number, so a long gotol is checked by objdump only.
    const rows = newRows.filter((row) => ASSEMBLABLE.includes(row) && !(row[1].startsWith("gotol") && Math.abs(row[0].imm) > 0x7fff));
    expect(rows.length).toBe(newRows.length - 1);
    const bytes = llvmAssemble(llvm, rows.map(([, text]) => text).join("\n") + "\n");
    expect(rowBytes(rows, bytes)).toEqual(rows.map(([, text, b]) => [text, b]));
  });

  it("llvm-objdump-19 --mattr=+alu32 prints them as printInsn does", () => {
    const object = objectWithBytes(llvm, encodeInsns(newRows.map(([insn]) => insn)));
    const texts = llvmDisassemble(llvm, object, ["--mattr=+alu32"]);
    let slot = 0;
    const expected: string[] = [];
    for (const [, , bytes] of newRows) {
      expected.push(texts.get(slot) ?? "(missing)");
      slot += bytes.split(" ").length / 8;
    }
    expect(newRows.map(([insn]) => printInsn(insn, { subregisters: true }))).toEqual(expected);
  });
});
