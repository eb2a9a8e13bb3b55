/**
 * The opcode table: every IR instruction is described here once, declaratively
 * (QBE's ops.h, Cranelift's instruction definitions). The verifier, printer, parser,
 * interpreter and the optimisation passes ask this table instead of switching on names
 * where they can.
 *
 * Operand type rules are written against the instruction's *type parameter* `T`, the type
 * token printed right after the opcode (`add i64 %1, 2`, `ult i32 %a, %b`,
 * `store i16 %v, %p, 4`). For most opcodes `T` is the result type; for compares and
 * stores it is the operand type; for casts it is the source type (the result type follows
 * `to`).
 */

/** How an instruction touches memory. */
export type MemoryEffect = "none" | "read" | "write" | "readwrite";

/** The textual / structural shape of an opcode, used by the printer, parser and verifier. */
export type OpShape =
  | "binary" // %r = op T a, b              operands T,T      result T
  | "unary" // %r = op T a                  operand T          result T
  | "cast" // %r = op S a to T              operand S          result T
  | "compare" // %r = op T a, b             operands T,T      result i64 (0 or 1)
  | "select" // %r = select T c, a, b       operands i64,T,T  result T
  | "ptradd" // %r = ptradd T p, n          operands T(ptr),i64 result T
  | "copy" // %r = copy T a                 operand T          result T
  | "load" // %r = load T p, off            operand ptr        result T
  | "store" // store T v, p, off            operands T,ptr     no result
  | "atomic" // [%r =] atomic.OP T p, v, off operands ptr,T     result T (fetch) or void
  | "pktload" // %r = pktload T ctx, i, off  operands ptr,i64   result T (zero-extended packet bytes, host order)
  | "alloca" // %r = alloca size, align     no operands        result ptr.stack
  | "call" // [%r =] call T helper N (args) / call T @f(args)
  | "mapref" // %r = mapref @name           no operands        result ptr.map
  | "coreval" // %r = coreval @name         no operands        result i64 (a CO-RE relocated constant)
  | "phi" // %r = phi T [v, @bb], ...
  | "br" // br @bb
  | "condbr" // condbr c, @t, @f            operand (any int)
  | "ret" // ret [v]
  | "unreachable";

/**
 * What an instruction's type parameter `T` may be: an integer (`int`; `int16+` at least
 * 16 bits, `int32+` at least 32, `int32-` at most 32), a pointer, any non-void type
 * (`value`), anything (`any`: calls may return void), or one fixed type (`ptr.stack`).
 */
export type ParamRule = "int" | "int16+" | "int32+" | "int32-" | "ptr" | "value" | "any" | "void" | "ptr.stack" | "ptr.map";

/**
 * What an operand position accepts, relative to `T`: `T` (a value assignable to `T`: `T`
 * itself, or any pointer when `T` is the untagged `ptr`), `=T` (exactly `T`), `~T` (`T`, or
 * any pointer when `T` is a pointer: compares across regions), any integer, any pointer,
 * any integer or pointer (`scalar`), or one fixed type (`i64`).
 */
export type OperandRule = "T" | "=T" | "~T" | "int" | "ptr" | "scalar" | "i64";

/** The result type: `T`, the target of a cast (`to`), or a fixed type. */
export type ResultRule = "T" | "to" | "i64" | "void" | "ptr.stack" | "ptr.map";

/** The type rules of an opcode (see typing.ts, which every reader goes through). */
export interface Signature {
  readonly param: ParamRule;
  /** One rule per operand position, or `{ each }` for every operand of a variadic opcode. */
  readonly operands: readonly OperandRule[] | { readonly each: OperandRule };
  readonly result: ResultRule;
  /** Casts: the result is strictly wider (`widen`) or narrower (`narrow`) than `T`. */
  readonly cast?: "widen" | "narrow";
  /** The verifier's message when `T` breaks `param` (`{T}` stands for `T`). */
  readonly paramError?: string;
  /** How the verifier names an operand position it reports (default: by rule). */
  readonly what?: readonly (string | undefined)[];
}

export interface OpInfo {
  /** Fixed operand count, or "variadic" (call, phi). */
  readonly operands: number | "variadic";
  readonly shape: OpShape;
  /**
   * The result is a function of the operands alone, and computing it touches no memory,
   * has no effect and cannot trap: a pass may delete it when unused, merge two equal ones
   * (CSE, GVN), and move it anywhere its operands are available — hoist it out of a loop,
   * speculate it above a branch, sink it. Division is pure because eBPF defines x/0.
   * `phi` is not: its value depends on the edge its block was entered by, so it cannot
   * leave its block (GVN still merges two phis of one block with the same pairs).
   * `load` is not either: whether a load may move depends on the memory (see
   * `REGION_INFO` in types.ts and `isSpeculatable`/`mayWriteMemory` in motion.ts).
   */
  readonly pure: boolean;
  /** Operands 0 and 1 may be swapped. */
  readonly commutative: boolean;
  /** The constant folder can evaluate it when all operands are constants. */
  readonly foldable: boolean;
  /**
   * How the instruction touches memory: `read` instructions may be reordered with other
   * reads, and with writes that cannot alias them; `write`/`readwrite` ones order memory.
   * (For `call` the helper-effects table in @luabpf/passes refines this per helper.)
   */
  readonly memory: MemoryEffect;
  /** Must be kept even if its result is unused (stores, calls, packet loads that may abort). */
  readonly sideEffects: boolean;
  readonly terminator: boolean;
  /** Type rules: the signature column (QBE's `argcls`), read through typing.ts. */
  readonly sig: Signature;
}

const sig = (param: ParamRule, operands: Signature["operands"], result: ResultRule, extra: Partial<Signature> = {}): Signature =>
  Object.freeze({ param, operands, result, ...extra });
const INT_PARAM = "type parameter {T} is not an integer type";
const BINARY_SIG = sig("int", ["=T", "=T"], "T", { paramError: INT_PARAM });
const UNARY_SIG = sig("int", ["=T"], "T", { paramError: INT_PARAM });
const CAST_SIG = (cast: "widen" | "narrow") => sig("int", ["=T"], "to", { cast });
const COMPARE_SIG = sig("value", ["~T", "~T"], "i64", { paramError: "compare of void operands" });
const ATOMIC_SIG = (result: ResultRule) => sig("int32+", ["ptr", "=T"], result, { paramError: "atomic operations work on i32 or i64, not {T}" });
const TERMINATOR_SIG = (operands: Signature["operands"]) => sig("any", operands, "void");

const pureArith = { pure: true, foldable: true, memory: "none", sideEffects: false, terminator: false } as const;
const bin = (commutative: boolean) => ({ ...pureArith, operands: 2, shape: "binary", commutative, sig: BINARY_SIG }) as const;
const un = { ...pureArith, operands: 1, shape: "unary", commutative: false, sig: UNARY_SIG } as const;
const cast = (dir: "widen" | "narrow") => ({ ...pureArith, operands: 1, shape: "cast", commutative: false, sig: CAST_SIG(dir) }) as const;
const cmp = (commutative: boolean) => ({ ...pureArith, operands: 2, shape: "compare", commutative, sig: COMPARE_SIG }) as const;
const term = (shape: OpShape, operands: number | "variadic", signature: Signature) =>
  ({ operands, shape, pure: false, commutative: false, foldable: false, memory: "none", sideEffects: true, terminator: true, sig: signature }) as const;
const effect = (shape: OpShape, operands: number | "variadic", memory: MemoryEffect, signature: Signature) =>
  ({ operands, shape, pure: false, commutative: false, foldable: false, memory, sideEffects: true, terminator: false, sig: signature }) as const;

export const OPCODES = {
  // Integer arithmetic; division and remainder follow eBPF: x/0 = 0, x%0 = x,
  // signed overflow INT_MIN/-1 = INT_MIN, INT_MIN%-1 = 0. Shift amounts are taken modulo the width.
  add: bin(true),
  sub: bin(false),
  mul: bin(true),
  udiv: bin(false),
  sdiv: bin(false),
  urem: bin(false),
  srem: bin(false),
  and: bin(true),
  or: bin(true),
  xor: bin(true),
  shl: bin(false),
  lshr: bin(false),
  ashr: bin(false),
  neg: un,
  not: un,
  /** Reverses the bytes of a T-sized value (T = i16, i32 or i64). */
  bswap: { ...un, sig: sig("int16+", ["=T"], "T", { paramError: "bswap needs i16, i32 or i64, not {T}" }) },
  zext: cast("widen"),
  sext: cast("widen"),
  trunc: cast("narrow"),
  eq: cmp(true),
  ne: cmp(true),
  ult: cmp(false),
  ule: cmp(false),
  ugt: cmp(false),
  uge: cmp(false),
  slt: cmp(false),
  sle: cmp(false),
  sgt: cmp(false),
  sge: cmp(false),
  select: { ...pureArith, operands: 3, shape: "select", commutative: false, sig: sig("value", ["int", "T", "T"], "T", { paramError: "select of void values" }) },
  ptradd: { ...pureArith, operands: 2, shape: "ptradd", commutative: false, foldable: false, sig: sig("ptr", ["=T", "i64"], "T", { paramError: "ptradd type {T} is not a pointer type" }) },
  copy: { ...pureArith, operands: 1, shape: "copy", commutative: false, foldable: false, sig: sig("value", ["T"], "T", { paramError: "copy of void" }) },
  load: { operands: 1, shape: "load", pure: false, commutative: false, foldable: false, memory: "read", sideEffects: false, terminator: false, sig: sig("value", ["ptr"], "T", { paramError: "load of void" }) },
  store: effect("store", 2, "write", sig("value", ["T", "ptr"], "void", { paramError: "store of void" })),
  "atomic.add": effect("atomic", 2, "readwrite", ATOMIC_SIG("void")),
  "atomic.fetch_add": effect("atomic", 2, "readwrite", ATOMIC_SIG("T")),
  pktload: effect("pktload", 2, "read", sig("int32-", ["ptr", "i64"], "T", { paramError: "pktload reads at most 4 bytes, not {T}", what: ["the context pointer"] })),
  alloca: { operands: 0, shape: "alloca", pure: false, commutative: false, foldable: false, memory: "none", sideEffects: false, terminator: false, sig: sig("any", [], "ptr.stack") },
  call: effect("call", "variadic", "readwrite", sig("any", { each: "scalar" }, "T")),
  mapref: { ...pureArith, operands: 0, shape: "mapref", commutative: false, foldable: false, sig: sig("any", [], "ptr.map") },
  /**
   * A constant the loader may rewrite for the target kernel (a CO-RE relocation of the
   * module): pure, but never folded — its value is known only at load time.
   */
  coreval: { ...pureArith, operands: 0, shape: "coreval", commutative: false, foldable: false, sig: sig("any", [], "i64") },
  phi: { operands: "variadic", shape: "phi", pure: false, commutative: false, foldable: false, memory: "none", sideEffects: false, terminator: false, sig: sig("value", { each: "T" }, "T", { paramError: "phi of void" }) },
  br: term("br", 0, TERMINATOR_SIG([])),
  condbr: term("condbr", 1, TERMINATOR_SIG(["int"])),
  // ret: T is the function's return type; its operand (at most one) must be assignable to it.
  ret: term("ret", "variadic", TERMINATOR_SIG({ each: "T" })),
  unreachable: term("unreachable", 0, TERMINATOR_SIG([])),
} as const satisfies Record<string, OpInfo>;

export type Opcode = keyof typeof OPCODES;
export const OPCODE_NAMES = Object.keys(OPCODES) as Opcode[];

export type BinaryOpcode = { [K in Opcode]: (typeof OPCODES)[K]["shape"] extends "binary" ? K : never }[Opcode];
export type UnaryOpcode = { [K in Opcode]: (typeof OPCODES)[K]["shape"] extends "unary" ? K : never }[Opcode];
export type CastOpcode = { [K in Opcode]: (typeof OPCODES)[K]["shape"] extends "cast" ? K : never }[Opcode];
export type CompareOpcode = { [K in Opcode]: (typeof OPCODES)[K]["shape"] extends "compare" ? K : never }[Opcode];
export type AtomicOpcode = "atomic.add" | "atomic.fetch_add";

/** The table entry of an opcode. */
export function opInfo(op: Opcode): OpInfo {
  return OPCODES[op];
}
export function isOpcode(s: string): s is Opcode {
  return Object.prototype.hasOwnProperty.call(OPCODES, s);
}

/** The compare that holds exactly when `op` holds with its operands swapped. */
export const SWAPPED_COMPARE: Record<CompareOpcode, CompareOpcode> = {
  eq: "eq", ne: "ne", ult: "ugt", ule: "uge", ugt: "ult", uge: "ule", slt: "sgt", sle: "sge", sgt: "slt", sge: "sle",
};
/** The compare that holds exactly when `op` does not. */
export const INVERTED_COMPARE: Record<CompareOpcode, CompareOpcode> = {
  eq: "ne", ne: "eq", ult: "uge", ule: "ugt", ugt: "ule", uge: "ult", slt: "sge", sle: "sgt", sgt: "sle", sge: "slt",
};
