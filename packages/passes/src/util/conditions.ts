/**
 * Branch conditions as facts: what "condition c is nonzero" (or zero) says, keyed so that a
 * later test of the same SSA value, or of a compare with the same operands in the same,
 * swapped or inverted form (`ne p, 0` decides `eq p, 0` and `ne 0, p`), finds it.
 * correlated-branch (facts of dominating branches) and simplify-cfg's jump threading
 * (facts of the edges into a block) share these keys.
 */
import { INVERTED_COMPARE, SWAPPED_COMPARE, typeToString, type CompareOpcode, type Instruction, type Type, type Value } from "@luabpf/ir";

/** The key of the fact "`op` T a, b holds". */
export function compareKey(op: CompareOpcode, t: Instruction["typeParam"], a: Value, b: Value): string {
  return `${op} ${typeToString(t)} ${a.id},${b.id}`;
}

/** Is `v` a compare instruction (an i64 0 or 1)? */
export function isCompare(v: Value): v is Instruction & { opcode: CompareOpcode } {
  return v.kind === "instruction" && (v as Instruction).info.shape === "compare";
}

/** The facts "c is nonzero" (`holds`) or "c is zero" add: (key, truth) pairs. */
export function factsOf(c: Value, holds: boolean): [string, boolean][] {
  const out: [string, boolean][] = [[`v${c.id}`, holds]];
  if (isCompare(c)) {
    const [a, b] = [c.operands[0]!, c.operands[1]!];
    const op = c.opcode;
    out.push([compareKey(op, c.typeParam, a, b), holds]);
    out.push([compareKey(SWAPPED_COMPARE[op], c.typeParam, b, a), holds]);
    out.push([compareKey(INVERTED_COMPARE[op], c.typeParam, a, b), !holds]);
    out.push([compareKey(INVERTED_COMPARE[SWAPPED_COMPARE[op]], c.typeParam, b, a), !holds]);
  }
  return out;
}

/** Anything that answers fact keys. */
export interface FactTable {
  get(key: string): boolean | undefined;
}

/** What the facts say about condition `c`, if anything. */
export function lookupCondition(facts: FactTable, c: Value): boolean | undefined {
  const direct = facts.get(`v${c.id}`);
  if (direct !== undefined || !isCompare(c)) return direct;
  return facts.get(compareKey(c.opcode, c.typeParam, c.operands[0]!, c.operands[1]!));
}

/** Do `a` and `b` print alike (what {@link compareKey} compares of a type parameter)? */
function sameTypeText(a: Type, b: Type): boolean {
  if (a === b) return true;
  if (a.kind !== b.kind) return false;
  if (a.kind === "int") return a.bits === (b as typeof a).bits;
  if (a.kind === "ptr") return (a.region || "") === ((b as typeof a).region || "");
  return true;
}

/**
 * What "c is nonzero" (`holds`) or "c is zero" says about the compare `op T a, b` — the
 * truth {@link factsOf}'s first pair with that compare's key carries — without making the
 * keys: `c` itself with the same operands, swapped, inverted, or both.
 */
export function compareDecided(c: Value, holds: boolean, op: CompareOpcode, t: Instruction["typeParam"], a: Value, b: Value): boolean | undefined {
  if (!isCompare(c) || !sameTypeText(c.typeParam, t)) return undefined;
  const [x, y] = [c.operands[0]!, c.operands[1]!];
  const cop = c.opcode;
  const straight = x.id === a.id && y.id === b.id;
  const swapped = y.id === a.id && x.id === b.id;
  // factsOf's order: as is, swapped, inverted, inverted and swapped.
  if (straight && cop === op) return holds;
  if (swapped && SWAPPED_COMPARE[cop] === op) return holds;
  if (straight && INVERTED_COMPARE[cop] === op) return !holds;
  if (swapped && INVERTED_COMPARE[SWAPPED_COMPARE[cop]] === op) return !holds;
  return undefined;
}
