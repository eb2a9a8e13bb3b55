/**
 * Small IR helpers shared by the passes (passes never import each other).
 */
import { isConstant, type Function, type Instruction, type Value } from "@luabpf/ir";

/**
 * Is `inst` removable when its result is unused? True for instructions without side
 * effects that are not terminators (asks the opcode table).
 */
export function isRemovableWhenUnused(inst: Instruction): boolean {
  const info = inst.info;
  return !info.sideEffects && !info.terminator;
}

/** Erases `inst` if it is in a block, unused and removable; returns whether it did. */
export function eraseIfDead(inst: Instruction): boolean {
  if (!inst.block || inst.uses.length > 0 || !isRemovableWhenUnused(inst)) return false;
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
    if (!i.block || i.uses.length > 0 || !isRemovableWhenUnused(i)) continue;
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
