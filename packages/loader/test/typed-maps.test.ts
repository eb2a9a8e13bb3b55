// Typed map access and pinned maps on the kernel: maps created with BTF key/value types (the
// kernel keeps the types: bpftool and BPF_OBJ_GET_INFO_BY_FD see them), get/set/delete/iteration
// and batch lookup by C values, per-CPU values, and a pinned map reopened by path with its types
// read back from the kernel's BTF. Also the value codec on its own (no kernel).
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BtfType } from "@luabpf/elf";
import type { ObjectMap } from "@luabpf/elf";
import { MapType } from "@luabpf/platform";
import {
  bpfObjectKind,
  decodeValue,
  encodeValue,
  formatValue,
  kernelOrSkip,
  loadObject,
  mapInfo,
  openPinnedMap,
  pinnedPaths,
  possibleCpus,
  toJsonValue,
  typedMap,
} from "../src/index.js";
import { hasTool, openDescriptorCount, sh } from "@luabpf/test-support";

const kernel = kernelOrSkip();

const u32: BtfType = { kind: "int", name: "unsigned int", size: 4, signed: false };
const u64: BtfType = { kind: "int", name: "unsigned long long", size: 8, signed: false };
const s16: BtfType = { kind: "int", name: "short", size: 2, signed: true };
const char: BtfType = { kind: "int", name: "char", size: 1, signed: true }; // as clang emits it
const stats: BtfType = {
  kind: "struct",
  name: "stats",
  size: 24,
  members: [
    { name: "count", type: u64, bitOffset: 0 },
    { name: "delta", type: s16, bitOffset: 64 },
    { name: "name", type: { kind: "array", elem: char, count: 6 }, bitOffset: 80 },
    { name: "bytes", type: u64, bitOffset: 128 },
  ],
};

function withMaps(maps: ObjectMap[], body: (object: ReturnType<typeof loadObject>) => void): void {
  const object = loadObject({ license: "GPL", programs: [], maps });
  try {
    body(object);
  } finally {
    object.close();
  }
}

describe("the value codec", () => {
  it("round-trips structs with strings, signed fields and padding", () => {
    const value = { count: 5n, delta: -3, name: "bash", bytes: 1n << 40n };
    const bytes = encodeValue(stats, value);
    expect(bytes.byteLength).toBe(24);
    expect(decodeValue(stats, bytes)).toEqual(value);
    expect(formatValue(decodeValue(stats, bytes))).toBe("count=5 delta=-3 name=bash bytes=1099511627776");
    expect(toJsonValue({ big: 1n << 60n, small: 3n })).toEqual({ big: "1152921504606846976", small: 3 });
  });

  it("decodes bitfields, enums, booleans and nested arrays", () => {
    const flags: BtfType = {
      kind: "struct",
      name: "flags",
      size: 8,
      members: [
        { name: "low", type: u32, bitOffset: 0, bitSize: 3 },
        { name: "high", type: { kind: "int", name: "int", size: 4, signed: true }, bitOffset: 3, bitSize: 5 },
        { name: "state", type: { kind: "enum", name: "state", size: 2, signed: false, values: [{ name: "RUNNING", value: 1 }] }, bitOffset: 16 },
        { name: "on", type: { kind: "int", name: "_Bool", size: 1, signed: false, bool: true }, bitOffset: 32 },
        { name: "pair", type: { kind: "array", elem: { kind: "int", name: "u8", size: 1, signed: false }, count: 2 }, bitOffset: 40 },
      ],
    };
    const bytes = encodeValue(flags, { low: 5, high: -2, state: "RUNNING", on: true, pair: [7, 9] });
    expect(decodeValue(flags, bytes)).toEqual({ low: 5, high: -2, state: "RUNNING", on: true, pair: [7, 9] });
    bytes[2] = 4; // an enum value without a name decodes as its number
    expect((decodeValue(flags, bytes) as { state: unknown }).state).toBe(4);
  });

  it("says which member does not fit", () => {
    expect(() => encodeValue(stats, { count: "many" })).toThrow(/value\.count: expected an integer/);
    expect(() => encodeValue(stats, { name: "far too long" })).toThrow(/value\.name: string longer than 6 bytes/);
    expect(() => encodeValue(u32, { a: 1 })).toThrow(TypeError);
  });
});

describe.skipIf(!kernel)("typed maps on the kernel", () => {
  it("creates maps with their BTF types and reads and writes C values", () => {
    const before = openDescriptorCount();
    withMaps([{ name: "stats", type: MapType.hash, keySize: 4, valueSize: 24, maxEntries: 512, flags: 0, key: u32, value: stats }], (object) => {
      const handle = object.maps.get("stats")!;
      const info = mapInfo(handle.fd);
      expect(info.btfId).toBeGreaterThan(0);
      expect(info.btfKeyTypeId).toBeGreaterThan(0);
      expect(info.btfValueTypeId).toBeGreaterThan(0);
      const map = typedMap(handle);
      expect(map.get(1)).toBeUndefined();
      map.set(1, { count: 10n, delta: -1, name: "one", bytes: 100n });
      map.set(2, { count: 20n, name: "two" });
      expect(map.get(1)).toEqual({ count: 10n, delta: -1, name: "one", bytes: 100n });
      expect(map.get(2)).toEqual({ count: 20n, delta: 0, name: "two", bytes: 0n });
      expect([...map.keys()].sort()).toEqual([1, 2]);
      expect(map.delete(1)).toBe(true);
      expect(map.delete(1)).toBe(false);
      expect([...map.entries()]).toEqual([[2, { count: 20n, delta: 0, name: "two", bytes: 0n }]]);
      if (hasTool("bpftool") || process.env.CI) {
        // bpftool formats the value with the types the kernel kept.
        const dump = JSON.parse(sh("bpftool", ["-j", "map", "dump", "id", String(info.id)])) as Array<{ formatted?: { value: unknown } }>;
        expect(dump[0]!.formatted?.value).toMatchObject({ count: 20, delta: 0, bytes: 0 });
      }
    });
    expect(openDescriptorCount()).toBe(before);
  });

  it("batch lookup returns the same entries as iteration, over several batches", () => {
    withMaps([{ name: "h", type: MapType.hash, keySize: 4, valueSize: 8, maxEntries: 1024, flags: 0, key: u32, value: u64 }], (object) => {
      const map = typedMap(object.maps.get("h")!);
      for (let i = 0; i < 300; i++) map.set(i * 7, BigInt(i) * 1000n);
      const byKey = (a: [unknown, unknown], b: [unknown, unknown]) => Number(a[0]) - Number(b[0]);
      const batched = map.lookupBatch(64).sort(byKey);
      expect(batched).toHaveLength(300);
      expect(batched).toEqual([...map.entries()].sort(byKey));
      expect(batched[299]).toEqual([299 * 7, 299000n]);
    });
  });

  it("per-CPU maps read one value per possible CPU", () => {
    withMaps([{ name: "pc", type: MapType.percpu_array, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0, key: u32, value: u64 }], (object) => {
      const map = typedMap(object.maps.get("pc")!);
      expect(map.perCpu).toBe(true);
      map.set(1, 5n);
      expect(map.get(1)).toEqual(Array.from({ length: possibleCpus() }, () => 5n));
      const values = Array.from({ length: possibleCpus() }, (_, cpu) => BigInt(cpu + 1));
      map.set(2, values);
      expect(map.get(2)).toEqual(values);
      expect(map.lookupBatch().find(([key]) => key === 2)?.[1]).toEqual(values);
    });
  });

  it("a pinned map reopens by path with the types the kernel kept", () => {
    const dir = `/sys/fs/bpf/luabpf-test-${process.pid}`;
    mkdirSync(dir, { recursive: true });
    try {
      withMaps(
        [
          { name: "stats", type: MapType.hash, keySize: 4, valueSize: 24, maxEntries: 8, flags: 0, key: u32, value: stats },
          { name: "raw", type: MapType.array, keySize: 4, valueSize: 8, maxEntries: 2, flags: 0 },
        ],
        (object) => {
          typedMap(object.maps.get("stats")!).set(7, { count: 3n, name: "x" });
          typedMap(object.maps.get("raw")!).set(1, 99n);
          object.maps.get("stats")!.pin(join(dir, "stats"));
          object.maps.get("raw")!.pin(join(dir, "raw"));
        },
      );
      // The object is closed: the pins alone keep the maps.
      expect(pinnedPaths(dir)).toEqual([join(dir, "raw"), join(dir, "stats")]);
      const before = openDescriptorCount();
      const pinned = openPinnedMap(join(dir, "stats"));
      try {
        expect(bpfObjectKind(pinned.fd)).toBe("map");
        expect(pinned.valueType).toMatchObject({ kind: "struct", name: "stats" });
        expect(typedMap(pinned).get(7)).toEqual({ count: 3n, delta: 0, name: "x", bytes: 0n });
      } finally {
        pinned.close();
      }
      const raw = openPinnedMap(join(dir, "raw"));
      try {
        expect(raw.valueType).toBeUndefined();
        expect([...typedMap(raw).entries()]).toEqual([
          [0, 0n],
          [1, 99n],
        ]);
      } finally {
        raw.close();
      }
      expect(openDescriptorCount()).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
