/**
 * Memory accesses of the interpreter: bounds-checked little-endian loads and stores of
 * 1/2/4/8 bytes through `(object, offset)` pointers, per-byte initialisation of the
 * stack, pointer spills to the stack, ctx fields that hold packet pointers, and the
 * legacy big-endian packet load.
 *
 * Errors are thrown as {@link InterpError}s without location; the execution loop attaches
 * the instruction that was running.
 */
import type { Type } from "../types.js";
import { InterpError, InterpPointer, type InterpValue, type MemoryObject } from "./values.js";

/** Which packet pointer a ctx field holds. */
export type CtxPointerKind = "packet" | "packet_end" | "packet_meta";

/** What memory accesses need to know about the run. */
export interface MemoryEnv {
  /** ctx byte offset → the packet pointer a load there yields. */
  readonly ctxPointers: ReadonlyMap<number, CtxPointerKind>;
  /** The packet pointers, by kind. */
  packetPointer(kind: CtxPointerKind): InterpPointer;
}

/** The object `p` points into, checked to be a live data object. */
function target(p: InterpValue | undefined, what: string): InterpPointer {
  if (p instanceof InterpPointer) {
    const o = p.object;
    if (!o.live) {
      throw new InterpError(o.kind === "stack" ? `${what} of ${o.name} after its function returned` : `${what} of ${o.name} after the entry was deleted`);
    }
    if (o.kind === "map") throw new InterpError(`${what} through a map handle (${o.name})`);
    return p;
  }
  if (p === undefined) throw new InterpError(`${what} through an undefined value`);
  throw new InterpError(p === 0n ? `${what} through a null pointer` : `${what} through the integer address ${p}`);
}

/** The byte index of an access of `size` bytes at `p + off`, bounds-checked. */
function place(p: InterpPointer, off: number, size: number, what: string): number {
  // Number() is exact for any in-bounds offset; a huge offset stays huge and fails.
  const at = Number(p.offset) + off;
  const len = p.object.bytes.length;
  if (!(at >= 0 && at + size <= len)) {
    throw new InterpError(`out-of-bounds ${what} of ${size} bytes at offset ${p.offset + BigInt(off)} of ${p.object.name} (${len} bytes)`);
  }
  return at;
}

function checkInit(o: MemoryObject, at: number, size: number): void {
  const init = o.init;
  if (!init) return;
  for (let i = 0; i < size; i++) {
    if (init[at + i] === 0) throw new InterpError(`read of uninitialised stack byte at offset ${at + i} of ${o.name}`);
  }
}

/** Whether a spilled pointer overlaps bytes [at, at+size); the exact slot when `exact`. */
function spilledPointer(o: MemoryObject, at: number, size: number): InterpPointer | undefined | "partial" {
  const slots = o.slots;
  if (!slots || slots.size === 0) return undefined;
  for (let s = at - (at & 7); s < at + size; s += 8) {
    const p = slots.get(s);
    if (p) return s === at && size === 8 ? p : "partial";
  }
  return undefined;
}

function clearSlots(o: MemoryObject, at: number, size: number): void {
  const slots = o.slots;
  if (!slots || slots.size === 0) return;
  for (let s = at - (at & 7); s < at + size; s += 8) slots.delete(s);
}

function readInt(o: MemoryObject, at: number, size: number): bigint {
  const v = o.view;
  switch (size) {
    case 1:
      return BigInt(v.getInt8(at));
    case 2:
      return BigInt(v.getInt16(at, true));
    case 4:
      return BigInt(v.getInt32(at, true));
    default:
      return v.getBigInt64(at, true);
  }
}

function writeInt(o: MemoryObject, at: number, size: number, x: bigint): void {
  const v = o.view;
  switch (size) {
    case 1:
      v.setInt8(at, Number(BigInt.asIntN(8, x)));
      break;
    case 2:
      v.setInt16(at, Number(BigInt.asIntN(16, x)), true);
      break;
    case 4:
      v.setInt32(at, Number(BigInt.asIntN(32, x)), true);
      break;
    default:
      v.setBigInt64(at, x, true);
  }
}

/** `load T p, off`: an integer normalized to T, or a pointer (spilled, or a ctx packet field). */
export function loadValue(env: MemoryEnv, p: InterpValue | undefined, off: number, type: Type): InterpValue {
  const ptr = target(p, "load");
  const o = ptr.object;
  if (o.kind === "ctx") {
    const at = Number(ptr.offset) + off;
    const kind = env.ctxPointers.get(at);
    if (kind !== undefined && (type.kind === "ptr" || type.size === 4)) {
      place(ptr, off, 4, "load");
      return env.packetPointer(kind);
    }
  }
  const size = type.size;
  const at = place(ptr, off, size, "load");
  checkInit(o, at, size);
  const spilled = spilledPointer(o, at, size);
  if (spilled === "partial") throw new InterpError(`partial load of a pointer spilled to ${o.name}`);
  if (spilled) return spilled;
  return readInt(o, at, size);
}

/** `store T v, p, off`. Pointers may be stored only to 8-byte aligned stack slots. */
export function storeValue(env: MemoryEnv, v: InterpValue | undefined, p: InterpValue | undefined, off: number, type: Type): void {
  const ptr = target(p, "store");
  const o = ptr.object;
  const size = type.size;
  const at = place(ptr, off, size, "store");
  if (o.kind === "ctx" && env.ctxPointers.size > 0) {
    for (const field of env.ctxPointers.keys()) {
      if (field < at + size && at < field + 4) throw new InterpError(`store to the packet pointer field at ctx offset ${field}`);
    }
  }
  if (typeof v === "bigint") {
    clearSlots(o, at, size);
    writeInt(o, at, size, v);
  } else if (v instanceof InterpPointer) {
    if (o.kind !== "stack") throw new InterpError(`store of a pointer to ${o.name} (pointers may only be spilled to the stack)`);
    if (size !== 8 || (at & 7) !== 0) throw new InterpError(`store of a pointer to ${o.name} at offset ${at}: not an aligned 8-byte slot`);
    (o.slots ??= new Map()).set(at, v);
    writeInt(o, at, 8, 0n);
  } else throw new InterpError("store of an undefined value");
  if (o.init) o.init.fill(1, at, at + size);
}

/** `atomic.add` / `atomic.fetch_add`: adds `v` to the T-sized integer at `p + off`, returns the old value. */
export function atomicAdd(p: InterpValue | undefined, off: number, type: Type, v: InterpValue | undefined): bigint {
  const ptr = target(p, "atomic add");
  const o = ptr.object;
  if (o.kind === "packet" || o.kind === "ctx") throw new InterpError(`atomic add to ${o.name}`);
  if (typeof v !== "bigint") throw new InterpError("atomic add of a non-integer value");
  const size = type.size;
  const at = place(ptr, off, size, "atomic add");
  checkInit(o, at, size);
  if (spilledPointer(o, at, size)) throw new InterpError(`atomic add to a pointer spilled to ${o.name}`);
  const old = readInt(o, at, size);
  writeInt(o, at, size, old + v);
  return old;
}

/** Copies `size` bytes from `p` (for helpers: map keys, values). */
export function readBytes(p: InterpValue | undefined, size: number): Uint8Array {
  const ptr = target(p, "read");
  const at = place(ptr, 0, size, "read");
  checkInit(ptr.object, at, size);
  if (spilledPointer(ptr.object, at, size)) throw new InterpError(`read of a pointer spilled to ${ptr.object.name}`);
  return ptr.object.bytes.slice(at, at + size);
}

/** Writes `bytes` at `p` (for helpers). */
export function writeBytes(p: InterpValue | undefined, bytes: Uint8Array): void {
  const ptr = target(p, "write");
  const o = ptr.object;
  const at = place(ptr, 0, bytes.length, "write");
  clearSlots(o, at, bytes.length);
  o.bytes.set(bytes, at);
  if (o.init) o.init.fill(1, at, at + bytes.length);
}

/**
 * `pktload T ctx, idx, off`: the T bytes at packet byte `idx + off`, big-endian, as a
 * normalized T; undefined when out of bounds (the caller then returns 0, like LD_ABS).
 */
export function packetLoad(packet: MemoryObject, index: InterpValue | undefined, off: number, bits: number): bigint | undefined {
  if (typeof index !== "bigint") throw new InterpError("pktload with a non-integer index");
  const size = bits / 8;
  const start = index + BigInt(off);
  if (start < 0n || start + BigInt(size) > BigInt(packet.bytes.length)) return undefined;
  const at = Number(start);
  let x = 0n;
  for (let i = 0; i < size; i++) x = (x << 8n) | BigInt(packet.bytes[at + i]!);
  return BigInt.asIntN(bits, x);
}
