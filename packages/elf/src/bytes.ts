// Little-endian byte buffers: a growable writer and a bounds-checked reader.
// Every multi-byte field of ELF64-LE and BTF goes through these two classes, so
// endianness and bounds checks live in exactly one place. Offsets above 2^53 are
// rejected rather than silently rounded.

import { ElfError } from "./errors.js";

/** Append-only little-endian buffer; doubles its capacity when full (amortised O(1)). */
export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  /** `capacity`: the initial buffer size in bytes (it grows as needed). */
  constructor(capacity = 64) {
    this.buffer = new Uint8Array(Math.max(capacity, 8));
    this.view = new DataView(this.buffer.buffer);
  }

  get size(): number {
    return this.length;
  }

  /** Grows the buffer; callers must read `this.view` only after calling this. */
  private reserve(extra: number): number {
    const at = this.length;
    const needed = at + extra;
    if (needed > this.buffer.length) {
      let capacity = this.buffer.length * 2;
      while (capacity < needed) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length = needed;
    return at;
  }

  u8(value: number): this {
    const at = this.reserve(1);
    this.buffer[at] = value;
    return this;
  }
  u16(value: number): this {
    const at = this.reserve(2);
    this.view.setUint16(at, value, true);
    return this;
  }
  u32(value: number): this {
    const at = this.reserve(4);
    this.view.setUint32(at, value >>> 0, true);
    return this;
  }
  i32(value: number): this {
    const at = this.reserve(4);
    this.view.setInt32(at, value, true);
    return this;
  }
  u64(value: number | bigint): this {
    const at = this.reserve(8);
    if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) {
      // Two halves: no BigInt on the common path (offsets and sizes).
      this.view.setUint32(at, value % 0x1_0000_0000, true);
      this.view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
    } else {
      this.view.setBigUint64(at, BigInt(value), true);
    }
    return this;
  }
  bytes(data: Uint8Array): this {
    const at = this.reserve(data.length);
    this.buffer.set(data, at);
    return this;
  }
  /** `text` in UTF-8 (ASCII, nearly all names and source lines, is copied without an encoder call). */
  utf8(text: string): this {
    const n = text.length;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (text.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (!ascii) return this.bytes(textEncoder.encode(text));
    const at = this.reserve(n);
    const buffer = this.buffer;
    for (let i = 0; i < n; i++) buffer[at + i] = text.charCodeAt(i);
    return this;
  }
  /** Pads with zero bytes up to a multiple of `alignment`. */
  align(alignment: number): this {
    while (this.length % alignment !== 0) this.u8(0);
    return this;
  }
  /** Overwrites a u32 written earlier (used for back-patched lengths). */
  patchU32(offset: number, value: number): void {
    this.view.setUint32(offset, value >>> 0, true);
  }
  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** Bounds-checked little-endian reads from a fixed byte array at absolute offsets. */
export class ByteReader {
  private readonly view: DataView;
  readonly bytes: Uint8Array;

  constructor(
    bytes: Uint8Array,
    private readonly what = "buffer",
  ) {
    // A plain Uint8Array view, so slices are Uint8Array even when given a Node Buffer.
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  check(offset: number, size: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || size < 0 || offset + size > this.bytes.length) {
      throw new ElfError(
        `${this.what} truncated: need ${size} byte(s) at offset ${offset}, have ${this.bytes.length}`,
      );
    }
  }
  u8(offset: number): number {
    this.check(offset, 1);
    return this.view.getUint8(offset);
  }
  u16(offset: number): number {
    this.check(offset, 2);
    return this.view.getUint16(offset, true);
  }
  u32(offset: number): number {
    this.check(offset, 4);
    return this.view.getUint32(offset, true);
  }
  i32(offset: number): number {
    this.check(offset, 4);
    return this.view.getInt32(offset, true);
  }
  /** A u64 that must fit a JS number exactly (offsets, sizes). */
  u64(offset: number): number {
    const value = this.u64Big(offset);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ElfError(`${this.what}: 64-bit value ${value} at offset ${offset} is too large`);
    }
    return Number(value);
  }
  u64Big(offset: number): bigint {
    this.check(offset, 8);
    return this.view.getBigUint64(offset, true);
  }
  slice(offset: number, size: number): Uint8Array {
    this.check(offset, size);
    return this.bytes.slice(offset, offset + size);
  }
  /** NUL-terminated string starting at `offset` (UTF-8). */
  cString(offset: number): string {
    this.check(offset, 0);
    const end = this.bytes.indexOf(0, offset);
    if (end < 0) throw new ElfError(`${this.what}: unterminated string at offset ${offset}`);
    return textDecoder.decode(this.bytes.subarray(offset, end));
  }
}

const textDecoder = new TextDecoder("utf-8", { fatal: false });
const textEncoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/**
 * A string table (ELF `.strtab`, BTF string section): offset 0 is the empty string,
 * each distinct string is stored once, in first-insertion order (deterministic).
 */
export class StringTable {
  private readonly offsets = new Map<string, number>([["", 0]]);
  private readonly writer = new ByteWriter(256).u8(0);

  add(text: string): number {
    const known = this.offsets.get(text);
    if (known !== undefined) return known;
    if (text.includes("\0")) throw new ElfError(`string ${JSON.stringify(text)} contains NUL`);
    const offset = this.writer.size;
    this.writer.utf8(text).u8(0);
    this.offsets.set(text, offset);
    return offset;
  }
  get size(): number {
    return this.writer.size;
  }
  finish(): Uint8Array {
    return this.writer.finish();
  }
}
