// Kernel limits at emission: the program length limit (MAX_PROGRAM_INSNS slots) is a
// compile error, a program exactly at it is emitted. Not timed.
import { CompileError } from "@luabpf/ir";
import { MAX_PROGRAM_INSNS } from "@luabpf/platform";
import { describe, expect, test } from "vitest";
import { emitFunction } from "../src/emit.js";
import type { MFunction, MInst } from "../src/mir.js";

/** An allocated machine function of `slots` instruction slots: `r0 = 0` repeated, then exit. */
function straight(slots: number): MFunction {
  const insts: MInst[] = [];
  for (let k = 0; k < slots - 1; k++) insts.push({ k: "alu", op: "mov", w: 64, dst: 0, imm: 0 });
  insts.push({ k: "exit" });
  return { name: "big", blocks: [{ index: 0, insts, succs: [], loopDepth: 0 }], slots: [], nextVReg: 16 };
}

describe("program length", () => {
  test(`${MAX_PROGRAM_INSNS} slots are emitted, one more is a compile error naming the limit`, () => {
    expect(emitFunction(straight(MAX_PROGRAM_INSNS)).insns).toHaveLength(MAX_PROGRAM_INSNS);
    expect(() => emitFunction(straight(MAX_PROGRAM_INSNS + 1))).toThrow(CompileError);
    expect(() => emitFunction(straight(MAX_PROGRAM_INSNS + 1))).toThrow(
      /program big is 1,000,001 instructions long; the kernel loads at most 1,000,000 \(BPF_COMPLEXITY_LIMIT_INSNS\)/,
    );
  });
});
