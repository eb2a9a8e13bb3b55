/**
 * Liveness of SSA values: live-in / live-out bit sets per block (indexed by value id) and
 * live ranges per value, for register allocation.
 *
 * An instance of the generic backward dataflow solver ({@link solveDataflow}) on the
 * powerset lattice of value ids:
 *
 *   liveOut(b) = ∪ over successors s of ( liveIn(s) ∪ phiUses(s, from b) )
 *   liveIn(b)  = upwardExposed(b) ∪ ( liveOut(b) − defs(b) )
 *
 * A phi's operand is a use at the end of the incoming block, not in the phi's block
 * (hence the edge transfer), and a phi's result is defined at the start of its block.
 * Only parameters and instruction results are tracked; constants are never live.
 *
 * Positions: instructions are numbered consecutively in reverse postorder of the blocks,
 * so a value's live range is a list of per-block segments `[start, end]` of positions
 * (inclusive). A value live into a block starts at the block's first position; one live
 * out of it ends at the terminator's position. Cost: O(sweeps × blocks × values / 32).
 */
import type { BasicBlock, Function, Instruction, Value } from "@luabpf/ir";
import { defineAnalysis } from "../analysis-manager.js";
import { BitSet } from "../util/bitset.js";
import { solveDataflow, type Lattice } from "../dataflow.js";

/** One piece of a live range: positions `start..end` (inclusive) inside `block`. */
export interface LiveSegment {
  readonly block: BasicBlock;
  readonly start: number;
  readonly end: number;
}

/** Where a value is live. */
export interface LiveRange {
  readonly value: Value;
  /** Segments in increasing position order (blocks in reverse postorder). */
  readonly segments: readonly LiveSegment[];
}

/** The result of the liveness analysis. */
export class Liveness {
  /** @internal */
  constructor(
    readonly fn: Function,
    private readonly liveInSets: readonly BitSet[],
    private readonly liveOutSets: readonly BitSet[],
    /** Reachable blocks in reverse postorder (the position order). */
    readonly blocks: readonly BasicBlock[],
    private readonly positions: Map<Instruction, number>,
    private readonly blockSpans: Int32Array,
    /** Number of transfer applications the solver made. */
    readonly solverVisits: number,
  ) {}

  /** Value ids live at the start of `bb` (phi results of `bb` excluded). */
  liveIn(bb: BasicBlock): BitSet {
    return this.liveInSets[bb.id] ?? new BitSet(this.fn.valueIdBound);
  }
  /** Value ids live at the end of `bb` (including values its successors' phis read from it). */
  liveOut(bb: BasicBlock): BitSet {
    return this.liveOutSets[bb.id] ?? new BitSet(this.fn.valueIdBound);
  }
  isLiveIn(v: Value, bb: BasicBlock): boolean {
    return this.liveIn(bb).has(v.id);
  }
  isLiveOut(v: Value, bb: BasicBlock): boolean {
    return this.liveOut(bb).has(v.id);
  }
  /** The position of `inst` (instructions numbered in block reverse postorder). */
  position(inst: Instruction): number {
    const p = this.positions.get(inst);
    if (p === undefined) throw new RangeError(`%${inst.id} is not in a reachable block`);
    return p;
  }
  /** First and last position of `bb`. */
  span(bb: BasicBlock): { start: number; end: number } {
    return { start: this.blockSpans[2 * bb.id]!, end: this.blockSpans[2 * bb.id + 1]! };
  }

  /** The live range of `v` (empty for constants and unused, unreachable values). */
  liveRange(v: Value): LiveRange {
    const segments: LiveSegment[] = [];
    if (v.kind === "constant") return { value: v, segments };
    if (v.kind === "param" && !v.hasUses) return { value: v, segments };
    const def = v.kind === "instruction" ? (v as Instruction) : undefined;
    for (const bb of this.blocks) {
      const { start: bs, end: be } = this.span(bb);
      const liveIn = this.liveIn(bb).has(v.id);
      // Parameters are defined at the entry's first position, phis at their block's.
      const definedHere = def ? def.block === bb : bb === this.fn.entry;
      if (!liveIn && !definedHere) continue;
      const start = liveIn || !def || def.isPhi ? bs : this.position(def);
      let end = start;
      if (this.liveOut(bb).has(v.id)) end = be;
      else for (const u of v.uses) if (u.user.block === bb && !u.user.isPhi) end = Math.max(end, this.position(u.user));
      segments.push({ block: bb, start, end });
    }
    return { value: v, segments };
  }

  /** Live ranges of every parameter and instruction result, indexed by value id. */
  liveRanges(): (LiveRange | undefined)[] {
    const out: (LiveRange | undefined)[] = new Array(this.fn.valueIdBound);
    for (const p of this.fn.params) out[p.id] = this.liveRange(p);
    for (const bb of this.blocks) for (let i = bb.first; i; i = i.next) if (i.type.kind !== "void") out[i.id] = this.liveRange(i);
    return out;
  }

  /** Same live-in and live-out sets on every block? */
  equals(other: Liveness): boolean {
    if (this.blocks.length !== other.blocks.length) return false;
    return this.blocks.every((bb) => this.liveIn(bb).equals(other.liveIn(bb)) && this.liveOut(bb).equals(other.liveOut(bb)));
  }
}

const tracked = (v: Value): boolean => v.kind !== "constant";

/** Computes liveness of `fn` with the dataflow solver. */
export function computeLiveness(fn: Function): Liveness {
  const n = fn.valueIdBound;
  const bound = fn.blockIdBound;
  const gen: BitSet[] = new Array<BitSet>(bound);
  const kill: BitSet[] = new Array<BitSet>(bound);
  for (const bb of fn.blocks) {
    const g = new BitSet(n);
    const k = new BitSet(n);
    for (let i = bb.first; i; i = i.next) {
      if (!i.isPhi) for (const v of i.operands) if (tracked(v) && !k.has(v.id)) g.add(v.id);
      k.add(i.id);
    }
    gen[bb.id] = g;
    kill[bb.id] = k;
  }
  const lattice: Lattice<BitSet> = {
    bottom: () => new BitSet(n),
    join: (a, b) => {
      const c = a.clone();
      c.unionWith(b);
      return c;
    },
    equals: (a, b) => a.equals(b),
  };
  const result = solveDataflow(fn, {
    direction: "backward",
    lattice,
    boundary: () => new BitSet(n),
    transfer: (bb, out) => {
      const s = out.clone().subtract(kill[bb.id]!);
      s.unionWith(gen[bb.id]!);
      return s;
    },
    edge: (from, to, liveInTo) => {
      const phis = to.phis();
      if (phis.length === 0) return liveInTo;
      const s = liveInTo.clone();
      for (const phi of phis) {
        for (let k = 0; k < phi.incoming.length; k++) {
          const v = phi.operands[k]!;
          if (phi.incoming[k] === from && tracked(v)) s.add(v.id);
        }
      }
      return s;
    },
  });
  const positions = new Map<Instruction, number>();
  const spans = new Int32Array(2 * bound).fill(-1);
  let pos = 0;
  const rpo = result.order.slice().reverse();
  for (const bb of rpo) {
    spans[2 * bb.id] = pos;
    for (let i = bb.first; i; i = i.next) positions.set(i, pos++);
    spans[2 * bb.id + 1] = Math.max(pos - 1, spans[2 * bb.id]!);
  }
  return new Liveness(fn, result.atStart as BitSet[], result.atEnd as BitSet[], rpo, positions, spans, result.visits);
}

/** Live-in/live-out sets and live ranges; invalidated by any change to instructions. */
export const livenessAnalysis = defineAnalysis<Liveness>({
  name: "liveness",
  description: "live-in/live-out value sets per block and live ranges per value",
  compute: (fn) => computeLiveness(fn),
  equals: (a, b) => a.equals(b),
});
