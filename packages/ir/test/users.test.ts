// Users lists and predecessor lists under random mutation sequences: after every step the
// incrementally maintained lists must equal a recomputation from scratch (the verifier's
// `users`, `predecessors` and `phi-incoming` checks, plus the structural ones).
//
// Operands are chosen without regard to dominance, so the SSA checks (`ssa-dominance`,
// `unreachable-code`) are the only ones allowed to fire.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Builder } from "../src/builder.js";
import { foldConditionalBranch, reachableBlocks, redirectBranch, removeUnreachableBlocks, splitBlock, splitEdge } from "../src/cfg.js";
import { BasicBlock, Function, type Value } from "../src/core.js";
import { i64 } from "../src/types.js";
import { verifyFunction, type VerifierError } from "../src/verify.js";

const SSA_ONLY = new Set(["ssa-dominance", "unreachable-code"]);

interface BlockSpec {
  /** Successor choice: 0 = ret, 1 = br, 2+ = condbr; targets are taken modulo the block count. */
  term: number;
  t: number;
  f: number;
  phis: number;
  ops: { kind: number; x: number; y: number }[];
}

const arbBlock: fc.Arbitrary<BlockSpec> = fc.record({
  term: fc.integer({ min: 0, max: 4 }),
  t: fc.nat(),
  f: fc.nat(),
  phis: fc.integer({ min: 0, max: 2 }),
  ops: fc.array(fc.record({ kind: fc.integer({ min: 0, max: 2 }), x: fc.nat(), y: fc.nat() }), { maxLength: 4, size: "max" }),
});

interface Step {
  op: number;
  a: number;
  b: number;
  c: number;
}
const arbStep: fc.Arbitrary<Step> = fc.record({ op: fc.integer({ min: 0, max: 11 }), a: fc.nat(), b: fc.nat(), c: fc.nat() });

/** Every value operands may refer to: params, constants, and linked instructions with a result. */
function valuesOf(fn: Function): Value[] {
  const out: Value[] = [...fn.params, ...fn.allConstants()];
  for (const i of fn.instructions()) if (i.type.kind !== "void") out.push(i);
  return out;
}
const pick = <T>(list: readonly T[], k: number): T | undefined => (list.length === 0 ? undefined : list[k % list.length]);

/** Builds a function from block specs; no edge goes into the entry. Operands ignore dominance. */
function build(specs: readonly BlockSpec[]): Function {
  const fn = new Function("f", [i64, i64], i64);
  const blocks = specs.map(() => fn.createBlock());
  const B = new Builder(fn);
  const n = blocks.length;
  // Non-entry targets only (the entry must have no predecessors); a single block returns.
  const target = (k: number): BasicBlock => blocks[1 + (k % (n - 1))]!;
  specs.forEach((s, i) => {
    B.atEnd(blocks[i]!);
    for (const op of s.ops) {
      const vs = valuesOf(fn);
      const x = pick(vs, op.x)!;
      const y = pick(vs, op.y)!;
      if (op.kind === 0) B.add(x, y);
      else if (op.kind === 1) B.copy(x);
      else B.callHelper(op.x % 200, [x, y].slice(0, op.y % 3));
    }
  });
  specs.forEach((s, i) => {
    B.atEnd(blocks[i]!);
    const cond = pick(valuesOf(fn), s.t + s.f)!;
    if (s.term === 0 || n === 1) B.ret(cond);
    else if (s.term === 1) B.br(target(s.t));
    else B.condBr(cond, target(s.t), target(s.f));
  });
  specs.forEach((s, i) => {
    const bb = blocks[i]!;
    for (let k = 0; k < s.phis && bb.preds.length > 0; k++) {
      const phi = new Builder(fn).phi(i64, bb);
      bb.preds.forEach((p, j) => phi.addIncoming(pick(valuesOf(fn), s.t + j * 7 + k)!, p));
    }
  });
  return fn;
}

/** Applies one mutation; returns its name (or "skip" when it does not apply). */
function mutate(fn: Function, s: Step): string {
  const insts = [...fn.instructions()];
  const values = valuesOf(fn);
  const movable = insts.filter((i) => !i.isPhi && !i.isTerminator);
  const withTargets = fn.blocks.filter((b) => (b.terminator?.targets.length ?? 0) > 0);
  switch (s.op) {
    case 0: {
      const inst = pick(
        insts.filter((i) => i.operands.length > 0),
        s.a,
      );
      if (!inst) return "skip";
      inst.setOperand(s.b % inst.operands.length, pick(values, s.c)!);
      return "setOperand";
    }
    case 1: {
      const v = pick(values, s.a)!;
      const w = pick(values, s.b)!;
      v.replaceAllUsesWith(w);
      return "replaceAllUsesWith";
    }
    case 2: {
      const inst = pick(
        insts.filter((i) => !i.isTerminator && !i.hasUses),
        s.a,
      );
      if (!inst) return "skip";
      inst.erase();
      return "erase";
    }
    case 3: {
      const inst = pick(movable, s.a);
      const pos = pick(
        insts.filter((i) => !i.isPhi && i !== inst),
        s.b,
      );
      if (!inst || !pos) return "skip";
      inst.moveBefore(pos);
      return "moveBefore";
    }
    case 4: {
      const inst = pick(movable, s.a);
      // After a non-terminator, or after the last phi of a block.
      const pos = pick(
        insts.filter((i) => i !== inst && !i.isTerminator && !(i.isPhi && i.next?.isPhi)),
        s.b,
      );
      if (!inst || !pos) return "skip";
      inst.moveAfter(pos);
      return "moveAfter";
    }
    case 5: {
      const call = pick(
        insts.filter((i) => i.opcode === "call" && i.operands.length < 5),
        s.a,
      );
      if (!call) return "skip";
      call.appendOperand(pick(values, s.b)!);
      return "appendOperand";
    }
    case 6: {
      const call = pick(
        insts.filter((i) => i.opcode === "call" && i.operands.length > 0),
        s.a,
      );
      if (!call) return "skip";
      call.removeOperand(s.b % call.operands.length);
      return "removeOperand";
    }
    case 7: {
      const from = pick(withTargets, s.a);
      if (!from) return "skip";
      const t = from.terminator!.targets;
      const slot = s.b % t.length;
      splitEdge(from, t[slot]!, slot);
      return "splitEdge";
    }
    case 8: {
      const inst = pick(
        insts.filter((i) => !i.isPhi),
        s.a,
      );
      if (!inst) return "skip";
      splitBlock(inst);
      return "splitBlock";
    }
    case 9: {
      const from = pick(withTargets, s.a);
      const to = pick(fn.blocks.slice(1), s.c);
      if (!from || !to) return "skip";
      const t = from.terminator!.targets;
      const slot = s.b % t.length;
      let k = s.c;
      redirectBranch(from, t[slot]!, to, () => pick(values, k++)!, slot);
      return "redirectBranch";
    }
    case 10: {
      const bb = pick(
        fn.blocks.filter((b) => b.terminator?.opcode === "condbr"),
        s.a,
      );
      if (!bb) return "skip";
      foldConditionalBranch(bb, s.b % 2 === 0);
      return "foldConditionalBranch";
    }
    case 11: {
      // Live uses of dead values would make the removal throw (as documented): cut them first.
      const live = reachableBlocks(fn);
      for (const inst of insts) {
        if (!inst.block || live.has(inst.block)) continue;
        for (const u of [...inst.uses]) if (u.user.block && live.has(u.user.block)) u.user.setOperand(u.index, fn.params[0]!);
      }
      removeUnreachableBlocks(fn);
      return "removeUnreachableBlocks";
    }
  }
  return "skip";
}

/** The errors other than SSA dominance ones (which random operands are free to cause). */
function consistencyErrors(fn: Function): VerifierError[] {
  return verifyFunction(fn).filter((e) => !SSA_ONLY.has(e.check));
}

/**
 * Every value's `uses`, as sorted `user:index` strings, against a recomputation from the
 * linked instructions' operands (independently of the verifier, which reads the lists
 * through the same internal accessors); "" when they agree.
 */
function usesDiffer(fn: Function): string {
  const want = new Map<Value, string[]>();
  const values = new Set<Value>([...fn.params, ...fn.allConstants()]);
  for (const i of fn.instructions()) {
    values.add(i);
    i.operands.forEach((v, k) => {
      values.add(v);
      want.set(v, [...(want.get(v) ?? []), `${i.id}:${k}`]);
    });
  }
  for (const v of values) {
    const got = v.uses.map((u) => `${u.user.id}:${u.index}`).sort();
    const exp = (want.get(v) ?? []).sort();
    if (got.join() !== exp.join() || v.useCount !== exp.length || v.hasUses !== exp.length > 0) return `%${v.id}: uses ${got.join()} (count ${v.useCount}), operands say ${exp.join()}`;
  }
  return "";
}

describe("users and predecessor lists under random mutations", () => {
  it("stay equal to a recomputation after every step", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.array(arbBlock, { minLength: 1, maxLength: 8, size: "max" }), fc.array(arbStep, { minLength: 1, maxLength: 40, size: "max" }), (specs, steps) => {
        const fn = build(specs);
        expect(consistencyErrors(fn)).toEqual([]);
        for (const step of steps) {
          const what = mutate(fn, step);
          seen.add(what);
          const errors = consistencyErrors(fn);
          if (errors.length > 0) throw new Error(`after ${what}: ${JSON.stringify(errors, null, 1)}`);
          const differ = usesDiffer(fn);
          if (differ) throw new Error(`after ${what}: ${differ}`);
        }
      }),
      { numRuns: 400 },
    );
    // Every mutation kind was exercised.
    expect([...seen].sort()).toEqual(
      [
        "appendOperand",
        "erase",
        "foldConditionalBranch",
        "moveAfter",
        "moveBefore",
        "redirectBranch",
        "removeOperand",
        "removeUnreachableBlocks",
        "replaceAllUsesWith",
        "setOperand",
        "skip",
        "splitBlock",
        "splitEdge",
      ].sort(),
    );
  });

  it("the property can fail: a corrupted users list is caught at once", () => {
    fc.assert(
      fc.property(fc.array(arbBlock, { minLength: 1, maxLength: 5 }), fc.nat(), (specs, k) => {
        const fn = build(specs);
        const withOperands = [...fn.instructions()].filter((i) => i.operands.length > 0);
        const inst = pick(withOperands, k);
        if (!inst) return;
        const v = inst.operands[0]!;
        // Drop the Use entry behind setOperand's back.
        v.detachUse(inst, 0);
        const errors = consistencyErrors(fn);
        expect(errors.map((e) => e.check)).toEqual(["users"]);
        expect(errors[0]!.instruction).toBe(inst.id);
      }),
      { numRuns: 100 },
    );
  });

  it("the recomputation can fail: an entry detached behind setOperand's back is seen", () => {
    const fn = new Function("f", [i64, i64], i64);
    const B = new Builder(fn);
    B.atEnd(fn.createBlock());
    const x = B.add(fn.params[0]!, fn.params[1]!);
    B.ret(x);
    expect(usesDiffer(fn)).toBe("");
    fn.params[1]!.detachUse(x, 1);
    expect(usesDiffer(fn)).toMatch(/^%1: uses {2}\(count 0\)/);
  });

  it("one instruction holding a value in several slots: every order of replacing and removing them", () => {
    // The users list keeps a value's only user alone, its slot found from the user's
    // operands 0 and 1: these sequences move a value between those slots of one instruction.
    for (let seq = 0; seq < 3 ** 5; seq++) {
      const fn = new Function("f", [i64, i64], i64);
      const a: Value = fn.params[0]!;
      const b: Value = fn.params[1]!;
      const bb = fn.createBlock();
      const B = new Builder(fn);
      B.atEnd(bb);
      const call = fn.createInstruction("call", i64, i64, [b, a, a], { helper: 1 });
      bb.append(call);
      B.ret(call);
      for (let s = seq, k = 0; k < 5; k++, s = Math.floor(s / 3)) {
        const slot = (s + k) % call.operands.length;
        if (s % 3 === 0) call.setOperand(slot, call.operands[slot] === a ? b : a);
        else if (s % 3 === 1 && call.operands.length > 1) call.removeOperand(slot);
        else if (call.operands.length < 5) call.appendOperand(k % 2 ? a : b);
        else call.setOperand(slot, b);
        expect(usesDiffer(fn)).toBe("");
        expect(consistencyErrors(fn)).toEqual([]);
      }
      a.replaceAllUsesWith(b);
      expect(a.hasUses).toBe(false);
      expect(usesDiffer(fn)).toBe("");
    }
  });

  it("the property can fail: a stale predecessor is caught at once", () => {
    const fn = build([
      { term: 1, t: 0, f: 0, phis: 0, ops: [] },
      { term: 0, t: 0, f: 0, phis: 0, ops: [] },
    ]);
    const [entry, exit] = fn.blocks as [BasicBlock, BasicBlock];
    exit.preds.push(entry);
    expect(consistencyErrors(fn).map((e) => e.check)).toEqual(["predecessors"]);
  });
});

describe("discardBody", () => {
  it("leaves the signature and nothing that reaches an instruction", () => {
    const fn = new Function("f", [i64, i64], i64);
    fn.params[1]!.name = "n";
    const b = new Builder(fn);
    b.atEnd(fn.createBlock());
    const sum = b.add(fn.params[0]!, b.add(fn.params[1]!, fn.constant(i64, 7)));
    b.ret(sum);
    expect(fn.params[0]!.uses.length).toBe(1);
    fn.discardBody();
    expect(fn.blocks).toEqual([]);
    expect(fn.instructionCount).toBe(0);
    expect(fn.allConstants()).toEqual([]);
    expect(fn.params.map((p) => [p.type, p.name, p.uses.length])).toEqual([
      [i64, undefined, 0],
      [i64, "n", 0],
    ]);
    expect([fn.name, fn.returnType]).toEqual(["f", i64]);
  });
});
