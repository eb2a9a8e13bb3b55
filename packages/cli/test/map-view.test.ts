// How maps are shown by `luabpf run` and `luabpf maps`: shapes chosen by type and name, tables
// sorted by value, zero array entries left out, per-CPU values summed, log2 and linear
// histograms with bpftrace's labels and bars. Maps are real kernel maps filled by the test.
import { describe, expect, it } from "vitest";
import type { ObjectMap } from "@luabpf/elf";
import { kernelOrSkip, loadObject, typedMap } from "@luabpf/loader";
import { MapType } from "@luabpf/platform";
import { histogramBuckets, mapJson, mapShape, renderHistogram, renderMap } from "../src/map-view.js";

const u32 = { kind: "int", name: "u32", size: 4, signed: false } as const;
const u64 = { kind: "int", name: "u64", size: 8, signed: false } as const;
const map = (name: string, type: number, maxEntries: number): ObjectMap => ({ name, type, keySize: 4, valueSize: 8, maxEntries, flags: 0, key: u32, value: u64 });

describe("map shapes", () => {
  it("follows the type and the name", () => {
    expect(mapShape({ name: "total", type: MapType.array, maxEntries: 1 })).toBe("scalar");
    expect(mapShape({ name: "total", type: MapType.percpu_array, maxEntries: 1 })).toBe("scalar");
    expect(mapShape({ name: "lat_hist", type: MapType.array, maxEntries: 64 })).toBe("log2-hist");
    expect(mapShape({ name: "hist", type: MapType.hash, maxEntries: 64 })).toBe("log2-hist");
    expect(mapShape({ name: "size_lhist", type: MapType.hash, maxEntries: 64 })).toBe("linear-hist");
    expect(mapShape({ name: "history", type: MapType.hash, maxEntries: 64 })).toBe("table");
    expect(mapShape({ name: "events", type: MapType.ringbuf, maxEntries: 4096 })).toBe("events");
    expect(mapShape({ name: "jumps", type: MapType.prog_array, maxEntries: 4 })).toBe("none");
    expect(mapShape({ name: "output", type: MapType.perf_event_array, maxEntries: 2 })).toBe("events");
    // Array-like for programs, but its values are map references: not listed, and never a scalar.
    expect(mapShape({ name: "inner", type: MapType.array_of_maps, maxEntries: 1 })).toBe("none");
    // Stack traces are listed by key (only the stored stacks), not as an array scalar.
    expect(mapShape({ name: "stacks", type: MapType.stack_trace, maxEntries: 1 })).toBe("table");
    expect(mapShape({ name: "queue", type: MapType.queue, maxEntries: 1 })).toBe("none");
    expect(mapShape({ name: "x", type: 9999, maxEntries: 1 })).toBe("none");
  });

  it("draws a histogram as bpftrace does", () => {
    const text = renderHistogram("lat", [
      { low: 0, high: 1, count: 1 },
      { low: 1, high: 2, count: 0 },
      { low: 2, high: 4, count: 4 },
      { low: 1024, high: 2048, count: 2 },
    ]);
    expect(text).toBe(
      [
        "@lat:",
        `[0]                    1 |${"@".repeat(13).padEnd(52)}|`,
        `[1]                    0 |${" ".repeat(52)}|`,
        `[2, 4)                 4 |${"@".repeat(52)}|`,
        `[1K, 2K)               2 |${"@".repeat(26).padEnd(52)}|`,
        "",
      ].join("\n"),
    );
  });
});

describe.skipIf(!kernelOrSkip())("maps on the kernel", () => {
  const withMaps = (maps: ObjectMap[], body: (get: (name: string) => ReturnType<typeof loadObject>["maps"] extends ReadonlyMap<string, infer H> ? H : never) => void) => {
    const object = loadObject({ license: "GPL", programs: [], maps });
    try {
      body((name) => object.maps.get(name)!);
    } finally {
      object.close();
    }
  };

  it("tables sort by value, arrays leave zeros out, scalars print alone", () => {
    withMaps([map("counts", MapType.hash, 16), map("slots", MapType.array, 8), map("total", MapType.array, 1)], (get) => {
      const counts = typedMap(get("counts"));
      counts.set(1, 30n);
      counts.set(2, 10n);
      counts.set(3, 20n);
      typedMap(get("slots")).set(5, 7n);
      expect(renderMap(get("counts"))).toBe("@counts[2]: 10\n@counts[3]: 20\n@counts[1]: 30\n");
      expect(renderMap(get("slots"))).toBe("@slots[5]: 7\n");
      expect(renderMap(get("total"))).toBe("@total: 0\n");
      expect(mapJson(get("counts"))).toEqual({
        type: "map",
        map: "counts",
        entries: [
          { key: 2, value: 10 },
          { key: 3, value: 20 },
          { key: 1, value: 30 },
        ],
      });
      expect(mapJson(get("total"))).toEqual({ type: "map", map: "total", value: 0 });
    });
  });

  it("a clang object's globals print one line per variable; .rodata is not shown", () => {
    const datasec = (name: string, vars: Array<[string, number, typeof u32 | typeof u64]>) => ({
      kind: "datasec" as const,
      name,
      size: 16,
      vars: vars.map(([varName, offset, type]) => ({ var: { kind: "var" as const, name: varName, type, linkage: "global" as const }, offset, size: type.size })),
    });
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setBigUint64(0, 100n, true);
    new DataView(bytes.buffer).setUint32(8, 7, true);
    const object = loadObject({
      license: "GPL",
      programs: [],
      maps: [],
      data: [
        { name: ".data", bytes, readonly: false, type: datasec(".data", [["packets", 0, u64], ["last_len", 8, u32]]) },
        { name: ".rodata", bytes, readonly: true, type: datasec(".rodata", [["limit", 0, u64]]) },
      ],
    });
    try {
      expect(renderMap(object.maps.get(".data")!)).toBe("@packets: 100\n@last_len: 7\n");
      expect(mapJson(object.maps.get(".data")!)).toEqual({ type: "globals", map: ".data", values: { packets: 100, last_len: 7 } });
      expect(renderMap(object.maps.get(".rodata")!)).toBe("");
    } finally {
      object.close();
    }
  });

  it("log2 histograms span the lowest to the highest non-empty bucket; per-CPU counts are summed", () => {
    withMaps([map("lat_hist", MapType.percpu_array, 64)], (get) => {
      const hist = typedMap(get("lat_hist"));
      hist.set(2, 3n); // on every CPU
      hist.set(4, 1n);
      const cpus = get("lat_hist").perCpu ? (get("lat_hist") as { cpuCount: number }).cpuCount : 1;
      expect(histogramBuckets(get("lat_hist"))).toEqual([
        { low: 2, high: 4, count: 3 * cpus },
        { low: 4, high: 8, count: 0 },
        { low: 8, high: 16, count: cpus },
      ]);
    });
  });

  it("linear histograms take the step from the keys (bucket lower bounds)", () => {
    withMaps([map("size_lhist", MapType.hash, 64)], (get) => {
      const hist = typedMap(get("size_lhist"));
      hist.set(20, 2n);
      hist.set(50, 1n);
      expect(histogramBuckets(get("size_lhist"))).toEqual([
        { low: 20, high: 30, count: 2 },
        { low: 30, high: 40, count: 0 },
        { low: 40, high: 50, count: 0 },
        { low: 50, high: 60, count: 1 },
      ]);
      expect(renderMap(get("size_lhist"))).toMatch(/^@size_lhist:\n\[20, 30\)\s+2 \|@{52}\|\n/);
    });
  });
});
