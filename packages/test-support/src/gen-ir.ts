/**
 * Random executable IR programs for differential tests of the backend (IR interpreter vs
 * compiled, register-allocated code on the VM or the kernel). Each program is a `tc`
 * function over a structured CFG — straight arithmetic on i8..i64, diamonds joined by phis,
 * counted loops whose phis swap and rotate values (the swap and lost-copy problems of
 * leaving SSA), helper calls (clock, map update/lookup with a null check, atomic add),
 * packet loads and stack traffic — that ends by folding every value it made into the
 * return value, so many values stay live across calls and loops (register pressure).
 *
 * Choices come from a tape of numbers (fast-check shrinks it); an exhausted tape reads
 * zeros.
 */
import {
  Builder, i16, i32, i64, i8, Module, ptrType,
  type BasicBlock, type BinaryOpcode, type CompareOpcode, type Function as IrFunction, type IntType, type Value,
} from "@luabpf/ir";
import { BPF_FUNC, UpdateFlag } from "@luabpf/platform";
import { Tape } from "./tape.js";

const BINARY: BinaryOpcode[] = ["add", "sub", "mul", "udiv", "sdiv", "urem", "srem", "and", "or", "xor", "shl", "lshr", "ashr"];
const COMPARE: CompareOpcode[] = ["eq", "ne", "ult", "ule", "ugt", "uge", "slt", "sle", "sgt", "sge"];
const TYPES: IntType[] = [i64, i64, i64, i32, i16, i8];
const CONSTANTS = [0n, 1n, -1n, 2n, 3n, 7n, 63n, 64n, 255n, -128n, 0x7fffffffn, -(2n ** 31n), 2n ** 32n - 1n, 2n ** 63n - 1n, -(2n ** 63n), 0x123456789abcdefn];

type Pool = Map<IntType, Value[]>;
const clonePool = (p: Pool): Pool => new Map([...p].map(([t, vs]) => [t, [...vs]]));

export interface GenOptions {
  /** Segments (default up to 6). */
  maxSegments?: number;
  /** Allow helper calls (default true). */
  calls?: boolean;
  /** Allow the clock helper, whose value only the interpreter and VM fix (default true). */
  clock?: boolean;
}

/** A module with maps `@h` (hash i64→i64) and `@a` (array i32→i64) and program `@prog`. */
export function genProgram(choices: readonly number[], options: GenOptions = {}): Module {
  const t = new Tape(choices);
  const m = new Module();
  m.license = "GPL";
  m.addMap({ name: "h", kind: "hash", key: i64, value: i64, maxEntries: 8, flags: 0 });
  m.addMap({ name: "a", kind: "array", key: i32, value: i64, maxEntries: 4, flags: 0 });
  const fn: IrFunction = m.addFunction("prog", [ptrType("ctx")], i64);
  fn.program = { section: "tc", type: "sched_cls" };
  const ctx = fn.params[0]!;
  const b = new Builder(fn);
  let cur: BasicBlock = fn.createBlock();
  b.atEnd(cur);
  let pool: Pool = new Map(TYPES.map((ty) => [ty, []]));
  const add = (v: Value): Value => (pool.get(v.type as IntType)?.push(v), v);
  const konst = (ty: IntType): Value => fn.constant(ty, t.pick(CONSTANTS));
  const value = (ty: IntType): Value => {
    const vs = pool.get(ty)!;
    return vs.length > 0 && t.below(5) !== 0 ? t.pick(vs) : konst(ty);
  };
  const anyType = (): IntType => t.pick(TYPES);
  const newBlock = (): BasicBlock => fn.createBlock();

  const arith = (n: number): void => {
    for (let k = 0; k < n; k++) {
      const ty = anyType();
      switch (t.below(6)) {
        case 0:
        case 1:
        case 2:
          add(b.binary(t.pick(BINARY), value(ty), value(ty)));
          break;
        case 3: {
          const op = t.pick(["neg", "not", "bswap"] as const);
          if (op === "bswap" && ty.bits < 16) add(b.unary("neg", value(ty)));
          else add(b.unary(op, value(ty)));
          break;
        }
        case 4: {
          const to = anyType();
          if (to.bits > ty.bits) add(b.cast(t.below(2) ? "zext" : "sext", value(ty), to));
          else if (to.bits < ty.bits) add(b.cast("trunc", value(ty), to));
          else add(b.copy(value(ty)));
          break;
        }
        default: {
          const c = add(b.compare(t.pick(COMPARE), value(ty), value(ty)));
          const ty2 = anyType();
          add(b.select(c, value(ty2), value(ty2)));
        }
      }
    }
  };

  /** Joins two arms: phis for a few values of each type. */
  const join = (before: Pool, left: [BasicBlock, Pool], right: [BasicBlock, Pool]): void => {
    const j = newBlock();
    b.atEnd(left[0]).br(j);
    b.atEnd(right[0]).br(j);
    b.atEnd(j);
    pool = before;
    for (let k = 1 + t.below(4); k > 0; k--) {
      const ty = anyType();
      const phi = b.phi(ty, j);
      pool = left[1];
      phi.addIncoming(value(ty), left[0]);
      pool = right[1];
      phi.addIncoming(value(ty), right[0]);
      pool = before;
      add(phi);
    }
    cur = j;
  };

  const diamond = (): void => {
    const ty = anyType();
    const c = b.compare(t.pick(COMPARE), value(ty), value(ty));
    const [l, r] = [newBlock(), newBlock()];
    b.condBr(c, l, r);
    const before = clonePool(pool);
    pool = clonePool(before);
    b.atEnd(l);
    arith(t.below(4));
    const lp = pool;
    pool = clonePool(before);
    b.atEnd(r);
    arith(t.below(4));
    const rp = pool;
    join(before, [l, lp], [r, rp]);
  };

  const loop = (): void => {
    const pre = cur;
    const h = newBlock();
    b.br(h);
    b.atEnd(h);
    const i = b.phi(i64, h);
    i.addIncoming(fn.constant(i64, 0n), pre);
    // Loop-carried values, rotated or swapped each iteration.
    const n = 2 + t.below(4);
    const ty = t.below(3) === 0 ? anyType() : i64;
    const phis = Array.from({ length: n }, () => b.phi(ty, h));
    phis.forEach((p) => p.addIncoming(value(ty), pre));
    for (const p of phis) add(p);
    add(i);
    arith(t.below(4));
    const rot = 1 + t.below(n - 1);
    phis.forEach((p, k) => {
      // Mostly a pure rotation (a parallel copy cycle), sometimes through arithmetic.
      const next = t.below(4) === 0 ? b.binary("add", phis[(k + rot) % n]!, value(ty)) : phis[(k + rot) % n]!;
      p.addIncoming(next, h);
    });
    const i1 = b.add(i, fn.constant(i64, 1n));
    const c = b.compare("ult", i1, fn.constant(i64, BigInt(1 + t.below(6))));
    i.addIncoming(i1, h);
    const exit = newBlock();
    b.condBr(c, h, exit);
    cur = exit;
    b.atEnd(exit);
  };

  const call = (): void => {
    let choice = t.below(4);
    if (choice === 0 && options.clock === false) choice = 1; // a map update instead
    switch (choice) {
      case 0:
        add(b.callHelper(BPF_FUNC.ktime_get_ns, []));
        break;
      case 1: {
        const key = b.alloca(8);
        b.store(b.cast("zext", b.binary("and", value(i8), fn.constant(i8, 7n)), i64), key);
        const val = b.alloca(8);
        b.store(value(i64), val);
        add(b.callHelper(BPF_FUNC.map_update_elem, [b.mapRef("h"), key, val, fn.constant(i64, BigInt(UpdateFlag.ANY))]));
        break;
      }
      default: {
        const map = t.below(2) ? "a" : "h";
        const k = b.alloca(8);
        if (map === "a") b.store(b.binary("and", value(i32), fn.constant(i32, 3n)), k);
        else b.store(b.cast("zext", b.binary("and", value(i8), fn.constant(i8, 7n)), i64), k);
        const p = b.callHelper(BPF_FUNC.map_lookup_elem, [b.mapRef(map), k], ptrType("map_value"));
        const c = b.compare("ne", p, fn.constant(ptrType("map_value"), 0n));
        const [l, r] = [newBlock(), newBlock()];
        b.condBr(c, l, r);
        const before = clonePool(pool);
        b.atEnd(l);
        pool = clonePool(before);
        const old = add(b.load(i64, p));
        if (t.below(2)) add(b.atomic("atomic.fetch_add", p, value(i64)));
        else b.atomic("atomic.add", p, value(i64));
        b.store(b.binary("add", old, value(i64)), p);
        const lp = pool;
        b.atEnd(r);
        pool = clonePool(before);
        const rp = pool;
        join(before, [l, lp], [r, rp]);
        b.atEnd(cur);
        const phi = b.phi(i64, cur);
        phi.addIncoming(old, l);
        phi.addIncoming(fn.constant(i64, 0n), r);
        add(phi);
      }
    }
  };

  const segments = 1 + t.below(options.maxSegments ?? 6);
  arith(2 + t.below(6));
  for (let s = 0; s < segments; s++) {
    switch (t.below(options.calls === false ? 4 : 6)) {
      case 0:
        arith(1 + t.below(6));
        break;
      case 1:
        diamond();
        break;
      case 2:
        loop();
        break;
      case 3: {
        const ty = t.pick([i8, i16, i32]);
        const idx = t.below(2) ? fn.constant(i64, BigInt(t.below(60))) : b.binary("and", value(i64), fn.constant(i64, 63n));
        add(b.cast("zext", b.pktLoad(ty, ctx, idx, t.below(4)), i64));
        break;
      }
      default:
        call();
    }
  }
  // Fold every value into the result: everything stays live to the end.
  let acc: Value = fn.constant(i64, 0n);
  for (const [ty, vs] of pool) {
    for (const v of vs) {
      const w = ty === i64 ? v : b.cast("zext", v, i64);
      acc = b.binary(t.below(2) ? "add" : "xor", b.binary("mul", acc, fn.constant(i64, 31n)), w);
    }
  }
  b.ret(acc);
  return m;
}
