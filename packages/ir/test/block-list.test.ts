// Function's block list is settled lazily (core.ts `settleBlocks`): insertions after a block and
// removals are recorded and applied in one pass on the next read of `blocks`, in place. On random
// sequences of appends, insertions after random blocks, removals and reads (at random points,
// so that some settles see removals only and some see insertions too), the list must equal one
// kept eagerly with `splice`, and a reference to `fn.blocks` taken earlier must see it too.
import { describe, expect, it } from "vitest";
import { Function, type BasicBlock } from "../src/core.js";
import { i64 } from "../src/types.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("the lazily settled block list", () => {
  it("equals an eagerly kept list on random edits", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const fn = new Function("f", [], i64);
      const held = fn.blocks;
      const ref: BasicBlock[] = [fn.createBlock()];
      const steps = 20 + Math.floor(r() * 200);
      for (let s = 0; s < steps; s++) {
        const x = r();
        if (x < 0.3) ref.push(fn.createBlock());
        else if (x < 0.6) {
          const anchor = ref[Math.floor(r() * ref.length)]!;
          const bb = fn.createBlock({ after: anchor });
          ref.splice(ref.indexOf(anchor) + 1, 0, bb);
        } else if (x < 0.85 && ref.length > 1) {
          const victim = ref[1 + Math.floor(r() * (ref.length - 1))]!;
          fn.removeBlock(victim);
          ref.splice(ref.indexOf(victim), 1);
        } else {
          expect(fn.blocks.map((b) => b.id)).toEqual(ref.map((b) => b.id));
        }
      }
      expect(fn.blocks.map((b) => b.id)).toEqual(ref.map((b) => b.id));
      expect(held).toBe(fn.blocks);
    }
  });
});
