// Source locations through code generation: instruction selection gives every machine
// instruction the location of the IR instruction it was selected for, register allocation
// gives each spill, reload and move it inserts the location of the instruction it serves,
// and emission turns them into a line table that starts at the first instruction and
// only uses locations of the input.
import fc from "fast-check";
import { DominatorTree, LoopInfo, type Module, type SourceLocation } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { compileModule } from "../src/index.js";
import { selectFunction } from "../src/isel.js";
import type { MInst } from "../src/mir.js";
import { allocateRegisters } from "../src/regalloc.js";
import { genProgram } from "@luabpf/test-support";
import { liveAcrossCalls } from "./programs.js";

/** Gives IR instruction k the location line k + 1; returns the set of locations given. */
function locate(m: Module): Set<string> {
  const given = new Set<string>();
  let k = 0;
  for (const fn of m.functions) {
    for (const inst of fn.instructions()) {
      inst.loc = { file: "prog.lua", line: ++k, column: 1 + (k % 7) };
      given.add(key(inst.loc));
    }
  }
  return given;
}
const key = (l: SourceLocation): string => `${l.file}:${l.line}:${l.column}`;

describe("register allocation", () => {
  test.each([
    [6, 3],
    [9, 5],
  ])("spill, reload and copy moves (%i values across %i calls) take the location of the instruction they serve", (n, calls) => {
    const m = liveAcrossCalls(n, calls);
    locate(m);
    const fn = m.getFunction("prog")!;
    const mf = selectFunction(fn, LoopInfo.compute(fn, DominatorTree.compute(fn)));
    const selected = new Set<MInst>(mf.blocks.flatMap((b) => b.insts));
    for (const i of selected) expect(i.loc, `${i.k} has a location`).toBeDefined();
    // Give every selected instruction a location of its own, to see which one a move serves.
    let line = 0;
    for (const i of selected) i.loc = { file: "mir", line: ++line, column: 1 };
    const stats = allocateRegisters(mf);
    expect(stats.spills + stats.reloads).toBeGreaterThan(0);
    const kept = new Set(mf.blocks.flatMap((b) => b.insts).filter((i) => selected.has(i)));
    // Copies the allocator materialised as moves (or dropped) are gone; a move that replaces one has its location.
    const replaced = new Set([...selected].filter((i) => !kept.has(i)).map((i) => i.loc));
    let inserted = 0;
    for (const b of mf.blocks) {
      b.insts.forEach((inst, k) => {
        if (selected.has(inst)) return;
        inserted++;
        // Otherwise a spill, reload or constraint move sits next to the instruction it
        // serves: the nearest selected instruction before or after it.
        const neighbours: MInst[] = [];
        for (let j = k - 1; j >= 0; j--) if (kept.has(b.insts[j]!)) { neighbours.push(b.insts[j]!); break; }
        for (let j = k + 1; j < b.insts.length; j++) if (kept.has(b.insts[j]!)) { neighbours.push(b.insts[j]!); break; }
        expect(inst.loc, `inserted ${inst.k}`).toBeDefined();
        const served = replaced.has(inst.loc) || neighbours.some((x) => x.loc === inst.loc);
        expect(served, `inserted ${inst.k} at ${key(inst.loc!)} serves a neighbour or the copy it replaces`).toBe(true);
      });
    }
    expect(inserted).toBeGreaterThan(0);
  });
});

describe("the line table", () => {
  test("on random programs: starts at slot 0, rows in slot order, only the input's locations", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { minLength: 10, maxLength: 200 }), (tape) => {
        const m = genProgram(tape);
        const given = locate(m);
        const [p] = compileModule(m);
        expect(p!.lines[0]?.slot).toBe(0);
        for (let k = 1; k < p!.lines.length; k++) expect(p!.lines[k]!.slot).toBeGreaterThan(p!.lines[k - 1]!.slot);
        for (const row of p!.lines) {
          expect(given.has(key(row.loc))).toBe(true);
          expect(row.slot).toBeLessThan(p!.insns.reduce((n, i) => n + (i.imm64 !== undefined ? 2 : 1), 0));
        }
      }),
      { numRuns: 40, seed: 8 },
    );
  });
});
