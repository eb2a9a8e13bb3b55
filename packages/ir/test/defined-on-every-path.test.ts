// "Every value used is defined on every path that reaches the use" is what the verifier's
// SSA checks establish together: `foreign-values` (the definition is linked into this
// function at all), `ssa-dominance` (the definition dominates the use: every path from the
// entry to the use passes it; for a phi operand, to the end of the incoming block) and
// `unreachable-code` (reachable code uses nothing defined only in unreachable blocks).
// These are the shapes a broken SSA construction produces (issue 17: `ret %25` with %25
// never defined reached the kernel); each must be reported.
import { describe, expect, it } from "vitest";
import { Builder } from "../src/builder.js";
import { Function } from "../src/core.js";
import { i64 } from "../src/types.js";
import { verifyFunction } from "../src/verify.js";

function checksOf(fn: Function): string[] {
  return verifyFunction(fn).map((e) => e.check);
}

/** entry → (then | else) → join → ret; `x` is defined in `then` only. */
function diamond() {
  const fn = new Function("f", [i64], i64);
  const [entry, then, other, join] = [fn.createBlock(), fn.createBlock(), fn.createBlock(), fn.createBlock()];
  const b = new Builder(fn);
  const p = fn.params[0]!;
  b.atEnd(entry).condBr(b.compare("sgt", p, b.const(3)), then, other);
  const x = b.atEnd(then).add(p, b.const(1));
  b.br(join);
  b.atEnd(other).br(join);
  b.atEnd(join);
  return { fn, b, p, then, other, join, x };
}

describe("every value used is defined on every path", () => {
  it("a use of a value that is defined on one arm only", () => {
    const { fn, b, x } = diamond();
    b.ret(x);
    expect(checksOf(fn)).toEqual(["ssa-dominance"]);
  });

  it("a phi operand defined on the other arm", () => {
    const { fn, b, x, then, other, p } = diamond();
    const phi = b.phi(i64);
    phi.addIncoming(p, then);
    phi.addIncoming(x, other);
    b.ret(phi);
    expect(checksOf(fn)).toEqual(["ssa-dominance"]);
  });

  it("a use of a phi that is in no block (erased)", () => {
    const { fn, b, join } = diamond();
    const ghost = b.phi(i64, join);
    ghost.unlink();
    b.atEnd(join).ret(ghost);
    expect(checksOf(fn)).toEqual(["foreign-values"]);
  });

  it("a loop-carried value read in the header before the body defines it", () => {
    const fn = new Function("g", [i64], i64);
    const [entry, header, body, exit] = [fn.createBlock(), fn.createBlock(), fn.createBlock(), fn.createBlock()];
    const b = new Builder(fn);
    const p = fn.params[0]!;
    b.atEnd(entry).br(header);
    b.atEnd(header);
    const i = b.phi(i64);
    const late = b.atEnd(body).add(i, b.const(1));
    const cond = b.atEnd(header).compare("slt", late, p); // uses the body's value on the entry path
    b.condBr(cond, body, exit);
    b.atEnd(body).br(header);
    i.addIncoming(b.const(0), entry);
    i.addIncoming(late, body);
    b.atEnd(exit).ret(i);
    expect(checksOf(fn)).toEqual(["ssa-dominance"]);
  });

  it("reachable code using a value of an unreachable block", () => {
    const { fn, b, join } = diamond();
    const dead = fn.createBlock();
    const y = b.atEnd(dead).add(fn.params[0]!, b.const(2));
    b.br(join);
    const phi = b.atEnd(join).phi(i64);
    for (const pred of join.preds) phi.addIncoming(pred === dead ? y : b.const(0), pred);
    b.atEnd(join).ret(b.add(phi, y));
    expect(checksOf(fn)).toEqual(["unreachable-code"]);
  });
});
