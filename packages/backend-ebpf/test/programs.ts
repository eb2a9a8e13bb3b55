/**
 * Hand-built IR programs for the register-allocation tests: a phi swap in a loop, the
 * lost-copy shape, and call-heavy programs with more values live across helper calls
 * than the call-preserved registers r6–r9 can hold.
 */
import { Builder, i32, i64, i8, Module, ptrType, type Value } from "@luabpf/ir";

/** Adds `@prog(ctx) -> i64` (tc) to a fresh module with map `@h` (hash i64 → i64). */
function programModule(): { m: Module; b: Builder; ctx: Value; fn: ReturnType<Module["addFunction"]> } {
  const m = new Module();
  m.license = "GPL";
  m.addMap({ name: "h", kind: "hash", key: i64, value: i64, maxEntries: 8, flags: 0 });
  const fn = m.addFunction("prog", [ptrType("ctx")], i64);
  fn.program = { section: "tc", type: "sched_cls" };
  const b = new Builder(fn);
  b.atEnd(fn.createBlock());
  return { m, b, ctx: fn.params[0]!, fn };
}

/**
 * The swap problem: `a, b = b, a` every iteration via phis (a parallel copy cycle on
 * the back edge), plus the lost-copy shape: the phi `a` is used after the loop, where a
 * naive copy placement on the back edge would already have overwritten it.
 * Returns `a * 1000 + b * 10 + i` after `n` iterations starting from a = x, b = y
 * (x, y packet bytes 12 and 13).
 */
export function swapLoop(n: number): Module {
  const { m, b, ctx, fn } = programModule();
  const pre = fn.entry!;
  const x = b.cast("zext", b.pktLoad(i8, ctx, b.const(0), 12), i64);
  const y = b.cast("zext", b.pktLoad(i8, ctx, b.const(0), 13), i64);
  const h = fn.createBlock();
  const exit = fn.createBlock();
  b.br(h);
  b.atEnd(h);
  const a = b.phi(i64, h);
  const bb = b.phi(i64, h);
  const i = b.phi(i64, h);
  const c3 = b.phi(i64, h);
  const c2 = b.phi(i64, h);
  const c1 = b.phi(i64, h);
  a.addIncoming(x, pre);
  bb.addIncoming(y, pre);
  i.addIncoming(b.const(0), pre);
  // A 3-cycle too: c1 → c2 → c3 → c1.
  c1.addIncoming(b.const(1), pre);
  c2.addIncoming(b.const(2), pre);
  c3.addIncoming(b.const(3), pre);
  const i1 = b.add(i, b.const(1));
  a.addIncoming(bb, h);
  bb.addIncoming(a, h);
  i.addIncoming(i1, h);
  c1.addIncoming(c3, h);
  c2.addIncoming(c1, h);
  c3.addIncoming(c2, h);
  b.condBr(b.compare("ult", i1, b.const(n)), h, exit);
  b.atEnd(exit);
  let r = b.add(b.mul(a, b.const(1000)), b.mul(bb, b.const(10)));
  r = b.add(r, i1);
  r = b.add(b.mul(r, b.const(10)), b.add(b.mul(c1, b.const(100)), b.add(b.mul(c2, b.const(10)), c3)));
  b.ret(r);
  return m;
}

/**
 * `n` values loaded from the packet stay live across `calls` helper calls (map update and
 * lookup of @h, and the clock) and are summed at the end with distinct weights, plus the
 * looked-up value. With n > 4 they cannot all sit in r6–r9. `stackBytes` adds an alloca
 * of that size (to push the frame past 512 bytes).
 */
export function liveAcrossCalls(n: number, calls: number, stackBytes = 0): Module {
  const { m, b, ctx, fn } = programModule();
  const vs: Value[] = [];
  for (let k = 0; k < n; k++) vs.push(b.cast("zext", b.pktLoad(i8, ctx, b.const(0), 14 + k), i64));
  if (stackBytes > 0) b.store(b.const(1, i32), b.alloca(stackBytes, 8));
  const key = b.alloca(8);
  const val = b.alloca(8);
  let acc: Value = b.const(0);
  for (let c = 0; c < calls; c++) {
    b.store(b.const(c & 3), key);
    b.store(b.add(vs[c % n]!, b.const(c)), val);
    b.callHelper(2, [b.mapRef("h"), key, val, b.const(0)]);
    b.callHelper(5, []);
    const p = b.callHelper(1, [b.mapRef("h"), key], ptrType("map_value"));
    const hit = fn.createBlock();
    const join = fn.createBlock();
    const from = b.block;
    b.condBr(b.compare("ne", p, fn.constant(ptrType("map_value"), 0n)), hit, join);
    b.atEnd(hit);
    const got = b.load(i64, p);
    b.br(join);
    b.atEnd(join);
    const phi = b.phi(i64, join);
    phi.addIncoming(got, hit);
    phi.addIncoming(b.const(0), from);
    acc = b.add(acc, phi);
  }
  for (let k = 0; k < n; k++) acc = b.add(acc, b.mul(vs[k]!, b.const(k + 1)));
  b.ret(b.and(acc, b.const(0x7fffffff)));
  return m;
}
