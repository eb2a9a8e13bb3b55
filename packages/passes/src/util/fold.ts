/**
 * The constant evaluator: every opcode whose opcode-table entry says `foldable`, on
 * `bigint` values, by the interpreter's own arithmetic (`@luabpf/ir` interp/arith.ts) —
 * one definition of what an opcode computes, so folding agrees bit for bit with the
 * reference semantics. SCCP, instcombine, simplify-cfg's jump threading and the constant
 * lattice use it.
 *
 * Values of type `T` are held as their two's-complement *signed* reading (the form
 * `Function.constant` interns); compares yield an `i64` 0 or 1. Pointer-typed compares
 * compare the 64-bit values.
 */
import {
  assertNever,
  bitsOf,
  evalBinary,
  evalCast,
  evalCompare,
  evalSelect,
  evalUnary,
  OPCODES,
  type BinaryOpcode,
  type CastOpcode,
  type CompareOpcode,
  type Instruction,
  type IntBits,
  type Opcode,
  type Type,
  type UnaryOpcode,
} from "@luabpf/ir";

export { log2Exact, shiftAmount } from "@luabpf/ir";

/** The opcodes the opcode table marks `foldable`. */
export type FoldableOpcode = { [K in Opcode]: (typeof OPCODES)[K]["foldable"] extends true ? K : never }[Opcode];

/** Is `op` evaluable by {@link evaluate}? (Asks the opcode table.) */
export function isFoldable(op: Opcode): op is FoldableOpcode {
  return OPCODES[op].foldable;
}

/**
 * Evaluates `op` with type parameter `typeParam` (the printed `T`: operand type of
 * compares, source type of casts) and result type `resultType` on constant operands.
 * Returns the result in the normalized (signed, wrapped) form of `resultType`.
 */
export function evaluate(op: FoldableOpcode, typeParam: Type, resultType: Type, args: readonly bigint[]): bigint {
  const bits = (bitsOf(typeParam) || 64) as IntBits;
  // The shapes of the foldable opcodes: a new foldable shape is a type error below.
  const shape: (typeof OPCODES)[FoldableOpcode]["shape"] = OPCODES[op].shape;
  switch (shape) {
    case "binary":
      return evalBinary(op as BinaryOpcode, bits, args[0]!, args[1]!);
    case "unary":
      return evalUnary(op as UnaryOpcode, bits, args[0]!);
    case "cast":
      return evalCast(op as CastOpcode, bits, bitsOf(resultType) as IntBits, args[0]!);
    case "compare":
      return evalCompare(op as CompareOpcode, bits, args[0]!, args[1]!);
    case "select":
      // Operand 0 is the condition; `typeParam` is the type of the arms.
      return evalSelect(bits, args[0]!, args[1]!, args[2]!);
    default:
      return assertNever(shape, "foldable opcode shape");
  }
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
