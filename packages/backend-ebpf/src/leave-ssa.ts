/**
 * Leaving SSA, the stage between the IR and the machine code, without touching the IR:
 *
 * 1. Block layout ({@link BlockLayout}): the machine function has one block per IR block,
 *    plus one *edge block* for each critical edge (from a block with several successors to
 *    one with several predecessors) that leads into phis: the copies replacing those phis
 *    need a place of their own on that edge. An edge block goes right after its source,
 *    later edges of the source first (the layout of inserting each edge block directly
 *    after the source, as `splitEdge` does in the IR); edges into phi-free blocks are not
 *    split. Cranelift lowers critical edges the same way (blockorder.rs). When the other
 *    way out of the source needs no copies, the target is no loop header and no phi
 *    written early would interfere with a value it takes on another edge, the copies go
 *    before the source's branch instead (no edge block, no jump).
 * 2. Phi copies ({@link phiSources}): leaving a block (or an edge block) along an edge, every
 *    phi of the edge's target receives the value of the incoming pair that belongs to that
 *    edge (with several edges between two blocks, the n-th pair from the source belongs to
 *    the n-th edge). Instruction selection turns them into a parallel copy.
 * 3. Sequentialising a parallel copy ({@link sequentializeCopies}): moves are emitted in an
 *    order where no destination is written while another pending copy still reads it; a
 *    cycle is broken with one temporary. (The classic algorithm; see Boissinot et al. 2009,
 *    "Revisiting Out-of-SSA Translation", for the general problem.)
 *
 * Cost: O(blocks + edges + phis).
 */
import type { BasicBlock, Function as IrFunction, Instruction, LoopInfo, Value } from "@luabpf/ir";
import { InternalError, isConstant, isInstruction } from "@luabpf/ir";

/** A block of the machine layout: an IR block, or the edge block of its source's `edge`-th target. */
export type LayoutBlock =
  | { readonly kind: "block"; readonly bb: BasicBlock }
  | { readonly kind: "edge"; readonly from: BasicBlock; readonly to: BasicBlock; readonly edge: number };

/** Which of `term`'s edges to `targets[slot]` slot `slot` is (0 for the first such edge). */
function edgeOccurrence(targets: readonly BasicBlock[], slot: number): number {
  let n = 0;
  for (let k = 0; k < slot; k++) if (targets[k] === targets[slot]) n++;
  return n;
}

/** Does the `edge`-th target of `from` need a block of its own for its phi copies? */
function needsEdgeBlock(from: BasicBlock, edge: number, loops: LoopInfo | undefined): boolean {
  const targets = from.succs;
  const to = targets[edge]!;
  if (!(targets.length >= 2 && to.preds.length > 1 && to.first?.opcode === "phi")) return false;
  return !copiesMayGoBeforeBranch(from, edge, loops);
}

/**
 * May the phi copies of `from`'s `edge`-th edge run in `from` itself, before its branch
 * (clang's "set, then branch": `r1 = 1; if r0 == 0 goto J`), instead of in an edge block
 * of their own? Yes when `from` ends in a two-way branch whose other target has no phis
 * and the target J is no loop header. A phi of J is then live only from the edges into J
 * on (its uses are dominated by J, and no phi of J reads another along a back edge), so
 * writing it early is invisible on the other way out. Loop information is needed to know.
 */
function copiesMayGoBeforeBranch(from: BasicBlock, edge: number, loops: LoopInfo | undefined): boolean {
  const targets = from.succs;
  if (!loops || targets.length !== 2) return false;
  const [to, other] = [targets[edge]!, targets[1 - edge]!];
  if (to === other || to === from || other.first?.opcode === "phi" || loops.loopFor(to)?.header === to) return false;
  // Written early, a phi is live on the other way out too: a register value that it receives
  // on another edge and that is already live at the branch (defined before it) then
  // interferes with it and cannot share its register — a copy more than the edge block's
  // jump (len-sqrt's `lo`, carried round its loop). Constants, stack and map addresses
  // (rematerialised) and values computed on the other way cost nothing.
  for (const phi of to.phis()) {
    const here = phi.incomingValue(from);
    for (let k = 0; k < phi.operands.length; k++) {
      const v = phi.operands[k]!;
      if (phi.incoming[k] === from || v === here || isConstant(v) || isInstruction(v, "alloca") || isInstruction(v, "mapref") || isInstruction(v, "coreval")) continue;
      const def = isInstruction(v) ? v.block : undefined;
      if (def === undefined || (def !== phi.incoming[k] && def !== other)) return false;
    }
  }
  return true;
}

/** The machine block layout of a function leaving SSA. */
export class BlockLayout {
  /** Machine blocks in layout order. */
  readonly blocks: readonly LayoutBlock[];
  private readonly index = new Map<BasicBlock, number>();
  /** Per IR block with split edges: the machine block index of each target slot's edge block. */
  private readonly edgeBlocks = new Map<BasicBlock, (number | undefined)[]>();

  constructor(fn: IrFunction, loops?: LoopInfo) {
    const blocks: LayoutBlock[] = [];
    for (const bb of fn.blocks) {
      this.index.set(bb, blocks.length);
      blocks.push({ kind: "block", bb });
      const targets = bb.succs;
      const split: LayoutBlock[] = [];
      for (let k = 0; k < targets.length; k++) {
        if (needsEdgeBlock(bb, k, loops)) split.push({ kind: "edge", from: bb, to: targets[k]!, edge: k });
      }
      if (split.length === 0) continue;
      const slots: (number | undefined)[] = new Array(targets.length);
      for (const e of split.reverse()) {
        slots[(e as { edge: number }).edge] = blocks.length;
        blocks.push(e);
      }
      this.edgeBlocks.set(bb, slots);
    }
    this.blocks = blocks;
  }

  /** The machine block index of IR block `bb`. */
  indexOf(bb: BasicBlock): number {
    const i = this.index.get(bb);
    if (i === undefined) throw new InternalError(`leave-ssa: @bb${bb.id} is not in the layout`);
    return i;
  }

  /** The machine block the `edge`-th target of `from`'s terminator jumps to: its edge block, or the target itself. */
  target(from: BasicBlock, edge: number): number {
    return this.edgeBlocks.get(from)?.[edge] ?? this.indexOf(from.succs[edge]!);
  }

  /** The successors of layout block `b`, as machine block indices (for liveness). */
  succs(b: LayoutBlock): number[] {
    return b.kind === "edge" ? [this.indexOf(b.to)] : b.bb.succs.map((_, k) => this.target(b.bb, k));
  }

  /** Loop nesting depth of a layout block: an edge block is in every loop holding both its ends. */
  loopDepth(b: LayoutBlock, loops: LoopInfo | undefined): number {
    if (!loops) return 0;
    if (b.kind === "block") return loops.depth(b.bb);
    for (let l = loops.loopFor(b.to); l; l = l.parent) if (l.contains(b.from)) return l.depth;
    return 0;
  }

  /**
   * The phi copies made when control leaves layout block `b`: for an edge block, those of
   * its edge; for an IR block, those of every successor it reaches without an edge block
   * (each successor once, in target order).
   */
  phiCopies(b: LayoutBlock): { phi: Instruction; src: Value }[] {
    if (b.kind === "edge") return phiSources(b.from, b.to, edgeOccurrence(b.from.succs, b.edge));
    const out: { phi: Instruction; src: Value }[] = [];
    const seen = new Set<BasicBlock>();
    b.bb.succs.forEach((s, k) => {
      if (seen.has(s)) return;
      seen.add(s);
      if (this.edgeBlocks.get(b.bb)?.[k] === undefined) out.push(...phiSources(b.bb, s, 0));
    });
    return out;
  }
}

/** The value each phi of `to` receives along the `occurrence`-th edge from `from`. */
export function phiSources(from: BasicBlock, to: BasicBlock, occurrence: number): { phi: Instruction; src: Value }[] {
  return to.phis().map((phi) => {
    let n = occurrence;
    const i = phi.incoming.findIndex((bb) => bb === from && n-- === 0);
    if (i < 0) throw new InternalError(`leave-ssa: phi %${phi.id} has no incoming value for edge @bb${from.id} -> @bb${to.id}`);
    return { phi, src: phi.operands[i]! };
  });
}

/**
 * Orders the register copies `dst ← src` of a parallel copy so that each source is read
 * before it is overwritten: emits a copy whose destination no pending copy reads; when
 * every pending copy is on a cycle, saves one destination's old value in a temporary
 * (from `temp()`) and redirects its readers. Copies with `src === dst` must be left out.
 */
export function sequentializeCopies<R>(copies: { dst: R; src: R }[], temp: () => R, move: (dst: R, src: R) => void): void {
  const pending = copies.map((c) => ({ ...c }));
  while (pending.length > 0) {
    const ready = pending.findIndex((c) => !pending.some((o) => o !== c && o.src === c.dst));
    if (ready >= 0) {
      const [c] = pending.splice(ready, 1);
      move(c!.dst, c!.src);
      continue;
    }
    const d = pending[0]!.dst;
    const t = temp();
    move(t, d);
    for (const c of pending) if (c.src === d) c.src = t;
  }
}
