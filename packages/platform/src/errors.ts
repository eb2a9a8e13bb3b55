/**
 * The one base of the errors luabpf throws on purpose: each says whose fault it is
 * (`kind`) and what it is about (`category`), so the command line (and any caller)
 * dispatches on these two fields, never on class names. Two channels (STYLE.md, "Errors"):
 *
 * - `user`: bad input or a refused request — a syntax or type error, a program the
 *   kernel's verifier rejects, an object file that cannot be read, an environment without
 *   `bpf(2)`. Reported as a message (with a source location where one is known); exit 1.
 * - `internal`: a broken invariant of luabpf — a bug, whatever the input. Reported as an
 *   internal error asking for a report; exit 70.
 *
 * This module has no dependencies and is importable alone (`@luabpf/platform/errors`), so
 * the command line can classify errors without loading the compiler.
 */

/** Whose fault an error is. */
export type ErrorKind = "user" | "internal";

/**
 * What an error is about, for messages and JSON diagnostics: `compile` (the source),
 * `verifier` (the kernel's verifier), `kernel` (bpf(2), loading, objects, packets), `pass`
 * (a user's pass), `usage`, `io`, `internal`.
 */
export type ErrorCategory = "compile" | "verifier" | "kernel" | "pass" | "usage" | "io" | "internal";

/** The base class of luabpf's errors. */
export abstract class LuabpfError extends Error {
  /** Whose fault it is: the input's or environment's (`user`) or luabpf's (`internal`). */
  abstract readonly kind: ErrorKind;
  /** What it is about. */
  abstract readonly category: ErrorCategory;
}

/** Is `e` one of luabpf's errors? */
export function isLuabpfError(e: unknown): e is LuabpfError {
  return e instanceof LuabpfError;
}
