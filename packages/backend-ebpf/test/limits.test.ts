// Kernel limits at emission: the program length limit (MAX_PROGRAM_INSNS slots) is a
// compile error, a program exactly at it is emitted — and the kernel agrees on the limit:
// the verifier accepts the emitted program and refuses one slot more. Not timed.
import { CompileError } from "@luabpf/ir";
import { BpfError, kernelOrSkip, progLoad, close } from "@luabpf/loader";
import { MAX_PROGRAM_INSNS, PROGRAM_TYPES } from "@luabpf/platform";
import { catchError } from "@luabpf/test-support";
import { describe, expect, test } from "vitest";
import { emitFunction } from "../src/emit.js";
import { encodeInsns, mov64Imm } from "../src/isa/index.js";
import type { MFunction, MInst } from "../src/mir.js";

const kernel = kernelOrSkip();

/** An allocated machine function of `slots` instruction slots: `r0 = 0` repeated, then exit. */
function straight(slots: number): MFunction {
  const insts: MInst[] = [];
  for (let k = 0; k < slots - 1; k++) insts.push({ k: "alu", op: "mov", w: 64, dst: 0, imm: 0 });
  insts.push({ k: "exit" });
  return { name: "big", blocks: [{ index: 0, insts, succs: [], loopDepth: 0 }], slots: [], nextVReg: 16 };
}

describe("program length", () => {
  test(`${MAX_PROGRAM_INSNS} slots are emitted and load; one more is a compile error naming the limit, and the kernel's refusal`, () => {
    const { insns } = emitFunction(straight(MAX_PROGRAM_INSNS));
    expect(insns).toHaveLength(MAX_PROGRAM_INSNS);
    const error = catchError(() => emitFunction(straight(MAX_PROGRAM_INSNS + 1)));
    expect(error).toBeInstanceOf(CompileError);
    expect((error as CompileError).message).toMatch(
      /program big is 1,000,001 instructions long; the kernel loads at most 1,000,000 \(BPF_COMPLEXITY_LIMIT_INSNS\)/,
    );
    if (!kernel) return;
    const load = (code: Uint8Array): number => progLoad({ type: PROGRAM_TYPES.socket_filter.id, insns: code, license: "GPL", name: "limit" });
    close(load(encodeInsns(insns)));
    const over = catchError(() => load(encodeInsns([mov64Imm(0, 0), ...insns])));
    expect(over).toBeInstanceOf(BpfError);
    expect((over as BpfError).code).toBe("E2BIG");
  });
});
