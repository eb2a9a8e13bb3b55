/**
 * packet-bounds on the file test's program (test/files/packet-bounds.ir), in the
 * interpreter: before and after the pass, the same result on a packet of every length from
 * 0 to 64 bytes and on both sides of each branch; and the pass does what it says (one check
 * widened, one removed, the checks after a store and of another base kept, one exit).
 * The same for test/files/packet-bounds-user.ir: a program's own checks (`if ptr <
 * data_end`) are facts that remove the front end's checks, and are never widened across.
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

const USER_TEXT = readFileSync(join(import.meta.dirname, "files/packet-bounds-user.ir"), "utf8");

function optimised(text = TEXT): Module {
  const m = parseModule(text);
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

  test("a program's own checks: the same result on packets of every length, every exit taken", () => {
    const before = parseModule(USER_TEXT);
    const after = optimised(USER_TEXT);
    const results = new Set<bigint>();
    for (let len = 0; len <= 64; len++) {
      const p = new Uint8Array(len).map((_, i) => (i * 5 + 1) & 0xff);
      const want = runOn(before, p);
      results.add(want);
      expect(runOn(after, p), `length ${len}`).toBe(want);
    }
    // 99 (10..22 bytes), 2 (short: 0..10, 24..33, 38..41), 1 (34..37 dropped), the sum (42+).
    expect([...results].sort()).toEqual([1n, 2n, 99n, (23n * 5n + 1n) + ((41n * 5n + 1n) & 0xffn)].sort());
  });

  test("a program's own strict check removes the read's check it implies, and is not widened across", () => {
    const text = printModule(optimised(USER_TEXT));
    // Folded: the read's check of 24 bytes and the drop check of 14; kept: 34, 38, 42, 11.
    expect(text.match(/condbr %\d+,/g)).toEqual(["condbr %4,", "condbr %12,", "condbr %14,", "condbr %16,", "condbr %21,", "condbr %23,"]);
    expect(text).toMatch(/%12 = ugt ptr.packet %11, %2/);
    expect(text).toMatch(/%11 = ptradd ptr.packet %1, 34\n/);
  });
});
