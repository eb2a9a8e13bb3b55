// The interference graph drawn by `--emit dot=interference`, computed independently of
// the allocator, must agree with every allocation: two virtual registers that interfere
// never share a register, and no value sits in a register that interferes with it
// (a call clobber, a fixed operand). Checked on random programs through the real backend.
import fc from "fast-check";
import { allocateIrc, allocationOfVRegs, interferenceGraph, interferenceToDot } from "@luabpf/passes";
import { expect, test } from "vitest";
import { allocationProblem, EBPF_TARGET } from "../src/index.js";
import { genProgram } from "@luabpf/test-support";
import { liveAcrossCalls } from "./programs.js";

function described(m: ReturnType<typeof genProgram>) {
  return allocationProblem(m.getFunction("prog")!);
}

function checkAgainstAllocation(fn: ReturnType<typeof described>): number {
  const out = allocateIrc(fn, EBPF_TARGET);
  const placed = allocationOfVRegs(fn, out);
  const g = interferenceGraph(fn, EBPF_TARGET);
  // A value the allocator spilled or split lives in several places; the property is about the others.
  const homes = new Map<number, Set<string>>();
  let id = 0;
  for (const b of fn.blocks) {
    for (const inst of b.insts) {
      (out.allocs[id++] ?? []).forEach((a, j) => {
        const o = inst.operands[j]!;
        if (!("vreg" in o)) return;
        const set = homes.get(o.vreg) ?? homes.set(o.vreg, new Set()).get(o.vreg)!;
        set.add(a.kind === "reg" ? `r${a.reg}` : `s${a.slot}`);
      });
    }
  }
  const regOf = (n: (typeof g.nodes)[number]): number | undefined => {
    if (n.kind === "preg") return n.index;
    const a = placed.get(n.index);
    return a?.kind === "reg" && homes.get(n.index)?.size === 1 ? a.reg : undefined;
  };
  let checked = 0;
  for (const [a, b] of g.edges) {
    const [ra, rb] = [regOf(g.nodes[a]!), regOf(g.nodes[b]!)];
    if (ra === undefined || rb === undefined) continue;
    expect(ra, `${JSON.stringify(g.nodes[a])} and ${JSON.stringify(g.nodes[b])} interfere`).not.toBe(rb);
    checked++;
  }
  return checked;
}

test("interfering values never share a register (random programs)", () => {
  let edges = 0;
  fc.assert(
    fc.property(fc.array(fc.nat(1000), { minLength: 10, maxLength: 200 }), (tape) => {
      edges += checkAgainstAllocation(described(genProgram(tape)));
    }),
    { numRuns: 60, seed: 8 },
  );
  expect(edges).toBeGreaterThan(100);
});

test("values live across helper calls interfere with r1-r5 and get r6-r9; DOT output", () => {
  const fn = described(liveAcrossCalls(3, 2));
  const g = interferenceGraph(fn, EBPF_TARGET);
  const vregsClobbered = g.edges
    .map(([a, b]) => [g.nodes[a]!, g.nodes[b]!] as const)
    .filter(([x, y]) => x.kind === "preg" && x.index === 1 && y.kind === "vreg");
  expect(vregsClobbered.length).toBeGreaterThanOrEqual(3);
  const placed = allocationOfVRegs(fn, allocateIrc(fn, EBPF_TARGET));
  for (const [, v] of vregsClobbered) {
    const a = placed.get(v.index);
    if (a?.kind === "reg") expect(a.reg).toBeGreaterThanOrEqual(6);
  }
  const dot = interferenceToDot("prog", g, EBPF_TARGET, placed);
  expect(dot).toMatch(/^graph "prog" \{\n/);
  expect(dot).toMatch(/^  r1 -- v\d+;$/m);
  expect(dot).toMatch(/^  v\d+ \[label="v\d+: r[6-9]", style=filled/m);
  expect(dot.trimEnd().endsWith("}")).toBe(true);
  expect(checkAgainstAllocation(fn)).toBeGreaterThan(0);
});
