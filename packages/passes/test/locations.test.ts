/**
 * Source locations survive every pass: on random programs whose every instruction carries
 * a location, each registered pass (alone, and the -O1/-O2 pipelines) leaves no
 * instruction without one, and never invents a location the input did not have —
 * instructions a pass creates inherit the location of the code they replace or serve
 * (`BasicBlock.link` gives an instruction linked without one its neighbour's), so pass
 * authors get this for free.
 */
import fc from "fast-check";
import { Builder, type Module, type SourceLocation } from "@luabpf/ir";
import { expect, test } from "vitest";
import { PassManager, PIPELINES, defaultRegistry } from "../src/index.js";
import { buildProgram, tapeArb } from "@luabpf/test-support";

/** Gives instruction k of the module the location line k + 1 (column = block id + 1). */
function locate(m: Module): Set<string> {
  const seen = new Set<string>();
  let k = 0;
  for (const fn of m.functions) {
    for (const bb of fn.blocks) {
      for (const inst of bb.instructions()) {
        inst.loc = { file: "gen.lua", line: ++k, column: bb.id + 1 };
        seen.add(key(inst.loc));
      }
    }
  }
  return seen;
}
const key = (l: SourceLocation): string => `${l.file}:${l.line}:${l.column}`;

function check(pipeline: string, tape: number[]): void {
  const m = buildProgram(tape);
  const known = locate(m);
  new PassManager(defaultRegistry.parse(pipeline), { verify: true }).run(m);
  for (const fn of m.functions) {
    for (const inst of fn.instructions()) {
      expect(inst.loc, `${pipeline}: %${inst.id} (${inst.opcode}) has no location`).toBeDefined();
      expect(known.has(key(inst.loc!)), `${pipeline}: %${inst.id} (${inst.opcode}) has an invented location`).toBe(true);
    }
  }
}

const pipelines = [...defaultRegistry.names(), PIPELINES[1], PIPELINES[2]];

test.each(pipelines)("%s keeps a location on every instruction", (pipeline) => {
  fc.assert(
    fc.property(tapeArb, (tape) => check(pipeline, tape)),
    { numRuns: 25, seed: 15 },
  );
});

test("an instruction linked without a location takes its neighbour's; the builder's own location wins", () => {
  const m = buildProgram([1, 2, 3]);
  locate(m);
  const fn = m.functions[0]!;
  const ret = fn.blocks.at(-1)!.terminator!;
  const b = new Builder(fn).before(ret);
  const x = b.add(fn.constant(ret.operands[0]!.type, 1n), fn.constant(ret.operands[0]!.type, 2n));
  expect(x.loc).toEqual(ret.loc);
  b.loc = { file: "other.lua", line: 7, column: 3 };
  const y = b.add(x, x);
  expect(y.loc).toEqual({ file: "other.lua", line: 7, column: 3 });
  // At a block's end (nothing after it), the instruction before it lends its location.
  const z = fn.createInstruction("add", x.type, x.type, [x, y]);
  ret.block!.append(z);
  expect(z.loc).toEqual(ret.loc);
  z.unlink();
  // An instruction that has a location keeps it wherever it goes.
  const w = fn.createInstruction("add", x.type, x.type, [x, x]);
  w.loc = { file: "kept.lua", line: 1, column: 1 };
  w.insertBefore(ret);
  expect(w.loc).toEqual({ file: "kept.lua", line: 1, column: 1 });
});
