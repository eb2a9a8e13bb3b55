/**
 * Spill-slot sharing: colours the virtual spill slots by interference, so that spilled
 * values whose lifetimes do not overlap share one 8-byte frame slot (the eBPF frame is
 * 512 bytes). A slot is live from a store (spill edit, or a copy into it) to its last
 * reload; two slots interfere when one is stored while the other is live. A copy from
 * slot a into slot b does not make them interfere (same value), and slots related by a
 * reload-then-store copy prefer the same colour. Greedy colouring in slot order, which
 * is deterministic; with so few slots an optimal colouring is not worth its cost.
 *
 * Slot liveness is computed one slot at a time, backwards from its upward-exposed reads
 * (as for registers in `program.ts`), and interference with a sparse live set, so the
 * cost is linear in the items plus the interference edges.
 */
import { ITEM_RELOAD, ITEM_SPILL, OP_DEF, type Program } from "./program.js";
import { IntVec, LinkedLists, SparseSet } from "./structures.js";
import { int32s } from "./scratch.js";

/** Returns the colour (final slot) of each virtual slot and the number of colours. */
export function colourSpillSlots(prog: Program): { slotColour: number[]; numSlots: number } {
  const S = prog.numSlots;
  if (S === 0) return { slotColour: [], numSlots: 0 };
  const B = prog.numBlocks;
  const { itemKind, itemSlot, itemOps, opSlot, opFlags } = prog;
  // Slots read (reloads, copies from a slot) and written (spills, copies into a slot) by item i.
  // (The first nReads and nWrites entries: counts, not `length = 0`, a slow call per item.)
  const reads: number[] = [];
  const writes: number[] = [];
  let nReads = 0;
  let nWrites = 0;
  const access = (i: number): void => {
    nReads = 0;
    nWrites = 0;
    if (itemKind[i] === ITEM_RELOAD) reads[nReads++] = itemSlot[i]!;
    if (itemKind[i] === ITEM_SPILL) writes[nWrites++] = itemSlot[i]!;
    for (let o = itemOps[i]!; o < itemOps[i + 1]!; o++) {
      const s = opSlot[o]!;
      if (s < 0) continue;
      if (opFlags[o]! & OP_DEF) writes[nWrites++] = s;
      else reads[nReads++] = s;
    }
  };

  // Upward-exposed reads and writes per slot, as linked lists of blocks.
  const ueHead = int32s(S, -1);
  const defHead = int32s(S, -1);
  // At most one entry per slot access: sized for them at once.
  let accesses = 64;
  for (let i = 0; i < prog.numItems; i++) if (itemKind[i] === ITEM_RELOAD || itemKind[i] === ITEM_SPILL) accesses++;
  for (let o = 0; o < opSlot.length; o++) if (opSlot[o]! >= 0) accesses++;
  const link = new IntVec(accesses);
  const linkBlock = new IntVec(accesses);
  const seen = int32s(S, -1);
  const written = int32s(S, -1);
  for (let b = 0; b < B; b++) {
    for (let i = prog.blockStart[b]!; i < prog.blockStart[b + 1]!; i++) {
      access(i);
      for (let x = 0; x < nReads; x++) {
        const s = reads[x]!;
        if (written[s] === b || seen[s] === b) continue;
        seen[s] = b;
        linkBlock.push(b);
        ueHead[s] = link.push(ueHead[s]!);
      }
      for (let x = 0; x < nWrites; x++) {
        const s = writes[x]!;
        if (written[s] === b) continue;
        written[s] = b;
        linkBlock.push(b);
        defHead[s] = link.push(defHead[s]!);
      }
    }
  }
  const liveOut: number[][] = Array.from({ length: B }, () => []);
  const defMark = int32s(B, -1);
  const inMark = int32s(B, -1);
  const outMark = int32s(B, -1);
  const work: number[] = [];
  for (let s = 0; s < S; s++) {
    for (let e = defHead[s]!; e >= 0; e = link.get(e)) defMark[linkBlock.get(e)] = s;
    for (let e = ueHead[s]!; e >= 0; e = link.get(e)) {
      const b = linkBlock.get(e);
      inMark[b] = s;
      work.push(b);
    }
    while (work.length > 0) {
      const b = work.pop()!;
      for (const p of prog.preds[b]!) {
        if (outMark[p] !== s) {
          outMark[p] = s;
          liveOut[p]!.push(s);
        }
        if (defMark[p] !== s && inMark[p] !== s) {
          inMark[p] = s;
          work.push(p);
        }
      }
    }
  }

  // Interference: a write interferes with every other slot live after it (a copy's own source
  // excepted). The greedy colouring below goes in slot order and only marks the colours of
  // the neighbours coloured before, so each edge is kept at its higher slot only, and a
  // neighbour listed twice changes nothing (no edge set is needed). The edges are found by
  // a sweep run twice, to count each slot's and then to place them (`lower[start[s]..]`):
  // arrays of their exact size, where lists grown by doubling made garbage in proportion to
  // the edges (millions in a huge function with many spilled values live at once).
  const start = int32s(S + 1);
  let lower: Int32Array | undefined;
  let next = start;
  const addEdge = (a: number, b: number): void => {
    if (a === b) return;
    const hi = a < b ? b : a;
    if (lower) lower[next[hi]!++] = a < b ? a : b;
    else start[hi + 1]!++;
  };
  const live = new SparseSet(S);
  const sweep = (): void => {
    for (let b = 0; b < B; b++) {
      live.clear();
      for (const s of liveOut[b]!) live.add(s);
      for (let i = prog.blockStart[b + 1]! - 1; i >= prog.blockStart[b]!; i--) {
        access(i);
        for (let x = 0; x < nWrites; x++) {
          const d = writes[x]!;
          for (let k = 0; k < live.size; k++) {
            const l = live.dense[k]!;
            let read = false;
            for (let y = 0; y < nReads; y++) if (reads[y] === l) read = true;
            if (l !== d && !read) addEdge(d, l);
          }
          live.delete(d);
        }
        for (let x = 0; x < nReads; x++) live.add(reads[x]!);
      }
      // Slots live into the entry (read on some path before any store) interfere with all.
      if (b === 0) for (let k = 0; k < live.size; k++) for (let t = 0; t < S; t++) addEdge(live.dense[k]!, t);
    }
  };
  sweep();
  for (let s = 0; s < S; s++) start[s + 1]! += start[s]!;
  lower = int32s(start[S]!);
  next = int32s(S);
  next.set(start.subarray(0, S));
  sweep();

  // Affinities: `reload t ← a; copy b ← t`.
  const affinity = new LinkedLists(S);
  const { opNode, itemCopy } = prog;
  for (let b = 0; b < B; b++) {
    for (let i = prog.blockStart[b]! + 1; i < prog.blockStart[b + 1]!; i++) {
      if (!itemCopy[i] || itemKind[i - 1] !== ITEM_RELOAD) continue;
      const o = itemOps[i]!;
      const dstSlot = opSlot[o + 1]!;
      const a = itemSlot[i - 1]!;
      if (dstSlot >= 0 && opNode[o] === opNode[itemOps[i - 1]!]) {
        affinity.append(dstSlot, a);
        affinity.append(a, dstSlot);
      }
    }
  }

  const slotColour: number[] = new Array<number>(S).fill(-1);
  const forbidden = int32s(S, -1);
  let numSlots = 0;
  for (let s = 0; s < S; s++) {
    for (let e = start[s]!; e < start[s + 1]!; e++) {
      const c = slotColour[lower[e]!]!;
      if (c >= 0) forbidden[c] = s;
    }
    let c = -1;
    for (let e = affinity.head[s]!; e >= 0; e = affinity.nextOf(e)) {
      const x = slotColour[affinity.valueOf(e)]!;
      if (x >= 0 && forbidden[x] !== s) {
        c = x;
        break;
      }
    }
    if (c < 0) for (c = 0; forbidden[c] === s; c++);
    slotColour[s] = c;
    numSlots = Math.max(numSlots, c + 1);
  }
  return { slotColour, numSlots };
}
