// Loop queries (O(1) contains, preheaders, exiting/exit blocks, simplified form),
// splitPredecessors / insertPreheader, and the post-dominator tree against the definition.
import fc from "fast-check";
import { describe, expect, it, test } from "vitest";
import { DominatorTree } from "../src/analysis/dominators.js";
import { LoopInfo } from "../src/analysis/loops.js";
import { PostDominatorTree } from "../src/analysis/postdominators.js";
import { insertPreheader, splitPredecessors } from "../src/cfg.js";
import type { BasicBlock, Function, Instruction, Value } from "../src/core.js";
import { parseModule } from "../src/parse.js";
import { printFunction } from "../src/print.js";
import { verifyFunction } from "../src/verify.js";
import { interpret } from "../src/interp.js";
import { addEdgePhis, arbCfg, arbValidCfg, br, cbr, cfg, ret } from "@luabpf/test-support";

const ids = (list: readonly BasicBlock[]): number[] => list.map((b) => b.id);

/** Post-dominator sets by the iterative dataflow PDom(b) = {b} ∪ ⋂ PDom(s), over blocks that reach an exit. */
function referencePostDominators(fn: Function): Map<BasicBlock, Set<BasicBlock>> {
  const reaches = new Set<BasicBlock>(fn.blocks.filter((b) => b.succs.length === 0));
  for (let grew = true; grew; ) {
    grew = false;
    for (const b of fn.blocks) if (!reaches.has(b) && b.succs.some((s) => reaches.has(s))) (reaches.add(b), (grew = true));
  }
  const all = fn.blocks.filter((b) => reaches.has(b));
  const pdom = new Map<BasicBlock, Set<BasicBlock>>();
  for (const b of all) pdom.set(b, b.succs.length === 0 ? new Set([b]) : new Set(all));
  for (let changed = true; changed; ) {
    changed = false;
    for (const b of all) {
      if (b.succs.length === 0) continue;
      let meet: Set<BasicBlock> | undefined;
      for (const s of b.succs) {
        const d = pdom.get(s);
        if (!d) continue;
        meet = meet ? new Set([...meet].filter((x) => d.has(x))) : new Set(d);
      }
      const next = new Set(meet ?? []);
      next.add(b);
      if (next.size !== pdom.get(b)!.size) (pdom.set(b, next), (changed = true));
    }
  }
  return pdom;
}

describe("post-dominator tree", () => {
  it("a diamond with two exits", () => {
    // 0 → 1 | 2; 1 → 3; 2 → 3 | 4(ret); 3 ret
    const { fn, blocks: b } = cfg([cbr(1, 2), br(3), cbr(3, 4), ret, ret]);
    const pdt = PostDominatorTree.compute(fn);
    expect(ids(pdt.roots())).toEqual([3, 4]);
    expect(pdt.ipdom(b[1]!)).toBe(b[3]);
    expect(pdt.ipdom(b[2]!)).toBeUndefined(); // only the virtual exit post-dominates it
    expect(pdt.ipdom(b[0]!)).toBeUndefined();
    expect(pdt.postDominates(b[3]!, b[1]!)).toBe(true);
    expect(pdt.postDominates(b[3]!, b[0]!)).toBe(false);
    expect(ids(pdt.children(b[3]!))).toEqual([1]);
  });

  it("blocks in an infinite loop reach no exit", () => {
    const { fn, blocks: b } = cfg([cbr(1, 3), br(2), br(1), ret]);
    const pdt = PostDominatorTree.compute(fn);
    expect(pdt.reachesExit(b[1]!)).toBe(false);
    expect(pdt.postDominates(b[3]!, b[1]!)).toBe(true); // vacuous
    expect(pdt.postDominates(b[1]!, b[0]!)).toBe(false);
    expect(pdt.ipdom(b[0]!)).toBe(b[3]);
  });

  it("matches post-dominator sets from the definition on random CFGs", () => {
    fc.assert(
      fc.property(arbCfg(), (terms) => {
        const { fn } = cfg(terms);
        const pdt = PostDominatorTree.compute(fn);
        const ref = referencePostDominators(fn);
        for (const b of fn.blocks) {
          expect(pdt.reachesExit(b)).toBe(ref.has(b));
          for (const a of fn.blocks) {
            const expected = !ref.has(b) || a === b || (ref.get(b)!.has(a) && ref.has(a));
            expect(pdt.postDominates(a, b), `@bb${a.id} pdom @bb${b.id}`).toBe(expected);
          }
          if (!ref.has(b)) continue;
          // ipdom: the strict post-dominator that every other strict post-dominator post-dominates.
          const strict = [...ref.get(b)!].filter((x) => x !== b);
          const ip = strict.find((c) => strict.every((o) => ref.get(c)!.has(o)));
          expect(pdt.ipdom(b)).toBe(ip);
          for (const c of pdt.children(b)) expect(pdt.ipdom(c)).toBe(b);
        }
        expect(pdt.equals(PostDominatorTree.compute(fn))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("loop queries", () => {
  it("preheader, latch, entering, exiting and exit blocks of a counted loop", () => {
    // 0 → 1(header) ⇄ 2(body); 1 → 3(exit)
    const { fn, blocks: b } = cfg([br(1), cbr(2, 3), br(1), ret]);
    const info = LoopInfo.compute(fn, DominatorTree.compute(fn));
    const loop = info.loops[0]!;
    expect(loop.preheader()).toBe(b[0]);
    expect(loop.latch()).toBe(b[2]);
    expect(ids(loop.entering())).toEqual([0]);
    expect(ids(loop.exitingBlocks())).toEqual([1]);
    expect(ids(loop.exitBlocks())).toEqual([3]);
    expect(loop.hasDedicatedExits()).toBe(true);
    expect(loop.isSimplified()).toBe(true);
    expect(loop.isInvariant(fn.params[0]!)).toBe(true);
  });

  it("two entering blocks: no preheader until one is inserted", () => {
    // 0 → 1 | 2; 1 → 3; 2 → 3; 3(header) ⇄ 4; 3 → 5
    const { fn, blocks: b } = cfg([cbr(1, 2), br(3), br(3), cbr(4, 5), br(3), ret]);
    addEdgePhis(fn);
    const info = LoopInfo.compute(fn, DominatorTree.compute(fn));
    const loop = info.loops[0]!;
    expect(loop.preheader()).toBeUndefined();
    expect(ids(loop.entering())).toEqual([1, 2]);
    const ph = insertPreheader(loop, info);
    expect(loop.preheader()).toBe(ph);
    expect(info.loopFor(ph)).toBeUndefined();
    expect(verifyFunction(fn)).toEqual([]);
    // The header's phi now takes one merged value from the preheader, whose phi keeps both pairs.
    const [headerPhi] = b[3]!.phis();
    const merged = headerPhi!.incomingValue(ph) as Instruction;
    expect(merged.opcode).toBe("phi");
    expect(ids(merged.incoming)).toEqual([1, 2]);
    expect(insertPreheader(loop, info)).toBe(ph);
  });

  it("contains, exiting/exit blocks and preheader agree with their definitions on random CFGs", () => {
    fc.assert(
      fc.property(arbCfg(), (terms) => {
        const { fn } = cfg(terms);
        const info = LoopInfo.compute(fn, DominatorTree.compute(fn));
        for (const l of info.loops) {
          const set = new Set(l.blocks);
          for (const b of fn.blocks) expect(l.contains(b)).toBe(set.has(b));
          for (const m of info.loops) expect(l.containsLoop(m)).toBe(m.blocks.every((b) => set.has(b)));
          expect(new Set(l.exitingBlocks())).toEqual(new Set(l.blocks.filter((b) => b.succs.some((s) => !set.has(s)))));
          expect(new Set(l.exitBlocks())).toEqual(new Set(l.blocks.flatMap((b) => b.succs).filter((s) => !set.has(s))));
          const outside = [...new Set(l.header.preds.filter((p) => !set.has(p)))];
          const ph = l.preheader();
          if (outside.length === 1 && outside[0]!.succs.every((s) => s === l.header)) expect(ph).toBe(outside[0]);
          else expect(ph).toBeUndefined();
        }
        const order = info.innermostFirst();
        order.forEach((l, i) => order.slice(i + 1).forEach((m) => expect(l.containsLoop(m) && l !== m).toBe(false)));
      }),
      { numRuns: 300 },
    );
  });

  it("insertPreheader on every loop keeps phis right and the snapshot equal to a fresh computation", () => {
    fc.assert(
      fc.property(arbValidCfg(), (terms) => {
        const { fn } = cfg(terms);
        addEdgePhis(fn);
        const info = LoopInfo.compute(fn, DominatorTree.compute(fn));
        for (const l of info.innermostFirst()) insertPreheader(l, info);
        expect(verifyFunction(fn).map((e) => e.message)).toEqual([]);
        const fresh = LoopInfo.compute(fn, DominatorTree.compute(fn));
        expect(fresh.loops.map((l) => l.header)).toEqual(info.loops.map((l) => l.header));
        fresh.loops.forEach((l, i) => {
          expect(new Set(l.blocks)).toEqual(new Set(info.loops[i]!.blocks));
          expect(l.preheader()).toBeDefined();
          for (const b of fn.blocks) expect(info.loopFor(b)?.header).toBe(fresh.loopFor(b)?.header);
        });
      }),
      { numRuns: 300 },
    );
  });
});

/** The value phi `phi` takes on the `n`-th edge from `from` (0-based). */
function edgeValue(phi: Instruction, from: BasicBlock, n: number): Value | undefined {
  for (let k = 0; k < phi.incoming.length; k++) if (phi.incoming[k] === from && n-- === 0) return phi.operands[k];
  return undefined;
}

describe("splitPredecessors", () => {
  test("each edge keeps its phi value, through the new block (random CFGs, random subsets)", () => {
    fc.assert(
      fc.property(arbValidCfg(16), fc.nat(), fc.array(fc.boolean(), { maxLength: 16 }), (terms, pick, mask) => {
        const { fn } = cfg(terms);
        addEdgePhis(fn);
        const targets = fn.blocks.filter((b) => b.preds.length > 0);
        if (targets.length === 0) return;
        const bb = targets[pick % targets.length]!;
        const distinctPreds = [...new Set(bb.preds)];
        let chosen = distinctPreds.filter((_, i) => mask[i] ?? true);
        if (chosen.length === 0) chosen = [distinctPreds[0]!];
        // Record every (pred, occurrence) edge's value in each phi.
        const phis = bb.phis();
        const before = new Map<string, Value>();
        const seen = new Map<BasicBlock, number>();
        for (const p of bb.preds) {
          const n = seen.get(p) ?? 0;
          seen.set(p, n + 1);
          phis.forEach((phi, i) => before.set(`${i}:${p.id}:${n}`, edgeValue(phi, p, n)!));
        }
        const edgeCount = bb.preds.length;
        const mid = splitPredecessors(bb, chosen);
        expect(verifyFunction(fn).map((e) => e.message), printFunction(fn)).toEqual([]);
        expect(ids(mid.succs)).toEqual([bb.id]);
        expect(new Set(mid.preds)).toEqual(new Set(chosen));
        expect(bb.preds.length).toBe(edgeCount - mid.preds.length + 1);
        expect(fn.blocks.indexOf(mid)).toBe(fn.blocks.indexOf(bb) - 1);
        for (const [key, v] of before) {
          const [i, pid, n] = key.split(":").map(Number) as [number, number, number];
          const phi = phis[i]!;
          const p = fn.blocks.find((b) => b.id === pid)!;
          let got: Value | undefined;
          if (chosen.includes(p)) {
            const w = phi.incomingValue(mid);
            got = w.kind === "instruction" && (w as Instruction).block === mid ? edgeValue(w as Instruction, p, n) : w;
          } else got = edgeValue(phi, p, n);
          expect(got, key).toBe(v);
        }
      }),
      { numRuns: 400 },
    );
  });

  test("splitting the predecessors of a loop header keeps what the function computes", () => {
    const m = parseModule(`
func @f(i64 %0) -> i64 {
@bb0:
  %1 = ult i64 %0, 10
  condbr %1, @bb1, @bb2
@bb1:
  br @bb3
@bb2:
  br @bb3
@bb3:
  %2 = phi i64 [1, @bb1], [2, @bb2], [%4, @bb4]
  %3 = phi i64 [0, @bb1], [0, @bb2], [%5, @bb4]
  %6 = ult i64 %3, 3
  condbr %6, @bb4, @bb5
@bb4:
  %4 = mul i64 %2, 3
  %5 = add i64 %3, 1
  br @bb3
@bb5:
  ret %2
}`);
    const fn = m.getFunction("f")!;
    const results = [0n, 5n, 20n].map((x) => interpret(m, "f", [x]).value);
    const header = fn.blocks[3]!;
    const ph = splitPredecessors(header, [fn.blocks[1]!, fn.blocks[2]!]);
    expect(verifyFunction(fn)).toEqual([]);
    const merged = ph.phis()[0]!.id;
    expect(printFunction(fn)).toContain(
      `@bb${ph.id}:\n  %${merged} = phi i64 [1, @bb1], [2, @bb2]\n  br @bb3\n@bb3:\n  %2 = phi i64 [%4, @bb4], [%${merged}, @bb${ph.id}]\n  %3 = phi i64 [%5, @bb4], [0, @bb${ph.id}]`,
    );
    expect([0n, 5n, 20n].map((x) => interpret(m, "f", [x]).value)).toEqual(results);
  });
});
