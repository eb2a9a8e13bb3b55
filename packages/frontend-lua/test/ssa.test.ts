/**
 * The Braun et al. SSA builder on hand-built CFGs: phis at joins, trivial phis removed,
 * incomplete phis in unsealed loop headers completed (and removed when trivial, with the
 * removal cascading to the phis that used them).
 */
import { Builder, Function, i64, isInstruction, printFunction, verifyFunction, type BasicBlock, type Value } from "@luabpf/ir";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { SsaBuilder } from "../src/ssa.js";

function setup() {
  const fn = new Function("f", [i64], i64);
  const b = new Builder(fn);
  const ssa = new SsaBuilder(fn);
  return { fn, b, ssa, p: fn.params[0]! };
}

describe("SsaBuilder", () => {
  test("a join of two different definitions gets a phi; equal ones do not", () => {
    const { fn, b, ssa, p } = setup();
    const x = ssa.newVariable(i64, "x");
    const y = ssa.newVariable(i64, "y");
    const [entry, then, other, join] = [fn.createBlock(), fn.createBlock(), fn.createBlock(), fn.createBlock()];
    ssa.seal(entry);
    ssa.write(y, entry, p);
    b.atEnd(entry).condBr(p, then, other);
    ssa.seal(then);
    ssa.seal(other);
    ssa.write(x, then, b.const(1));
    b.atEnd(then).br(join);
    ssa.write(x, other, b.const(2));
    b.atEnd(other).br(join);
    ssa.seal(join);
    const vx = ssa.read(x, join);
    const vy = ssa.read(y, join);
    expect(isInstruction(vx, "phi")).toBe(true);
    expect(vy).toBe(p);
    b.atEnd(join).ret(b.add(vx, vy));
    expect(verifyFunction(fn)).toEqual([]);
    expect(join.phis()).toHaveLength(1);
  });

  test("an incomplete phi of a loop header is removed when the loop does not change the variable", () => {
    const { fn, b, ssa, p } = setup();
    const x = ssa.newVariable(i64, "x");
    const i = ssa.newVariable(i64, "i");
    const [entry, header, body, exit] = [fn.createBlock(), fn.createBlock(), fn.createBlock(), fn.createBlock()];
    ssa.seal(entry);
    ssa.write(x, entry, p);
    ssa.write(i, entry, b.const(0));
    b.atEnd(entry).br(header);
    // Header not sealed: the back edge does not exist yet.
    const iv = ssa.read(i, header);
    const xv = ssa.read(x, header);
    const cond = b.atEnd(header).compare("slt", iv, xv);
    b.condBr(cond, body, exit);
    ssa.seal(body);
    ssa.write(i, body, b.atEnd(body).add(ssa.read(i, body), b.const(1)));
    b.br(header);
    ssa.seal(header);
    ssa.seal(exit);
    b.atEnd(exit).ret(ssa.read(i, exit));
    expect(header.phis()).toHaveLength(1); // i only; x's phi was trivial
    expect(cond.operand(1)).toBe(p); // the use of x's phi now uses p
    expect(verifyFunction(fn)).toEqual([]);
  });

  test("trivial phi removal cascades through nested loops", () => {
    const { fn, b, ssa, p } = setup();
    const x = ssa.newVariable(i64, "x");
    const [entry, outer, inner, innerBody, innerExit, exit] = [1, 2, 3, 4, 5, 6].map(() => fn.createBlock());
    ssa.seal(entry!);
    ssa.write(x, entry!, p);
    b.atEnd(entry!).br(outer!);
    b.atEnd(outer!).br(inner!);
    b.atEnd(inner!).condBr(p, innerBody!, innerExit!);
    ssa.seal(innerBody!);
    // Reads through the unsealed inner and outer headers: two incomplete phis.
    const use = b.atEnd(innerBody!).add(ssa.read(x, innerBody!), b.const(1));
    expect(use.operand(0).kind).toBe("instruction");
    b.condBr(use, inner!, innerExit!);
    ssa.seal(inner!);
    ssa.seal(innerExit!);
    b.atEnd(innerExit!).condBr(p, outer!, exit!);
    ssa.seal(outer!);
    ssa.seal(exit!);
    b.atEnd(exit!).ret(ssa.read(x, exit!));
    expect(fn.blocks.flatMap((bb) => bb.phis())).toHaveLength(0);
    expect(use.operand(0)).toBe(p);
    expect(verifyFunction(fn)).toEqual([]);
  });

  test("reads in blocks without predecessors see the variable's undefined value", () => {
    const { fn, b, ssa } = setup();
    const x = ssa.newVariable(i64, "x", fn.constant(i64, 3));
    const dead = fn.createBlock();
    ssa.seal(dead);
    expect(ssa.read(x, dead)).toBe(b.const(3));
  });

  test("a cycle of single-predecessor blocks without a definition (a loop that never runs) reads as undefined", () => {
    const { fn, b, ssa } = setup();
    const x = ssa.newVariable(i64, "x", fn.constant(i64, 7));
    const [entry, header, body] = [fn.createBlock(), fn.createBlock(), fn.createBlock()];
    ssa.seal(entry);
    ssa.write(x, entry, b.const(1));
    b.atEnd(entry).ret(b.const(0));
    // header <- body <- header: reachable from nowhere, each with one predecessor.
    b.atEnd(header).br(body);
    b.atEnd(body).br(header);
    ssa.seal(header);
    ssa.seal(body);
    expect(ssa.read(x, body)).toBe(b.const(7));
    expect(ssa.read(x, header)).toBe(b.const(7));
  });

  test("a phi still collecting operands is not removed when another phi's removal cascades into it", () => {
    // Nested loops whose headers are sealed; the read at the outer exit places phis in
    // both headers, and the inner one becomes trivial while the outer one is half filled.
    const { fn, b, ssa, p } = setup();
    const x = ssa.newVariable(i64, "x");
    const [entry, outer, inner, innerBody, latch, exit] = [1, 2, 3, 4, 5, 6].map(() => fn.createBlock());
    ssa.seal(entry!);
    ssa.write(x, entry!, p);
    b.atEnd(entry!).br(outer!);
    b.atEnd(outer!).condBr(p, inner!, exit!);
    b.atEnd(inner!).condBr(p, innerBody!, latch!);
    b.atEnd(innerBody!).br(inner!);
    ssa.write(x, latch!, b.atEnd(latch!).add(p, b.const(1)));
    b.br(outer!);
    for (const bb of [outer, inner, innerBody, latch, exit]) ssa.seal(bb!);
    const v = ssa.read(x, exit!);
    b.atEnd(exit!).ret(v);
    expect(verifyFunction(fn)).toEqual([]);
    expect(isInstruction(v, "phi")).toBe(true);
    expect(inner!.phis()).toHaveLength(0);
    expect(outer!.phis()).toHaveLength(1);
  });

  test("reads walk long chains of blocks without recursion", () => {
    const { fn, b, ssa, p } = setup();
    const x = ssa.newVariable(i64, "x");
    const entry = fn.createBlock();
    ssa.seal(entry);
    ssa.write(x, entry, p);
    let cur = entry;
    // 20,000 diamonds: a recursive walk would overflow the stack.
    for (let k = 0; k < 20_000; k++) {
      const [l, r, join] = [fn.createBlock(), fn.createBlock(), fn.createBlock()];
      b.atEnd(cur).condBr(p, l, r);
      b.atEnd(l).br(join);
      b.atEnd(r).br(join);
      for (const bb of [l, r, join]) ssa.seal(bb);
      cur = join;
    }
    expect(ssa.read(x, cur)).toBe(p);
    expect(fn.blocks.flatMap((bb) => bb.phis())).toHaveLength(0);
  });
});

/** A structured program for {@link buildFunction}: what each statement does to three variables. */
type Stmt =
  | { readonly kind: "write"; readonly variable: number; readonly constant: number }
  | { readonly kind: "use"; readonly variable: number }
  | { readonly kind: "if"; readonly then: Stmt[]; readonly otherwise: Stmt[] }
  | { readonly kind: "loop"; readonly body: Stmt[] }
  | { readonly kind: "return" };

const VARIABLES = 3;

const stmts: fc.Arbitrary<Stmt[]> = fc.letrec<{ list: Stmt[]; stmt: Stmt }>((tie) => ({
  list: fc.array(tie("stmt"), { maxLength: 5 }),
  stmt: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ kind: fc.constant("write" as const), variable: fc.nat(VARIABLES - 1), constant: fc.nat(3) }),
    fc.record({ kind: fc.constant("use" as const), variable: fc.nat(VARIABLES - 1) }),
    fc.record({ kind: fc.constant("if" as const), then: tie("list"), otherwise: tie("list") }),
    fc.record({ kind: fc.constant("loop" as const), body: tie("list") }),
    fc.constant({ kind: "return" as const }),
  ),
})).list;

/**
 * Lowers `program` as body.ts does (joins sealed after their branches, loop headers after
 * the back edge, code after a return in a block nothing reaches); each `use` adds the
 * variable to a running sum, returned at the end.
 */
function buildFunction(program: Stmt[], placePhisFirst: boolean): Function {
  const fn = new Function("f", [i64], i64);
  const b = new Builder(fn);
  const ssa = new SsaBuilder(fn, { placePhisFirst });
  const p = fn.params[0]!;
  const vars = Array.from({ length: VARIABLES }, (_, k) => ssa.newVariable(i64, `v${k}`));
  const sum = ssa.newVariable(i64, "sum");
  let cur = fn.createBlock();
  ssa.seal(cur);
  for (const v of [...vars, sum]) ssa.write(v, cur, p);
  const dead = (bb: BasicBlock): boolean => bb !== fn.entry && bb.preds.length === 0;
  const jump = (to: BasicBlock): void => {
    if (!dead(cur)) b.atEnd(cur).br(to);
  };
  const branch = (cond: Value, t: BasicBlock, f: BasicBlock): void => {
    if (!dead(cur)) b.atEnd(cur).condBr(cond, t, f);
  };
  const lower = (list: Stmt[]): void => {
    for (const s of list) {
      switch (s.kind) {
        case "write":
          ssa.write(vars[s.variable]!, cur, s.constant === 0 ? p : b.atEnd(cur).add(p, b.const(s.constant)));
          break;
        case "use":
          ssa.write(sum, cur, b.atEnd(cur).add(ssa.read(sum, cur), ssa.read(vars[s.variable]!, cur)));
          break;
        case "if": {
          const [t, f, join] = [fn.createBlock(), fn.createBlock(), fn.createBlock()];
          branch(p, t, f);
          ssa.seal(t);
          ssa.seal(f);
          cur = t;
          lower(s.then);
          jump(join);
          cur = f;
          lower(s.otherwise);
          jump(join);
          ssa.seal(join);
          cur = join;
          break;
        }
        case "loop": {
          const [header, body, exit] = [fn.createBlock(), fn.createBlock(), fn.createBlock()];
          jump(header);
          cur = header;
          branch(b.atEnd(header).compare("slt", ssa.read(sum, header), p), body, exit);
          ssa.seal(body);
          cur = body;
          lower(s.body);
          jump(header);
          ssa.seal(header);
          ssa.seal(exit);
          cur = exit;
          break;
        }
        case "return":
          if (!dead(cur)) b.atEnd(cur).ret(ssa.read(sum, cur));
          cur = fn.createBlock();
          ssa.seal(cur);
          break;
      }
    }
  };
  lower(program);
  b.atEnd(cur).ret(ssa.read(sum, cur));
  return fn;
}

describe("SsaBuilder's joins without a phi first", () => {
  test("build the same function, value ids included, as placing every phi first", () => {
    fc.assert(
      fc.property(stmts, (program) => {
        const fast = buildFunction(program, false);
        const paper = buildFunction(program, true);
        expect(printFunction(fast)).toBe(printFunction(paper));
        expect(fast.valueIdBound).toBe(paper.valueIdBound);
      }),
      { numRuns: 400 },
    );
  });
});
