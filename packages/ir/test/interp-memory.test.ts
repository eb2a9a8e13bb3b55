/**
 * Tests of the IR interpreter's memory model: stack bytes and initialisation, bounds,
 * pointer spills and lifetimes, the context and packet (ctx packet pointers, pktload), and
 * maps (array/hash/LRU semantics, helpers, errnos, snapshots).
 */
import { describe, expect, test } from "vitest";
import { ctxPointer, interpret, MapState } from "../src/interp.js";
import { parseModule } from "../src/parse.js";
import { run, trap, value } from "./interp-text.js";


describe("memory", () => {
  test("stores and loads of every width are little-endian and normalized", () => {
    const text = `
func @f(i64 %0, i64 %1) -> i64 {
@bb0:
  %9 = alloca 16, align 8
  store i64 %0, %9, 0
  store i64 0, %9, 8
  %2 = ptradd ptr.stack %9, %1
  %3 = load i8 %2, 0
  %4 = sext i8 %3 to i64
  ret %4
}`;
    const bytes = [0x88n, 0x77n, 0x66n, 0x55n, 0x44n, 0x33n, 0x22n, 0x11n];
    for (let k = 0; k < 8; k++) expect(value(text, "f", [0x1122334455667788n, BigInt(k)])).toBe(BigInt.asIntN(8, bytes[k]!));
    const widths = `
func @g(i32 %0) -> i64 {
@bb0:
  %1 = alloca 8, align 8
  store i32 %0, %1, 0
  store i16 -1, %1, 4
  store i8 127, %1, 6
  store i8 -128, %1, 7
  %2 = load i64 %1, 0
  ret %2
}
func @h() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  store i64 255, %1, 0
  %2 = load i8 %1, 0
  %3 = load i16 %1, 0
  %4 = load i32 %1, 1
  %5 = sext i8 %2 to i64
  %6 = sext i16 %3 to i64
  %7 = sext i32 %4 to i64
  %8 = mul i64 %5, 1000000
  %9 = mul i64 %6, 1000
  %10 = add i64 %8, %9
  %11 = add i64 %10, %7
  ret %11
}`;
    expect(value(widths, "g", [0x12345678n])).toBe(BigInt.asIntN(64, 0x807fffff12345678n));
    // i8 of 0xff is -1; i16 of ff 00 is 255; i32 at offset 1 is 0.
    expect(value(widths, "h")).toBe(-1_000_000n + 255_000n);
  });

  test("reading an uninitialised stack byte traps", () => {
    const text = `
func @f() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  store i8 1, %1, 0
  %2 = load i16 %1, 0
  %3 = zext i16 %2 to i64
  ret %3
}`;
    const e = trap(() => run(text, "f"));
    expect(e.message).toMatch(/read of uninitialised stack byte at offset 1/);
    expect(e.message).toContain("load i16");
  });

  test("out-of-bounds loads and stores trap with the instruction printed", () => {
    const store = `
func @f(i64 %0) -> i64 {
@bb0:
  %1 = alloca 8, align 8
  %2 = ptradd ptr.stack %1, %0
  store i32 0, %2, 0
  ret 0
}`;
    expect(value(store, "f", [4n])).toBe(0n);
    for (const off of [5n, -1n, 8n, 2n ** 62n]) {
      const e = trap(() => run(store, "f", [off]));
      expect(e.message).toMatch(/out-of-bounds store of 4 bytes/);
      expect(e.message).toContain("store i32 0, %2, 0");
    }
    const load = `
func @f() -> i64 {
@bb0:
  %1 = alloca 4, align 4
  store i32 0, %1, 0
  %2 = load i64 %1, 0
  ret %2
}`;
    expect(trap(() => run(load, "f")).message).toMatch(/out-of-bounds load of 8 bytes at offset 0 of stack %1 \(4 bytes\)/);
  });

  test("pointer arithmetic is exact over large offsets", () => {
    const text = `
func @f() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  store i64 42, %1, 0
  %2 = ptradd ptr.stack %1, 1152921504606846981
  %3 = ptradd ptr.stack %2, -1152921504606846981
  %4 = load i64 %3, 0
  ret %4
}`;
    expect(value(text, "f")).toBe(42n);
  });

  test("pointer compares: by offset within an object; only eq/ne across objects", () => {
    const text = `
func @f(i64 %0) -> i64 {
@bb0:
  %1 = alloca 8, align 8
  %2 = ptradd ptr.stack %1, %0
  %3 = ult ptr.stack %1, %2
  %4 = eq ptr.stack %2, 0
  %5 = add i64 %3, %4
  ret %5
}
func @g() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  %2 = alloca 8, align 8
  %3 = ne ptr.stack %1, %2
  %4 = ult ptr.stack %1, %2
  ret %3
}`;
    expect(value(text, "f", [4n])).toBe(1n);
    expect(value(text, "f", [0n])).toBe(0n);
    expect(value(text, "f", [-4n])).toBe(0n); // signed offsets: below the object start
    expect(trap(() => run(text, "g")).message).toMatch(/ordered compare ult of <stack %1> and <stack %2>/);
  });

  test("null and integer pointers cannot be dereferenced", () => {
    const text = `
func @f(ptr %0) -> i64 {
@bb0:
  %1 = load i64 %0, 0
  ret %1
}`;
    expect(trap(() => run(text, "f", [0n])).message).toMatch(/null pointer/);
    expect(trap(() => run(text, "f", [4096n])).message).toMatch(/integer address 4096/);
  });

  test("pointers spilled to the stack load back; partial reads and non-stack spills trap", () => {
    const text = `
func @f() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  %2 = alloca 16, align 8
  store i64 77, %1, 0
  store ptr.stack %1, %2, 8
  %3 = load ptr.stack %2, 8
  %4 = load i64 %3, 0
  ret %4
}
func @partial() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  %2 = alloca 16, align 8
  store ptr.stack %1, %2, 8
  %3 = load i32 %2, 12
  %4 = zext i32 %3 to i64
  ret %4
}
func @overwritten() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  %2 = alloca 8, align 8
  store ptr.stack %1, %2, 0
  store i8 5, %2, 3
  %3 = load i64 %2, 0
  ret %3
}
func @unaligned() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  %2 = alloca 16, align 8
  store ptr.stack %1, %2, 4
  ret 0
}`;
    expect(value(text, "f")).toBe(77n);
    expect(trap(() => run(text, "partial")).message).toMatch(/partial load of a pointer/);
    // Overwriting part of a spilled pointer turns the slot back into plain bytes.
    expect(value(text, "overwritten")).toBe(5n << 24n);
    expect(trap(() => run(text, "unaligned")).message).toMatch(/not an aligned 8-byte slot/);
  });

  test("a stack pointer dies when its function returns", () => {
    const text = `
func @leak() -> ptr.stack {
@bb0:
  %1 = alloca 8, align 8
  store i64 1, %1, 0
  ret %1
}
func @f() -> i64 {
@bb0:
  %1 = call ptr.stack @leak()
  %2 = load i64 %1, 0
  ret %2
}`;
    expect(trap(() => run(text, "f")).message).toMatch(/after its function returned/);
  });

  test("an alloca executed again in a loop is the same slot", () => {
    // The first iteration stores, the second only loads.
    const text = `
func @f() -> i64 {
@bb0:
  br @bb1
@bb1:
  %1 = phi i64 [0, @bb0], [%6, @bb3]
  %2 = alloca 8, align 8
  %3 = eq i64 %1, 0
  condbr %3, @bb2, @bb4
@bb2:
  store i64 9, %2, 0
  br @bb3
@bb3:
  %6 = add i64 %1, 1
  br @bb1
@bb4:
  %5 = load i64 %2, 0
  ret %5
}`;
    expect(value(text, "f")).toBe(9n);
  });

  test("context bytes: loads, stores (copied in, returned out), ctxPointer arguments", () => {
    const text = `
func @f(ptr.ctx %0) -> i64 {
@bb0:
  %1 = load i32 %0, 4
  %2 = zext i32 %1 to i64
  store i8 -1, %0, 0
  ret %2
}`;
    const ctx = new Uint8Array([0, 0, 0, 0, 0x78, 0x56, 0x34, 0x12]);
    const r = run(text, "f", ["ctx"], { ctx });
    expect(r.value).toBe(0x12345678n);
    expect(r.ctx[0]).toBe(0xff);
    expect(ctx[0]).toBe(0); // the caller's bytes are not modified
    expect(run(text, "f", [ctxPointer(0)], { ctx }).value).toBe(0x12345678n);
    expect(trap(() => run(text, "f", [ctxPointer(2)], { ctx })).message).toMatch(/out-of-bounds load of 4 bytes at offset 6 of ctx/);
  });
});

describe("packets", () => {
  const XDP = `
func @xdp(ptr.ctx %0) -> i64 {
@bb0:
  %1 = load ptr.packet %0, 0
  %2 = load ptr.packet_end %0, 4
  %3 = ptradd ptr.packet %1, 4
  %4 = ugt ptr.packet %3, %2
  condbr %4, @bb2, @bb1
@bb1:
  %5 = load i32 %1, 0
  %6 = zext i32 %5 to i64
  store i8 0, %1, 0
  ret %6
@bb2:
  ret -1
}`;
  const ctxPointers = [
    { offset: 0, kind: "packet" as const },
    { offset: 4, kind: "packet_end" as const },
  ];

  test("ctx fields yield packet pointers; bounds checks against packet_end work", () => {
    const ctx = new Uint8Array(8);
    const r = run(XDP, "xdp", ["ctx"], { ctx, ctxPointers, packet: new Uint8Array([1, 2, 3, 4, 5]) });
    expect(r.value).toBe(0x04030201n);
    expect(r.packet).toEqual(new Uint8Array([0, 2, 3, 4, 5]));
    expect(value(XDP, "xdp", ["ctx"], { ctx, ctxPointers, packet: new Uint8Array([1, 2, 3]) })).toBe(-1n);
    // Without the check, the access itself traps.
    const unchecked = `
func @f(ptr.ctx %0) -> i64 {
@bb0:
  %1 = load ptr.packet %0, 0
  %2 = load i32 %1, 0
  %3 = zext i32 %2 to i64
  ret %3
}`;
    expect(trap(() => run(unchecked, "f", ["ctx"], { ctx, ctxPointers, packet: new Uint8Array(3) })).message).toMatch(/out-of-bounds load of 4 bytes at offset 0 of packet \(3 bytes\)/);
  });

  test("stores to the packet pointer fields of ctx trap", () => {
    const text = `
func @f(ptr.ctx %0) -> i64 {
@bb0:
  store i32 0, %0, 4
  ret 0
}`;
    expect(trap(() => run(text, "f", ["ctx"], { ctx: new Uint8Array(8), ctxPointers })).message).toMatch(/packet pointer field/);
  });

  const PKT = `
map @hits : array, key i32, value i64, max_entries 1, flags 0
func @f(ptr.ctx %0, i64 %1) -> i64 {
@bb0:
  %2 = pktload i8 %0, %1, 0
  %3 = pktload i16 %0, %1, 1
  %4 = pktload i32 %0, %1, 3
  %5 = zext i8 %2 to i64
  %6 = zext i16 %3 to i64
  %7 = zext i32 %4 to i64
  %8 = shl i64 %5, 48
  %9 = shl i64 %6, 32
  %10 = or i64 %8, %9
  %11 = or i64 %10, %7
  %12 = alloca 4, align 4
  store i32 0, %12, 0
  %13 = mapref @hits
  %14 = call ptr.map_value_or_null helper 1(%13, %12)
  %15 = eq ptr.map_value_or_null %14, 0
  condbr %15, @bb2, @bb1
@bb1:
  atomic.add i64 %14, 1, 0
  br @bb2
@bb2:
  ret %11
}
func @g(ptr.ctx %0, i64 %1) -> i64 {
@bb0:
  %2 = call i64 @f(%0, %1)
  %3 = add i64 %2, 1
  ret %3
}`;

  test("pktload reads big-endian bytes, zero-extended", () => {
    const packet = new Uint8Array([0xaa, 0x81, 0x02, 0x03, 0xf4, 0x05, 0x06, 0x07, 0x08]);
    const r = run(PKT, "f", ["ctx", 1n], { packet });
    expect(r.value).toBe((0x81n << 48n) | (0x0203n << 32n) | 0xf4050607n);
    expect(r.maps.get("hits").lookupInt(0)).toBe(1n);
  });

  test("an out-of-bounds pktload returns 0 from the function at once", () => {
    for (const idx of [3n, -1n, 100n, 2n ** 63n - 1n]) {
      const r = run(PKT, "f", ["ctx", idx], { packet: new Uint8Array(9) });
      expect(r.value).toBe(0n);
      expect(r.maps.get("hits").lookupInt(0)).toBe(0n); // the rest of @f did not run
    }
    // Only the function containing the pktload returns: the caller goes on.
    expect(value(PKT, "g", ["ctx", 5n], { packet: new Uint8Array(9) })).toBe(1n);
  });
});

describe("maps", () => {
  const COUNTER = `
map @counts : array, key i32, value i64, max_entries 4, flags 0
func @count(i32 %0) -> i64 {
@bb0:
  %1 = alloca 4, align 4
  store i32 %0, %1, 0
  %2 = mapref @counts
  %3 = call ptr.map_value_or_null helper 1(%2, %1)
  %4 = eq ptr.map_value_or_null %3, 0
  condbr %4, @bb2, @bb1
@bb1:
  %5 = atomic.fetch_add i64 %3, 1, 0
  ret %5
@bb2:
  ret -1
}`;

  test("array counter with map_lookup_elem and atomic add", () => {
    const m = parseModule(COUNTER);
    const maps = MapState.fromModule(m);
    expect(maps.get("counts").entries()).toHaveLength(4);
    for (let k = 0n; k < 3n; k++) expect(interpret(m, "count", [2n], { maps }).value).toBe(k);
    expect(interpret(m, "count", [0n], { maps }).value).toBe(0n);
    expect(interpret(m, "count", [4n], { maps }).value).toBe(-1n); // index out of range: null
    expect(interpret(m, "count", [-1n], { maps }).value).toBe(-1n);
    const counts = maps.get("counts");
    expect(counts.lookupInt(2)).toBe(3n);
    expect(counts.lookupInt(0)).toBe(1n);
    expect(counts.entries().map(([k, v]) => [k[0], v[0]])).toEqual([
      [0, 1],
      [1, 0],
      [2, 3],
      [3, 0],
    ]);
  });

  test("a fresh run starts from empty maps; clone() keeps a copy", () => {
    const m = parseModule(COUNTER);
    const maps = MapState.fromModule(m);
    interpret(m, "count", [1n], { maps });
    const saved = maps.clone();
    interpret(m, "count", [1n], { maps });
    expect(maps.get("counts").lookupInt(1)).toBe(2n);
    expect(saved.get("counts").lookupInt(1)).toBe(1n);
    expect(interpret(m, "count", [1n]).maps.get("counts").lookupInt(1)).toBe(1n);
  });

  const HASH = `
map @seen : hash, key i64, value i64, max_entries 2, flags 0
func @add(i64 %0, i64 %1) -> i64 {
@bb0:
  %2 = alloca 8, align 8
  store i64 %0, %2, 0
  %3 = mapref @seen
  %4 = call ptr.map_value_or_null helper 1(%3, %2)
  %5 = ne ptr.map_value_or_null %4, 0
  condbr %5, @bb1, @bb2
@bb1:
  atomic.add i64 %4, %1, 0
  ret 0
@bb2:
  %6 = alloca 8, align 8
  store i64 %1, %6, 0
  %7 = call i64 helper 2(%3, %2, %6, 1)
  ret %7
}
func @del(i64 %0) -> i64 {
@bb0:
  %2 = alloca 8, align 8
  store i64 %0, %2, 0
  %3 = mapref @seen
  %4 = call i64 helper 3(%3, %2)
  ret %4
}`;

  test("hash map: create if absent, then add; full map; delete", () => {
    const m = parseModule(HASH);
    const maps = MapState.fromModule(m);
    const add = (k: bigint, v: bigint) => interpret(m, "add", [k, v], { maps }).value;
    const del = (k: bigint) => interpret(m, "del", [k], { maps }).value;
    expect(add(7n, 5n)).toBe(0n);
    expect(add(7n, 10n)).toBe(0n);
    expect(add(-3n, 1n)).toBe(0n);
    expect(maps.get("seen").lookupInt(7)).toBe(15n);
    expect(add(8n, 1n)).toBe(-7n); // E2BIG: max_entries 2
    expect(del(7n)).toBe(0n);
    expect(del(7n)).toBe(-2n); // ENOENT
    expect(add(8n, 1n)).toBe(0n);
    // Sorted by key bytes (little-endian): 8 = 08 00.., -3 = fd ff...
    expect(maps.get("seen").entries().map(([k, v]) => [k[0], v[0]])).toEqual([
      [8, 1],
      [0xfd, 1],
    ]);
  });

  test("update flags and errnos on array and hash maps", () => {
    const m = parseModule(`
map @a : array, key i32, value i32, max_entries 2, flags 0
map @h : hash, key i32, value i32, max_entries 8, flags 0
map @l : lru_hash, key i32, value i32, max_entries 2, flags 0`);
    const maps = MapState.fromModule(m);
    const a = maps.get("a");
    expect(a.update(1, 5, 0)).toBe(0);
    expect(a.update(1, 6, 2)).toBe(0);
    expect(a.update(1, 6, 1)).toBe(-17); // EEXIST: array elements always exist
    expect(a.update(2, 6, 0)).toBe(-7); // E2BIG
    expect(a.update(0, 6, 4)).toBe(-22); // unknown flags
    expect(a.delete(0)).toBe(-22); // EINVAL
    expect(a.lookupInt(1)).toBe(6n);
    const h = maps.get("h");
    expect(h.update(1, 1, 2)).toBe(-2); // EXIST on a missing key: ENOENT
    expect(h.update(1, 1, 1)).toBe(0);
    expect(h.update(1, 2, 1)).toBe(-17);
    expect(h.update(1, 3, 2)).toBe(0);
    expect(h.lookupInt(1)).toBe(3n);
    expect(h.lookup(2)).toBeUndefined();
    const l = maps.get("l");
    l.update(1, 10);
    l.update(2, 20);
    l.lookup(1); // host lookups also mark entries used
    expect(l.update(3, 30)).toBe(0); // evicts key 2, the least recently used
    expect(l.entries().map(([k]) => k[0])).toEqual([1, 3]);
  });

  test("pointers into a deleted entry are dead; map handles are not memory", () => {
    const text = `
map @h : hash, key i32, value i64, max_entries 8, flags 0
func @f() -> i64 {
@bb0:
  %1 = alloca 4, align 4
  store i32 1, %1, 0
  %2 = mapref @h
  %3 = call ptr.map_value_or_null helper 1(%2, %1)
  %4 = call i64 helper 3(%2, %1)
  %5 = load i64 %3, 0
  ret %5
}
func @g() -> i64 {
@bb0:
  %2 = mapref @h
  %5 = load i64 %2, 0
  ret %5
}
func @spill() -> i64 {
@bb0:
  %1 = alloca 4, align 4
  store i32 1, %1, 0
  %2 = mapref @h
  %3 = call ptr.map_value_or_null helper 1(%2, %1)
  store ptr.stack %1, %3, 0
  ret 0
}`;
    const m = parseModule(text);
    const maps = MapState.fromModule(m);
    maps.get("h").update(1, 99);
    expect(trap(() => interpret(m, "f", [], { maps })).message).toMatch(/after the entry was deleted/);
    expect(trap(() => run(text, "g")).message).toMatch(/through a map handle/);
    maps.get("h").update(1, 99);
    expect(trap(() => interpret(m, "spill", [], { maps })).message).toMatch(/pointers may only be spilled to the stack/);
  });

  test("snapshot(): deterministic contents for differential tests (arrays: non-zero values only)", () => {
    const m = parseModule(`${COUNTER}\n${HASH}`);
    const before = MapState.fromModule(m);
    before.get("seen").update(5, 1);
    const after = before.clone();
    interpret(m, "count", [3n], { maps: before });
    interpret(m, "add", [5n, 2n], { maps: before });
    expect(before.snapshot()).toEqual({
      counts: [["03000000", "0100000000000000"]],
      seen: [["0500000000000000", "0300000000000000"]],
    });
    expect(after.snapshot()).not.toEqual(before.snapshot());
    interpret(m, "add", [5n, 2n], { maps: after });
    interpret(m, "count", [3n], { maps: after });
    expect(after.snapshot()).toEqual(before.snapshot());
  });

  test("map keys must be initialised stack bytes", () => {
    const text = `
map @h : hash, key i64, value i64, max_entries 8, flags 0
func @f() -> i64 {
@bb0:
  %1 = alloca 8, align 8
  store i32 1, %1, 0
  %2 = mapref @h
  %3 = call ptr.map_value_or_null helper 1(%2, %1)
  ret 0
}`;
    const e = trap(() => run(text, "f"));
    expect(e.message).toMatch(/uninitialised stack byte at offset 4/);
    expect(e.message).toContain("call ptr.map_value_or_null helper 1");
  });
});

