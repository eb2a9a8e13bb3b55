// The id-keyed tables of the verifier before the tenth session (main 615c6c3, ir/src/id-map.ts), for verify-reference.ts.
/**
 * Maps and sets keyed by values or blocks through their dense ids: an array slot per id,
 * the key itself stored beside the entry and compared by identity, and an ordinary `Map`
 * for the keys whose slot another object already holds (two values with one id, a value
 * of another function — broken IR that the verifier must still read) or whose id lies
 * beyond the size given. Lookups of a million-instruction function's values cost an
 * array read instead of a hash probe (and no hash table growing by rehash).
 *
 * No deletion; iteration is not offered (order would be by id, not insertion).
 */

/** Something with a dense id (a {@link Value} or a {@link BasicBlock}). */
interface Keyed {
  readonly id: number;
}

/** A map from keyed objects to `V`, see the file comment. */
export class IdMap<K extends Keyed, V> {
  private readonly keys: (K | undefined)[];
  private readonly vals: (V | undefined)[];
  private overflow: Map<K, V> | undefined;

  /** `bound`: the exclusive upper bound of the ids expected (a function's `valueIdBound` or `blockIdBound`). */
  constructor(private readonly bound: number) {
    this.keys = new Array<K | undefined>(bound).fill(undefined);
    this.vals = new Array<V | undefined>(bound).fill(undefined);
  }

  get(k: K): V | undefined {
    const id = k.id;
    if (id >= 0 && id < this.bound && this.keys[id] === k) return this.vals[id];
    return this.overflow?.get(k);
  }

  has(k: K): boolean {
    const id = k.id;
    if (id >= 0 && id < this.bound && this.keys[id] === k) return true;
    return this.overflow !== undefined && this.overflow.has(k);
  }

  set(k: K, v: V): void {
    const id = k.id;
    if (Number.isInteger(id) && id >= 0 && id < this.bound) {
      const held = this.keys[id];
      // A slot is never cleared, so a key whose slot was free has never gone to the overflow map.
      if (held === undefined || held === k) {
        this.keys[id] = k;
        this.vals[id] = v;
        return;
      }
    }
    (this.overflow ??= new Map()).set(k, v);
  }
}

/** A set of keyed objects (see {@link IdMap}). */
export class IdSet<K extends Keyed> {
  private readonly map: IdMap<K, true>;
  constructor(bound: number, items?: Iterable<K>) {
    this.map = new IdMap(bound);
    if (items) for (const x of items) this.map.set(x, true);
  }
  has(k: K): boolean {
    return this.map.has(k);
  }
  add(k: K): void {
    this.map.set(k, true);
  }
}
