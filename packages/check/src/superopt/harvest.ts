/**
 * Harvest for the superoptimizer: the instruction windows luabpf emits at -O2 for every
 * example (examples/*.lua) and loop benchmark (bench/loops/*.lua), with the registers
 * live after each, counted by canonical text (backend-ebpf superopt.ts `superoptWindows`).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { superoptWindows } from "@luabpf/backend-ebpf";
import { compileSource } from "luabpf";
import { defaultGenerator } from "../generate.js";

/** One distinct window: its text, what is live after it, and how often it occurs (and where first). */
export interface WindowStat {
  text: string;
  liveOut: number[];
  /** Known widths before the window (`[p, bits]`: rp < 2^bits). */
  narrow: [number, number][];
  count: number;
  where: string;
}

/** The Lua programs the search reads, relative to the repository root. */
export function harvestSources(root: string): string[] {
  const lua = (dir: string): string[] =>
    readdirSync(join(root, dir))
      .filter((f) => f.endsWith(".lua"))
      .sort()
      .map((f) => `${dir}/${f}`);
  return [...lua("examples"), ...lua("bench/loops")];
}

/**
 * Every distinct (window, live-out, facts) triple of the programs, most frequent first
 * (ties: text order, deterministic). With `random` > 0, also the differential tester's
 * generated programs of seeds 1..random (named `random:SEED`): more varied code, and rules
 * that then fire in `npm run difftest`'s programs, where the kernel checks them.
 */
export function harvest(root: string, files: readonly string[] = harvestSources(root), random = 0): WindowStat[] {
  const stats = new Map<string, WindowStat>();
  const generator = defaultGenerator();
  const programs = [
    ...files.map((file) => ({ file, source: readFileSync(join(root, file), "utf8") })),
    ...Array.from({ length: random }, (_, k) => ({ file: `random:${k + 1}`, source: generator.generate(k + 1).source })),
  ];
  for (const { file, source } of programs) {
    let module;
    try {
      module = compileSource(source, { file, optLevel: 2 }).module;
    } catch {
      continue; // a generated program the compiler refuses (difftest reports those)
    }
    for (const fn of module.functions) {
      for (const w of superoptWindows(fn)) {
        const key = `${w.text}|${w.liveOut.join(",")}|${w.narrow.map((f) => f.join(":")).join(",")}`;
        const s = stats.get(key) ?? stats.set(key, { text: w.text, liveOut: w.liveOut, narrow: w.narrow, count: 0, where: `${file}:${fn.name}` }).get(key)!;
        s.count++;
      }
    }
  }
  return [...stats.values()].sort((a, b) => b.count - a.count || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
}
