/**
 * The constant evaluator: exact 64-bit semantics of every opcode whose opcode-table entry
 * says `foldable`, on `bigint` values. SCCP, instcombine, simplify-cfg's jump threading and
 * the tests use it; it must agree bit for bit with the IR interpreter (`interp.ts`).
 *
 * Conventions (opcodes.ts):
 * - a value of type `T` is held as its two's-complement *signed* reading, wrapped with
 *   `BigInt.asIntN(bits(T))`, the form `Function.constant` interns;
 * - division and remainder follow eBPF: `x / 0 = 0`, `x % 0 = x`, `INT_MIN / -1 = INT_MIN`,
 *   `INT_MIN % -1 = 0` (bigint division truncates toward zero like eBPF's sdiv/smod);
 * - shift amounts are taken modulo the width of `T`;
 * - compares yield an `i64` 0 or 1; `select c, a, b` is `c != 0 ? a : b`.
 *
 * The exhaustive switch over {@link FoldableOpcode} makes adding a `foldable` opcode to the
 * table without an evaluator here a type error.
 */
import { assertNever, bitsOf, OPCODES, type Instruction, type Opcode, type Type } from "@luabpf/ir";

/** The opcodes the opcode table marks `foldable`. */
export type FoldableOpcode = { [K in Opcode]: (typeof OPCODES)[K]["foldable"] extends true ? K : never }[Opcode];

/** Is `op` evaluable by {@link evaluate}? (Asks the opcode table.) */
export function isFoldable(op: Opcode): op is FoldableOpcode {
  return OPCODES[op].foldable;
}

const wrap = (bits: number, v: bigint): bigint => BigInt.asIntN(bits, v);
const unsigned = (bits: number, v: bigint): bigint => BigInt.asUintN(bits, v);
const signed = (bits: number, v: bigint): bigint => BigInt.asIntN(bits, v);
const bool = (b: boolean): bigint => (b ? 1n : 0n);

/**
 * Evaluates `op` with type parameter `typeParam` (the printed `T`: operand type of
 * compares, source type of casts) and result type `resultType` on constant operands.
 * Returns the result in the normalized (signed, wrapped) form of `resultType`.
 */
export function evaluate(op: FoldableOpcode, typeParam: Type, resultType: Type, args: readonly bigint[]): bigint {
  const bits = bitsOf(typeParam) || 64;
  const a = args[0]!;
  const b = args[1]!;
  switch (op) {
    case "add":
      return wrap(bits, a + b);
    case "sub":
      return wrap(bits, a - b);
    case "mul":
      return wrap(bits, a * b);
    case "udiv": {
      const d = unsigned(bits, b);
      return d === 0n ? 0n : wrap(bits, unsigned(bits, a) / d);
    }
    case "sdiv": {
      const d = signed(bits, b);
      return d === 0n ? 0n : wrap(bits, signed(bits, a) / d);
    }
    case "urem": {
      const d = unsigned(bits, b);
      return d === 0n ? wrap(bits, a) : wrap(bits, unsigned(bits, a) % d);
    }
    case "srem": {
      const d = signed(bits, b);
      return d === 0n ? wrap(bits, a) : wrap(bits, signed(bits, a) % d);
    }
    case "and":
      return wrap(bits, a & b);
    case "or":
      return wrap(bits, a | b);
    case "xor":
      return wrap(bits, a ^ b);
    case "shl":
      return wrap(bits, a << shiftAmount(bits, b));
    case "lshr":
      return wrap(bits, unsigned(bits, a) >> shiftAmount(bits, b));
    case "ashr":
      return wrap(bits, signed(bits, a) >> shiftAmount(bits, b));
    case "neg":
      return wrap(bits, -a);
    case "not":
      return wrap(bits, ~a);
    case "bswap": {
      let x = unsigned(bits, a);
      let r = 0n;
      for (let i = 0; i < bits / 8; i++) {
        r = (r << 8n) | (x & 0xffn);
        x >>= 8n;
      }
      return wrap(bits, r);
    }
    case "zext":
      return wrap(bitsOf(resultType), unsigned(bits, a));
    case "sext":
      return wrap(bitsOf(resultType), signed(bits, a));
    case "trunc":
      return wrap(bitsOf(resultType), a);
    case "eq":
      return bool(unsigned(bits, a) === unsigned(bits, b));
    case "ne":
      return bool(unsigned(bits, a) !== unsigned(bits, b));
    case "ult":
      return bool(unsigned(bits, a) < unsigned(bits, b));
    case "ule":
      return bool(unsigned(bits, a) <= unsigned(bits, b));
    case "ugt":
      return bool(unsigned(bits, a) > unsigned(bits, b));
    case "uge":
      return bool(unsigned(bits, a) >= unsigned(bits, b));
    case "slt":
      return bool(signed(bits, a) < signed(bits, b));
    case "sle":
      return bool(signed(bits, a) <= signed(bits, b));
    case "sgt":
      return bool(signed(bits, a) > signed(bits, b));
    case "sge":
      return bool(signed(bits, a) >= signed(bits, b));
    case "select":
      // Operand 0 is the condition; `typeParam` is the type of the arms.
      return a !== 0n ? wrap(bits, b) : wrap(bits, args[2]!);
    default:
      return assertNever(op, "foldable opcode");
  }
}

/** The effective shift amount: `amount mod width`. */
export function shiftAmount(bits: number, amount: bigint): bigint {
  return unsigned(bits, amount) % BigInt(bits);
}

/**
 * Evaluates `inst` if it is foldable and `valueOf` knows each operand; otherwise
 * undefined. `valueOf` maps an operand to its constant value (or undefined).
 */
export function tryEvaluate(inst: Instruction, valueOf: (v: Instruction["operands"][number]) => bigint | undefined): bigint | undefined {
  const op = inst.opcode;
  if (!isFoldable(op)) return undefined;
  const args: bigint[] = [];
  for (const v of inst.operands) {
    const c = valueOf(v);
    if (c === undefined) return undefined;
    args.push(c);
  }
  return evaluate(op, inst.typeParam, inst.type, args);
}

/** If `x` (read unsigned in `bits`) is a power of two 2^k with k ≥ 0, returns k; else -1. */
export function log2Exact(bits: number, x: bigint): number {
  const u = unsigned(bits, x);
  if (u === 0n || (u & (u - 1n)) !== 0n) return -1;
  return u.toString(2).length - 1;
}
