// The driver verifies the IR once before code generation: broken IR is an internal error
// that names the stage, never an object for the kernel.
import { Builder, InternalError } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { compileSource, verifyBeforeCodegen } from "../src/driver.js";

const SOURCE = "bpf.socket(function (skb)\n  local s = 5\n  if skb.mark > 3 then s = skb.len end\n  return s\nend)\n";

describe("verify before code generation", () => {
  test("valid IR passes at every level", () => {
    for (const optLevel of [0, 1, 2] as const) expect(() => compileSource(SOURCE, { file: "ok.lua", optLevel })).not.toThrow();
  });

  test("a value used on a path where it is not defined (issue 17's `ret %25`) is an internal error naming the stage", () => {
    const { module } = compileSource(SOURCE, { file: "t.lua", optLevel: 0 });
    const fn = module.functions[0]!;
    // Make the return use a phi that is no longer in the function, as the SSA builder once did.
    const ret = fn.blocks.map((bb) => bb.terminator!).find((t) => t.opcode === "ret")!;
    const phi = fn.blocks.flatMap((bb) => bb.phis())[0]!;
    const ghost = new Builder(fn).atEnd(phi.block!).phi(phi.type);
    ghost.unlink();
    ret.setOperand(0, ghost);
    let error: unknown;
    try {
      verifyBeforeCodegen(module, SOURCE, { file: "t.lua", optLevel: 0 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InternalError);
    const message = (error as Error).message;
    expect(message).toMatch(/^internal error: invalid IR before code generation, produced by the optimisation pipeline:/);
    expect(message).toContain(`[foreign-values] @socket @bb${ret.block!.id} %${ret.id}: operand 0 is %${ghost.id} (phi) which is not linked into any block`);
  });
});
