/**
 * The interference graph of a function as the register-allocation interface describes it
 * (`interface.ts`), for people: `luabpf compile --emit dot=interference` draws it with
 * Graphviz. It is computed here from scratch, independently of any allocator: liveness
 * by the classic backward dataflow over blocks (live-in = uses ∪ (live-out − defs),
 * iterated to a fixed point), then Chaitin's rule walking each block backwards — a def
 * interferes with everything live after its instruction except, for a copy, the copy's
 * source (the copy may be coalesced); a clobber interferes with everything live across
 * the instruction; early defs also interfere with the instruction's uses.
 *
 * Nodes are the virtual registers and the physical registers that operands name or
 * instructions clobber. Edges between two physical registers are left out. Optionally
 * each virtual register is labelled with where an allocation put it. Deterministic:
 * nodes in numeric order, edges sorted.
 *
 * Cost: O(iterations × blocks × live values) for liveness, O(instructions × live values) for edges.
 */
import type { Allocation, RegAllocFunction, RegAllocInst, RegAllocOutput, RegAllocTarget } from "./interface.js";

/** A node: a virtual register or a physical one. */
export type InterferenceNode = { kind: "vreg"; index: number } | { kind: "preg"; index: number };

/** An undirected graph: nodes, and edges as pairs of indices into `nodes` (smaller first). */
export interface InterferenceGraph {
  nodes: InterferenceNode[];
  edges: [number, number][];
  /** Copies (move-related pairs), which an allocator tries to give one register. */
  moves: [number, number][];
}

/** Dense keys: physical registers first (0 .. numRegs-1), then virtual ones. */
function keyOf(o: { vreg: number } | { preg: number }, numRegs: number): number {
  return "vreg" in o ? numRegs + o.vreg : o.preg;
}

interface InstSets {
  uses: number[];
  defs: number[];
  early: number[];
  clobbers: number[];
  copyOf: number | undefined;
}

function setsOf(inst: RegAllocInst, numRegs: number): InstSets {
  const uses: number[] = [];
  const defs: number[] = [];
  const early: number[] = [];
  for (const o of inst.operands) {
    const k = keyOf(o, numRegs);
    if (o.kind === "use") uses.push(k);
    else {
      defs.push(k);
      if (o.early) early.push(k);
    }
  }
  return { uses, defs, early, clobbers: [...inst.clobbers], copyOf: inst.copy ? uses[0] : undefined };
}

/** Computes the interference graph of `fn`. */
export function interferenceGraph(fn: RegAllocFunction, target: RegAllocTarget): InterferenceGraph {
  const R = target.numRegs;
  const insts = fn.blocks.map((b) => b.insts.map((i) => setsOf(i, R)));
  // Liveness: live-in of each block, to a fixed point (blocks visited in reverse order).
  const gen = insts.map((block) => {
    const g = new Set<number>();
    for (let k = block.length - 1; k >= 0; k--) {
      for (const d of block[k]!.defs) g.delete(d);
      for (const u of block[k]!.uses) g.add(u);
    }
    return g;
  });
  const kill = insts.map((block) => new Set(block.flatMap((i) => i.defs)));
  const liveIn = fn.blocks.map(() => new Set<number>());
  const liveOut = (b: number): Set<number> => {
    const out = new Set<number>();
    for (const s of fn.blocks[b]!.succs) for (const x of liveIn[s]!) out.add(x);
    return out;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let b = fn.blocks.length - 1; b >= 0; b--) {
      const next = new Set(gen[b]);
      for (const x of liveOut(b)) if (!kill[b]!.has(x)) next.add(x);
      if (next.size !== liveIn[b]!.size) {
        liveIn[b] = next;
        changed = true;
      }
    }
  }

  const edges = new Set<string>();
  const moves = new Set<string>();
  const present = new Set<number>();
  const pair = (a: number, b: number): string => (a < b ? `${a},${b}` : `${b},${a}`);
  const addEdge = (a: number, b: number): void => {
    if (a === b || (a < R && b < R)) return;
    edges.add(pair(a, b));
  };
  insts.forEach((block, b) => {
    const live = liveOut(b);
    for (let k = block.length - 1; k >= 0; k--) {
      const i = block[k]!;
      for (const x of [...i.uses, ...i.defs, ...i.clobbers]) present.add(x);
      for (const d of i.defs) for (const l of live) if (l !== i.copyOf) addEdge(d, l);
      for (const c of i.clobbers) for (const l of live) if (!i.defs.includes(l)) addEdge(c, l);
      for (const e of i.early) for (const u of i.uses) addEdge(e, u);
      if (i.copyOf !== undefined && i.defs[0] !== undefined && i.copyOf !== i.defs[0]) moves.add(pair(i.copyOf, i.defs[0]));
      for (const d of i.defs) live.delete(d);
      for (const u of i.uses) live.add(u);
    }
  });
  for (let v = 0; v < fn.numVRegs; v++) if (fn.blocks.length > 0) present.add(R + v);

  const keys = [...present].sort((a, b) => a - b);
  const index = new Map(keys.map((k, i) => [k, i]));
  const nodes: InterferenceNode[] = keys.map((k) => (k < R ? { kind: "preg", index: k } : { kind: "vreg", index: k - R }));
  const toPairs = (set: Set<string>): [number, number][] =>
    [...set]
      .map((s) => s.split(",").map((x) => index.get(Number(x))!) as [number, number])
      .map(([a, b]) => (a < b ? [a, b] : [b, a]) as [number, number])
      .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  return { nodes, edges: toPairs(edges), moves: toPairs(moves) };
}

/** Where an allocation put each virtual register (its first def's or use's location). */
export function allocationOfVRegs(fn: RegAllocFunction, out: RegAllocOutput): Map<number, Allocation> {
  const where = new Map<number, Allocation>();
  let id = 0;
  for (const block of fn.blocks) {
    for (const inst of block.insts) {
      const allocs = out.allocs[id++] ?? [];
      inst.operands.forEach((o, j) => {
        if ("vreg" in o && !where.has(o.vreg) && allocs[j]) where.set(o.vreg, allocs[j]!);
      });
    }
  }
  return where;
}

/**
 * The graph in Graphviz DOT (`graph NAME { ... }`): virtual registers as ellipses labelled
 * `v3` (and `v3: r6` when `placed` says where they went), physical registers as boxes,
 * interference as solid edges, copies as dashed ones. Nodes that got the same register
 * share a fill colour.
 */
export function interferenceToDot(name: string, graph: InterferenceGraph, target: RegAllocTarget, placed?: ReadonlyMap<number, Allocation>): string {
  const regName = (r: number): string => target.regName?.(r) ?? `p${r}`;
  const palette = ["#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f"];
  const id = (n: InterferenceNode): string => (n.kind === "vreg" ? `v${n.index}` : regName(n.index));
  const lines = [`graph "${name.replace(/["\\]/g, "\\$&")}" {`, `  node [fontname="monospace"];`];
  for (const n of graph.nodes) {
    if (n.kind === "preg") {
      lines.push(`  ${id(n)} [shape=box, style=filled, fillcolor="${palette[n.index % palette.length]}"];`);
      continue;
    }
    const a = placed?.get(n.index);
    const label = a ? `v${n.index}: ${a.kind === "reg" ? regName(a.reg) : `slot${a.slot}`}` : `v${n.index}`;
    const fill = a?.kind === "reg" ? `, style=filled, fillcolor="${palette[a.reg % palette.length]}"` : "";
    lines.push(`  ${id(n)} [label="${label}"${fill}];`);
  }
  for (const [a, b] of graph.edges) lines.push(`  ${id(graph.nodes[a]!)} -- ${id(graph.nodes[b]!)};`);
  for (const [a, b] of graph.moves) lines.push(`  ${id(graph.nodes[a]!)} -- ${id(graph.nodes[b]!)} [style=dashed, color=gray];`);
  lines.push("}");
  return lines.join("\n") + "\n";
}
