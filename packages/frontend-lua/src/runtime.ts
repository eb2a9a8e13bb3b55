/**
 * The run-time value model of program bodies and the IR sequences of Lua's operators.
 *
 * A Lua value in the kernel is a pair of i64 SSA values, a *tag* and a *payload*:
 *
 *   tag 0 = nil, 1 = false, 2 = true, 3 = number;
 *   payload = the number, 1 for true, 0 for nil and false (its "integer view").
 *
 * Numbers — the common case — have the constant tag 3, so they cost nothing: no tag
 * instruction is emitted and the SSA builder's trivial-phi removal erases the tag phis of
 * variables that always hold numbers. Only values that may be nil or boolean (a map read,
 * `a and b`, a variable assigned both) carry a tag at run time. A comparison result is
 * kept as a bare 0/1 `cond` until something needs its tag.
 *
 * Operators follow Lua 5.4 on 64-bit integers (see integer.ts): wrap-around arithmetic,
 * floor division and modulo built from `sdiv`/`srem` with sign fix-ups, logical `>>`,
 * shifts by 64 or more give 0, negative shift counts shift the other way, signed
 * comparisons. Operands known to be nil or boolean at compile time are reported like
 * Lua's run-time errors; a value whose tag is only known at run time is used through its
 * integer view.
 */
import { type Builder, type Constant, isConstant, type Value } from "@luabpf/ir";
import { evalBinary, wrap, type ArithOperator } from "./integer.js";
import type { StaticValue } from "./values.js";

export const TAG_NIL = 0n;
export const TAG_FALSE = 1n;
export const TAG_TRUE = 2n;
export const TAG_NUMBER = 3n;

/** A run-time Lua value (see the file comment). */
export interface Dyn {
  readonly tag: Value;
  readonly payload: Value;
}

/** The value of an expression while lowering. */
export type RValue =
  | ({ readonly kind: "dyn" } & Dyn)
  /** A boolean as an i64 0/1 (a comparison); its tag is `cond + 1`. */
  | { readonly kind: "cond"; readonly cond: Value }
  /** A compile-time value (map, context, dissector, builtin, constant). */
  | { readonly kind: "static"; readonly value: StaticValue };

/** How a value is described in "attempt to ..." messages, when its type is known. */
export type KnownType = "nil" | "boolean" | "number" | undefined;

/** The constant integer behind `v`, if it is one. */
export function constantValue(v: Value): bigint | undefined {
  return isConstant(v) ? (v as Constant).value : undefined;
}

/**
 * Emits the IR of operators on i64 values, folding constants with the same semantics
 * (integer.ts) so that constant expressions leave no instructions behind.
 */
export class Operators {
  constructor(private readonly b: Builder) {}

  c(v: bigint | number): Value {
    return this.b.const(v);
  }

  /** A number value. */
  number(v: Value): RValue {
    return { kind: "dyn", tag: this.c(TAG_NUMBER), payload: v };
  }

  /** The boolean `cond` (i64 0/1) as a tagged value. */
  boolDyn(cond: Value): Dyn {
    const k = constantValue(cond);
    if (k !== undefined) return { tag: this.c(k !== 0n ? TAG_TRUE : TAG_FALSE), payload: this.c(k !== 0n ? 1 : 0) };
    return { tag: this.b.add(cond, this.c(1)), payload: cond };
  }

  /** The statically known type of a tagged value, if its tag is a constant. */
  knownType(d: Dyn): KnownType {
    const t = constantValue(d.tag);
    if (t === undefined) return undefined;
    return t === TAG_NUMBER ? "number" : t === TAG_NIL ? "nil" : "boolean";
  }

  /** Lua truthiness (everything but nil and false) as an i64 0/1. */
  truthyOfDyn(d: Dyn): Value {
    const t = constantValue(d.tag);
    if (t !== undefined) return this.c(t > TAG_FALSE ? 1 : 0);
    return this.b.compare("ugt", d.tag, this.c(TAG_FALSE));
  }

  /** `a == b` on tagged values: same tag and same payload (payloads are canonical). */
  equalDyn(a: Dyn, b: Dyn): Value {
    const ta = constantValue(a.tag);
    const tb = constantValue(b.tag);
    if (ta !== undefined && tb !== undefined) {
      if (ta !== tb) return this.c(0);
      if (ta === TAG_NIL) return this.c(1);
      return this.compare("eq", a.payload, b.payload);
    }
    const sameTag = this.compare("eq", a.tag, b.tag);
    const samePayload = this.compare("eq", a.payload, b.payload);
    return this.and01(sameTag, samePayload);
  }

  /** `a & b` for 0/1 values, folded. */
  and01(a: Value, b: Value): Value {
    const ka = constantValue(a);
    const kb = constantValue(b);
    if (ka !== undefined) return ka === 0n ? a : b;
    if (kb !== undefined) return kb === 0n ? b : a;
    return this.b.and(a, b);
  }

  /** `not x` for a 0/1 value. */
  not01(a: Value): Value {
    const k = constantValue(a);
    if (k !== undefined) return this.c(k === 0n ? 1 : 0);
    return this.b.xor(a, this.c(1));
  }

  /** A signed or equality comparison, folded. Result i64 0/1. */
  compare(op: "eq" | "ne" | "slt" | "sle" | "sgt" | "sge", a: Value, b: Value): Value {
    const ka = constantValue(a);
    const kb = constantValue(b);
    if (ka !== undefined && kb !== undefined) {
      const r = op === "eq" ? ka === kb : op === "ne" ? ka !== kb : op === "slt" ? ka < kb : op === "sle" ? ka <= kb : op === "sgt" ? ka > kb : ka >= kb;
      return this.c(r ? 1 : 0);
    }
    return this.b.compare(op, a, b);
  }

  neg(a: Value): Value {
    const k = constantValue(a);
    return k !== undefined ? this.c(wrap(-k)) : this.b.unary("neg", a);
  }

  bnot(a: Value): Value {
    const k = constantValue(a);
    return k !== undefined ? this.c(~k) : this.b.unary("not", a);
  }

  /** A binary integer operator with Lua 5.4 semantics. */
  arith(op: ArithOperator, a: Value, b: Value): Value {
    const ka = constantValue(a);
    const kb = constantValue(b);
    if (ka !== undefined && kb !== undefined) return this.c(evalBinary(op, ka, kb));
    switch (op) {
      case "+":
        return this.b.add(a, b);
      case "-":
        return this.b.sub(a, b);
      case "*":
        return this.b.mul(a, b);
      case "&":
        return this.b.and(a, b);
      case "|":
        return this.b.or(a, b);
      case "~":
        return this.b.xor(a, b);
      case "//":
        return this.floorDiv(a, b, kb);
      case "%":
        return this.floorMod(a, b, kb);
      case "<<":
        return this.shiftLeft(a, b, kb);
      case ">>":
        return this.shiftLeft(a, this.neg(b), kb === undefined ? undefined : wrap(-kb));
    }
  }

  /**
   * Floor division: `q = sdiv(a, b)`, minus one when the remainder is non-zero and has
   * the other sign than `b`. `x // 0 == 0` (eBPF's `sdiv`), which the fix-up must not
   * disturb, hence the `b != 0` term when `b` is not a constant.
   */
  private floorDiv(a: Value, b: Value, kb: bigint | undefined): Value {
    if (kb !== undefined) {
      if (kb === 0n) return this.c(0); // x // 0 == 0
      if (kb === 1n) return a;
      const log = powerOfTwo(kb);
      if (log !== undefined) return this.b.binary("ashr", a, this.c(log)); // rounds toward -inf
    }
    const q = this.b.binary("sdiv", a, b);
    const r = this.b.binary("srem", a, b);
    let adjust: Value;
    if (kb !== undefined) {
      // The sign of b is known: adjust when r has the opposite sign.
      adjust = this.b.compare(kb > 0n ? "slt" : "sgt", r, this.c(0));
    } else {
      const inexact = this.b.compare("ne", r, this.c(0));
      const signsDiffer = this.b.compare("slt", this.b.xor(r, b), this.c(0));
      const divisorNonZero = this.b.compare("ne", b, this.c(0));
      adjust = this.b.and(this.b.and(inexact, signsDiffer), divisorNonZero);
    }
    return this.b.sub(q, adjust);
  }

  /**
   * Floor modulo: `r = srem(a, b)`, plus `b` when `r` is non-zero and has the other sign
   * than `b`. `x % 0 == x` comes out of eBPF's `srem` unchanged (the fix-up adds 0).
   */
  private floorMod(a: Value, b: Value, kb: bigint | undefined): Value {
    if (kb !== undefined) {
      if (kb === 0n) return a;
      const log = powerOfTwo(kb);
      if (log !== undefined) return this.b.and(a, this.c(kb - 1n)); // two's complement: already floored
    }
    const r = this.b.binary("srem", a, b);
    let adjust: Value;
    if (kb !== undefined) adjust = this.b.compare(kb > 0n ? "slt" : "sgt", r, this.c(0));
    else {
      const inexact = this.b.compare("ne", r, this.c(0));
      const signsDiffer = this.b.compare("slt", this.b.xor(r, b), this.c(0));
      adjust = this.b.and(inexact, signsDiffer);
    }
    return this.b.select(adjust, this.b.add(r, b), r);
  }

  /**
   * `a << n` with Lua's rules: a negative `n` shifts right (logically), |n| >= 64 gives 0.
   * IR shifts take the amount modulo 64, so a variable amount needs the range check.
   */
  private shiftLeft(a: Value, n: Value, kn: bigint | undefined): Value {
    if (kn !== undefined) {
      if (kn <= -64n || kn >= 64n) return this.c(0);
      if (kn === 0n) return a;
      return kn > 0n ? this.b.shl(a, this.c(kn)) : this.b.binary("lshr", a, this.c(-kn));
    }
    const left = this.b.shl(a, n);
    const right = this.b.binary("lshr", a, this.b.unary("neg", n));
    const shifted = this.b.select(this.b.compare("slt", n, this.c(0)), right, left);
    // n in [-63, 63] <=> n + 63 in [0, 126] as an unsigned number.
    const inRange = this.b.compare("ult", this.b.add(n, this.c(63)), this.c(127));
    return this.b.select(inRange, shifted, this.c(0));
  }
}

/** log2(k) when k is a power of two greater than 1. */
function powerOfTwo(k: bigint): bigint | undefined {
  if (k <= 1n || (k & (k - 1n)) !== 0n) return undefined;
  let log = 0n;
  for (let x = k; x > 1n; x >>= 1n) log++;
  return log;
}
