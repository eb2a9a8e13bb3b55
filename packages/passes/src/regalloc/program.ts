/**
 * The allocator's working copy of the function: per block a sequence of items, each either
 * an input instruction or something the allocator added around one (a constraint move,
 * a reload, a spill store). Registers are graph nodes: `0 .. numRegs-1` are the physical
 * registers (precoloured), then one node per virtual register, then temporaries.
 *
 * Building it lowers operand constraints to plain register operands plus copies that the
 * coalescer usually removes again: a fixed use of v in p becomes `p ← v` before the
 * instruction and a use of p; a fixed def becomes a def of p and `v ← p` after; a reuse
 * (tied) def of a different virtual register d becomes `d ← u` before the instruction,
 * which then reads and writes d (through a temporary when d's old value is read too).
 *
 * Spilling rewrites it (Chaitin's spill-everywhere): each instruction touching a spilled
 * node gets a fresh short-lived temporary, reloaded before and stored after; a copy
 * instead reads or writes the spill slot directly, so spilled phi copies cost one memory
 * access and copies within one spill web cost nothing.
 *
 * Representation: structure of arrays (item kind, origin, position, slot, operand range;
 * operand node, slot, flags), so that a million-instruction function is a few typed
 * arrays rather than millions of objects. Building and rewriting are linear.
 */
import { PACKED_DEF, PACKED_EARLY, PACKED_FIXED, PACKED_PHYSICAL, PACKED_REUSE, type PackedRegAllocFunction, type PReg, type RegAllocFunction, type RegAllocTarget } from "./interface.js";
import { isPacked, packFunction } from "./packed.js";
import { int32s, uint8s } from "./scratch.js";
import { IntVec } from "./structures.js";

export type Node = number;

/** Item kinds. */
export const ITEM_INST = 0;
export const ITEM_MOVE = 1;
export const ITEM_RELOAD = 2;
export const ITEM_SPILL = 3;
/** Item positions relative to their input instruction. */
export const POS_BEFORE = 0;
export const POS_INST = 1;
export const POS_AFTER = 2;
/** Operand flags. */
export const OP_DEF = 1;
export const OP_EARLY = 2;

const NO_CLOBBERS: readonly PReg[] = [];
/** Placeholders of a program's arrays until its items are written (shared: never written). */
const NO_INTS = new Int32Array(0);
const NO_BYTES = new Uint8Array(0);

export interface Program {
  numRegs: number;
  numNodes: number;
  /** First node of the virtual registers; temporaries start at `firstVirtual + numVRegs`. */
  firstVirtual: Node;
  numBlocks: number;
  succs: readonly (readonly number[])[];
  preds: readonly (readonly number[])[];
  loopDepth: readonly number[];
  /** Items of block b: `blockStart[b] .. blockStart[b+1]-1`. */
  blockStart: Int32Array;
  numItems: number;
  itemKind: Int32Array;
  /** The input instruction an item belongs to. */
  itemOrigin: Int32Array;
  itemPos: Int32Array;
  /** A register copy the coalescer may merge (input copies and constraint moves). */
  itemCopy: Int32Array;
  /** Reload: the slot read; spill: the slot written. -1 otherwise. */
  itemSlot: Int32Array;
  /** Operands of item i: `itemOps[i] .. itemOps[i+1]-1`. For copies/moves: [use, def]; reload: [def]; spill: [use]. */
  itemOps: Int32Array;
  /** Operand node, or -1 when the operand is a spill slot (copies only). */
  opNode: Int32Array;
  /** Operand spill slot, or -1. */
  opSlot: Int32Array;
  opFlags: Int32Array;
  /** Clobbers of each input instruction (items of kind inst have their origin's). */
  clobbers: readonly (readonly PReg[])[];
  /** Nodes that must not be spilled (spill temporaries): `noSpill[n] === 1`. */
  noSpill: Uint8Array;
  numSlots: number;
  /** Last input instruction of each block (after-edits there would be unreachable): `lastInst[id] === 1`. */
  lastInst: Uint8Array;
  /** The vectors the item and operand arrays are views of (a spill round rewrites them in place). */
  vectors?: { current: ItemWriter };
  /**
   * The live-out sets once computed ({@link programLiveOut}); {@link rewriteSpills} keeps them
   * true (a spilled node leaves them, and its temporaries never live past their block).
   */
  liveOut?: LiveOutSets;
}

/** Appends items to growing arrays; `finish` installs them in a program. */
export class ItemWriter {
  readonly blockStart: IntVec;
  readonly kind: IntVec;
  readonly origin: IntVec;
  readonly pos: IntVec;
  readonly copy: IntVec;
  readonly slot: IntVec;
  readonly ops: IntVec;
  readonly opNode: IntVec;
  readonly opSlot: IntVec;
  readonly opFlags: IntVec;
  /** Sized for about `items` items with `ops` operands in `blocks` blocks (estimates: the vectors grow past them). */
  constructor(blocks = 64, items = 256, ops = 512) {
    this.blockStart = new IntVec(blocks + 1);
    this.kind = new IntVec(items);
    this.origin = new IntVec(items);
    this.pos = new IntVec(items);
    this.copy = new IntVec(items);
    this.slot = new IntVec(items);
    this.ops = new IntVec(items + 1);
    this.opNode = new IntVec(ops);
    this.opSlot = new IntVec(ops);
    this.opFlags = new IntVec(ops);
  }

  /** A writer holding copies of `prog`'s arrays (for a program built without one). */
  static adopt(prog: Program): ItemWriter {
    const w = new ItemWriter(prog.numBlocks, prog.numItems, prog.opNode.length);
    const pairs = [[w.blockStart, prog.blockStart], [w.kind, prog.itemKind], [w.origin, prog.itemOrigin], [w.pos, prog.itemPos], [w.copy, prog.itemCopy], [w.slot, prog.itemSlot], [w.ops, prog.itemOps], [w.opNode, prog.opNode], [w.opSlot, prog.opSlot], [w.opFlags, prog.opFlags]] as const;
    for (const [v, a] of pairs) {
      v.grow(a.length);
      v.data.set(a);
      v.length = a.length;
    }
    return w;
  }

  /** Sets the sizes to `items` items (and their operand starts, one more) and `ops` operands, growing the storage once; new entries are unset. */
  resize(items: number, ops: number): void {
    for (const v of [this.kind, this.origin, this.pos, this.copy, this.slot]) {
      v.grow(items);
      v.length = items;
    }
    this.ops.grow(items + 1);
    this.ops.length = items + 1;
    for (const v of [this.opNode, this.opSlot, this.opFlags]) {
      v.grow(ops);
      v.length = ops;
    }
  }

  item(kind: number, origin: number, pos: number, copy: boolean, slot = -1): void {
    this.kind.push(kind);
    this.origin.push(origin);
    this.pos.push(pos);
    this.copy.push(copy ? 1 : 0);
    this.slot.push(slot);
    this.ops.push(this.opNode.length);
  }
  op(node: number, slot: number, flags: number): void {
    this.opNode.push(node);
    this.opSlot.push(slot);
    this.opFlags.push(flags);
  }
  move(origin: number, pos: number, src: Node, dst: Node): void {
    this.item(ITEM_MOVE, origin, pos, true);
    this.op(src, -1, 0);
    this.op(dst, -1, OP_DEF);
  }
  finish(prog: Program): void {
    this.ops.push(this.opNode.length);
    this.install(prog);
  }
  /** Makes `prog`'s item and operand arrays views of the vectors. */
  install(prog: Program): void {
    prog.blockStart = this.blockStart.view();
    prog.numItems = this.kind.length;
    prog.itemKind = this.kind.view();
    prog.itemOrigin = this.origin.view();
    prog.itemPos = this.pos.view();
    prog.itemCopy = this.copy.view();
    prog.itemSlot = this.slot.view();
    prog.itemOps = this.ops.view();
    prog.opNode = this.opNode.view();
    prog.opSlot = this.opSlot.view();
    prog.opFlags = this.opFlags.view();
  }
}

/** Builds the working program, lowering fixed and reuse constraints to copies. */
export function buildProgram(input: RegAllocFunction | PackedRegAllocFunction, target: RegAllocTarget): Program {
  const fn = isPacked(input) ? input : packFunction(input);
  const P = target.numRegs;
  const numBlocks = fn.blocks.length;
  // (A loop: `Array.from` with a length object takes V8's generic path, ~40 % of building an example's program.)
  const preds: number[][] = new Array<number[]>(numBlocks);
  for (let bi = 0; bi < numBlocks; bi++) preds[bi] = [];
  for (let bi = 0; bi < numBlocks; bi++) {
    for (const s of fn.blocks[bi]!.succs) {
      if (!(s >= 0 && s < numBlocks)) throw new Error(`regalloc: block ${bi}: successor ${s} out of range`);
      preds[s]!.push(bi);
    }
  }
  const numInsts = fn.instCopy.length;
  const prog: Program = {
    numRegs: P,
    numNodes: P + fn.numVRegs,
    firstVirtual: P,
    numBlocks,
    succs: fn.blocks.map((b) => b.succs),
    preds,
    loopDepth: fn.blocks.map((b) => b.loopDepth),
    blockStart: NO_INTS,
    numItems: 0,
    itemKind: NO_INTS,
    itemOrigin: NO_INTS,
    itemPos: NO_INTS,
    itemCopy: NO_INTS,
    itemSlot: NO_INTS,
    itemOps: NO_INTS,
    opNode: NO_INTS,
    opSlot: NO_INTS,
    opFlags: NO_INTS,
    clobbers: new Array<readonly PReg[]>(numInsts),
    noSpill: NO_BYTES,
    numSlots: 0,
    lastInst: uint8s(numInsts),
  };
  const clobbers = prog.clobbers as (readonly PReg[])[];
  const checkPreg = (p: PReg, where: () => string): PReg => {
    if (!(p >= 0 && p < P)) throw new Error(`regalloc: ${where()}: physical register ${p} out of range`);
    return p;
  };
  const { instOps, instCopy, opFlags: inFlags, opReg, opArg } = fn;
  // Constraint moves add items: a quarter more is the usual need.
  const w = new ItemWriter(numBlocks, numInsts + (numInsts >> 2) + 16, inFlags.length + (inFlags.length >> 1) + 16);
  // Scratch per instruction: operand nodes and flags after constraint lowering.
  let nodes: number[] = [];
  let flags: number[] = [];
  const after: number[] = []; // (src, dst) pairs of after-moves: the first nAfter entries
  let nAfter = 0;
  let id = 0;
  // The instruction being lowered, for messages (one closure, not one per instruction).
  let bi = 0;
  let k = 0;
  const where = (): string => `block ${bi} inst ${k}`;
  for (bi = 0; bi < numBlocks; bi++) {
    const b = fn.blocks[bi]!;
    w.blockStart.push(w.kind.length);
    for (k = 0; k < b.numInsts; k++) {
      const origin = id++;
      const o0 = instOps[origin]!;
      const n = instOps[origin + 1]! - o0;
      const copy = instCopy[origin] === 1;
      if (copy && (n !== 2 || inFlags[o0]! & PACKED_DEF || !(inFlags[o0 + 1]! & PACKED_DEF))) {
        throw new Error(`regalloc: ${where()}: a copy must have a use and a def`);
      }
      if (nodes.length < n) {
        nodes = new Array<number>(n);
        flags = new Array<number>(n);
      }
      for (let j = 0; j < n; j++) {
        const f = inFlags[o0 + j]!;
        flags[j] = (f & PACKED_DEF ? OP_DEF : 0) | (f & PACKED_EARLY ? OP_EARLY : 0);
        const r = opReg[o0 + j]!;
        if (f & PACKED_PHYSICAL) nodes[j] = checkPreg(r, where);
        else {
          if (!(r >= 0 && r < fn.numVRegs)) throw new Error(`regalloc: ${where()}: virtual register ${r} out of range`);
          nodes[j] = P + r;
        }
      }
      nAfter = 0;
      for (let j = 0; j < n; j++) {
        const f = inFlags[o0 + j]!;
        if (!(f & PACKED_FIXED) || f & PACKED_PHYSICAL) continue;
        const p = checkPreg(opArg[o0 + j]!, where);
        const v = nodes[j]!;
        nodes[j] = p;
        if (!(f & PACKED_DEF)) w.move(origin, POS_BEFORE, v, p);
        else {
          after[nAfter++] = p;
          after[nAfter++] = v;
        }
      }
      for (let j = 0; j < n; j++) {
        const f = inFlags[o0 + j]!;
        if (!(f & PACKED_REUSE) || f & PACKED_PHYSICAL) continue;
        const r = opArg[o0 + j]!;
        if (!(f & PACKED_DEF) || !(r >= 0 && r < n) || inFlags[o0 + r]! & PACKED_DEF) {
          throw new Error(`regalloc: ${where()}: operand ${j} reuses operand ${r}, which is not a use`);
        }
        const d = nodes[j]!;
        const u = nodes[r]!;
        if (u === d) continue;
        if (u < P) {
          // The tied use is in a fixed register: so is the def.
          nodes[j] = u;
          after[nAfter++] = u;
          after[nAfter++] = d;
          continue;
        }
        let readsD = false;
        for (let y = 0; y < n; y++) if (y !== r && !(flags[y]! & OP_DEF) && nodes[y] === d) readsD = true;
        if (readsD) {
          // d's old value is read too: go through a temporary.
          const t = prog.numNodes++;
          w.move(origin, POS_BEFORE, u, t);
          nodes[r] = t;
          nodes[j] = t;
          after[nAfter++] = t;
          after[nAfter++] = d;
        } else {
          w.move(origin, POS_BEFORE, u, d);
          nodes[r] = d;
        }
      }
      w.item(ITEM_INST, origin, POS_INST, copy);
      for (let j = 0; j < n; j++) w.op(nodes[j]!, -1, flags[j]!);
      const cl = fn.clobbers[origin]!;
      for (const c of cl) checkPreg(c, where);
      clobbers[origin] = cl.length > 0 ? cl : NO_CLOBBERS;
      for (let j = 0; j < nAfter; j += 2) w.move(origin, POS_AFTER, after[j]!, after[j + 1]!);
    }
    if (b.numInsts > 0) prog.lastInst[id - 1] = 1;
  }
  w.blockStart.push(w.kind.length);
  w.finish(prog);
  prog.vectors = { current: w };
  prog.noSpill = uint8s(prog.numNodes);
  return prog;
}

/**
 * Per-block live-out sets of nodes, each sorted by node, in one array: block b's nodes are
 * `nodes[start[b]]` up to `nodes[start[b + 1]]` (typed arrays, so no array per block in
 * each round of a huge function's allocation).
 */
export interface LiveOutSets {
  start: Int32Array;
  nodes: Int32Array;
}

/**
 * Per-block live-out sets of nodes, each sorted by node. Computed one node at a time by
 * exploring backwards from its upward-exposed uses until its definitions ("liveness by
 * variable": Appel, "Modern Compiler Implementation", 10.1; Brandner et al. 2011), so the
 * cost is the size of the result plus the number of operands — no fixpoint iteration, and
 * no per-block bit sets over all nodes (which would be quadratic for huge functions). The
 * (block, node) pairs are found in node order, then placed by block with a counting sort,
 * which keeps each block's nodes in that order.
 */
export function liveOutSets(prog: Program): LiveOutSets {
  const B = prog.numBlocks;
  const N = prog.numNodes;
  // Upward-exposed uses and kills per node, as linked lists of blocks.
  const ueHead = int32s(N, -1);
  const killHead = int32s(N, -1);
  // At most one entry per operand and per clobber: sized for the operands at once.
  const link = new IntVec(prog.opNode.length + 1024); // next entry
  const linkBlock = new IntVec(prog.opNode.length + 1024);
  const seen = int32s(N, -1); // block of the last kill or use recorded for a node
  const killed = int32s(N, -1); // block in which the node was last killed
  const { itemOps, opNode, opFlags, itemKind, itemOrigin, clobbers } = prog;
  const record = (head: Int32Array, n: number, b: number): void => {
    linkBlock.push(b);
    head[n] = link.push(head[n]!);
  };
  for (let b = 0; b < B; b++) {
    for (let i = prog.blockStart[b]!; i < prog.blockStart[b + 1]!; i++) {
      const o0 = itemOps[i]!;
      const o1 = itemOps[i + 1]!;
      for (let o = o0; o < o1; o++) {
        const n = opNode[o]!;
        if (n < 0 || opFlags[o]! & OP_DEF) continue;
        if (killed[n] !== b && seen[n] !== b) {
          seen[n] = b;
          record(ueHead, n, b);
        }
      }
      for (let o = o0; o < o1; o++) {
        const n = opNode[o]!;
        if (n < 0 || !(opFlags[o]! & OP_DEF) || killed[n] === b) continue;
        killed[n] = b;
        record(killHead, n, b);
      }
      if (itemKind[i] === ITEM_INST) {
        for (const c of clobbers[itemOrigin[i]!]!) {
          if (killed[c] === b) continue;
          killed[c] = b;
          record(killHead, c, b);
        }
      }
    }
  }
  const pairBlock = new IntVec(Math.max(16, 2 * B));
  const pairNode = new IntVec(Math.max(16, 2 * B));
  const defMark = int32s(B, -1);
  const inMark = int32s(B, -1);
  const outMark = int32s(B, -1);
  const work: number[] = [];
  for (let n = 0; n < N; n++) {
    if (ueHead[n] === -1) continue;
    for (let e = killHead[n]!; e >= 0; e = link.data[e]!) defMark[linkBlock.data[e]!] = n;
    for (let e = ueHead[n]!; e >= 0; e = link.data[e]!) {
      const b = linkBlock.data[e]!;
      inMark[b] = n;
      work.push(b);
    }
    while (work.length > 0) {
      const b = work.pop()!;
      for (const p of prog.preds[b]!) {
        if (outMark[p] !== n) {
          outMark[p] = n;
          pairBlock.push(p);
          pairNode.push(n);
        }
        if (defMark[p] !== n && inMark[p] !== n) {
          inMark[p] = n;
          work.push(p);
        }
      }
    }
  }
  const start = int32s(B + 1);
  const pairs = pairBlock.length;
  for (let k = 0; k < pairs; k++) start[pairBlock.data[k]! + 1]!++;
  for (let b = 0; b < B; b++) start[b + 1]! += start[b]!;
  const nodes = int32s(pairs);
  const next = outMark; // reused: where block b's next node goes
  for (let b = 0; b < B; b++) next[b] = start[b]!;
  for (let k = 0; k < pairs; k++) nodes[next[pairBlock.data[k]!]!++] = pairNode.data[k]!;
  return { start, nodes };
}

/**
 * The program's live-out sets ({@link liveOutSets}), computed on the first call and kept
 * for the spill rounds after it.
 */
export function programLiveOut(prog: Program): LiveOutSets {
  return (prog.liveOut ??= liveOutSets(prog));
}

/**
 * Live-out sets after a rewrite that spilled the nodes with `slotOf[n] >= 0`, in place:
 * those nodes no longer appear in the program, every other node keeps its operands (so its
 * liveness), and the temporaries the rewrite adds are defined and read within one block —
 * so the sets are the old ones without the spilled nodes (no liveness to recompute in a
 * spill round).
 */
function dropSpilled(live: LiveOutSets, slotOf: Int32Array): void {
  const { start, nodes } = live;
  let w = 0;
  let from = 0;
  for (let b = 0; b + 1 < start.length; b++) {
    const to = start[b + 1]!;
    start[b] = w;
    for (let k = from; k < to; k++) {
      const n = nodes[k]!;
      if (!(n < slotOf.length && slotOf[n]! >= 0)) nodes[w++] = n;
    }
    from = to;
  }
  start[start.length - 1] = w;
  live.nodes = nodes.subarray(0, w);
}

/**
 * Rewrites the program so that no spilled node is a register operand any more;
 * `slotOf[n]` is the (virtual) spill slot of spilled node n, -1 for the others.
 *
 * In place: a first sweep counts the items, operands and temporaries the rewrite adds (each
 * added item, a reload or a store, has one operand), the vectors grow once to the new sizes,
 * and a second sweep from the end moves every item to its new position — an item never
 * moves down, so nothing is overwritten before it is read. A run of items that touch no
 * spilled node moves as a block (`copyWithin`), and the items before the first one touched
 * stay where they are. The spill rounds of a huge function then make no copy of the program
 * (V8 answers each 64 MB of typed arrays with a full collection).
 */
export function rewriteSpills(prog: Program, slotOf: Int32Array): void {
  const spilled = (n: number): boolean => n >= 0 && n < slotOf.length && slotOf[n]! >= 0;
  const { numItems, itemKind, itemCopy } = prog;
  let { itemOps, opNode, opSlot, opFlags } = prog;
  const touches = (i: number): boolean => {
    for (let o = itemOps[i]!; o < itemOps[i + 1]!; o++) if (spilled(opNode[o]!)) return true;
    return false;
  };
  // The operands of the item being rewritten (read before its new items overwrite them).
  const nodes: number[] = [];
  const slots: number[] = [];
  const flags: number[] = [];
  let n = 0;
  const readOps = (o0: number, o1: number): void => {
    n = o1 - o0;
    for (let k = 0; k < n; k++) {
      nodes[k] = opNode[o0 + k]!;
      slots[k] = opSlot[o0 + k]!;
      flags[k] = opFlags[o0 + k]!;
    }
  };
  // Its spilled nodes in the order of their first operand (the order of their temporaries),
  // and whether it reads and writes each.
  const tempNode: number[] = [];
  const reads: boolean[] = [];
  const writes: boolean[] = [];
  let nTemps = 0;
  let nReads = 0;
  let nWrites = 0;
  const collectTemps = (): void => {
    nTemps = nReads = nWrites = 0;
    for (let j = 0; j < n; j++) {
      const x = nodes[j]!;
      if (!spilled(x)) continue;
      let k = 0;
      while (k < nTemps && tempNode[k] !== x) k++;
      if (k === nTemps) {
        tempNode[nTemps++] = x;
        reads[k] = writes[k] = false;
      }
      if (flags[j]! & OP_DEF) writes[k] = true;
      else reads[k] = true;
    }
    for (let k = 0; k < nTemps; k++) {
      if (reads[k]) nReads++;
      if (writes[k]) nWrites++;
    }
  };
  const tempOf = (x: number): number => {
    let k = 0;
    while (tempNode[k] !== x) k++;
    return k;
  };
  // A copy's ends once spilled nodes are their slots.
  let srcNode = 0;
  let srcSlot = 0;
  let dstNode = 0;
  let dstSlot = 0;
  const copyEnds = (): boolean => {
    [srcNode, srcSlot, dstNode, dstSlot] = [nodes[0]!, slots[0]!, nodes[1]!, slots[1]!];
    if (spilled(srcNode)) [srcSlot, srcNode] = [slotOf[srcNode]!, -1];
    if (spilled(dstNode)) [dstSlot, dstNode] = [slotOf[dstNode]!, -1];
    // Between two different slots: through a temporary.
    return srcSlot >= 0 && dstSlot >= 0 && srcSlot !== dstSlot;
  };

  // Sweep 1: what the rewrite adds, and the first item it touches.
  let added = 0;
  let temps = 0;
  let firstTouched = numItems;
  for (let i = 0; i < numItems; i++) {
    if (!touches(i)) continue;
    if (firstTouched === numItems) firstTouched = i;
    const kind = itemKind[i]!;
    if (kind === ITEM_RELOAD || kind === ITEM_SPILL) throw new Error("regalloc: a spill temporary was spilled");
    readOps(itemOps[i]!, itemOps[i + 1]!);
    if (itemCopy[i]) {
      if (copyEnds()) (added++, temps++);
      continue;
    }
    collectTemps();
    temps += nTemps;
    added += nReads + nWrites;
  }
  const firstTemp = prog.numNodes;
  prog.numNodes += temps;
  const noSpill = uint8s(prog.numNodes);
  noSpill.set(prog.noSpill);
  noSpill.fill(1, firstTemp);
  prog.noSpill = noSpill;
  if (prog.liveOut) dropSpilled(prog.liveOut, slotOf);
  if (firstTouched === numItems) return;

  // Grow the vectors once (a program built without them gets its own).
  const numOps = opNode.length;
  const w = (prog.vectors ??= { current: ItemWriter.adopt(prog) }).current;
  w.resize(numItems + added, numOps + added);
  w.install(prog);
  ({ itemOps, opNode, opSlot, opFlags } = prog);
  const { itemOrigin, itemPos, itemSlot, blockStart } = prog;
  const kinds = prog.itemKind;
  const copies = prog.itemCopy;
  itemOps[numItems + added] = numOps + added;
  const put = (at: number, o: number, kind: number, origin: number, pos: number, copy: number, slot: number): void => {
    kinds[at] = kind;
    itemOrigin[at] = origin;
    itemPos[at] = pos;
    copies[at] = copy;
    itemSlot[at] = slot;
    itemOps[at] = o;
  };
  const putOp = (at: number, node: number, slot: number, f: number): void => {
    opNode[at] = node;
    opSlot[at] = slot;
    opFlags[at] = f;
  };

  // Sweep 2, from the end: the items and operands from wi and wo on are placed; oEnd is where
  // the operands of the item after i began before the rewrite. Every item moves up by what
  // the rewrite adds before it (each added item has one operand: operands move as much).
  let wi = numItems + added;
  let wo = numOps + added;
  let oEnd = numOps;
  let nextTemp = firstTemp + temps;
  let end = numItems; // where block b ended before the rewrite
  for (let b = prog.numBlocks - 1; b >= 0 && end > firstTouched; b--) {
    const first = blockStart[b]!;
    blockStart[b + 1] = wi;
    const low = Math.max(first, firstTouched);
    let i = end - 1;
    while (i >= low) {
      if (!touches(i)) {
        // A run j..i of untouched items: moved as a block.
        let j = i;
        while (j > low && !touches(j - 1)) j--;
        const d = wi - (i + 1);
        const o0 = itemOps[j]!;
        if (i - j < 16) {
          for (let k = i; k >= j; k--) put(k + d, itemOps[k]! + d, kinds[k]!, itemOrigin[k]!, itemPos[k]!, copies[k]!, itemSlot[k]!);
          for (let o = oEnd - 1; o >= o0; o--) putOp(o + d, opNode[o]!, opSlot[o]!, opFlags[o]!);
        } else {
          for (let k = i; k >= j; k--) itemOps[k + d] = itemOps[k]! + d;
          kinds.copyWithin(j + d, j, i + 1);
          itemOrigin.copyWithin(j + d, j, i + 1);
          itemPos.copyWithin(j + d, j, i + 1);
          copies.copyWithin(j + d, j, i + 1);
          itemSlot.copyWithin(j + d, j, i + 1);
          opNode.copyWithin(o0 + d, o0, oEnd);
          opSlot.copyWithin(o0 + d, o0, oEnd);
          opFlags.copyWithin(o0 + d, o0, oEnd);
        }
        wi = j + d;
        wo = o0 + d;
        oEnd = o0;
        i = j - 1;
        continue;
      }
      const kind = kinds[i]!;
      const origin = itemOrigin[i]!;
      const pos = itemPos[i]!;
      const o0 = itemOps[i]!;
      readOps(o0, oEnd);
      const before = pos === POS_INST ? POS_BEFORE : pos;
      const afterPos = pos === POS_INST ? POS_AFTER : pos;
      if (copies[i]) {
        // Copies read or write the slot directly.
        const viaTemp = copyEnds();
        wi -= viaTemp ? 2 : 1;
        wo -= viaTemp ? 3 : 2;
        let at = wi;
        let o = wo;
        if (viaTemp) {
          const t = --nextTemp;
          put(at++, o, ITEM_RELOAD, origin, before, 0, srcSlot);
          putOp(o++, t, -1, OP_DEF);
          [srcSlot, srcNode] = [-1, t];
        }
        put(at, o, kind, origin, pos, 1, -1);
        putOp(o, srcNode, srcSlot, flags[0]!);
        putOp(o + 1, dstNode, dstSlot, flags[1]!);
      } else {
        // A fresh temporary per spilled node, reloaded before and stored after.
        collectTemps();
        const base = (nextTemp -= nTemps);
        wi -= nReads + 1 + nWrites;
        wo -= nReads + n + nWrites;
        let at = wi;
        let o = wo;
        for (let k = 0; k < nTemps; k++) {
          if (!reads[k]) continue;
          put(at++, o, ITEM_RELOAD, origin, before, 0, slotOf[tempNode[k]!]!);
          putOp(o++, base + k, -1, OP_DEF);
        }
        put(at++, o, kind, origin, pos, 0, -1);
        for (let j = 0; j < n; j++) putOp(o++, spilled(nodes[j]!) ? base + tempOf(nodes[j]!) : nodes[j]!, slots[j]!, flags[j]!);
        for (let k = 0; k < nTemps; k++) {
          if (!writes[k]) continue;
          put(at++, o, ITEM_SPILL, origin, afterPos, 0, slotOf[tempNode[k]!]!);
          putOp(o++, base + k, -1, 0);
        }
      }
      oEnd = o0;
      i--;
    }
    end = first;
  }
}
