// The BTF type model: a graph of plain objects, one variant per BTF_KIND, that both
// the encoder (model → `.BTF` bytes, ids assigned on the fly) and the decoder
// (`.BTF` bytes → model, ids are array indices) use. References are object
// references rather than numeric ids so callers can build types without a table;
// cycles (struct node { struct node *next; }) are allowed and must pass through a
// struct or union, as in C. See the kernel's Documentation/bpf/btf.rst.

import { ElfError, assertNever } from "./errors.js";

/** `void` — BTF type id 0. */
export interface BtfVoid {
  kind: "void";
}
/** An integer; `bits` is always `size * 8` and the bit offset 0, like clang emits. */
export interface BtfInt {
  kind: "int";
  name: string;
  size: number;
  signed: boolean;
  /** BTF_INT_CHAR; only present when set. */
  char?: boolean;
  /** BTF_INT_BOOL; only present when set. */
  bool?: boolean;
}
export interface BtfFloat {
  kind: "float";
  name: string;
  size: number;
}
export interface BtfPtr {
  kind: "ptr";
  target: BtfType;
}
/** A fixed-length array; the index type is implicit (a 4-byte unsigned int). */
export interface BtfArray {
  kind: "array";
  elem: BtfType;
  count: number;
}
export interface BtfMember {
  name: string;
  type: BtfType;
  /** Offset of the member from the start of the aggregate, in bits. */
  bitOffset: number;
  /** Bitfield width; only present for bitfields (encoded with kind_flag set). */
  bitSize?: number;
}
export interface BtfComposite {
  kind: "struct" | "union";
  /** Empty for an anonymous aggregate. */
  name: string;
  size: number;
  members: BtfMember[];
}
export interface BtfEnum {
  kind: "enum";
  name: string;
  size: number;
  signed: boolean;
  values: { name: string; value: number }[];
}
export interface BtfEnum64 {
  kind: "enum64";
  name: string;
  size: number;
  signed: boolean;
  values: { name: string; value: bigint }[];
}
/** A forward declaration (`struct foo;`). */
export interface BtfFwd {
  kind: "fwd";
  name: string;
  union: boolean;
}
export interface BtfTypedef {
  kind: "typedef";
  name: string;
  target: BtfType;
}
export interface BtfQualifier {
  kind: "const" | "volatile" | "restrict";
  target: BtfType;
}
export interface BtfTypeTag {
  kind: "type_tag";
  name: string;
  target: BtfType;
}
export interface BtfParam {
  /** Empty for an unnamed parameter; `{ name: "", type: void }` last means varargs. */
  name: string;
  type: BtfType;
}
export interface BtfFuncProto {
  kind: "func_proto";
  ret: BtfType;
  params: BtfParam[];
}
export type BtfLinkage = "static" | "global" | "extern";
export interface BtfFunc {
  kind: "func";
  name: string;
  proto: BtfType;
  linkage: BtfLinkage;
}
export interface BtfVar {
  kind: "var";
  name: string;
  type: BtfType;
  linkage: BtfLinkage;
}
export interface BtfDatasecEntry {
  var: BtfType;
  offset: number;
  size: number;
}
/** A data section (`.maps`, `.data`, ...): which variables live where. */
export interface BtfDatasec {
  kind: "datasec";
  name: string;
  size: number;
  vars: BtfDatasecEntry[];
}
export interface BtfDeclTag {
  kind: "decl_tag";
  name: string;
  target: BtfType;
  /** -1 for the type itself, else the member/parameter index. */
  componentIdx: number;
}

/** One BTF type; `kind` mirrors BTF_KIND_* in lower case. */
export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfFloat
  | BtfPtr
  | BtfArray
  | BtfComposite
  | BtfEnum
  | BtfEnum64
  | BtfFwd
  | BtfTypedef
  | BtfQualifier
  | BtfTypeTag
  | BtfFuncProto
  | BtfFunc
  | BtfVar
  | BtfDatasec
  | BtfDeclTag;

/** The shared `void` instance (any `{ kind: "void" }` object is equivalent). */
export const btfVoid: BtfVoid = Object.freeze({ kind: "void" }) as BtfVoid;

/** Convenience constructors for the common C integer types. */
export const btfInt = (name: string, size: number, signed: boolean): BtfInt => ({ kind: "int", name, size, signed });

/** Follows typedefs, qualifiers and type tags to the underlying type (bounded: no cycles). */
export function skipModifiers(type: BtfType): BtfType {
  let current = type;
  for (let depth = 0; depth < 64; depth++) {
    switch (current.kind) {
      case "typedef":
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        current = current.target;
        continue;
      default:
        return current;
    }
  }
  throw new ElfError("BTF: modifier chain too long (cycle?)");
}

/**
 * Size in bytes of a value of `type`, as the kernel computes it (pointers are 8 bytes
 * on BPF). Throws for types without a size (void, functions, forward declarations).
 */
export function btfSizeof(type: BtfType): number {
  const base = skipModifiers(type);
  switch (base.kind) {
    case "int":
    case "float":
    case "struct":
    case "union":
    case "enum":
    case "enum64":
    case "datasec":
      return base.size;
    case "ptr":
      return 8;
    case "array":
      return base.count * btfSizeof(base.elem);
    case "var":
      return btfSizeof(base.type);
    case "void":
    case "fwd":
    case "func":
    case "func_proto":
    case "decl_tag":
      throw new ElfError(`BTF: ${base.kind} ${"name" in base ? JSON.stringify(base.name) + " " : ""}has no size`);
    case "typedef":
    case "const":
    case "volatile":
    case "restrict":
    case "type_tag":
      throw new ElfError("BTF: unreachable modifier after skipModifiers");
    default:
      return assertNever(base, "BTF kind");
  }
}

/** A short C-like rendering for error messages and debugging (`struct foo *`, `u32[4]`). */
export function describeBtfType(type: BtfType, depth = 0): string {
  if (depth > 8) return "...";
  switch (type.kind) {
    case "void":
      return "void";
    case "int":
    case "float":
    case "typedef":
      return type.name;
    case "ptr":
      return `${describeBtfType(type.target, depth + 1)} *`;
    case "array":
      return `${describeBtfType(type.elem, depth + 1)}[${type.count}]`;
    case "struct":
    case "union":
    case "enum":
    case "enum64":
      return `${type.kind === "enum64" ? "enum" : type.kind} ${type.name || "(anon)"}`;
    case "fwd":
      return `${type.union ? "union" : "struct"} ${type.name}`;
    case "const":
    case "volatile":
    case "restrict":
      return `${type.kind} ${describeBtfType(type.target, depth + 1)}`;
    case "type_tag":
      return `${describeBtfType(type.target, depth + 1)} __tag(${type.name})`;
    case "func_proto":
      return `${describeBtfType(type.ret, depth + 1)} (${type.params
        .map((param) => describeBtfType(param.type, depth + 1))
        .join(", ")})`;
    case "func":
    case "var":
    case "datasec":
    case "decl_tag":
      return `${type.kind} ${type.name}`;
    default:
      return assertNever(type, "BTF kind");
  }
}
