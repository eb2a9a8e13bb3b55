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
  | "phi" // %r = phi T [v, @bb], ...
  | "br" // br @bb
  | "condbr" // condbr c, @t, @f            operand (any int)
  | "ret" // ret [v]
  | "unreachable";

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
}

const pureArith = { pure: true, foldable: true, memory: "none", sideEffects: false, terminator: false } as const;
const bin = (commutative: boolean) => ({ ...pureArith, operands: 2, shape: "binary", commutative }) as const;
const un = { ...pureArith, operands: 1, shape: "unary", commutative: false } as const;
const cast = { ...pureArith, operands: 1, shape: "cast", commutative: false } as const;
const cmp = (commutative: boolean) => ({ ...pureArith, operands: 2, shape: "compare", commutative }) as const;
const term = (shape: OpShape, operands: number | "variadic") =>
  ({ operands, shape, pure: false, commutative: false, foldable: false, memory: "none", sideEffects: true, terminator: true }) as const;
const effect = (shape: OpShape, operands: number | "variadic", memory: MemoryEffect) =>
  ({ operands, shape, pure: false, commutative: false, foldable: false, memory, sideEffects: true, terminator: false }) as const;

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
  bswap: un,
  zext: cast,
  sext: cast,
  trunc: cast,
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
  select: { ...pureArith, operands: 3, shape: "select", commutative: false },
  ptradd: { ...pureArith, operands: 2, shape: "ptradd", commutative: false, foldable: false },
  copy: { ...pureArith, operands: 1, shape: "copy", commutative: false, foldable: false },
  load: { operands: 1, shape: "load", pure: false, commutative: false, foldable: false, memory: "read", sideEffects: false, terminator: false },
  store: effect("store", 2, "write"),
  "atomic.add": effect("atomic", 2, "readwrite"),
  "atomic.fetch_add": effect("atomic", 2, "readwrite"),
  pktload: effect("pktload", 2, "read"),
  alloca: { operands: 0, shape: "alloca", pure: false, commutative: false, foldable: false, memory: "none", sideEffects: false, terminator: false },
  call: effect("call", "variadic", "readwrite"),
  mapref: { ...pureArith, operands: 0, shape: "mapref", commutative: false, foldable: false },
  phi: { operands: "variadic", shape: "phi", pure: false, commutative: false, foldable: false, memory: "none", sideEffects: false, terminator: false },
  br: term("br", 0),
  condbr: term("condbr", 1),
  ret: term("ret", "variadic"),
  unreachable: term("unreachable", 0),
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
