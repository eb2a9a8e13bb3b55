// Analyses: block orders, dominators (against iterative dataflow dominator sets on random
// CFGs), dominance frontiers (against the definition), natural loops, graph views.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { postOrder, reversePostOrder } from "../src/analysis/order.js";
import { DominatorTree } from "../src/analysis/dominators.js";
import { dominanceFrontiers } from "../src/analysis/frontiers.js";
import { LoopInfo } from "../src/analysis/loops.js";
import { cfgToDot, cfgToGraph } from "../src/analysis/graph.js";
import * as barrel from "../src/analysis/index.js";
import { Builder } from "../src/builder.js";
import { BasicBlock, Function } from "../src/core.js";
import { printInstruction } from "../src/print.js";
import { i64 } from "../src/types.js";
import { arbCfg as arbRandomCfg, br, cbr, cfg, ret, type Term } from "@luabpf/test-support";

const arbCfg = arbRandomCfg();

// ---- slow references ----

function reachable(fn: Function): Set<BasicBlock> {
  const seen = new Set<BasicBlock>([fn.entry]);
  const work = [fn.entry];
  while (work.length) for (const s of work.pop()!.succs) if (!seen.has(s)) (seen.add(s), work.push(s));
  return seen;
}

/** Dominator sets by the classic iterative dataflow: Dom(b) = {b} ∪ ⋂ Dom(p). */
function referenceDominators(fn: Function): Map<BasicBlock, Set<BasicBlock>> {
  const live = reachable(fn);
  const all = fn.blocks.filter((b) => live.has(b));
  const dom = new Map<BasicBlock, Set<BasicBlock>>();
  for (const b of all) dom.set(b, b === fn.entry ? new Set([b]) : new Set(all));
  for (let changed = true; changed; ) {
    changed = false;
    for (const b of all) {
      if (b === fn.entry) continue;
      let meet: Set<BasicBlock> | undefined;
      for (const p of b.preds) {
        if (!live.has(p)) continue;
        const d = dom.get(p)!;
        meet = meet ? new Set([...meet].filter((x) => d.has(x))) : new Set(d);
      }
      const next = new Set(meet ?? []);
      next.add(b);
      if (next.size !== dom.get(b)!.size) {
        dom.set(b, next);
        changed = true;
      }
    }
  }
  return dom;
}

/** Natural loop bodies by header, straight from the definition. */
function referenceLoops(fn: Function, dom: Map<BasicBlock, Set<BasicBlock>>): Map<BasicBlock, Set<BasicBlock>> {
  const loops = new Map<BasicBlock, Set<BasicBlock>>();
  for (const [p] of dom) {
    for (const h of p.succs) {
      if (!dom.get(p)!.has(h)) continue;
      const body = loops.get(h) ?? new Set([h]);
      loops.set(h, body);
      const work = [p];
      while (work.length) {
        const b = work.pop()!;
        if (body.has(b)) continue;
        body.add(b);
        for (const q of b.preds) if (dom.has(q)) work.push(q);
      }
    }
  }
  return loops;
}

const ids = (list: readonly BasicBlock[]): number[] => list.map((b) => b.id);

describe("block orders", () => {
  it("RPO of a diamond with a loop: entry first, successors in terminator order", () => {
    const { fn } = cfg([cbr(1, 2), br(3), br(3), cbr(0, 4), ret]);
    expect(ids(postOrder(fn))).toEqual([4, 3, 1, 2, 0]);
    expect(ids(reversePostOrder(fn))).toEqual([0, 2, 1, 3, 4]);
  });

  it("leaves out unreachable blocks", () => {
    const { fn } = cfg([br(2), br(2), ret]);
    expect(ids(reversePostOrder(fn))).toEqual([0, 2]);
  });

  it("is a DFS order on random CFGs: every block once, and edges going backwards reach back", () => {
    fc.assert(
      fc.property(arbCfg, (terms) => {
        const { fn } = cfg(terms);
        const rpo = reversePostOrder(fn);
        const live = reachable(fn);
        expect(new Set(rpo)).toEqual(live);
        expect(rpo.length).toBe(live.size);
        expect(rpo[0]).toBe(fn.entry);
        const index = new Map(rpo.map((b, i) => [b, i]));
        for (const u of rpo) {
          for (const v of u.succs) {
            if (index.get(v)! > index.get(u)!) continue;
            // A retreating edge: v is a DFS ancestor of u, so v reaches u.
            const seen = new Set([v]);
            const work = [v];
            while (work.length) for (const s of work.pop()!.succs) if (!seen.has(s)) (seen.add(s), work.push(s));
            expect(seen.has(u)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("handles 100k blocks without recursion", () => {
    const n = 100_000;
    const terms: Term[] = Array.from({ length: n }, (_, i) => (i === n - 1 ? ret : i % 2 === 0 ? cbr(i + 1, Math.min(i + 2, n - 1)) : br(i + 1)));
    const { fn, blocks } = cfg(terms);
    const rpo = reversePostOrder(fn);
    expect(rpo.length).toBe(n);
    const dt = DominatorTree.compute(fn);
    expect(dt.idom(blocks[n - 1]!)).toBe(blocks[n - 2]);
    expect(dt.dominates(blocks[0]!, blocks[n - 1]!)).toBe(true);
    expect(dt.preorder().length).toBe(n);
    expect(LoopInfo.compute(fn, dt).loops).toEqual([]);
    expect(dominanceFrontiers(fn, dt)[1]!).toEqual([blocks[2]]);
  });
});

describe("dominators", () => {
  it("a diamond and a loop", () => {
    const { fn, blocks: [e, l, r, j, x] } = cfg([cbr(1, 2), br(3), br(3), cbr(0, 4), ret]);
    // The back edge into the entry makes it a loop header; dominance is unaffected.
    const dt = DominatorTree.compute(fn);
    expect(dt.idom(e!)).toBeUndefined();
    expect(dt.idom(l!)).toBe(e);
    expect(dt.idom(r!)).toBe(e);
    expect(dt.idom(j!)).toBe(e);
    expect(dt.idom(x!)).toBe(j);
    expect(ids(dt.children(e!))).toEqual([2, 1, 3]);
    expect(ids(dt.preorder())).toEqual([0, 2, 1, 3, 4]);
    expect(dt.dominates(e!, x!)).toBe(true);
    expect(dt.dominates(l!, j!)).toBe(false);
    expect(dt.dominates(j!, j!)).toBe(true);
    expect(dt.strictlyDominates(j!, j!)).toBe(false);
    expect(dt.strictlyDominates(j!, x!)).toBe(true);
  });

  it("unreachable blocks: not in the tree, vacuously dominated, dominating nothing reachable", () => {
    const { fn, blocks: [e, dead, x] } = cfg([br(2), br(2), ret]);
    const dt = DominatorTree.compute(fn);
    expect(dt.isReachable(dead!)).toBe(false);
    expect(dt.idom(dead!)).toBeUndefined();
    expect(dt.children(dead!)).toEqual([]);
    expect(dt.dominates(x!, dead!)).toBe(true);
    expect(dt.dominates(dead!, x!)).toBe(false);
    expect(dt.idom(x!)).toBe(e);
  });

  it("instructionDominates: across blocks by the tree, within a block by order, never itself", () => {
    const fn = new Function("f", [i64], i64);
    const [e, t, f, j] = [fn.createBlock(), fn.createBlock(), fn.createBlock(), fn.createBlock()];
    const B = new Builder(fn);
    B.atEnd(e);
    const a = B.add(fn.params[0]!, fn.params[0]!);
    const b = B.add(a, a);
    B.condBr(b, t, f);
    B.atEnd(t);
    const c = B.add(b, a);
    B.br(j);
    B.atEnd(f).br(j);
    B.atEnd(j);
    const d = B.copy(a);
    B.ret(d);
    const dt = DominatorTree.compute(fn);
    expect(dt.instructionDominates(a, b)).toBe(true);
    expect(dt.instructionDominates(b, a)).toBe(false);
    expect(dt.instructionDominates(a, a)).toBe(false);
    expect(dt.instructionDominates(a, c)).toBe(true);
    expect(dt.instructionDominates(c, d)).toBe(false);
    expect(dt.instructionDominates(b, d)).toBe(true);
  });

  it("equals compares trees; a CFG edit makes them differ", () => {
    const { fn, blocks } = cfg([cbr(1, 2), br(3), br(3), ret]);
    const dt = DominatorTree.compute(fn);
    expect(dt.equals(DominatorTree.compute(fn))).toBe(true);
    // Make bb1 go to bb2 instead: bb2's idom stays the entry, but bb3's becomes bb2.
    blocks[1]!.terminator!.setTarget(0, blocks[2]!);
    const after = DominatorTree.compute(fn);
    expect(after.idom(blocks[3]!)).toBe(blocks[2]);
    expect(dt.equals(after)).toBe(false);
    expect(after.equals(dt)).toBe(false);
  });

  it("matches iterative dataflow dominator sets on random CFGs", () => {
    fc.assert(
      fc.property(arbCfg, (terms) => {
        const { fn } = cfg(terms);
        const dt = DominatorTree.compute(fn);
        const ref = referenceDominators(fn);
        for (const b of fn.blocks) {
          expect(dt.isReachable(b)).toBe(ref.has(b));
          if (!ref.has(b)) continue;
          for (const a of fn.blocks) if (ref.has(a)) expect(dt.dominates(a, b)).toBe(ref.get(b)!.has(a));
          // idom: the strict dominator that every other strict dominator dominates.
          const strict = [...ref.get(b)!].filter((a) => a !== b);
          const idom = dt.idom(b);
          if (strict.length === 0) expect(idom).toBeUndefined();
          else {
            expect(strict).toContain(idom);
            for (const a of strict) expect(ref.get(idom!)!.has(a)).toBe(true);
          }
        }
        // Children and preorder describe the same tree.
        const pre = dt.preorder();
        expect(new Set(pre)).toEqual(new Set(ref.keys()));
        for (const b of pre) for (const c of dt.children(b)) expect(dt.idom(c)).toBe(b);
      }),
      { numRuns: 400 },
    );
  });

  it("given the function's block order, builds the same tree (and ignores an order of another id bound)", () => {
    fc.assert(
      fc.property(arbCfg, (terms) => {
        const { fn } = cfg(terms);
        const rpo = reversePostOrder(fn);
        const rpoIndex = new Int32Array(fn.blockIdBound).fill(-1);
        rpo.forEach((bb, i) => (rpoIndex[bb.id] = i));
        const plain = DominatorTree.compute(fn);
        const given = DominatorTree.compute(fn, { rpo, rpoIndex });
        const stale = DominatorTree.compute(fn, { rpo: [], rpoIndex: new Int32Array(fn.blockIdBound + 1) });
        for (const dt of [given, stale]) {
          expect(dt.equals(plain) && plain.equals(dt)).toBe(true);
          expect(ids(dt.preorder())).toEqual(ids(plain.preorder()));
          expect(ids(dt.reversePostOrder())).toEqual(ids(plain.reversePostOrder()));
          for (const b of fn.blocks) expect(ids(dt.children(b))).toEqual(ids(plain.children(b)));
        }
        // The order given is left as it was.
        expect(ids(rpo)).toEqual(ids(reversePostOrder(fn)));
      }),
      { numRuns: 300 },
    );
  });
});

describe("dominance frontiers", () => {
  it("a diamond: both arms have the join in their frontier", () => {
    const { fn } = cfg([cbr(1, 2), br(3), br(3), ret]);
    const df = dominanceFrontiers(fn, DominatorTree.compute(fn));
    expect(df.map(ids)).toEqual([[], [3], [3], []]);
  });

  it("a loop: the header is in its own frontier and in the body's", () => {
    const { fn } = cfg([br(1), cbr(2, 3), br(1), ret]);
    const df = dominanceFrontiers(fn, DominatorTree.compute(fn));
    expect(df.map(ids)).toEqual([[], [1], [1], []]);
  });

  it("equals the definition on random CFGs", () => {
    fc.assert(
      fc.property(arbCfg, (terms) => {
        const { fn } = cfg(terms);
        const dt = DominatorTree.compute(fn);
        const df = dominanceFrontiers(fn, dt);
        const ref = referenceDominators(fn);
        expect(df.length).toBe(fn.blockIdBound);
        for (const x of fn.blocks) {
          const expected = new Set<BasicBlock>();
          if (ref.has(x)) {
            for (const y of fn.blocks) {
              if (!ref.has(y)) continue;
              const strictlyDominates = x !== y && ref.get(y)!.has(x);
              if (!strictlyDominates && y.preds.some((p) => ref.has(p) && ref.get(p)!.has(x))) expected.add(y);
            }
          }
          const got = df[x.id]!;
          expect(new Set(got)).toEqual(expected);
          expect(got.length).toBe(expected.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("natural loops", () => {
  it("nested loops: headers, latches, blocks, exits, depth, loopFor", () => {
    // 0 → 1(outer header) → 2(inner header) ⇄ 3(inner body); 2 → 4(outer latch) → 1; 1 → 5(exit)
    const { fn, blocks: b } = cfg([br(1), cbr(2, 5), cbr(3, 4), br(2), br(1), ret]);
    const info = LoopInfo.compute(fn, DominatorTree.compute(fn));
    expect(info.loops.map((l) => l.header.id)).toEqual([1, 2]);
    const [outer, inner] = info.loops as [barrel.Loop, barrel.Loop];
    expect(inner.parent).toBe(outer);
    expect(outer.parent).toBeUndefined();
    expect(outer.children).toEqual([inner]);
    expect(info.topLevel()).toEqual([outer]);
    expect(ids(outer.blocks)).toEqual([1, 2, 4, 3]);
    expect(ids(inner.blocks)).toEqual([2, 3]);
    expect(ids(outer.latches)).toEqual([4]);
    expect(ids(inner.latches)).toEqual([3]);
    expect(ids(outer.exits)).toEqual([5]);
    expect(ids(inner.exits)).toEqual([4]);
    expect([outer.depth, inner.depth]).toEqual([1, 2]);
    expect(b.map((bb) => info.depth(bb))).toEqual([0, 1, 2, 2, 1, 0]);
    expect(info.loopFor(b[3]!)).toBe(inner);
    expect(info.loopFor(b[4]!)).toBe(outer);
    expect(info.loopFor(b[0]!)).toBeUndefined();
    expect(inner.contains(b[3]!)).toBe(true);
    expect(inner.contains(b[4]!)).toBe(false);
  });

  it("a self loop and two back edges into one header make one loop each", () => {
    const { fn } = cfg([br(1), cbr(1, 2), cbr(1, 3), ret]);
    const info = LoopInfo.compute(fn, DominatorTree.compute(fn));
    expect(info.loops).toHaveLength(1);
    expect(ids(info.loops[0]!.latches)).toEqual([1, 2]);
    expect(ids(info.loops[0]!.blocks)).toEqual([1, 2]);
  });

  it("an irreducible cycle is not a loop (and does not crash)", () => {
    // 0 → 1, 0 → 2, 1 ⇄ 2, 2 → 3.
    const { fn, blocks } = cfg([cbr(1, 2), br(2), cbr(1, 3), ret]);
    const info = LoopInfo.compute(fn, DominatorTree.compute(fn));
    expect(info.loops).toEqual([]);
    expect(blocks.map((b) => info.depth(b))).toEqual([0, 0, 0, 0]);
  });

  it("an irreducible cycle inside a natural loop belongs to the loop only", () => {
    // 0 → 1 (header); 1 → 2 | 3; 2 ⇄ 3; 3 → 4 (latch) → 1; 4 → 5 exit... via condbr
    const { fn } = cfg([br(1), cbr(2, 3), br(3), cbr(2, 4), cbr(1, 5), ret]);
    const info = LoopInfo.compute(fn, DominatorTree.compute(fn));
    expect(info.loops.map((l) => l.header.id)).toEqual([1]);
    expect(new Set(ids(info.loops[0]!.blocks))).toEqual(new Set([1, 2, 3, 4]));
  });

  it("matches natural loops computed from the definition on random CFGs", () => {
    fc.assert(
      fc.property(arbCfg, (terms) => {
        const { fn } = cfg(terms);
        const dt = DominatorTree.compute(fn);
        const info = LoopInfo.compute(fn, dt);
        const ref = referenceLoops(fn, referenceDominators(fn));
        expect(new Set(info.loops.map((l) => l.header))).toEqual(new Set(ref.keys()));
        for (const l of info.loops) {
          expect(new Set(l.blocks)).toEqual(ref.get(l.header));
          expect(l.blocks.length).toBe(ref.get(l.header)!.size);
          expect(l.blocks[0]).toBe(l.header);
          for (const b of l.blocks) expect(dt.dominates(l.header, b)).toBe(true);
          if (l.parent) {
            expect(l.parent.blocks).toEqual(expect.arrayContaining(l.blocks));
            expect(l.depth).toBe(l.parent.depth + 1);
          } else expect(l.depth).toBe(1);
        }
        // loopFor is the smallest loop containing the block.
        for (const b of fn.blocks) {
          const containing = info.loops.filter((l) => l.blocks.includes(b));
          const smallest = containing.sort((x, y) => x.blocks.length - y.blocks.length)[0];
          expect(info.loopFor(b)).toBe(smallest);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("graph views", () => {
  it("cfgToGraph: node keys, attributes and edge kinds", () => {
    const { fn } = cfg([cbr(1, 2), br(3), cbr(3, 3), ret]);
    const g = cfgToGraph(fn);
    expect(g.nodes()).toEqual(["bb0", "bb1", "bb2", "bb3"]);
    expect(g.getNodeAttributes("bb0")).toEqual({ block: 0, instructions: 1, entry: true });
    expect(g.getNodeAttributes("bb3")).toEqual({ block: 3, instructions: 1, entry: false });
    expect(g.edges().map((e) => [g.source(e), g.target(e), g.getEdgeAttribute(e, "kind")])).toEqual([
      ["bb0", "bb1", "true"],
      ["bb0", "bb2", "false"],
      ["bb1", "bb3", "jump"],
      ["bb2", "bb3", "both"],
    ]);
    expect(g.inDegree("bb3")).toBe(2);
    expect(g.type).toBe("directed");
  });

  it("cfgToDot: deterministic text, edge labels, escaped names", () => {
    const { fn } = cfg([cbr(1, 2), br(3), br(3), ret], 'we"ird\\name');
    const dot = cfgToDot(fn);
    expect(dot).toBe(
      [
        'digraph "we\\"ird\\\\name" {',
        '  node [shape=box, fontname="monospace"];',
        '  bb0 [label="@bb0 (1)", style=bold];',
        '  bb1 [label="@bb1 (1)"];',
        '  bb2 [label="@bb2 (1)"];',
        '  bb3 [label="@bb3 (1)"];',
        '  bb0 -> bb1 [label="T", color=darkgreen];',
        '  bb0 -> bb2 [label="F", color=red];',
        "  bb1 -> bb3;",
        "  bb2 -> bb3;",
        "}",
        "",
      ].join("\n"),
    );
    expect(cfgToDot(fn)).toBe(dot);
  });

  it("cfgToDot with instructions lists them left-aligned", () => {
    const fn = new Function("f", [i64], i64);
    const B = new Builder(fn);
    B.atEnd(fn.createBlock());
    const s = B.add(fn.params[0]!, B.const(1));
    const r = B.ret(s);
    const dot = cfgToDot(fn, { instructions: true });
    expect(dot).toContain(`bb0 [label="@bb0:\\l  ${printInstruction(s)}\\l  ${printInstruction(r)}\\l", style=bold];`);
  });
});

describe("barrel", () => {
  it("exports every analysis", () => {
    expect(Object.keys(barrel).sort()).toEqual(
      ["CallGraph", "DominatorTree", "Loop", "LoopInfo", "PostDominatorTree", "blockKey", "cfgToDot", "cfgToGraph", "checkReferences", "dominanceFrontiers", "postOrder", "reversePostOrder"].sort(),
    );
  });
});
