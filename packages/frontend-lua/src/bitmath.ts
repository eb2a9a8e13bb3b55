/**
 * The integer semantics of LuaJIT's `bit` library and bcc's `math.log2` family as the
 * dialect defines them, on 64-bit two's-complement bigints. Program bodies compile these
 * functions to eBPF (lower/library.ts emits the matching IR, and the tests check the two
 * agree); the top level evaluates them with these definitions, so a constant computed at
 * compile time equals the same expression computed in the kernel.
 *
 * bcc compiles `bit.band`/`bor`/`bxor`/`lshift`/`rshift`/`arshift` to 64-bit ALU
 * instructions, i.e. LuaJIT's `bit` semantics on `int64_t` cdata, not its 32-bit
 * semantics on Lua numbers. The dialect does the same for every function of the library:
 * shift and rotate counts are taken modulo 64, `bswap` reverses all 8 bytes, and
 * `tobit` alone narrows (to a signed 32-bit value). bcc compiled `bit.bnot` to a negation
 * (`NEG`), a plain bug: here it is the bitwise complement.
 */
import { wrap } from "./integer.js";

export const BIT_FUNCTIONS = ["band", "bor", "bxor", "bnot", "lshift", "rshift", "arshift", "rol", "ror", "bswap", "tobit"] as const;
export type BitFunction = (typeof BIT_FUNCTIONS)[number];

/** How many arguments each takes: `band`/`bor`/`bxor` any number ≥ 1. */
export const BIT_ARITY: Readonly<Record<BitFunction, number | "variadic">> = {
  band: "variadic",
  bor: "variadic",
  bxor: "variadic",
  bnot: 1,
  lshift: 2,
  rshift: 2,
  arshift: 2,
  rol: 2,
  ror: 2,
  bswap: 1,
  tobit: 1,
};

const u64 = (x: bigint) => BigInt.asUintN(64, x);

/** `bit.<fn>(...xs)`, or an error message for a wrong argument count. */
export function bitOperation(fn: string, xs: readonly bigint[]): bigint | string {
  const arity = BIT_ARITY[fn as BitFunction];
  if (arity === undefined) return `the bit library has no function '${fn}'`;
  if (arity === "variadic" ? xs.length < 1 : xs.length !== arity) {
    return `bit.${fn} takes ${arity === "variadic" ? "at least one argument" : arity === 1 ? "one argument" : `${arity} arguments`}`;
  }
  const [a = 0n, b = 0n] = xs;
  const n = BigInt.asUintN(6, b);
  switch (fn as BitFunction) {
    case "band":
      return xs.reduce((x, y) => x & y);
    case "bor":
      return xs.reduce((x, y) => x | y);
    case "bxor":
      return xs.reduce((x, y) => x ^ y);
    case "bnot":
      return ~a;
    case "lshift":
      return wrap(a << n);
    case "rshift":
      return wrap(u64(a) >> n);
    case "arshift":
      return a >> n;
    case "rol":
      return wrap((u64(a) << n) | (u64(a) >> ((64n - n) & 63n)));
    case "ror":
      return wrap((u64(a) >> n) | (u64(a) << ((64n - n) & 63n)));
    case "bswap": {
      let v = u64(a);
      let r = 0n;
      for (let i = 0; i < 8; i++) {
        r = (r << 8n) | (v & 0xffn);
        v >>= 8n;
      }
      return wrap(r);
    }
    case "tobit":
      return BigInt.asIntN(32, a);
  }
}

/**
 * `math.log2(x)`: the index of the highest set bit of x as an unsigned 64-bit number
 * (floor of the base-2 logarithm), 0 for 0. `math.log10` and `math.log` are bcc's integer
 * approximations built on it: `(log2(x) + 1) * 1233 >> 12` and `(log2(x) + 1) * 2839 >> 12`
 * (1233/4096 ≈ log10(2), 2839/4096 ≈ ln(2)... as bcc scales them).
 */
export function mathLog(fn: "log2" | "log10" | "log", x: bigint): bigint {
  let v = u64(x);
  let r = 0n;
  while (v > 1n) {
    v >>= 1n;
    r++;
  }
  if (fn === "log2") return r;
  return ((r + 1n) * (fn === "log10" ? 1233n : 2839n)) >> 12n;
}
