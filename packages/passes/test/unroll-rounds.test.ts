/**
 * `unroll`'s rounds share one loop information while the loops they unroll have no
 * enclosing loop (passes/unroll.ts); before, every round read fresh loops. On random
 * sequences of counting loops — one straight after another or through a block between,
 * exiting from the header or the latch, constant or unknown bounds, nested two deep — the
 * pass must print exactly what the fresh-rounds reference prints (block and value numbers
 * included), and keep what the program computes.
 */
import fc from "fast-check";
import { parseModule, printModule } from "@luabpf/ir";
import { expect, test } from "vitest";
import { PassManager } from "../src/index.js";
import { unroll, unrollFreshRounds } from "../src/passes/unroll.js";
import { interpret } from "./interp.js";

interface LoopSpec {
  start: number;
  step: number;
  /** A constant bound, or undefined: the parameter (trip count unknown). */
  bound: number | undefined;
  exitFromLatch: boolean;
  /** Exit when the compare holds (its true target), or stay while it holds. */
  exitOnTrue: boolean;
  /** The exit goes to a block of its own before what follows (else straight to it). */
  glue: boolean;
  inner: LoopSpec[];
}

const leaf = (inner: fc.Arbitrary<LoopSpec[]>): fc.Arbitrary<LoopSpec> =>
  fc.record({
    start: fc.integer({ min: 0, max: 3 }),
    step: fc.integer({ min: 1, max: 2 }),
    bound: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined, freq: 6 }),
    exitFromLatch: fc.boolean(),
    exitOnTrue: fc.boolean(),
    glue: fc.boolean(),
    inner,
  });
const none: fc.Arbitrary<LoopSpec[]> = fc.constant([] as LoopSpec[]);
const innerArb = fc.array(leaf(none), { minLength: 1, maxLength: 3 });
const specArb: fc.Arbitrary<LoopSpec[]> = fc.array(leaf(fc.oneof({ weight: 3, arbitrary: none }, { weight: 1, arbitrary: innerArb })), { minLength: 1, maxLength: 7 });

/** IR text of `f(i64 %0)`: the loops in sequence, each adding `%0 ^ i` to an accumulator. */
function program(spec: LoopSpec[]): string {
  let values = 1;
  let blocks = 1;
  const v = (): string => `%${values++}`;
  const b = (): string => `@bb${blocks++}`;
  const out: string[] = ["func @f(i64 %0) -> i64 {", "@bb0:"];
  // Emits `loops` entered from `from` with `acc`; the last one exits to `target`. Returns the
  // last exiting edge's source and the accumulator it carries.
  const sequence = (loops: LoopSpec[], from: string, acc: string, target: string): [string, string] => {
    const headers = loops.map(() => b());
    out.push(`  br ${headers[0]}`);
    for (let k = 0; k < loops.length; k++) {
      const l = loops[k]!;
      const header = headers[k]!;
      const exitTo = k + 1 < loops.length ? (l.glue ? b() : headers[k + 1]!) : target;
      const latch = b();
      const [i, a, next] = [v(), v(), v()];
      out.push(`${header}:`, `  ${i} = phi i64 [${l.start}, ${from}], [${next}, ${latch}]`, `  ${a} = phi i64 [${acc}, ${from}], [%LATCHACC, ${latch}]`);
      const phiLine = out.length - 1;
      const bound = l.bound === undefined ? "%0" : String(l.bound);
      const branch = (value: string, stay: string): string => {
        const c = v();
        out.push(`  ${c} = ${l.exitOnTrue ? "uge" : "ult"} i64 ${value}, ${bound}`);
        return l.exitOnTrue ? `  condbr ${c}, ${exitTo}, ${stay}` : `  condbr ${c}, ${stay}, ${exitTo}`;
      };
      let exitSource: string;
      let exitAcc: string;
      let latchAcc: string;
      if (l.exitFromLatch) {
        // header: the body (or the inner loops), then the latch tests the next counter.
        let bodyAcc = a;
        if (l.inner.length > 0) {
          const innerExit = b();
          [, bodyAcc] = sequence(l.inner, header, a, innerExit);
          out.push(`${innerExit}:`);
        }
        const [x, sum] = [v(), v()];
        out.push(`  ${x} = xor i64 %0, ${i}`, `  ${sum} = add i64 ${bodyAcc}, ${x}`, `  ${next} = add i64 ${i}, ${l.step}`, `  br ${latch}`, `${latch}:`);
        out.push(branch(next, header));
        exitSource = latch;
        exitAcc = sum;
        latchAcc = sum;
      } else {
        const body = b();
        out.push(branch(i, body), `${body}:`);
        let bodyAcc = a;
        if (l.inner.length > 0) {
          const innerExit = b();
          [, bodyAcc] = sequence(l.inner, body, a, innerExit);
          out.push(`${innerExit}:`);
        }
        const [x, sum] = [v(), v()];
        out.push(`  ${x} = xor i64 %0, ${i}`, `  ${sum} = add i64 ${bodyAcc}, ${x}`, `  ${next} = add i64 ${i}, ${l.step}`, `  br ${latch}`, `${latch}:`, `  br ${header}`);
        exitSource = header;
        exitAcc = a;
        latchAcc = sum;
      }
      out[phiLine] = out[phiLine]!.replace("%LATCHACC", latchAcc);
      from = exitSource;
      acc = exitAcc;
      if (k + 1 < loops.length && l.glue) {
        out.push(`${exitTo}:`, `  br ${headers[k + 1]}`);
        from = exitTo;
      }
    }
    return [from, acc];
  };
  const end = b();
  const [, acc] = sequence(spec, "@bb0", "0", end);
  out.push(`${end}:`, `  ret ${acc}`, "}");
  return out.join("\n");
}

test("unroll's shared rounds print what fresh rounds print", () => {
  let unrolled = 0;
  let shared = 0;
  fc.assert(
    fc.property(specArb, fc.integer({ min: 0, max: 40 }), fc.bigInt({ min: 0n, max: 12n }), (spec, budget, arg) => {
      const text = program(spec);
      const expected = interpret(parseModule(text), "f", [arg]).value;
      const a = parseModule(text);
      const b = parseModule(text);
      const report = new PassManager([unroll({ budget })], { verify: true }).run(a);
      new PassManager([unrollFreshRounds({ budget })], { verify: true }).run(b);
      expect(printModule(a), text).toBe(printModule(b));
      expect(interpret(a, "f", [arg]).value, text).toBe(expected);
      const n = report.passes[0]?.stats["loops-unrolled"] ?? 0;
      unrolled += n;
      // Loops one straight after another: more than one round's worth on one loop information.
      if (n > 0 && spec.some((l, k) => k > 0 && !spec[k - 1]!.glue && l.bound !== undefined && spec[k - 1]!.bound !== undefined)) shared++;
    }),
    { numRuns: 300 },
  );
  expect(unrolled).toBeGreaterThan(100);
  expect(shared).toBeGreaterThan(20);
});
