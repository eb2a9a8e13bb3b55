// util/ir.ts removeUnreachable against ir's removeUnreachableBlocks on random CFGs: same count,
// same function afterwards (it answers "nothing unreachable" itself, and hands anything else to ir's).
import fc from "fast-check";
import { expect, test } from "vitest";
import { printFunction, removeUnreachableBlocks } from "@luabpf/ir";
import { arbCfg, cfg } from "@luabpf/test-support";
import { removeUnreachable } from "../src/util/ir.js";

test("removeUnreachable = removeUnreachableBlocks on random CFGs", () => {
  let none = 0;
  let some = 0;
  fc.assert(
    fc.property(arbCfg(24), (terms) => {
      const a = cfg(terms).fn;
      const b = cfg(terms).fn;
      const n = removeUnreachable(a);
      expect(n).toBe(removeUnreachableBlocks(b));
      expect(printFunction(a)).toBe(printFunction(b));
      expect(a.blocks.map((bb) => bb.id)).toEqual(b.blocks.map((bb) => bb.id));
      if (n === 0) none++;
      else some++;
    }),
    { numRuns: 500 },
  );
  // Both answers were exercised.
  expect(none).toBeGreaterThan(20);
  expect(some).toBeGreaterThan(20);
});
