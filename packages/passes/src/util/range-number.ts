/**
 * The value-range lattice on numbers: the representation of a range (util/range-lattice.ts)
 * and the fast path of its common operations, for ranges whose components all fit in a
 * double exactly — every range of up to 32 bits, and the 64-bit ranges of values in
 * [0, 2^53) (a packet length, a sum of them, a loop counter, a boolean). Each function
 * here is the bigint function of util/range-bigint.ts written on numbers, line for line,
 * and gives the same range or `null`: "not exact on numbers, ask the bigint form" (an
 * operand or an intermediate result outside [0, 2^53), or an operation not written here).
 * test/range-lattice.test.ts checks both forms against each other on random ranges.
 *
 * Exactness: integers below 2^53 in magnitude are exact doubles, and their sums,
 * differences and power-of-two scalings are exact while the result stays below 2^53. The
 * bitwise operations split a value into 21 high and 32 low bits ({@link and53} ...). At 64
 * bits the extremes (2^64 - 1, 2^63 - 1) are not doubles: they are passed to
 * {@link makeNumber} as stand-ins one above (2^64, 2^63), which only ever bound a range
 * from outside, and compared as `x < 2^64` / `x < 2^63` where an exact answer matters.
 * {@link makeNumber} at 64 bits takes known bits below 2^53; its first step clamps the
 * bounds to them, so a bound that was rounded (beyond 2^53) either disappears or makes the
 * range empty, as the exact bound would.
 */
import type { BinaryOpcode, CastOpcode, CompareOpcode, UnaryOpcode } from "@luabpf/ir";
import { INVERTED_COMPARE, SWAPPED_COMPARE } from "@luabpf/ir";
import type { BigRange } from "./range-bigint.js";

/** 2^53: the number form holds 64-bit components below it. */
const LIMIT = 2 ** 53;
const P31 = 2 ** 31;
const P32 = 2 ** 32;

/** 2^k, exact for every k ≤ 64. */
const POW: number[] = [];
/** 2^k - 1 for k ≤ 53 (exact). */
const ONES: number[] = [];
/** Per width: the largest unsigned value (at 64 bits the stand-in 2^64), the sign bit, the signed extremes (at 64 bits 2^63 stands for 2^63 - 1). */
const MAXU: number[] = [];
const SIGN: number[] = [];
const SMIN: number[] = [];
const SMAX: number[] = [];
for (let k = 0; k <= 64; k++) {
  POW.push(2 ** k);
  if (k <= 53) ONES.push(2 ** k - 1);
  MAXU.push(k <= 32 ? 2 ** k - 1 : 2 ** k);
  SIGN.push(k === 0 ? 0 : 2 ** (k - 1));
  SMIN.push(k === 0 ? 0 : -(2 ** (k - 1)));
  SMAX.push(k === 0 ? 0 : k <= 32 ? 2 ** (k - 1) - 1 : 2 ** (k - 1));
}

/** Widths with a number form: 1 to 32 bits (every range) and 64 (ranges within [0, 2^53)). */
export const hasNumberForm = (bits: number): boolean => (bits >= 1 && bits <= 32) || bits === 64;

// Bitwise operations on integers in [0, 2^53): 21 high bits and 32 low bits.
const high = (x: number): number => Math.floor(x / P32);
export function and53(a: number, b: number): number {
  return a < P31 && b < P31 ? a & b : (high(a) & high(b)) * P32 + ((a & b) >>> 0);
}
export function or53(a: number, b: number): number {
  return a < P31 && b < P31 ? a | b : (high(a) | high(b)) * P32 + ((a | b) >>> 0);
}
function xor53(a: number, b: number): number {
  return a < P31 && b < P31 ? a ^ b : (high(a) ^ high(b)) * P32 + ((a ^ b) >>> 0);
}
/** `a & ~b`. */
export function andNot53(a: number, b: number): number {
  return a < P31 && b < P31 ? a & ~b : (high(a) & ~high(b)) * P32 + ((a & ~b) >>> 0);
}
/** The number of bits needed to write `x` (0 ≤ x < 2^53). */
function bitLength53(x: number): number {
  return x < P32 ? 32 - Math.clz32(x) : 64 - Math.clz32(high(x));
}
/** `x` (an integer in [0, 2^N)) read as a signed N-bit value. */
export const signedOf = (bits: number, x: number): number => (x >= SIGN[bits]! ? x - POW[bits]! : x);
/** `x` (an integer in [-2^(N-1), 2^(N-1))) read as an unsigned N-bit value. */
const unsignedOf = (bits: number, x: number): number => (x < 0 ? x + POW[bits]! : x);
/** `x` modulo 2^N, for N ≤ 32 and |x| < 2^53. */
const wrap = (bits: number, x: number): number => x - Math.floor(x / POW[bits]!) * POW[bits]!;

/**
 * A range (see util/range-lattice.ts): in number form (`small`: the components are the
 * number fields) or in bigint form (`big`, which for a small range caches its bigint copy).
 * Every range is built in the number form when it fits (so two equal ranges have the same
 * form); the bigint getters are for readers outside the lattice.
 */
export class LatticeRange {
  constructor(
    readonly bits: number,
    readonly small: boolean,
    readonly v: number,
    readonly m: number,
    readonly ul: number,
    readonly uh: number,
    readonly sl: number,
    readonly sh: number,
    readonly settled: boolean,
    public big: BigRange | undefined,
  ) {}
  get value(): bigint {
    return this.small ? BigInt(this.v) : this.big!.value;
  }
  get mask(): bigint {
    return this.small ? BigInt(this.m) : this.big!.mask;
  }
  get umin(): bigint {
    return this.small ? BigInt(this.ul) : this.big!.umin;
  }
  get umax(): bigint {
    return this.small ? BigInt(this.uh) : this.big!.umax;
  }
  get smin(): bigint {
    return this.small ? BigInt(this.sl) : this.big!.smin;
  }
  get smax(): bigint {
    return this.small ? BigInt(this.sh) : this.big!.smax;
  }
}

/** The canonical range of a bigint form: in number form when it fits. */
export function fromBig(b: BigRange): LatticeRange {
  const bits = b.bits;
  if (bits >= 1 && bits <= 32) {
    return new LatticeRange(bits, true, Number(b.value), Number(b.mask), Number(b.umin), Number(b.umax), Number(b.smin), Number(b.smax), b.settled, b);
  }
  const full = FULL[bits];
  if (full && b.settled && b.value === 0n && b.umin === 0n && b.mask === full.big!.mask && b.umax === full.big!.umax && b.smin === full.big!.smin && b.smax === full.big!.smax) {
    return full; // the one object per width, which the lattice's shortcuts recognise
  }
  const L = BigInt(LIMIT);
  if (bits === 64 && b.value < L && b.mask < L && b.umax < L && b.umin < L && b.smin >= 0n && b.smax < L) {
    return new LatticeRange(bits, true, Number(b.value), Number(b.mask), Number(b.umin), Number(b.umax), Number(b.smin), Number(b.smax), b.settled, b);
  }
  return new LatticeRange(bits, false, NaN, NaN, NaN, NaN, NaN, NaN, b.settled, b);
}

/** The bigint form of `r` (cached). */
export function toBig(r: LatticeRange): BigRange {
  return (r.big ??= {
    bits: r.bits,
    value: BigInt(r.v),
    mask: BigInt(r.m),
    umin: BigInt(r.ul),
    umax: BigInt(r.uh),
    smin: BigInt(r.sl),
    smax: BigInt(r.sh),
    settled: r.settled,
  });
}

/** The one value `u` (unsigned reading, in [0, 2^N) and below 2^53) in number form. */
export function constantNumber(bits: number, u: number): LatticeRange {
  const s = signedOf(bits, u);
  return new LatticeRange(bits, true, u, 0, u, u, s, s, true, undefined);
}

/** `x` modulo 2^N as a number form constant, or null when that has none (a negative or huge 64-bit value). */
export function constantOfNumber(bits: number, x: number): LatticeRange | null {
  if (bits <= 32) return constantNumber(bits, wrap(bits, x));
  return x >= 0 && x < LIMIT ? constantNumber(bits, x) : null;
}

/** At 64 bits, the mask "every bit unknown" (2^64 - 1 is not a double: this stands for it). */
export const ALL_UNKNOWN_64 = 2 ** 64;

/**
 * range-bigint.ts bigMake on numbers: the synced range, undefined when empty, null when it
 * is not exact on numbers. The known bits must be below 2^53, except that at 64 bits the
 * mask may be {@link ALL_UNKNOWN_64} when the bounds are below 2^53 (a widened range); see
 * the file note for the bounds' exactness.
 */
export function makeNumber(bits: number, value: number, mask: number, umin: number, umax: number, smin: number, smax: number): LatticeRange | undefined | null {
  const wide = bits > 32;
  let unknown = false; // every bit unknown (64 bits)
  if (wide && mask === ALL_UNKNOWN_64) {
    unknown = true;
    value = 0;
  } else if (!(value >= 0 && mask >= 0 && value < LIMIT && mask < LIMIT)) return null;
  if (!wide) {
    value = and53(value, MAXU[bits]!);
    mask = and53(mask, MAXU[bits]!);
  }
  value = andNot53(value, mask);
  const S = SIGN[bits]!;
  let settled = false;
  for (let round = 0; round < 3; round++) {
    const v0 = value, m0 = mask, umin0 = umin, umax0 = umax, smin0 = smin, smax0 = smax;
    // known bits → bounds (at 64 bits the known bits are below 2^53: no sign bit)
    const top = unknown ? ALL_UNKNOWN_64 : or53(value, mask);
    if (value > umin) umin = value;
    if (top < umax) umax = top;
    const sLow = unknown ? SMIN[bits]! : wide ? value : signedOf(bits, or53(value, and53(mask, S)));
    const sHigh = unknown ? SMAX[bits]! : wide ? top : signedOf(bits, or53(value, andNot53(mask, S)));
    if (sLow > smin) smin = sLow;
    if (sHigh < smax) smax = sHigh;
    if (umin > umax || smin > smax) return undefined;
    // signed ↔ unsigned, where the interval does not cross the sign boundary
    if (smin >= 0 || smax < 0) {
      const lo = unsignedOf(bits, smin);
      const hi = unsignedOf(bits, smax);
      if (lo > umin) umin = lo;
      if (hi < umax) umax = hi;
    }
    if (umax < S || umin >= S) {
      const lo = signedOf(bits, umin);
      const hi = signedOf(bits, umax);
      if (lo > smin) smin = lo;
      if (hi < smax) smax = hi;
    }
    if (umin > umax || smin > smax) return undefined;
    if (umax >= LIMIT) return null; // only with every bit unknown: the bounds did not bring the range below 2^53
    // bounds → known bits: the common prefix of umin and umax
    const span = ONES[bitLength53(xor53(umin, umax))]!;
    const tv = andNot53(umin, span);
    if (!unknown && andNot53(xor53(tv, value), or53(span, mask)) !== 0) return undefined;
    value = or53(value, tv);
    mask = unknown ? span : and53(mask, span);
    unknown = false;
    value = andNot53(value, mask);
    if (value === v0 && mask === m0 && umin === umin0 && umax === umax0 && smin === smin0 && smax === smax0) {
      settled = true;
      break;
    }
  }
  return new LatticeRange(bits, true, value, mask, umin, umax, smin, smax, settled, undefined);
}

/** The upper thresholds of range-bigint.ts bigWiden (ascending). */
const WIDEN_STEPS = [0xff, 0xffff, 0x7fffffff, 0xffffffff];

/** range-bigint.ts bigWiden on numbers (both ranges of one width). */
export function widenNumber(prev: LatticeRange, next: LatticeRange): LatticeRange | null {
  const b = next.bits;
  const up = (x: number, top: number): number => {
    for (const t of WIDEN_STEPS) if (t < top && x <= t) return t;
    return top;
  };
  const down = (x: number, bottom: number): number => {
    for (const t of WIDEN_STEPS) if (-t - 1 > bottom && x >= -t - 1) return -t - 1;
    return x >= 0 ? 0 : bottom;
  };
  return made(
    b,
    0,
    b > 32 ? ALL_UNKNOWN_64 : MAXU[b]!,
    next.ul < prev.ul ? 0 : next.ul,
    next.uh > prev.uh ? up(next.uh, MAXU[b]!) : next.uh,
    next.sl < prev.sl ? (next.sl >= 0 ? 0 : down(next.sl, SMIN[b]!)) : next.sl,
    next.sh > prev.sh ? up(next.sh, SMAX[b]!) : next.sh,
  );
}

/** Every N-bit value, one object per width (set by range-lattice.ts; {@link fromBig} returns it for a full range). */
export const FULL: LatticeRange[] = [];

/**
 * The full 64-bit range (FULL[64]): bigint form, its number fields the stand-ins of the file
 * note (umax 2^64, smax 2^63; smin -2^63 and umin 0 are exact), which {@link decideNumber}
 * may compare with a number form's bounds: every one is below 2^53, far from the stand-ins,
 * so each comparison has the exact bound's answer.
 */
export const FULL_64 = new LatticeRange(64, false, 0, ALL_UNKNOWN_64, 0, MAXU[64]!, SMIN[64]!, SMAX[64]!, true, {
  bits: 64,
  value: 0n,
  mask: (1n << 64n) - 1n,
  umin: 0n,
  umax: (1n << 64n) - 1n,
  smin: -(1n << 63n),
  smax: (1n << 63n) - 1n,
  settled: true,
});

/** The full 64-bit range shifted right by `k` (0 ≤ k < 64) where the result has a number form (k ≥ 11); null otherwise. */
export function lshrFull64(k: number): LatticeRange | null {
  if (k === 0) return FULL_64;
  if (k < 11) return null;
  // range-bigint.ts shiftByConstant's lshr of [0, 2^64 - 1] with every bit unknown.
  return build(64, 0, ONES[64 - k]!, 0, ONES[64 - k]!, SMIN[64]!, SMAX[64]!);
}

/**
 * The full 64-bit range shifted right by a number-form range of amounts `b` — range-bigint.ts
 * bigBinary's join of the shifts by each amount `b` holds: the full range for amounts
 * reaching 64, else the shift by the smallest amount, which holds every other one (a larger
 * amount keeps fewer low bits: test/range-lattice.test.ts checks every interval of amounts).
 * `byBigint(k)` gives the shift by a k below 11 (a bigint form). Null when `b` holds no amount.
 */
export function lshrFull64By(b: LatticeRange, byBigint: (k: number) => LatticeRange): LatticeRange | null {
  if (b.m === 0) return lshrFull64(b.v % 64) ?? byBigint(b.v % 64);
  if (b.uh >= 64) return FULL_64;
  for (let x = b.ul; x <= b.uh; x++) {
    if (andNot53(x, b.m) !== b.v || x < b.sl || x > b.sh) continue;
    return lshrFull64(x) ?? byBigint(x);
  }
  return null;
}

/** {@link makeNumber} where the bigint code falls back to the full range. */
function build(bits: number, value: number, mask: number, umin: number, umax: number, smin: number, smax: number): LatticeRange | null {
  const r = makeNumber(bits, value, mask, umin, umax, smin, smax);
  return r === undefined ? FULL[bits]! : r;
}
/** {@link makeNumber} where the bigint code asserts a non-empty result (`!`): anything else goes to the bigint form. */
function made(bits: number, value: number, mask: number, umin: number, umax: number, smin: number, smax: number): LatticeRange | null {
  return makeNumber(bits, value, mask, umin, umax, smin, smax) ?? null;
}

export function joinNumber(a: LatticeRange, b: LatticeRange): LatticeRange | null {
  const mu = or53(or53(a.m, b.m), xor53(a.v, b.v));
  const v = andNot53(a.v, mu);
  const ul = Math.min(a.ul, b.ul);
  const uh = Math.max(a.uh, b.uh);
  const sl = Math.min(a.sl, b.sl);
  const sh = Math.max(a.sh, b.sh);
  // One holds the other (a value joined again with what it already holds): a settled range
  // is its own reduction, so it is the result.
  if (b.settled && v === b.v && mu === b.m && ul === b.ul && uh === b.uh && sl === b.sl && sh === b.sh) return b;
  if (a.settled && v === a.v && mu === a.m && ul === a.ul && uh === a.uh && sl === a.sl && sh === a.sh) return a;
  return made(a.bits, v, mu, ul, uh, sl, sh);
}

export function intersectNumber(a: LatticeRange, b: LatticeRange): LatticeRange | undefined | null {
  if (andNot53(xor53(a.v, b.v), or53(a.m, b.m)) !== 0) return undefined;
  return makeNumber(a.bits, or53(a.v, b.v), and53(a.m, b.m), Math.max(a.ul, b.ul), Math.min(a.uh, b.uh), Math.max(a.sl, b.sl), Math.min(a.sh, b.sh));
}

// Tristate addition and subtraction (range-bigint.ts tnumAdd/tnumSub), results in TV/TM.
let TV = 0;
let TM = 0;
/** At 64 bits the caller has checked that (a.v|a.m) + (b.v|b.m) < 2^53: nothing wraps. */
function tnumAdd(bits: number, av: number, am: number, bv: number, bm: number): void {
  const wide = bits > 32;
  const sm = wide ? am + bm : wrap(bits, am + bm);
  const sv = wide ? av + bv : wrap(bits, av + bv);
  const sigma = wide ? sm + sv : wrap(bits, sm + sv);
  const mu = or53(or53(xor53(sigma, sv), am), bm);
  TV = andNot53(sv, mu);
  TM = mu;
}
/** False at 64 bits when an intermediate is negative (it would wrap to 2^64 - x). */
function tnumSub(bits: number, av: number, am: number, bv: number, bm: number): boolean {
  let dv = av - bv;
  let alpha: number;
  let beta: number;
  if (bits > 32) {
    if (dv < 0 || dv - bm < 0) return false;
    alpha = dv + am;
    beta = dv - bm;
  } else {
    dv = wrap(bits, dv);
    alpha = wrap(bits, dv + am);
    beta = wrap(bits, dv - bm);
  }
  const mu = or53(or53(xor53(alpha, beta), am), bm);
  TV = andNot53(dv, mu);
  TM = mu;
  return true;
}

/** range-bigint.ts bigBinary on numbers (null: ask the bigint form; so for the signed divisions of a negative operand). */
export function binaryNumber(op: BinaryOpcode, a: LatticeRange, b: LatticeRange): LatticeRange | null {
  const bits = a.bits;
  const wide = bits > 32;
  const M = MAXU[bits]!;
  const S = SIGN[bits]!;
  switch (op) {
    case "add": {
      if (wide && or53(a.v, a.m) + or53(b.v, b.m) >= LIMIT) return null;
      tnumAdd(bits, a.v, a.m, b.v, b.m);
      let ulo = a.ul + b.ul;
      let uhi = a.uh + b.uh;
      if (uhi > M) {
        if (ulo > M) {
          ulo = ulo - M - 1;
          uhi = uhi - M - 1;
        } else {
          ulo = 0;
          uhi = M;
        }
      }
      let slo = a.sl + b.sl;
      let shi = a.sh + b.sh;
      if (!(slo >= SMIN[bits]! && shi < S)) [slo, shi] = [SMIN[bits]!, SMAX[bits]!];
      return build(bits, TV, TM, ulo, uhi, slo, shi);
    }
    case "sub": {
      if (!tnumSub(bits, a.v, a.m, b.v, b.m)) return null;
      let ulo: number, uhi: number;
      if (a.ul >= b.uh) [ulo, uhi] = [a.ul - b.uh, a.uh - b.ul];
      else if (a.uh < b.ul) [ulo, uhi] = [a.ul - b.uh + M + 1, a.uh - b.ul + M + 1];
      else [ulo, uhi] = [0, M];
      let slo = a.sl - b.sh;
      let shi = a.sh - b.sl;
      if (!(slo >= SMIN[bits]! && shi < S)) [slo, shi] = [SMIN[bits]!, SMAX[bits]!];
      return build(bits, TV, TM, ulo, uhi, slo, shi);
    }
    case "and": {
      const v = and53(a.v, b.v);
      const mask = andNot53(and53(or53(a.v, a.m), or53(b.v, b.m)), v);
      let slo = SMIN[bits]!;
      let shi = SMAX[bits]!;
      if (a.sl >= 0 || b.sl >= 0) [slo, shi] = [0, a.sl >= 0 && b.sl >= 0 ? Math.min(a.sh, b.sh) : a.sl >= 0 ? a.sh : b.sh];
      return build(bits, v, mask, 0, Math.min(a.uh, b.uh), slo, shi);
    }
    case "or": {
      const v = or53(a.v, b.v);
      return build(bits, v, andNot53(or53(a.m, b.m), v), Math.max(a.ul, b.ul), ONES[bitLength53(or53(a.uh, b.uh))]!, SMIN[bits]!, SMAX[bits]!);
    }
    case "xor": {
      const mu = or53(a.m, b.m);
      return build(bits, andNot53(xor53(a.v, b.v), mu), mu, 0, ONES[bitLength53(Math.max(a.uh, b.uh))]!, SMIN[bits]!, SMAX[bits]!);
    }
    case "shl":
    case "lshr":
    case "ashr": {
      // The shift amounts b may stand for (its values modulo the width), when few enough to enumerate.
      if (b.m === 0) return shiftByConstant(op, a, b.v % bits);
      if (b.uh >= bits) return FULL[bits]!;
      let out: LatticeRange | null = null;
      for (let x = b.ul; x <= b.uh; x++) {
        if (andNot53(x, b.m) !== b.v || signedOf(bits, x) < b.sl || signedOf(bits, x) > b.sh) continue;
        const r = shiftByConstant(op, a, x);
        if (!r) return null;
        out = out ? joinNumber(out, r) : r;
        if (!out) return null;
      }
      return out;
    }
    case "mul":
      return mulNumber(a, b);
    case "udiv":
    case "urem":
      return divNumber(op, a, b);
    case "sdiv":
    case "srem":
      // range-bigint.ts: non-negative operands divide as unsigned; the rest asks the bigint form.
      return a.sl >= 0 && b.sl >= 0 ? divNumber(op === "sdiv" ? "udiv" : "urem", a, b) : null;
    default:
      return null;
  }
}

/** Products below this are exact, and so is every sum the tristate multiplication makes of its partial products (each at most twice the product). */
const MUL_LIMIT = 2 ** 51;

/**
 * range-bigint.ts bigBinary's `mul` on numbers, when the operands' largest bit patterns
 * (value | mask) multiply to less than {@link MUL_LIMIT} (so does every bound, corner and
 * partial product); null otherwise.
 */
function mulNumber(a: LatticeRange, b: LatticeRange): LatticeRange | null {
  const bits = a.bits;
  let A = or53(a.v, a.m);
  let B = or53(b.v, b.m);
  if (A * B >= MUL_LIMIT) return null;
  const wide = bits > 32;
  const M = MAXU[bits]!;
  const mod = (x: number): number => (wide ? x : wrap(bits, x));
  // tnumMul: walk the shorter operand's bits.
  let [av, am, bv, bm] = A > B ? [b.v, b.m, a.v, a.m] : [a.v, a.m, b.v, b.m];
  if (A > B) [A, B] = [B, A];
  const accV = mod(av * bv);
  let accMv = 0;
  let accMm = 0;
  while (av !== 0 || am !== 0) {
    if (av % 2 === 1) {
      tnumAdd(bits, accMv, accMm, 0, bm);
      [accMv, accMm] = [TV, TM];
    } else if (am % 2 === 1) {
      tnumAdd(bits, accMv, accMm, 0, or53(bv, bm));
      [accMv, accMm] = [TV, TM];
    }
    av = Math.floor(av / 2);
    am = Math.floor(am / 2);
    bv = mod(bv * 2);
    bm = mod(bm * 2);
  }
  tnumAdd(bits, accV, 0, accMv, accMm);
  const [tv, tm] = [TV, TM];
  const [ulo, uhi] = a.uh * b.uh <= M ? [a.ul * b.ul, a.uh * b.uh] : [0, M];
  const c0 = a.sl * b.sl;
  const c1 = a.sl * b.sh;
  const c2 = a.sh * b.sl;
  const c3 = a.sh * b.sh;
  let slo = Math.min(c0, c1, c2, c3);
  let shi = Math.max(c0, c1, c2, c3);
  if (!(slo >= SMIN[bits]! && shi <= SMAX[bits]!)) [slo, shi] = [SMIN[bits]!, SMAX[bits]!];
  return build(bits, tv, tm, ulo, uhi, slo, shi);
}

/** Quotients of operands below this are exact (Math.floor of the rounded quotient is the integer quotient). */
const DIV_LIMIT = 2 ** 52;

/** range-bigint.ts bigBinary's `udiv` and `urem` on numbers (operands below {@link DIV_LIMIT}); null otherwise. */
function divNumber(op: "udiv" | "urem", a: LatticeRange, b: LatticeRange): LatticeRange | null {
  if (a.uh >= DIV_LIMIT || b.uh >= DIV_LIMIT) return null;
  const bits = a.bits;
  const unsigned = (lo: number, hi: number): LatticeRange | null => made(bits, 0, bits > 32 ? ALL_UNKNOWN_64 : MAXU[bits]!, lo, hi, SMIN[bits]!, SMAX[bits]!);
  if (op === "udiv") return b.ul > 0 ? unsigned(Math.floor(a.ul / b.uh), Math.floor(a.uh / b.ul)) : unsigned(0, a.uh);
  if (b.ul > 0) return a.uh < b.ul ? a : unsigned(0, Math.min(a.uh, b.uh - 1));
  return unsigned(0, a.uh);
}

function shiftByConstant(op: "shl" | "lshr" | "ashr", a: LatticeRange, k: number): LatticeRange | null {
  const bits = a.bits;
  const wide = bits > 32;
  if (k === 0) return a;
  const scale = POW[k]!;
  switch (op) {
    case "shl": {
      let value: number, mask: number;
      if (wide) {
        if (or53(a.v, a.m) * scale >= LIMIT) return null;
        value = a.v * scale;
        mask = a.m * scale;
      } else {
        // (x << k) mod 2^N without leaving the exact range: drop the bits shifted out first.
        value = wrap(bits - k, a.v) * scale;
        mask = wrap(bits - k, a.m) * scale;
      }
      const [ulo, uhi] = a.uh * scale < POW[bits]! ? [a.ul * scale, a.uh * scale] : [0, MAXU[bits]!];
      const [slo, shi] = a.sl * scale >= SMIN[bits]! && a.sh * scale < SIGN[bits]! ? [a.sl * scale, a.sh * scale] : [SMIN[bits]!, SMAX[bits]!];
      return build(bits, value, mask, ulo, uhi, slo, shi);
    }
    case "lshr":
      return build(bits, Math.floor(a.v / scale), Math.floor(a.m / scale), Math.floor(a.ul / scale), Math.floor(a.uh / scale), SMIN[bits]!, SMAX[bits]!);
    case "ashr": {
      // Shift the bit patterns as signed N-bit numbers: a known sign bit fills known bits in.
      const value = unsignedOf(bits, Math.floor(signedOf(bits, a.v) / scale));
      const mask = unsignedOf(bits, Math.floor(signedOf(bits, a.m) / scale));
      return build(bits, value, mask, 0, MAXU[bits]!, Math.floor(a.sl / scale), Math.floor(a.sh / scale));
    }
  }
}

/** range-bigint.ts bigUnary on numbers (`not` below 33 bits; the rest asks the bigint form). */
export function unaryNumber(op: UnaryOpcode, a: LatticeRange): LatticeRange | null {
  const bits = a.bits;
  if (op !== "not" || bits > 32) return null;
  const M = MAXU[bits]!;
  return made(bits, andNot53(M, or53(a.v, a.m)), a.m, M - a.uh, M - a.ul, -a.sh - 1, -a.sl - 1);
}

/** range-bigint.ts bigCast on numbers. */
export function castNumber(op: CastOpcode, a: LatticeRange, toBits: number): LatticeRange | null {
  const from = a.bits;
  if (!hasNumberForm(toBits)) return null;
  switch (op) {
    case "zext":
      return made(toBits, a.v, a.m, a.ul, a.uh, a.ul, a.uh);
    case "sext": {
      if (toBits > 32 || from > 32) return a.v < SIGN[from]! && a.m < SIGN[from]! ? made(toBits, a.v, a.m, 0, MAXU[toBits]!, a.sl, a.sh) : null;
      const fill = MAXU[toBits]! - MAXU[from]!;
      const value = and53(a.v, SIGN[from]!) ? or53(a.v, fill) : a.v;
      const mask = and53(a.m, SIGN[from]!) ? or53(a.m, fill) : a.m;
      return made(toBits, value, mask, 0, MAXU[toBits]!, a.sl, a.sh);
    }
    case "trunc": {
      if (toBits > 32) return null;
      const M = MAXU[toBits]!;
      const [ulo, uhi] = a.uh <= M ? [a.ul, a.uh] : [0, M];
      const [slo, shi] = a.sl >= SMIN[toBits]! && a.sh <= SMAX[toBits]! ? [a.sl, a.sh] : [SMIN[toBits]!, SMAX[toBits]!];
      const value = and53(a.v, M);
      const mask = and53(a.m, M);
      return makeNumber(toBits, value, mask, ulo, uhi, slo, shi) ?? made(toBits, value, mask, 0, M, SMIN[toBits]!, SMAX[toBits]!);
    }
  }
}

/** range-bigint.ts bigDecide on numbers (both ranges of one width). */
export function decideNumber(op: CompareOpcode, a: LatticeRange, b: LatticeRange): boolean | undefined {
  switch (op) {
    case "eq":
    case "ne": {
      const differ = andNot53(xor53(a.v, b.v), or53(a.m, b.m)) !== 0 || a.uh < b.ul || b.uh < a.ul || a.sh < b.sl || b.sh < a.sl;
      const same = a.m === 0 && b.m === 0 && a.v === b.v;
      if (!differ && !same) return undefined;
      return op === "eq" ? same : !same;
    }
    case "ult":
      return a.uh < b.ul ? true : a.ul >= b.uh ? false : undefined;
    case "ule":
      return a.uh <= b.ul ? true : a.ul > b.uh ? false : undefined;
    case "slt":
      return a.sh < b.sl ? true : a.sl >= b.sh ? false : undefined;
    case "sle":
      return a.sh <= b.sl ? true : a.sl > b.sh ? false : undefined;
    case "ugt":
    case "uge":
    case "sgt":
    case "sge":
      return decideNumber(SWAPPED_COMPARE[op], b, a);
  }
}

/** range-bigint.ts bigRefine on numbers (both ranges of one width). */
export function refineNumber(x: LatticeRange, op: CompareOpcode, y: LatticeRange, holds: boolean): LatticeRange | undefined | null {
  if (!holds) op = INVERTED_COMPARE[op];
  const bits = x.bits;
  const M = MAXU[bits]!;
  const SMINB = SMIN[bits]!;
  const SMAXB = SMAX[bits]!;
  const clamp = (ulo: number, uhi: number, slo: number, shi: number): LatticeRange | undefined | null => {
    if (ulo > uhi || slo > shi) return undefined;
    const [ul, uh, sl, sh] = [Math.max(x.ul, ulo), Math.min(x.uh, uhi), Math.max(x.sl, slo), Math.min(x.sh, shi)];
    // Nothing cut off: a settled range is its own reduction.
    if (x.settled && ul === x.ul && uh === x.uh && sl === x.sl && sh === x.sh) return x;
    return makeNumber(bits, x.v, x.m, ul, uh, sl, sh);
  };
  switch (op) {
    case "eq":
      return intersectNumber(x, y);
    case "ne": {
      if (y.m !== 0) return x;
      const u = y.v;
      const k = signedOf(bits, u);
      let { ul, uh, sl, sh } = x;
      if (ul === u) ul++;
      if (uh === u) uh--;
      if (sl === k) sl++;
      if (sh === k) sh--;
      return clamp(ul, uh, sl, sh);
    }
    case "ult":
      return y.uh === 0 ? undefined : clamp(0, y.uh - 1, SMINB, SMAXB);
    case "ule":
      return clamp(0, y.uh, SMINB, SMAXB);
    case "ugt":
      return bits <= 32 && y.ul === M ? undefined : clamp(y.ul + 1, M, SMINB, SMAXB);
    case "uge":
      return clamp(y.ul, M, SMINB, SMAXB);
    case "slt":
      return y.sh === SMINB ? undefined : clamp(0, M, SMINB, y.sh - 1);
    case "sle":
      return clamp(0, M, SMINB, y.sh);
    case "sgt":
      return bits <= 32 && y.sl === SMAXB ? undefined : clamp(0, M, y.sl + 1, SMAXB);
    case "sge":
      return clamp(0, M, y.sl, SMAXB);
  }
}
