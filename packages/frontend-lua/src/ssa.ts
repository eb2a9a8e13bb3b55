/**
 * SSA construction while lowering: Braun, Buchwald, Hack, Leißa, Mallon, Zwinkau 2013,
 * "Simple and Efficient Construction of Static Single Assignment Form".
 *
 * Source variables are numbered; the lowering writes a variable's value in a block
 * (`write`) and reads it (`read`). A read that finds no definition in its block looks
 * through the predecessors: with one predecessor it continues there, with several it places
 * a phi (first recorded as the variable's value, which breaks cycles) and fills its operands
 * from every predecessor. A block whose predecessors are not all known yet (a loop header
 * before its back edges exist) is not *sealed*: reads there create *incomplete* phis whose
 * operands are added when `seal` is called. A phi whose operands are all the same value
 * (or itself) is *trivial*; it is replaced by that value with `replaceAllUsesWith`, and
 * the phis that used it are checked again, which yields minimal SSA for the reducible
 * CFGs the structured lowering produces.
 *
 * Differences from the paper's recursive pseudo-code, each for a failure it had here:
 * - `read` walks the predecessors with an explicit stack, so a long chain of blocks or
 *   joins cannot overflow the JavaScript stack.
 * - A chain of single-predecessor blocks that loops back on itself without a definition
 *   (the body of a loop that never runs: its header's only predecessor is the back edge)
 *   reads as undefined instead of recursing forever.
 * - A phi whose operands are still being collected ("in progress") is never judged
 *   trivial by the cascade of another removal: with half its operands it might look
 *   trivial and be erased while the read that created it still fills it.
 * - Every value handed out or recorded as an operand is first resolved through the
 *   replacement table, so an erased phi is never used; the table therefore stays acyclic
 *   (an erased phi is never the replacement of another) and `resolve` terminates.
 * - A phi with no operand besides itself (only in code that cannot run) becomes the
 *   variable's undefined value, not zero: for a tag variable zero would mean nil and
 *   turn unreachable code into a type error.
 * - At a sealed join, the predecessors' values are first looked for without placing
 *   anything (each defined in its predecessor or a short chain of single-predecessor
 *   blocks away, as at the join after an `if`): when they are one value, no phi is made
 *   (the paper's would be trivial and removed at once; its value id is still taken, so
 *   the function is the same), otherwise the phi gets them directly. Any other join
 *   (a walk meeting another join, an unsealed block, a long chain) places the phi first.
 *
 * Cost: each read is O(1) when the block defines the variable, otherwise proportional to
 * the blocks walked back to a definition (each gets the definition recorded). The
 * definitions are one hash table keyed by (block, variable) (def-table.ts), not a Map
 * per variable keyed by block, which grew to one entry per block of the function, nor a
 * list per block, tens of thousands of young objects at scale. The builder's other tables (its phis' variables,
 * the phis being filled, the replacements of removed phis, the incomplete phis of
 * unsealed blocks, `read`'s chain) are arrays by value or block id, not Maps keyed by
 * objects: at a million instructions their hashing, and the shrinking of a Map that a read
 * fills and empties again, were most of `read` and `seal`.
 */
import { assert, BasicBlock, Builder, Function, type Instruction, type Type, type Value } from "@luabpf/ir";
import { DefTable, IdTable } from "./def-table.js";

/** A source variable, by number. */
export type SsaVariable = number;

/** A step of `read`'s walk that waits for the value at the end of a predecessor. */
type Frame =
  /** `block` has one predecessor: its value is the predecessor's. `outer` restores `chain`. */
  | { readonly kind: "single"; readonly block: BasicBlock; readonly outer: number | undefined }
  /** `phi` of a sealed block collects one operand per predecessor; `next` is the next one. */
  | { readonly kind: "phi"; readonly phi: Instruction; readonly block: BasicBlock; next: number };

/** Single-predecessor blocks `joinValues` walks through per predecessor before it leaves the join to `read`'s walk. */
const CHAIN_LIMIT = 16;

export class SsaBuilder {
  private readonly types: Type[] = [];
  private readonly names: (string | undefined)[] = [];
  private readonly undefinedValues: (Value | undefined)[] = [];
  /** currentDef: the value of each variable at the end of each block that defines it (def-table.ts). */
  private readonly defs = new DefTable<Value>();
  /** By block id: 1 once sealed. */
  private sealed = new Uint8Array(64);
  /** block id → variable → its incomplete phi. */
  private readonly incompletePhis = new IdTable<(SsaVariable | Instruction)[]>();
  /**
   * By value id (every value of `fn` has a distinct one): 1 + the variable of a phi this
   * builder placed and has not removed, 0 for any other value (others are never judged here).
   */
  private phiVariable = new Int32Array(64);
  /** By value id: 1 for a phi whose operands are being collected. */
  private inProgress = new Uint8Array(64);
  /** By value id: what replaced a removed trivial phi (`fn`'s values only). */
  private readonly replaced = new IdTable<Value>();
  /** How many phis `replaced` holds (bounds `resolve`'s walk). */
  private replacedCount = 0;
  private readonly phiBuilder: Builder;
  /** `read`'s walk: its frames, and its `chain` (see there); the frames are empty between reads. */
  private readonly stack: Frame[] = [];
  /**
   * `read`'s chain, by block id: a block's entry is set when its `chainRead` is the current
   * read's number (a new read clears every entry at once).
   */
  private chainCount = new Int32Array(64);
  private chainRead = new Uint32Array(64);
  private reads = 0;
  /** `joinValues`' findings: the value at the end of each predecessor, in order (the first `joinOperandCount` entries). */
  private readonly joinOperands: Value[] = [];
  private joinOperandCount = 0;
  /** `joinValues`' findings: each single-predecessor block walked through, with the index of its operand (the first `joinChainLength` entries). */
  private readonly joinChain: (BasicBlock | number)[] = [];
  private joinChainLength = 0;

  constructor(
    readonly fn: Function,
    /**
     * `placePhisFirst` places a phi in every sealed join before reading its operands, as
     * the paper does, instead of first looking for the operands without one (see
     * `joinValues`); the result is the same function (test/ssa.test.ts compares them).
     */
    private readonly options: { readonly placePhisFirst?: boolean } = {},
  ) {
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
    return this.types.length - 1;
  }

  /** The value of `variable` is `value` at the end of `block` (so far). */
  write(variable: SsaVariable, block: BasicBlock, value: Value): void {
    assert(value.type === this.types[variable], () => `ssa: variable ${this.names[variable] ?? variable} written with a value of another type`);
    this.defs.set(block.id, variable, value);
  }

  /** The value `variable` was last given in block `id`, if any (not resolved). */
  private lookup(variable: SsaVariable, id: number): Value | undefined {
    return this.defs.get(id, variable);
  }

  /** The value of `variable` at the current end of `block`. */
  read(variable: SsaVariable, block: BasicBlock): Value {
    const own = this.lookup(variable, block.id);
    if (own !== undefined) {
      this.undefinedValue(variable); // made on the first read, as on the walk below (value ids stay in order)
      return this.resolve(own);
    }
    const stack = this.stack;
    /**
     * Block id → the number of phi frames below its latest "single" frame. Meeting a block
     * again with no phi frame pushed since (the same count) is a cycle of single-predecessor
     * blocks without a definition; across a phi frame it is not (the phi is the value).
     */
    // Left empty by every read that returned (a throw on the way would leave it dirty).
    // (Set only when needed: setting an array's length is a call into the runtime, and to 0 drops its backing store.)
    if (stack.length !== 0) stack.length = 0;
    const read = ++this.reads;
    if (this.chainRead.length < this.fn.blockIdBound) {
      const size = Math.max(2 * this.chainRead.length, this.fn.blockIdBound);
      this.chainCount = new Int32Array(size);
      this.chainRead = new Uint32Array(size);
    }
    const chainCount = this.chainCount;
    const chainRead = this.chainRead;
    let phiFrames = 0;
    let at: BasicBlock | undefined = block;
    let value: Value = this.undefinedValue(variable);
    for (;;) {
      // Walk back from `at` until a value is known.
      while (at !== undefined) {
        const def = this.lookup(variable, at.id);
        if (def !== undefined) {
          value = this.resolve(def);
          at = undefined;
        } else if (this.sealed[at.id] !== 1) {
          const phi = this.newPhi(variable, at);
          // `[variable, phi, ...]`: a variable at most once (its phi is its definition here from now on).
          const pending = this.incompletePhis.get(at.id);
          if (pending === undefined) this.incompletePhis.set(at.id, [variable, phi]);
          else pending.push(variable, phi);
          this.write(variable, at, phi);
          value = phi;
          at = undefined;
        } else if (at.preds.length === 0 || (at.preds.length === 1 && chainRead[at.id] === read && chainCount[at.id] === phiFrames)) {
          // Unreachable code (after a return or break, or a loop that never runs): any value will do.
          value = this.undefinedValue(variable);
          this.write(variable, at, value);
          at = undefined;
        } else if (at.preds.length === 1) {
          stack.push({ kind: "single", block: at, outer: chainRead[at.id] === read ? chainCount[at.id] : undefined });
          chainRead[at.id] = read;
          chainCount[at.id] = phiFrames;
          at = at.preds[0]!;
        } else if (!this.options.placePhisFirst && this.joinValues(variable, at)) {
          value = this.placeJoin(variable, at);
          at = undefined;
        } else {
          const phi = this.newPhi(variable, at);
          // Recorded before the operands are read, so that cycles through this block end here.
          this.write(variable, at, phi);
          this.inProgress[phi.id] = 1;
          stack.push({ kind: "phi", phi, block: at, next: 0 });
          phiFrames++;
          at = at.preds[0]!;
        }
      }
      // Hand the value to the frames waiting for it.
      while (at === undefined) {
        // (Not `stack[stack.length - 1]` of an empty stack: `stack[-1]` is a named property, looked up along the prototype chain.)
        if (stack.length === 0) return this.resolve(value);
        const top = stack[stack.length - 1]!;
        if (top.kind === "single") {
          stack.pop();
          if (top.outer === undefined) chainRead[top.block.id] = 0;
          else chainCount[top.block.id] = top.outer;
          this.write(variable, top.block, value);
          continue;
        }
        const preds = top.block.preds;
        top.phi.addIncoming(this.resolve(value), preds[top.next]!);
        top.next++;
        if (top.next < preds.length) {
          at = preds[top.next]!;
          break;
        }
        stack.pop();
        phiFrames--;
        this.inProgress[top.phi.id] = 0;
        value = this.tryRemoveTrivialPhi(top.phi);
        this.write(variable, top.block, value);
      }
    }
  }

  /**
   * Whether the value of `variable` at the end of each predecessor of `block` (a sealed
   * join) is known without placing anything: defined in the predecessor, or reached
   * through at most {@link CHAIN_LIMIT} sealed single-predecessor blocks. Fills
   * `joinOperands` and `joinChain`. False when a walk meets another join, an unsealed
   * block, a block without predecessors or a longer chain: `read` then places the phi
   * first, as the paper does (a cycle back to `block` goes through a join).
   */
  private joinValues(variable: SsaVariable, block: BasicBlock): boolean {
    const operands = this.joinOperands;
    const chain = this.joinChain;
    // The arrays are reused: entries past the counts are stale (no `length = 0`, which drops their backing stores).
    let count = 0;
    let chainLength = 0;
    for (const pred of block.preds) {
      for (let at = pred, steps = 0; ; steps++) {
        const def = this.lookup(variable, at.id);
        if (def !== undefined) {
          operands[count++] = this.resolve(def);
          break;
        }
        if (steps === CHAIN_LIMIT || this.sealed[at.id] !== 1 || at.preds.length !== 1) return false;
        chain[chainLength++] = at;
        chain[chainLength++] = count;
        at = at.preds[0]!;
      }
    }
    this.joinOperandCount = count;
    this.joinChainLength = chainLength;
    return true;
  }

  /**
   * The value of `variable` at the end of `block` from the operands {@link joinValues}
   * found, recorded where `read`'s walk would have recorded it (the blocks of each chain,
   * the join). The paper places a phi before reading its operands; when they are all one
   * value, that phi is trivial and removed at once, so none is made — but its value id is
   * still taken, so that every later value keeps the id it would have had.
   */
  private placeJoin(variable: SsaVariable, block: BasicBlock): Value {
    const operands = this.joinOperands;
    const chain = this.joinChain;
    const count = this.joinOperandCount;
    let value: Value = operands[0]!;
    let same = true;
    for (let i = 1; i < count; i++) if (operands[i] !== value) same = false;
    if (same) {
      this.fn.newValueId();
    } else {
      const phi = this.newPhi(variable, block);
      block.preds.forEach((pred, i) => phi.addIncoming(operands[i]!, pred));
      value = phi;
    }
    for (let k = 0; k < this.joinChainLength; k += 2) this.write(variable, chain[k] as BasicBlock, operands[chain[k + 1] as number]!);
    this.write(variable, block, value);
    return value;
  }

  isSealed(block: BasicBlock): boolean {
    return this.sealed[block.id] === 1;
  }

  /** Declares that every predecessor of `block` is known; completes its incomplete phis. */
  seal(block: BasicBlock): void {
    assert(!this.isSealed(block), () => `ssa: @bb${block.id} sealed twice`);
    if (block.id >= this.sealed.length) {
      const grown = new Uint8Array(Math.max(2 * this.sealed.length, block.id + 1));
      grown.set(this.sealed);
      this.sealed = grown;
    }
    this.sealed[block.id] = 1;
    const pending = this.incompletePhis.get(block.id);
    if (pending === undefined) return;
    this.incompletePhis.set(block.id, undefined);
    // Collect every operand first: completing one phi may cascade into another of the same block.
    for (let i = 1; i < pending.length; i += 2) this.inProgress[(pending[i] as Instruction).id] = 1;
    for (let i = 0; i < pending.length; i += 2) {
      const variable = pending[i] as SsaVariable;
      const phi = pending[i + 1] as Instruction;
      for (const pred of block.preds) phi.addIncoming(this.read(variable, pred), pred);
    }
    for (let i = 1; i < pending.length; i += 2) this.inProgress[(pending[i] as Instruction).id] = 0;
    for (let i = 1; i < pending.length; i += 2) {
      const phi = pending[i] as Instruction;
      if (phi.block !== undefined) this.tryRemoveTrivialPhi(phi);
    }
  }

  /**
   * Follows the replacements of removed phis. The table is acyclic (see the file
   * comment); the bound turns a broken invariant into an internal error, not a hang.
   */
  resolve(v: Value): Value {
    const replaced = this.replaced;
    let r = v;
    for (let steps = 0, next = replaced.get(r.id); next !== undefined; next = replaced.get(r.id)) {
      r = next;
      assert(++steps <= this.replacedCount, () => "ssa: cycle in the phi replacement table");
    }
    // Path compression: later lookups of `v` take one step.
    if (r !== v) replaced.set(v.id, r);
    return r;
  }

  private newPhi(variable: SsaVariable, block: BasicBlock): Instruction {
    const phi = this.phiBuilder.phi(this.types[variable]!, block);
    if (phi.id >= this.phiVariable.length) {
      const size = Math.max(2 * this.phiVariable.length, phi.id + 1);
      const variables = new Int32Array(size);
      variables.set(this.phiVariable);
      this.phiVariable = variables;
      const inProgress = new Uint8Array(size);
      inProgress.set(this.inProgress);
      this.inProgress = inProgress;
    }
    this.phiVariable[phi.id] = variable + 1;
    return phi;
  }

  /** Whether `v` is a phi this builder placed (and has not removed). */
  private isBuilderPhi(v: Value): boolean {
    return v.id < this.phiVariable.length && this.phiVariable[v.id] !== 0;
  }

  private undefinedValue(variable: SsaVariable): Value {
    // The zero constant is made once per variable (the function keeps one per type and value).
    return (this.undefinedValues[variable] ??= this.fn.constant(this.types[variable]!, 0));
  }

  /**
   * Replaces `phi` by its only operand if it is trivial, then re-examines the complete
   * phis of this builder that used it (a worklist, not recursion). Returns the value that
   * now stands for `phi` (itself if it stays).
   */
  private tryRemoveTrivialPhi(phi: Instruction): Value {
    const work: Instruction[] = [phi];
    while (work.length > 0) {
      const p = work.pop()!;
      if (p.block === undefined || this.inProgress[p.id] === 1) continue; // already removed / still filling
      let same: Value | undefined;
      let trivial = true;
      for (const op of p.operands) {
        if (op === same || op === p) continue;
        if (same !== undefined) {
          trivial = false; // merges at least two values
          break;
        }
        same = op;
      }
      if (!trivial) continue;
      // A phi with no operand other than itself is in unreachable code.
      const replacement = same ?? this.undefinedValue(this.phiVariable[p.id]! - 1);
      for (const u of p.uses) {
        const user = u.user;
        if (user === p || !this.isBuilderPhi(user) || user.block === undefined) continue;
        // A phi still waiting for its block to be sealed has no operands yet to judge.
        if (this.isSealed(user.block)) work.push(user);
      }
      p.replaceAllUsesWith(replacement);
      p.erase();
      this.phiVariable[p.id] = 0;
      this.replaced.set(p.id, replacement);
      this.replacedCount++;
    }
    return this.resolve(phi);
  }
}

/**
 * Removes phis that became trivial after CFG clean-up (e.g. when unreachable
 * predecessors were removed), with a worklist: a removal re-examines the phis that used
 * the removed one. Returns the number removed.
 */
export function removeTrivialPhis(fn: Function): number {
  let removed = 0;
  const work: Instruction[] = [];
  for (const bb of fn.blocks) work.push(...bb.phis());
  work.reverse();
  while (work.length > 0) {
    const phi = work.pop()!;
    if (phi.block === undefined) continue;
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
    for (const u of phi.uses) if (u.user !== phi && u.user.isPhi) work.push(u.user);
    phi.replaceAllUsesWith(same ?? fn.constant(phi.type, 0));
    phi.erase();
    removed++;
  }
  return removed;
}
