/**
 * The two error channels of the compiler (see STYLE.md, "Errors").
 *
 * - {@link CompileError} carries user diagnostics: bad input, reported with a source
 *   location, never with a stack trace.
 * - {@link InternalError} is an invariant failure inside the compiler; its message says
 *   "internal error" and asks for a report.
 */

import { LuabpfError } from "@luabpf/platform/errors";

/**
 * A position in a source file (1-based line and column). Immutable: the front end hands one
 * object to every instruction and diagnostic made at the same offset.
 */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One user-facing message about the input program. */
export interface Diagnostic {
  severity: "error" | "warning" | "note";
  message: string;
  location?: SourceLocation;
}

/** Formats a diagnostic as `file:line:col: severity: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.location ? `${d.location.file}:${d.location.line}:${d.location.column}: ` : "";
  return `${where}${d.severity}: ${d.message}`;
}

/** Bad input: one or more diagnostics, each with a source location where one is known. */
export class CompileError extends LuabpfError {
  readonly kind = "user" as const;
  readonly category: "compile" | "verifier" = "compile";
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: Diagnostic | readonly Diagnostic[], options?: { cause?: unknown }) {
    const list = Array.isArray(diagnostics) ? (diagnostics as readonly Diagnostic[]) : [diagnostics as Diagnostic];
    super(list.map(formatDiagnostic).join("\n"), options);
    this.name = "CompileError";
    this.diagnostics = list;
  }
}

/** A broken compiler invariant. Never caused by user input. */
export class InternalError extends LuabpfError {
  readonly kind: "user" | "internal" = "internal";
  readonly category: "internal" | "pass" = "internal";
  constructor(message: string, options?: { cause?: unknown }) {
    super(`internal error: ${message} (this is a bug in luabpf; please report it with the input that caused it)`, options);
    this.name = "InternalError";
  }
}

/** Throws an {@link InternalError} unless `cond` holds. */
export function assert(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new InternalError(typeof message === "string" ? message : message());
}

/** For exhaustive switches over discriminated unions. */
export function assertNever(x: never, what = "value"): never {
  throw new InternalError(`unexpected ${what}: ${JSON.stringify(x)}`);
}
