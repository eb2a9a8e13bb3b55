/**
 * The generator itself: its programs verify and run without traps, and they have the loop
 * shapes the loop passes need (several entering blocks, several latches and exits, nests),
 * all reducible.
 */
import fc from "fast-check";
import { DominatorTree, LoopInfo, postOrder, printModule, verifyModule, formatVerifierErrors, type Function } from "@luabpf/ir";
import { expect, test } from "vitest";
import { buildProgram, inputArb, tapeArb } from "@luabpf/test-support";
import { interpret, InterpError } from "./interp.js";

/** Is every retreating edge of a depth-first walk a back edge (its target dominates its source)? */
function reducible(fn: Function, dt: DominatorTree): boolean {
  const po = postOrder(fn);
  const index = new Map(po.map((b, i) => [b, i]));
  for (const b of po) for (const s of b.succs) if (index.get(s)! >= index.get(b)! && !dt.dominates(s, b)) return false;
  return true;
}

test("generated programs are verifier-clean and run without traps", () => {
  let blocks = 0;
  let traps = 0;
  const shapes = { loops: 0, noPreheader: 0, twoLatches: 0, twoExiting: 0, nested: 0, ctxLoadsInLoops: 0 };
  fc.assert(
    fc.property(tapeArb, inputArb, (tape, input) => {
      const m = buildProgram(tape);
      const errors = verifyModule(m);
      if (errors.length) throw new Error(`${formatVerifierErrors(errors)}\n${printModule(m)}`);
      const fn = m.functions[0]!;
      blocks += fn.blocks.length;
      const dt = DominatorTree.compute(fn);
      expect(reducible(fn, dt), printModule(m)).toBe(true);
      const info = LoopInfo.compute(fn, dt);
      for (const l of info.loops) {
        shapes.loops++;
        if (!l.preheader()) shapes.noPreheader++;
        if (!l.latch()) shapes.twoLatches++;
        if (l.exitingBlocks().length > 1) shapes.twoExiting++;
        if (l.depth > 1) shapes.nested++;
        for (const bb of l.blocks) for (const i of bb.instructions()) if (i.opcode === "load" && i.operands[0] === fn.params[0]) shapes.ctxLoadsInLoops++;
      }
      try {
        interpret(m, "f", ["ctx", ...input.args], { packet: input.packet, ctx: input.ctx });
      } catch (e) {
        if (!(e instanceof InterpError)) throw e;
        traps++;
        throw new Error(`trap: ${e.message}\n${printModule(m)}`);
      }
    }),
    { numRuns: 500 },
  );
  expect(blocks / 500).toBeGreaterThan(3); // programs have real control flow
  expect(traps).toBe(0);
  for (const [shape, n] of Object.entries(shapes)) expect(n, shape).toBeGreaterThan(10);
});
