/**
 * `simplify-cfg`: control-flow cleanups, iterated to a fixed point.
 *
 * 1. Fold branches: `condbr k, T, F` with constant k, and `condbr c, X, X`, become `br`.
 * 2. Remove blocks unreachable from the entry.
 * 3. Remove trivial phis: all incoming values equal (ignoring the phi itself), or a phi
 *    in a block with one predecessor.
 * 4. Merge a block into its predecessor when that predecessor ends with `br` to it and is
 *    its only predecessor.
 * 5. Remove forwarding blocks (only `br C`, no phis): predecessors jump straight to C, and
 *    C's phis get the forwarded value for each of them. Skipped when a predecessor already
 *    reaches C and C has phis (one block cannot send two values to one phi).
 * 6. Thread jumps over decided branches: a block B made of phis, pure instructions used
 *    only inside B, and a `condbr`, whose condition is known on the edge from predecessor
 *    P — evaluated with the phi values coming from P and the conditions the branches on
 *    the way into B decided (P's own, and those of the single-predecessor blocks above
 *    it: `(m[k] or 0)` tests the lookup's nil again after the merge of the diamond that
 *    loaded the value) — jumps from P directly to the known target (skipped when the
 *    target would receive two edges from P and has phis). B's phis may be used by its
 *    successors' phis (they get P's value) and in blocks a successor S dominates when B is
 *    S's only predecessor: S then gets a phi of the values arriving at B (SSA repair) and
 *    those uses read it. Dominance comes from one dominator tree per round: threading only
 *    removes paths, so what it found stays true.
 * 7. Share returns: blocks made only of `ret v` for the same v (a constant, the same
 *    value, or nothing) become one — the last of them in layout order, which the block
 *    before it usually reaches by falling through; the others' predecessors jump there.
 *    One `r0 = K; exit` pair per distinct return instead of one per `return` in the
 *    source (clang's shared return block); a predecessor that fell through into a
 *    removed copy pays one jump for the two instructions saved. The uses of v in the
 *    copies were dominated by v's definition, so is the shared block (every way into it
 *    comes from a predecessor of a copy, which v's definition dominates).
 * 8. Merge masked tests: two branches in a row on `(y & m1) == k1` and `(y & m2) == k2`
 *    (or `(y >> s) & m`) of the same y, the second block holding nothing else and both
 *    leaving to the same block with the same phi values, become one branch on
 *    `(y & (m1|m2)) == (k1|k2)` — clang's `flags & 0x12 == 2` for "SYN set, ACK clear".
 *
 * Changes the CFG: preserves nothing when it changed something. Cost: O(blocks +
 * instructions) per round; rounds are bounded by the number of blocks removed.
 */
import {
  bitsOf,
  DominatorTree,
  foldConditionalBranch,
  incomingValueOfEdge,
  redirectBranch,
  removeUnreachableBlocks,
  typeToString,
  type BasicBlock,
  type CompareOpcode,
  type Function,
  type Instruction,
  type Use,
  type Value,
} from "@luabpf/ir";
import { defineFunctionPass, type FunctionPassContext } from "../pass.js";
import { isFoldable, evaluate } from "../util/fold.js";
import { compareDecided, isCompare } from "../util/conditions.js";
import { constValue, usedOnlyIn } from "../util/ir.js";

function foldBranches(fn: Function, ctx: FunctionPassContext): boolean {
  let changed = false;
  for (const bb of fn.blocks) {
    const t = bb.terminator;
    if (t?.opcode !== "condbr") continue;
    const k = constValue(t.operands[0]!);
    if (k !== undefined) foldConditionalBranch(bb, k !== 0n);
    else if (t.targets[0] === t.targets[1]) {
      // condbr c, X, X: a jump; phis of X whose two pairs differ become selects on c.
      const c = t.operands[0]!;
      for (const phi of t.targets[0]!.phis()) {
        const [vt, vf] = [incomingValueOfEdge(phi, bb, 0), incomingValueOfEdge(phi, bb, 1)];
        if (vt === vf) continue;
        const sel = fn.createInstruction("select", phi.type, phi.type, [c, vt, vf]);
        sel.insertBefore(t);
        phi.setOperand(phi.incomingIndex(bb), sel);
        ctx.stat("selects-formed");
      }
      foldConditionalBranch(bb, true);
    } else continue;
    ctx.stat("branches-folded");
    changed = true;
  }
  return changed;
}

/** The value a trivial phi equals, or undefined. */
function trivialPhiValue(phi: Instruction): Value | undefined {
  let same: Value | undefined;
  for (const v of phi.operands) {
    if (v === phi || v === same) continue;
    if (same !== undefined) return undefined;
    same = v;
  }
  return same;
}

function removeTrivialPhis(fn: Function, ctx: FunctionPassContext): boolean {
  let changed = false;
  let again = true;
  while (again) {
    again = false;
    for (const bb of fn.blocks) {
      for (const phi of bb.phis()) {
        const v = trivialPhiValue(phi);
        if (v === undefined) continue;
        phi.replaceAllUsesWith(v);
        phi.erase();
        ctx.stat("phis-removed");
        changed = again = true;
      }
    }
  }
  return changed;
}

/** Merges `succ` into `bb` when `bb` ends in `br succ` and is its only predecessor. */
function mergeBlocks(fn: Function, ctx: FunctionPassContext): boolean {
  let changed = false;
  for (const bb of [...fn.blocks]) {
    if (bb.parent !== fn) continue;
    for (;;) {
      const t = bb.terminator;
      if (t?.opcode !== "br") break;
      const succ = t.targets[0]!;
      if (succ === bb || succ === fn.entry || succ.preds.length !== 1) break;
      for (const phi of succ.phis()) {
        phi.replaceAllUsesWith(phi.operands[0]!);
        phi.erase();
      }
      t.erase();
      const newSuccs = new Set(succ.succs);
      for (const inst of succ.instructions()) inst.moveToEnd(bb);
      for (const s of newSuccs) for (const phi of s.phis()) for (let k = 0; k < phi.incoming.length; k++) if (phi.incoming[k] === succ) phi.incoming[k] = bb;
      fn.removeBlock(succ);
      ctx.stat("blocks-merged");
      changed = true;
    }
  }
  return changed;
}

function removeForwardingBlocks(fn: Function, ctx: FunctionPassContext): boolean {
  let changed = false;
  for (const bb of [...fn.blocks]) {
    if (bb.parent !== fn || bb === fn.entry || bb.first !== bb.last || bb.first?.opcode !== "br") continue;
    const target = bb.first.targets[0]!;
    if (target === bb) continue;
    const hasPhis = target.first?.isPhi ?? false;
    if (hasPhis && bb.preds.some((p) => target.preds.includes(p))) continue;
    if (hasPhis && new Set(bb.preds).size !== bb.preds.length) continue;
    for (const p of [...new Set(bb.preds)]) {
      const slots = p.terminator!.targets;
      for (let s = 0; s < slots.length; s++) {
        if (slots[s] !== bb) continue;
        redirectBranch(p, bb, target, (phi) => phi.incomingValue(bb), s);
      }
    }
    fn.removeBlock(bb);
    ctx.stat("forwarding-blocks-removed");
    changed = true;
  }
  return changed;
}

/** How many single-predecessor blocks are walked up from an edge for the branches it decided. */
const EDGE_FACT_DEPTH = 8;

/**
 * The conditions decided on the way from `pred` into `bb`, nearest first, as pairs of the
 * condition and whether it held: the branch on the edge itself and those left on the chain
 * of single-predecessor blocks above `pred` (SSA values do not change, so a condition
 * tested there still has that value here). A question goes to them in order and the first
 * that answers it decides (util/conditions.ts factsOf's keys, first recorded wins).
 */
function edgeConditions(pred: BasicBlock, bb: BasicBlock): (Value | boolean)[] {
  const out: (Value | boolean)[] = [];
  let [from, to] = [pred, bb];
  for (let depth = 0; depth < EDGE_FACT_DEPTH; depth++) {
    const t = from.terminator;
    if (t?.opcode === "condbr" && t.targets[0] !== t.targets[1]) out.push(t.operands[0]!, t.targets[0] === to);
    if (from.preds.length !== 1) break;
    const up = from.preds[0]!;
    if (up === from || up === bb) break;
    [from, to] = [up, from];
  }
  return out;
}

/**
 * The condition of `bb`'s condbr on the way in from `pred`, if known: `bb`'s instructions
 * evaluated with the phi values from `pred` and the conditions the edge decided (a compare
 * with the same operands, after the phis are replaced by `pred`'s values, is looked up as
 * in correlated-branch). `x & 0` and `x * 0` are 0 whatever x is.
 */
function conditionFrom(bb: BasicBlock, pred: BasicBlock): bigint | undefined {
  const known = new Map<Value, bigint>();
  let conditions: (Value | boolean)[] | undefined;
  const onEdge = (v: Value): Value => (v.kind === "instruction" && (v as Instruction).isPhi && (v as Instruction).block === bb ? (v as Instruction).incomingValue(pred) : v);
  /** What the edge's conditions say of the compare `v` (its phi operands taken on the edge). */
  const compareOnEdge = (v: Instruction & { opcode: CompareOpcode }): bigint | undefined => {
    conditions ??= edgeConditions(pred, bb);
    if (conditions.length === 0) return undefined;
    const [a, b] = [onEdge(v.operands[0]!), onEdge(v.operands[1]!)];
    for (let k = 0; k < conditions.length; k += 2) {
      const f = compareDecided(conditions[k] as Value, conditions[k + 1] as boolean, v.opcode, v.typeParam, a, b);
      if (f !== undefined) return f ? 1n : 0n;
    }
    return undefined;
  };
  /** What the edge's conditions say of the value `c` itself (a condition tested on the way). */
  const valueOnEdge = (c: Value): bigint | undefined => {
    conditions ??= edgeConditions(pred, bb);
    for (let k = 0; k < conditions.length; k += 2) if ((conditions[k] as Value).id === c.id) return conditions[k + 1] ? 1n : 0n;
    return undefined;
  };
  const valueOf = (v: Value): bigint | undefined => {
    const k = constValue(v) ?? known.get(v);
    if (k !== undefined || !isCompare(v)) return k;
    return compareOnEdge(v);
  };
  for (let i = bb.first; i; i = i.next) {
    if (i.isPhi) {
      const k = valueOf(i.incomingValue(pred));
      if (k !== undefined) known.set(i, k);
      continue;
    }
    if (i.opcode === "condbr") {
      const c = i.operands[0]!;
      return valueOf(c) ?? valueOnEdge(onEdge(c));
    }
    if (!isFoldable(i.opcode)) return undefined;
    const args = i.operands.map(valueOf);
    let k: bigint | undefined;
    if (args.every((a) => a !== undefined)) k = evaluate(i.opcode, i.typeParam, i.type, args as bigint[]);
    else if ((i.opcode === "and" || i.opcode === "mul") && args.includes(0n)) k = 0n;
    else if (isCompare(i)) k = valueOf(i);
    if (k !== undefined) known.set(i, k);
  }
  return undefined;
}

const KEEP = 0;
const REJECT = 1;
const PLACE = 2;

/**
 * What threading through `bb` means for use `u` of one of `bb`'s phis: KEEP when it needs
 * nothing (an instruction of `bb`, or a successor's phi receiving the value from `bb`),
 * REJECT when `bb` cannot be threaded (another phi of `bb` reads it), PLACE when a
 * successor must dominate it ({@link escapingUses}).
 */
function phiUse(u: Use, bb: BasicBlock): typeof KEEP | typeof REJECT | typeof PLACE {
  const user = u.user;
  if (user.block === bb) return user.isPhi ? REJECT : KEEP;
  return user.isPhi && user.incoming[u.index] === bb ? KEEP : PLACE;
}

/**
 * Where `bb`'s phis are used outside `bb` other than as the value a successor's phi receives
 * from `bb`: per phi, the uses each successor S dominates, S having `bb` as its only
 * predecessor. Threading an edge P → bb to S then gives S a phi of the values arriving at
 * `bb` (SSA repair), which those uses read instead. Undefined when a use is dominated by
 * neither successor, or `bb` has other instructions used outside it.
 */
function escapingUses(bb: BasicBlock, dt: DominanceOnDemand): Map<Instruction, Map<BasicBlock, Use[]>> | undefined {
  const term = bb.terminator!;
  // The other instructions first: they need no dominator tree (a loop header whose counter
  // update is used after the loop is rejected here). The phis' walk below came first when
  // this was written, and asked for the tree (computed then, as the CFG stood) on the first
  // use it had to place: `dt.owe()` records that moment without computing it.
  if (!othersStayIn(bb, term)) {
    if (wouldAskDominance(bb, term)) dt.owe();
    return undefined;
  }
  const out = new Map<Instruction, Map<BasicBlock, Use[]>>();
  for (let i = bb.first; i && i.isPhi; i = i.next) {
    for (const u of i.uses) {
      const use = phiUse(u, bb);
      if (use === REJECT) return undefined;
      if (use === KEEP) continue;
      const user = u.user;
      const at = user.isPhi ? user.incoming[u.index]! : user.block!;
      const s = term.targets.find((t) => t !== bb && t.preds.length === 1 && dt.tree().dominates(t, at));
      if (!s) return undefined;
      let bySucc = out.get(i);
      if (!bySucc) out.set(i, (bySucc = new Map()));
      const list = bySucc.get(s);
      if (list) list.push(u);
      else bySucc.set(s, [u]);
    }
  }
  return out;
}

/** Are `bb`'s instructions other than its phis and `term` foldable and used only inside `bb` (by non-phis)? */
function othersStayIn(bb: BasicBlock, term: Instruction): boolean {
  for (let i = bb.firstNonPhi(); i && i !== term; i = i.next) if (!isFoldable(i.opcode) || !usedOnlyIn(i, bb)) return false;
  return true;
}

/**
 * Would {@link escapingUses}'s walk of `bb`'s phis, taken first, have asked for the dominator
 * tree before it failed (a use outside `bb` with a successor entered only from `bb`)?
 */
function wouldAskDominance(bb: BasicBlock, term: Instruction): boolean {
  for (let i = bb.first; i && i.isPhi; i = i.next) {
    for (const u of i.uses) {
      const use = phiUse(u, bb);
      if (use === REJECT) return false;
      if (use === PLACE) return term.targets.some((t) => t !== bb && t.preds.length === 1);
    }
  }
  return false;
}

/**
 * The dominator tree of one {@link threadJumps} call, computed on first need: threading only
 * removes paths (an edge P → S replaces P → bb → S), so a dominance it found still holds
 * between the blocks that remain. Owed (asked for but not read) it is computed before the
 * CFG next changes, so that it is the tree of the CFG as it stood when it was first asked for.
 */
class DominanceOnDemand {
  private computed: DominatorTree | undefined;
  private owed = false;
  constructor(private readonly fn: Function) {}
  tree(): DominatorTree {
    return (this.computed ??= DominatorTree.compute(this.fn));
  }
  owe(): void {
    this.owed = true;
  }
  /** Owed or computed: owing it again changes nothing. */
  get pinned(): boolean {
    return this.owed || this.computed !== undefined;
  }
  /** Before the CFG changes. */
  settle(): void {
    if (this.owed) this.tree();
  }
}

/** Is `preds[k]` the only occurrence of that block in `preds`? */
function onlyOnce(preds: readonly BasicBlock[], k: number): boolean {
  const p = preds[k]!;
  for (let j = 0; j < preds.length; j++) if (j !== k && preds[j] === p) return false;
  return true;
}

/**
 * Step 6 (see the file comment). `bb`'s threads are the edges from predecessors whose
 * condition {@link conditionFrom} decides; {@link escapingUses} then says whether `bb` can be
 * threaded, and its first test does not depend on the threads: when it fails (a loop header
 * whose counter update is used outside it), no thread is taken and the threads matter only
 * to whether there is one (then escapingUses would have owed the dominator tree). So such a
 * block is evaluated only until its first thread, and not at all when the tree would not be
 * owed or already is (owing it again changes nothing) — the same steps as evaluating every
 * edge first (`filtered` false: the tests' reference).
 */
function threadJumpsWith(fn: Function, ctx: FunctionPassContext, filtered: boolean): boolean {
  let changed = false;
  const dt = new DominanceOnDemand(fn);
  for (const bb of [...fn.blocks]) {
    if (bb.parent !== fn || bb === fn.entry || bb.terminator?.opcode !== "condbr") continue;
    const term = bb.terminator;
    // Whether escapingUses' first test fails, and then whether it would owe the tree.
    const blocked = filtered && !othersStayIn(bb, term);
    if (blocked && (dt.pinned || !wouldAskDominance(bb, term))) continue;
    const threads: [BasicBlock, BasicBlock][] = [];
    const preds = bb.preds;
    // Each predecessor with one edge into bb, in the order of the predecessors.
    for (let j = 0; j < preds.length; j++) {
      const p = preds[j]!;
      if (p === bb || !onlyOnce(preds, j)) continue;
      const k = conditionFrom(bb, p);
      if (k === undefined) continue;
      const target = term.targets[k !== 0n ? 0 : 1]!;
      if (target !== bb) threads.push([p, target]);
      if (blocked && threads.length > 0) break;
    }
    if (threads.length === 0) continue;
    if (blocked) {
      dt.owe();
      continue;
    }
    const escaping = escapingUses(bb, dt);
    if (!escaping) continue;
    const repairs = new Map<BasicBlock, Map<Instruction, Instruction>>();
    for (const [p, target] of threads) {
      const needsRepair = [...escaping.values()].some((m) => m.has(target)) && !repairs.has(target);
      if (needsRepair && (target.preds.length !== 1 || target.preds[0] !== bb)) continue;
      if ((target.first?.isPhi || needsRepair) && target.preds.includes(p)) continue;
      if (needsRepair) {
        const made = new Map<Instruction, Instruction>();
        for (const [x, bySucc] of escaping) {
          const uses = bySucc.get(target);
          if (!uses) continue;
          const r = fn.createInstruction("phi", x.type, x.typeParam);
          target.prepend(r);
          r.addIncoming(x, bb);
          for (const u of uses) u.user.setOperand(u.index, r);
          made.set(x, r);
          ctx.stat("phis-repaired");
        }
        repairs.set(target, made);
      }
      const onEdge = (v: Value): Value => (v.kind === "instruction" && (v as Instruction).isPhi && (v as Instruction).block === bb ? (v as Instruction).incomingValue(p) : v);
      // Read before the redirect, which drops p's pairs from bb's phis.
      const values = new Map<Instruction, Value>();
      for (const phi of target.phis()) values.set(phi, onEdge(phi.incomingValue(bb)));
      dt.settle();
      redirectBranch(p, bb, target, (phi) => values.get(phi)!);
      ctx.stat("jumps-threaded");
      changed = true;
    }
  }
  return changed;
}

const threadJumps = (fn: Function, ctx: FunctionPassContext): boolean => threadJumpsWith(fn, ctx, true);

/** @internal Step 6 evaluating every edge before asking whether the block can be threaded (its test's reference). */
export const threadJumpsUnfiltered = (fn: Function, ctx: FunctionPassContext): boolean => threadJumpsWith(fn, ctx, false);

/** The key of a block made only of a `ret` (see step 7), or undefined. */
function returnKey(bb: BasicBlock): string | undefined {
  const t = bb.first;
  if (t !== bb.last || t?.opcode !== "ret") return undefined;
  const v = t.operands[0];
  if (v === undefined) return "void";
  const k = constValue(v);
  return k !== undefined ? `${typeToString(v.type)} ${k}` : `%${v.id}`;
}

function shareReturns(fn: Function, ctx: FunctionPassContext): boolean {
  const last = new Map<string, BasicBlock>();
  for (const bb of fn.blocks) {
    const key = returnKey(bb);
    if (key !== undefined) last.set(key, bb);
  }
  let changed = false;
  for (const bb of [...fn.blocks]) {
    const key = returnKey(bb);
    const shared = key === undefined ? undefined : last.get(key);
    if (!shared || shared === bb || bb === fn.entry) continue;
    for (const p of [...new Set(bb.preds)]) {
      const term = p.terminator!;
      for (let slot = 0; slot < term.targets.length; slot++) if (term.targets[slot] === bb) redirectBranch(p, bb, shared, undefined, slot);
    }
    ctx.stat("returns-shared");
    changed = true;
  }
  return changed;
}

/** "(y & mask) == value" as an unsigned mask and value of y's width. */
interface MaskedTest {
  y: Value;
  mask: bigint;
  value: bigint;
}

/**
 * The masked equality a branch on `c` tests when `cont` is the way on, or undefined:
 * `eq (and y, M), K` taken to `cont`, or `ne ...` not taken to it; `(y >> s) & M` tests
 * the mask M << s of y (when that fits y's width).
 */
function maskedTest(c: Value, contIsTrue: boolean): MaskedTest | undefined {
  if (!isCompare(c) || (c.opcode === "eq") !== contIsTrue || (c.opcode !== "eq" && c.opcode !== "ne")) return undefined;
  const bits = bitsOf(c.typeParam) || 64;
  const k = constValue(c.operands[1]!);
  const and = c.operands[0]!;
  if (k === undefined || and.kind !== "instruction" || (and as Instruction).opcode !== "and") return undefined;
  const m = constValue((and as Instruction).operands[1]!);
  if (m === undefined) return undefined;
  let [y, mask, value] = [(and as Instruction).operands[0]!, BigInt.asUintN(bits, m), BigInt.asUintN(bits, k)];
  if ((value & ~mask) !== 0n) return undefined; // never equal: sccp's business
  if (y.kind === "instruction" && (y as Instruction).opcode === "lshr") {
    const s = constValue((y as Instruction).operands[1]!);
    if (s !== undefined && s > 0n && s < BigInt(bits) && mask << s === BigInt.asUintN(bits, mask << s)) {
      [y, mask, value] = [(y as Instruction).operands[0]!, mask << s, value << s];
    }
  }
  return { y, mask, value };
}

/**
 * Step 8 (see the file comment): two masked tests of one value in a row that leave to the same block become one.
 * A ends in a branch that goes on to B when `(y & m1) == k1` and otherwise to E; B (A's
 * only successor that way, with A its only predecessor) holds only pure instructions
 * used inside B and a branch that goes on to C when `(y & m2) == k2` and otherwise to E,
 * which receives the same phi values from A and B: A tests `(y & (m1|m2)) == (k1|k2)` once
 * and goes to C or E (clang's `flags & 0x12 == 2` for "SYN set and ACK clear").
 */
function mergeMaskedTests(fn: Function, ctx: FunctionPassContext): boolean {
  let changed = false;
  for (const a of fn.blocks) {
    const ta = a.terminator;
    if (ta?.opcode !== "condbr" || ta.targets[0] === ta.targets[1]) continue;
    for (const side of [0, 1]) {
      const b = ta.targets[side]!;
      const e = ta.targets[1 - side]!;
      const tb = b.terminator;
      if (b === a || b.preds.length !== 1 || tb?.opcode !== "condbr" || !tb.targets.includes(e) || tb.targets[0] === tb.targets[1]) continue;
      const cont = tb.targets[0] === e ? 1 : 0;
      const c = tb.targets[cont]!;
      if (c === b || e === b) continue;
      const t1 = maskedTest(ta.operands[0]!, side === 0);
      const t2 = maskedTest(tb.operands[0]!, cont === 0);
      if (!t1 || !t2 || t1.y !== t2.y || (t1.value & t2.mask) !== (t2.value & t1.mask)) continue;
      let pure = true;
      for (let i = b.first; i && i !== tb && pure; i = i.next) pure = !i.isPhi && isFoldable(i.opcode) && usedOnlyIn(i, b);
      if (!pure || [...e.phis()].some((phi) => phi.incomingValue(a) !== phi.incomingValue(b))) continue;
      if (c.first?.isPhi && c.preds.includes(a)) continue;
      const T = ta.operands[0]!.kind === "instruction" ? (ta.operands[0] as Instruction).typeParam : t1.y.type;
      const and = fn.createInstruction("and", t1.y.type, T, [t1.y, fn.constant(T, t1.mask | t2.mask)]);
      const eq = fn.createInstruction("eq", ta.operands[0]!.type, T, [and, fn.constant(T, t1.value | t2.value)]);
      and.loc = eq.loc = ta.loc;
      and.insertBefore(ta);
      eq.insertBefore(ta);
      // A → C replaces A → B → C (C's phis get what B sent); A → E stays. B is left
      // unreachable: the next round removes it and its pairs.
      const values = [...c.phis()].map((phi) => [phi, phi.incomingValue(b)] as const);
      ta.setOperand(0, eq);
      ta.setTarget(0, c);
      ta.setTarget(1, e);
      for (const [phi, v] of values) phi.addIncoming(v, a);
      ctx.stat("tests-merged");
      changed = true;
      break;
    }
  }
  return changed;
}

function removeUnreachable(fn: Function, ctx: FunctionPassContext): boolean {
  const removed = removeUnreachableBlocks(fn);
  if (removed) ctx.stat("blocks-unreachable", removed);
  return removed > 0;
}

/**
 * The steps of a round, in order (see the file note); each says whether it changed anything.
 *
 * @internal Exported for its test.
 */
export const STEPS: readonly ((fn: Function, ctx: FunctionPassContext) => boolean)[] = [
  foldBranches,
  removeUnreachable,
  removeTrivialPhis,
  mergeBlocks,
  removeForwardingBlocks,
  threadJumps,
  shareReturns,
  mergeMaskedTests,
];

/**
 * Runs `steps` in rounds on `fn` until a round changes nothing, and says whether any step
 * changed something. Each step is a function of the IR alone: one that changed nothing finds
 * nothing again until another step changes something. So once every step has run in a row
 * without a change (the last round's tail and this round's head), the rest of the round
 * would change nothing either, and the loop stops there.
 *
 * @internal Exported for its test (which runs it over a reference step).
 */
export function runRounds(steps: readonly ((fn: Function, ctx: FunctionPassContext) => boolean)[], fn: Function, ctx: FunctionPassContext): boolean {
  let changed = false;
  let quiet = 0;
  for (let round = 0; round < 1000; round++) {
    let c = false;
    for (let s = 0; s < steps.length; s++) {
      if (steps[s]!(fn, ctx)) {
        c = true;
        quiet = 0;
      } else if (++quiet === steps.length) break;
    }
    if (!c) break;
    changed = true;
  }
  return changed;
}

export const simplifyCfg = defineFunctionPass({
  name: "simplify-cfg",
  description: "fold constant branches, remove unreachable/forwarding blocks and trivial phis, merge straight-line blocks, thread jumps, share return blocks, merge masked tests",
  run(fn, ctx) {
    return runRounds(STEPS, fn, ctx);
  },
});
