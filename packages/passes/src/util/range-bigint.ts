/**
 * The value-range lattice in bigint arithmetic: the reference form of util/range-lattice.ts,
 * exact at every width up to 64 bits. range-lattice.ts answers most operations on ranges
 * whose components fit in a double with its number form (util/range-number.ts) and
 * everything else here; test/range-lattice.test.ts checks that both give the same ranges.
 *
 * A tristate number (known bits: `value` holds the bits known to be one, `mask` the unknown
 * bits; kernel/bpf/tnum.c, after Vishwanathan et al., "Sound, Precise, and Fast Abstract
 * Interpretation with Tristate Numbers", CGO 2022) together with unsigned and signed bounds
 * (the `umin/umax/smin/smax` of `struct bpf_reg_state`), kept consistent with each other the
 * way the verifier's `reg_bounds_sync` does ({@link bigMake}). The transfer functions follow
 * the IR's exact semantics (opcodes.ts, interp/arith.ts): wrapping arithmetic, x/0 = 0,
 * x%0 = x, shift amounts modulo the width. Cost: a few bigint operations per call (each
 * allocates; a multiplication walks the bits).
 */
import type { BinaryOpcode, CastOpcode, CompareOpcode, UnaryOpcode } from "@luabpf/ir";
import { INVERTED_COMPARE, SWAPPED_COMPARE } from "@luabpf/ir";
import type { Range } from "./range-lattice.js";

const { asIntN, asUintN } = BigInt;

/** A range's components as bigints (see the file note); `settled`: {@link bigMake} reached its fixed point. */
export interface BigRange extends Range {
  readonly settled: boolean;
}

// Per-width constants, computed once (bigint shifts allocate).
const ONES: bigint[] = [];
const SIGN_BITS: bigint[] = [];
const SMINS: bigint[] = [];
const SMAXS: bigint[] = [];
for (let b = 0; b <= 64; b++) {
  ONES.push((1n << BigInt(b)) - 1n);
  SIGN_BITS.push(b === 0 ? 0n : 1n << BigInt(b - 1));
  SMINS.push(-SIGN_BITS[b]!);
  SMAXS.push(SIGN_BITS[b]! - 1n);
}
const ones = (bits: number): bigint => ONES[bits]!;
const signBit = (bits: number): bigint => SIGN_BITS[bits]!;
const sMinOf = (bits: number): bigint => SMINS[bits]!;
const sMaxOf = (bits: number): bigint => SMAXS[bits]!;
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
/** The number of bits needed to write `x` (x ≥ 0). */
function bitLength(x: bigint): number {
  let n = 0;
  while (x >= 0x100000000n) {
    x >>= 32n;
    n += 32;
  }
  return n + (32 - Math.clz32(Number(x)));
}

/** Every N-bit value. */
export function bigFull(bits: number): BigRange {
  return { bits, value: 0n, mask: ONES[bits]!, umin: 0n, umax: ONES[bits]!, smin: SMINS[bits]!, smax: SMAXS[bits]!, settled: true };
}

/** The one value `v` (any bigint; read modulo 2^N). */
export function bigConstant(bits: number, v: bigint): BigRange {
  const u = asUintN(bits, v);
  const s = asIntN(bits, v);
  return { bits, value: u, mask: 0n, umin: u, umax: u, smin: s, smax: s, settled: true };
}

/** The unsigned interval [lo, hi] (0 ≤ lo ≤ hi < 2^N). */
export function bigUnsigned(bits: number, lo: bigint, hi: bigint): BigRange {
  return bigMake(bits, 0n, ones(bits), lo, hi, sMinOf(bits), sMaxOf(bits))!;
}

const constantOf = (r: BigRange): bigint | undefined => (r.mask === 0n ? asIntN(r.bits, r.value) : undefined);

/** Does `r` contain `v` (read modulo 2^N)? */
export function bigContains(r: BigRange, v: bigint): boolean {
  const u = asUintN(r.bits, v);
  const s = asIntN(r.bits, v);
  return (u & ~r.mask) === r.value && u >= r.umin && u <= r.umax && s >= r.smin && s <= r.smax;
}

/**
 * Builds a synced range from raw components, or undefined when they describe no value.
 * The reg_bounds_sync of the verifier: known bits bound both intervals, an interval that
 * does not cross the sign boundary carries over to the other reading, and the common
 * prefix of umin and umax is known bits. Two rounds reach the fixed point for the cases
 * that matter (the verifier does the same); a range that needed a third is not `settled`.
 */
export function bigMake(bits: number, value: bigint, mask: bigint, umin: bigint, umax: bigint, smin: bigint, smax: bigint): BigRange | undefined {
  let settled = false;
  const M = ones(bits);
  const SIGN = signBit(bits);
  value &= M;
  mask &= M;
  value &= ~mask;
  for (let round = 0; round < 3; round++) {
    const v0 = value, m0 = mask, umin0 = umin, umax0 = umax, smin0 = smin, smax0 = smax;
    // known bits → bounds
    umin = max(umin, value);
    umax = min(umax, value | mask);
    smin = max(smin, asIntN(bits, value | (mask & SIGN)));
    smax = min(smax, asIntN(bits, value | (mask & ~SIGN)));
    if (umin > umax || smin > smax) return undefined;
    // signed ↔ unsigned, where the interval does not cross the sign boundary
    if (smin >= 0n || smax < 0n) {
      umin = max(umin, asUintN(bits, smin));
      umax = min(umax, asUintN(bits, smax));
    }
    if (umax < SIGN || umin >= SIGN) {
      smin = max(smin, asIntN(bits, umin));
      smax = min(smax, asIntN(bits, umax));
    }
    if (umin > umax || smin > smax) return undefined;
    // bounds → known bits: the common prefix of umin and umax
    const span = ones(bitLength(umin ^ umax));
    const tv = umin & ~span;
    if ((tv ^ value) & ~(span | mask) & M) return undefined;
    value |= tv;
    mask &= span;
    value &= ~mask;
    if (value === v0 && mask === m0 && umin === umin0 && umax === umax0 && smin === smin0 && smax === smax0) {
      settled = true;
      break;
    }
  }
  return { bits, value, mask, umin, umax, smin, smax, settled };
}

/** A range from known bits alone. */
function fromTnum(bits: number, value: bigint, mask: bigint): BigRange {
  return bigMake(bits, value, mask, 0n, ones(bits), sMinOf(bits), sMaxOf(bits))!;
}

/** The smallest range holding both (the lattice join). */
export function bigJoin(a: BigRange, b: BigRange): BigRange {
  const mu = a.mask | b.mask | (a.value ^ b.value);
  return bigMake(a.bits, a.value & ~mu, mu, min(a.umin, b.umin), max(a.umax, b.umax), min(a.smin, b.smin), max(a.smax, b.smax))!;
}

/** The values in both, or undefined when there is none. */
export function bigIntersect(a: BigRange, b: BigRange): BigRange | undefined {
  if ((a.value ^ b.value) & ~(a.mask | b.mask)) return undefined;
  return bigMake(a.bits, a.value | b.value, a.mask & b.mask, max(a.umin, b.umin), min(a.umax, b.umax), max(a.smin, b.smin), min(a.smax, b.smax));
}

/** Widening with thresholds (range-lattice.ts widenRange). */
export function bigWiden(prev: BigRange, next: BigRange): BigRange {
  const b = next.bits;
  const up = (x: bigint, top: bigint) => {
    for (const t of WIDEN_STEPS) if (t < top && x <= t) return t;
    return top;
  };
  const down = (x: bigint, bottom: bigint) => {
    for (const t of WIDEN_STEPS) if (-t - 1n > bottom && x >= -t - 1n) return -t - 1n;
    return x >= 0n ? 0n : bottom;
  };
  return bigMake(
    b,
    0n,
    ones(b),
    next.umin < prev.umin ? 0n : next.umin,
    next.umax > prev.umax ? up(next.umax, ones(b)) : next.umax,
    next.smin < prev.smin ? (next.smin >= 0n ? 0n : down(next.smin, sMinOf(b))) : next.smin,
    next.smax > prev.smax ? up(next.smax, sMaxOf(b)) : next.smax,
  )!;
}

/** The upper thresholds of {@link bigWiden}: 2^k - 1 at the C integer types' edges (ascending). */
const WIDEN_STEPS = [0xffn, 0xffffn, 0x7fffffffn, 0xffffffffn];

// ---------------------------------------------------------------------------------------
// Tristate arithmetic (kernel/bpf/tnum.c), modulo 2^N.

interface Tnum {
  value: bigint;
  mask: bigint;
}

function tnumAdd(bits: number, a: Tnum, b: Tnum): Tnum {
  const M = ones(bits);
  const sm = (a.mask + b.mask) & M;
  const sv = (a.value + b.value) & M;
  const sigma = (sm + sv) & M;
  const chi = sigma ^ sv;
  const mu = (chi | a.mask | b.mask) & M;
  return { value: sv & ~mu, mask: mu };
}

function tnumSub(bits: number, a: Tnum, b: Tnum): Tnum {
  const M = ones(bits);
  const dv = (a.value - b.value) & M;
  const alpha = (dv + a.mask) & M;
  const beta = (dv - b.mask) & M;
  const chi = alpha ^ beta;
  const mu = (chi | a.mask | b.mask) & M;
  return { value: dv & ~mu, mask: mu };
}

function tnumMul(bits: number, a: Tnum, b: Tnum): Tnum {
  const M = ones(bits);
  if ((a.value | a.mask) > (b.value | b.mask)) [a, b] = [b, a]; // walk the shorter one's bits
  const accV = (a.value * b.value) & M;
  let accM: Tnum = { value: 0n, mask: 0n };
  let [av, am, bv, bm] = [a.value, a.mask, b.value, b.mask];
  while (av !== 0n || am !== 0n) {
    if (av & 1n) accM = tnumAdd(bits, accM, { value: 0n, mask: bm });
    else if (am & 1n) accM = tnumAdd(bits, accM, { value: 0n, mask: bv | bm });
    av >>= 1n;
    am >>= 1n;
    bv = (bv << 1n) & M;
    bm = (bm << 1n) & M;
  }
  return tnumAdd(bits, { value: accV, mask: 0n }, accM);
}

// ---------------------------------------------------------------------------------------
// Transfer functions.

/** The result range of binary `op` at width N (both ranges N bits wide). */
export function bigBinary(op: BinaryOpcode, a: BigRange, b: BigRange): BigRange {
  const bits = a.bits;
  const M = ones(bits);
  const SMIN = sMinOf(bits);
  const SMAX = sMaxOf(bits);
  const inS = (lo: bigint, hi: bigint): [bigint, bigint] => (lo >= SMIN && hi <= SMAX ? [lo, hi] : [SMIN, SMAX]);
  const build = (t: Tnum, ulo: bigint, uhi: bigint, slo: bigint, shi: bigint): BigRange => bigMake(bits, t.value, t.mask, ulo, uhi, slo, shi) ?? bigFull(bits);
  const kb = constantOf(b);
  switch (op) {
    case "add": {
      const t = tnumAdd(bits, a, b);
      let [ulo, uhi] = [a.umin + b.umin, a.umax + b.umax];
      if (uhi > M) [ulo, uhi] = ulo > M ? [ulo - M - 1n, uhi - M - 1n] : [0n, M];
      const [slo, shi] = inS(a.smin + b.smin, a.smax + b.smax);
      return build(t, ulo, uhi, slo, shi);
    }
    case "sub": {
      const t = tnumSub(bits, a, b);
      let ulo: bigint, uhi: bigint;
      if (a.umin >= b.umax) [ulo, uhi] = [a.umin - b.umax, a.umax - b.umin];
      else if (a.umax < b.umin) [ulo, uhi] = [a.umin - b.umax + M + 1n, a.umax - b.umin + M + 1n];
      else [ulo, uhi] = [0n, M];
      const [slo, shi] = inS(a.smin - b.smax, a.smax - b.smin);
      return build(t, ulo, uhi, slo, shi);
    }
    case "mul": {
      const t = tnumMul(bits, a, b);
      const [ulo, uhi] = a.umax * b.umax <= M ? [a.umin * b.umin, a.umax * b.umax] : [0n, M];
      const corners = [a.smin * b.smin, a.smin * b.smax, a.smax * b.smin, a.smax * b.smax];
      const [slo, shi] = inS(corners.reduce(min), corners.reduce(max));
      return build(t, ulo, uhi, slo, shi);
    }
    case "udiv": {
      // x / 0 = 0, and x / d ≤ x.
      if (b.umin > 0n) return bigUnsigned(bits, a.umin / b.umax, a.umax / b.umin);
      return bigUnsigned(bits, 0n, a.umax);
    }
    case "urem": {
      // x % 0 = x, and x % d < d.
      if (b.umin > 0n) return a.umax < b.umin ? a : bigUnsigned(bits, 0n, min(a.umax, b.umax - 1n));
      return bigUnsigned(bits, 0n, a.umax);
    }
    case "sdiv": {
      if (a.smin >= 0n && b.smin >= 0n) return bigBinary("udiv", a, b);
      if (kb !== undefined && kb > 0n) return bigMake(bits, 0n, M, 0n, M, a.smin / kb, a.smax / kb) ?? bigFull(bits); // truncation is monotone
      return bigFull(bits);
    }
    case "srem": {
      if (a.smin >= 0n && b.smin >= 0n) return bigBinary("urem", a, b);
      if (kb === undefined || kb === 0n) return kb === 0n ? a : bigFull(bits);
      const lim = (kb < 0n ? -kb : kb) - 1n; // |r| < |k|, r has the sign of the dividend
      const lo = a.smin >= 0n ? 0n : max(a.smin, -lim);
      const hi = a.smax <= 0n ? 0n : min(a.smax, lim);
      return bigMake(bits, 0n, M, 0n, M, lo, hi) ?? bigFull(bits);
    }
    case "and": {
      const v = a.value & b.value;
      const t = { value: v, mask: (a.value | a.mask) & (b.value | b.mask) & ~v };
      let [slo, shi] = [SMIN, SMAX];
      if (a.smin >= 0n || b.smin >= 0n) [slo, shi] = [0n, a.smin >= 0n && b.smin >= 0n ? min(a.smax, b.smax) : a.smin >= 0n ? a.smax : b.smax];
      return build(t, 0n, min(a.umax, b.umax), slo, shi);
    }
    case "or": {
      const v = a.value | b.value;
      const t = { value: v, mask: (a.mask | b.mask) & ~v };
      const uhi = ones(bitLength(a.umax | b.umax));
      return build(t, max(a.umin, b.umin), uhi, SMIN, SMAX);
    }
    case "xor": {
      const mu = a.mask | b.mask;
      const t = { value: (a.value ^ b.value) & ~mu, mask: mu };
      return build(t, 0n, ones(bitLength(max(a.umax, b.umax))), SMIN, SMAX);
    }
    case "shl":
    case "lshr":
    case "ashr": {
      const amounts = shiftAmounts(b);
      if (!amounts) return bigFull(bits);
      let out: BigRange | undefined;
      for (const k of amounts) {
        const r = shiftByConstant(op, a, k);
        out = out ? bigJoin(out, r) : r;
      }
      return out!;
    }
  }
}

/** The shift amounts `b` may stand for (its values modulo the width), when few enough to enumerate. */
function shiftAmounts(b: BigRange): bigint[] | undefined {
  const N = BigInt(b.bits);
  const k = constantOf(b);
  if (k !== undefined) return [asUintN(b.bits, k) % N];
  if (b.umax >= N) return undefined;
  const out: bigint[] = [];
  for (let x = b.umin; x <= b.umax; x++) if (bigContains(b, x)) out.push(x);
  return out;
}

function shiftByConstant(op: "shl" | "lshr" | "ashr", a: BigRange, k: bigint): BigRange {
  const bits = a.bits;
  const M = ones(bits);
  if (k === 0n) return a;
  switch (op) {
    case "shl": {
      const t = { value: (a.value << k) & M, mask: (a.mask << k) & M };
      const [ulo, uhi] = a.umax << k <= M ? [a.umin << k, a.umax << k] : [0n, M];
      const [slo, shi] = a.smin << k >= sMinOf(bits) && a.smax << k <= sMaxOf(bits) ? [a.smin << k, a.smax << k] : [sMinOf(bits), sMaxOf(bits)];
      return bigMake(bits, t.value, t.mask, ulo, uhi, slo, shi) ?? bigFull(bits);
    }
    case "lshr":
      return bigMake(bits, a.value >> k, a.mask >> k, a.umin >> k, a.umax >> k, sMinOf(bits), sMaxOf(bits)) ?? bigFull(bits);
    case "ashr": {
      // Shift the bit patterns as signed N-bit numbers: a known sign bit fills known bits in.
      const value = asUintN(bits, asIntN(bits, a.value) >> k);
      const mask = asUintN(bits, asIntN(bits, a.mask) >> k);
      return bigMake(bits, value, mask, 0n, M, a.smin >> k, a.smax >> k) ?? bigFull(bits);
    }
  }
}

/** The result range of unary `op`. */
export function bigUnary(op: UnaryOpcode, a: BigRange): BigRange {
  const bits = a.bits;
  const M = ones(bits);
  switch (op) {
    case "neg":
      return bigBinary("sub", bigConstant(bits, 0n), a);
    case "not":
      return bigMake(bits, ~(a.value | a.mask) & M, a.mask, M - a.umax, M - a.umin, -a.smax - 1n, -a.smin - 1n)!;
    case "bswap": {
      const swap = (x: bigint): bigint => {
        let r = 0n;
        for (let i = 0; i < bits / 8; i++) {
          r = (r << 8n) | (x & 0xffn);
          x >>= 8n;
        }
        return r;
      };
      return fromTnum(bits, swap(a.value), swap(a.mask));
    }
  }
}

/** The result range of cast `op` of `a` (its width is the source width) to `toBits`. */
export function bigCast(op: CastOpcode, a: BigRange, toBits: number): BigRange {
  const from = a.bits;
  switch (op) {
    case "zext":
      return bigMake(toBits, a.value, a.mask, a.umin, a.umax, a.umin, a.umax)!;
    case "sext": {
      const fill = ones(toBits) & ~ones(from);
      const SIGN = signBit(from);
      const value = a.value & SIGN ? a.value | fill : a.value;
      const mask = a.mask & SIGN ? a.mask | fill : a.mask;
      return bigMake(toBits, value, mask, 0n, ones(toBits), a.smin, a.smax)!;
    }
    case "trunc": {
      const M = ones(toBits);
      const [ulo, uhi] = a.umax <= M ? [a.umin, a.umax] : [0n, M];
      const [slo, shi] = a.smin >= sMinOf(toBits) && a.smax <= sMaxOf(toBits) ? [a.smin, a.smax] : [sMinOf(toBits), sMaxOf(toBits)];
      return bigMake(toBits, a.value & M, a.mask & M, ulo, uhi, slo, shi) ?? fromTnum(toBits, a.value & M, a.mask & M);
    }
  }
}

/** Is `a op b` true for every pair (true), false for every pair (false), or either (undefined)? */
export function bigDecide(op: CompareOpcode, a: BigRange, b: BigRange): boolean | undefined {
  switch (op) {
    case "eq":
    case "ne": {
      const differ =
        ((a.value ^ b.value) & ~(a.mask | b.mask)) !== 0n || a.umax < b.umin || b.umax < a.umin || a.smax < b.smin || b.smax < a.smin;
      const ka = constantOf(a);
      const same = ka !== undefined && ka === constantOf(b);
      if (!differ && !same) return undefined;
      return op === "eq" ? same : !same;
    }
    case "ult":
      return a.umax < b.umin ? true : a.umin >= b.umax ? false : undefined;
    case "ule":
      return a.umax <= b.umin ? true : a.umin > b.umax ? false : undefined;
    case "slt":
      return a.smax < b.smin ? true : a.smin >= b.smax ? false : undefined;
    case "sle":
      return a.smax <= b.smin ? true : a.smin > b.smax ? false : undefined;
    case "ugt":
    case "uge":
    case "sgt":
    case "sge":
      return bigDecide(SWAPPED_COMPARE[op], b, a);
  }
}

/** `x` narrowed to the values for which `x op y` is `holds` for some `y` in `y`'s range; undefined when none is left. */
export function bigRefine(x: BigRange, op: CompareOpcode, y: BigRange, holds: boolean): BigRange | undefined {
  if (!holds) op = INVERTED_COMPARE[op];
  const bits = x.bits;
  const M = ones(bits);
  const SMIN = sMinOf(bits);
  const SMAX = sMaxOf(bits);
  const clamp = (ulo: bigint, uhi: bigint, slo: bigint, shi: bigint): BigRange | undefined => {
    if (ulo > uhi || slo > shi) return undefined;
    return bigMake(bits, x.value, x.mask, max(x.umin, ulo), min(x.umax, uhi), max(x.smin, slo), min(x.smax, shi));
  };
  switch (op) {
    case "eq":
      return bigIntersect(x, y);
    case "ne": {
      const k = constantOf(y);
      if (k === undefined) return x;
      const u = asUintN(bits, k);
      let { umin, umax, smin, smax } = x;
      if (umin === u) umin++;
      if (umax === u) umax--;
      if (smin === k) smin++;
      if (smax === k) smax--;
      return clamp(umin, umax, smin, smax);
    }
    case "ult":
      return y.umax === 0n ? undefined : clamp(0n, y.umax - 1n, SMIN, SMAX);
    case "ule":
      return clamp(0n, y.umax, SMIN, SMAX);
    case "ugt":
      return y.umin === M ? undefined : clamp(y.umin + 1n, M, SMIN, SMAX);
    case "uge":
      return clamp(y.umin, M, SMIN, SMAX);
    case "slt":
      return y.smax === SMIN ? undefined : clamp(0n, M, SMIN, y.smax - 1n);
    case "sle":
      return clamp(0n, M, SMIN, y.smax);
    case "sgt":
      return y.smin === SMAX ? undefined : clamp(0n, M, y.smin + 1n, SMAX);
    case "sge":
      return clamp(0n, M, y.smin, SMAX);
  }
}
