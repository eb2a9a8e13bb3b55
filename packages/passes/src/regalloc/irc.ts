/**
 * Iterated register coalescing (George & Appel 1996, "Iterated Register Coalescing",
 * TOPLAS 18(3); the worklist formulation of Appel's "Modern Compiler Implementation",
 * ch. 11): simplify, conservative coalescing, freeze, optimistic spill selection, then
 * colour assignment in reverse simplification order.
 *
 * The interference graph is built from liveness over the working program: a pair set for
 * O(1) edge tests (Appel's `adjSet`) and linked adjacency lists for the non-precoloured
 * nodes (`adjList`; physical registers are precoloured nodes of infinite degree whose
 * neighbours are never enumerated). Lists keep insertion order, so the result is
 * deterministic. A clobber interferes with every value live across the instruction, so
 * values live across helper calls end up in call-preserved registers or spilled.
 *
 * Keeping it near-linear on huge functions (STYLE: say the cost):
 * - coalescing two virtual registers passes George's test scanning the neighbours of the
 *   node with fewer of them, or Briggs's test when both are small; the larger node stays
 *   the representative ("union by size"), so merging a long phi web costs the small side;
 * - a tests that must scan a neighbour list (George against a register, Briggs) gives up
 *   beyond {@link SCAN_LIMIT} neighbours (the move stays active and may still freeze);
 * - move lists are pruned as they are read (a finished move never returns);
 * - the spill candidate comes from a lazily updated heap, not a scan of the worklist;
 * - alias chains are compressed.
 *
 * Spill cost: uses + defs weighted by 10^loopDepth, summed over a coalesced web, divided
 * by the current degree; spill temporaries are never chosen. The colour choice is biased
 * to the colour of a move partner (so frozen and constrained copies still often vanish),
 * otherwise the target's preference order.
 *
 * Cost: O(items + interference edges) to build; the worklist phase is near-linear in the
 * edges (see above).
 */
import type { RegAllocTarget } from "./interface.js";
import { ITEM_INST, OP_DEF, OP_EARLY, programLiveOut, type Node, type Program } from "./program.js";
import { IntVec, LinkedLists, PairSet, ScoreHeap, SparseSet } from "./structures.js";
import { int32s, float64s, uint8s } from "./scratch.js";

export interface ColouringResult {
  /** Colour of every node that got one (physical registers map to themselves), -1 for none. */
  colour: Int32Array;
  /** Spilled nodes, each with the nodes coalesced into it. */
  spilled: { node: Node; members: Node[] }[];
  /** Copies coalesced this round. */
  coalesced: number;
}

const MAX_LOOP_WEIGHT_DEPTH = 8;
/** Neighbour scans longer than this give up (a move then stays uncoalesced): keeps coalescing linear. */
const SCAN_LIMIT = 512;

// Where a node is (one list at a time).
const NOWHERE = 0;
const SIMPLIFY = 1;
const FREEZE = 2;
const SPILL = 3;
const STACK = 4;
const COALESCED = 5;
// Move states.
const WORKLIST = 0;
const ACTIVE = 1;
const DONE = 2;

export function colourGraph(prog: Program, target: RegAllocTarget): ColouringResult {
  const N = prog.numNodes;
  const P = prog.numRegs;
  const K = target.allocatable.length;
  const isAllocatable = uint8s(P);
  for (const r of target.allocatable) isAllocatable[r] = 1;
  const INF = 1 << 30;

  const edges = new PairSet(prog.numItems * 2);
  const adj = new LinkedLists(N);
  const degree = int32s(N);
  for (let p = 0; p < P; p++) degree[p] = INF;
  const cost = float64s(N);
  const present = uint8s(N);
  const moveDst = new IntVec(64);
  const moveSrc = new IntVec(64);
  /** Every move of each node (for the colour bias). */
  const moveList = new LinkedLists(N);
  /** The moves of each node that may still coalesce (pruned as read). */
  const pending = new LinkedLists(N);

  const addEdge = (u: Node, v: Node): void => {
    if (u === v || (u < P && v < P)) return;
    if (!edges.add(u, v)) return;
    if (u >= P) {
      adj.append(u, v);
      degree[u]!++;
    }
    if (v >= P) {
      adj.append(v, u);
      degree[v]!++;
    }
  };

  // Build.
  const liveOut = programLiveOut(prog);
  const live = new SparseSet(N);
  // The item's uses and defs: the first nu and nd entries (counts, not `length = 0`: that is a slow call per item).
  const us: number[] = [];
  const ds: number[] = [];
  let nu = 0;
  let nd = 0;
  const { itemOps, opNode, opFlags } = prog;
  for (let b = 0; b < prog.numBlocks; b++) {
    const weight = 10 ** Math.min(prog.loopDepth[b]!, MAX_LOOP_WEIGHT_DEPTH);
    live.clear();
    for (let k = liveOut.start[b]!; k < liveOut.start[b + 1]!; k++) live.add(liveOut.nodes[k]!);
    for (let i = prog.blockStart[b + 1]! - 1; i >= prog.blockStart[b]!; i--) {
      nu = 0;
      nd = 0;
      const o0 = itemOps[i]!;
      const o1 = itemOps[i + 1]!;
      for (let o = o0; o < o1; o++) {
        const n = opNode[o]!;
        if (n < 0) continue;
        present[n] = 1;
        cost[n]! += weight;
        if (opFlags[o]! & OP_DEF) ds[nd++] = n;
        else us[nu++] = n;
      }
      if (prog.itemCopy[i] && nu === 1 && nd === 1) {
        const src = us[0]!;
        const dst = ds[0]!;
        live.delete(src);
        if (src !== dst) {
          const m = moveDst.push(dst);
          moveSrc.push(src);
          moveList.append(src, m);
          moveList.append(dst, m);
          pending.append(src, m);
          pending.append(dst, m);
        }
      }
      const clobbers = prog.itemKind[i] === ITEM_INST ? prog.clobbers[prog.itemOrigin[i]!]! : undefined;
      const dense = live.dense;
      if (clobbers) {
        for (const c of clobbers) {
          for (let k = 0; k < live.size; k++) {
            const v = dense[k]!;
            let defined = false;
            for (let x = 0; x < nd; x++) if (ds[x] === v) defined = true;
            if (!defined) addEdge(c, v);
          }
        }
      }
      for (let x = 0; x < nd; x++) {
        const d = ds[x]!;
        for (let k = 0; k < live.size; k++) addEdge(d, dense[k]!);
        for (let y = 0; y < nd; y++) addEdge(d, ds[y]!);
      }
      for (let o = o0; o < o1; o++) {
        if ((opFlags[o]! & (OP_DEF | OP_EARLY)) === (OP_DEF | OP_EARLY) && opNode[o]! >= 0) for (let x = 0; x < nu; x++) addEdge(opNode[o]!, us[x]!);
      }
      for (let x = 0; x < nd; x++) live.delete(ds[x]!);
      if (clobbers) for (const c of clobbers) live.delete(c);
      for (let x = 0; x < nu; x++) live.add(us[x]!);
    }
    // Values live into the entry block (incoming registers) interfere with each other.
    if (b === 0) {
      const l = live.dense; // (addEdge does not change the set)
      for (let i = 0; i < live.size; i++) for (let j = i + 1; j < live.size; j++) addEdge(l[i]!, l[j]!);
    }
  }
  for (let n = 0; n < N; n++) if (prog.noSpill[n]) cost[n] = Infinity;

  // Worklists: intrusive doubly linked lists (insertion-ordered, O(1) removal).
  const where = uint8s(N);
  const prev = int32s(N, -1);
  const next = int32s(N, -1);
  const head = int32s(STACK, -1);
  const tail = int32s(STACK, -1);
  const size = int32s(STACK);
  const unlist = (n: Node): void => {
    const l = where[n]!;
    if (l === NOWHERE || l >= STACK) return;
    const p = prev[n]!;
    const x = next[n]!;
    if (p < 0) head[l] = x;
    else next[p] = x;
    if (x < 0) tail[l] = p;
    else prev[x] = p;
    size[l]!--;
    where[n] = NOWHERE;
  };
  const spillHeap = new ScoreHeap();
  const score = (n: Node): number => cost[n]! / Math.max(1, degree[n]!);
  const enlist = (n: Node, l: number): void => {
    if (where[n] === l) return;
    unlist(n);
    where[n] = l;
    prev[n] = tail[l]!;
    next[n] = -1;
    if (tail[l]! < 0) head[l] = n;
    else next[tail[l]!] = n;
    tail[l] = n;
    size[l]!++;
    if (l === SPILL) spillHeap.push(n, score(n));
  };

  const selectStack: Node[] = [];
  const alias = int32s(N);
  for (let n = 0; n < N; n++) alias[n] = n;
  const moveState = uint8s(moveDst.length); // all WORKLIST
  const moveQueue: number[] = [];
  for (let m = 0; m < moveDst.length; m++) moveQueue.push(m);
  let moveQueueHead = 0;
  let worklistMoves = moveDst.length;
  let coalesced = 0;

  /** Calls `f` on each move of n that may still coalesce, dropping finished ones from the list. */
  const forNodeMoves = (n: Node, f: (m: number) => boolean | void): void => {
    let p = -1;
    for (let e = pending.head[n]!; e >= 0; ) {
      const nx = pending.nextOf(e);
      const m = pending.valueOf(e);
      if (moveState[m] === DONE) pending.unlink(n, p, e);
      else {
        if (f(m) === true) return;
        p = e;
      }
      e = nx;
    }
  };
  const moveRelated = (n: Node): boolean => {
    let any = false;
    forNodeMoves(n, () => (any = true));
    return any;
  };
  const isActive = (m: Node): boolean => where[m] !== STACK && where[m] !== COALESCED;
  const getAlias = (n: Node): Node => {
    let a = n;
    while (alias[a] !== a) a = alias[a]!;
    while (alias[n] !== a) {
      const x = alias[n]!;
      alias[n] = a;
      n = x;
    }
    return a;
  };
  const enableMoves = (n: Node): void => {
    forNodeMoves(n, (m) => {
      if (moveState[m] === ACTIVE) {
        moveState[m] = WORKLIST;
        worklistMoves++;
        moveQueue.push(m);
      }
    });
  };
  const decrementDegree = (m: Node): void => {
    if (m < P) return;
    const d = degree[m]!;
    degree[m] = d - 1;
    if (d === K) {
      enableMoves(m);
      for (let e = adj.head[m]!; e >= 0; e = adj.nextOf(e)) {
        const t = adj.valueOf(e);
        if (isActive(t)) enableMoves(t);
      }
      if (moveRelated(m)) enlist(m, FREEZE);
      else enlist(m, SIMPLIFY);
    }
  };
  const addWorkList = (u: Node): void => {
    if (u >= P && degree[u]! < K && !moveRelated(u)) enlist(u, SIMPLIFY);
  };
  const ok = (t: Node, r: Node): boolean => degree[t]! < K || t < P || edges.has(t, r);
  /** George's test: every active neighbour of v is insignificant or already a neighbour of u. */
  const george = (v: Node, u: Node): boolean => {
    let scanned = 0;
    for (let e = adj.head[v]!; e >= 0; e = adj.nextOf(e)) {
      const t = adj.valueOf(e);
      if (!isActive(t)) continue;
      if (++scanned > SCAN_LIMIT || !ok(t, u)) return false;
    }
    return true;
  };
  /** Briggs's test: fewer than K significant-degree nodes among the merged neighbours. */
  const briggs = (u: Node, v: Node): boolean => {
    let k = 0;
    for (let e = adj.head[u]!; e >= 0; e = adj.nextOf(e)) {
      const t = adj.valueOf(e);
      if (isActive(t) && degree[t]! >= K && ++k >= K) return false;
    }
    for (let e = adj.head[v]!; e >= 0; e = adj.nextOf(e)) {
      const t = adj.valueOf(e);
      if (isActive(t) && degree[t]! >= K && !edges.has(t, u) && ++k >= K) return false;
    }
    return true;
  };
  const combine = (u: Node, v: Node): void => {
    unlist(v);
    where[v] = COALESCED;
    alias[v] = u;
    enableMoves(v);
    moveList.splice(u, v);
    pending.splice(u, v);
    cost[u]! += cost[v]!;
    for (let e = adj.head[v]!; e >= 0; e = adj.nextOf(e)) {
      const t = adj.valueOf(e);
      if (!isActive(t)) continue;
      addEdge(t, u);
      decrementDegree(t);
    }
    if (u >= P && degree[u]! >= K && where[u] === FREEZE) enlist(u, SPILL);
    else if (where[u] === SPILL) spillHeap.push(u, score(u)); // cost and degree changed
  };
  const freezeMoves = (u: Node): void => {
    forNodeMoves(u, (m) => {
      const x = moveDst.get(m);
      const y = moveSrc.get(m);
      const v = getAlias(y) === getAlias(u) ? getAlias(x) : getAlias(y);
      if (moveState[m] === WORKLIST) worklistMoves--;
      moveState[m] = DONE;
      if (where[v] === FREEZE && degree[v]! < K && !moveRelated(v)) enlist(v, SIMPLIFY);
    });
  };

  // MakeWorklist.
  for (let n = P; n < N; n++) {
    if (!present[n]) continue;
    if (degree[n]! >= K) enlist(n, SPILL);
    else if (moveRelated(n)) enlist(n, FREEZE);
    else enlist(n, SIMPLIFY);
  }

  while (size[SIMPLIFY]! + worklistMoves + size[FREEZE]! + size[SPILL]! > 0) {
    if (size[SIMPLIFY]! > 0) {
      const n = head[SIMPLIFY]!;
      unlist(n);
      where[n] = STACK;
      selectStack.push(n);
      for (let e = adj.head[n]!; e >= 0; e = adj.nextOf(e)) {
        const t = adj.valueOf(e);
        if (isActive(t)) decrementDegree(t);
      }
    } else if (worklistMoves > 0) {
      const m = moveQueue[moveQueueHead++]!;
      if (moveState[m] !== WORKLIST) continue;
      worklistMoves--;
      moveState[m] = DONE;
      const x = getAlias(moveDst.get(m));
      const y = getAlias(moveSrc.get(m));
      let u = y < P ? y : x;
      let v = y < P ? x : y;
      if (u === v) {
        coalesced++;
        addWorkList(u);
      } else if (v < P || edges.has(u, v) || (u < P && !isAllocatable[u])) {
        addWorkList(u);
        addWorkList(v);
      } else if (u < P ? george(v, u) : canCoalesce(u, v)) {
        // Union by size: the node with more neighbours represents the merged web.
        if (u >= P && degree[v]! > degree[u]!) [u, v] = [v, u];
        coalesced++;
        combine(u, v);
        addWorkList(u);
      } else moveState[m] = ACTIVE;
    } else if (size[FREEZE]! > 0) {
      const u = head[FREEZE]!;
      enlist(u, SIMPLIFY);
      freezeMoves(u);
    } else {
      // SelectSpill: the cheapest per unit of degree (a lazily updated heap: entries whose
      // score is stale are re-pushed with the current one; scores only grow while a node waits).
      let best = -1;
      while (spillHeap.size > 0) {
        const s = spillHeap.peekScore();
        const n = spillHeap.pop();
        if (where[n] !== SPILL) continue;
        const now = score(n);
        if (now !== s) {
          spillHeap.push(n, now);
          continue;
        }
        best = n;
        break;
      }
      if (best < 0) throw new Error("regalloc: internal: empty spill heap with a non-empty spill worklist");
      enlist(best, SIMPLIFY);
      freezeMoves(best);
    }
  }

  function canCoalesce(u: Node, v: Node): boolean {
    const du = degree[u]!;
    const dv = degree[v]!;
    if (dv <= du ? george(v, u) : george(u, v)) return true;
    return du + dv <= SCAN_LIMIT && briggs(u, v);
  }

  // AssignColors.
  const colour = int32s(N, -1);
  for (let p = 0; p < P; p++) colour[p] = p;
  const forbidden = int32s(P, -1);
  const spilledNodes: Node[] = [];
  while (selectStack.length > 0) {
    const n = selectStack.pop()!;
    for (let e = adj.head[n]!; e >= 0; e = adj.nextOf(e)) {
      const c = colour[getAlias(adj.valueOf(e))]!;
      if (c >= 0) forbidden[c] = n;
    }
    let choice = -1;
    // Bias: the colour of a move partner, when free.
    for (let e = moveList.head[n]!; e >= 0; e = moveList.nextOf(e)) {
      const m = moveList.valueOf(e);
      const d = getAlias(moveDst.get(m));
      const other = d === n ? getAlias(moveSrc.get(m)) : d;
      const c = colour[other]!;
      if (c >= 0 && isAllocatable[c] && forbidden[c] !== n) {
        choice = c;
        break;
      }
    }
    if (choice < 0) {
      for (const c of target.allocatable) {
        if (forbidden[c] !== n) {
          choice = c;
          break;
        }
      }
    }
    if (choice < 0) spilledNodes.push(n);
    else colour[n] = choice;
  }
  const spilledIndex = int32s(N, -1);
  const spilled = spilledNodes.map((node, i) => {
    spilledIndex[node] = i;
    return { node, members: [node] };
  });
  for (let n = P; n < N; n++) {
    if (where[n] !== COALESCED) continue;
    const a = getAlias(n);
    colour[n] = colour[a]!;
    if (spilledIndex[a]! >= 0) spilled[spilledIndex[a]!]!.members.push(n);
  }
  return { colour, spilled, coalesced };
}
