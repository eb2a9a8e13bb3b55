/**
 * Views of a function's control-flow graph for tools: a graphology graph (for graph
 * algorithms and layout libraries) and Graphviz DOT text (for humans).
 *
 * Both are deterministic: nodes follow `fn.blocks` order, edges follow terminator order.
 * A `condbr` whose two targets are the same block gives one edge of kind "both" (the
 * graphology graph is a simple graph).
 */
import type { DirectedGraph } from "graphology";
import type { BasicBlock, Function, Instruction } from "../core.js";
import { printInstruction } from "../print.js";
import { loadGraphology } from "./graphology.js";

/** The kind of a CFG edge: the true or false side of a `condbr`, both of them, or a `br`. */
export type CfgEdgeKind = "true" | "false" | "both" | "jump";

export interface CfgNodeAttributes {
  /** The block id. */
  block: number;
  /** Number of instructions in the block. */
  instructions: number;
  /** Is this the entry block? */
  entry: boolean;
}
export interface CfgEdgeAttributes {
  kind: CfgEdgeKind;
}

/** The graph node key of a block: `bb<N>`. */
export function blockKey(bb: BasicBlock): string {
  return `bb${bb.id}`;
}

interface Edge {
  from: BasicBlock;
  to: BasicBlock;
  kind: CfgEdgeKind;
}

function edgesOf(bb: BasicBlock): Edge[] {
  const t = bb.terminator;
  if (!t) return [];
  if (t.opcode === "br") return t.targets.map((to) => ({ from: bb, to, kind: "jump" }));
  if (t.opcode === "condbr") {
    const [a, b] = t.targets as [BasicBlock, BasicBlock];
    if (a === b) return [{ from: bb, to: a, kind: "both" }];
    return [
      { from: bb, to: a, kind: "true" },
      { from: bb, to: b, kind: "false" },
    ];
  }
  return [];
}

/** The CFG of `fn` as a graphology directed graph (node keys `bb<N>`, edge keys `bbA->bbB`). */
export function cfgToGraph(fn: Function): DirectedGraph<CfgNodeAttributes, CfgEdgeAttributes> {
  const g = new (loadGraphology().DirectedGraph)<CfgNodeAttributes, CfgEdgeAttributes>();
  fn.blocks.forEach((bb, i) => g.addNode(blockKey(bb), { block: bb.id, instructions: bb.size, entry: i === 0 }));
  for (const bb of fn.blocks) {
    for (const e of edgesOf(bb)) {
      // A target outside the function (broken IR) still gets a node, so the graph shows it.
      if (!g.hasNode(blockKey(e.to))) g.addNode(blockKey(e.to), { block: e.to.id, instructions: e.to.size, entry: false });
      g.addDirectedEdgeWithKey(`${blockKey(e.from)}->${blockKey(e.to)}`, blockKey(e.from), blockKey(e.to), { kind: e.kind });
    }
  }
  return g;
}

/** Escapes text for a double-quoted DOT string (backslash, quote, newline). */
function escapeDot(s: string): string {
  return s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, "\\n");
}

/**
 * The CFG of `fn` in Graphviz DOT. With `instructions`, each node lists its instructions
 * (left-aligned), otherwise it shows the block name and instruction count.
 */
export function cfgToDot(fn: Function, options: { instructions?: boolean } = {}): string {
  const lines: string[] = [];
  lines.push(`digraph "${escapeDot(fn.name)}" {`);
  lines.push(`  node [shape=box, fontname="monospace"];`);
  fn.blocks.forEach((bb, i) => {
    let label: string;
    if (options.instructions) {
      const body = bb.instructions().map((inst: Instruction) => `  ${printInstruction(inst)}`);
      label = [`@bb${bb.id}:`, ...body].map((l) => `${escapeDot(l)}\\l`).join("");
    } else label = escapeDot(`@bb${bb.id} (${bb.size})`);
    const style = i === 0 ? ", style=bold" : "";
    lines.push(`  ${blockKey(bb)} [label="${label}"${style}];`);
  });
  for (const bb of fn.blocks) {
    for (const e of edgesOf(bb)) {
      const attrs = e.kind === "true" ? ` [label="T", color=darkgreen]` : e.kind === "false" ? ` [label="F", color=red]` : e.kind === "both" ? ` [label="T/F"]` : "";
      lines.push(`  ${blockKey(e.from)} -> ${blockKey(e.to)}${attrs};`);
    }
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}
