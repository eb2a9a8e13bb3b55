/**
 * Rendering of user diagnostics for the terminal: `file:line:col: error: message`, then
 * the source line and a caret under the column.
 */
import type { Diagnostic } from "@luabpf/ir";

export function renderDiagnostic(d: Diagnostic, sources: ReadonlyMap<string, string>): string {
  const loc = d.location;
  let out = `${loc ? `${loc.file}:${loc.line}:${loc.column}: ` : ""}${d.severity}: ${d.message}`;
  const text = loc ? sources.get(loc.file) : undefined;
  if (loc && text !== undefined) {
    const line = text.split(/\r?\n/)[loc.line - 1];
    if (line !== undefined) {
      const caretPad = line.slice(0, Math.max(0, loc.column - 1)).replace(/[^\t]/g, " ");
      out += `\n${line}\n${caretPad}^`;
    }
  }
  return out;
}
