/**
 * SSA construction while lowering: Braun, Buchwald, Hack, Leißa, Mallon, Zwinkau 2013,
 * "Simple and Efficient Construction of Static Single Assignment Form".
 *
 * Source variables are numbered; the lowering writes a variable's value in a block
 * (`write`) and reads it (`read`). A read that finds no definition in its block looks
 * through the predecessors: with one predecessor it recurses, with several it places a
 * phi (first recorded as the variable's value, which breaks cycles) and fills its operands
 * from every predecessor. A block whose predecessors are not all known yet (a loop header
 * before its back edges exist) is not *sealed*: reads there create *incomplete* phis whose
 * operands are added when `seal` is called. A phi whose operands are all the same value
 * (or itself) is *trivial*; it is replaced by that value with `replaceAllUsesWith`, and
 * the phis that used it are checked again, which yields minimal SSA for the reducible
 * CFGs the structured lowering produces.
 *
 * Removed phis stay in a replacement table so that definitions recorded before the
 * removal resolve to the value that replaced them.
 *
 * Cost: each read is O(1) when the block defines the variable, otherwise proportional to
 * the blocks walked back to a definition (each gets the definition recorded).
 */
import { assert, BasicBlock, Builder, Function, type Instruction, type Type, type Value } from "@luabpf/ir";

/** A source variable, by number. */
export type SsaVariable = number;

export class SsaBuilder {
  private readonly types: Type[] = [];
  private readonly names: (string | undefined)[] = [];
  private readonly undefinedValues: (Value | undefined)[] = [];
  /** currentDef[variable][block id]. */
  private readonly currentDef: Map<number, Value>[] = [];
  private readonly sealed = new Set<number>();
  /** block id → variable → its incomplete phi. */
  private readonly incompletePhis = new Map<number, Map<SsaVariable, Instruction>>();
  /** Removed trivial phis → the value that replaced them. */
  private readonly replaced = new Map<Value, Value>();
  private readonly phiBuilder: Builder;

  constructor(readonly fn: Function) {
    this.phiBuilder = new Builder(fn);
  }

  /**
   * Declares a variable of IR type `type`; `name` is for debugging only. `undefinedValue`
   * is what reads in unreachable code see (default: the zero constant).
   */
  newVariable(type: Type, name?: string, undefinedValue?: Value): SsaVariable {
    this.types.push(type);
    this.names.push(name);
    this.undefinedValues.push(undefinedValue);
    this.currentDef.push(new Map());
    return this.types.length - 1;
  }

  /** The value of `variable` is `value` at the end of `block` (so far). */
  write(variable: SsaVariable, block: BasicBlock, value: Value): void {
    assert(value.type === this.types[variable], () => `ssa: variable ${this.names[variable] ?? variable} written with a value of another type`);
    this.currentDef[variable]!.set(block.id, value);
  }

  /** The value of `variable` at the current end of `block`. */
  read(variable: SsaVariable, block: BasicBlock): Value {
    const def = this.currentDef[variable]!.get(block.id);
    if (def !== undefined) return this.resolve(def);
    return this.readRecursive(variable, block);
  }

  isSealed(block: BasicBlock): boolean {
    return this.sealed.has(block.id);
  }

  /** Declares that every predecessor of `block` is known; completes its incomplete phis. */
  seal(block: BasicBlock): void {
    assert(!this.sealed.has(block.id), () => `ssa: @bb${block.id} sealed twice`);
    this.sealed.add(block.id);
    const pending = this.incompletePhis.get(block.id);
    if (!pending) return;
    this.incompletePhis.delete(block.id);
    for (const [variable, phi] of pending) this.addPhiOperands(variable, phi);
  }

  /** Follows the replacements of removed phis. */
  resolve(v: Value): Value {
    let r = v;
    for (let next = this.replaced.get(r); next !== undefined; next = this.replaced.get(r)) r = next;
    return r;
  }

  private readRecursive(variable: SsaVariable, block: BasicBlock): Value {
    let value: Value;
    if (!this.sealed.has(block.id)) {
      const phi = this.newPhi(variable, block);
      let pending = this.incompletePhis.get(block.id);
      if (!pending) this.incompletePhis.set(block.id, (pending = new Map()));
      pending.set(variable, phi);
      value = phi;
    } else if (block.preds.length === 1) {
      value = this.read(variable, block.preds[0]!);
    } else if (block.preds.length === 0) {
      // Unreachable code (after a return or break): any value will do.
      value = this.undefinedValue(variable);
    } else {
      const phi = this.newPhi(variable, block);
      // Recorded before the operands are read, so that cycles through this block end here.
      this.write(variable, block, phi);
      value = this.addPhiOperands(variable, phi);
    }
    this.write(variable, block, value);
    return value;
  }

  private newPhi(variable: SsaVariable, block: BasicBlock): Instruction {
    return this.phiBuilder.phi(this.types[variable]!, block);
  }

  private undefinedValue(variable: SsaVariable): Value {
    return this.undefinedValues[variable] ?? this.fn.constant(this.types[variable]!, 0);
  }

  private addPhiOperands(variable: SsaVariable, phi: Instruction): Value {
    const block = phi.block!;
    // One pair per incoming edge, in predecessor order (a block may appear twice).
    for (const pred of block.preds) phi.addIncoming(this.read(variable, pred), pred);
    return this.tryRemoveTrivialPhi(phi);
  }

  private tryRemoveTrivialPhi(phi: Instruction): Value {
    let same: Value | undefined;
    for (const op of phi.operands) {
      if (op === same || op === phi) continue;
      if (same !== undefined) return phi; // merges at least two values: not trivial
      same = op;
    }
    // A phi with no operand other than itself is in unreachable code or undefined.
    const replacement = same ?? this.fn.constant(phi.type, 0);
    const phiUsers = new Set<Instruction>();
    for (const u of phi.uses) if (u.user !== phi && u.user.isPhi) phiUsers.add(u.user);
    phi.replaceAllUsesWith(replacement);
    phi.erase();
    this.replaced.set(phi, replacement);
    for (const user of phiUsers) {
      // A phi still waiting for its block to be sealed has no operands yet to judge.
      if (user.block && this.sealed.has(user.block.id)) this.tryRemoveTrivialPhi(user);
    }
    return replacement;
  }
}

/**
 * Removes phis that became trivial after CFG clean-up (e.g. when unreachable
 * predecessors were removed), until none is left. Returns the number removed.
 */
export function removeTrivialPhis(fn: Function): number {
  let removed = 0;
  for (let changed = true; changed; ) {
    changed = false;
    for (const bb of fn.blocks) {
      for (const phi of bb.phis()) {
        let same: Value | undefined;
        let trivial = true;
        for (const op of phi.operands) {
          if (op === same || op === phi) continue;
          if (same !== undefined) {
            trivial = false;
            break;
          }
          same = op;
        }
        if (!trivial) continue;
        phi.replaceAllUsesWith(same ?? fn.constant(phi.type, 0));
        phi.erase();
        removed++;
        changed = true;
      }
    }
  }
  return removed;
}
