#!/usr/bin/env node
// `npm run bench:size`: code size against clang. For every example with a C twin in
// bench/size/, compiles ours (-O2) and clang's (clang-16 -O2 -target bpf -mcpu=v3) and
// prints per program our instruction slots (-g only adds the .BTF libbpf needs), clang's, and the ratio (lower is better).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSource } from "../packages/cli/dist/driver.js";
import { readObject } from "../packages/elf/dist/index.js";

const root = join(import.meta.dirname, "..");
const twins = readdirSync(join(root, "bench/size")).filter((f) => f.endsWith(".c")).sort();
const multiarch = (() => {
  try {
    return execFileSync("gcc", ["-print-multiarch"], { encoding: "utf8" }).trim();
  } catch {
    return "x86_64-linux-gnu";
  }
})();
const tmp = mkdtempSync(join(tmpdir(), "luabpf-bench-"));
const rows = [];
let ourTotal = 0;
let clangTotal = 0;
try {
  for (const twin of twins) {
    const name = twin.replace(/\.c$/, "");
    const lua = join(root, "examples", `${name}.lua`);
    const ours = compileSource(readFileSync(lua, "utf8"), { file: `examples/${name}.lua`, optLevel: 2 });
    const obj = join(tmp, `${name}.o`);
    execFileSync("clang-16", ["-O2", "-g", "-target", "bpf", "-mcpu=v3", `-I/usr/include/${multiarch}`, "-c", join(root, "bench/size", twin), "-o", obj]);
    const theirs = readObject(readFileSync(obj));
    const ourSlots = ours.object.programs.reduce((n, p) => n + p.code.length / 8, 0);
    const clangSlots = theirs.programs.reduce((n, p) => n + p.code.length / 8, 0);
    ourTotal += ourSlots;
    clangTotal += clangSlots;
    rows.push([name, ourSlots, clangSlots, (ourSlots / clangSlots).toFixed(2)]);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
rows.push(["total", ourTotal, clangTotal, (ourTotal / clangTotal).toFixed(2)]);
const header = ["program", "luabpf", "clang -O2", "ratio"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ");
console.log(line(header));
for (const r of rows) console.log(line(r));
