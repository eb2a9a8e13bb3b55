/**
 * Lua 5.4 integer semantics on 64-bit two's-complement bigints, used for compile-time
 * constants (top-level `local N = 4 * 1024`) and numeric literals. The IR sequences the
 * lowering emits for the same operators (lower-ops.ts) compute exactly these functions;
 * the tests check the two against each other.
 *
 * Division by zero cannot raise Lua's error in the kernel, so it follows eBPF instead:
 * `x // 0 == 0` and `x % 0 == x`.
 */

const { asIntN, asUintN } = BigInt;

/** Wraps to the signed 64-bit range. */
export function wrap(x: bigint): bigint {
  return asIntN(64, x);
}

/** Floor division (rounds toward minus infinity); `x // 0 == 0`. */
export function floorDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  const q = a / b; // truncates toward zero
  const r = a % b;
  return wrap(r !== 0n && r < 0n !== b < 0n ? q - 1n : q);
}

/** Floor modulo (the result has the divisor's sign); `x % 0 == x`. */
export function floorMod(a: bigint, b: bigint): bigint {
  if (b === 0n) return a;
  const r = a % b;
  return r !== 0n && r < 0n !== b < 0n ? r + b : r;
}

/** `a << n`: negative `n` shifts right, |n| >= 64 gives 0 (Lua 5.4). */
export function shiftLeft(a: bigint, n: bigint): bigint {
  if (n <= -64n || n >= 64n) return 0n;
  if (n >= 0n) return wrap(a << n);
  return wrap(asUintN(64, a) >> -n);
}

/** `a >> n`: a logical shift; negative `n` shifts left (Lua 5.4). */
export function shiftRight(a: bigint, n: bigint): bigint {
  return shiftLeft(a, -n);
}

/** The result of evaluating a binary integer operator at compile time. */
export function evalBinary(op: ArithOperator, a: bigint, b: bigint): bigint {
  switch (op) {
    case "+":
      return wrap(a + b);
    case "-":
      return wrap(a - b);
    case "*":
      return wrap(a * b);
    case "//":
      return floorDiv(a, b);
    case "%":
      return floorMod(a, b);
    case "&":
      return a & b;
    case "|":
      return a | b;
    case "~":
      return a ^ b;
    case "<<":
      return shiftLeft(a, b);
    case ">>":
      return shiftRight(a, b);
  }
}

/** The integer operators of the dialect. */
export type ArithOperator = "+" | "-" | "*" | "//" | "%" | "&" | "|" | "~" | "<<" | ">>";
export const ARITH_OPERATORS: ReadonlySet<string> = new Set<ArithOperator>(["+", "-", "*", "//", "%", "&", "|", "~", "<<", ">>"]);

/** What a numeric literal's source text denotes. */
export type LiteralValue = { kind: "integer"; value: bigint } | { kind: "float" } | { kind: "overflow" };

/**
 * Parses the raw text of a Lua numeric literal. Hexadecimal integers wrap around modulo
 * 2^64 as in Lua 5.4; a decimal integer that does not fit is a float in Lua, which the
 * dialect reports as an overflow.
 */
export function parseNumericLiteral(raw: string): LiteralValue {
  // A decimal literal of up to 15 digits (most of them) is exact as a double: read it
  // directly (generated programs have thousands of distinct ones, which only churned the cache).
  if (raw.length > 0 && raw.length <= MAX_SHORT_DECIMAL) {
    let value = 0;
    for (let i = 0; i < raw.length; i++) {
      const digit = raw.charCodeAt(i) - 0x30;
      if (digit < 0 || digit > 9) {
        value = -1;
        break;
      }
      value = value * 10 + digit;
    }
    if (value >= 0) return value < SMALL_LITERALS.length ? SMALL_LITERALS[value]! : { kind: "integer", value: BigInt(value) };
  }
  let known = literalCache.get(raw);
  if (known === undefined) {
    if (literalCache.size >= LITERAL_CACHE_SIZE) literalCache.clear();
    literalCache.set(raw, (known = Object.freeze(parseLiteral(raw))));
  }
  return known;
}

/** Decimal digits whose value a double holds exactly, whatever they are (10^15 < 2^53). */
const MAX_SHORT_DECIMAL = 15;

/** The values of the decimal literals 0..255, shared. */
const SMALL_LITERALS: readonly LiteralValue[] = Array.from({ length: 256 }, (_, v) => Object.freeze({ kind: "integer" as const, value: BigInt(v) }));

/** Literals parsed so far (the same few recur in every file: 0x1, 0xff, ...); cleared when full. */
const literalCache = new Map<string, LiteralValue>();
const LITERAL_CACHE_SIZE = 4096;

function parseLiteral(raw: string): LiteralValue {
  const text = raw.trim();
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return { kind: "integer", value: wrap(BigInt(text)) };
  if (/^[0-9]+$/.test(text)) {
    const v = BigInt(text);
    return v > 0x7fff_ffff_ffff_ffffn ? { kind: "overflow" } : { kind: "integer", value: v };
  }
  return { kind: "float" };
}
