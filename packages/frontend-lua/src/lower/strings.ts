/**
 * String literals in program bodies. They are compile-time constants; at run time they
 * exist only as the immediates that compare with, or are stored into, C data:
 *
 * - `buf == 'abc'` with a char array (a stack buffer, a map value's field): equal when
 *   the first #s bytes match and, if the array is longer, the next byte is 0 — C string
 *   equality. (bcc compared only the first #s bytes, so 'abc' also matched 'abcdef': a
 *   plain bug.) Emitted as aligned loads XORed with the string's bytes, ORed together
 *   and compared with 0: one branch.
 * - `h == 'GET '` with a number (packet bytes read with `data(0, 4)`, a map key): the
 *   string's bytes as a big-endian (network order) integer, at most 8 bytes — what a
 *   packet load of the same bytes yields. (bcc padded strings shorter than 4 bytes to 4,
 *   so a 2-byte string never equalled a 2-byte load: a plain bug.)
 * - as a map key or value: bytes for char-array keys, the big-endian integer for integer keys.
 * - `ffi.string(data, n) == 'abc'` (exactly n bytes, lower/library.ts): equal only when
 *   #s == n and the bytes match.
 * - `ffi.copy(buf, 'abc')` and `s.name = 'abc'`: the bytes, NUL-padded to the array's size.
 * - `print('%d\n', x)`: the format string (library.ts).
 */
import { intTypeOfSize, cSizeof, describeCType, cResolve, cScalarInt, type Value } from "@luabpf/ir";
import type * as lua from "luaparse";
import { TAG_NUMBER } from "../runtime.js";
import type { BodyLowering } from "./body.js";
import { describeRValue, isAggregate, requireAddress } from "./memory.js";
import type { Place, RValue } from "./values.js";

export function isStringValue(rv: RValue): rv is { kind: "static"; value: { kind: "string"; value: string } } {
  return rv.kind === "static" && rv.value.kind === "string";
}

/** The bytes of a string literal (its code units are the source bytes). */
export function stringBytes(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0) & 0xff);
}

/** `s` as a big-endian integer of its bytes (as a packet load of them reads), at most `limit` bytes. */
export function stringAsInteger(L: BodyLowering, s: string, node: lua.Node, limit = 8): bigint {
  const bytes = stringBytes(s);
  if (bytes.length > limit) L.fail(node, `the string '${s}' has ${bytes.length} bytes; compared with a number it can have at most ${limit}`);
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return BigInt.asIntN(64, v);
}

/** `a == b` where at least one side is a string. */
export function compareWithString(L: BodyLowering, left: RValue, right: RValue, node: lua.BinaryExpression): Value {
  const b = L.b;
  if (isStringValue(left) && isStringValue(right)) return b.const(left.value.value === right.value.value ? 1 : 0);
  const [s, other, otherNode] = isStringValue(left) ? [left.value.value, right, node.right] : [(right as { value: { value: string } }).value.value, left, node.left];
  switch (other.kind) {
    case "static":
      return b.const(0);
    case "cond":
      return b.const(0);
    case "pointer":
      return L.fail(otherNode, "a C pointer cannot be compared with a string; copy the string into a buffer first (ffi.copy)");
    case "place": {
      const place = other.place;
      if (isAggregate(place.type)) return compareBytes(L, place, s, otherNode);
      const n = L.toDyn(other, otherNode);
      return L.ops.and01(L.ops.compare("eq", n.tag, b.const(TAG_NUMBER)), L.ops.compare("eq", n.payload, b.const(stringAsInteger(L, s, node, cSizeof(place.type)))));
    }
    case "dyn": {
      const k = b.const(stringAsInteger(L, s, node));
      if (L.ops.knownType(other) === "number") return L.ops.compare("eq", other.payload, k);
      return L.ops.and01(L.ops.compare("eq", other.tag, b.const(TAG_NUMBER)), L.ops.compare("eq", other.payload, k));
    }
  }
}

/** C string equality of a char array with `s` (see the file comment). */
function compareBytes(L: BodyLowering, place: Place, s: string, node: lua.Node): Value {
  const b = L.b;
  const t = cResolve(place.type);
  const elem = t.kind === "array" ? cScalarInt(t.element) : undefined;
  if (!elem || elem.size !== 1) return L.fail(node, `only char arrays compare with strings, not ${describeRValue(L, { kind: "place", place })}`);
  if (place.region === "memory" || place.region === "btf") return L.fail(node, "C data behind a pointer cannot be compared directly; ffi.copy it into a buffer first");
  const size = cSizeof(place.type);
  const bytes = stringBytes(s);
  if (bytes.length > size || (place.exactString && bytes.length !== size)) return b.const(0);
  // The string's bytes, then a terminating 0 if the array has room for it.
  const expect = bytes.length < size ? [...bytes, 0] : bytes;
  const addr = requireAddress(L, place);
  let acc: Value | undefined;
  let off = 0;
  while (off < expect.length) {
    const w = place.index ? 1 : chunk(expect.length - off, place.offset + off);
    let k = 0n;
    for (let i = w - 1; i >= 0; i--) k = (k << 8n) | BigInt(expect[off + i]!); // little-endian load
    const it = intTypeOfSize(w);
    const loaded = b.load(it, addr, off);
    const wide = w === 8 ? loaded : b.cast("zext", loaded, intTypeOfSize(8));
    const diff = b.xor(wide, b.const(BigInt.asIntN(64, k)));
    acc = acc ? b.or(acc, diff) : diff;
    off += w;
  }
  return L.ops.compare("eq", acc!, b.const(0));
}

function chunk(remaining: number, offset: number): number {
  for (const w of [8, 4, 2, 1]) if (remaining >= w && offset % w === 0) return w;
  return 1;
}

/** Stores `s` into a char array at `to` (`size` bytes), NUL-padded. */
export function stringBytesInto(L: BodyLowering, to: Value, size: number, s: string, node: lua.Node): void {
  const bytes = stringBytes(s);
  if (bytes.length > size) L.fail(node, `the string '${s}' (${bytes.length} bytes) does not fit in ${size} bytes`);
  const b = L.b;
  let off = 0;
  while (off < size) {
    const w = chunk(size - off, off);
    let k = 0n;
    for (let i = w - 1; i >= 0; i--) k = (k << 8n) | BigInt(bytes[off + i] ?? 0);
    b.store(b.const(BigInt.asIntN(w * 8, k), intTypeOfSize(w)), to, off);
    off += w;
  }
}

/** `place = 'abc'` for a char array place. */
export function storeStringBytes(L: BodyLowering, place: Place, s: string, node: lua.Node): void {
  const t = cResolve(place.type);
  const elem = t.kind === "array" ? cScalarInt(t.element) : undefined;
  if (!elem || elem.size !== 1) return L.fail(node, `a string can only be stored into a char array, not '${describeCType(place.type)}'`);
  if (place.offset % 8 !== 0) {
    // Unaligned destination: byte stores.
    const addr = requireAddress(L, place);
    const bytes = stringBytes(s);
    const size = cSizeof(place.type);
    if (bytes.length > size) L.fail(node, `the string '${s}' (${bytes.length} bytes) does not fit in ${size} bytes`);
    for (let i = 0; i < size; i++) L.b.store(L.b.const(bytes[i] ?? 0, intTypeOfSize(1)), addr, i);
    return;
  }
  stringBytesInto(L, requireAddress(L, place), cSizeof(place.type), s, node);
}
