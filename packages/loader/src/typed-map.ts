// Typed map access: a map handle whose keys and values are JavaScript values converted by
// their BTF types (btf-value.ts) instead of raw bytes. Maps created without types (or from
// objects without BTF) use unsigned integers of their key/value size, or byte arrays when the
// size is not 1, 2, 4 or 8, which is how bpftool dumps untyped maps too.
import { skipModifiers, type BtfType } from "@luabpf/elf";
import { decodeValue, encodeValue, plainIntType, type CValue } from "./btf-value.js";
import type { MapHandle } from "./object.js";

/** A map read and written as C values. Per-CPU maps read as one value per possible CPU. */
export interface TypedMap {
  readonly name: string;
  readonly handle: MapHandle;
  readonly keyType: BtfType;
  readonly valueType: BtfType;
  readonly perCpu: boolean;
  /** The value under `key` (per-CPU: one per CPU), or undefined. */
  get(key: unknown): CValue | CValue[] | undefined;
  /** Stores `value` under `key` (per-CPU: an array of one value per CPU, or one value for all). */
  set(key: unknown, value: unknown, flags?: number): void;
  /** Removes `key`; false when absent. */
  delete(key: unknown): boolean;
  keys(): IterableIterator<CValue>;
  entries(): IterableIterator<[CValue, CValue | CValue[]]>;
  /** All entries with BPF_MAP_LOOKUP_BATCH (fewer system calls; throws for unsupported map types). */
  lookupBatch(batchSize?: number): Array<[CValue, CValue | CValue[]]>;
}

/** The typed view of a map handle. */
export function typedMap(handle: MapHandle): TypedMap {
  const keyType = handle.keyType ?? plainIntType(handle.keySize);
  const valueType = handle.valueType ?? plainIntType(handle.valueSize);
  const encodeKey = (key: unknown) => encodeValue(keyType, key, `map ${handle.name} key`);
  const encodeVal = (value: unknown) => encodeValue(valueType, value, `map ${handle.name} value`);
  const decodeKey = (bytes: Uint8Array) => decodeValue(keyType, bytes);
  const decodeVal = (bytes: Uint8Array | Uint8Array[]): CValue | CValue[] =>
    Array.isArray(bytes) ? bytes.map((b) => decodeValue(valueType, b)) : decodeValue(valueType, bytes as Uint8Array);
  return {
    name: handle.name,
    handle,
    keyType,
    valueType,
    perCpu: handle.perCpu,
    get(key) {
      const value = handle.get(encodeKey(key));
      return value === undefined ? undefined : decodeVal(value);
    },
    set(key, value, flags = 0) {
      if (handle.perCpu) {
        handle.set(encodeKey(key), Array.isArray(value) && !isArrayType(valueType) ? value.map(encodeVal) : encodeVal(value), flags);
      } else {
        handle.set(encodeKey(key), encodeVal(value), flags);
      }
    },
    delete(key) {
      return handle.delete(encodeKey(key));
    },
    *keys() {
      for (const key of handle.keys()) yield decodeKey(key);
    },
    *entries() {
      for (const [key, value] of handle.entries() as Iterable<[Uint8Array, Uint8Array | Uint8Array[]]>) {
        yield [decodeKey(key), decodeVal(value)];
      }
    },
    lookupBatch(batchSize) {
      const entries = handle.lookupBatch(batchSize) as Array<[Uint8Array, Uint8Array | Uint8Array[]]>;
      return entries.map(([key, value]) => [decodeKey(key), decodeVal(value)]);
    },
  };
}

function isArrayType(type: BtfType): boolean {
  return skipModifiers(type).kind === "array";
}
