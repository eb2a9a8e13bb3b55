/**
 * Small IR helpers shared by the passes (passes never import each other).
 */
import { bitsOf, isConstant, type BasicBlock, type Function, type Instruction, type Value } from "@luabpf/ir";

/**
 * Is `inst` removable when its result is unused? True for instructions without side
 * effects that are not terminators (asks the opcode table).
 */
export function isRemovableWhenUnused(inst: Instruction): boolean {
  const info = inst.info;
  return !info.sideEffects && !info.terminator;
}

/** Is every user of `v` a non-phi instruction of `bb`? (Walks the users list in place: no `uses` snapshot.) */
export function usedOnlyIn(v: Value, bb: BasicBlock): boolean {
  for (let p = 0, n = v.useCount; p < n; p++) {
    const user = v.useUserAt(p)!;
    if (user.block !== bb || user.isPhi) return false;
  }
  return true;
}

/** Erases `inst` if it is in a block, unused and removable; returns whether it did. */
export function eraseIfDead(inst: Instruction): boolean {
  if (!inst.block || inst.hasUses || !isRemovableWhenUnused(inst)) return false;
  inst.erase();
  return true;
}

/**
 * Replaces every use of `inst` by `v` and erases `inst`, then erases operands of `inst`
 * that became dead (recursively). Returns the number of instructions erased.
 */
export function replaceAndErase(inst: Instruction, v: Value): number {
  inst.replaceAllUsesWith(v);
  return eraseDeadTree(inst);
}

/** Erases `inst` if dead, then its operands that became dead, transitively. */
export function eraseDeadTree(inst: Instruction): number {
  let n = 0;
  const stack = [inst];
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (!i.block || i.hasUses || !isRemovableWhenUnused(i)) continue;
    const ops = i.operands.filter((o): o is Instruction => o.kind === "instruction" && o !== i);
    i.erase();
    n++;
    stack.push(...ops);
  }
  return n;
}

/** Constant value of `v`, if it is a constant. */
export function constValue(v: Value): bigint | undefined {
  return isConstant(v) ? v.value : undefined;
}

/** Every instruction of `fn` in block order (a snapshot). */
export function allInstructions(fn: Function): Instruction[] {
  const out: Instruction[] = [];
  for (const bb of fn.blocks) for (let i = bb.first; i; i = i.next) out.push(i);
  return out;
}

/**
 * The power of two a boolean (a compare's 0 or 1) is scaled to when `inst` is `shl b, k`
 * with 1 ≤ k ≤ 30, so that `select b, 2^k, 0` moves only 32-bit immediates (eBPF's `mov`
 * sign-extends its immediate: 2^31 would need a 64-bit load); undefined otherwise.
 * instcombine turns such a shift of a compare into that select (three instructions: set,
 * branch over, set, where the shift of a computed 0/1 costs one more), and range-simplify
 * turns a difference's sign bit into the compare when only such shifts use it.
 */
export function booleanScale(inst: Instruction): bigint | undefined {
  if (inst.opcode !== "shl" || bitsOf(inst.type) !== 64) return undefined;
  const k = constValue(inst.operands[1]!);
  return k !== undefined && k >= 1n && k <= 30n ? 1n << k : undefined;
}
