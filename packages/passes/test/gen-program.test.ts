/** The generator itself: its programs verify and run without traps. */
import fc from "fast-check";
import { printModule, verifyModule, formatVerifierErrors } from "@luabpf/ir";
import { expect, test } from "vitest";
import { buildProgram, inputArb, tapeArb } from "./gen-program.js";
import { interpret, InterpError } from "./interp.js";

test("generated programs are verifier-clean and run without traps", () => {
  let blocks = 0;
  let traps = 0;
  fc.assert(
    fc.property(tapeArb, inputArb, (tape, input) => {
      const m = buildProgram(tape);
      const errors = verifyModule(m);
      if (errors.length) throw new Error(`${formatVerifierErrors(errors)}\n${printModule(m)}`);
      blocks += m.functions[0]!.blocks.length;
      try {
        interpret(m, "f", ["ctx", ...input.args], { packet: input.packet });
      } catch (e) {
        if (!(e instanceof InterpError)) throw e;
        traps++;
        throw new Error(`trap: ${e.message}\n${printModule(m)}`);
      }
    }),
    { numRuns: 500 },
  );
  expect(blocks / 500).toBeGreaterThan(3); // programs have real control flow
  expect(traps).toBe(0);
});
