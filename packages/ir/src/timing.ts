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

/** Runs `f`, adding its wall time to `times[phase]` when `times` is given. */
export function timePhase<T>(times: PhaseTimes | undefined, phase: Phase, f: () => T): T {
  if (!times) return f();
  const t0 = performance.now();
  try {
    return f();
  } finally {
    times[phase] = (times[phase] ?? 0) + (performance.now() - t0);
  }
}
