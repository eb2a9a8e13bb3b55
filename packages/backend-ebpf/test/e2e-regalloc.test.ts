// End to end on the kernel: programs with more values live across helper calls than
// r6–r9 can hold, and phi cycles in loops, compile (spilling), pass the verifier, and
// compute what the IR interpreter computes on the same packet.
import { MapType } from "@luabpf/platform";
import { interpret, MapState, type Module } from "@luabpf/ir";
import { buildPacket, kernelOrSkip, loadObject } from "@luabpf/loader";
import { describe, expect, test } from "vitest";
import { compileModule, encodeInsns } from "../src/index.js";
import { genProgram } from "@luabpf/test-support";
import { liveAcrossCalls, swapLoop } from "./programs.js";

const PACKET = buildPacket("tcp,dport=80");
process.env.LUABPF_CHECK_REGALLOC = "1";

function runInKernel(m: Module): { kernel: number; expected: number; spills: number } {
  const expected = interpret(m, "prog", ["ctx"], { packet: PACKET, maps: MapState.fromModule(m) });
  const [p] = compileModule(m);
  const loaded = loadObject({
    license: "GPL",
    programs: [{ name: p!.name, section: "tc", code: encodeInsns(p!.insns), relocations: p!.relocations.map((r) => ({ offset: r.slot * 8, symbol: r.symbol })) }],
    maps: [
      { name: "h", type: MapType.hash, keySize: 8, valueSize: 8, maxEntries: 8, flags: 0 },
      ...(m.maps.some((d) => d.name === "a") ? [{ name: "a", type: MapType.array, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 }] : []),
    ],
  });
  try {
    const r = loaded.programs.get(p!.name)!.testRun(PACKET);
    return { kernel: r.retval, expected: Number(BigInt.asUintN(32, expected.value as bigint)), spills: p!.stats.spills };
  } finally {
    loaded.close();
  }
}

describe.skipIf(!kernelOrSkip())("kernel", () => {
  test.each([
    [8, 3],
    [12, 4],
  ])("%i values live across %i groups of helper calls", (n, calls) => {
    const { kernel, expected, spills } = runInKernel(liveAcrossCalls(n, calls));
    expect(spills).toBeGreaterThan(0);
    expect(kernel).toBe(expected);
  });

  test.each([1, 2, 5])("phi swap and rotation, %i iterations", (n) => {
    const { kernel, expected } = runInKernel(swapLoop(n));
    expect(kernel).toBe(expected);
  });

  test("random programs", () => {
    let run = 0;
    for (let seed = 0; seed < 40; seed++) {
      // A deterministic tape per seed.
      let x = seed * 7919 + 1;
      const tape = Array.from({ length: 300 }, () => (x = (x * 1103515245 + 12345) % 2 ** 31));
      const m = genProgram(tape, { clock: false });
      let r;
      try {
        r = runInKernel(m);
      } catch (e) {
        throw new Error(`seed ${seed}: ${(e as Error).message}`, { cause: e });
      }
      expect(r.kernel, `seed ${seed}`).toBe(r.expected);
      run++;
    }
    expect(run).toBe(40);
  });
});
