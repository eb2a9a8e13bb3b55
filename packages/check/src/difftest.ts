/**
 * Differential testing: a program runs in Lua 5.4 (oracle.ts) and on the kernel at -O0 and
 * -O2 (kernel.ts) on the same inputs; the return values (low 32 bits, what
 * `BPF_PROG_TEST_RUN` reports) and every map entry must agree.
 *
 * Outcomes, one per program:
 *
 * - `match`: every level agrees with Lua;
 * - `mismatch`: a level computed something else (a miscompile);
 * - `rejected`: the kernel verifier refused an object the compiler produced;
 * - `compile-error` / `internal-error`: the compiler refused a valid program or failed;
 * - `load-error`: the kernel refused something other than the code (a map);
 * - `invalid`: Lua 5.4 itself raised an error — the program is outside the differential
 *   subset (a generator bug, never counted as a compiler failure).
 */
import { runOnKernel, type KernelOutcome, type KernelRunOptions, type MapSnapshot, type Observation, type ProgramInput } from "./kernel.js";
import { runOracle, type OracleOutcome } from "./oracle.js";

export const LEVELS = [0, 2] as const;
export type Level = (typeof LEVELS)[number];

export type DiffKind = "match" | "mismatch" | "rejected" | "compile-error" | "internal-error" | "load-error" | "invalid";

export interface DiffResult {
  readonly kind: DiffKind;
  /** The level that failed first (for kernel-side kinds). */
  readonly level?: Level;
  /** What differed or failed, for people. */
  readonly detail: string;
}

/** The oracle's maps, keyed by the names of the object's maps (same declaration order). */
function namedOracleMaps(oracle: Extract<OracleOutcome, { kind: "ok" }>, observed: MapSnapshot): MapSnapshot | string {
  const names = Object.keys(observed);
  if (names.length !== oracle.maps.length) return `the object has ${names.length} maps, Lua declared ${oracle.maps.length}`;
  return Object.fromEntries(names.map((n, i) => [n, oracle.maps[i]!]));
}

/** The first difference between the kernel's observation and Lua's, or undefined. */
export function compareObservations(observed: Observation, oracle: Extract<OracleOutcome, { kind: "ok" }>): string | undefined {
  for (let k = 0; k < Math.max(observed.returns.length, oracle.returns.length); k++) {
    if (observed.returns[k] !== oracle.returns[k]) return `run ${k + 1} returned ${observed.returns[k]}, Lua ${oracle.returns[k]}`;
  }
  const expected = namedOracleMaps(oracle, observed.maps);
  if (typeof expected === "string") return expected;
  for (const [name, entries] of Object.entries(expected)) {
    const got = observed.maps[name] ?? {};
    for (const key of new Set([...Object.keys(entries), ...Object.keys(got)])) {
      if (got[key] !== entries[key]) return `map ${name}[${key}] is ${got[key] ?? "absent"}, Lua ${entries[key] ?? "absent"}`;
    }
  }
  return undefined;
}

/**
 * Runs one program everywhere and classifies the outcome; `driver` adds compile options
 * (e.g. `{ regalloc: "linear" }`: `npm run difftest -- --regalloc linear`).
 */
export function difftest(source: string, inputs: readonly ProgramInput[], levels: readonly Level[] = LEVELS, driver?: KernelRunOptions["driver"]): DiffResult {
  const oracle = runOracle(source, inputs);
  if (oracle.kind !== "ok") return { kind: "invalid", detail: oracle.message };
  for (const level of levels) {
    const outcome: KernelOutcome = runOnKernel(source, { optLevel: level, inputs, ...(driver ? { driver } : {}) });
    if (outcome.kind !== "ok") return { kind: outcome.kind, level, detail: outcome.message };
    const diff = compareObservations(outcome.observation, oracle);
    if (diff !== undefined) return { kind: "mismatch", level, detail: diff };
  }
  return { kind: "match", detail: "" };
}

/** A one-line summary of a failure's kind, for grouping findings (messages without numbers). */
export function signature(r: DiffResult): string {
  const first = r.detail.split("\n").find((l) => /error|R\d|invalid|expected|returned|map /.test(l)) ?? r.detail.split("\n")[0] ?? "";
  return `${r.kind}${r.level !== undefined ? ` -O${r.level}` : ""}: ${first.replace(/\d+/g, "N").slice(0, 160)}`;
}
