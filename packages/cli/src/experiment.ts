/**
 * `luabpf experiment`, as a library: compiles a corpus under two pass pipelines (A, the
 * baseline, and B) and measures, per program, what an eBPF optimisation paper reports —
 *
 * - **slots**: eBPF instruction slots of the program (`lddw` counts two), what the kernel's
 *   1M-instruction and jump-range limits count;
 * - **verified**: the instructions the kernel's verifier processed to accept it (`processed N
 *   insns`, from a load with log level 4) — its cost of verification, which paths and loop
 *   shapes change; absent when bpf(2) is unavailable, `rejected` when the verifier refused it;
 * - **compile ms**: the median wall time of compiling the program's file (front end,
 *   passes, code generation) over `repeat` runs, after one warm-up compile of every file;
 * - **steps**: IR instructions the interpreter executed running the program once on the
 *   test input (a packet for packet programs), after the pipeline — a machine-independent
 *   proxy of run time.
 *
 * and for each measure the geometric mean of the B/A ratios over the programs where both
 * exist. The result is deterministic except for compile times.
 */
import { parseModule, printModule, type Module } from "@luabpf/ir";
import type { PassRegistry } from "@luabpf/passes";
import { codegen, frontend, optimize } from "./driver.js";
import { interpretFunction } from "./interp-run.js";

/** One program's measures under one pipeline. */
export interface Measures {
  slots: number;
  /** Processed instructions; `"rejected"`; undefined without a kernel. */
  verified: number | "rejected" | undefined;
  compileMs: number;
  /** Undefined when the interpreter could not run it (the trap is in `notes`). */
  steps: number | undefined;
}

/** One program: where it comes from and its measures under A and B. */
export interface ProgramRow {
  file: string;
  program: string;
  a: Measures;
  b: Measures;
}

export interface ExperimentRequest {
  files: readonly { name: string; text: string }[];
  /** Pipeline texts; `O0`/`O1`/`O2` stand for the levels (`O2,licm`). */
  baseline: string;
  candidate: string;
  registry?: PassRegistry;
  /** Load each object in the kernel for the verifier's count (default true). */
  kernel?: boolean;
  /** Compile-time samples per file and pipeline (median reported); default 3. */
  repeat?: number;
  /** The packet the interpreter runs packet programs on. */
  packet?: Uint8Array;
}

export interface ExperimentResult {
  baseline: string;
  candidate: string;
  rows: ProgramRow[];
  /** Why a column is missing, traps, rejections. */
  notes: string[];
}

/** The measures a geometric mean is taken of. */
export const MEASURES = ["slots", "verified", "compileMs", "steps"] as const;
export type MeasureName = (typeof MEASURES)[number];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** `-O2` on the command line means the O2 alias in pipeline text. */
export function pipelineText(spec: string): string {
  return spec
    .split(",")
    .map((item) => item.trim().replace(/^-O([0-2])$/, "O$1"))
    .join(",");
}

interface Compiled {
  module: Module;
  ms: number;
  programs: { name: string; slots: number }[];
  object: ReturnType<typeof codegen>["object"];
}

function compileFile(file: { name: string; text: string }, passes: string, registry: PassRegistry | undefined, repeat: number): Compiled {
  const times: number[] = [];
  let last: Compiled | undefined;
  for (let k = 0; k < repeat; k++) {
    const t0 = performance.now();
    const module = file.name.endsWith(".ir") ? parseModule(file.text, { file: file.name }) : frontend(file.text, file.name);
    optimize(module, { passes, ...(registry ? { registry } : {}) });
    const optimized = printModule(module); // what the interpreter runs (code generation may use the module)
    const { object } = codegen(module);
    times.push(performance.now() - t0);
    last = { module: parseModule(optimized, { file: file.name }), ms: 0, object, programs: object.programs.filter((p) => !p.subprogram).map((p) => ({ name: p.name, slots: p.code.length / 8 })) };
  }
  return { ...last!, ms: median(times) };
}

/** Runs the experiment. Throws what compiling throws (bad input, a broken pass). */
export async function runExperiment(req: ExperimentRequest): Promise<ExperimentResult> {
  const notes: string[] = [];
  const repeat = Math.max(1, req.repeat ?? 3);
  const a = pipelineText(req.baseline);
  const b = pipelineText(req.candidate);
  let load: ((object: Compiled["object"]) => Map<string, number | "rejected">) | undefined;
  if (req.kernel ?? true) {
    const loader = await import("./lazy/loader.js");
    const available = loader.bpfAvailable();
    if (!available.ok) notes.push(`verified: not measured, bpf(2) is unavailable here (${available.reason})`);
    else
      load = (object) => {
        const counts = new Map<string, number | "rejected">();
        try {
          const loaded = loader.loadObject(object, {
            logLevel: 4,
            onVerifierLog: (program, log) => {
              const m = /processed (\d+) insns/.exec(log);
              if (m) counts.set(program, Number(m[1]));
            },
          });
          loaded.close();
        } catch (e) {
          for (const p of object.programs) if (!counts.has(p.name)) counts.set(p.name, "rejected");
          notes.push(`${object.programs.map((p) => p.name).join(", ")}: the kernel refused the object: ${(e as Error).message.split("\n")[0]}`);
        }
        return counts;
      };
  }
  // Warm the JIT up on every file first, so the first file measured does not pay for it.
  for (const file of req.files) for (const passes of [a, b]) compileFile(file, passes, req.registry, 1);
  const rows: ProgramRow[] = [];
  for (const file of req.files) {
    const [ma, mb] = [a, b].map((passes) => {
      const c = compileFile(file, passes, req.registry, repeat);
      const verified = load?.(c.object);
      const byProgram = new Map<string, Measures>();
      for (const p of c.programs) {
        const run = interpretFunction(c.module, { fn: p.name, ...(req.packet ? { packet: req.packet } : {}) });
        if (run.trap !== undefined) notes.push(`${file.name}:${p.name} (${passes === a ? "A" : "B"}): the interpreter trapped: ${run.trap}`);
        byProgram.set(p.name, { slots: p.slots, verified: verified?.get(p.name), compileMs: c.ms, steps: run.trap === undefined ? run.steps : undefined });
      }
      return byProgram;
    }) as [Map<string, Measures>, Map<string, Measures>];
    for (const [program, m] of ma) rows.push({ file: file.name, program, a: m, b: mb.get(program)! });
  }
  return { baseline: a, candidate: b, rows, notes };
}

/** The geometric mean of the B/A ratios of `measure` over the rows where both are positive numbers, and how many. */
export function geomean(rows: readonly ProgramRow[], measure: MeasureName): { ratio: number | undefined; count: number } {
  let sum = 0;
  let count = 0;
  for (const r of rows) {
    const x = r.a[measure];
    const y = r.b[measure];
    if (typeof x !== "number" || typeof y !== "number" || x <= 0 || y <= 0) continue;
    sum += Math.log(y / x);
    count++;
  }
  return { ratio: count ? Math.exp(sum / count) : undefined, count };
}

const HEADINGS: Record<MeasureName, string> = { slots: "slots", verified: "verified insns", compileMs: "compile ms", steps: "interp steps" };

function cellOf(v: number | "rejected" | undefined, measure: MeasureName): string {
  if (v === undefined) return "n/a";
  if (v === "rejected") return "rejected";
  return measure === "compileMs" ? v.toFixed(2) : String(v);
}

function change(x: number | "rejected" | undefined, y: number | "rejected" | undefined): string {
  if (typeof x !== "number" || typeof y !== "number" || x <= 0) return "";
  return percent(y / x);
}

function percent(ratio: number): string {
  const p = (ratio - 1) * 100;
  return `${p > 0 ? "+" : ""}${p.toFixed(1)}%`;
}

/**
 * The result as a Markdown table: one row per program with A, B and the change for each
 * measure, then the geometric means, then notes.
 */
export function formatExperiment(r: ExperimentResult): string {
  const head = ["program", ...MEASURES.flatMap((m) => [`${HEADINGS[m]} A`, `${HEADINGS[m]} B`, "Δ"])];
  const align = ["---", ...MEASURES.flatMap(() => ["---:", "---:", "---:"])];
  const lines = [`A: ${r.baseline || "(no passes)"}`, `B: ${r.candidate || "(no passes)"}`, "", `| ${head.join(" | ")} |`, `| ${align.join(" | ")} |`];
  for (const row of r.rows) {
    const cells = MEASURES.flatMap((m) => [cellOf(row.a[m], m), cellOf(row.b[m], m), change(row.a[m], row.b[m])]);
    lines.push(`| ${row.file}:${row.program} | ${cells.join(" | ")} |`);
  }
  const means = MEASURES.flatMap((m) => {
    const g = geomean(r.rows, m);
    return ["", "", g.ratio === undefined ? "n/a" : `${percent(g.ratio)} (×${g.ratio.toFixed(3)}, ${g.count})`];
  });
  lines.push(`| geomean B/A | ${means.join(" | ")} |`);
  if (r.notes.length) lines.push("", ...r.notes.map((n) => `note: ${n}`));
  return lines.join("\n") + "\n";
}
