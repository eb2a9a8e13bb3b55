/**
 * The pass reference of docs/passes.md, generated from the registry and the pipelines —
 * the pipeline of each -O level, and each pass's name, description, options (from its zod
 * schema) and what it declares it preserves — so the document cannot drift from the code
 * (a test compares the two; `LUABPF_BLESS=1` rewrites the document).
 */
import { describeOptions, type PassRegistry } from "./registry.js";
import { PIPELINES, defaultRegistry, type OptLevel } from "./pipelines.js";

/** The markers around the generated part of docs/passes.md. */
export const REFERENCE_BEGIN = "<!-- generated from the pass registry (packages/passes/src/reference.ts); do not edit: LUABPF_BLESS=1 npx vitest run reference -->";
export const REFERENCE_END = "<!-- end of generated reference -->";

function cell(text: string): string {
  return text.replace(/\|/g, "\\|");
}

/**
 * The generated reference: a table of pipelines and a table of passes. `link(name)` gives
 * the source file of a built-in pass, relative to the document.
 */
export function passReference(registry: PassRegistry = defaultRegistry, link: (name: string) => string | undefined = (n) => `../packages/passes/src/passes/${n}.ts`): string {
  const lines = ["## Pipelines", "", "| level | pipeline |", "| --- | --- |"];
  for (const level of Object.keys(PIPELINES).map(Number) as OptLevel[]) {
    const text = PIPELINES[level];
    lines.push(`| \`-O${level}\` | ${text ? `\`${text.split(",").join(", ")}\`` : "(nothing)"} |`);
  }
  lines.push("", "## Passes", "", "| pass | what it does | options | preserves when it changes the IR |", "| --- | --- | --- | --- |");
  for (const name of registry.names()) {
    const factory = registry.get(name)!;
    const origin = registry.originOf(name);
    const href = origin ? undefined : link(name);
    const title = href ? `[\`${name}\`](${href})` : `\`${name}\``;
    const options = describeOptions(factory.schema);
    const preserves = factory().preserves;
    const kept = preserves === undefined ? "nothing declared (`run` may return a `Preserved` set)" : String(preserves) === "<cfg>" ? "the CFG analyses" : `\`${String(preserves)}\``;
    lines.push(`| ${title} | ${factory.kind === "module" ? "(module pass) " : ""}${cell(factory.description)} | ${options ? cell(options) : "—"} | ${kept} |`);
  }
  return lines.join("\n") + "\n";
}
