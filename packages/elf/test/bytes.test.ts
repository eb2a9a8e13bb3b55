// ByteWriter: its byte stores give DataView's little-endian results for every number, and a
// writer that reuses a finished writer's buffer (bytes.ts keeps spares) writes exactly its own
// bytes, never the previous writer's.
import { describe, expect, it } from "vitest";
import { ByteWriter, StringTable } from "../src/bytes.js";
import { ElfError } from "../src/index.js";

const NUMBERS = [0, 1, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, 70000, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32, 2 ** 32 + 5, 2 ** 40 + 3, -1, -2, -0x8000, -0x80000000, -(2 ** 33) - 7, 3.7, -3.7, NaN, Infinity, -Infinity];

function viaDataView(size: 2 | 4, signed: boolean, value: number): number[] {
  const view = new DataView(new ArrayBuffer(size));
  if (size === 2) view.setUint16(0, value, true);
  else if (signed) view.setInt32(0, value, true);
  else view.setUint32(0, value >>> 0, true);
  return [...new Uint8Array(view.buffer)];
}

describe("ByteWriter", () => {
  it("stores u16, u32 and i32 as DataView does, for integers, negatives, fractions and non-finite numbers", () => {
    for (const value of NUMBERS) {
      expect([...new ByteWriter().u16(value).finish()], `u16 ${value}`).toEqual(viaDataView(2, false, value));
      expect([...new ByteWriter().u32(value).finish()], `u32 ${value}`).toEqual(viaDataView(4, false, value));
      expect([...new ByteWriter().i32(value).finish()], `i32 ${value}`).toEqual(viaDataView(4, true, value));
    }
  });

  it("stores u64 as two halves for safe integers and through BigInt otherwise", () => {
    const expected = (value: bigint) => {
      const view = new DataView(new ArrayBuffer(8));
      view.setBigUint64(0, value, true);
      return [...new Uint8Array(view.buffer)];
    };
    for (const value of [0, 1, 0xffffffff, 2 ** 32, 2 ** 53 - 1]) expect([...new ByteWriter().u64(value).finish()]).toEqual(expected(BigInt(value)));
    expect([...new ByteWriter().u64(-1n).finish()]).toEqual(expected(2n ** 64n - 1n));
    expect([...new ByteWriter().u64(2n ** 63n + 9n).finish()]).toEqual(expected(2n ** 63n + 9n));
  });

  it("writes only its own bytes into a reused buffer", () => {
    // Fill spare buffers of several sizes with 0xee, then write small objects with every method.
    for (const size of [8, 64, 256, 1024, 4096]) new ByteWriter(size).bytes(new Uint8Array(size).fill(0xee)).finish();
    for (let round = 0; round < 8; round++) {
      const w = new ByteWriter(round * 100);
      w.u8(1).u16(0x0302).u32(0x07060504).i32(-1).u64(9).utf8("ab").align(8).bytes(Uint8Array.of(5));
      w.patchU32(3, 0x0b0a0908);
      expect([...w.finish()]).toEqual([1, 2, 3, 8, 9, 10, 11, 255, 255, 255, 255, 9, 0, 0, 0, 0, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 5]);
    }
    const table = new StringTable();
    expect(table.add("x")).toBe(1);
    expect([...table.finish()]).toEqual([0, 0x78, 0]);
  });

  it("grows past its initial capacity keeping what it wrote", () => {
    const w = new ByteWriter(8);
    for (let i = 0; i < 1000; i++) w.u32(i);
    const bytes = w.finish();
    expect(bytes.length).toBe(4000);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(4 * 999, true)).toBe(999);
  });

  it("is closed by finish(): a later write, patch or finish is an internal error", () => {
    const w = new ByteWriter().u32(1);
    const bytes = w.finish();
    expect(() => w.u8(0)).toThrow(ElfError);
    expect(() => w.patchU32(0, 2)).toThrow(ElfError);
    expect(() => w.finish()).toThrow(/twice/);
    expect([...bytes]).toEqual([1, 0, 0, 0]);
    expect(() => new ByteWriter().u32(1).patchU32(2, 0)).toThrow(/outside/);
  });
});
