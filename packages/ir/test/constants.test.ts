// Function.constant interns constants by type and wrapped value; the table keys small values
// by number and others by bigint. Property: for random types and values given as numbers or
// bigints, two requests give the same constant exactly when their types are the same and
// their values wrap to the same bigint (the old table's key), and the value is that bigint.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Function } from "../src/core.js";
import { bitsOf, i16, i32, i64, i8, ptr, ptrType, voidType, type Type } from "../src/types.js";

const TYPES: Type[] = [i8, i16, i32, i64, ptr, ptrType("stack"), ptrType("map_value"), voidType];

/** Values near every boundary of the key (the 32-bit range, each width, the safe integers) and at random. */
const arbValue: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(0n, 1n, -1n, 127n, 128n, -128n, -129n, 255n, 256n, 32767n, 32768n, -32768n, -32769n, 65535n),
  fc.constantFrom(2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), -(2n ** 31n) - 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, -(2n ** 53n) + 1n),
  fc.constantFrom(2n ** 63n - 1n, 2n ** 63n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 64n + 5n, -(2n ** 64n) - 3n),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.integer().map(BigInt),
);
/** A request: the value as a number (when it is a safe integer) or as a bigint. */
const arbRequest = fc.record({
  type: fc.constantFrom(...TYPES),
  value: arbValue,
  asNumber: fc.boolean(),
});
type Request = { type: Type; value: bigint; asNumber: boolean };
const given = (r: Request): bigint | number => (r.asNumber && r.value >= -(2n ** 53n) + 1n && r.value <= 2n ** 53n - 1n ? Number(r.value) : r.value);
const wrapped = (r: Request): bigint => BigInt.asIntN(bitsOf(r.type) || 64, r.value);

describe("Function.constant", () => {
  it("interns by type and wrapped value, whether the value is given as a number or a bigint", () => {
    fc.assert(
      fc.property(fc.array(arbRequest, { minLength: 1, maxLength: 40 }), (requests) => {
        const fn = new Function("f", [], i64);
        const got = requests.map((r) => fn.constant(r.type, given(r)));
        requests.forEach((r, k) => {
          expect(got[k]!.value).toBe(wrapped(r));
          expect(got[k]!.type).toBe(r.type);
        });
        for (let a = 0; a < requests.length; a++)
          for (let b = 0; b < requests.length; b++) {
            const same = requests[a]!.type === requests[b]!.type && wrapped(requests[a]!) === wrapped(requests[b]!);
            expect(got[a] === got[b]).toBe(same);
          }
        // One constant per distinct (type, value), in creation order.
        const distinct = new Set(got);
        expect(fn.allConstants()).toEqual([...distinct]);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps the cases the key could confuse apart", () => {
    const fn = new Function("f", [], i64);
    expect(fn.constant(i64, 5)).toBe(fn.constant(i64, 5n));
    expect(fn.constant(i8, 200)).toBe(fn.constant(i8, -56n));
    expect(fn.constant(i8, 200).value).toBe(-56n);
    expect(fn.constant(i32, 2 ** 31)).toBe(fn.constant(i32, -(2 ** 31)));
    expect(fn.constant(i64, 2 ** 31)).toBe(fn.constant(i64, 2n ** 31n));
    expect(fn.constant(i64, 2 ** 31)).not.toBe(fn.constant(i64, -(2 ** 31)));
    expect(fn.constant(i64, -1)).not.toBe(fn.constant(i32, -1));
    expect(fn.constant(ptr, 0)).not.toBe(fn.constant(ptrType("stack"), 0));
    expect(fn.constant(i64, -0)).toBe(fn.constant(i64, 0n));
    expect(() => fn.constant(i64, 1.5)).toThrow(RangeError);
  });
});
