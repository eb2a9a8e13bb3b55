// The verifier on a large function: no recursion that a long chain of blocks could overflow.
// (Its linear cost is measured by `npm run bench:speed`'s scaling table, not by a timed test.)
import { expect, it } from "vitest";
import { Builder } from "../src/builder.js";
import { Function, type Value } from "../src/core.js";
import { i64 } from "../src/types.js";
import { verifyFunction } from "../src/verify.js";

it("verifies a function of 37.5k blocks (a chain of diamonds) without errors", () => {
  const fn = new Function("big", [i64], i64);
  const B = new Builder(fn);
  let bb = fn.createBlock();
  let acc: Value = fn.params[0]!;
  for (let k = 0; k < 12_500; k++) {
    const [t, f, j] = [fn.createBlock(), fn.createBlock(), fn.createBlock()];
    B.atEnd(bb).condBr(acc, t, f);
    B.atEnd(t);
    const x = B.add(acc, B.const(1));
    B.br(j);
    B.atEnd(f);
    const y = B.sub(acc, B.const(1));
    B.br(j);
    B.atEnd(j);
    const p = B.phi(i64);
    p.addIncoming(x, t);
    p.addIncoming(y, f);
    acc = B.add(p, fn.params[0]!);
    bb = j;
  }
  B.atEnd(bb).ret(acc);
  expect(fn.blocks.length).toBe(37_501);
  expect(verifyFunction(fn)).toEqual([]);
});
