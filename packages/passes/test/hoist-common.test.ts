/**
 * hoist-common on its file test's XDP program (test/files/hoist-common.ir), in the
 * interpreter, which bounds-checks every packet access against the packet's real length:
 * before and after the pass, the same result on a packet of every length from 0 to 64
 * bytes, for TCP, UDP and another protocol and for header lengths 5 and 6, so a hoisted
 * load never reads where the original program did not look; and the pass hoisted the
 * header-length load and the transport address (one copy left).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { parseModule, printModule, type Module } from "@luabpf/ir";
import { PassManager, parsePipeline } from "../src/index.js";
import { interpret } from "./interp.js";

const TEXT = readFileSync(join(import.meta.dirname, "files/hoist-common.ir"), "utf8");
const XDP_POINTERS = [
  { offset: 0, kind: "packet" as const },
  { offset: 4, kind: "packet_end" as const },
];

function runOn(m: Module, packet: Uint8Array): bigint {
  return interpret(m, "f", ["ctx"], { ctx: new Uint8Array(24), ctxPointers: XDP_POINTERS, packet }).value as bigint;
}

test("hoisting keeps every result on packets of every length", () => {
  const before = parseModule(TEXT);
  const after = parseModule(TEXT);
  new PassManager(parsePipeline("hoist-common"), { verify: true }).run(after);
  const results = new Set<bigint>();
  for (let len = 0; len <= 64; len++) {
    for (const proto of [6, 17, 1]) {
      for (const ihl of [5, 6]) {
        const p = new Uint8Array(len).map((_, i) => (i * 7 + 3) & 0xff);
        if (len > 14) p[14] = 0x40 | ihl;
        if (len > 23) p[23] = proto;
        const want = runOn(before, p);
        results.add(want);
        expect(runOn(after, p), `length ${len}, protocol ${proto}, ihl ${ihl}`).toBe(want);
      }
    }
  }
  expect(results.size).toBeGreaterThanOrEqual(3); // the short exit and port sums on both sides
  const text = printModule(after);
  expect(text.match(/load i8 %3, 0\n/g)).toHaveLength(1);
  expect(text.match(/= ptradd ptr.packet %3, %/g)).toHaveLength(1);
});
