// Register allocation in the eBPF backend: leaving SSA with phi cycles (swap and lost-copy
// problems), values live across helper calls, spill-slot sharing, the 512-byte frame
// limit, statistics, and the checker wired through the MIR adapter.
import { CompileError, interpret, MapState, type Module } from "@luabpf/ir";
import { checkAllocation, RegAllocCheckError } from "@luabpf/passes";
import { beforeAll, describe, expect, test } from "vitest";
import { compileModule, printInsn } from "../src/index.js";
import { selectFunction } from "../src/isel.js";
import { applyAllocation, describeFunction, EBPF_TARGET, packMachineFunction } from "../src/regalloc.js";
import { allocateIrc, allocateLinearScan, packFunction, type RegAllocOutput } from "@luabpf/passes";
import { liveAcrossCalls, swapLoop } from "./programs.js";
import { runVm } from "./vm.js";

const PACKET = Uint8Array.from({ length: 64 }, (_, i) => (i * 29 + 5) & 0xff);

beforeAll(() => {
  process.env.LUABPF_CHECK_REGALLOC = "1";
});

/** Interprets and compiles+runs `m`; expects equal results; returns the compiled program. */
function agree(m: Module) {
  const want = interpret(m, "prog", ["ctx"], { packet: PACKET, maps: MapState.fromModule(m) });
  const [p] = compileModule(m);
  const got = runVm(p!.insns, p!.relocations, { module: m, packet: PACKET });
  expect(got.r0).toBe(BigInt.asUintN(64, want.value as bigint));
  expect(got.maps.snapshot()).toEqual(want.maps.snapshot());
  return { p: p!, got, want };
}

describe("leaving SSA", () => {
  test.each([1, 2, 3, 4, 7])("phi swap and 3-cycle in a loop, %i iterations", (n) => {
    const { want, p } = agree(swapLoop(n));
    const [x, y] = [BigInt(PACKET[12]!), BigInt(PACKET[13]!)];
    // The exit reads the phis as they were on entry to the last iteration: n - 1 swaps.
    const [a, b] = (n - 1) % 2 === 1 ? [y, x] : [x, y];
    // c1, c2, c3 start 1, 2, 3 and rotate c1 ← c3, c2 ← c1, c3 ← c2 each iteration.
    let c = [1n, 2n, 3n];
    for (let k = 0; k < n - 1; k++) c = [c[2]!, c[0]!, c[1]!];
    expect(want.value).toBe((a * 1000n + b * 10n + BigInt(n)) * 10n + c[0]! * 100n + c[1]! * 10n + c[2]!);
    // The cycles cost at most one temporary copy each, inside the loop.
    expect(p.insns.length).toBeLessThan(40);
  });
});

describe("values live across helper calls", () => {
  test("three values and the accumulator fit in r6–r9: no spills", () => {
    const { p } = agree(liveAcrossCalls(3, 2));
    expect(p.stats.spills).toBe(0);
  });

  test.each([
    [6, 2],
    [8, 3],
    [12, 4],
  ])("%i values across %i call groups: spilled, still correct", (n, calls) => {
    const { p } = agree(liveAcrossCalls(n, calls));
    expect(p.stats.spilledVRegs).toBeGreaterThanOrEqual(n - 4);
    expect(p.stats.spills).toBeGreaterThan(0);
    // Spill slots are 8 bytes below the two 8-byte program slots.
    const fpOffsets = p.insns.filter((i) => (i.code & 0x07) === 0x03 && i.dst === 10).map((i) => i.off);
    expect(Math.min(...fpOffsets)).toBeGreaterThanOrEqual(-(16 + 8 * p.stats.spillSlots));
  });

  test("a frame over 512 bytes is a CompileError", () => {
    expect(() => compileModule(liveAcrossCalls(12, 4, 496))).toThrow(CompileError);
    expect(() => compileModule(liveAcrossCalls(12, 4, 496))).toThrow(/512/);
    // The same program with room to spare compiles.
    expect(() => compileModule(liveAcrossCalls(12, 4, 256))).not.toThrow();
  });
});

describe("adapter and checker", () => {
  test("the MIR description marks two-address ALU defs as tied and calls as clobbering r1–r5", () => {
    const m = liveAcrossCalls(6, 1);
    const mf = selectFunction(m.getFunction("prog")!);
    const d = describeFunction(mf);
    const insts = d.blocks.flatMap((b) => b.insts);
    const call = insts.find((i) => i.clobbers.length > 0 && i.operands.some((o) => "preg" in o && o.kind === "def" && o.preg === 0))!;
    expect(call.clobbers).toEqual(expect.arrayContaining([1, 2, 3, 4, 5]));
    const tied = insts.filter((i) => i.operands.some((o) => "vreg" in o && o.constraint.kind === "reuse"));
    expect(tied.length).toBeGreaterThan(0);
    const out = allocateIrc(d, EBPF_TARGET);
    expect(checkAllocation(d, EBPF_TARGET, out)).toBeGreaterThan(0);
    expect(out.stats.spilledVRegs).toBeGreaterThan(0);
    // Corrupt it: a use of a call-crossing value reads the neighbouring preserved register.
    // (The object forms, read off the packed output: a clone of the output itself does not carry its getters.)
    const bad = structuredClone({ numSpillSlots: out.numSpillSlots, stats: out.stats, allocs: out.allocs, edits: out.edits });
    const k = insts.findIndex((i, n) => !i.copy && i.operands.some((o, j) => o.kind === "use" && "vreg" in o && (out.allocs[n]![j] as { reg?: number }).reg! >= 6));
    expect(k).toBeGreaterThanOrEqual(0);
    const j = insts[k]!.operands.findIndex((o, j2) => o.kind === "use" && "vreg" in o && (out.allocs[k]![j2] as { reg?: number }).reg! >= 6);
    const r = (bad.allocs[k]![j] as { reg: number }).reg;
    bad.allocs[k]![j] = { kind: "reg", reg: r === 9 ? 6 : r + 1 };
    expect(() => checkAllocation(d, EBPF_TARGET, bad)).toThrow(RegAllocCheckError);
  });

  test("the packed description (no object per operand) is the object description packed, and allocates alike", () => {
    for (const m of [liveAcrossCalls(6, 1), liveAcrossCalls(3, 2), swapLoop(3)]) {
      const mf = selectFunction(m.getFunction("prog")!);
      const packed = packMachineFunction(mf);
      const objects = describeFunction(mf);
      expect(packed).toEqual(packFunction(objects));
      expect(packed.opFlags.length).toBeGreaterThan(0);
      expect(allocateIrc(packed, EBPF_TARGET)).toEqual(allocateIrc(objects, EBPF_TARGET));
    }
  });

  test("edits applied from their packed form (in program order) and from their objects give the same code", () => {
    const sides = new Set<string>();
    for (const [m, spills] of [[liveAcrossCalls(12, 4), true], [liveAcrossCalls(8, 3), true], [swapLoop(3), false]] as const) {
      for (const allocate of [allocateIrc, allocateLinearScan]) {
        const fromPacked = selectFunction(m.getFunction("prog")!);
        const packed = packMachineFunction(fromPacked);
        const out = allocate(packed, EBPF_TARGET);
        expect(out.packedEdits).toBeDefined();
        // The objects, as another allocator would give them (no packed edits or locations).
        const objects: RegAllocOutput = { allocs: out.allocs, edits: out.edits, numSpillSlots: out.numSpillSlots, stats: out.stats };
        const fromObjects = selectFunction(m.getFunction("prog")!);
        applyAllocation(fromPacked, out, packed);
        applyAllocation(fromObjects, objects);
        expect(fromPacked.blocks.map((b) => b.insts)).toEqual(fromObjects.blocks.map((b) => b.insts));
        expect(fromPacked.slots).toEqual(fromObjects.slots);
        if (spills) expect(out.stats.spills).toBeGreaterThan(0);
        for (const e of out.edits) sides.add(e.pos);
      }
    }
    // Edits on both sides of instructions were read.
    expect([...sides].sort()).toEqual(["after", "before"]);
  });

  test("packed edits out of program order are refused", () => {
    const mf = selectFunction(liveAcrossCalls(12, 4).getFunction("prog")!);
    const packed = packMachineFunction(mf);
    const out = allocateIrc(packed, EBPF_TARGET);
    const { inst, after, from, to } = out.packedEdits!;
    const n = inst.length;
    expect(n).toBeGreaterThan(1);
    const reversed = { inst: inst.slice().reverse(), after: after.slice().reverse(), from: from.slice().reverse(), to: to.slice().reverse() };
    expect(() => applyAllocation(mf, { ...out, packedEdits: reversed }, packed)).toThrow(/out of program order/);
  });

  test("statistics: copies coalesced away", () => {
    const { p } = agree(swapLoop(3));
    expect(p.stats.copiesRemoved).toBeGreaterThan(0);
    expect(p.stats.copiesCoalesced).toBeGreaterThan(0);
    expect(p.stats.rounds).toBeGreaterThanOrEqual(1);
    expect(p.insns.map((i) => printInsn(i)).join("\n")).not.toMatch(/r(\d+) = r\1\b/);
  });
});
