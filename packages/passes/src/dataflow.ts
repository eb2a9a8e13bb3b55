/**
 * A generic iterative dataflow solver over basic blocks: a lattice, a block transfer
 * function, an optional edge transfer, and a direction (Kildall 1973; the "worklist in
 * reverse postorder" formulation of Cooper, Harvey & Kennedy, "Iterative data-flow
 * analysis, revisited", 2004; Binaryen's `analysis/lattice.h` has the same shape).
 *
 * Liveness (analysis/liveness.ts) and dense conditional constant propagation
 * (analysis/constants.ts) are instances; SCCP uses the same constant lattice sparsely.
 *
 * Forward problems visit blocks in reverse postorder, backward ones in postorder, so that
 * on acyclic regions every block is processed after all the blocks it depends on and
 * loops converge in (loop depth + 2) sweeps. Blocks are marked pending when an input
 * changes; each sweep processes the pending blocks in order. Termination requires a
 * monotone transfer and a lattice of finite height. Unreachable blocks are not visited and
 * keep `bottom`. Cost: O(sweeps × (blocks + edges) × cost of join/transfer).
 */
import type { BasicBlock, Function } from "@luabpf/ir";
import { postOrder } from "@luabpf/ir";

/** A join semilattice with a least element. */
export interface Lattice<T> {
  /** The least element ("no information yet"). */
  bottom(): T;
  /** The least upper bound. Must not mutate its arguments. */
  join(a: T, b: T): T;
  equals(a: T, b: T): boolean;
}

/** A dataflow problem over the blocks of a function. */
export interface DataflowProblem<T> {
  readonly direction: "forward" | "backward";
  readonly lattice: Lattice<T>;
  /** The value entering the boundary: the entry block's input (forward), or the output of blocks without successors (backward). */
  boundary(fn: Function): T;
  /** Forward: block input → block output. Backward: value at the block end → value at its start. */
  transfer(bb: BasicBlock, input: T): T;
  /**
   * Optional transfer along the edge `from → to` of the value crossing it (forward: the
   * output of `from`; backward: the value at the start of `to`). Return `bottom` to say the
   * edge is never taken.
   */
  edge?(from: BasicBlock, to: BasicBlock, value: T): T;
}

/** The fixed point: values at the start and end of every reachable block, indexed by block id. */
export interface DataflowResult<T> {
  /** Block id → value at the block start (forward: input; backward: output of the transfer). */
  readonly atStart: readonly T[];
  /** Block id → value at the block end. */
  readonly atEnd: readonly T[];
  /** The blocks in the order they were swept (RPO forward, postorder backward). */
  readonly order: readonly BasicBlock[];
  /** Number of transfer-function applications (a cost measure). */
  readonly visits: number;
}

/** Solves `problem` on `fn` to its least fixed point. */
export function solveDataflow<T>(fn: Function, problem: DataflowProblem<T>): DataflowResult<T> {
  const { lattice } = problem;
  const forward = problem.direction === "forward";
  const po = postOrder(fn);
  const order = forward ? po.slice().reverse() : po;
  const bound = fn.blockIdBound;
  const inOrder = new Uint8Array(bound);
  for (const bb of order) inOrder[bb.id] = 1;
  const atStart: T[] = new Array<T>(bound);
  const atEnd: T[] = new Array<T>(bound);
  for (const bb of order) {
    atStart[bb.id] = lattice.bottom();
    atEnd[bb.id] = lattice.bottom();
  }
  // Unique, reachable predecessors (forward inputs / backward dependents).
  const preds: BasicBlock[][] = new Array<BasicBlock[]>(bound);
  for (const bb of order) preds[bb.id] = [];
  for (const bb of order) for (const s of new Set(bb.succs)) if (inOrder[s.id]) preds[s.id]!.push(bb);

  const pending = new Uint8Array(bound);
  for (const bb of order) pending[bb.id] = 1;
  let anyPending = order.length > 0;
  let visits = 0;
  const edge = problem.edge?.bind(problem);
  while (anyPending) {
    anyPending = false;
    for (const bb of order) {
      if (!pending[bb.id]) continue;
      pending[bb.id] = 0;
      visits++;
      if (forward) {
        let input = bb === fn.entry ? problem.boundary(fn) : lattice.bottom();
        for (const p of preds[bb.id]!) input = lattice.join(input, edge ? edge(p, bb, atEnd[p.id]!) : atEnd[p.id]!);
        atStart[bb.id] = input;
        const out = problem.transfer(bb, input);
        if (!lattice.equals(out, atEnd[bb.id]!)) {
          atEnd[bb.id] = out;
          for (const s of bb.succs) if (inOrder[s.id] && !pending[s.id]) (pending[s.id] = 1), (anyPending = true);
        }
      } else {
        const succs = new Set(bb.succs);
        let output = succs.size === 0 ? problem.boundary(fn) : lattice.bottom();
        for (const s of succs) output = lattice.join(output, edge ? edge(bb, s, atStart[s.id]!) : atStart[s.id]!);
        atEnd[bb.id] = output;
        const input = problem.transfer(bb, output);
        if (!lattice.equals(input, atStart[bb.id]!)) {
          atStart[bb.id] = input;
          for (const p of preds[bb.id]!) if (!pending[p.id]) (pending[p.id] = 1), (anyPending = true);
        }
      }
    }
  }
  return { atStart, atEnd, order, visits };
}
