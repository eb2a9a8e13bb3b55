/**
 * The map types of the kernel (`enum bpf_map_type`), one row each, in the style of
 * cilium/ebpf's `MapType` with methods: the number, the key and value rules, per-CPU and
 * LRU behaviour, what `bpf_map_lookup_elem` gives a program and how user space lists the
 * contents (by index, by key, as events, or not at all: `luabpf run`/`luabpf maps`). Every reader — the IR
 * (map kinds of `map` declarations), the front end, the interpreter, the passes, the
 * object packager and the loader — asks this table; nothing else names a
 * `BPF_MAP_TYPE_*` number.
 *
 * Names are the kernel's without the `BPF_MAP_TYPE_` prefix, in lower case, as libbpf and
 * bpftool print them (`percpu_array`, `lru_hash`, `ringbuf`). Adding a map type is adding
 * a row; rules the code does not yet use are still recorded so that new features read them
 * instead of restating them.
 */

/** What a map's key is. */
export type MapKeyRule =
  /** A `u32` index below `max_entries`: `key_size` must be 4. */
  | "index"
  /** Any bytes, compared whole (`key_size` > 0). */
  | "bytes"
  /** An LPM trie key: a `u32` prefix length followed by the data (`key_size` > 4). */
  | "lpm"
  /** A 4-byte file descriptor or id chosen by user space (socket, cgroup, task, inode storage). */
  | "fd"
  /** `struct bpf_cgroup_storage_key` or a `u64` cgroup id. */
  | "cgroup_storage"
  /** No key: `key_size` must be 0 (queues, stacks, ring buffers, bloom filters, arenas). */
  | "none";

/** What a map's value is. */
export type MapValueRule =
  /** Any bytes (`value_size` > 0). */
  | "bytes"
  /** A file descriptor written by user space (programs, perf events, inner maps, sockets, cgroups, CPUs). */
  | "fd"
  /** Stack frames of 8 bytes each (`value_size` a multiple of 8). */
  | "stack"
  /** No value: `value_size` must be 0; `max_entries` is a byte size or page count. */
  | "none";

/** What `bpf_map_lookup_elem` returns to a program. */
export type MapLookup =
  /** A pointer to the value, or NULL when the key is absent (the verifier demands a check). */
  | "value_or_null"
  /**
   * A pointer to the value, NULL only for an index at or above `max_entries`: entries of
   * array-like maps always exist (zero-filled) and cannot be deleted.
   */
  | "value_in_bounds"
  /** Programs cannot look elements up (they use other helpers: ringbuf, perf output, tail calls, ...). */
  | "none";

/**
 * How user space reads a map's contents (`BPF_MAP_LOOKUP_ELEM` / `BPF_MAP_GET_NEXT_KEY` from
 * the syscall side, as `bpftool map dump` does). This is not {@link MapKeyRule}: a stack trace
 * map and a devmap have `u32` index keys but only the slots that were filled hold an entry,
 * and an array of maps is array-like for programs but holds references, not data.
 */
export type MapListing =
  /** Read by index: every index below `max_entries` holds a value from creation (zero-filled). */
  | "index"
  /** Iterated by key: only the entries that were added exist (hashes, LPM tries, stack traces, devmaps, cgroup storage). */
  | "keys"
  /** A stream of records programs send to user space (ring buffer, perf event array): read as events, not listed. */
  | "events"
  /**
   * Nothing user space can list as data: the values are kernel objects (programs, maps,
   * cgroups, perf events, sockets, AF_XDP sockets: at most their ids or cookies come back), or
   * there are no keys to iterate (queues, stacks, bloom filters, user ring buffers, arenas,
   * storage keyed by a file descriptor, struct_ops).
   */
  | "none";

/** The properties of a row of {@link MAP_TYPES}. */
interface MapTypeRow {
  readonly id: number;
  readonly key: MapKeyRule;
  readonly value: MapValueRule;
  readonly lookup: MapLookup;
  /** How user space lists it (default "none"). */
  readonly listing?: MapListing;
  /** Each CPU has its own copy of every value; user space reads and writes one value per possible CPU. */
  readonly perCpu?: boolean;
  /** Full maps evict their least recently used entry instead of refusing an insert. */
  readonly lru?: boolean;
  /** Creation needs `BPF_F_NO_PREALLOC` (`MapFlag.noPrealloc`). */
  readonly noPrealloc?: "required";
  /** The largest `max_entries` the kernel accepts, where it has a fixed limit (see {@link HTAB_MAX_ENTRIES}). */
  readonly maxEntries?: number;
}

/**
 * The hash tables' limit: the kernel sizes the bucket array to `max_entries` rounded up to
 * a power of two and refuses (E2BIG) more than 4 GiB of 16-byte buckets, so at most 2^27
 * entries. Probed on Linux 6.18 for hash, percpu_hash, lru_hash and lru_percpu_hash
 * (2^27 + 1 is E2BIG; 2^27 is created). Array maps have no such limit: creation allocates
 * `max_entries` times the value size rounded up to 8, and fails only when that memory is
 * not available (ENOMEM), which no compiler can know.
 */
export const HTAB_MAX_ENTRIES = 2 ** 27;

/** A map type: one row of {@link MAP_TYPES} with its name and the questions readers ask. */
export class MapTypeInfo {
  readonly id: number;
  readonly key: MapKeyRule;
  readonly value: MapValueRule;
  readonly lookup: MapLookup;
  /** How user space reads its contents. */
  readonly listing: MapListing;
  readonly perCpu: boolean;
  readonly lru: boolean;
  /** Whether creation needs `BPF_F_NO_PREALLOC`. */
  readonly requiresNoPrealloc: boolean;
  /** The largest `max_entries` the kernel accepts, when it has a fixed limit. */
  readonly maxEntries: number | undefined;

  constructor(
    /** The libbpf name, e.g. `percpu_array`. */
    readonly name: string,
    row: MapTypeRow,
  ) {
    this.id = row.id;
    this.key = row.key;
    this.value = row.value;
    this.lookup = row.lookup;
    this.listing = row.listing ?? "none";
    this.perCpu = row.perCpu ?? false;
    this.lru = row.lru ?? false;
    this.requiresNoPrealloc = row.noPrealloc === "required";
    this.maxEntries = row.maxEntries;
  }

  /** The kernel's enumerator, e.g. `BPF_MAP_TYPE_PERCPU_ARRAY`. */
  get kernelName(): string {
    return `BPF_MAP_TYPE_${this.name.toUpperCase()}`;
  }

  /** cilium/ebpf's `hasPerCPUValue`: lookups from user space return one value per possible CPU. */
  hasPerCpuValue(): boolean {
    return this.perCpu;
  }

  /**
   * Array-like: every index below `max_entries` holds a zero-initialised value from the
   * start, and entries cannot be deleted.
   */
  isArrayLike(): boolean {
    return this.key === "index" && this.lookup === "value_in_bounds";
  }

  /**
   * User space lists it by index: every index below `max_entries` has a value (array,
   * percpu_array). Unlike {@link isArrayLike}, false for an array of maps (its values are
   * map references).
   */
  isListedByIndex(): boolean {
    return this.listing === "index";
  }

  /** User space can list its entries as data (by index or by key). */
  isListable(): boolean {
    return this.listing === "index" || this.listing === "keys";
  }

  /** Programs send records through it to user space (ring buffer, perf event array). */
  carriesEvents(): boolean {
    return this.listing === "events";
  }

  /** A hash-like map: entries are created by updates and can be deleted. */
  isHashLike(): boolean {
    return this.lookup === "value_or_null" && (this.key === "bytes" || this.key === "lpm");
  }

  /** Programs may call `bpf_map_lookup_elem` on it. */
  canLookup(): boolean {
    return this.lookup !== "none";
  }

  /** A lookup can return NULL for a key within bounds (the entry may be absent). */
  lookupMayBeNull(): boolean {
    return this.lookup === "value_or_null";
  }

  /** The `key_size` the kernel requires, or undefined when any positive size is accepted. */
  requiredKeySize(): number | undefined {
    switch (this.key) {
      case "index":
      case "fd":
        return 4;
      case "none":
        return 0;
      case "bytes":
      case "lpm":
      case "cgroup_storage":
        return undefined;
    }
  }

  /** The `value_size` the kernel requires, or undefined when it depends on the declaration. */
  requiredValueSize(): number | undefined {
    switch (this.value) {
      case "none":
        return 0;
      case "fd":
        return 4;
      case "bytes":
      case "stack":
        return undefined;
    }
  }
}

const arrayLike = (id: number, extra: Partial<MapTypeRow> = {}): MapTypeRow => ({ id, key: "index", value: "bytes", lookup: "value_in_bounds", listing: "index", ...extra });
const hashLike = (id: number, extra: Partial<MapTypeRow> = {}): MapTypeRow => ({ id, key: "bytes", value: "bytes", lookup: "value_or_null", listing: "keys", ...extra });
const fdArray = (id: number): MapTypeRow => ({ id, key: "index", value: "fd", lookup: "none" });
const keyless = (id: number, value: MapValueRule = "bytes"): MapTypeRow => ({ id, key: "none", value, lookup: "none" });
const storage = (id: number): MapTypeRow => ({ id, key: "fd", value: "bytes", lookup: "none", noPrealloc: "required" });

/** The rows, by name. `id` is the `BPF_MAP_TYPE_*` value. */
const ROWS = {
  unspec: { id: 0, key: "none", value: "none", lookup: "none" },
  hash: hashLike(1, { maxEntries: HTAB_MAX_ENTRIES }),
  array: arrayLike(2),
  prog_array: fdArray(3),
  perf_event_array: { ...fdArray(4), listing: "events" },
  percpu_hash: hashLike(5, { perCpu: true, maxEntries: HTAB_MAX_ENTRIES }),
  percpu_array: arrayLike(6, { perCpu: true }),
  stack_trace: { id: 7, key: "index", value: "stack", lookup: "none", listing: "keys" },
  cgroup_array: fdArray(8),
  lru_hash: hashLike(9, { lru: true, maxEntries: HTAB_MAX_ENTRIES }),
  lru_percpu_hash: hashLike(10, { perCpu: true, lru: true, maxEntries: HTAB_MAX_ENTRIES }),
  lpm_trie: hashLike(11, { key: "lpm", noPrealloc: "required" }),
  array_of_maps: { id: 12, key: "index", value: "fd", lookup: "value_in_bounds" },
  hash_of_maps: { id: 13, key: "bytes", value: "fd", lookup: "value_or_null" },
  // A devmap's value is an ifindex (and optional program), a cpumap's a queue size: data read back as written.
  devmap: { ...fdArray(14), listing: "keys" },
  sockmap: fdArray(15),
  cpumap: { ...fdArray(16), listing: "keys" },
  xskmap: { id: 17, key: "index", value: "fd", lookup: "value_or_null" },
  sockhash: { id: 18, key: "bytes", value: "fd", lookup: "value_or_null" },
  cgroup_storage: { id: 19, key: "cgroup_storage", value: "bytes", lookup: "none", listing: "keys" },
  reuseport_sockarray: fdArray(20),
  percpu_cgroup_storage: { id: 21, key: "cgroup_storage", value: "bytes", lookup: "none", perCpu: true, listing: "keys" },
  queue: keyless(22),
  stack: keyless(23),
  sk_storage: storage(24),
  devmap_hash: { id: 25, key: "bytes", value: "fd", lookup: "none", listing: "keys" },
  struct_ops: { id: 26, key: "index", value: "bytes", lookup: "none" },
  ringbuf: { ...keyless(27, "none"), listing: "events" },
  inode_storage: storage(28),
  task_storage: storage(29),
  bloom_filter: keyless(30),
  user_ringbuf: keyless(31, "none"),
  cgrp_storage: storage(32),
  arena: { id: 33, key: "none", value: "none", lookup: "none", noPrealloc: "required" },
  insn_array: { id: 34, key: "index", value: "bytes", lookup: "none" },
  rhash: hashLike(35),
} as const satisfies Record<string, MapTypeRow>;

/** A map type name: `hash`, `array`, `percpu_array`, `ringbuf`, ... */
export type MapTypeName = keyof typeof ROWS;

/** Every map type, by name. */
export const MAP_TYPES: Readonly<Record<MapTypeName, MapTypeInfo>> = Object.freeze(
  Object.fromEntries(Object.entries(ROWS).map(([name, row]) => [name, new MapTypeInfo(name, row)])) as Record<MapTypeName, MapTypeInfo>,
);

/** The map type names, in `BPF_MAP_TYPE_*` order. */
export const MAP_TYPE_NAMES: readonly MapTypeName[] = Object.freeze(
  (Object.keys(ROWS) as MapTypeName[]).sort((a, b) => ROWS[a].id - ROWS[b].id),
);

const BY_ID = new Map<number, MapTypeInfo>(Object.values(MAP_TYPES).map((t) => [t.id, t]));

/** Is `name` a map type name? */
export function isMapTypeName(name: string): name is MapTypeName {
  return Object.hasOwn(ROWS, name);
}

/** The map type called `name`. */
export function mapType(name: MapTypeName): MapTypeInfo {
  return MAP_TYPES[name];
}

/** The map type with `BPF_MAP_TYPE_*` value `id`, or undefined. */
export function mapTypeById(id: number): MapTypeInfo | undefined {
  return BY_ID.get(id);
}
