#!/usr/bin/env node
// `npm run bench:size`: code size against clang. For every example with a C twin in
// bench/size/, compiles ours (-O2) and clang's (check's compileTwin: clang-16 -O2 -target bpf -mcpu=v3) and
// prints per program our instruction slots (-g only adds the .BTF libbpf needs), clang's,
// their ratio (lower is better), and — when bpf(2) works (root) — the instructions the
// kernel's verifier processed to accept each object (`processed N insns`, summed over
// its programs). The last lines are totals and the geometric means of the ratios.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileTwin, twinNames } from "../packages/check/dist/index.js";
import { compileSource } from "../packages/cli/dist/driver.js";
import { readObject } from "../packages/elf/dist/index.js";
import { bpfAvailable, loadObject } from "../packages/loader/dist/index.js";

const root = join(import.meta.dirname, "..");
const twins = twinNames();
const kernel = bpfAvailable().ok;
/** The verifier's processed instructions for an object (summed over its programs), or "-". */
const processed = (object) => {
  if (!kernel) return "-";
  let total = 0;
  try {
    loadObject(object, {
      logLevel: 4,
      onVerifierLog: (_program, log) => {
        const m = /processed (\d+) insns/.exec(log);
        if (m) total += Number(m[1]);
      },
    }).close();
  } catch (e) {
    return `rejected (${e.message.split("\n")[0]})`;
  }
  return total;
};
const geomean = (xs) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
const tmp = mkdtempSync(join(tmpdir(), "luabpf-bench-"));
const rows = [];
const totals = [0, 0, 0, 0];
const slotRatios = [];
const verifiedRatios = [];
try {
  for (const name of twins) {
    const lua = join(root, "examples", `${name}.lua`);
    const ours = compileSource(readFileSync(lua, "utf8"), { file: `examples/${name}.lua`, optLevel: 2 });
    const theirs = readObject(readFileSync(compileTwin(name, tmp)));
    const ourSlots = ours.object.programs.reduce((n, p) => n + p.code.length / 8, 0);
    const clangSlots = theirs.programs.reduce((n, p) => n + p.code.length / 8, 0);
    const [ourVerified, clangVerified] = [processed(ours.object), processed(theirs)];
    slotRatios.push(ourSlots / clangSlots);
    if (typeof ourVerified === "number" && typeof clangVerified === "number") {
      verifiedRatios.push(ourVerified / clangVerified);
      totals[2] += ourVerified;
      totals[3] += clangVerified;
    }
    totals[0] += ourSlots;
    totals[1] += clangSlots;
    rows.push([name, ourSlots, clangSlots, (ourSlots / clangSlots).toFixed(2), ourVerified, clangVerified]);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
rows.push(["total", totals[0], totals[1], (totals[0] / totals[1]).toFixed(2), kernel ? totals[2] : "-", kernel ? totals[3] : "-"]);
rows.push([
  "geomean of ratios",
  "",
  "",
  geomean(slotRatios).toFixed(2),
  verifiedRatios.length > 0 ? `${geomean(verifiedRatios).toFixed(2)} × clang` : "-",
  "",
]);
const header = ["program", "luabpf", "clang -O2", "ratio", "verified luabpf", "verified clang"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ");
console.log(line(header));
for (const r of rows) console.log(line(r));
if (!kernel) console.log("(verified: not measured, bpf(2) is unavailable)");
