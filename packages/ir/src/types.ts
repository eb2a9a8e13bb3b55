/**
 * IR types: fixed-width integers, pointers tagged with the memory region they point
 * into, and void. Types are interned, so `===` is type equality.
 *
 * Regions mirror what the eBPF verifier tracks (PTR_TO_CTX, PTR_TO_STACK, PTR_TO_PACKET,
 * PTR_TO_PACKET_END, PTR_TO_MAP_VALUE, PTR_TO_MAP_VALUE_OR_NULL, CONST_PTR_TO_MAP); a
 * pointer without a region is "some pointer".
 */

export type IntBits = 8 | 16 | 32 | 64;

export const REGIONS = ["ctx", "stack", "packet", "packet_end", "map_value", "map_value_or_null", "map"] as const;
export type Region = (typeof REGIONS)[number];

/** What a pass may assume about the memory behind a pointer into a region. */
export interface RegionInfo {
  /**
   * A `load` through a pointer of this region cannot trap and has no effect wherever the
   * pointer is available, so it may be speculated (hoisted out of a loop, above a branch)
   * when no write in between may alias it. True for the context: the kernel checks each
   * context access's offset statically, whatever path reaches it. False for the stack
   * (reading a slot before its store is rejected), the packet (each access needs the bounds
   * check on its own path) and map values (other CPUs and user space may update an entry
   * while the program runs, and programs poll them: every read is kept where it is).
   */
  readonly speculativeLoads: boolean;
}

/** Facts about each region's memory, read by the motion rules (motion.ts). */
export const REGION_INFO: Readonly<Record<Region, RegionInfo>> = {
  ctx: { speculativeLoads: true },
  stack: { speculativeLoads: false },
  packet: { speculativeLoads: false },
  packet_end: { speculativeLoads: false },
  map_value: { speculativeLoads: false },
  map_value_or_null: { speculativeLoads: false },
  map: { speculativeLoads: false },
};

export interface IntType {
  readonly kind: "int";
  readonly bits: IntBits;
  /** Size in bytes. */
  readonly size: number;
}
export interface PtrType {
  readonly kind: "ptr";
  readonly region: Region | undefined;
  readonly size: 8;
}
export interface VoidType {
  readonly kind: "void";
  readonly size: 0;
}
export type Type = IntType | PtrType | VoidType;

function int(bits: IntBits): IntType {
  return Object.freeze({ kind: "int", bits, size: bits / 8 });
}

export const i8: IntType = int(8);
export const i16: IntType = int(16);
export const i32: IntType = int(32);
export const i64: IntType = int(64);
export const voidType: VoidType = Object.freeze({ kind: "void", size: 0 });

const INTS: Record<IntBits, IntType> = { 8: i8, 16: i16, 32: i32, 64: i64 };
const PTRS = new Map<Region | undefined, PtrType>();
for (const r of [undefined, ...REGIONS]) PTRS.set(r, Object.freeze({ kind: "ptr", region: r, size: 8 }));

/** The integer type of the given width. */
export function intType(bits: IntBits): IntType {
  return INTS[bits];
}
/** The integer type of the given size in bytes (1, 2, 4 or 8). */
export function intTypeOfSize(bytes: number): IntType {
  const t = INTS[(bytes * 8) as IntBits];
  if (!t) throw new RangeError(`no integer type of ${bytes} bytes`);
  return t;
}

/** The pointer type into `region` (or an untagged pointer). */
export function ptrType(region?: Region): PtrType {
  return PTRS.get(region)!;
}
export const ptr: PtrType = ptrType();

export function isInt(t: Type): t is IntType {
  return t.kind === "int";
}
export function isPtr(t: Type): t is PtrType {
  return t.kind === "ptr";
}
/** Integers and pointers: the types a register can hold. */
export function isScalar(t: Type): t is IntType | PtrType {
  return t.kind !== "void";
}
/** Bit width of a scalar type (pointers are 64 bits). */
export function bitsOf(t: Type): number {
  return t.kind === "int" ? t.bits : t.kind === "ptr" ? 64 : 0;
}

/** The textual token of a type: `i32`, `ptr`, `ptr.stack`, `void`. */
export function typeToString(t: Type): string {
  switch (t.kind) {
    case "int":
      return `i${t.bits}`;
    case "ptr":
      return t.region ? `ptr.${t.region}` : "ptr";
    case "void":
      return "void";
  }
}

/** Parses a type token; returns undefined when `s` is not one. */
export function parseType(s: string): Type | undefined {
  switch (s) {
    case "i8":
      return i8;
    case "i16":
      return i16;
    case "i32":
      return i32;
    case "i64":
      return i64;
    case "void":
      return voidType;
    case "ptr":
      return ptr;
  }
  if (s.startsWith("ptr.")) {
    const r = s.slice(4) as Region;
    return (REGIONS as readonly string[]).includes(r) ? ptrType(r) : undefined;
  }
  return undefined;
}

/** Wraps `v` to the two's-complement signed range of `t` (pointers: 64 bits). */
export function normalizeConstant(t: Type, v: bigint): bigint {
  return BigInt.asIntN(bitsOf(t) || 64, v);
}
