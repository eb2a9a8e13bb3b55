/**
 * The C type model of data in memory: integers, pointers, arrays, structs and unions
 * (with bit-fields and anonymous members), enums, typedefs, functions and void. The Lua
 * front end builds these from `ffi.cdef` declarations and type names; map declarations
 * carry them (`MapDecl.keyType`/`valueType`) so that the object's BTF describes keys and
 * values as C does, and {@link dataTypeOfC} gives the layout view the IR works with.
 *
 * Types are plain immutable objects, except records and enums, which are created
 * incomplete when their tag is first seen (`struct node *next;`) and completed in place
 * when their body is parsed, so that self-referential types need no indirection. Every
 * size and offset is the one clang computes for `-target bpf` (an LP64, little-endian
 * target whose `char` is signed); the front end's ctypes/layout.ts implements the rules.
 *
 * Qualifiers (`const`, `volatile`) are accepted and dropped: they change nothing in an
 * eBPF program's layout or code.
 */

/** An integer type. `name` is its C spelling ("unsigned int"), also used for BTF. */
export interface CInt {
  readonly kind: "int";
  readonly name: string;
  readonly size: 1 | 2 | 4 | 8;
  readonly signed: boolean;
  /** `char`, `signed char`, `unsigned char`: BTF marks them so that tools print text. */
  readonly char: boolean;
  /** `_Bool`. */
  readonly bool: boolean;
}

export interface CVoid {
  readonly kind: "void";
}

/** A pointer: 8 bytes on the BPF target. */
export interface CPointer {
  readonly kind: "pointer";
  readonly target: CType;
}

/** `T[N]`; `count` is undefined for a flexible array member `T[]` (size 0). */
export interface CArray {
  readonly kind: "array";
  readonly element: CType;
  readonly count: number | undefined;
}

/** A member of a struct or union. */
export interface CMember {
  /** Undefined for an anonymous struct/union member or an unnamed bit-field. */
  readonly name: string | undefined;
  readonly type: CType;
  /** Byte offset of the member (for a bit-field: of the byte holding its first bit). */
  readonly offset: number;
  /** Bit-fields only: the absolute bit offset in the record and the width. */
  readonly bitOffset?: number;
  readonly bitSize?: number;
}

/** A struct or union. `members` is undefined while the type is incomplete. */
export interface CRecord {
  readonly kind: "struct" | "union";
  /** The tag, or undefined for an anonymous record. */
  readonly tag: string | undefined;
  members: readonly CMember[] | undefined;
  size: number;
  align: number;
  /** `static const int X = 1;` inside the body (a LuaJIT extension): named constants. */
  constants: ReadonlyMap<string, bigint>;
}

/** An enum; its values are also constants of the scope it was declared in. */
export interface CEnum {
  readonly kind: "enum";
  readonly tag: string | undefined;
  /** The underlying integer type (int, unsigned int, or 64-bit when a value needs it). */
  underlying: CInt;
  values: ReadonlyMap<string, bigint> | undefined;
}

/** `typedef T name;`: a name for `target`, kept for messages and BTF. */
export interface CTypedef {
  readonly kind: "typedef";
  readonly name: string;
  readonly target: CType;
}

/** A function type (only behind pointers, or in ignored function declarations). */
export interface CFunction {
  readonly kind: "function";
  readonly result: CType;
  readonly params: readonly CType[];
  readonly variadic: boolean;
}

export type CType = CInt | CVoid | CPointer | CArray | CRecord | CEnum | CTypedef | CFunction;

import { InternalError } from "./errors.js";
import { arrayOf, defineStruct, type DataType } from "./module.js";
import { i64, i8, intTypeOfSize } from "./types.js";

// ---- constructors ----

function int(name: string, size: 1 | 2 | 4 | 8, signed: boolean, extra: { char?: boolean; bool?: boolean } = {}): CInt {
  return Object.freeze({ kind: "int", name, size, signed, char: extra.char ?? false, bool: extra.bool ?? false });
}

/** The base integer types of the BPF target, by canonical C spelling. */
export const C_INTS = {
  char: int("char", 1, true, { char: true }),
  "signed char": int("signed char", 1, true, { char: true }),
  "unsigned char": int("unsigned char", 1, false, { char: true }),
  short: int("short", 2, true),
  "unsigned short": int("unsigned short", 2, false),
  int: int("int", 4, true),
  "unsigned int": int("unsigned int", 4, false),
  long: int("long", 8, true),
  "unsigned long": int("unsigned long", 8, false),
  "long long": int("long long", 8, true),
  "unsigned long long": int("unsigned long long", 8, false),
  _Bool: int("_Bool", 1, false, { bool: true }),
} as const satisfies Record<string, CInt>;

export const C_VOID: CVoid = Object.freeze({ kind: "void" });

export function cPointerTo(target: CType): CPointer {
  return { kind: "pointer", target };
}

export function cArrayOf(element: CType, count: number | undefined): CArray {
  return { kind: "array", element, count };
}

export function cTypedefOf(name: string, target: CType): CTypedef {
  return { kind: "typedef", name, target };
}

// ---- queries ----

/** `t` without its typedef names. */
export function cResolve(t: CType): Exclude<CType, CTypedef> {
  let r: CType = t;
  while (r.kind === "typedef") r = r.target;
  return r;
}

/** Integer-like: integers and enums (what arithmetic and scalar loads apply to). */
export function cScalarInt(t: CType): CInt | undefined {
  const r = cResolve(t);
  if (r.kind === "int") return r;
  if (r.kind === "enum") return r.underlying;
  return undefined;
}

export function cIsComplete(t: CType): boolean {
  const r = cResolve(t);
  switch (r.kind) {
    case "void":
    case "function":
      return false;
    case "struct":
    case "union":
      return r.members !== undefined;
    case "enum":
      return r.values !== undefined;
    case "array":
      return cIsComplete(r.element);
    default:
      return true;
  }
}

/** `sizeof(t)` in bytes (0 for incomplete types, void and flexible arrays). */
export function cSizeof(t: CType): number {
  const r = cResolve(t);
  switch (r.kind) {
    case "int":
      return r.size;
    case "pointer":
      return 8;
    case "array":
      return r.count === undefined ? 0 : r.count * cSizeof(r.element);
    case "struct":
    case "union":
      return r.members === undefined ? 0 : r.size;
    case "enum":
      return r.underlying.size;
    case "void":
    case "function":
      return 0;
  }
}

/** `_Alignof(t)` in bytes. */
export function cAlignof(t: CType): number {
  const r = cResolve(t);
  switch (r.kind) {
    case "int":
      return r.size;
    case "pointer":
      return 8;
    case "array":
      return cAlignof(r.element);
    case "struct":
    case "union":
      return r.align;
    case "enum":
      return r.underlying.size;
    case "void":
    case "function":
      return 1;
  }
}

/** A member found by name, possibly inside anonymous members, with its total offset. */
export interface FoundMember {
  readonly member: CMember;
  /** Byte offset from the start of the outermost record. */
  readonly offset: number;
  /** Absolute bit offset (bit-fields only). */
  readonly bitOffset?: number;
}

/** Looks `name` up among a record's members, descending into anonymous records. */
export function cFindMember(record: CRecord, name: string): FoundMember | undefined {
  for (const m of record.members ?? []) {
    if (m.name === name) return { member: m, offset: m.offset, ...(m.bitOffset !== undefined ? { bitOffset: m.bitOffset } : {}) };
    if (m.name === undefined && m.bitSize === undefined) {
      const inner = cResolve(m.type);
      if (inner.kind === "struct" || inner.kind === "union") {
        const found = cFindMember(inner, name);
        if (found) {
          return {
            member: found.member,
            offset: m.offset + found.offset,
            ...(found.bitOffset !== undefined ? { bitOffset: m.offset * 8 + found.bitOffset } : {}),
          };
        }
      }
    }
  }
  return undefined;
}

/** The names of a record's members (anonymous members contribute theirs), for messages. */
export function cMemberNames(record: CRecord): string[] {
  const out: string[] = [];
  for (const m of record.members ?? []) {
    if (m.name !== undefined) out.push(m.name);
    else if (m.bitSize === undefined) {
      const inner = cResolve(m.type);
      if (inner.kind === "struct" || inner.kind === "union") out.push(...cMemberNames(inner));
    }
  }
  return out;
}

/** The C spelling of a type, as in a declaration without a name (`char [16]`, `struct x *`). */
export function describeCType(t: CType): string {
  return cDeclarator(t, "");
}

/** The C declaration of `name` with type `t` (`char comm[16]`, `int (*f)(int)`). */
export function cDeclarator(t: CType, name: string): string {
  switch (t.kind) {
    case "int":
      return join(t.name, name);
    case "void":
      return join("void", name);
    case "typedef":
      return join(t.name, name);
    case "struct":
    case "union":
      return join(t.tag !== undefined ? `${t.kind} ${t.tag}` : `${t.kind} {...}`, name);
    case "enum":
      return join(t.tag !== undefined ? `enum ${t.tag}` : "enum {...}", name);
    case "pointer": {
      const inner = t.target.kind === "array" || t.target.kind === "function" ? `(*${name})` : `*${name}`;
      return cDeclarator(t.target, inner);
    }
    case "array":
      return cDeclarator(t.element, `${name}[${t.count ?? ""}]`);
    case "function": {
      const params = t.params.map((p) => describeCType(p));
      if (t.variadic) params.push("...");
      return cDeclarator(t.result, `${name}(${params.length > 0 ? params.join(", ") : "void"})`);
    }
  }
}

function join(base: string, name: string): string {
  return name === "" ? base : `${base} ${name}`;
}

/**
 * The IR's layout view of a complete C object type: integers of the same size, pointers
 * as i64, arrays element-wise, and structs as IR structs with the C offsets. Records the
 * IR's struct form cannot express (unions, bit-fields, packed or over-aligned members)
 * become a byte array of the same size; the C view keeps their full description.
 */
export function dataTypeOfC(t: CType): DataType {
  const r = cResolve(t);
  switch (r.kind) {
    case "int":
      return intTypeOfSize(r.size);
    case "enum":
      return intTypeOfSize(r.underlying.size);
    case "pointer":
      return i64;
    case "array":
      return arrayOf(dataTypeOfC(r.element), r.count ?? 0);
    case "struct":
    case "union": {
      const members = r.members ?? [];
      const natural = r.kind === "struct" && members.every((m) => m.name !== undefined && m.bitSize === undefined);
      if (natural) {
        const s = defineStruct(
          r.tag ?? "",
          members.map((m) => ({ name: m.name!, type: dataTypeOfC(m.type) })),
        );
        if (s.size === r.size && s.fields.every((f, i) => f.offset === members[i]!.offset)) return s;
      }
      return arrayOf(i8, r.size);
    }
    case "void":
    case "function":
      throw new InternalError(`dataTypeOfC: ${describeCType(t)} is not an object type`);
  }
}
