// The test VM's instruction semantics, on hand-assembled programs with known results.
import { describe, expect, test } from "vitest";
import {
  alu32Imm, alu32Reg, alu64Imm, alu64Reg, atomic, atomicAdd, endian, exit, ja, jmp32Imm, jmpImm, jmpReg, lddw, ldAbs, ldInd, ldxMem, mov64Imm,
  mov64Reg, movsx64, neg32, stMem, stxMem, type Insn,
} from "../src/index.js";
import { runVm, VmError } from "./vm.js";

const run = (insns: Insn[], packet?: Uint8Array) => runVm(insns, [], packet ? { packet } : {}).r0;
const M64 = (1n << 64n) - 1n;

describe("vm", () => {
  test.each<[string, Insn[], bigint]>([
    ["div by zero is 0", [mov64Imm(0, 7), mov64Imm(1, 0), alu64Reg("div", 0, 1), exit()], 0n],
    ["mod by zero keeps dst", [mov64Imm(0, 7), mov64Imm(1, 0), alu64Reg("mod", 0, 1), exit()], 7n],
    ["sdiv INT_MIN / -1", [lddw(0, -(2n ** 63n)), mov64Imm(1, -1), alu64Reg("sdiv", 0, 1), exit()], 2n ** 63n],
    ["smod negative dividend", [mov64Imm(0, -7), alu64Imm("smod", 0, 3), exit()], M64 - 0n],
    ["32-bit ops zero-extend", [mov64Imm(0, -1), alu32Imm("add", 0, 1), exit()], 0n],
    ["32-bit mov zero-extends", [mov64Imm(1, -2), alu32Reg("mov", 0, 1), exit()], 0xfffffffen],
    ["64-bit shift masks the amount", [mov64Imm(0, 1), mov64Imm(1, 65), alu64Reg("lsh", 0, 1), exit()], 2n],
    ["arsh", [mov64Imm(0, -16), alu64Imm("arsh", 0, 2), exit()], M64 - 3n],
    ["neg32", [mov64Imm(0, 1), neg32(0), exit()], 0xffffffffn],
    ["movsx", [mov64Imm(1, 0x80), movsx64(0, 1, 8), exit()], M64 - 127n],
    ["bswap16", [mov64Imm(0, 0x1234), endian("bswap", 0, 16), exit()], 0x3412n],
    ["be32 (to big endian on a little-endian host)", [lddw(0, 0x1122334455667788n), endian("be", 0, 32), exit()], 0x88776655n],
    ["le16 truncates", [lddw(0, 0x1122334455667788n), endian("le", 0, 16), exit()], 0x7788n],
    ["jmp32 compares low halves", [lddw(1, 0x100000005n), mov64Imm(0, 0), jmp32Imm("jeq", 1, 5, 1), exit(), mov64Imm(0, 1), exit()], 1n],
    ["signed jump", [mov64Imm(1, -1), mov64Imm(0, 0), jmpImm("jsgt", 1, 0, 1), mov64Imm(0, 2), exit()], 2n],
    ["ja", [mov64Imm(0, 1), ja(1), mov64Imm(0, 2), exit()], 1n],
    [
      "stack store/load and atomic fetch-add",
      [stMem("DW", 10, -8, 40), mov64Imm(1, 2), atomic("fetch_add", "DW", 10, 1, -8), ldxMem("DW", 0, 10, -8), alu64Reg("add", 0, 1), exit()],
      82n,
    ],
    ["atomic add W", [stMem("W", 10, -4, -1), mov64Imm(1, 1), atomicAdd("W", 10, 1, -4), ldxMem("W", 0, 10, -4), exit()], 0n],
    ["stx byte", [mov64Imm(1, 0x1ff), stxMem("B", 10, 1, -1), ldxMem("B", 0, 10, -1), exit()], 0xffn],
    ["jmp reg unsigned", [mov64Imm(1, -1), mov64Imm(2, 1), mov64Imm(0, 0), jmpReg("jgt", 1, 2, 1), exit(), mov64Reg(0, 1), exit()], M64],
  ])("%s", (_name, insns, want) => {
    expect(run(insns)).toBe(want);
  });

  test("ld_abs / ld_ind are big-endian; out of bounds ends with 0", () => {
    const packet = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    expect(run([mov64Reg(6, 1), ldAbs("H", 1), exit()], packet)).toBe(0x0203n);
    expect(run([mov64Reg(6, 1), mov64Imm(7, 2), ldInd("W", 7, 0), exit()], packet)).toBe(0x03040506n);
    expect(run([mov64Reg(6, 1), ldAbs("W", 4), mov64Imm(0, 9), exit()], packet)).toBe(0n);
  });

  test("helper calls poison r1–r5; uninitialised stack reads are errors", () => {
    expect(run([mov64Imm(1, 5), { code: 0x85, dst: 0, src: 0, off: 0, imm: 5 }, mov64Reg(0, 1), exit()])).not.toBe(5n);
    expect(() => run([ldxMem("DW", 0, 10, -8), exit()])).toThrow(VmError);
  });
});
