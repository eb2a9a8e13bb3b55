// Differential testing of the whole backend: random IR programs run in the IR interpreter
// and, compiled and register-allocated (checker on), in the eBPF VM; the return values
// and the final map contents must agree.
import fc from "fast-check";
import { CompileError, interpret, InterpError, MapState, printFunction, type Module } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { compileModule, lookupForm, type CpuVersion } from "../src/index.js";
import { genProgram } from "@luabpf/test-support";
import { runVm } from "./vm.js";

const PACKET = Uint8Array.from({ length: 54 }, (_, i) => (i * 37 + 11) & 0xff);

/** Runs `m`'s `@prog` both ways (compiled for `cpu`); returns allocation stats, or undefined if the interpreter trapped. */
export function differential(m: Module, cpu?: CpuVersion) {
  let expected;
  try {
    expected = interpret(m, "prog", ["ctx"], { packet: PACKET, ctx: new Uint8Array(64), maps: MapState.fromModule(m) });
  } catch (e) {
    if (e instanceof InterpError) return undefined;
    throw e;
  }
  const text = printFunction(m.getFunction("prog")!);
  const [p] = compileModule(m, { cpu });
  // No instruction newer than the target CPU (emission checks it too; this keeps the check honest).
  for (const insn of p!.insns) expect(lookupForm(insn)!.cpu).toBeLessThanOrEqual(cpu ?? 3);
  const got = runVm(p!.insns, p!.relocations, { module: m, packet: PACKET, ctx: new Uint8Array(64) });
  const want = BigInt.asUintN(64, expected.value as bigint);
  if (got.r0 !== want) throw new Error(`result ${got.r0} != ${want}\n${text}`);
  expect(got.maps.snapshot()).toEqual(expected.maps.snapshot());
  return p!.stats;
}

describe("compiled code computes what the IR interpreter computes", () => {
  test("random programs (checker on)", () => {
    process.env.LUABPF_CHECK_REGALLOC = "1";
    const totals = { programs: 0, spills: 0, reloads: 0, copiesRemoved: 0, spilledVRegs: 0, maxSlots: 0 };
    fc.assert(
      fc.property(fc.array(fc.nat(10_000), { minLength: 20, maxLength: 400 }), (choices) => {
        const stats = differential(genProgram(choices));
        if (!stats) return;
        totals.programs++;
        totals.spills += stats.spills;
        totals.reloads += stats.reloads;
        totals.copiesRemoved += stats.copiesRemoved;
        totals.spilledVRegs += stats.spilledVRegs;
        totals.maxSlots = Math.max(totals.maxSlots, stats.spillSlots);
      }),
      { numRuns: 400, seed: 1 },
    );
    console.log("differential totals", totals);
    expect(totals.programs).toBeGreaterThan(300);
    expect(totals.spills).toBeGreaterThan(0);
  });

  test("every -mcpu version: v4's movsx, sdiv/smod and bswap, v3's JMP32 and v2's < jumps replaced below them", () => {
    process.env.LUABPF_CHECK_REGALLOC = "1";
    const ran = { 1: 0, 2: 0, 3: 0, 4: 0 };
    fc.assert(
      fc.property(fc.array(fc.nat(10_000), { minLength: 20, maxLength: 300 }), fc.constantFrom(1, 2, 3, 4), (choices, cpu) => {
        const m = genProgram(choices);
        let stats;
        try {
          stats = differential(m, cpu as CpuVersion);
        } catch (e) {
          // A fetching atomic add has no form before v3: a compile error, not wrong code.
          if (cpu < 3 && e instanceof CompileError && /needs -mcpu=v3/.test(e.message)) return;
          throw e;
        }
        if (stats) ran[cpu as CpuVersion]++;
      }),
      { numRuns: 240, seed: 7 },
    );
    for (const cpu of [1, 2, 3, 4] as const) expect(ran[cpu]).toBeGreaterThan(30);
  });
});
