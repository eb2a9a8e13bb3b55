/**
 * User diagnostics of the Lua front end: source locations of luaparse nodes, a helper
 * that throws a located {@link CompileError}, and a collector that lets independent parts
 * of a file (top-level statements, program bodies) report their errors together.
 *
 * Every message names the construct at fault; the location is the 1-based line and
 * column where that construct starts.
 */
import { CompileError, type Diagnostic, type SourceLocation } from "@luabpf/ir";
import type * as lua from "luaparse";
import type { Span } from "./parse.js";

/**
 * Anything luaparse produced that may carry a location: its source range (parse.ts keeps
 * the range's two offsets, not line/column objects, which cost three objects per node), or
 * a `loc` (nodes made elsewhere).
 */
export type Located = { loc?: lua.Node["loc"] } & Span;

/**
 * Line starts of the source the parser last read (parse.ts registers it with
 * {@link useSourceLines}): a node's range becomes its line and column as luaparse would
 * have given them — a line break is `\n`, `\r`, `\r\n` or `\n\r`, columns count UTF-16
 * code units from 0. One source is kept (the file being compiled).
 */
let sourceLines: { file: string; text: string; starts: Int32Array } | undefined;

/**
 * The last locations {@link locationOf} made for the registered source, by start offset
 * (direct-mapped, `offset % LOCATION_CACHE`): a statement, its first expression and that
 * expression's first operand start at one offset and share one object, which the IR's
 * instructions then point to. Locations are never modified once made.
 */
const LOCATION_CACHE = 256;
const cachedOffsets = new Int32Array(LOCATION_CACHE);
const cachedLocations: (SourceLocation | undefined)[] = new Array<SourceLocation | undefined>(LOCATION_CACHE).fill(undefined);

function setSourceLines(lines: typeof sourceLines): void {
  sourceLines = lines;
  cachedLocations.fill(undefined);
}

/** Registers `text` (what the parser read) as the source of `file`'s nodes. */
export function useSourceLines(file: string, text: string): void {
  if (sourceLines?.file === file && sourceLines.text === text) return;
  setSourceLines({ file, text, starts: lineStarts(text) });
}

/**
 * The offset of the first character of each line of `text` (a line break is `\n`, `\r`,
 * `\r\n` or `\n\r`). Written into a typed array grown by doubling: pushing a million
 * numbers onto a JS array and copying them took 3-5 times as long (~0.3 s for a file of
 * 500k lines).
 */
export function lineStarts(text: string): Int32Array {
  let starts = new Int32Array(Math.max(16, (text.length >> 5) + 1));
  let n = 1; // starts[0] = 0
  const add = (at: number): void => {
    if (n === starts.length) {
      const grown = new Int32Array(2 * n);
      grown.set(starts);
      starts = grown;
    }
    starts[n++] = at;
  };
  if (!text.includes("\r")) {
    // Only \n breaks lines (most files): found by indexOf, not character by character.
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) add(i + 1);
    return starts.slice(0, n);
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 10 && c !== 13) continue;
    const d = text.charCodeAt(i + 1);
    if ((c === 10 && d === 13) || (c === 13 && d === 10)) i++;
    add(i + 1);
  }
  return starts.slice(0, n);
}

/** The 0-based index of the line holding offset `at` of the registered source (`file`'s: checked by the callers). */
function lineIndex(starts: Int32Array, at: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The 1-based line and 0-based column of offset `at` of `file`'s registered source. */
function lineColumn(file: string, at: number): { line: number; column: number } | undefined {
  const table = sourceLines;
  if (!table || table.file !== file) return undefined;
  const lo = lineIndex(table.starts, at);
  return { line: lo + 1, column: at - table.starts[lo]! };
}

/** Where `node` starts (`end`: ends), 1-based line and 0-based column, as luaparse's `loc` says. */
function nodePosition(file: string, node: Located, end: boolean): { line: number; column: number } | undefined {
  if (node.loc) return end ? node.loc.end : node.loc.start;
  const at = end ? node.rangeEnd : node.rangeStart;
  return at === undefined ? undefined : lineColumn(file, at);
}

/** The 1-based position where `node` starts in `file`. */
export function locationOf(file: string, node: Located): SourceLocation {
  const table = sourceLines;
  const at = node.rangeStart;
  if (node.loc === undefined && at !== undefined && table !== undefined && table.file === file) {
    // A parsed node of the registered source (every node of the lowering): one object per offset.
    const slot = at & (LOCATION_CACHE - 1);
    const cached = cachedLocations[slot];
    if (cached !== undefined && cachedOffsets[slot] === at) return cached;
    const lo = lineIndex(table.starts, at);
    const loc = { file, line: lo + 1, column: at - table.starts[lo]! + 1 };
    cachedOffsets[slot] = at;
    cachedLocations[slot] = loc;
    return loc;
  }
  const start = nodePosition(file, node, false);
  // luaparse columns are 0-based; nodes without a location (never from the parser)
  // fall back to the start of the file rather than hiding the error.
  return { file, line: start?.line ?? 1, column: (start?.column ?? 0) + 1 };
}

/** The 1-based position where `node` ends in `file` (just after its last character), if known. */
export function endLocationOf(file: string, node: Located): SourceLocation | undefined {
  const end = nodePosition(file, node, true);
  return end ? { file, line: end.line, column: end.column + 1 } : undefined;
}

/**
 * The location of offset `offset` inside the string literal `node` (for errors in C
 * declarations): exact for long strings (`[[ ... ]]`) and quoted strings without
 * escapes, undefined otherwise.
 */
export function locateInString(file: string, node: Located & { type?: string; raw?: string; value?: unknown }, offset: number): SourceLocation | undefined {
  if (node.type !== "StringLiteral" || typeof node.raw !== "string" || typeof node.value !== "string") return undefined;
  const base = locationOf(file, node);
  const raw = node.raw;
  const long = /^\[(=*)\[(\r?\n)?/.exec(raw);
  const plain = !long && raw.length >= 2 && raw.slice(1, -1) === node.value;
  if (!long && !plain) return undefined;
  const before = node.value.slice(0, offset);
  const lines = before.split("\n");
  const prefix = long ? long[0] : raw[0]!;
  const prefixLines = prefix.split("\n").length - 1;
  if (lines.length === 1 && prefixLines === 0) return { ...base, column: base.column + prefix.length + before.length };
  if (lines.length === 1) return { ...base, line: base.line + prefixLines, column: 1 + before.length };
  return { ...base, line: base.line + prefixLines + lines.length - 1, column: 1 + lines[lines.length - 1]!.length };
}

/** An error diagnostic at `node`. */
export function errorAt(file: string, node: Located, message: string): Diagnostic {
  return { severity: "error", message, location: locationOf(file, node) };
}

/** Throws a {@link CompileError} with one diagnostic at `node`. */
export function fail(file: string, node: Located, message: string): never {
  throw new CompileError(errorAt(file, node, message));
}

/**
 * Collects diagnostics from independent units of work. `attempt` runs a unit and records
 * the {@link CompileError} it throws; anything else (an internal error) propagates.
 */
export class DiagnosticBag {
  readonly diagnostics: Diagnostic[] = [];

  get hasErrors(): boolean {
    return this.diagnostics.some((d) => d.severity === "error");
  }

  add(d: Diagnostic): void {
    this.diagnostics.push(d);
  }

  /** Runs `work`; on a CompileError records its diagnostics and returns undefined. */
  attempt<T>(work: () => T): T | undefined {
    try {
      return work();
    } catch (e) {
      if (e instanceof CompileError) {
        this.diagnostics.push(...e.diagnostics);
        return undefined;
      }
      throw e;
    }
  }

  /** Throws every collected diagnostic as one CompileError, if there are errors. */
  throwIfErrors(): void {
    if (this.hasErrors) throw new CompileError(sortDiagnostics(this.diagnostics));
  }
}

/** Source order (file, line, column), stable for diagnostics at the same place. */
function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return ds
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      const la = a.d.location;
      const lb = b.d.location;
      if (la && lb) {
        if (la.line !== lb.line) return la.line - lb.line;
        if (la.column !== lb.column) return la.column - lb.column;
      }
      return a.i - b.i;
    })
    .map((x) => x.d);
}

/**
 * An error without diagnostics: aborts the current unit of work after a use of a name
 * whose declaration already failed, so that one mistake is reported once.
 */
export function silentError(): CompileError {
  return new CompileError([]);
}
