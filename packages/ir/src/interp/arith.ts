/**
 * Integer semantics of the pure opcodes, as bigint functions specialised per width.
 *
 * Values of type iN are held normalized to the signed range (`BigInt.asIntN(N, v)`), like
 * `Constant.value`. The functions returned by `binaryOp` & co. assume normalized inputs and
 * return normalized results; the `eval*` wrappers normalize their inputs first, so that a
 * constant folder can share these exact semantics.
 *
 * eBPF rules (see opcodes.ts): x/0 = 0, x%0 = x, INT_MIN/-1 = INT_MIN, INT_MIN%-1 = 0,
 * shift amounts taken modulo the width, division truncates toward zero.
 */
import type { BinaryOpcode, CastOpcode, CompareOpcode, UnaryOpcode } from "../opcodes.js";
import type { IntBits } from "../types.js";

export type IntBinaryFn = (a: bigint, b: bigint) => bigint;
export type IntUnaryFn = (a: bigint) => bigint;

const { asIntN, asUintN } = BigInt;

const BINARY: Record<BinaryOpcode, (n: number) => IntBinaryFn> = {
  add: (n) => (a, b) => asIntN(n, a + b),
  sub: (n) => (a, b) => asIntN(n, a - b),
  mul: (n) => (a, b) => asIntN(n, a * b),
  udiv: (n) => (a, b) => {
    const ub = asUintN(n, b);
    return ub === 0n ? 0n : asIntN(n, asUintN(n, a) / ub);
  },
  // bigint division truncates; INT_MIN / -1 = 2^(n-1) wraps back to INT_MIN.
  sdiv: (n) => (a, b) => (b === 0n ? 0n : asIntN(n, a / b)),
  urem: (n) => (a, b) => {
    const ub = asUintN(n, b);
    return ub === 0n ? a : asIntN(n, asUintN(n, a) % ub);
  },
  // The remainder has the dividend's sign and |r| < |b|, so it is already in range.
  srem: () => (a, b) => (b === 0n ? a : a % b),
  and: () => (a, b) => a & b,
  or: () => (a, b) => a | b,
  xor: () => (a, b) => a ^ b,
  // `b & (n-1)` is b mod n for any two's-complement b, n a power of two.
  shl: (n) => {
    const m = BigInt(n - 1);
    return (a, b) => asIntN(n, a << (b & m));
  },
  lshr: (n) => {
    const m = BigInt(n - 1);
    return (a, b) => asIntN(n, asUintN(n, a) >> (b & m));
  },
  ashr: (n) => {
    const m = BigInt(n - 1);
    return (a, b) => a >> (b & m);
  },
};

const UNARY: Record<UnaryOpcode, (n: number) => IntUnaryFn> = {
  neg: (n) => (a) => asIntN(n, -a),
  not: () => (a) => ~a,
  bswap: (n) => {
    const bytes = n / 8;
    return (a) => {
      let u = asUintN(n, a);
      let r = 0n;
      for (let k = 0; k < bytes; k++) {
        r = (r << 8n) | (u & 0xffn);
        u >>= 8n;
      }
      return asIntN(n, r);
    };
  },
};

const COMPARE: Record<CompareOpcode, (n: number) => (a: bigint, b: bigint) => boolean> = {
  eq: () => (a, b) => a === b,
  ne: () => (a, b) => a !== b,
  ult: (n) => (a, b) => asUintN(n, a) < asUintN(n, b),
  ule: (n) => (a, b) => asUintN(n, a) <= asUintN(n, b),
  ugt: (n) => (a, b) => asUintN(n, a) > asUintN(n, b),
  uge: (n) => (a, b) => asUintN(n, a) >= asUintN(n, b),
  slt: () => (a, b) => a < b,
  sle: () => (a, b) => a <= b,
  sgt: () => (a, b) => a > b,
  sge: () => (a, b) => a >= b,
};

function memo<K extends string, F>(table: Record<K, (n: number) => F>): (op: K, bits: number) => F {
  const cache = new Map<string, F>();
  return (op, bits) => {
    const key = `${op}${bits}`;
    let f = cache.get(key);
    if (!f) cache.set(key, (f = table[op](bits)));
    return f;
  };
}

/** The function computing `op` on normalized `bits`-wide operands. */
export const binaryOp: (op: BinaryOpcode, bits: number) => IntBinaryFn = memo(BINARY);
/** The function computing unary `op` on a normalized `bits`-wide operand. */
export const unaryOp: (op: UnaryOpcode, bits: number) => IntUnaryFn = memo(UNARY);
/** The predicate of compare `op` on normalized `bits`-wide operands. */
export const comparePredicate: (op: CompareOpcode, bits: number) => (a: bigint, b: bigint) => boolean = memo(COMPARE);

/** The function computing cast `op` from `fromBits` to `toBits`. */
export function castOp(op: CastOpcode, fromBits: number, toBits: number): IntUnaryFn {
  switch (op) {
    case "zext":
      return (a) => asIntN(toBits, asUintN(fromBits, a));
    case "sext":
      return (a) => asIntN(fromBits, a);
    case "trunc":
      return (a) => asIntN(toBits, a);
  }
}

/** `a op b` at width `bits` (inputs are normalized first). */
export function evalBinary(op: BinaryOpcode, bits: IntBits, a: bigint, b: bigint): bigint {
  return binaryOp(op, bits)(asIntN(bits, a), asIntN(bits, b));
}
/** `op a` at width `bits`. */
export function evalUnary(op: UnaryOpcode, bits: IntBits, a: bigint): bigint {
  return unaryOp(op, bits)(asIntN(bits, a));
}
/** Cast `a` (an i`fromBits`) to i`toBits`. */
export function evalCast(op: CastOpcode, fromBits: IntBits, toBits: IntBits, a: bigint): bigint {
  return castOp(op, fromBits, toBits)(asIntN(fromBits, a));
}
/** Compare at width `bits`: 1n or 0n. */
export function evalCompare(op: CompareOpcode, bits: IntBits, a: bigint, b: bigint): bigint {
  return comparePredicate(op, bits)(asIntN(bits, a), asIntN(bits, b)) ? 1n : 0n;
}
/** `select c, a, b` at width `bits`: `c != 0 ? a : b`, normalized. */
export function evalSelect(bits: IntBits, c: bigint, a: bigint, b: bigint): bigint {
  return asIntN(bits, c !== 0n ? a : b);
}

/** The shift amount a shift by `amount` at width `bits` uses: `amount mod bits`. */
export function shiftAmount(bits: number, amount: bigint): bigint {
  return asUintN(bits, amount) % BigInt(bits);
}

/** If `x` (read unsigned in `bits`) is a power of two 2^k with k ≥ 0, returns k; else -1. */
export function log2Exact(bits: number, x: bigint): number {
  const u = asUintN(bits, x);
  if (u === 0n || (u & (u - 1n)) !== 0n) return -1;
  return u.toString(2).length - 1;
}
