/**
 * Rendering of diagnostics, as clang prints them on a terminal:
 *
 *   prog.lua:3:10: error: unknown global 'frobnicate'
 *     return frobnicate(1)
 *            ^
 *
 * with colour when asked (`--color`: bold location, red `error:`, magenta `warning:`,
 * bold message, green caret; `NO_COLOR` turns `auto` off), or as JSON Lines
 * (`--diagnostics-format=json`): one object per diagnostic, for editors. The JSON form is
 * stable; docs/cli.md describes it.
 */
import type { Diagnostic, SourceLocation } from "@luabpf/ir";

/** Where a diagnostic comes from. */
export type DiagnosticCategory = "compile" | "verifier" | "usage" | "io" | "kernel" | "pass" | "internal";

/** A diagnostic as the command line reports it. */
export interface CliDiagnostic {
  severity: Diagnostic["severity"];
  message: string;
  location?: SourceLocation | undefined;
  category: DiagnosticCategory;
  /** Further text printed after the source line (the verifier's log). */
  detail?: string | undefined;
}

export interface RenderOptions {
  format: "text" | "json";
  color: boolean;
}

const ESC = "\x1b[";
const RESET = `${ESC}0m`;
const BOLD = `${ESC}1m`;
const SEVERITY_COLOUR: Record<Diagnostic["severity"], string> = {
  error: `${ESC}0;1;31m`,
  warning: `${ESC}0;1;35m`,
  note: `${ESC}0;1;30m`,
};
const CARET = `${ESC}0;1;32m`;

/** The source line of `loc` and a caret under its column (tabs kept, so the caret lines up). */
export function sourceExcerpt(loc: SourceLocation, text: string | undefined): { line: string; caret: string } | undefined {
  if (text === undefined || loc.line < 1) return undefined;
  const line = text.split(/\r?\n/)[loc.line - 1];
  if (line === undefined) return undefined;
  const pad = line.slice(0, Math.max(0, loc.column - 1)).replace(/[^\t]/g, " ");
  return { line, caret: `${pad}^` };
}

/**
 * One diagnostic as text (without a trailing newline): the `file:line:col: severity:
 * message` line, then the source line and caret when the source is known, then `detail`.
 */
export function renderDiagnostic(d: CliDiagnostic | Diagnostic, sources: ReadonlyMap<string, string>, options: Partial<RenderOptions> = {}): string {
  const color = options.color ?? false;
  const loc = d.location;
  const where = loc ? `${loc.file}:${loc.line}:${loc.column}: ` : "luabpf: ";
  const head = color
    ? `${BOLD}${where}${SEVERITY_COLOUR[d.severity]}${d.severity}: ${RESET}${BOLD}${d.message}${RESET}`
    : `${where}${d.severity}: ${d.message}`;
  const out = [head];
  const excerpt = loc ? sourceExcerpt(loc, sources.get(loc.file)) : undefined;
  if (excerpt) out.push(excerpt.line, color ? `${CARET}${excerpt.caret}${RESET}` : excerpt.caret);
  const detail = "detail" in d ? d.detail : undefined;
  if (detail) out.push(detail.trimEnd());
  return out.join("\n");
}

/** One diagnostic as a single line of JSON (see docs/cli.md for the fields). */
export function diagnosticJson(d: CliDiagnostic): string {
  const o: Record<string, unknown> = { severity: d.severity, category: d.category, message: d.message };
  if (d.location) o.location = { file: d.location.file, line: d.location.line, column: d.location.column };
  if (d.detail) o.detail = d.detail;
  return JSON.stringify(o);
}

/** Renders diagnostics in the chosen format, one per call, each ending in a newline. */
export class DiagnosticPrinter {
  constructor(
    private readonly write: (text: string) => void,
    private readonly sources: ReadonlyMap<string, string>,
    readonly options: RenderOptions,
  ) {}

  print(d: CliDiagnostic): void {
    this.write((this.options.format === "json" ? diagnosticJson(d) : renderDiagnostic(d, this.sources, this.options)) + "\n");
  }

  /** Text that is not a diagnostic (usage hints), as it is. */
  raw(text: string): void {
    this.write(text);
  }
}

/**
 * Whether to colour: `always`/`never` as given; `auto` colours only a terminal and only
 * when `NO_COLOR` is unset or empty (https://no-color.org).
 */
export function useColour(when: string, isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  if (when === "always") return true;
  if (when === "never") return false;
  return isTTY && !env.NO_COLOR;
}
