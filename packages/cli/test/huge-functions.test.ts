// A function above the passes' size thresholds (packages/passes value-ranges ORDERED_ABOVE:
// the value-range solver takes its work in reverse postorder there) compiles to a program
// the kernel's verifier accepts and that computes the right result. Not timed.
import { expect, test } from "vitest";
import { buildPacket, kernelOrSkip } from "@luabpf/loader";
import { ORDERED_ABOVE, pipelineForLevel } from "@luabpf/passes";
import { compileSource, frontend, optimize } from "../src/driver.js";
import { packetResults } from "./helpers.js";

const kernel = kernelOrSkip();

/**
 * The bench's \`branches\` and \`loops\` shapes in turn: \`if (n ~ k) > 3k then sum = sum + k
 * end\` for even k, \`for i = 1, 2 + k % 3 do sum = sum + (n ~ i) end\` for odd k. (The
 * verifier follows at most 8,192 pending branches in a row, fewer than a program of
 * \`branches\` alone needs to cross the threshold.)
 */
function program(units: number): string {
  const lines = ["local bpf = require('bpf')", "bpf.socket(function (skb)", "  local n = skb.len", "  local sum = 0"];
  for (let k = 0; k < units; k++) {
    lines.push(k % 2 === 0 ? `  if (n ~ ${k}) > ${k * 3} then sum = sum + ${k} end` : `  for i = 1, ${2 + (k % 3)} do sum = sum + (n ~ i) end`);
  }
  lines.push("  return sum", "end)");
  return lines.join("\n") + "\n";
}
/** What `program(units)` returns for a packet of `len` bytes (the kernel's return value is 32 bits). */
function result(units: number, len: number): number {
  let sum = 0n;
  for (let k = 0; k < units; k++) {
    if (k % 2 === 0) sum += (len ^ k) > 3 * k ? BigInt(k) : 0n;
    else for (let i = 1; i <= 2 + (k % 3); i++) sum += BigInt(len ^ i);
  }
  return Number(BigInt.asUintN(32, sum));
}

/** IR instructions of the program's function where -O2 solves its value ranges (after the passes before range-simplify). */
function sizeAtRanges(source: string): number {
  const module = frontend(source, "huge.lua");
  const before = pipelineForLevel(2).map((p) => p.name);
  optimize(module, { optLevel: 2, passes: before.slice(0, before.indexOf("range-simplify")).join(",") });
  return module.functions[0]!.instructionCount;
}

test(`a function above the value-range solver's threshold (${ORDERED_ABOVE} IR instructions) compiles at -O2, verifies and computes the right result`, () => {
  const units = 7_600;
  const source = program(units);
  expect(sizeAtRanges(source)).toBeGreaterThan(ORDERED_ABOVE);
  const { object } = compileSource(source, { file: "huge.lua" });
  if (!kernel) return;
  const packets = ["tcp,dport=80", "udp,dport=53,len=300", "udp,dport=53,len=1200"];
  // skb.len is the frame's length: test runs pull the extra Ethernet header again.
  expect([...packetResults(object, packets).values()]).toEqual([packets.map((spec) => result(units, buildPacket(spec).length))]);
});
