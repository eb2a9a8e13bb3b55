/**
 * The IR's type rules, read from the signature column of the opcode table (`OpInfo.sig`,
 * QBE's `argcls` read by its `typecheck()`): what an instruction's type parameter `T` may
 * be, what each operand position accepts relative to `T`, and what the result type is.
 * The builder (eager checks), the parser (operand checks and result presence), the printer
 * (the implied type of an untyped constant) and the verifier all ask this module, so they
 * cannot disagree.
 *
 * Assignability: a value may flow into a slot of its own type, and any pointer may flow
 * into a slot of the untagged `ptr` type (the less precise pointer). Compares of pointers
 * accept pointers into any regions.
 */
import { OPCODES, type Opcode, type OperandRule, type Signature } from "./opcodes.js";
import { i64, isInt, parseType, ptr, typeToString, voidType, type Type } from "./types.js";

/** The signature of `op`. */
export function signatureOf(op: Opcode): Signature {
  return OPCODES[op].sig;
}

/** The rule of operand `index` of `op`, or undefined past a fixed-arity opcode's operands. */
export function operandRule(op: Opcode, index: number): OperandRule | undefined {
  const ops = OPCODES[op].sig.operands;
  return Array.isArray(ops) ? ops[index] : (ops as { each: OperandRule }).each;
}

/** A fixed type named by a rule token (`i64`, `ptr.stack`), or undefined for a relative rule. */
function fixedType(token: string): Type | undefined {
  // Remembered per token (null: not a type), one lookup: the builder and the verifier ask for
  // every instruction of a fixed signature.
  const known = fixedTypes.get(token);
  if (known !== undefined) return known ?? undefined;
  const t = parseType(token);
  fixedTypes.set(token, t ?? null);
  return t;
}
const fixedTypes = new Map<string, Type | null>();

/** Can a value of type `from` flow into a slot of type `to`? Equal types, or any pointer into an untagged `ptr` slot. */
export function assignable(from: Type, to: Type): boolean {
  return from === to || (from.kind === "ptr" && to.kind === "ptr" && to.region === undefined);
}

/** Does operand type `t` satisfy `rule` for type parameter `T`? */
export function acceptsOperand(rule: OperandRule, T: Type, t: Type): boolean {
  switch (rule) {
    case "T":
      return assignable(t, T);
    case "=T":
      return t === T;
    case "~T":
      return t === T || (t.kind === "ptr" && T.kind === "ptr");
    case "int":
      return t.kind === "int";
    case "ptr":
      return t.kind === "ptr";
    case "scalar":
      return t.kind !== "void";
    default:
      return t === fixedType(rule);
  }
}

/** What `rule` accepts, in the parser's words ("type i64", "a pointer type"). */
export function describeOperandRule(rule: OperandRule, T: Type): string {
  switch (rule) {
    case "T":
      return T.kind === "ptr" && T.region === undefined ? "a pointer type" : `type ${typeToString(T)}`;
    case "=T":
    case "~T":
      return rule === "~T" && T.kind === "ptr" ? "a pointer type" : `type ${typeToString(T)}`;
    case "int":
      return "an integer type";
    case "ptr":
      return "a pointer type";
    case "scalar":
      return "an integer or pointer type";
    default:
      return `type ${rule}`;
  }
}

/** What operand `index` of `op` must be, in the verifier's words ("i64", "a pointer address"). */
function describeExpected(op: Opcode, index: number, rule: OperandRule, T: Type): string {
  const what = OPCODES[op].sig.what?.[index];
  if (what) return what;
  switch (rule) {
    case "T":
    case "=T":
    case "~T":
      return typeToString(T);
    case "int":
      return "an integer condition";
    case "ptr":
      return "a pointer address";
    case "scalar":
      return "a scalar argument";
    default:
      return rule;
  }
}

/**
 * The type an untyped constant in operand position `index` of `op` has: `T` where the rule
 * is relative to `T`, the fixed type where it names one, `ptr` for pointer positions and
 * `i64` for integer conditions, call arguments and positions outside the signature.
 */
export function impliedConstantType(op: Opcode, T: Type, index: number): Type {
  const rule = operandRule(op, index);
  switch (rule) {
    case undefined:
    case "int":
    case "scalar":
      return i64;
    case "T":
    case "=T":
    case "~T":
      return T;
    case "ptr":
      return ptr;
    default:
      return fixedType(rule) ?? i64;
  }
}

/** The result type of `op` with type parameter `T` (`to`: the target of a cast). */
export function resultTypeOf(op: Opcode, T: Type, to?: Type): Type {
  const r = OPCODES[op].sig.result;
  switch (r) {
    case "T":
      return T;
    case "to":
      return to ?? voidType;
    default:
      return fixedType(r) ?? voidType;
  }
}

/**
 * Whether an instruction of `op` names a result in text: `"required"`, `"none"` (its
 * result type is void), or `"by-type"` (it has one exactly when its type parameter is not
 * void: `call`).
 */
export function resultPresence(op: Opcode): "required" | "none" | "by-type" {
  const sig = OPCODES[op].sig;
  if (sig.result === "void") return "none";
  return sig.result === "T" && sig.param === "any" ? "by-type" : "required";
}

/** Why `T` is not a valid type parameter for `op` (with result type `type`), or undefined. */
function paramError(op: Opcode, sig: Signature, T: Type, type: Type): string | undefined {
  // No text (and no closure) is made unless there is an error: the builder asks this for
  // every instruction it creates, the verifier for every instruction it checks.
  switch (sig.param) {
    case "any":
      return undefined;
    case "void":
      return T.kind === "void" ? undefined : paramMessage(sig, T, "type parameter {T} is not void");
    case "value":
      return T.kind === "void" ? paramMessage(sig, T, `${op} of void`) : undefined;
    case "ptr":
      return T.kind === "ptr" ? undefined : paramMessage(sig, T, "type parameter {T} is not a pointer type");
    case "int":
    case "int16+":
    case "int32+":
    case "int32-": {
      if (sig.cast) {
        if (!isInt(T) || !isInt(type)) return `${op} casts between integer types, not ${typeToString(T)} to ${typeToString(type)}`;
        const widen = sig.cast === "widen";
        if (widen ? type.bits <= T.bits : type.bits >= T.bits) return `${op} from ${typeToString(T)} to ${typeToString(type)} is not a ${widen ? "widening" : "narrowing"}`;
        return undefined;
      }
      if (!isInt(T)) return paramMessage(sig, T, "type parameter {T} is not an integer type");
      const bits = T.bits;
      const ok = sig.param === "int16+" ? bits >= 16 : sig.param === "int32+" ? bits >= 32 : sig.param === "int32-" ? bits <= 32 : true;
      return ok ? undefined : paramMessage(sig, T, `type parameter {T} is out of range for ${op}`);
    }
    default: {
      const fixed = fixedType(sig.param);
      return T === fixed ? undefined : paramMessage(sig, T, `type parameter {T}, expected ${sig.param}`);
    }
  }
}

/** The opcode's own message for a bad type parameter, or `fallback`, with `{T}` spelled out. */
function paramMessage(sig: Signature, T: Type, fallback: string): string {
  return (sig.paramError ?? fallback).replaceAll("{T}", typeToString(T));
}

/**
 * Every violation of `op`'s signature by an instruction with result type `type`, type
 * parameter `T` and operands of the given types (missing operands are skipped: counts are
 * checked separately). Messages follow the verifier's wording.
 */
export function signatureErrors(op: Opcode, type: Type, T: Type, operands: readonly { readonly type: Type; toString?(): string }[], show: (index: number) => string): string[] {
  const out: string[] = [];
  checkSignature(op, type, T, operands, show, out);
  return out;
}

/** Does the instruction satisfy `op`'s signature (exactly when {@link signatureErrors} finds nothing)? Makes no message text. */
export function satisfiesSignature(op: Opcode, type: Type, T: Type, operands: readonly { readonly type: Type }[]): boolean {
  return checkSignature(op, type, T, operands, undefined, undefined);
}

/** The rules of {@link signatureErrors}: with `out`, every message is pushed onto it; without, the first violation ends the check. */
function checkSignature(op: Opcode, type: Type, T: Type, operands: readonly { readonly type: Type }[], show: ((index: number) => string) | undefined, out: string[] | undefined): boolean {
  let ok = true;
  const sig = OPCODES[op].sig;
  const p = paramError(op, sig, T, type);
  if (p) {
    if (!out) return false;
    out.push(p);
    ok = false;
  }
  if (sig.result !== "to") {
    // resultTypeOf without its table lookup
    const want = sig.result === "T" ? T : (fixedType(sig.result) ?? voidType);
    if (type !== want) {
      if (!out) return false;
      out.push(`result type is ${typeToString(type)}, expected ${typeToString(want)}`);
      ok = false;
    }
  }
  const rules = sig.operands;
  const each = Array.isArray(rules) ? undefined : (rules as { each: OperandRule }).each;
  for (let i = 0; i < operands.length; i++) {
    const rule = each ?? (rules as readonly OperandRule[])[i];
    const v = operands[i];
    if (v === undefined || rule === undefined || acceptsOperand(rule, T, v.type)) continue;
    if (!out) return false;
    out.push(`operand ${i} (${show!(i)}) has type ${typeToString(v.type)}, expected ${describeExpected(op, i, rule, T)}`);
    ok = false;
  }
  return ok;
}
