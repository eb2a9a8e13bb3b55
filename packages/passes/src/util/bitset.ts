/**
 * A fixed-capacity bit set over dense ids (value ids, block ids), stored as 32-bit words.
 *
 * Analyses index by id (STYLE.md), so sets of values are bit sets rather than `Set<Value>`:
 * union, difference and equality are word loops, O(capacity / 32).
 */
export class BitSet {
  readonly words: Uint32Array;

  constructor(
    /** Ids range over `[0, capacity)`. */
    readonly capacity: number,
    words?: Uint32Array,
  ) {
    this.words = words ?? new Uint32Array((capacity + 31) >>> 5);
  }

  has(i: number): boolean {
    return i < this.capacity && (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }
  add(i: number): this {
    this.words[i >>> 5]! |= 1 << (i & 31);
    return this;
  }
  delete(i: number): this {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
    return this;
  }
  clone(): BitSet {
    return new BitSet(this.capacity, this.words.slice());
  }
  /** `this ∪= other`; returns whether `this` changed. */
  unionWith(other: BitSet): boolean {
    let changed = false;
    const a = this.words;
    const b = other.words;
    for (let k = 0; k < a.length; k++) {
      const w = a[k]! | b[k]!;
      if (w !== a[k]) {
        a[k] = w;
        changed = true;
      }
    }
    return changed;
  }
  /** `this −= other`. */
  subtract(other: BitSet): this {
    const a = this.words;
    const b = other.words;
    for (let k = 0; k < a.length; k++) a[k] = a[k]! & ~b[k]!;
    return this;
  }
  equals(other: BitSet): boolean {
    if (this.capacity !== other.capacity) return false;
    for (let k = 0; k < this.words.length; k++) if (this.words[k] !== other.words[k]) return false;
    return true;
  }
  get size(): number {
    let n = 0;
    for (let w of this.words) {
      while (w !== 0) {
        w &= w - 1;
        n++;
      }
    }
    return n;
  }
  /** Members in increasing order. */
  *[Symbol.iterator](): IterableIterator<number> {
    const words = this.words;
    for (let k = 0; k < words.length; k++) {
      let w = words[k]!;
      while (w !== 0) {
        const bit = 31 - Math.clz32(w & -w);
        yield (k << 5) + bit;
        w &= w - 1;
      }
    }
  }
  toArray(): number[] {
    return [...this];
  }
}
