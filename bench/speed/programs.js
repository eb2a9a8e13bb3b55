// Generated programs for the scaling table of `npm run bench:speed`: one socket program
// per shape, `units` repetitions of a small statement pattern, written so that the
// optimiser cannot fold the work away (every unit reads the packet length).
//
//   straight  straight-line arithmetic, one running sum
//   branches  an `if` per unit (a diamond and a phi each)
//   loops     a bounded `for` loop per unit (back edges, loop-carried phis)
//   live      24 accumulators updated round-robin: more values live than registers (spills)
//   maps      a map update and an atomic add per unit (helper calls, null checks)

const HEAD = ["local bpf = require('bpf')", "local counts = bpf.map('array', 256, 'uint32_t', 'uint64_t')", "bpf.socket(function (skb)"];
const TAIL = ["end)"];
const LIVE = 24;

/** The shapes, in table order. */
export const SHAPES = ["straight", "branches", "loops", "live", "maps"];

/** Lua source of `shape` with `units` repetitions. */
export function generate(shape, units) {
  const body = [];
  switch (shape) {
    case "straight":
      body.push("  local n = skb.len", "  local sum = 0");
      for (let k = 0; k < units; k++) body.push(`  sum = sum + (n ~ ${k})`);
      body.push("  return sum");
      break;
    case "branches":
      body.push("  local n = skb.len", "  local sum = 0");
      for (let k = 0; k < units; k++) body.push(`  if (n ~ ${k}) > ${k * 3} then sum = sum + ${k} end`);
      body.push("  return sum");
      break;
    case "loops":
      body.push("  local n = skb.len", "  local sum = 0");
      for (let k = 0; k < units; k++) body.push(`  for i = 1, ${2 + (k % 3)} do sum = sum + (n ~ i) end`);
      body.push("  return sum");
      break;
    case "live": {
      body.push("  local n = skb.len");
      for (let j = 0; j < LIVE; j++) body.push(`  local x${j} = n + ${j}`);
      for (let k = 0; k < units; k++) body.push(`  x${k % LIVE} = x${k % LIVE} + (x${(k + 7) % LIVE} ~ ${k})`);
      body.push(`  return ${Array.from({ length: LIVE }, (_, j) => `x${j}`).join(" + ")}`);
      break;
    }
    case "maps":
      body.push("  local n = skb.len");
      for (let k = 0; k < units; k++) body.push(k % 2 ? `  xadd(counts[${k % 256}], n)` : `  counts[${k % 256}] = n + ${k}`);
      body.push("  return 0");
      break;
    default:
      throw new Error(`unknown shape ${shape}`);
  }
  return [...HEAD, ...body, ...TAIL].join("\n") + "\n";
}
