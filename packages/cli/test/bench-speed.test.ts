// `npm run bench:speed --quick` runs (CI's quick version, so that the benchmark cannot rot)
// and prints its three tables: warm compiles per phase, process CPU against `node -e 0` and
// clang, scaling with ns per instruction and peak RSS. It checks the shape of the report,
// never a time: timing is the benchmark's business, not a test's.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect, test } from "vitest";
import { ROOT } from "./helpers.js";

// Not a time limit: a generous timeout for its ~15 processes on a loaded 2-core machine.
test("bench:speed --quick prints the three tables", { timeout: 600_000 }, () => {
  const r = spawnSync(process.execPath, [join(ROOT, "scripts/bench-speed.js"), "--quick"], { encoding: "utf8", cwd: ROOT });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  const lines = r.stdout.split("\n");
  const number = String.raw`\d+(\.\d+)?`;
  const section = (title: RegExp): string[] => {
    const start = lines.findIndex((l) => title.test(l));
    expect(start, String(title)).toBeGreaterThanOrEqual(0);
    const end = lines.findIndex((l, k) => k > start && l.trim() === "");
    return lines.slice(start + 2, end < 0 ? undefined : end);
  };
  // 1. one row per example: eight phases, a total and the CPU per compile.
  const warm = section(/^1\. warm in-process compile/);
  expect(warm.filter((l) => new RegExp(String.raw`^\S+\.lua(\s+${number}){10}$`).test(l))).toHaveLength(2);
  expect(warm.some((l) => new RegExp(String.raw`^median over examples(\s+${number}){2}$`).test(l))).toBe(true);
  // 2. node, the command (from its bundle), the modules, clang: CPU ms and a ratio to node.
  const proc = section(/^2\. process CPU time/);
  expect(proc[0]).toMatch(new RegExp(String.raw`^node -e 0\s+${number}\s+1\.00$`));
  expect(proc[1]).toMatch(new RegExp(String.raw`^luabpf compile examples/proto-count\.lua -o x\.o\s+${number}\s+${number}$`));
  expect(proc.some((l) => new RegExp(String.raw`^clang-16 .*\s${number}\s+${number}$`).test(l))).toBe(true);
  // 3. every shape at 1k IR instructions, with its eBPF size, phases, total, ns/IR and RSS.
  const scaling = section(/^3\. scaling/);
  for (const shape of ["straight", "branches", "loops", "live", "maps"]) {
    expect(scaling.some((l) => new RegExp(String.raw`^${shape}\s+\d+\s+\d+(\s+${number}){11}$`).test(l)), shape).toBe(true);
  }
});
