/**
 * Iterated register coalescing (George & Appel 1996, "Iterated Register Coalescing",
 * TOPLAS 18(3); the worklist formulation of Appel's "Modern Compiler Implementation",
 * ch. 11): simplify, conservative coalescing (Briggs's test between virtual registers,
 * George's test against a precoloured register), freeze, optimistic spill selection,
 * then colour assignment in reverse simplification order.
 *
 * The interference graph is built from liveness over the working program. It is kept as
 * one `Set<Node>` of neighbours per node (membership is the `adjSet` test, iteration the
 * `adjList`), not graphology: the algorithm needs O(1) edge tests, cheap neighbour
 * iteration and in-place merging, and plain sets keep insertion order, so iteration and
 * hence the result are deterministic. Physical registers are precoloured nodes of
 * infinite degree; a clobber interferes with every value live across the instruction, so
 * values live across helper calls end up in call-preserved registers or spilled.
 *
 * Spill cost: uses + defs weighted by 10^loopDepth, summed over a coalesced web, divided
 * by the current degree; spill temporaries are never chosen. The colour choice is biased
 * to the colour of a move partner (so frozen and constrained copies still often vanish),
 * otherwise the target's preference order.
 *
 * Cost: O(instructions × live values) to build, near-linear worklist processing.
 */
import type { RegAllocTarget } from "./interface.js";
import { defs, liveOut, uses, type Item, type Node, type Program } from "./program.js";

export interface ColouringResult {
  /** Colour of every node that got one (physical registers map to themselves). */
  colour: Int32Array;
  /** Spilled nodes, each with the nodes coalesced into it. */
  spilled: { node: Node; members: Node[] }[];
  /** Copies coalesced this round. */
  coalesced: number;
}

interface Move {
  dst: Node;
  src: Node;
}

const MAX_LOOP_WEIGHT_DEPTH = 8;

export function colourGraph(prog: Program, target: RegAllocTarget): ColouringResult {
  const N = prog.numNodes;
  const P = prog.numRegs;
  const K = target.allocatable.length;
  const allocatable = new Set(target.allocatable);
  const precoloured = (n: Node): boolean => n < P;
  const INF = 1 << 30;

  const adj: Set<Node>[] = Array.from({ length: N }, () => new Set<Node>());
  const degree = new Int32Array(N);
  for (let p = 0; p < P; p++) degree[p] = INF;
  const cost = new Float64Array(N);
  const present = new Uint8Array(N);
  const moveList: number[][] = Array.from({ length: N }, () => []);
  const moves: Move[] = [];

  const addEdge = (u: Node, v: Node): void => {
    if (u === v || adj[u]!.has(v)) return;
    if (precoloured(u) && precoloured(v)) return;
    adj[u]!.add(v);
    adj[v]!.add(u);
    if (!precoloured(u)) degree[u]!++;
    if (!precoloured(v)) degree[v]!++;
  };

  // Build.
  const out = liveOut(prog);
  prog.blocks.forEach((items, bi) => {
    const weight = 10 ** Math.min(prog.loopDepth[bi]!, MAX_LOOP_WEIGHT_DEPTH);
    const live = new Set(out[bi]);
    for (let k = items.length - 1; k >= 0; k--) {
      const it: Item = items[k]!;
      const us = uses(it);
      const ds = defs(it);
      for (const n of [...us, ...ds]) {
        present[n] = 1;
        cost[n]! += weight;
      }
      if (it.copy && us.length === 1 && ds.length === 1) {
        const [src, dst] = [us[0]!, ds[0]!];
        live.delete(src);
        if (src !== dst) {
          const m = moves.push({ dst, src }) - 1;
          moveList[src]!.push(m);
          moveList[dst]!.push(m);
        }
      }
      const liveAfter = [...live];
      for (const c of it.clobbers) for (const l of liveAfter) if (!ds.includes(l)) addEdge(c, l);
      for (const d of ds) {
        for (const l of liveAfter) addEdge(d, l);
        for (const e of ds) addEdge(d, e);
      }
      for (const o of it.ops) if (o.kind === "def" && o.early && o.node !== undefined) for (const u of us) addEdge(o.node, u);
      for (const d of ds) live.delete(d);
      for (const c of it.clobbers) live.delete(c);
      for (const u of us) live.add(u);
    }
    // Values live into the entry block (incoming registers) interfere with each other.
    if (bi === 0) {
      const l = [...live];
      for (let i = 0; i < l.length; i++) for (let j = i + 1; j < l.length; j++) addEdge(l[i]!, l[j]!);
    }
  });
  for (const n of prog.noSpill) cost[n] = Infinity;

  // Worklists (insertion-ordered sets: deterministic).
  const simplifyWorklist = new Set<Node>();
  const freezeWorklist = new Set<Node>();
  const spillWorklist = new Set<Node>();
  const selectStack: Node[] = [];
  const onStack = new Uint8Array(N);
  const coalescedNode = new Uint8Array(N);
  const alias = new Int32Array(N).map((_, i) => i);
  const worklistMoves = new Set<number>(moves.keys());
  const activeMoves = new Set<number>();
  let coalesced = 0;

  // The moves of each node that may still coalesce. A move that leaves the active and
  // worklist sets never returns to them, so pruning this list as it is read keeps the
  // queries amortised linear (re-filtering `moveList` made them quadratic for registers
  // such as r1 that collect a move at every call). `moveList` itself keeps every move
  // for the colour bias in `select`.
  const pendingMoves: number[][] = moveList.map((l) => l.slice());
  const nodeMoves = (n: Node): number[] => {
    const live = pendingMoves[n]!.filter((m) => activeMoves.has(m) || worklistMoves.has(m));
    pendingMoves[n] = live;
    return live;
  };
  const moveRelated = (n: Node): boolean => nodeMoves(n).length > 0;
  const adjacent = (n: Node): Node[] => [...adj[n]!].filter((m) => !onStack[m] && !coalescedNode[m]);
  const getAlias = (n: Node): Node => {
    while (coalescedNode[n]) n = alias[n]!;
    return n;
  };
  const enableMoves = (nodes: Iterable<Node>): void => {
    for (const n of nodes) {
      for (const m of nodeMoves(n)) {
        if (activeMoves.delete(m)) worklistMoves.add(m);
      }
    }
  };
  const decrementDegree = (m: Node): void => {
    if (precoloured(m)) return;
    const d = degree[m]!;
    degree[m] = d - 1;
    if (d === K) {
      enableMoves([m, ...adjacent(m)]);
      spillWorklist.delete(m);
      if (moveRelated(m)) freezeWorklist.add(m);
      else simplifyWorklist.add(m);
    }
  };
  const addWorkList = (u: Node): void => {
    if (!precoloured(u) && !moveRelated(u) && degree[u]! < K) {
      freezeWorklist.delete(u);
      simplifyWorklist.add(u);
    }
  };
  const ok = (t: Node, r: Node): boolean => degree[t]! < K || precoloured(t) || adj[t]!.has(r);
  const conservative = (nodes: Iterable<Node>): boolean => {
    let k = 0;
    for (const n of nodes) if (degree[n]! >= K) k++;
    return k < K;
  };
  const combine = (u: Node, v: Node): void => {
    if (!freezeWorklist.delete(v)) spillWorklist.delete(v);
    coalescedNode[v] = 1;
    alias[v] = u;
    for (const m of moveList[v]!) moveList[u]!.push(m);
    for (const m of pendingMoves[v]!) pendingMoves[u]!.push(m);
    cost[u]! += cost[v]!;
    enableMoves([v]);
    for (const t of adjacent(v)) {
      addEdge(t, u);
      decrementDegree(t);
    }
    if (!precoloured(u) && degree[u]! >= K && freezeWorklist.delete(u)) spillWorklist.add(u);
  };
  const freezeMoves = (u: Node): void => {
    for (const m of nodeMoves(u)) {
      const { dst: x, src: y } = moves[m]!;
      const v = getAlias(y) === getAlias(u) ? getAlias(x) : getAlias(y);
      activeMoves.delete(m);
      worklistMoves.delete(m);
      if (!precoloured(v) && !moveRelated(v) && degree[v]! < K) {
        freezeWorklist.delete(v);
        simplifyWorklist.add(v);
      }
    }
  };

  // MakeWorklist.
  for (let n = P; n < N; n++) {
    if (!present[n]) continue;
    if (degree[n]! >= K) spillWorklist.add(n);
    else if (moveRelated(n)) freezeWorklist.add(n);
    else simplifyWorklist.add(n);
  }

  const first = <T>(s: Set<T>): T => s.values().next().value as T;
  while (simplifyWorklist.size + worklistMoves.size + freezeWorklist.size + spillWorklist.size > 0) {
    if (simplifyWorklist.size > 0) {
      const n = first(simplifyWorklist);
      simplifyWorklist.delete(n);
      selectStack.push(n);
      onStack[n] = 1;
      for (const m of adjacent(n)) decrementDegree(m);
    } else if (worklistMoves.size > 0) {
      const m = first(worklistMoves);
      worklistMoves.delete(m);
      const x = getAlias(moves[m]!.dst);
      const y = getAlias(moves[m]!.src);
      const [u, v] = precoloured(y) ? [y, x] : [x, y];
      if (u === v) {
        coalesced++;
        addWorkList(u);
      } else if (precoloured(v) || adj[u]!.has(v) || (precoloured(u) && !allocatable.has(u))) {
        addWorkList(u);
        addWorkList(v);
      } else if (
        (precoloured(u) && adjacent(v).every((t) => ok(t, u))) ||
        (!precoloured(u) && conservative(new Set([...adjacent(u), ...adjacent(v)])))
      ) {
        coalesced++;
        combine(u, v);
        addWorkList(u);
      } else activeMoves.add(m);
    } else if (freezeWorklist.size > 0) {
      const u = first(freezeWorklist);
      freezeWorklist.delete(u);
      simplifyWorklist.add(u);
      freezeMoves(u);
    } else {
      // SelectSpill: the cheapest per unit of degree; spill temporaries only as a last resort.
      let best: Node | undefined;
      let bestScore = Infinity;
      for (const n of spillWorklist) {
        const score = cost[n]! / Math.max(1, degree[n]!);
        if (best === undefined || score < bestScore) {
          best = n;
          bestScore = score;
        }
      }
      spillWorklist.delete(best!);
      simplifyWorklist.add(best!);
      freezeMoves(best!);
    }
  }

  // AssignColors.
  const colour = new Int32Array(N).fill(-1);
  for (let p = 0; p < P; p++) colour[p] = p;
  const spilledNodes: Node[] = [];
  while (selectStack.length > 0) {
    const n = selectStack.pop()!;
    const forbidden = new Set<number>();
    for (const w of adj[n]!) {
      const c = colour[getAlias(w)]!;
      if (c >= 0) forbidden.add(c);
    }
    let choice = -1;
    // Bias: the colour of a move partner, when free.
    for (const m of moveList[n]!) {
      const other = getAlias(moves[m]!.dst) === n ? getAlias(moves[m]!.src) : getAlias(moves[m]!.dst);
      const c = colour[other]!;
      if (c >= 0 && allocatable.has(c) && !forbidden.has(c)) {
        choice = c;
        break;
      }
    }
    if (choice < 0) choice = target.allocatable.find((c) => !forbidden.has(c)) ?? -1;
    if (choice < 0) spilledNodes.push(n);
    else colour[n] = choice;
  }
  const members = new Map<Node, Node[]>(spilledNodes.map((n) => [n, [n]]));
  for (let n = P; n < N; n++) {
    if (!coalescedNode[n]) continue;
    const a = getAlias(n);
    colour[n] = colour[a]!;
    members.get(a)?.push(n);
  }
  return { colour, spilled: spilledNodes.map((node) => ({ node, members: members.get(node)! })), coalesced };
}
