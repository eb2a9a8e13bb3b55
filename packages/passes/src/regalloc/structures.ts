/**
 * Compact data structures of the register allocator, chosen so that every operation the
 * allocator repeats per instruction or per edge is O(1) and allocation-free, and memory
 * stays a few typed arrays even for million-instruction functions:
 *
 * - {@link IntVec}: a growable `Int32Array` (amortised O(1) push);
 * - {@link PairSet}: a set of unordered pairs of small integers (interference edges),
 *   open addressing with linear probing (Knuth, TAOCP vol. 3, 6.4), kept at most half
 *   full, so a membership test is a couple of probes;
 * - {@link SparseSet}: a set over `0..n-1` with O(1) add, delete, clear and iteration over
 *   its members (Briggs & Torczon, "An Efficient Representation for Sparse Sets", 1993);
 * - {@link ScoreHeap}: a binary min-heap of (score, id) pairs, ties broken by id.
 */

import { int32s } from "./scratch.js";

/** A growable array of 32-bit integers. */
export class IntVec {
  data: Int32Array;
  length = 0;
  constructor(capacity = 16) {
    this.data = int32s(Math.max(capacity, 4));
  }
  push(x: number): number {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length] = x;
    return this.length++;
  }
  /** Makes room for `n` entries in total (contents kept). */
  grow(n: number): void {
    if (n <= this.data.length) return;
    let c = this.data.length * 2;
    while (c < n) c *= 2;
    const d = int32s(c);
    d.set(this.data.subarray(0, this.length));
    this.data = d;
  }
  /** Empties the vector, keeping its storage. */
  clear(): void {
    this.length = 0;
  }
  get(i: number): number {
    return this.data[i]!;
  }
  set(i: number, x: number): void {
    this.data[i] = x;
  }
  /** The entries as a fresh, exactly sized array. */
  toArray(): Int32Array {
    return this.data.slice(0, this.length);
  }
  /**
   * The entries as a view of the vector's storage (no copy: a huge copy costs time, and
   * V8 answers a burst of large typed-array allocations with full collections). The
   * vector must not be written afterwards.
   */
  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

/** Grows a typed array to at least `n` entries, filling new entries with `fill`. */
export function growInt32(a: Int32Array, n: number, fill = 0): Int32Array {
  if (n <= a.length) return a;
  let c = Math.max(a.length * 2, 16);
  while (c < n) c *= 2;
  const b = int32s(c);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}

/** A set of unordered pairs `{u, v}` of non-negative integers below 2^31. */
export class PairSet {
  private lo: Int32Array;
  private hi: Int32Array;
  private mask: number;
  size = 0;
  constructor(expected = 16) {
    let c = 16;
    while (c < expected * 2) c *= 2;
    this.lo = int32s(c, -1);
    this.hi = int32s(c);
    this.mask = c - 1;
  }
  private static hash(a: number, b: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    return Math.imul(h, 0x2c1b3c6d);
  }
  has(u: number, v: number): boolean {
    const a = u < v ? u : v;
    const b = u < v ? v : u;
    const lo = this.lo;
    for (let i = PairSet.hash(a, b) & this.mask; ; i = (i + 1) & this.mask) {
      const x = lo[i]!;
      if (x === -1) return false;
      if (x === a && this.hi[i] === b) return true;
    }
  }
  /** Adds the pair; returns false when it was already there. */
  add(u: number, v: number): boolean {
    const a = u < v ? u : v;
    const b = u < v ? v : u;
    const lo = this.lo;
    let i = PairSet.hash(a, b) & this.mask;
    for (; ; i = (i + 1) & this.mask) {
      const x = lo[i]!;
      if (x === -1) break;
      if (x === a && this.hi[i] === b) return false;
    }
    lo[i] = a;
    this.hi[i] = b;
    if (++this.size * 2 > this.mask) this.rehash();
    return true;
  }
  private rehash(): void {
    const oldLo = this.lo;
    const oldHi = this.hi;
    const c = oldLo.length * 2;
    this.lo = int32s(c, -1);
    this.hi = int32s(c);
    this.mask = c - 1;
    for (let j = 0; j < oldLo.length; j++) {
      const a = oldLo[j]!;
      if (a === -1) continue;
      const b = oldHi[j]!;
      let i = PairSet.hash(a, b) & this.mask;
      while (this.lo[i] !== -1) i = (i + 1) & this.mask;
      this.lo[i] = a;
      this.hi[i] = b;
    }
  }
}

/** A set over `0..capacity-1`: members in `dense[0..size-1]` (insertion order until a delete). */
export class SparseSet {
  dense: Int32Array;
  private sparse: Int32Array;
  size = 0;
  constructor(capacity: number) {
    this.dense = int32s(Math.max(capacity, 1));
    this.sparse = int32s(Math.max(capacity, 1));
  }
  /** Makes room for members below `capacity` (the set keeps its members). */
  ensure(capacity: number): void {
    if (capacity <= this.sparse.length) return;
    const c = Math.max(capacity, this.sparse.length * 2);
    const d = int32s(c);
    d.set(this.dense.subarray(0, this.size));
    this.dense = d;
    const s = int32s(c);
    s.set(this.sparse);
    this.sparse = s;
  }
  has(x: number): boolean {
    const i = this.sparse[x]!;
    return i < this.size && this.dense[i] === x;
  }
  add(x: number): void {
    if (this.has(x)) return;
    this.sparse[x] = this.size;
    this.dense[this.size++] = x;
  }
  /** Removes `x`, moving the last member into its place. */
  delete(x: number): void {
    if (!this.has(x)) return;
    const i = this.sparse[x]!;
    const last = this.dense[--this.size]!;
    this.dense[i] = last;
    this.sparse[last] = i;
  }
  clear(): void {
    this.size = 0;
  }
}

/** A binary min-heap of ids ordered by a score given at insertion (ties: smaller id first). */
export class ScoreHeap {
  private ids: number[] = [];
  private scores: number[] = [];
  get size(): number {
    return this.ids.length;
  }
  private less(i: number, j: number): boolean {
    const a = this.scores[i]!;
    const b = this.scores[j]!;
    return a < b || (a === b && this.ids[i]! < this.ids[j]!);
  }
  private swap(i: number, j: number): void {
    const id = this.ids[i]!;
    this.ids[i] = this.ids[j]!;
    this.ids[j] = id;
    const s = this.scores[i]!;
    this.scores[i] = this.scores[j]!;
    this.scores[j] = s;
  }
  push(id: number, score: number): void {
    this.ids.push(id);
    this.scores.push(score);
    for (let i = this.ids.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  /** The score of the minimum (call only when non-empty). */
  peekScore(): number {
    return this.scores[0]!;
  }
  /** Removes and returns the id of the minimum (call only when non-empty). */
  pop(): number {
    const top = this.ids[0]!;
    const lastId = this.ids.pop()!;
    const lastScore = this.scores.pop()!;
    if (this.ids.length > 0) {
      this.ids[0] = lastId;
      this.scores[0] = lastScore;
      const n = this.ids.length;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const c = l + 1 < n && this.less(l + 1, l) ? l + 1 : l;
        if (!this.less(c, i)) break;
        this.swap(c, i);
        i = c;
      }
    }
    return top;
  }
}

/**
 * Many singly linked lists of integers sharing one pool of entries: list `l` holds
 * `valueOf(e)` for `e = head[l]`, `nextOf(e)`, ... until -1, in insertion order. Appending
 * and splicing one list onto another are O(1). Used for adjacency lists and move lists.
 */
export class LinkedLists {
  head: Int32Array;
  tail: Int32Array;
  private readonly next: IntVec;
  private readonly value: IntVec;
  /** `capacity`: the entries expected in all lists together (they grow past it). */
  constructor(numLists: number, capacity = 64) {
    this.head = int32s(Math.max(numLists, 1), -1);
    this.tail = int32s(Math.max(numLists, 1), -1);
    this.next = new IntVec(capacity);
    this.value = new IntVec(capacity);
  }
  nextOf(e: number): number {
    return this.next.data[e]!;
  }
  valueOf(e: number): number {
    return this.value.data[e]!;
  }
  append(list: number, v: number): void {
    const e = this.value.push(v);
    this.next.push(-1);
    const t = this.tail[list]!;
    if (t < 0) this.head[list] = e;
    else this.next.data[t] = e;
    this.tail[list] = e;
  }
  /** Moves every entry of `src` to the end of `dst`. */
  splice(dst: number, src: number): void {
    const h = this.head[src]!;
    if (h < 0) return;
    const t = this.tail[dst]!;
    if (t < 0) this.head[dst] = h;
    else this.next.data[t] = h;
    this.tail[dst] = this.tail[src]!;
    this.head[src] = this.tail[src] = -1;
  }
  /** Unlinks entry `e` of `list`, whose predecessor in the list is `prev` (-1 for the head). */
  unlink(list: number, prev: number, e: number): void {
    const n = this.next.data[e]!;
    if (prev < 0) this.head[list] = n;
    else this.next.data[prev] = n;
    if (this.tail[list] === e) this.tail[list] = prev;
  }
}
