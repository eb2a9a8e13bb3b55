/**
 * Robustness of the interpreter on arbitrary (type-correct but not executable) modules:
 * every function either returns a value of its type or traps with an InterpError —
 * never a JS TypeError, RangeError or InternalError — and runs are deterministic.
 */
import fc from "fast-check";
import { expect, test } from "vitest";
import { interpret, InterpError, InterpPointer, type InterpArg, type InterpResult } from "../src/interp.js";
import type { Type } from "../src/types.js";
import { arbitraryModule } from "@luabpf/test-support";

function argFor(t: Type, seed: bigint): InterpArg {
  if (t.kind === "ptr") return seed % 3n === 0n ? 0n : "ctx";
  return seed;
}

function outcome(f: () => InterpResult): string {
  try {
    const r = f();
    return `value ${r.value} steps ${r.steps} maps ${JSON.stringify(r.maps.snapshot())}`;
  } catch (e) {
    if (e instanceof InterpError) return `trap ${e.message}`;
    throw e;
  }
}

test("property: random modules run to a value or an InterpError, deterministically", () => {
  fc.assert(
    fc.property(arbitraryModule(), fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n }), { minLength: 6, maxLength: 6 }), (m, seeds) => {
      for (const fn of m.functions) {
        const args = fn.params.map((p, i) => argFor(p.type, seeds[i]!));
        const options = {
          ctx: new Uint8Array(96).map((_, i) => i),
          packet: new Uint8Array(64).map((_, i) => 255 - i),
          ctxPointers: [
            { offset: 76, kind: "packet" as const },
            { offset: 80, kind: "packet_end" as const },
          ],
          maxSteps: 2000,
          maxCallDepth: 8,
        };
        const first = outcome(() => {
          const r = interpret(m, fn.name, args, options);
          const t = fn.returnType;
          if (t.kind === "int") expect(r.value).toBe(BigInt.asIntN(t.bits, r.value as bigint));
          else if (t.kind === "ptr") expect(typeof r.value === "bigint" || r.value instanceof InterpPointer).toBe(true);
          return r;
        });
        expect(outcome(() => interpret(m, fn.name, args, options))).toBe(first);
      }
    }),
    { numRuns: 300 },
  );
});
