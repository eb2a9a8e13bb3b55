/**
 * `npm run superopt -- [--write] [--random N] [--max-length N] [--verbose]`
 *
 * The offline peephole superoptimizer (docs/performance.md, "Superoptimizer"): harvests the
 * instruction windows luabpf emits at -O2 for the examples and loop benchmarks
 * (superopt/harvest.ts), searches each window whose inputs are scalars for a shorter
 * equivalent (superopt/search.ts), proves each find with z3 (superopt/smt.ts), drops the
 * preconditions the proof does not need, and prints the rules — with `--write`, into
 * packages/backend-ebpf/src/superopt-rules.ts, which the compiler applies after register
 * allocation. Needs `z3` (Debian: `apt-get install z3`); takes minutes, so CI runs only the
 * rule table's test (backend-ebpf test/superopt-rules.test.ts), not the search.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseCommandLine } from "./command-line.js";
import { printInsn, readsWrites, scalarInputs, toInsn, type WindowInst } from "@luabpf/backend-ebpf";
import { harvest, harvestSources } from "../superopt/harvest.js";
import { parseWindow, proofQuery, searchWindow, type Candidate } from "../superopt/search.js";
import { solve, z3Version } from "../superopt/smt.js";
import { ruleTableModule, type FoundRule } from "../superopt/table.js";

const { values } = parseCommandLine("superopt", "npm run superopt -- [--write] [--random N] [--max-length N] [--verbose]", () =>
  parseArgs({
    options: {
      write: { type: "boolean", default: false },
      "max-length": { type: "string", default: "2" },
      "max-regs": { type: "string", default: "4" },
      random: { type: "string", default: "0" },
      verbose: { type: "boolean", default: false },
    },
  }),
);
const root = join(import.meta.dirname, "..", "..", "..", "..");
const z3 = z3Version();
if (!z3) {
  process.stderr.write("superopt: z3 is not installed (apt-get install -y z3): the search keeps only proved rules\n");
  process.exit(1);
}
const maxLength = Number(values["max-length"]);
const maxRegs = Number(values["max-regs"]);
const started = performance.now();
const text = (insts: readonly WindowInst[]): string => insts.map((i) => printInsn(toInsn(i, (r) => r))).join("; ");
const regsOf = (insts: readonly WindowInst[]): number => Math.max(0, ...insts.flatMap((i) => (i.k === "jcc" ? [i.a, i.b ?? 0] : i.k === "alu" ? [i.dst, i.src ?? 0] : [i.dst])));

const sources = harvestSources(root);
const random = Number(values.random);
const windows = harvest(root, sources, random);
// Only what is known of the inputs matters; windows differing in other facts merge.
const distinct = new Map<string, { text: string; liveOut: number[]; narrow: [number, number][]; count: number; where: string }>();
for (const w of windows) {
  const insts = parseWindow(w.text);
  const { inputs } = readsWrites(insts);
  const narrow = w.narrow.filter(([p]) => inputs.includes(p));
  const key = `${w.text}|${w.liveOut.join(",")}|${narrow.map((f) => f.join(":")).join(",")}`;
  const d = distinct.get(key);
  if (d) d.count += w.count;
  else distinct.set(key, { text: w.text, liveOut: w.liveOut, narrow, count: w.count, where: w.where });
}
let scalar = 0;
let searched = 0;
let tried = 0;
let proofs = 0;
let refuted = 0;
let dropped = 0;
let timedOut = 0;
const rules: FoundRule[] = [];
const prove = (insts: readonly WindowInst[], c: Candidate): boolean => {
  proofs++;
  const answer = solve(proofQuery(insts, c));
  if (answer !== "unsat") refuted++;
  return answer === "unsat";
};
for (const w of distinct.values()) {
  const insts = parseWindow(w.text);
  if (!scalarInputs(insts)) continue;
  scalar++;
  if (regsOf(insts) > maxRegs) continue;
  if (rules.some((r) => r.find === w.text && r.dead.every((p) => !w.liveOut.includes(p)) && r.narrow.every(([p, b]) => w.narrow.some(([q, c]) => q === p && c <= b)))) continue;
  searched++;
  const t = performance.now();
  const { found, stats } = searchWindow(insts, w.liveOut, w.narrow, maxLength, (c) => prove(insts, c));
  tried += stats.tried;
  if (stats.timedOut) timedOut++;
  if (values.verbose) process.stderr.write(`${found ? "found" : stats.timedOut ? "time " : "none "} ${(performance.now() - t).toFixed(0).padStart(6)} ms  ${w.text}  (live ${w.liveOut.join(",") || "-"})\n`);
  if (!found) continue;
  // Drop each precondition the proof does not need.
  for (const fact of [...found.narrow]) {
    const without = { ...found, narrow: found.narrow.filter((f) => f !== fact) };
    if (prove(insts, without)) {
      found.narrow = without.narrow;
      dropped++;
    }
  }
  const rule = { find: w.text, replace: text(found.replace), dead: found.dead, narrow: found.narrow, count: w.count, where: w.where };
  const same = rules.find((r) => r.find === rule.find && r.replace === rule.replace && r.dead.join() === rule.dead.join() && r.narrow.join() === rule.narrow.join());
  if (same) same.count += rule.count;
  else rules.push(rule);
  process.stderr.write(`rule: ${rule.find}  =>  ${rule.replace || "(nothing)"}  dead [${rule.dead.join(", ")}]${rule.narrow.length ? ` narrow ${JSON.stringify(rule.narrow)}` : ""}  (${w.count}× ${w.where})\n`);
}
const seconds = ((performance.now() - started) / 1000).toFixed(0);
const total = windows.reduce((n, w) => n + w.count, 0);
const summary = [
  `${sources.length} programs${random > 0 ? ` and ${random} generated ones (difftest seeds 1..${random})` : ""} at -O2: ${total} windows of 2–6 instructions (${distinct.size} distinct with their liveness and input facts)`,
  `${scalar} with scalar inputs; ${searched} searched (at most ${maxRegs} registers, candidates of at most ${maxLength} instructions, 30 s each: ${timedOut} ran out): ${tried.toLocaleString("en-US")} candidates tried, ${proofs} z3 queries (${refuted} not unsat, most of them tries to drop a precondition; ${dropped} dropped)`,
  `${rules.length} rules proved with ${z3}, in ${seconds} s`,
];
process.stdout.write(summary.join("\n") + "\n");
if (values.write) {
  const out = join(root, "packages/backend-ebpf/src/superopt-rules.ts");
  writeFileSync(out, ruleTableModule(rules, summary));
  process.stdout.write(`wrote ${out}\n`);
}
