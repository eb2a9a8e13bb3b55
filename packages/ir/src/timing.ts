/**
 * Compile-phase timing, for `npm run bench:speed` and `luabpf compile --time` style
 * reports: each stage adds the milliseconds it spent to a {@link PhaseTimes} record the
 * caller passes in. Without a record nothing is measured (one `undefined` test per phase).
 */

/** The compiler's phases, in pipeline order. */
export const PHASES = ["parse", "ssa", "passes", "verify", "isel", "regalloc", "emit", "elf"] as const;
export type Phase = (typeof PHASES)[number];

/** Milliseconds spent per phase (summed over functions and calls). */
export type PhaseTimes = Partial<Record<Phase, number>>;

/**
 * Milliseconds of wall time from an arbitrary origin, for differences. The compiler's
 * clock instead of `performance.now()`: Node loads node:perf_hooks on the first use of the
 * `performance` global, ~3 % of an empty Node's CPU (measured pairwise), and every
 * `luabpf compile` process would pay it for the pass manager's per-pass times.
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs `f`, adding its wall time to `times[phase]` when `times` is given. */
export function timePhase<T>(times: PhaseTimes | undefined, phase: Phase, f: () => T): T {
  if (!times) return f();
  const t0 = nowMs();
  try {
    return f();
  } finally {
    times[phase] = (times[phase] ?? 0) + (nowMs() - t0);
  }
}
