/**
 * The regression programs: one per distinct finding (issue 17's reports and what the
 * fuzzer and the differential tester found since). `returns` and `maps` are what Lua 5.4
 * computes for the listed inputs (the oracle test re-derives them); the kernel must agree
 * at every optimisation level.
 */
import { buildPacket } from "@luabpf/loader";
import type { MapSnapshot, ProgramInput } from "../src/kernel.js";

export interface RegressionCase {
  readonly name: string;
  readonly source: string;
  /** `skb.mark` of each run (default: one run with mark 0). */
  readonly marks?: readonly number[];
  /** The return value of each run. */
  readonly returns: readonly number[];
  /** Map contents after the runs (array maps: non-zero elements only). */
  readonly maps?: MapSnapshot;
}

/** The inputs of a case: one TCP packet per mark. */
export function regressionInputs(c: RegressionCase): ProgramInput[] {
  const packet = buildPacket("tcp");
  return (c.marks ?? [0]).map((mark) => ({ packet, mark }));
}

const socket = (body: string, prelude = ""): string => `${prelude}\nbpf.socket(function (skb)\n${body}\nend)\n`;
const OUT = `local out = bpf.map("array", 16, "uint32_t", "uint64_t")`;

export const REGRESSIONS: readonly RegressionCase[] = [
  // ---- SSA construction of loops (issue 17) ----
  {
    name: "a local a for body with a branch does not assign keeps its value after the loop",
    source: socket("local s = 5\nfor i = 0, 2 do\n  if skb.mark > 3 then end\nend\nreturn s"),
    marks: [0, 9],
    returns: [5, 5],
  },
  {
    name: "the same in tc with the value stored in a map (a kernel pointer leaked there)",
    source: `${OUT}\nbpf.tc(function (skb)\n  local s = 5\n  for i = 0, 2 do\n    if skb.mark > 3 then end\n  end\n  out[0] = s\n  return 0\nend)\n`,
    marks: [9],
    returns: [0],
    maps: { out: { "0": "5" } },
  },
  {
    name: "a loop that never runs holding while and for loops with a branch (hung the front end)",
    source: socket(
      "local v = 0\nfor i = 1, 0 do\n  local c = 0\n  while c < 2 do\n    c = c + 1\n    for j = 0, 0 do local w = (skb.mark < 0) and 0 end\n  end\n  out[0] = v\nend\nreturn v",
      OUT,
    ),
    returns: [0],
    maps: { out: {} },
  },
  {
    name: "a read after loops that never run (overflowed the stack in SSA construction)",
    source: socket("local x = 3\nfor i = 5, 2 do x = x + 1 end\nfor i = 5, 2 do end\nreturn x"),
    returns: [3],
  },
  {
    name: "three nested for loops keep the outer counters",
    source: socket("local n = 0\nfor i = 1, 3 do\n  for j = 1, 3 do\n    for k = 1, 3 do end\n  end\n  n = n + i\nend\nreturn n"),
    returns: [6],
  },
  {
    name: "two variables updated in a loop with a branch",
    source: socket("local a, b = 1, 0\nfor i = 1, 6 do\n  if skb.mark > i then a, b = b, a + b else b = b + 1 end\nend\nreturn a * 100 + b"),
    marks: [0, 5],
    returns: [106, 205],
  },
  {
    name: "repeat ... until with a branch",
    source: socket("local n, t = 0, 10\nrepeat\n  n = n + 1\n  if skb.mark == n then t = t + 5 end\nuntil n >= 4\nreturn t * 10 + n"),
    marks: [0, 2],
    returns: [104, 154],
  },
  {
    name: "values read in code that cannot run are not nil",
    source: socket(
      "local r = 3\nif false then r = (skb.mark > 1 and 1 or 2) + 1 end\nwhile true do\n  break\n  local z = (skb.mark > 2 and skb.mark or 0) + r\nend\nreturn r",
    ),
    marks: [0, 4],
    returns: [3, 3],
  },
  // ---- loop shapes the verifier bounds ----
  {
    name: "a constant step other than 1 at -O0 (the trip count's division was rejected)",
    source: socket("local s = 0\nfor i = 1, 8, 2 do s = s * 10 + i end\nreturn s"),
    returns: [1357],
  },
  {
    name: "a run-time start counting up (was rejected: 1M processed instructions)",
    source: socket("local s = 0\nfor i = (skb.mark & 7), 5 do s = s * 10 + i end\nreturn s"),
    marks: [0, 3, 7],
    returns: [12345, 345, 0],
  },
  {
    name: "a run-time step",
    source: socket("local s = 0\nfor i = 1, 20, (skb.mark & 3) + 2 do s = s + i end\nreturn s"),
    marks: [0, 3, 7],
    returns: [100, 34, 34],
  },
  {
    name: "a run-time limit counting down by 3",
    source: socket("local s = 0\nfor i = 20, (skb.mark & 7), -3 do s = s + i end\nreturn s"),
    marks: [0, 3, 7],
    returns: [77, 75, 70],
  },
  {
    name: "constant steps stop at the end of the integer range without overflowing",
    source: socket(
      "local n = 0\nfor i = 0x7ffffffffffffff0, 0x7fffffffffffffff, 7 do n = n + 1 end\nfor i = -0x7ffffffffffffff0, -0x7fffffffffffffff - 1, -7 do n = n + 10 end\nreturn n",
    ),
    returns: [33],
  },
  {
    name: "run-time limits near the end of the integer range",
    source: socket(
      "local n = 0\nlocal hi = 0x7fffffffffffffff - (skb.mark & 7)\nfor i = hi - 20, hi, 6 do n = n + 1 end\n" +
        "local lo = -0x7fffffffffffffff + (skb.mark & 7)\nfor i = lo + 20, lo, -6 do n = n + 10 end\n" +
        "for i = -0x7fffffffffffffff - 1, -0x7fffffffffffffff - 1 + (skb.mark & 3), 5 do n = n + 100 end\nreturn n",
    ),
    marks: [0, 5],
    returns: [144, 144],
  },
  // ---- found by the long differential run ----
  {
    name: "range-simplify threads both ways out of a block whose phi a target reads (seed 277: internal error at -O2)",
    source: socket(
      "local c = 0\nwhile c < 2 do\n  c = c + 1\n  local v = (0 < (out[8] or 0)) or (0 ~= 2)\nend\nreturn c",
      `local out = bpf.map("array", 8, "uint32_t", "uint64_t")`,
    ),
    returns: [2],
    maps: { out: {} },
  },
  // ---- found by the differential run with top-level functions, bit and math (generator of 2026-11-28) ----
  {
    name: "a function whose loop body always returns (a phi of its result the SSA builder removed)",
    source: socket(
      "return f(skb.mark) + g(skb.mark)",
      `local function f(a)\n  repeat\n    do return a + 1 end\n  until false\nend\nlocal function g(a)\n  local c = 0\n  while true do\n    c = c + 1\n    if c > 2 then return a * 10 + c end\n  end\nend`,
    ),
    marks: [0, 4],
    returns: [4, 48],
  },
  {
    name: "a call needing more than five values passes the last ones in a stack block (-O0: a BPF-to-BPF call)",
    source: socket(
      "local s = 0\nfor i = 1, 2 do\n  s = s + f(skb.mark > 3 and skb.mark or nil, skb.mark > 100 and 1 or nil, i, skb.mark, 7, i * 2)\nend\nout[3] = s\nreturn s",
      `local out = bpf.map("array", 8, "uint32_t", "uint64_t")\nlocal function f(a, b, c, d, e, g)\n  if a == nil then a = 100 end\n  if b ~= nil then return -1 end\n  out[0] = (out[0] or 0) + 1\n  return a + c * 1000 + d * 10 + e - g\nend`,
    ),
    marks: [3, 5],
    returns: [3268, 3118],
    maps: { out: { "0": "4", "3": "3118" } },
  },
  {
    name: "c and x or y is a number: a call passes it as one value, not a tag and a payload",
    source: socket(
      "return f((skb.mark > 2) and 1 or 2, (skb.mark > 4) and 10 or 20, (skb.mark > 6) and 100 or 200, (skb.mark > 8) and 1000 or 2000)",
      `local function f(a, b, c, d)\n  return a + b + c + d + (a // 2)\nend`,
    ),
    marks: [0, 5, 9],
    returns: [2223, 2211, 1111],
  },
  {
    name: "map[key] = value evaluates the key first, as Lua 5.4 does (seed 50450)",
    source: socket(
      "m[f(7)] = f(0)\nreturn out[7]",
      `local out = bpf.map("array", 8, "uint32_t", "uint64_t")\nlocal m = bpf.map("hash", 4, "uint16_t", "uint16_t")\nlocal function f(a)\n  out[7] = a ~ 7\n  return 7\nend`,
    ),
    returns: [7],
    maps: { out: { "7": "7" }, m: { "7": "7" } },
  },
  {
    name: "math.log2 adds no branch: nested loops of calls verify at -O0 (seed 60112: over 1M instructions processed)",
    source: socket(
      "local s = 0\nfor i = 1, 6 do\n  for j = 1, 4 do\n    s = s + f(f(skb.mark * i + j))\n  end\nend\nreturn s",
      `local out = bpf.map("array", 8, "uint32_t", "uint64_t")\nlocal function f(a)\n  local v = math.log2(a / 100)\n  out[v & 7] = (out[v & 7] or 0) + 1\n  return math.log2(a) + v\nend`,
    ),
    marks: [0, 123456],
    returns: [6, 96],
    maps: { out: { "0": "72", "2": "4", "3": "8", "4": "12" } },
  },
];
