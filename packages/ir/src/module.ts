/**
 * The module: functions, maps, named struct types with C layout, and the license.
 */
import { MAP_TYPE_NAMES, type CoreReloKindName, type MapTypeName } from "@luabpf/platform";
import { assert, InternalError } from "./errors.js";
import { Function } from "./core.js";
import type { IntType, Type } from "./types.js";
import type { CType } from "./ctypes.js";

/** A map kind: a map type of the platform table (`hash`, `percpu_array`, `ringbuf`, ...). */
export type MapKind = Exclude<MapTypeName, "unspec">;

/**
 * The map kinds a `map` declaration may name: every map type of @luabpf/platform's table,
 * the two basic kinds first (messages list them in this order), then by `BPF_MAP_TYPE_*`.
 */
export const MAP_KINDS: readonly MapKind[] = Object.freeze([
  "array",
  "hash",
  ...MAP_TYPE_NAMES.filter((k): k is MapKind => k !== "unspec" && k !== "array" && k !== "hash"),
]);

/** A field of a struct type. */
export interface StructField {
  readonly name: string;
  readonly type: DataType;
  /** Byte offset, computed with C layout rules. */
  readonly offset: number;
}

/** A named struct type laid out like C (each field aligned to its own alignment). */
export interface StructType {
  readonly kind: "struct";
  readonly name: string;
  readonly fields: readonly StructField[];
  readonly size: number;
  readonly align: number;
}

/** A fixed-size array inside a struct. */
export interface ArrayType {
  readonly kind: "array";
  readonly element: DataType;
  readonly count: number;
  readonly size: number;
}

/** Types of data in memory: map keys and values, struct fields. */
export type DataType = IntType | StructType | ArrayType;

/** Alignment of a data type in bytes. */
export function alignOf(t: DataType): number {
  switch (t.kind) {
    case "int":
      return t.size;
    case "struct":
      return t.align;
    case "array":
      return alignOf(t.element);
  }
}

/** Builds a struct type with C layout from `(name, type)` fields. */
export function defineStruct(name: string, fields: readonly { name: string; type: DataType }[]): StructType {
  let offset = 0;
  let align = 1;
  const laid: StructField[] = [];
  for (const f of fields) {
    const a = alignOf(f.type);
    offset = Math.ceil(offset / a) * a;
    laid.push({ name: f.name, type: f.type, offset });
    offset += f.type.size;
    align = Math.max(align, a);
  }
  return { kind: "struct", name, fields: laid, size: Math.ceil(offset / align) * align || 0, align };
}

/** An array type of `count` elements. */
export function arrayOf(element: DataType, count: number): ArrayType {
  return { kind: "array", element, count, size: element.size * count };
}

/** A map declaration. */
export interface MapDecl {
  name: string;
  kind: MapKind;
  /** Layout views of the key and value (what code generation needs: sizes and offsets). */
  key: DataType;
  value: DataType;
  maxEntries: number;
  flags: number;
  /**
   * The C types of the key and value, when the front end knows them (for BTF: field
   * names, signedness, character arrays, bit-fields). `key`/`value` are their layout.
   */
  keyType?: CType;
  valueType?: CType;
  /** The C type of the records a ring buffer or perf event array carries (not printed in the IR text). */
  recordType?: CType;
}

/** One step of a CO-RE access path: a member name (found as C finds it, through anonymous members) or an array index. */
export type CoreAccessStep = string | number;

/**
 * A CO-RE relocation (compile once, run everywhere): a value computed from kernel types —
 * a field's byte offset, size, existence or signedness, a type's size or existence, an
 * enumerator's value — that the loader recomputes against the target kernel's BTF and
 * writes into the instruction that materialises it (`coreval`). The object carries the
 * type as the program saw it (only the members it accessed) and the access path.
 */
export interface CoreRelocation {
  /** Referenced by `coreval @name`. */
  readonly name: string;
  readonly kind: CoreReloKindName;
  /**
   * The root type: the struct or union an access starts from (field kinds), any named
   * type (type kinds), or an enum (enum kinds).
   */
  readonly type: CType;
  /** Field kinds: the members and elements from the root; enum kinds: `[enumerator]`; type kinds: empty. */
  readonly path: readonly CoreAccessStep[];
  /** The value for `type` as compiled (the instruction holds it until relocated). */
  readonly value: bigint;
}

/** A compilation unit: what becomes one ELF object. */
export class Module {
  readonly functions: Function[] = [];
  readonly maps: MapDecl[] = [];
  readonly structs: StructType[] = [];
  /** CO-RE relocations, referenced by `coreval` instructions by name. */
  readonly coreRelocations: CoreRelocation[] = [];
  license = "GPL";
  /**
   * The text of the source files the module was compiled from, by the file name its
   * locations use: the object's line table quotes each instruction's source line from it.
   */
  readonly sources = new Map<string, string>();

  /** Creates a function and adds it to the module. */
  addFunction(name: string, paramTypes: readonly Type[], returnType: Type): Function {
    assert(!this.functions.some((f) => f.name === name), `duplicate function ${name}`);
    const fn = new Function(name, paramTypes, returnType);
    this.functions.push(fn);
    return fn;
  }
  getFunction(name: string): Function | undefined {
    return this.functions.find((f) => f.name === name);
  }

  /** Declares a map; names are unique. */
  addMap(decl: MapDecl): MapDecl {
    if (this.maps.some((m) => m.name === decl.name)) throw new InternalError(`duplicate map ${decl.name}`);
    this.maps.push(decl);
    return decl;
  }
  getMap(name: string): MapDecl | undefined {
    return this.maps.find((m) => m.name === name);
  }

  /**
   * Declares a CO-RE relocation, reusing an equal one (same kind, type object, path and
   * value); returns it. Names are `core0`, `core1`, ... unless given.
   */
  addCoreRelocation(r: Omit<CoreRelocation, "name"> & { name?: string }): CoreRelocation {
    const same = this.coreRelocations.find(
      (x) => x.kind === r.kind && x.type === r.type && x.value === r.value && x.path.length === r.path.length && x.path.every((s, i) => s === r.path[i]),
    );
    if (same && (r.name === undefined || r.name === same.name)) return same;
    const name = r.name ?? `core${this.coreRelocations.length}`;
    if (this.getCoreRelocation(name)) throw new InternalError(`duplicate CO-RE relocation ${name}`);
    const decl: CoreRelocation = { name, kind: r.kind, type: r.type, path: [...r.path], value: r.value };
    this.coreRelocations.push(decl);
    return decl;
  }
  getCoreRelocation(name: string): CoreRelocation | undefined {
    return this.coreRelocations.find((r) => r.name === name);
  }

  /** Registers a named struct type. */
  addStruct(s: StructType): StructType {
    if (this.structs.some((x) => x.name === s.name)) throw new InternalError(`duplicate struct ${s.name}`);
    this.structs.push(s);
    return s;
  }
  getStruct(name: string): StructType | undefined {
    return this.structs.find((s) => s.name === name);
  }
}
