// Values as C types describe them: decoding map keys/values and event records from bytes by
// their BTF type, encoding JavaScript values back for lookups and updates, and the two ways
// luabpf shows them (a `name=value` line, as bpftrace and bcc tools print records, and JSON).
//
// Mapping between C and JavaScript (chosen so that no value loses precision):
//   integers of up to 4 bytes → number; 8- and 16-byte integers → bigint; `_Bool` → boolean;
//   enums → the enumerator's name when the value has one, else the number;
//   float/double → number; pointers → bigint (an address);
//   char arrays (elements are 1-byte ints named like `char`) → string up to the first NUL;
//   other arrays → arrays; structs and unions → plain objects keyed by member name
//   (anonymous members are flattened into their parent, as C lets code name them).
// Bitfields are read by their bit offset and size. All data is little-endian (eBPF hosts are).
import { btfSizeof, skipModifiers, type BtfType } from "@luabpf/elf";

/** A decoded C value. */
export type CValue = number | bigint | boolean | string | CValue[] | { [field: string]: CValue };

function isCharArray(type: BtfType): boolean {
  const base = skipModifiers(type);
  if (base.kind !== "array") return false;
  const elem = skipModifiers(base.elem);
  return elem.kind === "int" && elem.size === 1 && (elem.char === true || /char/.test(elem.name));
}

function readInt(bytes: Uint8Array, offset: number, size: number, signed: boolean): number | bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (size) {
    case 1:
      return signed ? view.getInt8(offset) : view.getUint8(offset);
    case 2:
      return signed ? view.getInt16(offset, true) : view.getUint16(offset, true);
    case 4:
      return signed ? view.getInt32(offset, true) : view.getUint32(offset, true);
    case 8:
      return signed ? view.getBigInt64(offset, true) : view.getBigUint64(offset, true);
    default: {
      let value = 0n;
      for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[offset + i] ?? 0);
      if (signed && size > 0 && (bytes[offset + size - 1]! & 0x80) !== 0) value -= 1n << BigInt(size * 8);
      return value;
    }
  }
}

/** Decodes the value of C type `type` stored at `offset` of `bytes`. */
export function decodeValue(type: BtfType, bytes: Uint8Array, offset = 0): CValue {
  const base = skipModifiers(type);
  switch (base.kind) {
    case "int":
      if (base.bool) return bytes[offset] !== 0;
      return readInt(bytes, offset, base.size, base.signed);
    case "enum":
    case "enum64": {
      const raw = readInt(bytes, offset, base.size, base.signed);
      const found = (base.values as ReadonlyArray<{ name: string; value: number | bigint }>).find(
        (entry) => BigInt(entry.value) === BigInt(raw),
      );
      return found ? found.name : raw;
    }
    case "float": {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return base.size === 4 ? view.getFloat32(offset, true) : view.getFloat64(offset, true);
    }
    case "ptr":
      return readInt(bytes, offset, 8, false);
    case "array": {
      if (isCharArray(base)) {
        const end = bytes.indexOf(0, offset);
        const stop = end < 0 || end > offset + base.count ? offset + base.count : end;
        return new TextDecoder().decode(bytes.subarray(offset, stop));
      }
      const size = btfSizeof(base.elem);
      return Array.from({ length: base.count }, (_, i) => decodeValue(base.elem, bytes, offset + i * size));
    }
    case "struct":
    case "union": {
      const out: { [field: string]: CValue } = {};
      for (const member of base.members) {
        const at = offset + Math.floor(member.bitOffset / 8);
        let value: CValue;
        if (member.bitSize !== undefined && member.bitSize !== 0) {
          value = readBits(bytes, offset, member.bitOffset, member.bitSize, isSigned(member.type));
        } else {
          value = decodeValue(member.type, bytes, at);
        }
        if (member.name === "" && typeof value === "object" && !Array.isArray(value)) Object.assign(out, value);
        else out[member.name || `_${member.bitOffset}`] = value;
      }
      return out;
    }
    case "datasec": {
      // A global-data section's map value: its variables by name.
      const out: { [variable: string]: CValue } = {};
      for (const entry of base.vars) {
        const variable = skipModifiers(entry.var);
        if (variable.kind === "var") out[variable.name] = decodeValue(variable.type, bytes, offset + entry.offset);
      }
      return out;
    }
    default:
      // void, functions, forward declarations: nothing to decode; show the bytes' integer.
      return readInt(bytes, offset, Math.min(8, bytes.byteLength - offset), false);
  }
}

function isSigned(type: BtfType): boolean {
  const base = skipModifiers(type);
  return (base.kind === "int" || base.kind === "enum" || base.kind === "enum64") && base.signed;
}

function readBits(bytes: Uint8Array, offset: number, bitOffset: number, bitSize: number, signed: boolean): number | bigint {
  let value = 0n;
  for (let bit = 0; bit < bitSize; bit++) {
    const at = bitOffset + bit;
    const byte = bytes[offset + (at >> 3)] ?? 0;
    if ((byte >> (at & 7)) & 1) value |= 1n << BigInt(bit);
  }
  if (signed && bitSize > 0 && (value >> BigInt(bitSize - 1)) & 1n) value -= 1n << BigInt(bitSize);
  return bitSize <= 32 ? Number(value) : value;
}

function toBigInt(value: unknown, what: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (typeof value === "boolean") return value ? 1n : 0n;
  if (typeof value === "string" && /^-?(0x[0-9a-f]+|\d+)$/i.test(value)) return BigInt(value);
  throw new TypeError(`${what}: expected an integer, got ${typeof value === "string" ? JSON.stringify(value) : typeof value}`);
}

function writeInt(bytes: Uint8Array, offset: number, size: number, value: bigint): void {
  let v = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++) {
    bytes[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/**
 * Encodes `value` as C type `type` into a new buffer of the type's size. Accepts what
 * {@link decodeValue} produces, and also numbers for bigints, numeric strings, enumerator names,
 * and partial objects (missing members are zero).
 *
 * @throws TypeError naming the member whose value does not fit its type
 */
export function encodeValue(type: BtfType, value: unknown, what = "value"): Uint8Array {
  const bytes = new Uint8Array(btfSizeof(type));
  encodeInto(type, value, bytes, 0, what);
  return bytes;
}

function encodeInto(type: BtfType, value: unknown, bytes: Uint8Array, offset: number, what: string): void {
  const base = skipModifiers(type);
  switch (base.kind) {
    case "int":
    case "ptr": {
      const size = base.kind === "ptr" ? 8 : base.size;
      writeInt(bytes, offset, size, toBigInt(value, what));
      return;
    }
    case "enum":
    case "enum64": {
      const named = (base.values as ReadonlyArray<{ name: string; value: number | bigint }>).find((entry) => entry.name === value);
      writeInt(bytes, offset, base.size, named ? BigInt(named.value) : toBigInt(value, what));
      return;
    }
    case "float": {
      if (typeof value !== "number") throw new TypeError(`${what}: expected a number`);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (base.size === 4) view.setFloat32(offset, value, true);
      else view.setFloat64(offset, value, true);
      return;
    }
    case "array": {
      if (typeof value === "string" && isCharArray(base)) {
        const encoded = new TextEncoder().encode(value);
        if (encoded.length > base.count) throw new TypeError(`${what}: string longer than ${base.count} bytes`);
        bytes.set(encoded, offset);
        return;
      }
      if (!Array.isArray(value)) throw new TypeError(`${what}: expected an array`);
      if (value.length > base.count) throw new TypeError(`${what}: ${value.length} elements for an array of ${base.count}`);
      const size = btfSizeof(base.elem);
      value.forEach((element, i) => encodeInto(base.elem, element, bytes, offset + i * size, `${what}[${i}]`));
      return;
    }
    case "datasec": {
      // A global-data section: its variables by name (missing ones are zero).
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new TypeError(`${what}: expected an object`);
      const record = value as Record<string, unknown>;
      for (const entry of base.vars) {
        const variable = skipModifiers(entry.var);
        if (variable.kind !== "var" || record[variable.name] === undefined) continue;
        encodeInto(variable.type, record[variable.name], bytes, offset + entry.offset, `${what}.${variable.name}`);
      }
      return;
    }
    case "struct":
    case "union": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new TypeError(`${what}: expected an object`);
      const record = value as Record<string, unknown>;
      for (const member of base.members) {
        if (member.bitSize) {
          const field = record[member.name];
          if (field === undefined) continue;
          const v = BigInt.asUintN(member.bitSize, toBigInt(field, `${what}.${member.name}`));
          for (let bit = 0; bit < member.bitSize; bit++) {
            const at = member.bitOffset + bit;
            if ((v >> BigInt(bit)) & 1n) bytes[offset + (at >> 3)]! |= 1 << (at & 7);
          }
          continue;
        }
        const at = offset + member.bitOffset / 8;
        if (member.name === "") {
          encodeInto(member.type, record, bytes, at, what);
          continue;
        }
        if (record[member.name] !== undefined) encodeInto(member.type, record[member.name], bytes, at, `${what}.${member.name}`);
      }
      return;
    }
    default:
      throw new TypeError(`${what}: cannot encode a value of BTF kind ${base.kind}`);
  }
}

/** An unsigned little-endian integer type of `size` bytes, for maps without BTF. */
export function plainIntType(size: number): BtfType {
  const names: Record<number, string> = { 1: "u8", 2: "u16", 4: "u32", 8: "u64" };
  return size in names ? { kind: "int", name: names[size]!, size, signed: false } : { kind: "array", elem: { kind: "int", name: "u8", size: 1, signed: false }, count: size };
}

// ---------------------------------------------------------------------------------------------
// Presentation

function formatScalar(value: CValue): string {
  if (typeof value === "string") return /^[\x21-\x7e]*$/.test(value) && value !== "" ? value : JSON.stringify(value);
  if (typeof value === "bigint" || typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `[${value.map(formatScalar).join(",")}]`;
  return `{${formatFields(value)}}`;
}

function formatFields(value: { [field: string]: CValue }): string {
  return Object.entries(value)
    .map(([name, field]) => `${name}=${formatScalar(field)}`)
    .join(" ");
}

/**
 * One line for a value: a struct prints as `pid=1234 comm=bash ts=...` (nested structs in
 * braces), strings bare when they have no spaces (else JSON-quoted), numbers in decimal.
 */
export function formatValue(value: CValue): string {
  if (typeof value === "object" && !Array.isArray(value)) return formatFields(value);
  return formatScalar(value);
}

/** A JSON-compatible copy: bigints become numbers when exact, decimal strings otherwise. */
export function toJsonValue(value: CValue): unknown {
  if (typeof value === "bigint") return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]));
  return value;
}
