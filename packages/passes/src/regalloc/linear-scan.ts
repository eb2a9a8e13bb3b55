/**
 * Linear-scan colouring (Poletto & Sarkar, "Linear Scan Register Allocation", TOPLAS 21(5),
 * 1999) for huge functions: the allocator's round of colouring without an interference
 * graph. It plugs into the same spill loop as iterated register coalescing (`allocate.ts`:
 * lower constraints, colour, rewrite the spilled nodes to spill slots, colour again), so the
 * constraint lowering (`program.ts`), spill code and spill-slot sharing are the same.
 *
 * Each virtual node gets one live interval: the hull of every point where it is defined,
 * used or live across a block boundary (the blocks laid out in order; a node live out of a
 * block covers that block's end and its successors' starts, so a value live around a loop
 * covers the whole loop). A hull contains every point where the node is live, so nodes
 * whose hulls do not overlap never interfere and the colouring is valid; holes are given
 * away, which costs registers, not correctness. Points: item i reads its uses at 4i,
 * destroys its clobbers at 4i+1 and writes its defs at 4i+2 (early defs at 4i, before the
 * uses are read): a def may take the register of a value last read by the same item, and a
 * value live across an item avoids its clobbers, as in `irc.ts`'s interference.
 *
 * Physical registers are not allocated but busy: each has a sorted list of the segments in
 * which it holds a value (from a def or clobber to its last use, found by a backward walk
 * over each block with the registers' liveness) or is destroyed (a clobber, a dead def),
 * and a node may take a register only if no segment of it meets the node's interval.
 *
 * Intervals are visited by start (ties: node number). A node takes the register of a copy
 * partner when that one is free (so most constraint moves and phi copies vanish, as
 * coalescing would make them), else the first free register in the target's order. When
 * none is free, the interval reaching furthest among the node and the values holding a
 * register the node could use is spilled (Poletto & Sarkar's heuristic); spill temporaries
 * are never spilled. There is no coalescing and no move bias beyond the partner's register.
 *
 * Cost: liveness by variable (linear, `program.ts`), one pass over the operands, a sort of
 * the intervals (a radix sort, linear) and, per interval, a binary search in the segments of each
 * candidate register: O(items + n) with no per-edge term, where graph colouring's
 * build is proportional to the interference edges (~30 per instruction when many values
 * are live) and is repeated in each round.
 */
import type { RegAllocTarget } from "./interface.js";
import type { ColouringResult } from "./irc.js";
import { ITEM_INST, OP_DEF, OP_EARLY, programLiveOut, type LiveOutSets, type Node, type Program } from "./program.js";
import { IntVec, LinkedLists } from "./structures.js";
import { int32s, uint8s } from "./scratch.js";

/** Point offsets within an item (see the file comment). */
const AT_USE = 0;
const AT_CLOBBER = 1;
const AT_DEF = 2;
const POINTS_PER_ITEM = 4;

/** The busy segments of one physical register, sorted by start, with the running maximum of their ends. */
interface Segments {
  starts: Int32Array;
  maxEnds: Int32Array;
}

/**
 * Colours `prog` by linear scan over live-interval hulls. Same result shape as
 * `colourGraph`: a colour per node (-1 for spilled or absent nodes) and the spilled
 * nodes, each alone (`members: [node]`); `coalesced` is 0 (no coalescing: copies whose ends
 * got one register are dropped later and counted as removed).
 */
export function colourLinearScan(prog: Program, target: RegAllocTarget): ColouringResult {
  const N = prog.numNodes;
  const P = prog.numRegs;
  const { itemOps, opNode, opFlags, blockStart } = prog;
  const blockFirst = (b: number): number => POINTS_PER_ITEM * blockStart[b]!;
  const blockLast = (b: number): number => POINTS_PER_ITEM * blockStart[b + 1]! - 1;

  // Interval hulls of the virtual nodes, and copy partners (for the register hint).
  const start = int32s(N, 0x7fffffff);
  const end = int32s(N, -1);
  let copies = 0;
  for (let i = 0; i < prog.numItems; i++) if (prog.itemCopy[i]) copies++;
  const partners = new LinkedLists(N, 2 * copies);
  const cover = (n: Node, p: number): void => {
    if (p < start[n]!) start[n] = p;
    if (p > end[n]!) end[n] = p;
  };
  for (let i = 0; i < prog.numItems; i++) {
    const o0 = itemOps[i]!;
    const o1 = itemOps[i + 1]!;
    const base = POINTS_PER_ITEM * i;
    for (let o = o0; o < o1; o++) {
      const n = opNode[o]!;
      if (n < P) continue; // a physical register, or a spill slot (-1)
      const f = opFlags[o]!;
      cover(n, f & OP_DEF ? base + (f & OP_EARLY ? AT_USE : AT_DEF) : base + AT_USE);
    }
    if (prog.itemCopy[i] && o1 - o0 === 2) {
      const src = opNode[o0]!;
      const dst = opNode[o0 + 1]!;
      if (src >= 0 && dst >= 0 && src !== dst) {
        if (dst >= P) partners.append(dst, src);
        if (src >= P) partners.append(src, dst);
      }
    }
  }
  const liveOut = programLiveOut(prog);
  for (let b = 0; b < prog.numBlocks; b++) {
    const last = blockLast(b);
    for (let k = liveOut.start[b]!; k < liveOut.start[b + 1]!; k++) {
      const n = liveOut.nodes[k]!;
      if (n < P) continue;
      cover(n, last);
      for (const s of prog.succs[b]!) cover(n, blockFirst(s));
    }
  }

  const busy = physicalSegments(prog, liveOut);
  const isBusy = (r: number, s: number, e: number): boolean => {
    const { starts, maxEnds } = busy[r]!;
    // The last segment starting at or before e; any segment up to it ending at or after s meets [s, e].
    let lo = 0;
    let hi = starts.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! <= e) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return at >= 0 && maxEnds[at]! >= s;
  };

  const order = intervalOrder(start, end, P, N, prog.numItems);
  const count = order.length;

  const colour = int32s(N, -1);
  for (let p = 0; p < P; p++) colour[p] = p;
  const isAllocatable = uint8s(P);
  for (const r of target.allocatable) isAllocatable[r] = 1;
  const holder = int32s(P, -1);
  const holderEnd = int32s(P, -1);
  const spilled: Node[] = [];
  /** Register r is free for [s, e]: allocatable, its holder's interval over, no busy segment in it. */
  const free = (r: number, s: number, e: number): boolean => isAllocatable[r] === 1 && holderEnd[r]! < s && !isBusy(r, s, e);
  for (let k = 0; k < count; k++) {
    const n = order[k]!;
    const s = start[n]!;
    const e = end[n]!;
    let choice = -1;
    for (let x = partners.head[n]!; x >= 0 && choice < 0; x = partners.nextOf(x)) {
      const c = colour[partners.valueOf(x)]!;
      if (c >= 0 && free(c, s, e)) choice = c;
    }
    if (choice < 0) {
      for (const r of target.allocatable) {
        if (free(r, s, e)) {
          choice = r;
          break;
        }
      }
    }
    if (choice < 0) {
      // Spill the interval reaching furthest: n itself, or a holder of a register n could use.
      let victim = -1;
      for (const r of target.allocatable) {
        const h = holder[r]!;
        if (holderEnd[r]! < s || prog.noSpill[h] || isBusy(r, s, e)) continue;
        if (victim < 0 || holderEnd[r]! > holderEnd[victim]!) victim = r;
      }
      if (victim < 0 || (!prog.noSpill[n] && e >= holderEnd[victim]!)) {
        spilled.push(n);
        continue;
      }
      const h = holder[victim]!;
      colour[h] = -1;
      spilled.push(h);
      choice = victim;
    }
    colour[n] = choice;
    holder[choice] = n;
    holderEnd[choice] = e;
  }
  return { colour, spilled: spilled.map((node) => ({ node, members: [node] })), coalesced: 0 };
}

/**
 * The virtual nodes (`P` to `N - 1`) that have an interval (`end[n] >= 0`), by start
 * (`start[n]`, a point of one of `numItems` items), ties by node: a radix sort in two
 * stable counting passes, by the point within its item and then by the item, over the
 * nodes taken in increasing order. Linear in the nodes and items.
 */
export function intervalOrder(start: Int32Array, end: Int32Array, P: number, N: number, numItems: number): Int32Array {
  let count = 0;
  for (let n = P; n < N; n++) if (end[n]! >= 0) count++;
  // Pass 1: by point within the item (POINTS_PER_ITEM buckets).
  const byPoint = int32s(count);
  const offsets = int32s(POINTS_PER_ITEM + 1);
  for (let n = P; n < N; n++) if (end[n]! >= 0) offsets[(start[n]! % POINTS_PER_ITEM) + 1]!++;
  for (let p = 0; p < POINTS_PER_ITEM; p++) offsets[p + 1]! += offsets[p]!;
  for (let n = P; n < N; n++) if (end[n]! >= 0) byPoint[offsets[start[n]! % POINTS_PER_ITEM]!++] = n;
  // Pass 2: by item (points run to the item after the last: a block's end is covered there).
  const items = numItems + 2;
  const itemOffsets = int32s(items + 1);
  for (let k = 0; k < count; k++) itemOffsets[Math.floor(start[byPoint[k]!]! / POINTS_PER_ITEM) + 1]!++;
  for (let i = 0; i < items; i++) itemOffsets[i + 1]! += itemOffsets[i]!;
  const order = int32s(count);
  for (let k = 0; k < count; k++) {
    const n = byPoint[k]!;
    order[itemOffsets[Math.floor(start[n]! / POINTS_PER_ITEM)]!++] = n;
  }
  return order;
}

/**
 * The segments in which each physical register is busy: holding a value (from its def, or
 * the block's start when live in, to its last use, or the block's end when live out) or
 * being written (a clobber; a def nobody reads). A backward walk over each block.
 */
function physicalSegments(prog: Program, liveOut: LiveOutSets): Segments[] {
  const P = prog.numRegs;
  const { itemOps, opNode, opFlags, itemKind, itemOrigin, clobbers, blockStart } = prog;
  const segStart: IntVec[] = Array.from({ length: P }, () => new IntVec(16));
  const segEnd: IntVec[] = Array.from({ length: P }, () => new IntVec(16));
  const liveUntil = int32s(P, -1); // -1: not live
  const written = (p: number, at: number): void => {
    segStart[p]!.push(at);
    segEnd[p]!.push(liveUntil[p]! >= 0 ? liveUntil[p]! : at);
    liveUntil[p] = -1;
  };
  // Per register: the [from, to) ranges of its segments found in one block.
  const blockMarks: IntVec[] = Array.from({ length: P }, () => new IntVec(16));
  const first = int32s(P);
  for (let b = 0; b < prog.numBlocks; b++) {
    for (let p = 0; p < P; p++) first[p] = segStart[p]!.length;
    liveUntil.fill(-1);
    const last = POINTS_PER_ITEM * blockStart[b + 1]! - 1;
    for (let k = liveOut.start[b]!; k < liveOut.start[b + 1]!; k++) {
      const n = liveOut.nodes[k]!;
      if (n < P) liveUntil[n] = last;
    }
    for (let i = blockStart[b + 1]! - 1; i >= blockStart[b]!; i--) {
      const base = POINTS_PER_ITEM * i;
      const o0 = itemOps[i]!;
      const o1 = itemOps[i + 1]!;
      for (let o = o0; o < o1; o++) {
        const p = opNode[o]!;
        if (p >= 0 && p < P && opFlags[o]! & OP_DEF) written(p, base + (opFlags[o]! & OP_EARLY ? AT_USE : AT_DEF));
      }
      if (itemKind[i] === ITEM_INST) for (const c of clobbers[itemOrigin[i]!]!) written(c, base + AT_CLOBBER);
      for (let o = o0; o < o1; o++) {
        const p = opNode[o]!;
        if (p >= 0 && p < P && !(opFlags[o]! & OP_DEF) && liveUntil[p]! < 0) liveUntil[p] = base + AT_USE;
      }
    }
    for (let p = 0; p < P; p++) {
      if (liveUntil[p]! >= 0) written(p, POINTS_PER_ITEM * blockStart[b]!);
      if (segStart[p]!.length - first[p]! > 1) {
        blockMarks[p]!.push(first[p]!);
        blockMarks[p]!.push(segStart[p]!.length);
      }
    }
  }
  return segStart.map((starts, p) => {
    const ends = segEnd[p]!;
    const marks = blockMarks[p]!;
    // Each block's segments were found backwards: reverse each block's run. (An item that
    // both early-defines and clobbers one register would leave a run unsorted: then sort.)
    for (let k = 0; k < marks.length; k += 2) reverseRun(starts, ends, marks.get(k), marks.get(k + 1));
    let sorted = true;
    for (let k = 1; k < starts.length && sorted; k++) if (starts.get(k - 1) > starts.get(k)) sorted = false;
    const order = Int32Array.from({ length: starts.length }, (_, k) => k);
    if (!sorted) order.sort((x, y) => starts.get(x) - starts.get(y) || ends.get(x) - ends.get(y));
    const s = int32s(order.length);
    const m = int32s(order.length);
    let max = -1;
    for (let j = 0; j < order.length; j++) {
      s[j] = starts.get(order[j]!);
      max = Math.max(max, ends.get(order[j]!));
      m[j] = max;
    }
    return { starts: s, maxEnds: m };
  });
}

/** Reverses entries `from .. to-1` of two parallel vectors. */
function reverseRun(a: IntVec, b: IntVec, from: number, to: number): void {
  for (let i = from, j = to - 1; i < j; i++, j--) {
    const x = a.get(i);
    a.set(i, a.get(j));
    a.set(j, x);
    const y = b.get(i);
    b.set(i, b.get(j));
    b.set(j, y);
  }
}
