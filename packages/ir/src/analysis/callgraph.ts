/**
 * The module's call graph: one node per function, an edge f → g when f contains a
 * `call @g` (helper calls are not edges), kept as a graphology directed graph so tools can
 * run graph algorithms on it or lay it out.
 *
 * eBPF forbids recursion (the verifier rejects a cycle of BPF-to-BPF calls), so a front end
 * with local functions asks {@link CallGraph.cycles} for the strongly connected components
 * with more than one function or a self-call — Tarjan 1972, iterative — and reports them
 * at a call site ({@link CallGraph.callSite}). {@link CallGraph.callOrder} lists the
 * functions callees first (Tarjan emits components in reverse topological order): the
 * order in which to compile, inline or size their stack frames.
 *
 * Deterministic: nodes in module order, edges in instruction order. Cost: O(functions +
 * call instructions).
 */
import type { DirectedGraph } from "graphology";
import type { Function, Instruction } from "../core.js";
import type { Module } from "../module.js";
import { loadGraphology } from "./graphology.js";

export interface CallNodeAttributes {
  /** Position of the function in the module. */
  index: number;
}
export interface CallEdgeAttributes {
  /** The call instructions of this caller → callee pair, in instruction order. */
  calls: Instruction[];
}

export class CallGraph {
  private constructor(
    /** Node keys are function names; an edge per (caller, callee) pair. */
    readonly graph: DirectedGraph<CallNodeAttributes, CallEdgeAttributes>,
    private readonly functions: readonly Function[],
  ) {}

  /** The call graph of `module`; calls of functions the module does not define are left out. */
  static compute(module: Module): CallGraph {
    const { DirectedGraph } = loadGraphology();
    const g = new DirectedGraph<CallNodeAttributes, CallEdgeAttributes>();
    module.functions.forEach((fn, index) => {
      if (!g.hasNode(fn.name)) g.addNode(fn.name, { index });
    });
    for (const fn of module.functions) {
      for (const inst of fn.instructions()) {
        const callee = inst.opcode === "call" ? inst.callee : undefined;
        if (callee === undefined || !g.hasNode(callee)) continue;
        const key = g.edge(fn.name, callee);
        if (key === undefined) g.addDirectedEdge(fn.name, callee, { calls: [inst] });
        else g.getEdgeAttributes(key).calls.push(inst);
      }
    }
    return new CallGraph(g, module.functions);
  }

  /** The functions `name` calls, in order of their first call. */
  callees(name: string): string[] {
    return this.graph.outNeighbors(name);
  }

  /** The functions that call `name`. */
  callers(name: string): string[] {
    return this.graph.inNeighbors(name);
  }

  /** The first call from `caller` to `callee`, or undefined. */
  callSite(caller: string, callee: string): Instruction | undefined {
    const key = this.graph.edge(caller, callee);
    return key === undefined ? undefined : this.graph.getEdgeAttributes(key).calls[0];
  }

  /**
   * The strongly connected components, callees before callers (reverse topological order
   * of the condensation); each component lists its functions in module order.
   */
  components(): string[][] {
    const g = this.graph;
    const names = g.nodes();
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const onStack = new Set<string>();
    const stack: string[] = [];
    const out: string[][] = [];
    let counter = 0;
    for (const root of names) {
      if (index.has(root)) continue;
      // Iterative Tarjan: a frame is a node and the position of its next successor.
      const frames: { node: string; succ: string[]; next: number }[] = [];
      const enter = (n: string): void => {
        index.set(n, counter);
        low.set(n, counter++);
        stack.push(n);
        onStack.add(n);
        frames.push({ node: n, succ: g.outNeighbors(n), next: 0 });
      };
      enter(root);
      while (frames.length > 0) {
        const f = frames[frames.length - 1]!;
        if (f.next < f.succ.length) {
          const s = f.succ[f.next++]!;
          if (!index.has(s)) enter(s);
          else if (onStack.has(s)) low.set(f.node, Math.min(low.get(f.node)!, index.get(s)!));
          continue;
        }
        frames.pop();
        const parent = frames[frames.length - 1];
        if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(f.node)!));
        if (low.get(f.node) === index.get(f.node)) {
          const comp: string[] = [];
          let n: string;
          do {
            n = stack.pop()!;
            onStack.delete(n);
            comp.push(n);
          } while (n !== f.node);
          out.push(comp.sort((a, b) => g.getNodeAttribute(a, "index") - g.getNodeAttribute(b, "index")));
        }
      }
    }
    return out;
  }

  /** The recursive groups: components of several functions, or one function that calls itself. */
  cycles(): string[][] {
    return this.components().filter((c) => c.length > 1 || this.graph.hasDirectedEdge(c[0]!, c[0]!));
  }

  /** Every function, callees before their callers (members of one cycle together, in module order). */
  callOrder(): Function[] {
    const byName = new Map(this.functions.map((f) => [f.name, f]));
    return this.components().flat().map((n) => byName.get(n)!);
  }
}
