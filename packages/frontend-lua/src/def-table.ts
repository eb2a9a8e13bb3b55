/**
 * The SSA builder's definitions (ssa.ts's `currentDef`): the value of variable `v` at the
 * end of block `b`, for every pair the builder has written. Entries are set and
 * overwritten, never removed.
 *
 * Each block that defines anything gets a chunk of {@link CHUNK} slots, taken in the order
 * blocks are first written (the blocks a read walks through are the ones just made, so
 * their chunks sit together); a slot is a variable in a typed array and a value in a
 * page of values beside it. A block's variables past its chunk go to a hash table keyed by the
 * pair ({@link PairTable}), as a block defining many variables would otherwise be scanned.
 *
 * Why not a short list per block (what it replaced): a read walks back through the blocks
 * and records its value in each, so at scale every block holds a few variables — at 100k
 * IR instructions of `branches` ~40k lists of 4 pairs, ~8 MB, 14 % of the heap while a
 * function is lowered, each list a young object the collector copied twice (to the
 * survivor space, then to the old generation). Here the variables are outside V8's heap
 * (but for the first few) and the values sit in pages of a fixed size.
 */
export class DefTable<V> {
  /** By block id: 1 + the block's chunk (0: none yet). */
  private chunkOf = new Int32Array(16);
  /** By slot: 1 + the variable (0: the slot is free; a chunk's slots fill in order). */
  private variables = new Int32Array(4 * CHUNK);
  /**
   * By slot: the value, in pages of {@link PAGE} slots (each made at its size; one array
   * grown by `push` cost more than the rest of the table at scale).
   */
  private readonly pages: (V | undefined)[][] = [];
  private chunks = 0;
  /** The pairs of blocks whose chunk is full. */
  private overflow: PairTable<V> | undefined;

  /** The value of `variable` in block `block`, if any was set. */
  get(block: number, variable: number): V | undefined {
    if (block >= this.chunkOf.length) return undefined;
    const chunk = this.chunkOf[block]!;
    if (chunk === 0) return undefined;
    const variables = this.variables;
    const v = variable + 1;
    for (let slot = (chunk - 1) * CHUNK, end = slot + CHUNK; slot < end; slot++) {
      const w = variables[slot]!;
      if (w === v) return this.pages[slot >> PAGE_BITS]![slot & (PAGE - 1)];
      if (w === 0) return undefined;
    }
    return this.overflow?.get(block, variable);
  }

  /** Sets (or overwrites) the value of `variable` in block `block`. */
  set(block: number, variable: number, value: V): void {
    if (block >= this.chunkOf.length) {
      const grown = new Int32Array(Math.max(2 * this.chunkOf.length, block + 1));
      grown.set(this.chunkOf);
      this.chunkOf = grown;
    }
    let chunk = this.chunkOf[block]!;
    if (chunk === 0) chunk = this.chunkOf[block] = this.newChunk();
    const variables = this.variables;
    const v = variable + 1;
    for (let slot = (chunk - 1) * CHUNK, end = slot + CHUNK; slot < end; slot++) {
      const w = variables[slot]!;
      if (w === v || w === 0) {
        variables[slot] = v;
        this.pages[slot >> PAGE_BITS]![slot & (PAGE - 1)] = value;
        return;
      }
    }
    (this.overflow ??= new PairTable<V>()).set(block, variable, value);
  }

  /** 1 + a new chunk's index. */
  private newChunk(): number {
    const slot = this.chunks * CHUNK;
    if (slot + CHUNK > this.variables.length) {
      const grown = new Int32Array(2 * this.variables.length);
      grown.set(this.variables);
      this.variables = grown;
    }
    if ((slot & (PAGE - 1)) === 0) this.pages.push(new Array<V | undefined>(PAGE).fill(undefined));
    return ++this.chunks;
  }
}

/** Slots of a block's chunk: most blocks define a few variables (the bench shapes' 3–7). */
const CHUNK = 8;

/** Slots of a page of values (a power of two, a multiple of {@link CHUNK}). */
const PAGE_BITS = 8;
const PAGE = 1 << PAGE_BITS;

/**
 * A map from (block, variable) pairs to values: open addressing with linear probing, at
 * most half full; the keys in a typed array, the values in one array beside it.
 */
export class PairTable<V> {
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

/**
 * A table by non-negative integer id (a value or block id), `undefined` where nothing was
 * set, in pages of {@link PAGE} entries made as ids reach them. At scale a single array
 * grown to an id bound of hundreds of thousands cost ~50× the pages (V8 makes each larger
 * backing store in the young large-object space: 300k ids, ~100 ms against ~2 ms in a
 * micro-benchmark, whether grown by `push` or by doubling), and it was most of
 * `tryRemoveTrivialPhi` in a profile of 100k-IR `loops`.
 */
export class IdTable<V> {
  private readonly pages: (V | undefined)[][] = [];

  get(id: number): V | undefined {
    const k = id >> PAGE_BITS;
    return k < this.pages.length ? this.pages[k]![id & (PAGE - 1)] : undefined;
  }

  set(id: number, value: V | undefined): void {
    const k = id >> PAGE_BITS;
    const pages = this.pages;
    while (pages.length <= k) pages.push(new Array<V | undefined>(PAGE).fill(undefined));
    pages[k]![id & (PAGE - 1)] = value;
  }
}
