/**
 * Map state of the interpreter: real key/value stores, one `Uint8Array` per entry.
 *
 * Which kind of store a map gets is read from the platform table (@luabpf/platform):
 * - Array-like maps with byte values (`array`, `percpu_array`) hold a zeroed value for
 *   every index below `maxEntries` (materialised lazily); keys are little-endian u32
 *   indices; entries cannot be deleted.
 * - Hash-like maps with byte keys and values (`hash`, `percpu_hash`, `lru_hash`, ...)
 *   start empty and refuse new keys when full (-E2BIG). LRU variants evict the least
 *   recently used entry instead.
 * - Per-CPU variants behave as on a machine with one CPU.
 * - Other kinds (ring buffers, program arrays, ...) have no storage here.
 *
 * A value lives in a {@link MemoryObject} so that pointers returned by `map_lookup_elem`
 * read and write the entry itself. Updating an existing entry copies into the same bytes
 * (pointers stay valid); deleting or evicting it kills the object, so later accesses
 * through old pointers are errors.
 */
import { MAP_TYPES, UpdateFlag } from "@luabpf/platform";
import type { MapDecl, MapKind, Module } from "../module.js";
import { InterpError, MemoryObject } from "./values.js";

const { ANY: BPF_ANY, NOEXIST: BPF_NOEXIST, EXIST: BPF_EXIST } = UpdateFlag;

/** Errno values returned (negated) by the map helpers. */
export const ENOENT = 2;
export const E2BIG = 7;
export const EEXIST = 17;
export const EINVAL = 22;

/** A key or value given by the host: bytes, or an integer encoded little-endian. */
export type MapBytes = Uint8Array | bigint | number;

interface HashEntry {
  readonly key: Uint8Array;
  readonly object: MemoryObject;
}

/** The store the interpreter keeps for a map kind. */
function storageOf(kind: MapKind): "array" | "hash" | undefined {
  const t = MAP_TYPES[kind];
  if (t.value !== "bytes") return undefined;
  if (t.isArrayLike()) return "array";
  return t.isHashLike() && t.key === "bytes" ? "hash" : undefined;
}

function keyString(key: Uint8Array): string {
  let s = "";
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i]!);
  return s;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, "0");
  return s;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Encodes `v` as `size` bytes (integers little-endian, two's complement). */
export function encodeBytes(v: MapBytes, size: number, what: string): Uint8Array {
  if (v instanceof Uint8Array) {
    if (v.length !== size) throw new InterpError(`${what} has ${v.length} bytes, expected ${size}`);
    return v;
  }
  let x = BigInt.asUintN(size * 8, BigInt(v));
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** Reads `bytes` as an unsigned little-endian integer. */
export function decodeUnsigned(bytes: Uint8Array): bigint {
  let x = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]!);
  return x;
}

/** The contents of one map. */
export class MapInstance {
  readonly name: string;
  readonly kind: MapKind;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** The object a `mapref` pointer points to (zero bytes: only helpers can use it). */
  readonly handle: MemoryObject;
  private readonly array: (MemoryObject | undefined)[] | undefined;
  private readonly hash: Map<string, HashEntry> | undefined;

  constructor(readonly decl: MapDecl) {
    this.name = decl.name;
    this.kind = decl.kind;
    this.keySize = decl.key.size;
    this.valueSize = decl.value.size;
    this.maxEntries = decl.maxEntries;
    this.handle = new MemoryObject("map", `map ${decl.name}`, new Uint8Array(0));
    this.handle.map = this;
    const storage = storageOf(decl.kind);
    if (storage === "array") this.array = [];
    else if (storage === "hash") this.hash = new Map();
  }

  /** Whether this map kind stores entries the interpreter can look up. */
  get isArray(): boolean {
    return this.array !== undefined;
  }

  private storage(): void {
    if (!this.array && !this.hash) throw new InterpError(`map ${this.name}: kind ${this.kind} is not supported by the interpreter`);
  }

  private newValue(bytes?: Uint8Array): MemoryObject {
    const v = new Uint8Array(this.valueSize);
    if (bytes) v.set(bytes);
    const o = new MemoryObject("map_value", `map ${this.name} value`, v);
    o.map = this;
    return o;
  }

  private arrayIndex(key: Uint8Array): number {
    // Array keys are u32; a larger declared key reads its low 4 bytes.
    let idx = 0;
    for (let i = Math.min(4, key.length) - 1; i >= 0; i--) idx = idx * 256 + key[i]!;
    return idx;
  }

  private arraySlot(idx: number): MemoryObject {
    const arr = this.array!;
    let o = arr[idx];
    if (!o) arr[idx] = o = this.newValue();
    return o;
  }

  /**
   * The memory object holding the value of `key`, or undefined. A hit on an LRU map marks
   * the entry as recently used. (Used by `map_lookup_elem`.)
   */
  lookupObject(key: Uint8Array): MemoryObject | undefined {
    this.storage();
    if (this.array) {
      const idx = this.arrayIndex(key);
      return idx < this.maxEntries ? this.arraySlot(idx) : undefined;
    }
    const k = keyString(key);
    const e = this.hash!.get(k);
    if (e && this.isLru) {
      this.hash!.delete(k);
      this.hash!.set(k, e);
    }
    return e?.object;
  }

  private get isLru(): boolean {
    return MAP_TYPES[this.kind].lru;
  }

  /** A copy of the value of `key`, or undefined when absent. */
  lookup(key: MapBytes): Uint8Array | undefined {
    const o = this.lookupObject(encodeBytes(key, this.keySize, `map ${this.name} key`));
    return o ? o.bytes.slice() : undefined;
  }

  /** The value of `key` read as an unsigned little-endian integer, or undefined. */
  lookupInt(key: MapBytes): bigint | undefined {
    const v = this.lookup(key);
    return v ? decodeUnsigned(v) : undefined;
  }

  /** `bpf_map_update_elem`: 0 or a negative errno. */
  update(key: MapBytes, value: MapBytes, flags: number = BPF_ANY): number {
    this.storage();
    const k = encodeBytes(key, this.keySize, `map ${this.name} key`);
    const v = encodeBytes(value, this.valueSize, `map ${this.name} value`);
    if (flags !== BPF_ANY && flags !== BPF_NOEXIST && flags !== BPF_EXIST) return -EINVAL;
    if (this.array) {
      const idx = this.arrayIndex(k);
      if (idx >= this.maxEntries) return -E2BIG;
      if (flags === BPF_NOEXIST) return -EEXIST;
      this.arraySlot(idx).bytes.set(v);
      return 0;
    }
    const hash = this.hash!;
    const ks = keyString(k);
    const e = hash.get(ks);
    if (e) {
      if (flags === BPF_NOEXIST) return -EEXIST;
      e.object.bytes.set(v);
      if (this.isLru) {
        hash.delete(ks);
        hash.set(ks, e);
      }
      return 0;
    }
    if (flags === BPF_EXIST) return -ENOENT;
    if (hash.size >= this.maxEntries) {
      if (!this.isLru || hash.size === 0) return -E2BIG;
      const [oldest, victim] = hash.entries().next().value!;
      victim.object.live = false;
      hash.delete(oldest);
    }
    hash.set(ks, { key: k.slice(), object: this.newValue(v) });
    return 0;
  }

  /** `bpf_map_delete_elem`: 0 or a negative errno (array maps: -EINVAL). */
  delete(key: MapBytes): number {
    this.storage();
    if (this.array) return -EINVAL;
    const ks = keyString(encodeBytes(key, this.keySize, `map ${this.name} key`));
    const e = this.hash!.get(ks);
    if (!e) return -ENOENT;
    e.object.live = false;
    this.hash!.delete(ks);
    return 0;
  }

  /** Number of entries (array maps: `maxEntries`). */
  get size(): number {
    this.storage();
    return this.array ? this.maxEntries : this.hash!.size;
  }

  /**
   * Copies of all entries, sorted deterministically: array maps by index (every index
   * below `maxEntries`), hash maps by key bytes.
   */
  entries(): [key: Uint8Array, value: Uint8Array][] {
    this.storage();
    if (this.array) {
      const out: [Uint8Array, Uint8Array][] = [];
      for (let i = 0; i < this.maxEntries; i++) {
        const o = this.array[i];
        out.push([encodeBytes(i, this.keySize, "key"), o ? o.bytes.slice() : new Uint8Array(this.valueSize)]);
      }
      return out;
    }
    return [...this.hash!.values()]
      .sort((a, b) => compareBytes(a.key, b.key))
      .map((e): [Uint8Array, Uint8Array] => [e.key.slice(), e.object.bytes.slice()]);
  }

  /** False for kinds the interpreter keeps no store for (prog_array, perf_event_array, ringbuf, ...). */
  get hasStorage(): boolean {
    return this.array !== undefined || this.hash !== undefined;
  }

  /** `[keyHex, valueHex]` pairs in `entries()` order; array maps list only non-zero values. */
  snapshot(): [key: string, value: string][] {
    this.storage();
    if (this.array) {
      const out: [string, string][] = [];
      // forEach skips the holes of the sparse array, in index order.
      this.array.forEach((o, i) => {
        if (o && o.bytes.some((b) => b !== 0)) out.push([hex(encodeBytes(i, this.keySize, "key")), hex(o.bytes)]);
      });
      return out;
    }
    return this.entries().map(([k, v]) => [hex(k), hex(v)]);
  }

  /** A deep copy (pointers into this map do not point into the copy). */
  clone(): MapInstance {
    const c = new MapInstance(this.decl);
    if (this.array) this.array.forEach((o, i) => o && c.arraySlot(i).bytes.set(o.bytes));
    if (this.hash) for (const [ks, e] of this.hash) c.hash!.set(ks, { key: e.key.slice(), object: c.newValue(e.object.bytes) });
    return c;
  }
}

/** The maps of a module during interpretation, by name. */
export class MapState {
  private readonly maps = new Map<string, MapInstance>();

  /** Empty maps (arrays zeroed) for every map the module declares. */
  static fromModule(module: Module): MapState {
    const s = new MapState();
    s.addMissing(module);
    return s;
  }

  /** Adds an empty map for every declaration of `module` not present yet. */
  addMissing(module: Module): void {
    for (const d of module.maps) if (!this.maps.has(d.name)) this.maps.set(d.name, new MapInstance(d));
  }

  has(name: string): boolean {
    return this.maps.has(name);
  }

  /** The map `name`; throws an {@link InterpError} when there is none. */
  get(name: string): MapInstance {
    const m = this.maps.get(name);
    if (!m) throw new InterpError(`no map named ${name}`);
    return m;
  }

  /** Map names in sorted order. */
  names(): string[] {
    return [...this.maps.keys()].sort();
  }

  /**
   * A plain, deterministic description of all contents for equality checks in
   * differential tests: per map (sorted by name), `[keyHex, valueHex]` pairs in `entries()`
   * order, where array maps list only their non-zero values.
   */
  snapshot(): Record<string, [key: string, value: string][]> {
    const out: Record<string, [string, string][]> = {};
    for (const name of this.names()) {
      const m = this.maps.get(name)!;
      if (m.hasStorage) out[name] = m.snapshot();
    }
    return out;
  }

  /** A deep copy, e.g. to run two versions of a function from the same state. */
  clone(): MapState {
    const s = new MapState();
    for (const [n, m] of this.maps) s.maps.set(n, m.clone());
    return s;
  }
}
