/**
 * packet-bounds on the file test's program (test/files/packet-bounds.ir), in the
 * interpreter: before and after the pass, the same result on a packet of every length from
 * 0 to 64 bytes and on both sides of each branch; and the pass does what it says (one check
 * widened, one removed, the checks after a store and of another base kept, one exit).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parseModule, printModule, type Module } from "@luabpf/ir";
import { PassManager, parsePipeline } from "../src/index.js";
import { interpret } from "./interp.js";

const TEXT = readFileSync(join(import.meta.dirname, "files/packet-bounds.ir"), "utf8");
const XDP_POINTERS = [
  { offset: 0, kind: "packet" as const },
  { offset: 4, kind: "packet_end" as const },
];

function runOn(m: Module, packet: Uint8Array): bigint {
  return interpret(m, "f", ["ctx"], { ctx: new Uint8Array(24), ctxPointers: XDP_POINTERS, packet }).value as bigint;
}

function optimised(): Module {
  const m = parseModule(TEXT);
  new PassManager().add(...parsePipeline("packet-bounds")).run(m);
  return m;
}

describe("packet-bounds", () => {
  test("the same result on packets of every length and both EtherTypes", () => {
    const before = parseModule(TEXT);
    const after = optimised();
    const results = new Set<bigint>();
    for (let len = 0; len <= 64; len++) {
      for (const type of [0x0800, 0x86dd]) {
        const p = new Uint8Array(len).map((_, i) => (i * 7 + 3) & 0xff);
        if (len > 13) [p[12], p[13]] = [type >> 8, type & 0xff];
        if (len > 14) p[14] = 0x45;
        const want = runOn(before, p);
        results.add(want);
        expect(runOn(after, p), `length ${len}, type ${type.toString(16)}`).toBe(want);
      }
    }
    expect(results.size).toBe(2); // every exit was taken: 2 and the protocol byte
  });

  test("one check per header on the straight path", () => {
    const text = printModule(optimised());
    const checks = text.match(/condbr %(4|7|12|15|21),/g) ?? [];
    // Kept: the first (widened to 34 bytes), the one after the store, the TCP header's.
    expect(checks).toEqual(["condbr %4,", "condbr %15,", "condbr %21,"]);
    expect(text).toMatch(/%\d+ = ptradd ptr.packet %1, 34\n\s+%4 = ugt ptr.packet %\d+, %2/);
    // Every short edge goes to the program's own `ret 2`.
    expect(text).not.toMatch(/@bb9/);
    expect(text.match(/condbr %(4|15|21), @bb8,/g)).toHaveLength(3);
  });
});
