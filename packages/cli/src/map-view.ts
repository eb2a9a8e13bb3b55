/**
 * How `luabpf run` and `luabpf maps` show a map, as bpftrace shows its `@maps`:
 *
 * - a **scalar** (an array map with one entry): `@total: 42`;
 * - a **histogram**, chosen by the map's name: `hist` or a name ending in `_hist` is a log2
 *   histogram whose key k counts values in [2^(k-1), 2^k) (k = 0: the value 0), the layout of
 *   bcc's `BPF_HISTOGRAM` + `bpf_log2l` and of bpftrace's `hist()`; `lhist` or a name ending in
 *   `_lhist` is a linear histogram whose key is the lower bound of its bucket (the program
 *   stores `v - v % step`; the step is the largest one that divides every key). Both print as
 *   bars, from the lowest to the highest non-empty bucket;
 * - a clang object's **global data** (`.data`, `.bss`: a one-entry array typed by its BTF
 *   DATASEC) prints each variable as a scalar, `@name: value`; `.rodata` (read-only for the
 *   program, so it only holds constants) is not shown;
 * - any other map is a **table** `@name[key]: value`, sorted by value (ascending, as bpftrace
 *   does, so the largest is last) when values are numbers, by key otherwise. Array maps leave
 *   out entries that are zero (an array has every key; a zero means "never written").
 *
 * Per-CPU values are summed when they are integers (one line per key, as for a plain map).
 * Keys and values are decoded by their BTF types (`typedMap` of @luabpf/loader). Which maps
 * are listed, and which are read by index (arrays), is the platform map table's `listing`
 * column: ring buffers and perf event arrays hold events, not entries, and maps of kernel
 * objects (program arrays, maps of maps, ...) or without keys (queues, bloom filters) are
 * not shown.
 */
import { RECORD_VAR_PREFIX, formatValue, toJsonValue, typedMap, type CValue, type MapHandle } from "@luabpf/loader";
import { skipModifiers, type BtfType } from "@luabpf/elf";
import { MapFlag, mapTypeById, type MapListing } from "@luabpf/platform";

/** What kind of display a map gets. */
export type MapShape = "scalar" | "globals" | "log2-hist" | "linear-hist" | "table" | "events" | "none";

/**
 * The map type's listing column (`MapTypeInfo.listing` of @luabpf/platform); an unknown
 * type number is not listed.
 */
function listing(type: number): MapListing {
  return mapTypeById(type)?.listing ?? "none";
}

/** The display a map gets (see the file comment for the rules). */
export function mapShape(map: { name: string; type: number; maxEntries: number; flags?: number; valueType?: BtfType | undefined }): MapShape {
  const how = listing(map.type);
  if (how === "events") return "events";
  if (how === "none") return "none";
  if (map.valueType !== undefined && skipModifiers(map.valueType).kind === "datasec") {
    return ((map.flags ?? 0) & MapFlag.rdonlyProg) !== 0 ? "none" : "globals";
  }
  if (map.name === "hist" || map.name.endsWith("_hist")) return "log2-hist";
  if (map.name === "lhist" || map.name.endsWith("_lhist")) return "linear-hist";
  if (how === "index" && map.maxEntries === 1) return "scalar";
  return "table";
}

/** A per-CPU value as one value: integers summed, anything else left as the array. */
function collapse(value: CValue | CValue[]): CValue {
  if (!Array.isArray(value) || value.length === 0) return value as CValue;
  if (value.every((v) => typeof v === "bigint")) return (value as bigint[]).reduce((a, b) => a + b, 0n);
  if (value.every((v) => typeof v === "number")) return (value as number[]).reduce((a, b) => a + b, 0);
  return value;
}

function isZero(value: CValue): boolean {
  if (typeof value === "bigint") return value === 0n;
  if (typeof value === "number") return value === 0;
  if (typeof value === "boolean") return !value;
  if (typeof value === "string") return value === "";
  if (Array.isArray(value)) return value.every(isZero);
  return Object.values(value).every(isZero);
}

function asNumber(value: CValue): number | undefined {
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "number") return value;
  return undefined;
}

function compareKeys(a: CValue, b: CValue): number {
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== undefined && y !== undefined) return x - y;
  return formatValue(a) < formatValue(b) ? -1 : formatValue(a) > formatValue(b) ? 1 : 0;
}

/** The entries of a map as they are shown: decoded, per-CPU collapsed, zeros of arrays left out, sorted. */
export function mapEntries(handle: MapHandle): Array<[CValue, CValue]> {
  const shape = mapShape(handle);
  const entries: Array<[CValue, CValue]> = [];
  for (const [key, value] of typedMap(handle).entries()) {
    const one = collapse(value);
    if (listing(handle.type) === "index" && shape !== "scalar" && shape !== "globals" && isZero(one)) continue;
    entries.push([key, one]);
  }
  const numeric = entries.every(([, value]) => asNumber(value) !== undefined);
  if (shape === "table" && numeric) entries.sort((a, b) => asNumber(a[1])! - asNumber(b[1])! || compareKeys(a[0], b[0]));
  else entries.sort((a, b) => compareKeys(a[0], b[0]));
  return entries;
}

/**
 * The variables of a global-data map, in section order, with their values; the pointers that
 * only name a ring buffer's record type (`__luabpf_record_<map>`, object-btf.ts) are left out.
 */
function globals(handle: MapHandle): Array<[string, CValue]> {
  const [entry] = mapEntries(handle);
  if (entry === undefined || typeof entry[1] !== "object" || Array.isArray(entry[1])) return [];
  return Object.entries(entry[1]).filter(([name]) => !name.startsWith(RECORD_VAR_PREFIX));
}

/** One bucket of a histogram: the values it counts are [low, high). */
export interface Bucket {
  low: number;
  high: number;
  count: number;
}

/** The buckets of a histogram map, from the lowest to the highest non-empty one. */
export function histogramBuckets(handle: MapHandle): Bucket[] {
  const shape = mapShape(handle);
  const counts = new Map<number, number>();
  for (const [key, value] of mapEntries(handle)) {
    const k = asNumber(key);
    const n = asNumber(value);
    if (k === undefined || n === undefined || n === 0) continue;
    counts.set(k, (counts.get(k) ?? 0) + n);
  }
  if (counts.size === 0) return [];
  const keys = [...counts.keys()].sort((a, b) => a - b);
  const first = keys[0]!;
  const last = keys[keys.length - 1]!;
  const buckets: Bucket[] = [];
  if (shape === "log2-hist") {
    for (let k = first; k <= last; k++) {
      const low = k === 0 ? 0 : 2 ** (k - 1);
      buckets.push({ low, high: k === 0 ? 1 : 2 ** k, count: counts.get(k) ?? 0 });
    }
    return buckets;
  }
  const step = keys.reduce((g, k) => gcd(g, Math.abs(k)), 0) || 1;
  for (let low = first; low <= last; low += step) buckets.push({ low, high: low + step, count: counts.get(low) ?? 0 });
  return buckets;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** 1024-based short forms as bpftrace writes bucket bounds: 1K, 4M, 2G. */
function short(n: number): string {
  const units = ["", "K", "M", "G", "T", "P"];
  let unit = 0;
  while (n >= 1024 && n % 1024 === 0 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return `${n}${units[unit]}`;
}

const BAR_WIDTH = 52;

/** A histogram drawn with bars, bpftrace style. */
export function renderHistogram(name: string, buckets: readonly Bucket[]): string {
  if (buckets.length === 0) return `@${name}: (empty)\n`;
  const max = Math.max(...buckets.map((b) => b.count));
  const lines = [`@${name}:`];
  for (const bucket of buckets) {
    const label = bucket.high - bucket.low === 1 ? `[${short(bucket.low)}]` : `[${short(bucket.low)}, ${short(bucket.high)})`;
    const width = max === 0 ? 0 : Math.round((bucket.count / max) * BAR_WIDTH);
    lines.push(`${label.padEnd(16)}${String(bucket.count).padStart(8)} |${"@".repeat(width).padEnd(BAR_WIDTH)}|`);
  }
  return `${lines.join("\n")}\n`;
}

/** A map as text (nothing for event maps and maps that cannot be iterated). */
export function renderMap(handle: MapHandle): string {
  const shape = mapShape(handle);
  switch (shape) {
    case "events":
    case "none":
      return "";
    case "log2-hist":
    case "linear-hist":
      return renderHistogram(handle.name, histogramBuckets(handle));
    case "scalar": {
      const [entry] = mapEntries(handle);
      return `@${handle.name}: ${entry ? formatValue(entry[1]) : "(empty)"}\n`;
    }
    case "globals":
      return globals(handle)
        .map(([name, value]) => `@${name}: ${formatValue(value)}\n`)
        .join("");
    case "table": {
      const entries = mapEntries(handle);
      if (entries.length === 0) return `@${handle.name}: (empty)\n`;
      return entries.map(([key, value]) => `@${handle.name}[${formatValue(key)}]: ${formatValue(value)}\n`).join("");
    }
  }
}

/** A map as one JSON object (undefined for event maps and maps that cannot be iterated). */
export function mapJson(handle: MapHandle): Record<string, unknown> | undefined {
  const shape = mapShape(handle);
  switch (shape) {
    case "events":
    case "none":
      return undefined;
    case "log2-hist":
    case "linear-hist":
      return { type: "hist", map: handle.name, scale: shape === "log2-hist" ? "log2" : "linear", buckets: histogramBuckets(handle) };
    case "scalar": {
      const [entry] = mapEntries(handle);
      return { type: "map", map: handle.name, value: entry ? toJsonValue(entry[1]) : null };
    }
    case "globals":
      return { type: "globals", map: handle.name, values: Object.fromEntries(globals(handle).map(([name, value]) => [name, toJsonValue(value)])) };
    case "table":
      return {
        type: "map",
        map: handle.name,
        entries: mapEntries(handle).map(([key, value]) => ({ key: toJsonValue(key), value: toJsonValue(value) })),
      };
  }
}
