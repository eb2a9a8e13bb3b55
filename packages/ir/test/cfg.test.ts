// CFG edit helpers on diamonds and loops: predecessors, successors, phi incoming pairs,
// and a clean verifier afterwards.
import { describe, expect, it, test } from "vitest";
import { Builder } from "../src/builder.js";
import { foldConditionalBranch, reachableBlocks, redirectBranch, removeBlock, removeUnreachableBlocks, splitBlock, splitEdge } from "../src/cfg.js";
import { BasicBlock, Constant, Function, Instruction } from "../src/core.js";
import { parseModule } from "../src/parse.js";
import { i64 } from "../src/types.js";
import { verifyFunction } from "../src/verify.js";
import { countingLoop as loop, diamond } from "@luabpf/test-support";

const ids = (list: readonly BasicBlock[]): number[] => list.map((b) => b.id);
const sortedIds = (list: readonly BasicBlock[]): number[] => ids(list).sort((p, q) => p - q);
const pairs = (phi: Instruction): [number, number][] => phi.incoming.map((bb, k) => [phi.operands[k]!.id, bb.id]);

describe("splitEdge", () => {
  it("splits an arm of a diamond, moving the phi pair to the new block", () => {
    const { fn, left, join, phi, x, y, right } = diamond();
    const mid = splitEdge(left, join);
    expect(fn.blocks.indexOf(mid)).toBe(fn.blocks.indexOf(left) + 1);
    expect(ids(left.succs)).toEqual([mid.id]);
    expect(ids(mid.succs)).toEqual([join.id]);
    expect(ids(mid.preds)).toEqual([left.id]);
    expect(sortedIds(join.preds)).toEqual([right.id, mid.id]);
    expect(pairs(phi)).toEqual([
      [x.id, mid.id],
      [y.id, right.id],
    ]);
    expect(verifyFunction(fn)).toEqual([]);
  });

  it("splits the critical back edge of a loop", () => {
    const { fn, header, body, exit, i, i2 } = loop();
    // header → exit is critical only if exit had other preds; split the back edge instead.
    const mid = splitEdge(body, header);
    expect(i.incomingValue(mid)).toBe(i2);
    expect(sortedIds(header.preds)).toEqual([0, mid.id]);
    expect(verifyFunction(fn)).toEqual([]);
    const mid2 = splitEdge(header, exit);
    expect(ids(header.succs)).toEqual([body.id, mid2.id]);
    expect(verifyFunction(fn)).toEqual([]);
  });

  it("picks one of two parallel edges by index", () => {
    const fn = new Function("par", [i64], i64);
    const [entry, join] = [fn.createBlock(), fn.createBlock()];
    const B = new Builder(fn);
    B.atEnd(entry).condBr(fn.params[0]!, join, join);
    B.atEnd(join);
    const p = B.phi(i64);
    p.addIncoming(B.const(1), entry);
    p.addIncoming(B.const(1), entry);
    B.ret(p);
    const mid = splitEdge(entry, join, 1);
    expect(ids(entry.succs)).toEqual([join.id, mid.id]);
    expect(sortedIds(join.preds)).toEqual([entry.id, mid.id]);
    expect(sortedIds(p.incoming)).toEqual([entry.id, mid.id]);
    expect(verifyFunction(fn)).toEqual([]);
  });

  it("splits a self loop", () => {
    const fn = new Function("self", [i64], i64);
    const [entry, spin, exit] = [fn.createBlock(), fn.createBlock(), fn.createBlock()];
    const B = new Builder(fn);
    B.atEnd(entry).br(spin);
    B.atEnd(spin);
    const p = B.phi(i64);
    const q = B.add(p, B.const(1));
    B.condBr(q, spin, exit);
    p.addIncoming(B.const(0), entry);
    p.addIncoming(q, spin);
    B.atEnd(exit).ret(q);
    const mid = splitEdge(spin, spin);
    expect(p.incomingValue(mid)).toBe(q);
    expect(sortedIds(spin.preds)).toEqual([entry.id, mid.id]);
    expect(verifyFunction(fn)).toEqual([]);
  });

  it("rejects a missing edge", () => {
    const { left, right } = diamond();
    expect(() => splitEdge(left, right)).toThrow(/no edge @bb1 -> @bb2/);
  });
});

describe("splitBlock", () => {
  it("splits the join of a diamond: phis stay, the tail gets the rest", () => {
    const { fn, join, r, phi } = diamond();
    const tail = splitBlock(r);
    expect(join.instructions()).toEqual([phi, join.terminator]);
    expect(ids(join.succs)).toEqual([tail.id]);
    expect(ids(tail.preds)).toEqual([join.id]);
    expect(r.block).toBe(tail);
    expect(tail.terminator!.opcode).toBe("ret");
    expect(verifyFunction(fn)).toEqual([]);
  });

  it("splits a loop body: the header phi now flows in from the tail", () => {
    const { fn, body, header, i, i2 } = loop();
    const tail = splitBlock(i2);
    expect(i.incomingValue(tail)).toBe(i2);
    expect(i.incomingIndex(body)).toBe(-1);
    expect(sortedIds(header.preds)).toEqual([0, tail.id]);
    expect(ids(body.succs)).toEqual([tail.id]);
    expect(body.size).toBe(1);
    expect(verifyFunction(fn)).toEqual([]);
  });

  it("splits at the terminator of a condbr block", () => {
    const { fn, entry, left, right } = diamond();
    const tail = splitBlock(entry.terminator!);
    expect(ids(tail.succs)).toEqual([left.id, right.id]);
    expect(ids(left.preds)).toEqual([tail.id]);
    expect(ids(right.preds)).toEqual([tail.id]);
    expect(verifyFunction(fn)).toEqual([]);
  });

  it("refuses to split at a phi", () => {
    const { phi } = diamond();
    expect(() => splitBlock(phi)).toThrow(/cannot split at a phi/);
  });
});

describe("redirectBranch", () => {
  it("sends one arm of a diamond to the other arm", () => {
    const { fn, left, join, right, phi, y } = diamond();
    // left now goes to right (no phis) instead of join: join's phi loses its pair from left.
    redirectBranch(left, join, right);
    expect(ids(left.succs)).toEqual([right.id]);
    expect(sortedIds(right.preds)).toEqual([0, left.id]);
    expect(ids(join.preds)).toEqual([right.id]);
    expect(pairs(phi)).toEqual([[y.id, right.id]]);
    expect(verifyFunction(fn)).toEqual([]);
  });

  it("into a block with phis, supplying the new incoming values", () => {
    const { fn, entry, left, join, phi, a } = diamond();
    redirectBranch(entry, left, join, () => a);
    expect(ids(entry.succs)).toEqual([join.id, 2]);
    expect(phi.incomingValue(entry)).toBe(a);
    // left is now unreachable but still well formed and still an edge into join.
    expect(sortedIds(join.preds)).toEqual([entry.id, left.id, 2]);
    expect(verifyFunction(fn)).toEqual([]);
    expect(removeUnreachableBlocks(fn)).toBe(1);
    expect(sortedIds(phi.incoming)).toEqual([entry.id, 2]);
    expect(verifyFunction(fn)).toEqual([]);
  });

  it("requires incoming values when the new target has phis", () => {
    const { entry, left, join } = diamond();
    expect(() => redirectBranch(entry, left, join)).toThrow(/has phis and no incoming values/);
  });
});

describe("foldConditionalBranch", () => {
  it("folds the diamond's branch; the untaken arm becomes unreachable and is removed", () => {
    const { fn, entry, left, right, join, phi, x } = diamond();
    foldConditionalBranch(entry, true);
    expect(entry.terminator!.opcode).toBe("br");
    expect(ids(entry.succs)).toEqual([left.id]);
    expect(right.preds).toEqual([]);
    expect(verifyFunction(fn)).toEqual([]);
    expect(ids([...reachableBlocks(fn)])).toEqual([0, 1, 3]);
    expect(removeUnreachableBlocks(fn)).toBe(1);
    expect(right.parent).toBeUndefined();
    expect(fn.blocks).toEqual([entry, left, join]);
    expect(pairs(phi)).toEqual([[x.id, left.id]]);
    expect(verifyFunction(fn)).toEqual([]);
  });

  it("folds a loop exit test to stay in the loop (the exit becomes unreachable)", () => {
    const { fn, header, body, exit, cond } = loop();
    foldConditionalBranch(header, true);
    expect(cond.hasUses).toBe(false);
    expect(exit.preds).toEqual([]);
    expect(ids(body.preds)).toEqual([header.id]);
    expect(verifyFunction(fn)).toEqual([]);
  });

  it("folds a condbr with both targets equal, keeping one phi pair", () => {
    const fn = new Function("par", [i64], i64);
    const [entry, join] = [fn.createBlock(), fn.createBlock()];
    const B = new Builder(fn);
    B.atEnd(entry).condBr(fn.params[0]!, join, join);
    B.atEnd(join);
    const p = B.phi(i64);
    p.addIncoming(B.const(1), entry);
    p.addIncoming(B.const(1), entry);
    B.ret(p);
    foldConditionalBranch(entry, false);
    expect(ids(join.preds)).toEqual([entry.id]);
    expect(ids(p.incoming)).toEqual([entry.id]);
    expect(verifyFunction(fn)).toEqual([]);
  });
});

describe("removing blocks", () => {
  it("removeBlock drops a predecessor-free block and its phi pairs", () => {
    const { fn, entry, right, left, join, phi, x } = diamond();
    redirectBranch(entry, right, left);
    expect(right.preds).toEqual([]);
    removeBlock(right);
    expect(fn.blocks).not.toContain(right);
    expect(ids(join.preds)).toEqual([left.id]);
    expect(pairs(phi)).toEqual([[x.id, left.id]]);
    expect(verifyFunction(fn)).toEqual([]);
  });

  it("removeBlock refuses a block with predecessors", () => {
    const { join } = diamond();
    expect(() => removeBlock(join)).toThrow(/still has predecessors/);
  });

  it("removeUnreachableBlocks removes a dead cycle referring to itself", () => {
    const { fn, B, n: a } = loop();
    const d1 = fn.createBlock();
    const d2 = fn.createBlock();
    B.atEnd(d1);
    const p = B.phi(i64);
    const q = B.add(p, a);
    B.br(d2);
    B.atEnd(d2).br(d1);
    p.addIncoming(q, d2);
    expect(verifyFunction(fn)).toEqual([]);
    expect(removeUnreachableBlocks(fn)).toBe(2);
    expect(fn.blocks.length).toBe(4);
    expect(a.uses.every((u) => u.user.block !== undefined)).toBe(true);
    expect(verifyFunction(fn)).toEqual([]);
    expect(removeUnreachableBlocks(fn)).toBe(0);
  });

  it("removeUnreachableBlocks refuses when a dead value is used by live code", () => {
    const { fn, B, i2, n } = loop();
    const dead = fn.createBlock();
    B.atEnd(dead);
    const d = B.add(n, n);
    B.unreachable();
    i2.setOperand(1, d);
    expect(() => removeUnreachableBlocks(fn)).toThrow(/used by .* in a live block/);
  });
});

describe("two edges into one block", () => {
  // condbr %c, @j, @j with a phi taking 1 on the true edge and 2 on the false edge.
  const build = () =>
    parseModule(`func @f(i64 %0) -> i64 {
@bb0:
  condbr %0, @bb1, @bb1
@bb1:
  %1 = phi i64 [1, @bb0], [2, @bb0]
  ret %1
}`).functions[0]!;
  const values = (fn: Function): bigint[] => fn.blocks.flatMap((b) => b.phis()).flatMap((p) => p.operands.map((v) => (v as Constant).value));

  test("folding to the true edge keeps the true edge's value", () => {
    const fn = build();
    foldConditionalBranch(fn.entry, true);
    expect(values(fn)).toEqual([1n]);
    expect(verifyFunction(fn)).toEqual([]);
  });

  test("folding to the false edge keeps the false edge's value", () => {
    const fn = build();
    foldConditionalBranch(fn.entry, false);
    expect(values(fn)).toEqual([2n]);
    expect(verifyFunction(fn)).toEqual([]);
  });

  test("splitting the second edge moves the second pair", () => {
    const fn = build();
    const mid = splitEdge(fn.entry, fn.blocks[1]!, 1);
    const phi = fn.blocks.find((b) => b.phis().length > 0)!.phis()[0]!;
    expect(phi.incoming.map((b) => b.id)).toEqual([fn.entry.id, mid.id]);
    expect((phi.incomingValue(mid) as Constant).value).toBe(2n);
    expect(verifyFunction(fn)).toEqual([]);
  });
});
