/**
 * The IR verifier: a list of named checks ({@link CHECKS}), each returning every error it
 * finds with its location and printed context (Binaryen's pass-debug mode, LLVM's
 * Verifier). The pass manager runs it after each pass and names the pass that broke the IR.
 *
 * The invariants maintained incrementally by core.ts — users lists and predecessor lists —
 * are recomputed here from scratch and compared (QBE recomputes them; this is our safety
 * net for keeping them). SSA dominance uses the Cooper–Harvey–Kennedy dominator tree
 * (analysis/dominators.ts) built from the terminators, so it is meaningful even when the
 * predecessor lists are wrong.
 *
 * The verifier never throws on malformed IR: instruction lists are walked with a cycle
 * guard, and context is printed with the printer, which tolerates missing operands. Checks
 * are written so that one defect is reported by one check where possible (for example a
 * use of a value defined in an unreachable block is reported by `unreachable-code`, not
 * also by `ssa-dominance`). Cost: O(instructions + operands + edges) plus the dominator
 * tree. A valid function is settled by one walk that applies every check's rule at once
 * (`screen`); the checks run, one walk each, only when it fails, to say what is wrong.
 */
import { MAX_CALL_ARGS } from "@luabpf/platform";
import { DominatorTree } from "./analysis/dominators.js";
import { BasicBlock, Function, Instruction, type Value } from "./core.js";
import { InternalError } from "./errors.js";
import type { Module } from "./module.js";
import { OPCODES, type OpShape } from "./opcodes.js";
import { printBlockRef, printFunctionHeader, printInstruction, printValue } from "./print.js";
import { typeToString, type Type } from "./types.js";
import { assignable, satisfiesSignature, signatureErrors } from "./typing.js";

/** One verifier finding. */
export interface VerifierError {
  /** The name of the check that found it (an entry of {@link CHECKS}). */
  check: string;
  message: string;
  /** The function's name (`<module>` for module-level findings). */
  function: string;
  /** The block id, when the error is located in a block. */
  block?: number;
  /** The value id of the offending instruction, when there is one. */
  instruction?: number;
  /** The printed instruction, block header or function header. */
  context: string;
}

/** A named verifier check. */
export interface VerifierCheck {
  readonly name: string;
  readonly description: string;
  run(cx: VerifyContext): void;
}

/** Guard against cyclic instruction lists: no real block is this long. */
const MAX_BLOCK_LENGTH = 10_000_000;

/**
 * Zeroed `Int32Array`s for the verifier's tables by id, reused between calls while small
 * (a typed array over 64 bytes is allocated outside the heap, ~2.6 µs each: the verifier runs
 * before every code generation, on functions of a few dozen instructions too) and made fresh
 * when large (a million-instruction function's tables are not kept alive). A table being
 * used is not in the pool, so nested use gets a fresh one.
 */
const pool: Int32Array[] = [];
const POOL_KEEP = 1 << 16;
function borrowTable(length: number): Int32Array {
  for (let k = pool.length - 1; k >= 0; k--) {
    const t = pool[k]!;
    if (t.length >= length) {
      pool[k] = pool[pool.length - 1]!;
      pool.pop();
      t.fill(0, 0, length);
      return t;
    }
  }
  return new Int32Array(Math.max(length, 64));
}
function returnTable(t: Int32Array): void {
  if (t.length <= POOL_KEEP && pool.length < 4) pool.push(t);
}

/** Is `id` an index of a table of `bound` slots? (Ids outside, or not integers, go to the overflow maps.) */
const slotted = (id: number, bound: number): boolean => id >= 0 && id < bound && (id | 0) === id;

/**
 * State shared by the checks of one function: snapshots, lazily built analyses, the error list.
 *
 * The walked instructions are kept as one flat array (`insts`, with `instBlocks` at the
 * same index; block k's are `blockStart[k]` to `blockStart[k + 1]`), and
 * values and blocks are found in it through tables indexed by id (an `Int32Array` slot per
 * id holding a position in those lists, the object at that position compared by identity;
 * an ordinary `Map` for the rare objects whose slot another holds — two values with one
 * id, broken IR the verifier must still read — or whose id is out of range): the verifier
 * runs before every code generation, on million-instruction functions too.
 */
export class VerifyContext {
  readonly errors: VerifierError[] = [];
  /** `fn.blocks` as the checks read it (a block may be listed twice: a `block-parent` error). */
  readonly listed: readonly BasicBlock[];
  /** The distinct blocks of `fn.blocks`, in order. */
  readonly blocks: BasicBlock[] = [];
  /** Every walked instruction in layout order (the `next` links of each block, with a cycle guard). */
  readonly insts: Instruction[];
  /** The block whose list holds `insts[k]` (what counts when `inst.block` is wrong). */
  readonly instBlocks: BasicBlock[];
  /** Block k's instructions are `insts[blockStart[k]]` up to `insts[blockStart[k + 1]]`. */
  readonly blockStart: number[];
  /** The function's parameters and interned constants (in this order: `own` positions index it). */
  readonly ownList: Value[];
  /** The constants of `fn` (a snapshot of `fn.allConstants()`). */
  readonly constants: Value[];
  /** Is some instruction listed twice (in two blocks)? */
  listedTwice = false;
  /**
   * Do two distinct values (or blocks) share an id, or has one an id outside the function's
   * bound? Only then can `duplicate-ids` find anything.
   */
  valueIdsClash = false;
  blockIdsClash = false;
  private readonly check: string[] = [];
  private dtCache: DominatorTree | undefined;
  private predLists: BasicBlock[][] | undefined;
  private otherPreds: Map<BasicBlock, BasicBlock[]> | undefined;
  private reach: Uint8Array | undefined;
  private allReachable = false;
  /** Value id → `k + 1` for the last listing `insts[k]` of an instruction, `-(j + 1)` for `ownList[j]`, 0 for none. */
  private readonly byValueId: Int32Array;
  /** Block id → `k + 1` for `blocks[k]`, 0 for none. */
  private readonly byBlockId: Int32Array;
  private readonly valueBound: number;
  private readonly blockBound: number;
  private otherInsts: Map<Instruction, number> | undefined;
  private otherOwn: Set<Value> | undefined;
  private otherBlocks: Map<BasicBlock, number> | undefined;

  constructor(
    readonly fn: Function,
    readonly module: Module | undefined,
  ) {
    const vb = (this.valueBound = fn.valueIdBound);
    const bb0 = (this.blockBound = fn.blockIdBound);
    this.byValueId = borrowTable(vb);
    this.byBlockId = borrowTable(bb0);
    const listed = (this.listed = fn.blocks);
    for (let p = 0; p < listed.length; p++) {
      const bb = listed[p]!;
      if (this.blockIndex(bb) >= 0) continue;
      const k = this.blocks.length;
      this.blocks.push(bb);
      if (slotted(bb.id, bb0) && this.byBlockId[bb.id] === 0) this.byBlockId[bb.id] = k + 1;
      else {
        (this.otherBlocks ??= new Map()).set(bb, k);
        this.blockIdsClash = true;
      }
    }
    this.constants = fn.allConstants();
    this.ownList = [...fn.params, ...this.constants];
    for (let j = 0; j < this.ownList.length; j++) {
      const v = this.ownList[j]!;
      if (slotted(v.id, vb) && this.byValueId[v.id] === 0) this.byValueId[v.id] = -(j + 1);
      else if (!this.isOwn(v)) {
        (this.otherOwn ??= new Set()).add(v);
        this.valueIdsClash = true;
      }
    }
    // The walk's lists are made at their size (the blocks' sizes summed: exact for valid IR, a
    // hint for broken IR, which may walk more or fewer), not pushed to it: an array pushed to a
    // huge function's length takes fresh large-object pages at every growth (~3× the cost of
    // one allocation of the final size here).
    let expected = 0;
    for (let b = 0; b < this.blocks.length; b++) expected += Math.min(Math.max(this.blocks[b]!.size, 0), MAX_BLOCK_LENGTH) | 0;
    expected = Math.min(expected, vb);
    const insts = (this.insts = new Array<Instruction>(expected));
    const instBlocks = (this.instBlocks = new Array<BasicBlock>(expected));
    const blockStart = (this.blockStart = new Array<number>(this.blocks.length + 1));
    let n = 0;
    for (let b = 0; b < this.blocks.length; b++) {
      const bb = this.blocks[b]!;
      const start = n;
      blockStart[b] = start;
      // Cycle guard: an instruction already walked in this block ends the walk.
      for (let i = bb.first; i && this.blockOf(i) !== bb && n - start < MAX_BLOCK_LENGTH; i = i.next) {
        const k = n++;
        insts[k] = i;
        instBlocks[k] = bb;
        const id = i.id;
        const slot = slotted(id, vb) ? this.byValueId[id]! : 0;
        if (slotted(id, vb) && (slot === 0 || (slot > 0 && insts[slot - 1] === i))) {
          if (slot !== 0) this.listedTwice = true;
          this.byValueId[id] = k + 1;
        } else {
          const other = (this.otherInsts ??= new Map());
          if (other.has(i)) this.listedTwice = true;
          other.set(i, k);
          this.valueIdsClash = true;
        }
      }
    }
    insts.length = n;
    instBlocks.length = n;
    blockStart[this.blocks.length] = n;
  }

  /** @internal Gives the tables back (after the last check). */
  release(): void {
    returnTable(this.byValueId);
    returnTable(this.byBlockId);
  }

  /** @internal Runs `check` with its name attached to the errors it reports. */
  runCheck(check: VerifierCheck): void {
    this.check.push(check.name);
    try {
      check.run(this);
    } finally {
      this.check.pop();
    }
  }

  /** Every walked instruction with its block, in layout order. */
  *instructions(): IterableIterator<[Instruction, BasicBlock]> {
    for (let k = 0; k < this.insts.length; k++) yield [this.insts[k]!, this.instBlocks[k]!];
  }

  /** The index in `insts` of the last listing of `inst`, or -1 when it is not linked into this function's blocks. */
  indexOf(inst: Instruction): number {
    const id = inst.id;
    if (id >= 0 && id < this.valueBound) {
      const slot = this.byValueId[id]!;
      if (slot > 0 && this.insts[slot - 1] === inst) return slot - 1;
    }
    return this.otherInsts?.get(inst) ?? -1;
  }
  /** The block whose list holds `inst` (its last listing), or undefined when it is not linked into this function. */
  blockOf(inst: Instruction): BasicBlock | undefined {
    const k = this.indexOf(inst);
    return k >= 0 ? this.instBlocks[k] : undefined;
  }
  /** Is `v` a parameter or an interned constant of this function? */
  isOwn(v: Value): boolean {
    const id = v.id;
    if (id >= 0 && id < this.valueBound) {
      const slot = this.byValueId[id]!;
      if (slot < 0 && this.ownList[-slot - 1] === v) return true;
    }
    return this.otherOwn !== undefined && this.otherOwn.has(v);
  }
  /** Is `v` a value of this function: a parameter, an interned constant or a linked instruction? */
  isOwnValue(v: Value): boolean {
    return v.kind === "instruction" ? this.indexOf(v as Instruction) >= 0 : this.isOwn(v);
  }
  /** The index of `bb` in `blocks`, or -1 when it is not a block of `fn.blocks`. */
  blockIndex(bb: BasicBlock): number {
    const id = bb.id;
    if (id >= 0 && id < this.blockBound) {
      const slot = this.byBlockId[id]!;
      if (slot > 0 && this.blocks[slot - 1] === bb) return slot - 1;
    }
    return this.otherBlocks?.get(bb) ?? -1;
  }

  /** The dominator tree (computed from the terminators on first use). */
  get dominators(): DominatorTree {
    return (this.dtCache ??= DominatorTree.compute(this.fn));
  }
  /** Is `blocks[b]` reachable from the entry (as the dominator tree says)? */
  reachable(b: number): boolean {
    if (!this.reach) this.computeReach();
    return this.reach![b] === 1;
  }
  /** Is every block of `blocks` reachable? */
  get everyBlockReachable(): boolean {
    if (!this.reach) this.computeReach();
    return this.allReachable;
  }
  private computeReach(): void {
    const dt = this.dominators;
    const reach = (this.reach = new Uint8Array(this.blocks.length));
    let all = true;
    for (let b = 0; b < this.blocks.length; b++) {
      if (dt.isReachable(this.blocks[b]!)) reach[b] = 1;
      else all = false;
    }
    this.allReachable = all;
  }

  /** Position of a linked instruction within its block (its last listing), or -1. */
  ordinal(inst: Instruction): number {
    const k = this.indexOf(inst);
    return k >= 0 ? this.ordinalAt(k) : -1;
  }

  /** The position of `insts[k]` in its block's list. */
  ordinalAt(k: number): number {
    return k - this.blockStart[this.blockIndex(this.instBlocks[k]!)]!;
  }

  /**
   * Predecessors recomputed from every linked instruction with branch targets (one entry
   * per edge), the relation core.ts maintains `preds` against.
   */
  recomputedPreds(bb: BasicBlock): readonly BasicBlock[] {
    if (!this.predLists) {
      const lists: BasicBlock[][] = (this.predLists = new Array<BasicBlock[]>(this.blocks.length).fill(NO_BLOCKS as BasicBlock[]));
      for (let k = 0; k < this.insts.length; k++) {
        const targets = this.insts[k]!.targets;
        for (let j = 0; j < targets.length; j++) {
          const t = targets[j]!;
          const b = this.blockIndex(t);
          if (b >= 0) {
            const list = lists[b]!;
            if (list === NO_BLOCKS) lists[b] = [this.instBlocks[k]!];
            else list.push(this.instBlocks[k]!);
          } else {
            const other = (this.otherPreds ??= new Map());
            const list = other.get(t);
            if (list) list.push(this.instBlocks[k]!);
            else other.set(t, [this.instBlocks[k]!]);
          }
        }
      }
    }
    const b = this.blockIndex(bb);
    return (b >= 0 ? this.predLists[b] : this.otherPreds?.get(bb)) ?? NO_BLOCKS;
  }

  /** Reports an error at an instruction. */
  errorAt(inst: Instruction, message: string): void {
    const e: VerifierError = { check: this.currentCheck, message, function: this.fn.name, instruction: inst.id, context: printInstruction(inst) };
    const bb = this.blockOf(inst) ?? inst.block;
    if (bb) e.block = bb.id;
    this.errors.push(e);
  }
  /** Reports an error at a block header. */
  errorAtBlock(bb: BasicBlock, message: string): void {
    this.errors.push({ check: this.currentCheck, message, function: this.fn.name, block: bb.id, context: `${printBlockRef(bb)}:` });
  }
  /** Reports an error about the function as a whole, or a parameter or constant. */
  errorAtFunction(message: string, context = printFunctionHeader(this.fn)): void {
    this.errors.push({ check: this.currentCheck, message, function: this.fn.name, context });
  }
  /** Reports an error at a value, whatever kind it is. */
  errorAtValue(v: Value, message: string): void {
    if (v instanceof Instruction) this.errorAt(v, message);
    else this.errorAtFunction(message, `${v.kind} ${printValue(v)}: ${typeToString(v.type)}`);
  }

  private get currentCheck(): string {
    return this.check[this.check.length - 1] ?? "?";
  }
}

const NO_BLOCKS: readonly BasicBlock[] = Object.freeze([]);

// ---------------------------------------------------------------------------------------
// Helpers

const ref = (bb: BasicBlock): string => printBlockRef(bb);
const ty = (t: Type): string => typeToString(t);
const refs = (list: readonly BasicBlock[]): string => (list.length === 0 ? "none" : list.map(ref).join(", "));

/** Multiset difference `a − b` over blocks, sorted by id for stable messages. */
function multisetMinus(a: readonly BasicBlock[], b: readonly BasicBlock[]): BasicBlock[] {
  // Fast paths for the usual one or two edges.
  if (a.length === 0) return [];
  if (a.length === 1 && b.includes(a[0]!)) return [];
  if (a.length === 2 && b.length === 2 && ((a[0] === b[0] && a[1] === b[1]) || (a[0] === b[1] && a[1] === b[0]))) return [];
  const count = new Map<BasicBlock, number>();
  for (const x of b) count.set(x, (count.get(x) ?? 0) + 1);
  const out: BasicBlock[] = [];
  for (const x of a) {
    const c = count.get(x) ?? 0;
    if (c > 0) count.set(x, c - 1);
    else out.push(x);
  }
  return out.sort((x, y) => x.id - y.id);
}

// ---------------------------------------------------------------------------------------
// Structure

const duplicateIds: VerifierCheck = {
  name: "duplicate-ids",
  description: "block ids and value ids are unique within the function and below its id bounds",
  run(cx) {
    const fn = cx.fn;
    // The context's tables found every clash (or id out of range) while they were built:
    // without one there is nothing to report, and the lists are walked only when there is.
    if (cx.blockIdsClash) {
      const blocks = new Map<number, BasicBlock>();
      for (const bb of cx.listed) {
        const other = blocks.get(bb.id);
        if (other && other !== bb) cx.errorAtBlock(bb, `block id ${bb.id} is used by two blocks`);
        blocks.set(bb.id, bb);
        if (bb.id < 0 || bb.id >= fn.blockIdBound) cx.errorAtBlock(bb, `block id ${bb.id} is outside [0, ${fn.blockIdBound})`);
      }
    }
    if (!cx.valueIdsClash) return;
    // By id: an array for ids inside the bound, a map for the others (errors anyway).
    const values: (Value | undefined)[] = new Array(fn.valueIdBound);
    const outside = new Map<number, Value>();
    const visit = (v: Value): void => {
      const inside = v.id >= 0 && v.id < fn.valueIdBound;
      const other = inside ? values[v.id] : outside.get(v.id);
      if (other && other !== v) cx.errorAtValue(v, `value id %${v.id} is used by two values (${other.kind} and ${v.kind})`);
      if (inside) values[v.id] = v;
      else outside.set(v.id, v);
      if (!inside) cx.errorAtValue(v, `value id %${v.id} is outside [0, ${fn.valueIdBound})`);
    };
    for (const v of cx.ownList) visit(v);
    for (const inst of cx.insts) visit(inst);
  },
};

const blockParent: VerifierCheck = {
  name: "block-parent",
  description: "every block's parent is the function, and no block is listed twice",
  run(cx) {
    const listedTwice = cx.listed.length !== cx.blocks.length;
    const seen = listedTwice ? new Set<BasicBlock>() : undefined;
    for (const bb of cx.listed) {
      if (bb.parent !== cx.fn) cx.errorAtBlock(bb, `block's parent is ${bb.parent ? `function ${bb.parent.name}` : "unset"}`);
      if (seen) {
        if (seen.has(bb)) cx.errorAtBlock(bb, `block is listed twice in the function`);
        seen.add(bb);
      }
    }
  },
};

const instructionList: VerifierCheck = {
  name: "instruction-list",
  description: "block back pointers, prev/next links, first/last and size agree",
  run(cx) {
    const { insts, blockStart } = cx;
    for (let b = 0; b < cx.blocks.length; b++) {
      const bb = cx.blocks[b]!;
      const start = blockStart[b]!;
      const end = blockStart[b + 1]!;
      let prev: Instruction | undefined;
      for (let k = start; k < end; k++) {
        const inst = insts[k]!;
        if (inst.block !== bb) cx.errorAt(inst, `instruction is linked into ${ref(bb)} but its block is ${inst.block ? ref(inst.block) : "unset"}`);
        if (inst.prev !== prev) cx.errorAt(inst, `prev link is ${inst.prev ? `%${inst.prev.id}` : "unset"}, expected ${prev ? `%${prev.id}` : "unset"}`);
        prev = inst;
      }
      const tail = end > start ? insts[end - 1] : undefined;
      if (tail?.next) cx.errorAt(tail.next, `instruction list of ${ref(bb)} is cyclic or too long`);
      if (bb.last !== tail) cx.errorAtBlock(bb, `last instruction is ${bb.last ? `%${bb.last.id}` : "unset"}, expected ${tail ? `%${tail.id}` : "unset"}`);
      if (bb.size !== end - start) cx.errorAtBlock(bb, `size is ${bb.size} but the block holds ${end - start} instructions`);
    }
  },
};

const terminators: VerifierCheck = {
  name: "terminator",
  description: "every block ends in exactly one terminator and has none in the middle",
  run(cx) {
    const { insts, blockStart } = cx;
    for (let b = 0; b < cx.blocks.length; b++) {
      const bb = cx.blocks[b]!;
      const start = blockStart[b]!;
      const end = blockStart[b + 1]!;
      if (end === start) cx.errorAtBlock(bb, "block is empty (it needs a terminator)");
      else if (!insts[end - 1]!.isTerminator) cx.errorAt(insts[end - 1]!, `block ${ref(bb)} does not end in a terminator`);
      for (let k = start; k < end - 1; k++) {
        const inst = insts[k]!;
        if (inst.isTerminator) cx.errorAt(inst, `terminator ${inst.opcode} in the middle of ${ref(bb)}`);
      }
    }
  },
};

const phiPlacement: VerifierCheck = {
  name: "phi-placement",
  description: "phis only at the start of a block",
  run(cx) {
    const { insts, blockStart } = cx;
    for (let b = 0; b < cx.blocks.length; b++) {
      let seenNonPhi: Instruction | undefined;
      for (let k = blockStart[b]!, end = blockStart[b + 1]!; k < end; k++) {
        const inst = insts[k]!;
        if (!inst.isPhi) seenNonPhi ??= inst;
        else if (seenNonPhi) cx.errorAt(inst, `phi after non-phi %${seenNonPhi.id} (phis must open the block)`);
      }
    }
  },
};

const entryBlock: VerifierCheck = {
  name: "entry-block",
  description: "the function has an entry block and no edge goes into it",
  run(cx) {
    const entry = cx.listed[0];
    if (!entry) {
      cx.errorAtFunction("function has no blocks");
      return;
    }
    const preds = cx.recomputedPreds(entry);
    if (preds.length > 0) cx.errorAtBlock(entry, `entry block has predecessors: ${refs([...preds].sort((a, b) => a.id - b.id))}`);
  },
};

const branchTargets: VerifierCheck = {
  name: "branch-targets",
  description: "branch targets are blocks of this function",
  run(cx) {
    for (const inst of cx.insts) {
      const targets = inst.targets;
      for (let k = 0; k < targets.length; k++) {
        const t = targets[k]!;
        if (cx.blockIndex(t) < 0) cx.errorAt(inst, `target ${k} ${ref(t)} is not a block of this function`);
      }
    }
  },
};

// ---------------------------------------------------------------------------------------
// Per-opcode rules

const operandCounts: VerifierCheck = {
  name: "operand-count",
  description: "operand, target and incoming counts follow the opcode table",
  run(cx) {
    for (const inst of cx.insts) {
      const info = OPCODES[inst.opcode];
      const n = inst.operands.length;
      if (typeof info.operands === "number") {
        if (n !== info.operands) cx.errorAt(inst, `${inst.opcode} takes ${info.operands} operand(s), has ${n}`);
      } else if (inst.opcode === "call" && n > MAX_CALL_ARGS) cx.errorAt(inst, `call has ${n} arguments (eBPF allows at most ${MAX_CALL_ARGS})`);
      if (inst.opcode === "ret" && n > 1) cx.errorAt(inst, `ret takes at most one operand, has ${n}`);
      const targets = inst.opcode === "br" ? 1 : inst.opcode === "condbr" ? 2 : 0;
      if (inst.targets.length !== targets) cx.errorAt(inst, `${inst.opcode} takes ${targets} target(s), has ${inst.targets.length}`);
      const incoming = inst.isPhi ? n : 0;
      if (inst.incoming.length !== incoming) cx.errorAt(inst, `${inst.opcode} has ${inst.incoming.length} incoming block(s), expected ${incoming}`);
    }
  },
};

/**
 * Type rules of one instruction (the opcode table's signature column, through typing.ts);
 * returns messages (operand-count problems are left to `operand-count`). `ret` checks its
 * value against the function's return type itself, to say which function.
 */
function typeErrors(inst: Instruction, fn: Function): string[] {
  const ops = inst.operands;
  if (inst.opcode !== "ret") return signatureErrors(inst.opcode, inst.type, inst.typeParam, ops, (i) => printValue(ops[i]!));
  const out = signatureErrors("ret", inst.type, inst.typeParam, [], () => "");
  const v = ops[0];
  if (fn.returnType.kind === "void") {
    if (v) out.push(`void function ${fn.name} returns a value`);
  } else if (!v) out.push(`function ${fn.name} returns ${ty(fn.returnType)}, but ret has no value`);
  else if (!assignable(v.type, fn.returnType)) out.push(`returned value ${printValue(v)} has type ${ty(v.type)}, function returns ${ty(fn.returnType)}`);
  return out;
}

/** Does `inst` follow its type rules (exactly when {@link typeErrors} finds nothing)? Makes no text. */
function typesHold(inst: Instruction, fn: Function): boolean {
  const ops = inst.operands;
  if (inst.opcode !== "ret") return satisfiesSignature(inst.opcode, inst.type, inst.typeParam, ops);
  if (!satisfiesSignature("ret", inst.type, inst.typeParam, NO_VALUES)) return false;
  const v = ops[0];
  return fn.returnType.kind === "void" ? !v : v !== undefined && assignable(v.type, fn.returnType);
}
const NO_VALUES: readonly Value[] = Object.freeze([]);

const types: VerifierCheck = {
  name: "types",
  description: "operand and result types follow the signature of each opcode (opcodes.ts `sig`, typing.ts)",
  run(cx) {
    // The messages are made only for an instruction that breaks a rule.
    for (const inst of cx.insts) if (!typesHold(inst, cx.fn)) for (const m of typeErrors(inst, cx.fn)) cx.errorAt(inst, m);
  },
};

/** Does `inst` (of opcode shape `shape`) break none of the rules of `attributes`? */
function attributesHold(inst: Instruction, shape: OpShape): boolean {
  switch (shape) {
    case "alloca":
      return Number.isInteger(inst.size) && inst.size > 0 && Number.isInteger(inst.align) && inst.align > 0 && (inst.align & (inst.align - 1)) === 0;
    case "load":
    case "store":
    case "atomic":
    case "pktload":
      return Number.isInteger(inst.offset);
    case "call": {
      const hasHelper = inst.helper !== undefined;
      const hasCallee = inst.callee !== undefined;
      return hasHelper !== hasCallee && (!hasHelper || (Number.isInteger(inst.helper) && inst.helper! >= 0)) && (!hasCallee || inst.callee !== "");
    }
    case "mapref":
      return !!inst.map;
    case "coreval":
      return !!inst.core;
    default:
      return true;
  }
}

const attributes: VerifierCheck = {
  name: "attributes",
  description: "opcode attributes: alloca size and alignment, offsets, call targets, map names",
  run(cx) {
    for (const inst of cx.insts) {
      const shape = OPCODES[inst.opcode].shape;
      if (shape === "alloca") {
        if (!(Number.isInteger(inst.size) && inst.size > 0)) cx.errorAt(inst, `alloca size ${inst.size} is not a positive integer`);
        if (!(Number.isInteger(inst.align) && inst.align > 0 && (inst.align & (inst.align - 1)) === 0)) cx.errorAt(inst, `alloca alignment ${inst.align} is not a power of two`);
      }
      if ((shape === "load" || shape === "store" || shape === "atomic" || shape === "pktload") && !Number.isInteger(inst.offset))
        cx.errorAt(inst, `offset ${inst.offset} is not an integer`);
      if (shape === "call") {
        const hasHelper = inst.helper !== undefined;
        const hasCallee = inst.callee !== undefined;
        if (hasHelper === hasCallee) cx.errorAt(inst, `call needs exactly one of a helper id and a callee`);
        if (hasHelper && !(Number.isInteger(inst.helper) && inst.helper! >= 0)) cx.errorAt(inst, `helper id ${inst.helper} is not a non-negative integer`);
        if (hasCallee && inst.callee === "") cx.errorAt(inst, `callee name is empty`);
      }
      if (shape === "mapref" && !inst.map) cx.errorAt(inst, `mapref has no map name`);
      if (shape === "coreval" && !inst.core) cx.errorAt(inst, `coreval has no CO-RE relocation name`);
    }
  },
};

const symbols: VerifierCheck = {
  name: "symbols",
  description: "(with a module) maprefs name declared maps, corevals declared CO-RE relocations; callees are module functions with matching arity",
  run(cx) {
    const m = cx.module;
    if (!m) return;
    for (const inst of cx.insts) {
      if (inst.opcode === "mapref" && inst.map && !m.getMap(inst.map)) cx.errorAt(inst, `map @${inst.map} is not declared in the module`);
      if (inst.opcode === "coreval" && inst.core && !m.getCoreRelocation(inst.core)) {
        cx.errorAt(inst, `CO-RE relocation @${inst.core} is not declared in the module`);
      }
      if (inst.opcode === "call" && inst.callee) {
        const callee = m.getFunction(inst.callee);
        if (!callee) cx.errorAt(inst, `callee @${inst.callee} is not a function of the module`);
        else if (callee.params.length !== inst.operands.length)
          cx.errorAt(inst, `callee @${inst.callee} takes ${callee.params.length} argument(s), call passes ${inst.operands.length}`);
      }
    }
  },
};

// ---------------------------------------------------------------------------------------
// SSA and CFG

const foreignValues: VerifierCheck = {
  name: "foreign-values",
  description: "every operand is a parameter, constant or linked instruction of this function",
  run(cx) {
    const fn = cx.fn;
    for (const inst of cx.insts) {
      const operands = inst.operands;
      for (let k = 0; k < operands.length; k++) {
        const v = operands[k]!;
        switch (v.kind) {
          case "param":
            if (!cx.isOwn(v)) cx.errorAt(inst, `operand ${k} is parameter %${v.id} of another function`);
            break;
          case "constant":
            if (!cx.isOwn(v)) cx.errorAt(inst, `operand ${k} is constant ${printValue(v)} not interned in this function`);
            break;
          case "instruction": {
            const def = v as Instruction;
            if (cx.indexOf(def) >= 0) break;
            const owner = def.block?.parent;
            const where = !def.block ? "which is not linked into any block (erased or unlinked)" : owner !== fn ? `from ${owner ? `function ${owner.name}` : "a detached block"}` : "which is not linked into its block";
            cx.errorAt(inst, `operand ${k} is %${def.id} (${def.opcode}) ${where}`);
            break;
          }
        }
      }
    }
  },
};

const users: VerifierCheck = {
  name: "users",
  description: "every value's users list equals a recomputation: one Use per operand slot, none stale",
  run(cx) {
    const { insts, listedTwice } = cx;
    // Values whose users lists are checked: this function's values and every operand.
    // Operand slots are numbered flatly: instruction k's slots start at base[k] (its last
    // listing's, as `indexOf` finds it); `found` marks the slots whose entry was seen.
    let total = 0;
    for (let k = 0; k < insts.length; k++) total += insts[k]!.operands.length;
    const table = borrowTable(insts.length + 1 + total);
    const base = table;
    const found = insts.length + 1;
    for (let k = 0; k < insts.length; k++) base[k + 1] = base[k]! + insts[k]!.operands.length;
    const foreign = new Set<Value>();
    for (const inst of insts) for (const v of inst.operands) if (!cx.isOwnValue(v)) foreign.add(v);
    const checkUsers = (v: Value, ownValue: boolean): void => {
      // By position, not through `uses` (which makes an array for a value with one user).
      for (let p = 0, n = v.useCount; p < n; p++) {
        const u = { user: v.useUserAt(p)!, index: v.useIndexAt(p) };
        const k = cx.indexOf(u.user);
        if (k < 0) {
          // A user outside this function: stale when the value is ours (the user was erased,
          // unlinked or belongs elsewhere); foreign values may have users in their own function.
          if (ownValue && u.user.operands[u.index] === v)
            cx.errorAtValue(v, `users list of ${printValue(v)} holds (%${u.user.id}, ${u.index}), an instruction not linked into this function`);
          else if (ownValue) cx.errorAtValue(v, `users list of ${printValue(v)} holds a stale entry (%${u.user.id}, ${u.index})`);
          continue;
        }
        if (u.user.operands[u.index] !== v) {
          cx.errorAtValue(v, `users list of ${printValue(v)} holds a stale entry (%${u.user.id}, ${u.index})`);
          continue;
        }
        const slot = found + base[k]! + u.index;
        if (table[slot]) {
          cx.errorAtValue(v, `users list of ${printValue(v)} holds (%${u.user.id}, ${u.index}) twice`);
          continue;
        }
        table[slot] = 1;
      }
    };
    // Parameters and constants, then instructions (an instruction listed twice, a
    // block-parent error, once, in the order of its first listing), then foreign operands.
    for (const v of cx.ownList) checkUsers(v, cx.isOwn(v));
    const firsts = listedTwice ? new Set<Instruction>() : undefined;
    for (const inst of insts) {
      if (firsts) {
        if (firsts.has(inst)) continue;
        firsts.add(inst);
      }
      checkUsers(inst, true);
    }
    for (const v of foreign) checkUsers(v, false);
    const checked = listedTwice ? new Set<Instruction>() : undefined;
    for (let n = 0; n < insts.length; n++) {
      const inst = insts[n]!;
      if (checked) {
        if (checked.has(inst)) continue;
        checked.add(inst);
      }
      const k = listedTwice ? cx.indexOf(inst) : n;
      for (let j = 0; j < inst.operands.length; j++) {
        if (!table[found + base[k]! + j]) cx.errorAt(inst, `users list of ${printValue(inst.operands[j]!)} lacks the entry for operand ${j} of %${inst.id}`);
      }
    }
    returnTable(table);
  },
};

const predecessors: VerifierCheck = {
  name: "predecessors",
  description: "every block's predecessor list equals a recomputation from the terminators (as a multiset)",
  run(cx) {
    for (const bb of cx.blocks) {
      const expected = cx.recomputedPreds(bb);
      const missing = multisetMinus(expected, bb.preds);
      const stale = multisetMinus(bb.preds, expected);
      if (missing.length > 0 || stale.length > 0) {
        const parts: string[] = [];
        if (missing.length > 0) parts.push(`missing ${refs(missing)}`);
        if (stale.length > 0) parts.push(`stale ${refs(stale)}`);
        cx.errorAtBlock(bb, `predecessor list disagrees with the terminators: ${parts.join("; ")}`);
      }
    }
  },
};

const phiIncoming: VerifierCheck = {
  name: "phi-incoming",
  description: "each phi's incoming blocks equal the block's predecessors as a multiset",
  run(cx) {
    for (let n = 0; n < cx.insts.length; n++) {
      const inst = cx.insts[n]!;
      if (!inst.isPhi) continue;
      const bb = cx.instBlocks[n]!;
      const expected = cx.recomputedPreds(bb);
      const missing = multisetMinus(expected, inst.incoming);
      const extra = multisetMinus(inst.incoming, expected);
      if (missing.length > 0) cx.errorAt(inst, `phi lacks incoming value(s) from predecessor(s) ${refs(missing)}`);
      if (extra.length > 0) cx.errorAt(inst, `phi has incoming value(s) from ${refs(extra)}, which ${extra.length === 1 ? "is not a predecessor" : "are not predecessors"} (or too many)`);
    }
  },
};

/** Where operand `k` of `user` is used: the end of the incoming block for a phi, the user itself otherwise. */
function useBlock(user: Instruction, k: number, bb: BasicBlock): BasicBlock | undefined {
  return user.isPhi ? user.incoming[k] : bb;
}

const ssaDominance: VerifierCheck = {
  name: "ssa-dominance",
  description: "every use is dominated by its definition (phi uses at the end of the incoming block; unreachable uses are not checked)",
  run(cx) {
    const dt = cx.dominators;
    const { insts, instBlocks, blockStart, listedTwice } = cx;
    // Definitions and uses are found by position (`indexOf`): a definition's block and its
    // position in it are those of its last listing.
    for (let b = 0; b < cx.blocks.length; b++) {
      const bb = cx.blocks[b]!;
      const userReachable = cx.reachable(b);
      for (let n = blockStart[b]!, end = blockStart[b + 1]!; n < end; n++) {
        const user = insts[n]!;
        const operands = user.operands;
        const isPhi = user.isPhi;
        if (!isPhi && !userReachable) continue;
        for (let k = 0; k < operands.length; k++) {
          const v = operands[k]!;
          if (v.kind !== "instruction") continue;
          const def = v as Instruction;
          // Foreign or unlinked definitions are `foreign-values` errors; definitions in
          // unreachable blocks used from reachable code are `unreachable-code` errors.
          const d = cx.indexOf(def);
          if (d < 0) continue;
          const defBlock = instBlocks[d]!;
          if (!cx.reachable(cx.blockIndex(defBlock))) continue;
          let ok: boolean;
          let at: BasicBlock | undefined = bb;
          if (isPhi) {
            at = user.incoming[k];
            const a = at ? cx.blockIndex(at) : -1;
            if (a < 0 || !cx.reachable(a)) continue;
            ok = dt.dominates(defBlock, at!);
          } else if (defBlock === bb) ok = listedTwice ? cx.ordinalAt(d) < cx.ordinalAt(cx.indexOf(user)) : d < n;
          else ok = dt.strictlyDominates(defBlock, bb);
          if (!ok) {
            const where = isPhi ? `at the end of ${ref(at!)}` : `in ${ref(at!)}`;
            cx.errorAt(user, `operand ${k} %${def.id} (defined in ${ref(defBlock)}) does not dominate its use ${where}`);
          }
        }
      }
    }
  },
};

const unreachableCode: VerifierCheck = {
  name: "unreachable-code",
  description: "unreachable blocks may exist, but reachable code uses no value they define",
  run(cx) {
    // Only a definition in an unreachable block can be reported.
    if (cx.everyBlockReachable) return;
    const { insts, instBlocks } = cx;
    for (let n = 0; n < insts.length; n++) {
      const user = insts[n]!;
      const operands = user.operands;
      for (let k = 0; k < operands.length; k++) {
        const v = operands[k]!;
        if (v.kind !== "instruction") continue;
        const def = v as Instruction;
        const d = cx.indexOf(def);
        if (d < 0) continue;
        const defBlock = instBlocks[d]!;
        if (cx.reachable(cx.blockIndex(defBlock))) continue;
        const at = useBlock(user, k, instBlocks[n]!);
        const a = at ? cx.blockIndex(at) : -1;
        if (a >= 0 && cx.reachable(a)) cx.errorAt(user, `operand ${k} %${def.id} is defined in unreachable ${ref(defBlock)} but used in reachable ${ref(at!)}`);
      }
    }
  },
};

const programInfo: VerifierCheck = {
  name: "program",
  description: "program metadata, when set, has a non-empty section and type",
  run(cx) {
    const p = cx.fn.program;
    if (!p) return;
    if (typeof p.section !== "string" || p.section === "") cx.errorAtFunction("program section is empty");
    if (typeof p.type !== "string" || p.type === "") cx.errorAtFunction("program type is empty");
  },
};

// ---------------------------------------------------------------------------------------
// The screen

/** Do `a` and `b` hold the same blocks as multisets? */
function sameBlocks(a: readonly BasicBlock[], b: readonly BasicBlock[]): boolean {
  if (a.length !== b.length) return false;
  if (a.length === 1) return a[0] === b[0];
  if (a.length === 2) return (a[0] === b[0] && a[1] === b[1]) || (a[0] === b[1] && a[1] === b[0]);
  return multisetMinus(a, b).length === 0;
}

/** Does `v`'s users list hold the entry of operand slot `k` of `user` (anywhere: the screen's slower path when the user's recorded position is wrong, which no check looks at)? */
function listsUse(v: Value, user: Instruction, k: number): boolean {
  for (let p = 0, n = v.useCount; p < n; p++) if (v.hasUseAt(p, user, k)) return true;
  return false;
}

/**
 * Is the function valid, i.e. would no check report anything? One walk over the
 * instructions applies every check's rule at once (each check walks every instruction
 * again: on a large function each walk costs its cache misses), without making any text.
 * It answers false on anything it does not settle cheaply (an instruction listed twice,
 * two values with one id, a foreign operand); the checks then run and say what is wrong.
 * Only "true" must be exact: a check's rule changed without this would make the check's
 * tests fail (verify.test.ts breaks each rule), and verify-screen.test.ts compares the
 * screen with the checks on randomly broken functions.
 *
 * Users lists: with no foreign operand and no instruction listed twice, every operand
 * slot finding its own entry in its operand's list (at the position its user records,
 * `usePos`, when that is right) and the users lists of the function's values holding as
 * many entries in all as there are slots means no list holds anything else, which is what
 * `users` checks.
 */
function screen(cx: VerifyContext): boolean {
  const { fn, module: m, insts, blocks, blockStart } = cx;
  if (cx.valueIdsClash || cx.blockIdsClash || cx.listedTwice || cx.listed.length !== blocks.length || blocks.length === 0) return false;
  const p = fn.program;
  if (p && (typeof p.section !== "string" || p.section === "" || typeof p.type !== "string" || p.type === "")) return false;
  const entry = blocks[0]!;
  const dt = cx.dominators;
  let slots = 0;
  let uses = 0;
  for (let b = 0; b < blocks.length; b++) {
    const bb = blocks[b]!;
    const start = blockStart[b]!;
    const end = blockStart[b + 1]!;
    if (bb.parent !== fn || end === start || bb.size !== end - start || bb.last !== insts[end - 1] || insts[end - 1]!.next !== undefined) return false;
    const bbReachable = cx.reachable(b);
    let prev: Instruction | undefined;
    let phis = true;
    for (let n = start; n < end; n++) {
      const inst = insts[n]!;
      if (inst.block !== bb || inst.prev !== prev) return false;
      prev = inst;
      const op = inst.opcode;
      const isPhi = op === "phi";
      if (isPhi ? !phis : (phis = false)) return false;
      if (inst.isTerminator !== (n === end - 1)) return false;
      // operand-count
      const info = OPCODES[op];
      const operands = inst.operands;
      const count = operands.length;
      if (typeof info.operands === "number" ? count !== info.operands : op === "call" ? count > MAX_CALL_ARGS : op === "ret" && count > 1) return false;
      const targets = inst.targets;
      if (targets.length !== (op === "br" ? 1 : op === "condbr" ? 2 : 0)) return false;
      if (inst.incoming.length !== (isPhi ? count : 0)) return false;
      // branch-targets, entry-block
      for (let k = 0; k < targets.length; k++) if (targets[k] === entry || cx.blockIndex(targets[k]!) < 0) return false;
      if (!typesHold(inst, fn) || !attributesHold(inst, info.shape)) return false;
      // symbols
      if (m) {
        if (op === "mapref" && inst.map && !m.getMap(inst.map)) return false;
        if (op === "coreval" && inst.core && !m.getCoreRelocation(inst.core)) return false;
        if (op === "call" && inst.callee) {
          const callee = m.getFunction(inst.callee);
          if (!callee || callee.params.length !== count) return false;
        }
      }
      // phi-incoming
      if (isPhi && !sameBlocks(cx.recomputedPreds(bb), inst.incoming)) return false;
      uses += inst.useCount;
      slots += count;
      for (let k = 0; k < count; k++) {
        const v = operands[k]!;
        // users: the slot's entry where the user says it is
        if (!v.hasUseAt(inst.usePos(k), inst, k) && !listsUse(v, inst, k)) return false;
        // foreign-values
        if (v.kind !== "instruction") {
          if (!cx.isOwn(v)) return false;
          continue;
        }
        const d = cx.indexOf(v as Instruction);
        if (d < 0) return false;
        // ssa-dominance, unreachable-code
        const defBlock = cx.instBlocks[d]!;
        const defReachable = cx.reachable(cx.blockIndex(defBlock));
        let at = bb;
        let atReachable = bbReachable;
        if (isPhi) {
          at = inst.incoming[k]!;
          const a = cx.blockIndex(at);
          atReachable = a >= 0 && cx.reachable(a);
        }
        if (!atReachable) continue;
        if (!defReachable) return false;
        if (isPhi ? !dt.dominates(defBlock, at) : defBlock === bb ? d >= n : !dt.strictlyDominates(defBlock, bb)) return false;
      }
    }
    // predecessors
    if (!sameBlocks(cx.recomputedPreds(bb), bb.preds)) return false;
  }
  for (const v of cx.ownList) uses += v.useCount;
  return uses === slots;
}

/** @internal The screen alone (for tests): true only when the checks find nothing, and on every valid function whose value ids are integers. */
export function screenFunction(fn: Function, module?: Module): boolean {
  const cx = new VerifyContext(fn, module);
  try {
    return screen(cx);
  } catch {
    return false;
  } finally {
    cx.release();
  }
}

/** The checks run on every function, in order. */
export const CHECKS: readonly VerifierCheck[] = [
  duplicateIds,
  blockParent,
  instructionList,
  terminators,
  phiPlacement,
  entryBlock,
  branchTargets,
  operandCounts,
  types,
  attributes,
  symbols,
  foreignValues,
  users,
  predecessors,
  phiIncoming,
  ssaDominance,
  unreachableCode,
  programInfo,
];

/** The names of {@link CHECKS}. */
export const CHECK_NAMES: readonly string[] = CHECKS.map((c) => c.name);

/**
 * Verifies one function and returns every error found (empty when valid). With `module`,
 * map names and callees are resolved against it.
 */
export function verifyFunction(fn: Function, module?: Module): VerifierError[] {
  const cx = new VerifyContext(fn, module);
  let valid = false;
  try {
    valid = screen(cx);
  } catch {
    // Broken in a way the screen did not foresee: the checks report it.
  }
  if (!valid) runChecks(cx);
  cx.release();
  return cx.errors;
}

/** @internal Every check of {@link CHECKS} on `fn`, without the screen (for tests: what {@link verifyFunction} reports when the screen fails). */
export function checkFunction(fn: Function, module?: Module): VerifierError[] {
  const cx = new VerifyContext(fn, module);
  runChecks(cx);
  cx.release();
  return cx.errors;
}

function runChecks(cx: VerifyContext): void {
  for (const check of CHECKS) {
    try {
      cx.runCheck(check);
    } catch (cause) {
      // A check must not throw; if it does on IR broken in an unforeseen way, report that.
      cx.errorAtFunction(`check ${check.name} crashed: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  }
}

/** Verifies every function of a module, plus module-level rules (unique function and map names). */
export function verifyModule(m: Module): VerifierError[] {
  const errors: VerifierError[] = [];
  const names = new Set<string>();
  for (const fn of m.functions) {
    if (names.has(fn.name)) errors.push({ check: "module", message: `function @${fn.name} is defined twice`, function: "<module>", context: printFunctionHeader(fn) });
    names.add(fn.name);
  }
  const maps = new Set<string>();
  for (const map of m.maps) {
    if (maps.has(map.name)) errors.push({ check: "module", message: `map @${map.name} is declared twice`, function: "<module>", context: `map @${map.name}` });
    maps.add(map.name);
  }
  for (const fn of m.functions) errors.push(...verifyFunction(fn, m));
  return errors;
}

/** One error per paragraph: `[check] @function @bbN %id: message` then the indented context. */
export function formatVerifierErrors(errors: readonly VerifierError[]): string {
  return errors
    .map((e) => {
      let where = `@${e.function}`;
      if (e.block !== undefined) where += ` @bb${e.block}`;
      if (e.instruction !== undefined) where += ` %${e.instruction}`;
      return `[${e.check}] ${where}: ${e.message}\n    ${e.context}`;
    })
    .join("\n");
}

/**
 * Throws an {@link InternalError} listing every verifier error of `target`, if any. `when`
 * says where the check happens, e.g. `"after pass gvn"`.
 */
export function assertValid(target: Module | Function, when?: string): void {
  const errors = target instanceof Function ? verifyFunction(target) : verifyModule(target);
  if (errors.length === 0) return;
  const n = `${errors.length} error${errors.length === 1 ? "" : "s"}`;
  throw new InternalError(`invalid IR${when ? ` ${when}` : ""} (${n}):\n${formatVerifierErrors(errors)}`);
}
