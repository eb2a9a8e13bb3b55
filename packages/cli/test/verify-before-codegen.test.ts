// The driver verifies the IR once before code generation: broken IR is an internal error
// that names the stage that produced it, never an object for the kernel.
import { Builder, InternalError, type Function } from "@luabpf/ir";
import { defaultRegistry, defineFunctionPass } from "@luabpf/passes";
import { describe, expect, test } from "vitest";
import { compileSource, frontend } from "../src/driver.js";

const SOURCE = "bpf.socket(function (skb)\n  local s = 5\n  if skb.mark > 3 then s = skb.len end\n  return s\nend)\n";

/**
 * Makes the return use a phi that is no longer in the function, as the SSA builder once did
 * (issue 17: `ret %25` with %25 never defined reached the kernel). Returns the ids involved.
 */
function breakReturn(fn: Function): { ret: number; block: number; ghost: number } {
  const ret = fn.blocks.map((bb) => bb.terminator!).find((t) => t.opcode === "ret")!;
  const ghost = new Builder(fn).atEnd(ret.block!).phi(ret.operand(0).type);
  ghost.unlink();
  ret.setOperand(0, ghost);
  return { ret: ret.id, block: ret.block!.id, ghost: ghost.id };
}

/** A pass that breaks the IR of every function it runs on. */
const breakIr = defineFunctionPass({
  name: "break-ir",
  description: "test only: makes the return use an erased phi",
  run(fn) {
    breakReturn(fn);
    return true;
  },
});

function internalError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InternalError);
    return (e as Error).message;
  }
  throw new Error("expected an internal error");
}

describe("verify before code generation", () => {
  test("valid IR passes at every level", () => {
    for (const optLevel of [0, 1, 2] as const) expect(() => compileSource(SOURCE, { file: "ok.lua", optLevel })).not.toThrow();
  });

  test("a pass that leaves a value undefined on some path is named", () => {
    const registry = defaultRegistry.clone().register(breakIr);
    const message = internalError(() => compileSource(SOURCE, { file: "t.lua", registry, passes: "sccp,break-ir,dce" }));
    expect(message).toMatch(/^internal error: invalid IR before code generation, produced by pass 'break-ir' \(on @socket\):\n/);
    expect(message).toMatch(/\[foreign-values\] @socket @bb\d+ %\d+: operand 0 is %\d+ \(phi\) which is not linked into any block/);
  });

  test("broken IR from the front end is named (here: broken by hand and reproduced the same way)", async () => {
    const { codegen, optimize, quietVerifyEach } = await import("../src/driver.js");
    const module = frontend(SOURCE, "t.lua");
    const ids = breakReturn(module.functions[0]!);
    const message = internalError(() =>
      codegen(module, () => {
        const again = frontend(SOURCE, "t.lua");
        breakReturn(again.functions[0]!);
        optimize(again, quietVerifyEach({ optLevel: 2 }));
      }),
    );
    expect(message).toContain("invalid IR before code generation, produced by the front end (frontend-lua):");
    expect(message).toContain(`[foreign-values] @socket @bb${ids.block} %${ids.ret}: operand 0 is %${ids.ghost} (phi) which is not linked into any block`);
    expect(internalError(() => codegen(module))).toContain("produced by an unidentified stage:");
  });
});
