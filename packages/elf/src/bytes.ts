// Little-endian byte buffers: a growable writer and a bounds-checked reader.
// Every multi-byte field of ELF64-LE and BTF goes through these two classes, so
// endianness and bounds checks live in exactly one place. Offsets above 2^53 are
// rejected rather than silently rounded.

import { ElfError } from "./errors.js";

/**
 * Buffers of finished writers, for new writers to reuse. A compile makes some 25 writers
 * (sections, BTF, DWARF units, string tables) for a few hundred bytes each, and a fresh
 * `Uint8Array` per writer (an ArrayBuffer allocated outside the JS heap, then swept by the
 * garbage collector) cost more than most of them write. A reused buffer holds old bytes: every
 * write method below writes each byte it reserves, so no reader sees them.
 */
const spare: Uint8Array[] = [];
/** At most this many spare buffers, none larger than {@link SPARE_MAX_BYTES}. */
const SPARE_LIMIT = 32;
const SPARE_MAX_BYTES = 1 << 22;
/**
 * Inside {@link withScratchBuffers}: the buffers whose views `finish()` handed out, given back
 * when the scope ends (undefined outside one).
 */
let lent: Uint8Array[] | undefined;

function takeBuffer(capacity: number): Uint8Array {
  for (let i = spare.length - 1; i >= 0; i--) {
    const buffer = spare[i]!;
    if (buffer.length >= capacity) {
      spare[i] = spare[spare.length - 1]!;
      spare.pop();
      return buffer;
    }
  }
  return new Uint8Array(capacity);
}

function giveBack(buffer: Uint8Array): void {
  if (spare.length < SPARE_LIMIT && buffer.length <= SPARE_MAX_BYTES) spare.push(buffer);
}

/**
 * Runs `body` with scratch writers: a `ByteWriter.finish()` inside it returns a view of the
 * writer's (reused) buffer instead of a copy, and the buffers go back to the spares when `body`
 * returns or throws. What `body` returns must therefore not be such a view: the ELF writer
 * builds its sections this way and copies them into an output array of its own
 * ({@link ByteWriter.exact}), so a compile allocates one array for the file, not one per section.
 */
export function withScratchBuffers<T>(body: () => T): T {
  const outer = lent;
  const mine: Uint8Array[] = [];
  lent = mine;
  try {
    return body();
  } finally {
    lent = outer;
    for (const buffer of mine) giveBack(buffer);
  }
}

/**
 * Append-only little-endian buffer; doubles its capacity when full (amortised O(1)).
 * `finish()` ends it: its buffer goes back to the spares, and a later write is an error.
 */
export class ByteWriter {
  private buffer: Uint8Array;
  private length = 0;
  /** Whether `finish()` has returned the bytes (the writer is closed then). */
  private finished = false;
  /** The buffer is the writer's own array of the final size (see {@link ByteWriter.exact}). */
  private own = false;

  /** `capacity`: the initial buffer size in bytes (it grows as needed). */
  constructor(capacity = 64) {
    this.buffer = takeBuffer(Math.max(capacity, 8));
  }

  /**
   * A writer of exactly `size` bytes into a fresh array that `finish()` returns as it is (no
   * copy, not a spare). Writing more than `size` bytes still works (the writer grows as any
   * other and `finish()` copies); fewer gives a copy of what was written.
   */
  static exact(size: number): ByteWriter {
    const w = new ByteWriter(0);
    giveBack(w.buffer);
    w.buffer = new Uint8Array(size);
    w.own = true;
    return w;
  }

  get size(): number {
    return this.length;
  }

  /** Grows the buffer; returns the offset of `extra` bytes the caller must all write. */
  private reserve(extra: number): number {
    if (this.finished) throw new ElfError("internal: a ByteWriter written after finish()");
    const at = this.length;
    const needed = at + extra;
    if (needed > this.buffer.length) {
      let capacity = this.buffer.length * 2;
      while (capacity < needed) capacity *= 2;
      const grown = takeBuffer(capacity);
      grown.set(this.buffer.subarray(0, this.length));
      if (!this.own) giveBack(this.buffer);
      this.own = false;
      this.buffer = grown;
    }
    this.length = needed;
    return at;
  }

  u8(value: number): this {
    const at = this.reserve(1);
    this.buffer[at] = value;
    return this;
  }
  // The multi-byte writes store bytes themselves (a typed-array store truncates modulo 256),
  // with the results of DataView's setUint16/setUint32/setInt32 for every number.
  u16(value: number): this {
    const at = this.reserve(2);
    const b = this.buffer;
    b[at] = value;
    b[at + 1] = value >>> 8;
    return this;
  }
  u32(value: number): this {
    this.store32(this.reserve(4), value >>> 0);
    return this;
  }
  i32(value: number): this {
    // The same four bytes as the u32 of the same number (ToInt32 and ToUint32 agree modulo 2^32).
    this.store32(this.reserve(4), value >>> 0);
    return this;
  }
  u64(value: number | bigint): this {
    const at = this.reserve(8);
    if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) {
      // Two halves: no BigInt on the common path (offsets and sizes).
      this.store32(at, value % 0x1_0000_0000);
      this.store32(at + 4, Math.floor(value / 0x1_0000_0000));
    } else {
      new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength).setBigUint64(at, BigInt(value), true);
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
    return scan(text) === NOT_ASCII ? this.bytes(textEncoder.encode(text)) : this.ascii(text);
  }
  /**
   * `text` in UTF-8 and a terminating NUL, for string tables; a NUL inside `text` is an error,
   * found by the same scan that looks for non-ASCII characters (nothing is written then).
   */
  cString(text: string): this {
    // ASCII without NUL (nearly every string) is copied in the same pass that checks it;
    // otherwise what was copied is dropped and the string taken again below.
    const n = text.length;
    const at = this.reserve(n + 1);
    const buffer = this.buffer;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f || c === 0) break;
      buffer[at + i] = c;
    }
    if (i === n) {
      buffer[at + n] = 0;
      return this;
    }
    this.length = at;
    const kind = scan(text);
    if (kind === HAS_NUL || (kind === NOT_ASCII && text.includes("\0"))) throw new ElfError(`string ${JSON.stringify(text)} contains NUL`);
    return (kind === NOT_ASCII ? this.bytes(textEncoder.encode(text)) : this.ascii(text)).u8(0);
  }
  /** `text`, all of whose characters are ASCII (NUL included), one byte each. */
  private ascii(text: string): this {
    const n = text.length;
    const at = this.reserve(n);
    const buffer = this.buffer;
    for (let i = 0; i < n; i++) buffer[at + i] = text.charCodeAt(i);
    return this;
  }
  /** `count` zero bytes. */
  zeros(count: number): this {
    const at = this.reserve(count);
    this.buffer.fill(0, at, at + count);
    return this;
  }
  /** Pads with zero bytes up to a multiple of `alignment`. */
  align(alignment: number): this {
    while (this.length % alignment !== 0) this.u8(0);
    return this;
  }
  /** Overwrites a byte written earlier. */
  patchU8(offset: number, value: number): void {
    if (this.finished) throw new ElfError("internal: a ByteWriter written after finish()");
    if (!(offset >= 0 && offset < this.length)) throw new ElfError(`internal: patch at ${offset} outside the ${this.length} bytes written`);
    this.buffer[offset] = value;
  }
  /** Overwrites a u32 written earlier (used for back-patched lengths). */
  patchU32(offset: number, value: number): void {
    if (this.finished) throw new ElfError("internal: a ByteWriter written after finish()");
    if (!(offset >= 0 && offset + 4 <= this.length)) throw new ElfError(`internal: patch at ${offset} outside the ${this.length} bytes written`);
    this.store32(offset, value >>> 0);
  }
  /**
   * The bytes written, in an array of their own — inside {@link withScratchBuffers}, a view of
   * the writer's buffer valid until the scope ends; ends the writer (it may be called once).
   */
  finish(): Uint8Array {
    if (this.finished) throw new ElfError("internal: ByteWriter.finish() called twice");
    this.finished = true;
    if (this.own && this.length === this.buffer.length) return this.buffer;
    if (lent !== undefined && !this.own) {
      lent.push(this.buffer);
      return this.buffer.subarray(0, this.length);
    }
    const bytes = this.buffer.slice(0, this.length);
    if (!this.own) giveBack(this.buffer);
    this.buffer = bytes;
    return bytes;
  }

  /** `value` (0 ≤ value < 2^32) as four little-endian bytes at `at`. */
  private store32(at: number, value: number): void {
    const b = this.buffer;
    b[at] = value;
    b[at + 1] = value >>> 8;
    b[at + 2] = value >>> 16;
    b[at + 3] = value >>> 24;
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

/** What {@link scan} found: only ASCII characters other than NUL; ASCII with a NUL; a non-ASCII character. */
const PLAIN = 0;
const HAS_NUL = 1;
const NOT_ASCII = 2;

/** Whether `text` holds a non-ASCII character, else whether it holds a NUL (one pass). */
function scan(text: string): typeof PLAIN | typeof HAS_NUL | typeof NOT_ASCII {
  let nul = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return NOT_ASCII;
    if (c === 0) nul = true;
  }
  return nul ? HAS_NUL : PLAIN;
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
  /** Offsets of the strings added (the empty string's, 0, is not kept: it is answered first). */
  private readonly offsets = new Map<string, number>();
  private readonly writer = new ByteWriter(256).u8(0);

  add(text: string): number {
    if (text === "") return 0;
    const known = this.offsets.get(text);
    if (known !== undefined) return known;
    const offset = this.writer.size;
    this.writer.cString(text); // throws on a NUL in `text`
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
