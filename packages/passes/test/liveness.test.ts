/**
 * Liveness (an instance of the dataflow solver) against an independent reference — the
 * path-exploration algorithm (walk backwards from every use to the definition, Appel's
 * "Modern Compiler Implementation", §19; Brandner et al. 2011) — on random programs; live
 * ranges on a hand-written loop; and the forward mode of the solver computing dominators
 * (intersection lattice) against the Cooper–Harvey–Kennedy tree.
 */
import fc from "fast-check";
import { DominatorTree, parseModule, postOrder, type BasicBlock, type Function, type Instruction } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { BitSet, computeLiveness, livenessAnalysis, solveDataflow, AnalysisManager } from "../src/index.js";
import { buildProgram, SUM_LOOP_TEXT, tapeArb } from "@luabpf/test-support";

/** Path exploration: from each use, walk predecessors backwards until the definition. Parameters are live into the entry. */
function referenceLiveness(fn: Function) {
  const reach = new Set(postOrder(fn));
  const liveIn = new Map<BasicBlock, Set<number>>();
  const liveOut = new Map<BasicBlock, Set<number>>();
  for (const bb of reach) (liveIn.set(bb, new Set()), liveOut.set(bb, new Set()));
  /** v (defined in `def`, undefined for parameters) is live at the start of bb. */
  const liveAtStart = (bb: BasicBlock, id: number, def: BasicBlock | undefined): void => {
    if (def === bb || liveIn.get(bb)!.has(id)) return;
    liveIn.get(bb)!.add(id);
    for (const p of new Set(bb.preds)) if (reach.has(p)) liveAtEnd(p, id, def);
  };
  const liveAtEnd = (bb: BasicBlock, id: number, def: BasicBlock | undefined): void => {
    liveOut.get(bb)!.add(id);
    liveAtStart(bb, id, def);
  };
  for (const bb of reach) {
    for (let i = bb.first; i; i = i.next) {
      i.operands.forEach((v, k) => {
        if (v.kind === "constant") return;
        const def = v.kind === "param" ? undefined : (v as Instruction).block;
        if (i.isPhi) {
          if (reach.has(i.incoming[k]!)) liveAtEnd(i.incoming[k]!, v.id, def);
        } else liveAtStart(bb, v.id, def);
      });
    }
  }
  return { liveIn, liveOut };
}

describe("liveness", () => {
  test("agrees with path exploration on random programs", () => {
    fc.assert(
      fc.property(tapeArb, (tape) => {
        const fn = buildProgram(tape).functions[0]!;
        const live = computeLiveness(fn);
        const ref = referenceLiveness(fn);
        for (const bb of postOrder(fn)) {
          expect(live.liveIn(bb).toArray(), `live-in @bb${bb.id}`).toEqual([...ref.liveIn.get(bb)!].sort((a, b) => a - b));
          expect(live.liveOut(bb).toArray(), `live-out @bb${bb.id}`).toEqual([...ref.liveOut.get(bb)!].sort((a, b) => a - b));
        }
      }),
      { numRuns: 300 },
    );
  });

  test("live sets and ranges of a loop; phi operands are live out of the incoming block", () => {
    const m = parseModule(SUM_LOOP_TEXT);
    const fn = m.functions[0]!;
    const [bb0, bb1, bb2, bb3] = fn.blocks as [BasicBlock, BasicBlock, BasicBlock, BasicBlock];
    const live = new AnalysisManager().get(fn, livenessAnalysis);
    expect(live.liveIn(bb0).toArray()).toEqual([0]);
    expect(live.liveOut(bb0).toArray()).toEqual([0]);
    expect(live.liveIn(bb1).toArray()).toEqual([0]); // phis are defined here, not live in
    expect(live.liveOut(bb1).toArray()).toEqual([0, 2, 3]);
    expect(live.liveOut(bb2).toArray()).toEqual([0, 4, 5]); // phi operands live out of the latch
    expect(live.liveIn(bb3).toArray()).toEqual([3]);
    // Positions follow reverse postorder (true successors first): bb0 = 0; bb1 = 1..4; bb3 = 5; bb2 = 6..8.
    expect(live.blocks.map((b) => b.id)).toEqual([0, 1, 3, 2]);
    expect(live.span(bb1)).toEqual({ start: 1, end: 4 });
    const r4 = live.liveRange(fn.blocks[2]!.first!); // %4: defined at 6, live out of bb2
    expect(r4.segments.map((s) => [s.block.id, s.start, s.end])).toEqual([[2, 6, 8]]);
    const r3 = live.liveRange(bb1.phis()[1]!); // %3: the loop header, the exit, and up to its use in bb2
    expect(r3.segments.map((s) => [s.block.id, s.start, s.end])).toEqual([[1, 1, 4], [3, 5, 5], [2, 6, 6]]);
    const r6 = live.liveRange(bb1.instructions()[2]!); // %6: from the compare to the condbr
    expect(r6.segments.map((s) => [s.block.id, s.start, s.end])).toEqual([[1, 3, 4]]);
    expect(live.liveRanges()[0]!.segments.map((s) => s.block.id)).toEqual([0, 1, 2]); // %0: not live in the exit
    expect(live.equals(computeLiveness(fn))).toBe(true);
  });
});

describe("dataflow solver, forward", () => {
  test("dominators as a forward intersection problem equal the dominator tree", () => {
    fc.assert(
      fc.property(tapeArb, (tape) => {
        const fn = buildProgram(tape).functions[0]!;
        const n = fn.blockIdBound;
        const full = () => {
          const s = new BitSet(n);
          for (let i = 0; i < n; i++) s.add(i);
          return s;
        };
        // Top = all blocks ("bottom" of the solver's order is the identity of the meet).
        const result = solveDataflow(fn, {
          direction: "forward",
          lattice: {
            bottom: full,
            join: (a, b) => {
              const c = a.clone();
              for (let k = 0; k < c.words.length; k++) c.words[k] = c.words[k]! & b.words[k]!;
              return c;
            },
            equals: (a, b) => a.equals(b),
          },
          boundary: () => new BitSet(n),
          transfer: (bb, input) => input.clone().add(bb.id),
        });
        const dt = DominatorTree.compute(fn);
        for (const bb of postOrder(fn)) {
          const doms = result.atEnd[bb.id]!.toArray();
          const expected = postOrder(fn).filter((a) => dt.dominates(a, bb)).map((a) => a.id).sort((x, y) => x - y);
          expect(doms).toEqual(expected);
        }
      }),
      { numRuns: 200 },
    );
  });
});
