/**
 * The values of program bodies while they are lowered.
 *
 * - `dyn`: a Lua value at run time, a pair of i64 SSA values (tag, payload): see
 *   runtime.ts. Numbers have the constant tag 3 and cost nothing.
 * - `cond`: a boolean as an i64 0/1 (a comparison), tagged only when stored.
 * - `static`: a value known at compile time (maps, the context, library functions, C
 *   types, strings, constants, Lua functions).
 * - `place`: C data in memory, an lvalue: a struct, array or scalar of a C type at
 *   `base + offset (+ index)` in one of the regions the verifier distinguishes. A stack
 *   object (`ffi.new`), a map value (`m[k]`), a field or element of either, or an object
 *   in kernel or user memory behind a C pointer. Aggregates stay places (they are passed
 *   by address); scalars are loaded where a number is needed.
 * - `pointer`: a C pointer value (`ffi.cast('char *', ptregs.ax)`, a pointer field read
 *   from memory): an address in kernel or user memory, dereferenced through
 *   `bpf_probe_read_*`.
 *
 * A map value's address may be null (the key was absent). A place records whether its
 * base is known to be non-null as an i64 SSA value (`nonNull`, constant 1 when known);
 * a place bound to a local keeps that fact in an SSA variable, so that a null check
 * dominating later uses makes them check-free: the null check is emitted once per
 * reference (see memory.ts).
 */
import type { CType, Value } from "@luabpf/ir";
import type { SsaVariable } from "../ssa.js";
import type { StaticValue } from "../values.js";
import type { Dyn } from "../runtime.js";

/** Where a place lives (the verifier's pointer kinds it becomes). */
export type Region =
  /** The program's stack (PTR_TO_STACK): `ffi.new` objects. */
  | "stack"
  /** A map value (PTR_TO_MAP_VALUE[_OR_NULL]): `m[k]`. */
  | "map_value"
  /** The program context (PTR_TO_CTX), read-only. */
  | "ctx"
  /** Kernel or user memory behind a C pointer, read with `bpf_probe_read_{kernel,user}`. */
  | "memory"
  /**
   * A kernel struct behind a BTF-typed pointer (PTR_TO_BTF_ID: the arguments of tp_btf,
   * fentry and fexit programs, and struct pointers read from them), read-only, read with
   * direct loads that the verifier checks against the kernel's BTF.
   */
  | "btf"
  /** A ring buffer record from `ringbuf_reserve` (PTR_TO_MEM, a reference until submitted). */
  | "ringbuf";

/** Kernel or user address space, for `memory` places and C pointers. */
export type AddressSpace = "kernel" | "user";

/** A bit-field inside a place's scalar. */
export interface BitField {
  /** Bits from the start of the place's byte `offset`. */
  readonly shift: number;
  readonly size: number;
}

/** How a bit-field of a kernel struct is read portably (libbpf's BPF_CORE_READ_BITFIELD_PROBED). */
export interface CoreBitField {
  /** field_byte_offset: where the bytes holding it start. */
  readonly byteOffset: Value;
  /** field_byte_size: how many bytes to read (1, 2, 4 or 8) into a zeroed u64. */
  readonly byteSize: Value;
  /** field_lshift_u64, field_rshift_u64: shift left, then right (arithmetically if signed). */
  readonly lshift: Value;
  readonly rshift: Value;
}

/** A local bound to a place, whose null state later uses update. */
export interface PlaceBinding {
  /** i64 0/1 SSA variable: the base is known to be non-null. */
  readonly nonNull: SsaVariable;
}

export interface Place {
  readonly region: Region;
  /** An IR pointer (`ptr.stack`, `ptr.map_value_or_null`, `ptr.ctx`) or, for memory, an i64 address. */
  readonly base: Value;
  /** Constant byte offset from `base`. */
  readonly offset: number;
  /** Dynamic byte offset (i64), bounds-checked when it was computed. */
  readonly index?: Value;
  readonly type: CType;
  readonly bit?: BitField;
  /** A bit-field of a kernel struct in memory, read through CO-RE relocations (instead of `offset`/`bit`). */
  readonly coreBit?: CoreBitField;
  /** i64 0/1: `base` is known to be non-null (constant 1 except for map values). */
  readonly nonNull: Value;
  /** The whole value of a map element (`m[k]`): read as a number, an absent element is nil. */
  readonly whole?: boolean;
  /** For a whole map element: the map's name (for messages). */
  readonly map?: string;
  /** The local this place came from, to record null checks in. */
  readonly binding?: PlaceBinding;
  readonly space?: AddressSpace;
  /**
   * A string of exactly `sizeof(type)` bytes (`ffi.string(data, n)`): it equals only
   * strings of that length. Without it a char array is a C string (up to its first NUL).
   */
  readonly exactString?: boolean;
}

/** A C pointer value: an address in kernel or user memory. */
export interface CPointerValue {
  readonly addr: Value;
  /** The pointed-to type. */
  readonly target: CType;
  readonly space: AddressSpace;
}

/** The value of an expression while lowering. */
export type RValue =
  | ({ readonly kind: "dyn" } & Dyn)
  /** A boolean as an i64 0/1 (a comparison); its tag is `cond + 1`. */
  | { readonly kind: "cond"; readonly cond: Value }
  /** A compile-time value (map, context, dissector, library function, constant, C type, ...). */
  | { readonly kind: "static"; readonly value: StaticValue }
  | { readonly kind: "place"; readonly place: Place }
  | { readonly kind: "pointer"; readonly pointer: CPointerValue };

export const NIL_VALUE: RValue = { kind: "static", value: { kind: "nil" } };

/** A static value as an RValue. */
export function staticValue(value: StaticValue): RValue {
  return { kind: "static", value };
}
