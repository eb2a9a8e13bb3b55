/**
 * graphology, loaded on first use: most compilations never build a graph for a tool or
 * a call-graph question, and the command line's start-up time should not pay for it.
 * (Internal to the analyses; not re-exported.)
 */
import { createRequire } from "node:module";

let graphology: typeof import("graphology") | undefined;

/** The graphology module. */
export function loadGraphology(): typeof import("graphology") {
  graphology ??= createRequire(import.meta.url)("graphology") as typeof import("graphology");
  return graphology;
}
