// Kernel tests of the map wrappers and map handles: every common map type is created,
// written, read, iterated and (where the type allows) deleted from, on the real kernel.
import { catchError } from "@luabpf/test-support";
import { MapType, UpdateFlag } from "@luabpf/platform";
import { type ObjectMap } from "@luabpf/elf";
import { describe, expect, it } from "vitest";
import {
  BpfError,
  close,
  kernelOrSkip,
  loadObject,
  mapCreate,
  mapDelete,
  mapLookup,
  mapNextKey,
  mapUpdate,
  parseCpuList,
  perCpuStride,
  possibleCpus,
  type MapHandle,
  type PerCpuMapHandle,
  type PlainMapHandle,
} from "../src/index.js";
import { readU32, readU64, u32, u64 } from "./asm.js";

const kernel = kernelOrSkip();

function withMap<T extends MapHandle>(map: ObjectMap, body: (handle: T) => void): void {
  const loaded = loadObject({ license: "GPL", programs: [], maps: [map] });
  try {
    body(loaded.maps.get(map.name) as T);
  } finally {
    loaded.close();
  }
}

const sortedU32Keys = (keys: Iterable<Uint8Array>) => [...keys].map(readU32).sort((a, b) => a - b);

describe("per-CPU layout helpers", () => {
  it("counts CPUs in kernel CPU lists", () => {
    expect(parseCpuList("0")).toBe(1);
    expect(parseCpuList("0-1")).toBe(2);
    expect(parseCpuList("0-3,8-11")).toBe(8);
    expect(parseCpuList("0,2,4-5\n")).toBe(4);
    expect(() => parseCpuList("zero")).toThrow(/cannot parse CPU list/);
  });
  it("rounds per-CPU value slots up to 8 bytes", () => {
    expect(perCpuStride(1)).toBe(8);
    expect(perCpuStride(8)).toBe(8);
    expect(perCpuStride(12)).toBe(16);
  });
});

describe.skipIf(!kernel)("map syscalls on the kernel", () => {
  it("hash: update, lookup, next_key, delete through the raw wrappers", () => {
    const fd = mapCreate({ type: MapType.hash, keySize: 4, valueSize: 8, maxEntries: 8, name: "raw-hash!" });
    try {
      expect(mapLookup(fd, u32(1), 8)).toBeUndefined();
      mapUpdate(fd, u32(1), u64(100));
      mapUpdate(fd, u32(2), u64(200), UpdateFlag.NOEXIST);
      expect(readU64(mapLookup(fd, u32(1), 8)!)).toBe(100n);
      const keys: number[] = [];
      for (let key = mapNextKey(fd, undefined, 4); key; key = mapNextKey(fd, key, 4)) keys.push(readU32(key));
      expect(keys.sort()).toEqual([1, 2]);
      expect(mapDelete(fd, u32(1))).toBe(true);
      expect(mapDelete(fd, u32(1))).toBe(false);
      expect(mapLookup(fd, u32(1), 8)).toBeUndefined();
    } finally {
      close(fd);
    }
  });

  it("reports errno names and the command in BpfError", () => {
    const fd = mapCreate({ type: MapType.hash, keySize: 4, valueSize: 8, maxEntries: 1 });
    try {
      mapUpdate(fd, u32(1), u64(1));
      const exists = catchError(() => mapUpdate(fd, u32(1), u64(2), UpdateFlag.NOEXIST));
      expect(exists).toBeInstanceOf(BpfError);
      expect(exists).toMatchObject({ code: "EEXIST", command: "BPF_MAP_UPDATE_ELEM" });
      const full = catchError(() => mapUpdate(fd, u32(2), u64(2)));
      expect(full).toMatchObject({ code: "E2BIG" });
      const missing = catchError(() => mapUpdate(fd, u32(3), u64(3), UpdateFlag.EXIST));
      expect(missing).toMatchObject({ code: "ENOENT" });
    } finally {
      close(fd);
    }
    const bad = catchError(() => mapCreate({ type: 9999, keySize: 4, valueSize: 4, maxEntries: 1, name: "bad" }));
    expect(bad).toBeInstanceOf(BpfError);
    expect(bad).toMatchObject({ code: "EINVAL", command: "BPF_MAP_CREATE" });
    expect((bad as Error).message).toMatch(/^map bad: BPF_MAP_CREATE failed: EINVAL/);
    expect(catchError(() => mapLookup(fd, u32(1), 8))).toMatchObject({ code: "EBADF" });
  });

  it("array: every index exists, holds zero, cannot be deleted", () => {
    withMap<PlainMapHandle>({ name: "arr", type: MapType.array, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 }, (map) => {
      expect(map.perCpu).toBe(false);
      expect(readU64(map.get(u32(3))!)).toBe(0n);
      expect(map.get(u32(4))).toBeUndefined();
      map.set(u32(2), u64(42));
      expect(readU64(map.get(u32(2))!)).toBe(42n);
      expect([...map.keys()].map(readU32)).toEqual([0, 1, 2, 3]);
      expect([...map.entries()].map(([k, v]) => [readU32(k), readU64(v)])).toEqual([
        [0, 0n],
        [1, 0n],
        [2, 42n],
        [3, 0n],
      ]);
      expect(catchError(() => map.delete(u32(2)))).toMatchObject({ code: "EINVAL", command: "BPF_MAP_DELETE_ELEM" });
      expect(() => map.set(u32(1), u32(1))).toThrow(/value must be 8 bytes/);
      expect(() => map.get(u64(1))).toThrow(/key must be 4 bytes/);
    });
  });

  it("hash: set, get, iterate, delete through a handle", () => {
    withMap<PlainMapHandle>({ name: "hsh", type: MapType.hash, keySize: 4, valueSize: 4, maxEntries: 16, flags: 0 }, (map) => {
      for (const k of [5, 9, 1]) map.set(u32(k), u32(k * 10));
      expect(sortedU32Keys(map.keys())).toEqual([1, 5, 9]);
      const entries = new Map([...map.entries()].map(([k, v]) => [readU32(k), readU32(v)]));
      expect(entries).toEqual(new Map([[1, 10], [5, 50], [9, 90]]));
      expect(map.delete(u32(5))).toBe(true);
      expect(map.delete(u32(5))).toBe(false);
      expect(sortedU32Keys(map.keys())).toEqual([1, 9]);
      expect(catchError(() => map.set(u32(1), u32(0), UpdateFlag.NOEXIST))).toMatchObject({ code: "EEXIST" });
    });
  });

  it("lru_hash: keeps at most maxEntries keys and the newest key survives", () => {
    withMap<PlainMapHandle>({ name: "lru", type: MapType.lru_hash, keySize: 4, valueSize: 8, maxEntries: 64, flags: 0 }, (map) => {
      for (let k = 0; k < 200; k++) map.set(u32(k), u64(k));
      const keys = sortedU32Keys(map.keys());
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.length).toBeLessThanOrEqual(64);
      expect(readU64(map.get(u32(199))!)).toBe(199n);
      expect(map.delete(u32(199))).toBe(true);
      expect(map.get(u32(199))).toBeUndefined();
    });
  });

  it("percpu_array: one value per possible CPU", () => {
    const cpus = possibleCpus();
    withMap<PerCpuMapHandle>({ name: "pca", type: MapType.percpu_array, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 }, (map) => {
      expect(map.perCpu).toBe(true);
      expect(map.cpuCount).toBe(cpus);
      expect(map.get(u32(0))!.map(readU32)).toEqual(new Array(cpus).fill(0));
      const perCpu = Array.from({ length: cpus }, (_, cpu) => u32(1000 + cpu));
      map.set(u32(1), perCpu);
      expect(map.get(u32(1))!.map(readU32)).toEqual(perCpu.map(readU32));
      map.set(u32(0), u32(7));
      expect(map.get(u32(0))!.map(readU32)).toEqual(new Array(cpus).fill(7));
      expect([...map.entries()].map(([k, v]) => [readU32(k), v.length])).toEqual([
        [0, cpus],
        [1, cpus],
      ]);
      expect(() => map.set(u32(0), [u32(1)].concat(perCpu))).toThrow(/per-CPU values/);
    });
  });

  it("percpu_hash: per-CPU values under hash keys, with value sizes not a multiple of 8", () => {
    const cpus = possibleCpus();
    withMap<PerCpuMapHandle>({ name: "pch", type: MapType.percpu_hash, keySize: 8, valueSize: 12, maxEntries: 8, flags: 0 }, (map) => {
      const value = (cpu: number) => Uint8Array.from({ length: 12 }, (_, i) => cpu * 16 + i);
      map.set(u64(77), Array.from({ length: cpus }, (_, cpu) => value(cpu)));
      const got = map.get(u64(77))!;
      expect(got).toHaveLength(cpus);
      got.forEach((v, cpu) => expect([...v]).toEqual([...value(cpu)]));
      expect([...map.keys()].map(readU64)).toEqual([77n]);
      expect(map.delete(u64(77))).toBe(true);
      expect(map.get(u64(77))).toBeUndefined();
    });
  });
});

