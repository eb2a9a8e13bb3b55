/**
 * Small IR functions that many tests start from: a diamond (branch, two arms, join with a
 * phi) and loops (a counting loop with one or two loop-carried phis). Each returns the
 * function, its blocks and its interesting values, so a test can break or transform one
 * part and check what follows.
 */
import { Builder, Function, i64, Module } from "@luabpf/ir";

/** `diamond(a: i64, b: i64) -> i64` in `m`: entry branches on `a < b`, two arms, join with a phi. */
export function diamond(m = new Module()) {
  const fn = m.addFunction("diamond", [i64, i64], i64);
  const [a, b] = [fn.params[0]!, fn.params[1]!];
  const [entry, left, right, join] = [fn.createBlock(), fn.createBlock(), fn.createBlock(), fn.createBlock()];
  const B = new Builder(fn);
  B.atEnd(entry);
  const c = B.compare("ult", a, b);
  B.condBr(c, left, right);
  B.atEnd(left);
  const x = B.add(a, B.const(1));
  B.br(join);
  B.atEnd(right);
  const y = B.mul(b, B.const(2));
  B.br(join);
  B.atEnd(join);
  const phi = B.phi(i64);
  phi.addIncoming(x, left);
  phi.addIncoming(y, right);
  const r = B.sub(phi, a);
  B.ret(r);
  return { m, fn, a, b, entry, left, right, join, c, x, y, phi, r, B };
}

/** `loop(n: i64) -> i64`: `for (i = 0; i < n; i++); return i` — one loop-carried phi. */
export function countingLoop() {
  const fn = new Function("loop", [i64], i64);
  const n = fn.params[0]!;
  const [entry, header, body, exit] = [fn.createBlock(), fn.createBlock(), fn.createBlock(), fn.createBlock()];
  const B = new Builder(fn);
  B.atEnd(entry).br(header);
  B.atEnd(header);
  const i = B.phi(i64);
  const cond = B.compare("slt", i, n);
  B.condBr(cond, body, exit);
  B.atEnd(body);
  const i2 = B.add(i, B.const(1));
  B.br(header);
  i.addIncoming(B.const(0), entry);
  i.addIncoming(i2, body);
  B.atEnd(exit).ret(i);
  return { fn, n, entry, header, body, exit, i, i2, cond, B };
}

/** `loop(n: i64) -> i64` in `m`: `for (i = 0, s = 0; i < n; i++) s += i; return s` — two loop-carried phis. */
export function summingLoop(m = new Module()) {
  const fn = m.addFunction("loop", [i64], i64);
  const n = fn.params[0]!;
  const [entry, header, body, exit] = [fn.createBlock(), fn.createBlock(), fn.createBlock(), fn.createBlock()];
  const B = new Builder(fn);
  B.atEnd(entry).br(header);
  B.atEnd(header);
  const i = B.phi(i64);
  const s = B.phi(i64);
  const cond = B.compare("slt", i, n);
  B.condBr(cond, body, exit);
  B.atEnd(body);
  const s2 = B.add(s, i);
  const i2 = B.add(i, B.const(1));
  B.br(header);
  i.addIncoming(B.const(0), entry);
  i.addIncoming(i2, body);
  s.addIncoming(B.const(0), entry);
  s.addIncoming(s2, body);
  B.atEnd(exit).ret(s);
  return { m, fn, n, entry, header, body, exit, i, s, i2, s2, cond, B };
}

/**
 * `sum(n) = 1 + 2 + ... + n` as IR text, a loop whose blocks (`@bb0` entry, `@bb1` header,
 * `@bb2` body, `@bb3` exit) and values tests name: `%2` the counter, `%3` the sum, `%6`
 * the loop condition, `%4`/`%5` the next sum and counter.
 */
export const SUM_LOOP_TEXT = `
func @sum(i64 %0) -> i64 {
@bb0:
  br @bb1
@bb1:
  %2 = phi i64 [1, @bb0], [%5, @bb2]
  %3 = phi i64 [0, @bb0], [%4, @bb2]
  %6 = ule i64 %2, %0
  condbr %6, @bb2, @bb3
@bb2:
  %4 = add i64 %3, %2
  %5 = add i64 %2, 1
  br @bb1
@bb3:
  ret %3
}`;
