/**
 * The value-range lattice (util/range-lattice.ts) against the IR's exact semantics: every
 * transfer function must contain the folded result of every pair of members (soundness),
 * checked exhaustively over the members at 8 bits and on sampled members at 64 bits; joins,
 * intersections, refinements and decided compares likewise. A few precision checks pin
 * the facts the optimiser relies on (a zero-extended load shifted right by its width is 0).
 */
import fc from "fast-check";
import { intType, type BinaryOpcode, type CastOpcode, type CompareOpcode, type IntBits, type UnaryOpcode } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { evaluate } from "../src/util/fold.js";
import {
  binaryRange,
  castRange,
  constantOf,
  constantRange,
  decideCompare,
  fullRange,
  intersectRanges,
  joinRanges,
  rangeContains,
  refineByCompare,
  unaryRange,
  unsignedRange,
  widenRange,
  formatRange,
  bigintLattice,
  isSettled,
  type Range,
} from "../src/util/range-lattice.js";

const BINARY: BinaryOpcode[] = ["add", "sub", "mul", "udiv", "sdiv", "urem", "srem", "and", "or", "xor", "shl", "lshr", "ashr"];
const UNARY: UnaryOpcode[] = ["neg", "not"];
const CASTS: CastOpcode[] = ["zext", "sext", "trunc"];
const COMPARES: CompareOpcode[] = ["eq", "ne", "ult", "ule", "ugt", "uge", "slt", "sle", "sgt", "sge"];

/** A range abstracting a few concrete values, sometimes narrowed by a compare. */
function rangeArb(bits: number): fc.Arbitrary<{ range: Range; members: bigint[] }> {
  const val = fc.bigInt({ min: -(1n << BigInt(bits - 1)), max: (1n << BigInt(bits - 1)) - 1n });
  const small = fc.bigInt({ min: -4n, max: 20n });
  const anyVal = fc.oneof(val, small);
  return fc
    .tuple(fc.array(anyVal, { minLength: 1, maxLength: 4 }), fc.option(fc.tuple(fc.constantFrom(...COMPARES), anyVal, fc.boolean()), { nil: undefined }), fc.boolean())
    .map(([vals, refine, wide]) => {
      let r = vals.map((v) => constantRange(bits, v)).reduce(joinRanges);
      if (wide) r = joinRanges(r, fullRange(bits));
      if (refine) r = refineByCompare(r, refine[0], constantRange(bits, refine[1]), refine[2]) ?? r;
      return { range: r, members: vals.map((v) => BigInt.asIntN(bits, v)).filter((v) => rangeContains(r, v)) };
    });
}

/** Members of `r` to test: all of them at 8 bits, else the seeds plus the bounds. */
function membersOf(r: Range, seeds: bigint[]): bigint[] {
  if (r.bits === 8) {
    const out: bigint[] = [];
    for (let v = -128n; v < 128n; v++) if (rangeContains(r, v)) out.push(v);
    return out;
  }
  const extra = [r.umin, r.umax, r.smin, r.smax, BigInt.asIntN(r.bits, r.value), BigInt.asIntN(r.bits, r.value | r.mask)];
  return [...seeds, ...extra.map((v) => BigInt.asIntN(r.bits, v))].filter((v) => rangeContains(r, v));
}

const T = (bits: number) => intType(bits as IntBits);

describe("range lattice: soundness against the folder", () => {
  for (const bits of [8, 64]) {
    const runs = bits === 8 ? 60 : 300;
    test(`binary operations at ${bits} bits`, () => {
      fc.assert(
        fc.property(rangeArb(bits), rangeArb(bits), fc.constantFrom(...BINARY), (a, b, op) => {
          const r = binaryRange(op, a.range, b.range);
          const ma = membersOf(a.range, a.members);
          const mb = membersOf(b.range, b.members);
          for (const x of ma)
            for (const y of mb) {
              const v = evaluate(op, T(bits), T(bits), [x, y]);
              if (!rangeContains(r, v)) throw new Error(`${op} ${x}, ${y} = ${v} not in ${formatRange(r)} (a ${formatRange(a.range)}, b ${formatRange(b.range)})`);
            }
        }),
        { numRuns: runs },
      );
    });
    test(`unary operations, casts and compares at ${bits} bits`, () => {
      fc.assert(
        fc.property(rangeArb(bits), rangeArb(bits), fc.constantFrom(...COMPARES), fc.boolean(), (a, b, cmp, holds) => {
          const ma = membersOf(a.range, a.members);
          const mb = membersOf(b.range, b.members);
          const fail = (what: string) => {
            throw new Error(`${what} (a ${formatRange(a.range)}, b ${formatRange(b.range)})`);
          };
          for (const op of UNARY) {
            const r = unaryRange(op, a.range);
            for (const x of ma) if (!rangeContains(r, evaluate(op, T(bits), T(bits), [x]))) fail(`${op} ${x}`);
          }
          for (const to of [8, 16, 32, 64]) {
            const ops: CastOpcode[] = to > bits ? ["zext", "sext"] : to < bits ? ["trunc"] : [];
            for (const op of ops) {
              const r = castRange(op, a.range, to);
              for (const x of ma) if (!rangeContains(r, evaluate(op, T(bits), T(to), [x]))) fail(`${op} ${x} to i${to}`);
            }
          }
          const decided = decideCompare(cmp, a.range, b.range);
          const refined = refineByCompare(a.range, cmp, b.range, holds);
          const joined = joinRanges(a.range, b.range);
          const both = intersectRanges(a.range, b.range);
          const widened = widenRange(a.range, joined);
          for (const x of ma) {
            if (!rangeContains(joined, x) || !rangeContains(widened, x)) fail(`join/widen lost ${x}`);
            if (rangeContains(b.range, x) && !(both && rangeContains(both, x))) fail(`intersection lost ${x}`);
            for (const y of mb) {
              const truth = evaluate(cmp, T(bits), T(64), [x, y]) === 1n;
              if (decided !== undefined && truth !== decided) fail(`${cmp} ${x}, ${y} decided ${decided}`);
              if (truth === holds && !(refined !== undefined && rangeContains(refined, x))) fail(`refine ${cmp} ${holds} lost ${x} (${y})`);
            }
          }
          for (const y of mb) if (!rangeContains(joined, y) || !rangeContains(widened, y)) fail(`join/widen lost ${y}`);
        }),
        { numRuns: runs },
      );
    });
  }
});

describe("range lattice: precision the optimiser relies on", () => {
  const u32 = castRange("zext", fullRange(32), 64);
  test("a zero-extended i32 is [0, 2^32-1] and non-negative", () => {
    expect([u32.umin, u32.umax, u32.smin, u32.smax]).toEqual([0n, 0xffffffffn, 0n, 0xffffffffn]);
  });
  test("shifting it right by 32 gives 0; masking it with 0xffffffff changes nothing", () => {
    expect(constantOf(binaryRange("lshr", u32, constantRange(64, 32n)))).toBe(0n);
    const masked = binaryRange("and", u32, constantRange(64, 0xffffffffn));
    expect(masked.mask).toBe(u32.mask);
  });
  test("x - 100 of a zero-extended i32 cannot overflow: signed [-100, 2^32-101]", () => {
    const d = binaryRange("sub", u32, constantRange(64, 100n));
    expect([d.smin, d.smax]).toEqual([-100n, 0xffffffffn - 100n]);
  });
  test("a byte's high nibble is at most 15; (x & 15) << 2 is a multiple of 4 at most 60", () => {
    const byte = castRange("zext", fullRange(8), 64);
    expect(binaryRange("lshr", byte, constantRange(64, 4n)).umax).toBe(15n);
    const hl = binaryRange("shl", binaryRange("and", byte, constantRange(64, 15n)), constantRange(64, 2n));
    expect([hl.umax, hl.value, hl.mask]).toEqual([60n, 0n, 0x3cn]);
  });
  test("refinement: x < 10 on a byte is [0, 9]; x == 3 is the constant; contradictions are empty", () => {
    const byte = castRange("zext", fullRange(8), 64);
    expect(refineByCompare(byte, "ult", constantRange(64, 10n), true)?.umax).toBe(9n);
    expect(constantOf(refineByCompare(byte, "eq", constantRange(64, 3n), true)!)).toBe(3n);
    expect(refineByCompare(byte, "ugt", constantRange(64, 300n), true)).toBeUndefined();
    expect(refineByCompare(unsignedRange(64, 5n, 5n), "ne", constantRange(64, 5n), true)).toBeUndefined();
  });
  test("compares decided by the bounds", () => {
    const byte = castRange("zext", fullRange(8), 64);
    expect(decideCompare("slt", byte, constantRange(64, 0n))).toBe(false);
    expect(decideCompare("ult", byte, constantRange(64, 256n))).toBe(true);
    expect(decideCompare("eq", byte, constantRange(64, 300n))).toBe(false);
    expect(decideCompare("ult", byte, constantRange(64, 100n))).toBeUndefined();
  });
});

describe("range lattice: the number form gives the bigint form's ranges", () => {
  // Ranges of every width with a number form, their values drawn where the forms meet: small
  // values, values near 2^31, 2^32 and 2^53 (the number form's 64-bit limit), negative and huge
  // ones (the bigint form), shaped by joins, masks, shifts and refinements.
  const edge = (p: bigint) => fc.bigInt({ min: p - 40n, max: p + 40n });
  function formArb(bits: number): fc.Arbitrary<Range> {
    const top = 1n << BigInt(bits);
    const val = fc.oneof(
      fc.bigInt({ min: -8n, max: 40n }),
      fc.bigInt({ min: 0n, max: top - 1n }),
      edge(1n << 31n),
      edge(1n << 32n),
      edge(1n << 53n),
      fc.bigInt({ min: 0n, max: 1n << 44n }),
      fc.bigInt({ min: 0n, max: 1n << 52n }),
      fc.bigInt({ min: -(top >> 1n), max: top - 1n }),
    );
    const step = fc.tuple(fc.constantFrom("join", "and", "or", "shl", "lshr", "add", "refine"), val, fc.constantFrom(...COMPARES), fc.boolean());
    return fc.tuple(val, fc.array(step, { maxLength: 4 }), fc.boolean(), fc.nat(9)).map(([v0, steps, wide, full]) => {
      if (full === 0) return fullRange(bits);
      let r = constantRange(bits, v0);
      if (wide) r = joinRanges(r, castRange("zext", fullRange(bits === 8 ? 4 : bits / 2), bits));
      for (const [what, v, cmp, holds] of steps) {
        const k = constantRange(bits, v);
        if (what === "join") r = joinRanges(r, k);
        else if (what === "refine") r = refineByCompare(r, cmp, k, holds) ?? r;
        else if (what === "shl" || what === "lshr") r = binaryRange(what, r, constantRange(bits, v & 7n));
        else r = binaryRange(what, r, k);
      }
      return r;
    });
  }
  const same = (what: string, fast: Range | undefined, slow: Range | undefined): void => {
    if (fast === undefined || slow === undefined) {
      if (fast !== slow) throw new Error(`${what}: ${fast && formatRange(fast)} against ${slow && formatRange(slow)}`);
      return;
    }
    const parts = (r: Range) => [r.bits, r.value, r.mask, r.umin, r.umax, r.smin, r.smax, isSettled(r), bigintLattice.isNumberForm(r)].join(" ");
    if (parts(fast) !== parts(slow)) throw new Error(`${what}:\n  number ${parts(fast)}\n  bigint ${parts(slow)}`);
  };
  for (const bits of [8, 16, 32, 64]) {
    test(`${bits} bits: every operation`, () => {
      fc.assert(
        fc.property(formArb(bits), formArb(bits), fc.constantFrom(...COMPARES), fc.boolean(), (a, b, cmp, holds) => {
          const name = (op: string) => `${op} (a ${formatRange(a)}, b ${formatRange(b)})`;
          same(name("join"), joinRanges(a, b), bigintLattice.joinRanges(a, b));
          same(name("intersect"), intersectRanges(a, b), bigintLattice.intersectRanges(a, b));
          const joined = joinRanges(a, b);
          same(name("widen"), widenRange(a, joined), bigintLattice.widenRange(a, joined));
          same(name("widen back"), widenRange(joined, a), bigintLattice.widenRange(joined, a));
          for (const op of BINARY) same(name(op), binaryRange(op, a, b), bigintLattice.binaryRange(op, a, b));
          for (const op of [...UNARY, "bswap" as const]) same(name(op), unaryRange(op, a), bigintLattice.unaryRange(op, a));
          for (const to of [8, 16, 32, 64])
            for (const op of CASTS) {
              if ((op === "trunc") !== to < bits || to === bits) continue;
              same(name(`${op} to ${to}`), castRange(op, a, to), bigintLattice.castRange(op, a, to));
            }
          // b, and constants at a's bounds and next to them (where compares turn).
          const ks = [a.umin, a.umax, a.smin, a.smax].flatMap((k) => [k - 1n, k, k + 1n]).map((k) => constantRange(bits, k));
          for (const y of [b, ...ks]) {
            for (const op of COMPARES) {
              if (decideCompare(op, a, y) !== bigintLattice.decideCompare(op, a, y)) throw new Error(name(`decide ${op} ${formatRange(y)}`));
              if (decideCompare(op, y, a) !== bigintLattice.decideCompare(op, y, a)) throw new Error(name(`decide ${formatRange(y)} ${op}`));
            }
            same(name(`refine ${cmp} ${holds} ${formatRange(y)}`), refineByCompare(a, cmp, y, holds), bigintLattice.refineByCompare(a, cmp, y, holds));
          }
        }),
        { numRuns: bits === 64 ? 1500 : 500 },
      );
    });
  }
  test("the full 64-bit range's shortcuts (shifted right by a constant, truncated, compared) give the bigint form's answers", () => {
    const full = fullRange(64);
    for (let k = 0n; k < 70n; k++) {
      const amount = constantRange(64, k);
      for (const op of ["shl", "lshr", "ashr"] as const) same(`${op} by ${k}`, binaryRange(op, full, amount), bigintLattice.binaryRange(op, full, amount));
    }
    // Shifted right by every interval of amounts, and by amounts with known bits.
    for (let lo = 0n; lo < 66n; lo++)
      for (let hi = lo; hi < 66n; hi++) {
        const amounts = unsignedRange(64, lo, hi);
        same(`lshr by ${formatRange(amounts)}`, binaryRange("lshr", full, amounts), bigintLattice.binaryRange("lshr", full, amounts));
        const even = binaryRange("and", amounts, constantRange(64, -2n));
        same(`lshr by ${formatRange(even)}`, binaryRange("lshr", full, even), bigintLattice.binaryRange("lshr", full, even));
      }
    for (const to of [1, 8, 16, 32]) same(`trunc to ${to}`, castRange("trunc", full, to), bigintLattice.castRange("trunc", full, to));
    const others = [full, constantRange(64, 0n), constantRange(64, 1n), constantRange(64, -1n), unsignedRange(64, 0n, 1n), unsignedRange(64, 0n, (1n << 53n) - 1n), constantRange(64, (1n << 53n) - 1n), unsignedRange(64, 1n << 53n, 1n << 60n), unsignedRange(64, 5n, 9n)];
    for (const y of others)
      for (const op of COMPARES) {
        expect(decideCompare(op, full, y), `${op} full, ${formatRange(y)}`).toBe(bigintLattice.decideCompare(op, full, y));
        expect(decideCompare(op, y, full), `${op} ${formatRange(y)}, full`).toBe(bigintLattice.decideCompare(op, y, full));
      }
  });
  test("ranges within [0, 2^53) at 64 bits and every range up to 32 bits are numbers; others are bigints", () => {
    expect(bigintLattice.isNumberForm(castRange("zext", fullRange(32), 64))).toBe(true);
    expect(bigintLattice.isNumberForm(unsignedRange(64, 0n, (1n << 53n) - 1n))).toBe(true);
    expect(bigintLattice.isNumberForm(unsignedRange(64, 0n, 1n << 53n))).toBe(false);
    expect(bigintLattice.isNumberForm(constantRange(64, -1n))).toBe(false);
    expect(bigintLattice.isNumberForm(fullRange(32))).toBe(true);
    expect(bigintLattice.isNumberForm(fullRange(64))).toBe(false);
  });
});
