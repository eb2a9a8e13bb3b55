/**
 * The value-range lattice: what the eBPF verifier tracks about a scalar register, for IR
 * integers of any width — a tristate number (known bits: `value` holds the bits known to
 * be one, `mask` the unknown bits; kernel/bpf/tnum.c, after Vishwanathan et al.,
 * "Sound, Precise, and Fast Abstract Interpretation with Tristate Numbers", CGO 2022)
 * together with unsigned and signed bounds (the `umin/umax/smin/smax` of
 * `struct bpf_reg_state`), kept consistent with each other the way the verifier's
 * `reg_bounds_sync` does: each of the three views tightens the others.
 *
 * A {@link Range} of width N describes a set of N-bit values: `value`, `mask`, `umin`
 * and `umax` read them unsigned (0 .. 2^N-1), `smin`/`smax` signed. Every range built here
 * is synced, and non-empty: an operation that would give the empty set (a contradictory
 * refinement) returns `undefined` instead.
 *
 * The transfer functions follow the IR's exact semantics (opcodes.ts, interp/arith.ts):
 * wrapping arithmetic, x/0 = 0, x%0 = x, shift amounts modulo the width. Each is sound —
 * the result contains `op(a, b)` for every `a` in the first range and `b` in the second —
 * which test/range-lattice.test.ts checks exhaustively at 8 bits and on random 64-bit
 * ranges.
 *
 * Two forms, one lattice: the reference is written in bigint arithmetic
 * (util/range-bigint.ts), exact at every width; a range whose components all fit in a
 * double — every range of up to 32 bits and the 64-bit ranges within [0, 2^53), most of
 * what a program computes — is kept as numbers, and the common operations on such ranges
 * (join, intersection, refinement, compares, arithmetic, bitwise, shifts, casts) run on
 * numbers (util/range-number.ts), falling back to the bigint form where a result leaves
 * that domain. The full 64-bit range (one shared object) is shifted right, truncated and
 * compared on numbers too. Both forms give the same ranges (test/range-lattice.test.ts compares them on
 * random ranges); the number form costs no allocation beyond the result.
 */
import type { BinaryOpcode, CastOpcode, CompareOpcode, UnaryOpcode } from "@luabpf/ir";
import {
  bigBinary,
  bigCast,
  bigConstant,
  bigContains,
  bigDecide,
  bigFull,
  bigIntersect,
  bigJoin,
  bigRefine,
  bigUnary,
  bigUnsigned,
  bigWiden,
  type BigRange,
} from "./range-bigint.js";
import {
  binaryNumber,
  castNumber,
  constantNumber,
  decideNumber,
  FULL,
  FULL_64,
  fromBig,
  lshrFull64By,
  hasNumberForm,
  intersectNumber,
  joinNumber,
  LatticeRange,
  refineNumber,
  signedOf,
  toBig,
  unaryNumber,
  widenNumber,
} from "./range-number.js";

/** A set of N-bit integers: known bits plus unsigned and signed bounds (see the file note). Built only by this module's functions. */
export interface Range {
  readonly bits: number;
  /** Bits known to be one (never overlaps `mask`). */
  readonly value: bigint;
  /** Bits whose value is unknown. */
  readonly mask: bigint;
  readonly umin: bigint;
  readonly umax: bigint;
  readonly smin: bigint;
  readonly smax: bigint;
}

// Every range is a LatticeRange (range-number.ts); Range is its public face.
const R = (r: Range): LatticeRange => r as LatticeRange;
/** The canonical range of a bigint result, reusing an operand when the result is one. */
const wrapBig = (b: BigRange, x?: LatticeRange, y?: LatticeRange): LatticeRange => (x && b === x.big ? x : y && b === y.big ? y : fromBig(b));
const wrapBigOrEmpty = (b: BigRange | undefined, x?: LatticeRange, y?: LatticeRange): LatticeRange | undefined => (b ? wrapBig(b, x, y) : undefined);
/** Both in number form, of one width: the number path applies. */
const bothSmall = (a: LatticeRange, b: LatticeRange): boolean => a.small && b.small && a.bits === b.bits;
/** Is `r` the full range of `other`'s width? (A full result is always the shared object: range-number.ts fromBig.) */
const isFullOf = (r: LatticeRange, other: LatticeRange): boolean => r === FULL[other.bits];

// Every N-bit value, per width (ranges are immutable, so one object serves every use).
for (let b = 0; b < 64; b++) FULL.push(fromBig(bigFull(b)));
// The full 64-bit range is in bigint form, with number stand-ins for its bounds (see range-number.ts FULL_64).
FULL.push(FULL_64);
/** Is `r` in number form or the full 64-bit range (whose bounds range-number.ts compares exactly with a number form's)? */
const numberOrFull = (r: LatticeRange): boolean => r.small || r === FULL_64;

/** Every N-bit value. */
export function fullRange(bits: number): Range {
  return FULL[bits]!;
}

/** The one value `v` (any bigint; read modulo 2^N). */
export function constantRange(bits: number, v: bigint): Range {
  if (hasNumberForm(bits) && v >= -0x10000000000000n && v < 0x20000000000000n) {
    const x = Number(v);
    if (bits <= 32) return constantNumber(bits, x - Math.floor(x / 2 ** bits) * 2 ** bits);
    if (x >= 0) return constantNumber(bits, x);
  }
  return fromBig(bigConstant(bits, v));
}

/** The unsigned interval [lo, hi] (0 ≤ lo ≤ hi < 2^N). */
export function unsignedRange(bits: number, lo: bigint, hi: bigint): Range {
  return fromBig(bigUnsigned(bits, lo, hi));
}

/** The single value of `r` in the IR's normalized (signed) form, if it has exactly one. */
export function constantOf(r: Range): bigint | undefined {
  const x = R(r);
  if (x.small) return x.m === 0 ? BigInt(signedOf(x.bits, x.v)) : undefined;
  const b = x.big!;
  return b.mask === 0n ? BigInt.asIntN(b.bits, b.value) : undefined;
}

/** Is `r` one value? */
export function isConstantRange(r: Range): boolean {
  const x = R(r);
  return x.small ? x.m === 0 : x.big!.mask === 0n;
}

/** Does `r` contain `v` (read modulo 2^N)? */
export function rangeContains(r: Range, v: bigint): boolean {
  return bigContains(toBig(R(r)), v);
}

export function rangesEqual(a: Range, b: Range): boolean {
  if (a === b) return true;
  const x = R(a);
  const y = R(b);
  if (x.bits !== y.bits || x.small !== y.small) return false;
  if (x.small) return x.v === y.v && x.m === y.m && x.ul === y.ul && x.uh === y.uh && x.sl === y.sl && x.sh === y.sh;
  const p = x.big!;
  const q = y.big!;
  return p.value === q.value && p.mask === q.mask && p.umin === q.umin && p.umax === q.umax && p.smin === q.smin && p.smax === q.smax;
}

/** Is every value of `r` non-negative when read signed? */
export function isNonNegative(r: Range): boolean {
  const x = R(r);
  return x.small ? x.sl >= 0 : x.big!.smin >= 0n;
}

/**
 * Is `r` its own reduction — would building it again from its components give the same
 * range (so that, for instance, `intersectRanges(r, r)` equals `r`)? True of every range
 * except the rare ones whose reduction stopped at its round limit.
 */
export function isSettled(r: Range): boolean {
  return R(r).settled;
}

/** The smallest range holding both (the lattice join). */
export function joinRanges(a: Range, b: Range): Range {
  const x = R(a);
  const y = R(b);
  if (isFullOf(x, y) || isFullOf(y, x)) return FULL[x.bits]!;
  if (bothSmall(x, y)) {
    const r = joinNumber(x, y);
    if (r) return r;
  }
  return wrapBig(bigJoin(toBig(x), toBig(y)));
}

/** The values in both, or undefined when there is none. */
export function intersectRanges(a: Range, b: Range): Range | undefined {
  const x = R(a);
  const y = R(b);
  // The full range takes nothing away: the other one, if building it again gives it back.
  if (isFullOf(y, x) && x.settled) return x;
  if (isFullOf(x, y) && y.settled) return y;
  if (bothSmall(x, y)) {
    const r = intersectNumber(x, y);
    if (r !== null) return r;
  }
  return wrapBigOrEmpty(bigIntersect(toBig(x), toBig(y)));
}

/**
 * Widening for loops, with thresholds (Cousot & Cousot 1992; the "widening up to" of
 * Halbwachs et al.): each bound that moved since `prev` jumps to the next of a few
 * thresholds at the edges of the C integer types (a byte, a 16-bit word, a signed and an
 * unsigned 32-bit word, then the type's extreme), and only the known bits those bounds imply
 * are kept. A value growing around a loop reaches a fixed point in a few steps, and one that
 * stays inside a type's range (a bisection between 0 and 256, a Newton step on a u32) keeps
 * a bound the narrowing sweeps and the sign rules can use. Each bound passes each threshold
 * at most once, so the height stays finite.
 */
export function widenRange(prev: Range, next: Range): Range {
  const x = R(prev);
  const y = R(next);
  if (isFullOf(y, x)) return y;
  if (bothSmall(x, y)) {
    const r = widenNumber(x, y);
    if (r) return r;
  }
  return wrapBig(bigWiden(toBig(x), toBig(y)));
}

/** The result range of binary `op` at width N (both ranges N bits wide). */
export function binaryRange(op: BinaryOpcode, a: Range, b: Range): Range {
  const x = R(a);
  const y = R(b);
  // x + y, x - y and x ^ y take every value when either operand does (each is a bijection in the other).
  if ((op === "add" || op === "sub" || op === "xor") && (isFullOf(x, y) || isFullOf(y, x))) return FULL[x.bits]!;
  // Every 64-bit value shifted right (a loaded u64's high word, a hash's top bits, a loop's
  // shift by its counter): no bigint shift per amount.
  if (op === "lshr" && x === FULL_64 && y.small) {
    const r = lshrFull64By(y, lshrFullBig);
    if (r) return r;
  }
  if (bothSmall(x, y)) {
    const r = binaryNumber(op, x, y);
    if (r) return r;
  }
  return wrapBig(bigBinary(op, toBig(x), toBig(y)), x, y);
}

/** The full 64-bit range shifted right by k (k < 64) in the bigint form, once per k (a function of k alone). */
const LSHR_FULL_BIG: LatticeRange[] = [];
const lshrFullBig = (k: number): LatticeRange => (LSHR_FULL_BIG[k] ??= wrapBig(bigBinary("lshr", FULL_64.big!, bigConstant(64, BigInt(k))), FULL_64));

/** The result range of unary `op`. */
export function unaryRange(op: UnaryOpcode, a: Range): Range {
  const x = R(a);
  if (op === "neg") return binaryRange("sub", constantRange(x.bits, 0n), a);
  if (x.small) {
    const r = unaryNumber(op, x);
    if (r) return r;
  }
  return wrapBig(bigUnary(op, toBig(x)), x);
}

/** The result range of cast `op` of `a` (its width is the source width) to `toBits`. */
export function castRange(op: CastOpcode, a: Range, toBits: number): Range {
  const x = R(a);
  if (x.small) {
    const r = castNumber(op, x, toBits);
    if (r) return r;
  }
  // Truncating every 64-bit value gives every value of the narrower width.
  if (x === FULL_64 && op === "trunc" && toBits <= 32) return FULL[toBits]!;
  return wrapBig(bigCast(op, toBig(x), toBits), x);
}

/** Is `a op b` true for every pair (true), false for every pair (false), or either (undefined)? */
export function decideCompare(op: CompareOpcode, a: Range, b: Range): boolean | undefined {
  const x = R(a);
  const y = R(b);
  if (bothSmall(x, y)) return decideNumber(op, x, y);
  // The full 64-bit range against a number form or itself: it is no constant and meets every
  // range (eq/ne undecided), and its bounds' stand-ins compare with a number form's bounds
  // (all below 2^53) as the exact bounds do.
  if ((x === FULL_64 || y === FULL_64) && numberOrFull(x) && numberOrFull(y) && x.bits === y.bits) return op === "eq" || op === "ne" ? undefined : decideNumber(op, x, y);
  return bigDecide(op, toBig(x), toBig(y));
}

/**
 * `x` narrowed to the values for which `x op y` is `holds` for some `y` in `y`'s range
 * (the verifier's branch refinement, reg_set_min_max); undefined when none is left.
 */
export function refineByCompare(x: Range, op: CompareOpcode, y: Range, holds: boolean): Range | undefined {
  const a = R(x);
  const b = R(y);
  if (bothSmall(a, b)) {
    const r = refineNumber(a, op, b, holds);
    if (r !== null) return r;
  }
  return wrapBigOrEmpty(bigRefine(toBig(a), op, toBig(b), holds), a, b);
}

/** Readable form for tests and debugging: `i64 [0, 255] s[0, 255] bits xx..x01`. */
export function formatRange(r: Range): string {
  const b = toBig(R(r));
  const k = constantOf(r);
  if (k !== undefined) return `i${b.bits} ${k}`;
  const ones = (1n << BigInt(b.bits)) - 1n;
  return `i${b.bits} u[${b.umin}, ${b.umax}] s[${b.smin}, ${b.smax}] known 0x${(~b.mask & ones).toString(16)}=0x${b.value.toString(16)}`;
}

/**
 * The bigint form's answers, for tests that compare the two forms (every operation above
 * computed in bigint arithmetic only, the result in its canonical form).
 * @internal
 */
export const bigintLattice = {
  joinRanges: (a: Range, b: Range): Range => wrapBig(bigJoin(toBig(R(a)), toBig(R(b)))),
  intersectRanges: (a: Range, b: Range): Range | undefined => wrapBigOrEmpty(bigIntersect(toBig(R(a)), toBig(R(b)))),
  binaryRange: (op: BinaryOpcode, a: Range, b: Range): Range => wrapBig(bigBinary(op, toBig(R(a)), toBig(R(b))), R(a), R(b)),
  unaryRange: (op: UnaryOpcode, a: Range): Range =>
    op === "neg" ? wrapBig(bigBinary("sub", bigConstant(a.bits, 0n), toBig(R(a))), R(a)) : wrapBig(bigUnary(op, toBig(R(a))), R(a)),
  castRange: (op: CastOpcode, a: Range, toBits: number): Range => wrapBig(bigCast(op, toBig(R(a)), toBits), R(a)),
  decideCompare: (op: CompareOpcode, a: Range, b: Range): boolean | undefined => bigDecide(op, toBig(R(a)), toBig(R(b))),
  refineByCompare: (x: Range, op: CompareOpcode, y: Range, holds: boolean): Range | undefined => wrapBigOrEmpty(bigRefine(toBig(R(x)), op, toBig(R(y)), holds), R(x), R(y)),
  widenRange: (prev: Range, next: Range): Range => wrapBig(bigWiden(toBig(R(prev)), toBig(R(next)))),
  /** Is `r` held in the number form? */
  isNumberForm: (r: Range): boolean => R(r).small,
};
