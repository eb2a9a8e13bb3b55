/**
 * The C type model of `ffi.cdef` declarations and type names: integers, pointers, arrays,
 * structs and unions (with bit-fields and anonymous members), enums, typedefs, functions
 * and void.
 *
 * Types are plain immutable objects, except records and enums, which are created
 * incomplete when their tag is first seen (`struct node *next;`) and completed in place
 * when their body is parsed, so that self-referential types need no indirection. Every
 * size and offset is the one clang computes for `-target bpf` (an LP64, little-endian
 * target whose `char` is signed); layout.ts implements the rules.
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

export function pointerTo(target: CType): CPointer {
  return { kind: "pointer", target };
}

export function arrayOfC(element: CType, count: number | undefined): CArray {
  return { kind: "array", element, count };
}

export function typedefOf(name: string, target: CType): CTypedef {
  return { kind: "typedef", name, target };
}

// ---- queries ----

/** `t` without its typedef names. */
export function resolve(t: CType): Exclude<CType, CTypedef> {
  let r: CType = t;
  while (r.kind === "typedef") r = r.target;
  return r;
}

/** Integer-like: integers and enums (what arithmetic and scalar loads apply to). */
export function scalarInt(t: CType): CInt | undefined {
  const r = resolve(t);
  if (r.kind === "int") return r;
  if (r.kind === "enum") return r.underlying;
  return undefined;
}

export function isComplete(t: CType): boolean {
  const r = resolve(t);
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
      return isComplete(r.element);
    default:
      return true;
  }
}

/** `sizeof(t)` in bytes (0 for incomplete types, void and flexible arrays). */
export function sizeOf(t: CType): number {
  const r = resolve(t);
  switch (r.kind) {
    case "int":
      return r.size;
    case "pointer":
      return 8;
    case "array":
      return r.count === undefined ? 0 : r.count * sizeOf(r.element);
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
export function alignOf(t: CType): number {
  const r = resolve(t);
  switch (r.kind) {
    case "int":
      return r.size;
    case "pointer":
      return 8;
    case "array":
      return alignOf(r.element);
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
export function findMember(record: CRecord, name: string): FoundMember | undefined {
  for (const m of record.members ?? []) {
    if (m.name === name) return { member: m, offset: m.offset, ...(m.bitOffset !== undefined ? { bitOffset: m.bitOffset } : {}) };
    if (m.name === undefined && m.bitSize === undefined) {
      const inner = resolve(m.type);
      if (inner.kind === "struct" || inner.kind === "union") {
        const found = findMember(inner, name);
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
export function memberNames(record: CRecord): string[] {
  const out: string[] = [];
  for (const m of record.members ?? []) {
    if (m.name !== undefined) out.push(m.name);
    else if (m.bitSize === undefined) {
      const inner = resolve(m.type);
      if (inner.kind === "struct" || inner.kind === "union") out.push(...memberNames(inner));
    }
  }
  return out;
}

/** The C spelling of a type, as in a declaration without a name (`char [16]`, `struct x *`). */
export function describeCType(t: CType): string {
  return declarator(t, "");
}

/** The C declaration of `name` with type `t` (`char comm[16]`, `int (*f)(int)`). */
export function declarator(t: CType, name: string): string {
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
      return declarator(t.target, inner);
    }
    case "array":
      return declarator(t.element, `${name}[${t.count ?? ""}]`);
    case "function": {
      const params = t.params.map((p) => describeCType(p));
      if (t.variadic) params.push("...");
      return declarator(t.result, `${name}(${params.length > 0 ? params.join(", ") : "void"})`);
    }
  }
}

function join(base: string, name: string): string {
  return name === "" ? base : `${base} ${name}`;
}
