/**
 * The SSA builder's definitions (ssa.ts's `currentDef`): the value of variable `v` at the
 * end of block `b`, for every pair the builder has written. One open-addressing hash table
 * (linear probing, at most half full) keyed by the pair: the keys in a typed array, the
 * values in one array beside it. Entries are set and overwritten, never removed.
 *
 * Why not a short list per block (what it replaced): a read walks back through the blocks
 * and records its value in each, so at scale every block holds a few variables — at 100k
 * IR instructions of `branches` ~40k lists of 4 pairs, ~8 MB, 14 % of the heap while a
 * function is lowered, each list a young object the collector copied twice (to the
 * survivor space, then to the old generation). Here the keys are outside V8's heap and the
 * values sit in one array, which the collector copies at most a few times as it grows and
 * not at all once it is large.
 */
export class DefTable<V> {
  /** Two per slot: block id + 1 (0: the slot is empty), variable. */
  private keys: Int32Array;
  private values: (V | undefined)[];
  /** Slots - 1 (a power of two, minus one). */
  private mask: number;
  private count = 0;

  /** `slots`: the initial capacity, a power of two. */
  constructor(slots = 32) {
    this.keys = new Int32Array(2 * slots);
    this.values = new Array<V | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
  }

  /** The value of `variable` in block `block`, if any was set. */
  get(block: number, variable: number): V | undefined {
    const keys = this.keys;
    const mask = this.mask;
    const b = block + 1;
    for (let i = slotOf(block, variable) & mask; ; i = (i + 1) & mask) {
      const k = keys[2 * i]!;
      if (k === b && keys[2 * i + 1] === variable) return this.values[i];
      if (k === 0) return undefined;
    }
  }

  /** Sets (or overwrites) the value of `variable` in block `block`. */
  set(block: number, variable: number, value: V): void {
    const keys = this.keys;
    const mask = this.mask;
    const b = block + 1;
    for (let i = slotOf(block, variable) & mask; ; i = (i + 1) & mask) {
      const k = keys[2 * i]!;
      if (k === b && keys[2 * i + 1] === variable) {
        this.values[i] = value;
        return;
      }
      if (k === 0) {
        keys[2 * i] = b;
        keys[2 * i + 1] = variable;
        this.values[i] = value;
        if (2 * ++this.count > mask + 1) this.grow();
        return;
      }
    }
  }

  /** Doubles the slots and places every entry again. */
  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const slots = 2 * (this.mask + 1);
    const keys = new Int32Array(2 * slots);
    const values = new Array<V | undefined>(slots).fill(undefined);
    const mask = slots - 1;
    for (let j = 0; j < oldValues.length; j++) {
      const b = oldKeys[2 * j]!;
      if (b === 0) continue;
      const variable = oldKeys[2 * j + 1]!;
      let i = slotOf(b - 1, variable) & mask;
      while (keys[2 * i] !== 0) i = (i + 1) & mask;
      keys[2 * i] = b;
      keys[2 * i + 1] = variable;
      values[i] = oldValues[j];
    }
    this.keys = keys;
    this.values = values;
    this.mask = mask;
  }
}

/** A well-mixed 32-bit hash of the pair (the low bits index the slots). */
function slotOf(block: number, variable: number): number {
  let h = Math.imul(block, 0x9e3779b1) ^ Math.imul(variable + 1, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}
