// The verifier as it was before the tenth session (main 615c6c3, packages/ir/src/verify.ts),
// kept as the oracle of verify-reference.test.ts: the rewritten verifier must report exactly
// what this one reports, in the same order. Not used by the compiler.
import { MAX_CALL_ARGS } from "@luabpf/platform";
import { DominatorTree } from "../src/analysis/dominators.js";
import { BasicBlock, Function, Instruction, type Value } from "../src/core.js";
import { IdMap, IdSet } from "./verify-reference-id-map.js";
import type { Module } from "../src/module.js";
import { OPCODES } from "../src/opcodes.js";
import { printBlockRef, printFunctionHeader, printInstruction, printValue } from "../src/print.js";
import { typeToString, type Type } from "../src/types.js";
import { assignable, signatureErrors } from "../src/typing.js";

/** One verifier finding. */
interface VerifierError {
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
 * State shared by the checks of one function: snapshots, lazily built analyses, the error list.
 *
 * The walked instructions are also kept as one flat array (`insts`, with `instBlocks` and
 * `ordinals` at the same index) so that checks loop over arrays instead of generators and
 * maps: the verifier runs before every code generation, on million-instruction functions too.
 */
export class VerifyContext {
  readonly errors: VerifierError[] = [];
  /** The distinct blocks of `fn.blocks`, in order (a block listed twice is a `block-parent` error). */
  readonly blocks: BasicBlock[];
  /** The instructions of each block of `blocks` (same indices), walked with a cycle guard. */
  readonly blockInstructions: Instruction[][];
  /**
   * Instructions reachable through the `next` links of the function's blocks, with the
   * block whose list holds them (which is what counts when `inst.block` is wrong).
   */
  readonly linked: IdMap<Instruction, BasicBlock>;
  /** Every walked instruction in layout order, with its block and its position in the block. */
  readonly insts: Instruction[] = [];
  readonly instBlocks: BasicBlock[] = [];
  readonly ordinals: number[] = [];
  /** Blocks in `fn.blocks` (the membership test for branch targets and phi incoming blocks). */
  readonly blockSet: IdSet<BasicBlock>;
  private readonly check: string[] = [];
  private dtCache: DominatorTree | undefined;
  private preds: IdMap<BasicBlock, BasicBlock[]> | undefined;
  private own: IdSet<Value> | undefined;

  constructor(
    readonly fn: Function,
    readonly module: Module | undefined,
  ) {
    // Value and block maps are indexed by id (id-map.ts): this runs on million-instruction functions.
    this.blockSet = new IdSet(fn.blockIdBound);
    this.blocks = [];
    for (const bb of fn.blocks)
      if (!this.blockSet.has(bb)) {
        this.blockSet.add(bb);
        this.blocks.push(bb);
      }
    const linked = (this.linked = new IdMap(fn.valueIdBound));
    this.blockInstructions = this.blocks.map((bb) => {
      const out: Instruction[] = [];
      // Cycle guard: an instruction already walked in this block ends the walk.
      for (let i = bb.first; i && linked.get(i) !== bb && out.length < MAX_BLOCK_LENGTH; i = i.next) {
        linked.set(i, bb);
        out.push(i);
      }
      return out;
    });
    this.blockInstructions.forEach((list, k) => {
      const bb = this.blocks[k]!;
      for (let n = 0; n < list.length; n++) {
        this.insts.push(list[n]!);
        this.instBlocks.push(bb);
        this.ordinals.push(n);
      }
    });
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

  /** The function's parameters and interned constants (made on first use; `foreign-values` and `users` read it). */
  get ownValues(): IdSet<Value> {
    if (!this.own) {
      const own = (this.own = new IdSet<Value>(this.fn.valueIdBound, this.fn.params));
      for (const c of this.fn.allConstants()) own.add(c);
    }
    return this.own;
  }

  /** The dominator tree (computed from the terminators on first use). */
  get dominators(): DominatorTree {
    return (this.dtCache ??= DominatorTree.compute(this.fn));
  }

  /** Position of a linked instruction within its block (its last listing), or -1. */
  ordinal(inst: Instruction): number {
    const bb = this.linked.get(inst);
    if (!bb) return -1;
    return this.blockInstructions[this.blocks.indexOf(bb)]!.lastIndexOf(inst);
  }

  /**
   * Predecessors recomputed from every linked instruction with branch targets (one entry
   * per edge), the relation core.ts maintains `preds` against.
   */
  recomputedPreds(bb: BasicBlock): BasicBlock[] {
    if (!this.preds) {
      this.preds = new IdMap(this.fn.blockIdBound);
      for (let k = 0; k < this.insts.length; k++) {
        const targets = this.insts[k]!.targets;
        for (let j = 0; j < targets.length; j++) {
          const t = targets[j]!;
          let list = this.preds.get(t);
          if (!list) this.preds.set(t, (list = []));
          list.push(this.instBlocks[k]!);
        }
      }
    }
    return this.preds.get(bb) ?? [];
  }

  /** Reports an error at an instruction. */
  errorAt(inst: Instruction, message: string): void {
    const e: VerifierError = { check: this.currentCheck, message, function: this.fn.name, instruction: inst.id, context: printInstruction(inst) };
    const bb = this.linked.get(inst) ?? inst.block;
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
    const blocks = new Map<number, BasicBlock>();
    for (const bb of fn.blocks) {
      const other = blocks.get(bb.id);
      if (other && other !== bb) cx.errorAtBlock(bb, `block id ${bb.id} is used by two blocks`);
      blocks.set(bb.id, bb);
      if (bb.id < 0 || bb.id >= fn.blockIdBound) cx.errorAtBlock(bb, `block id ${bb.id} is outside [0, ${fn.blockIdBound})`);
    }
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
    for (const p of fn.params) visit(p);
    for (const c of fn.allConstants()) visit(c);
    for (const inst of cx.insts) visit(inst);
  },
};

const blockParent: VerifierCheck = {
  name: "block-parent",
  description: "every block's parent is the function, and no block is listed twice",
  run(cx) {
    const seen = new Set<BasicBlock>();
    for (const bb of cx.fn.blocks) {
      if (bb.parent !== cx.fn) cx.errorAtBlock(bb, `block's parent is ${bb.parent ? `function ${bb.parent.name}` : "unset"}`);
      if (seen.has(bb)) cx.errorAtBlock(bb, `block is listed twice in the function`);
      seen.add(bb);
    }
  },
};

const instructionList: VerifierCheck = {
  name: "instruction-list",
  description: "block back pointers, prev/next links, first/last and size agree",
  run(cx) {
    cx.blocks.forEach((bb, k) => {
      const list = cx.blockInstructions[k]!;
      let prev: Instruction | undefined;
      for (const inst of list) {
        if (inst.block !== bb) cx.errorAt(inst, `instruction is linked into ${ref(bb)} but its block is ${inst.block ? ref(inst.block) : "unset"}`);
        if (inst.prev !== prev) cx.errorAt(inst, `prev link is ${inst.prev ? `%${inst.prev.id}` : "unset"}, expected ${prev ? `%${prev.id}` : "unset"}`);
        prev = inst;
      }
      const tail = list[list.length - 1];
      if (tail?.next) cx.errorAt(tail.next, `instruction list of ${ref(bb)} is cyclic or too long`);
      if (bb.last !== tail) cx.errorAtBlock(bb, `last instruction is ${bb.last ? `%${bb.last.id}` : "unset"}, expected ${tail ? `%${tail.id}` : "unset"}`);
      if (bb.size !== list.length) cx.errorAtBlock(bb, `size is ${bb.size} but the block holds ${list.length} instructions`);
    });
  },
};

const terminators: VerifierCheck = {
  name: "terminator",
  description: "every block ends in exactly one terminator and has none in the middle",
  run(cx) {
    cx.blocks.forEach((bb, k) => {
      const list = cx.blockInstructions[k]!;
      const last = list[list.length - 1];
      if (!last) cx.errorAtBlock(bb, "block is empty (it needs a terminator)");
      else if (!last.isTerminator) cx.errorAt(last, `block ${ref(bb)} does not end in a terminator`);
      for (let n = 0; n < list.length - 1; n++) {
        const inst = list[n]!;
        if (inst.isTerminator) cx.errorAt(inst, `terminator ${inst.opcode} in the middle of ${ref(bb)}`);
      }
    });
  },
};

const phiPlacement: VerifierCheck = {
  name: "phi-placement",
  description: "phis only at the start of a block",
  run(cx) {
    for (const list of cx.blockInstructions) {
      let seenNonPhi: Instruction | undefined;
      for (const inst of list) {
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
    const entry = cx.fn.blocks[0];
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
      inst.targets.forEach((t, k) => {
        if (!cx.blockSet.has(t)) cx.errorAt(inst, `target ${k} ${ref(t)} is not a block of this function`);
      });
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

const types: VerifierCheck = {
  name: "types",
  description: "operand and result types follow the signature of each opcode (opcodes.ts `sig`, typing.ts)",
  run(cx) {
    for (const inst of cx.insts) for (const m of typeErrors(inst, cx.fn)) cx.errorAt(inst, m);
  },
};

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
    // Parameters and constants in one set: a value's kind says which it must be.
    const own = cx.ownValues;
    for (const inst of cx.insts) {
      inst.operands.forEach((v, k) => {
        switch (v.kind) {
          case "param":
            if (!own.has(v)) cx.errorAt(inst, `operand ${k} is parameter %${v.id} of another function`);
            break;
          case "constant":
            if (!own.has(v)) cx.errorAt(inst, `operand ${k} is constant ${printValue(v)} not interned in this function`);
            break;
          case "instruction": {
            const def = v as Instruction;
            if (cx.linked.has(def)) break;
            const owner = def.block?.parent;
            const where = !def.block ? "which is not linked into any block (erased or unlinked)" : owner !== fn ? `from ${owner ? `function ${owner.name}` : "a detached block"}` : "which is not linked into its block";
            cx.errorAt(inst, `operand ${k} is %${def.id} (${def.opcode}) ${where}`);
            break;
          }
        }
      });
    }
  },
};

const users: VerifierCheck = {
  name: "users",
  description: "every value's users list equals a recomputation: one Use per operand slot, none stale",
  run(cx) {
    const fn = cx.fn;
    // Values whose users lists are checked: this function's values and every operand.
    // Operand slots are numbered flatly: instruction k's slots start at base[k].
    const own = cx.ownValues;
    const isOwn = (v: Value): boolean => (v.kind === "instruction" ? cx.linked.has(v as Instruction) : own.has(v));
    const values: Value[] = [...fn.params, ...fn.allConstants()];
    const instIndex = new IdMap<Instruction, number>(fn.valueIdBound);
    // A plain array: a typed one over 64 bytes is allocated outside the heap, slowly.
    const base: number[] = new Array<number>(cx.insts.length + 1);
    base[0] = 0;
    let listedTwice = false;
    for (let k = 0; k < cx.insts.length; k++) {
      const inst = cx.insts[k]!;
      if (!instIndex.has(inst)) values.push(inst);
      else listedTwice = true;
      instIndex.set(inst, k);
      base[k + 1] = base[k]! + inst.operands.length;
    }
    const foreign = new Set<Value>();
    for (const inst of cx.insts) for (const v of inst.operands) if (!isOwn(v)) foreign.add(v);
    for (const v of foreign) values.push(v);
    const found = new Uint8Array(base[cx.insts.length]!);
    for (const v of values) {
      const ownValue = isOwn(v);
      // By position, not through `uses` (which makes an array for a value with one user).
      for (let p = 0, n = v.useCount; p < n; p++) {
        const u = v.useAt(p)!;
        const k = instIndex.get(u.user);
        if (k === undefined) {
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
        const slot = base[k]! + u.index;
        if (found[slot]) {
          cx.errorAtValue(v, `users list of ${printValue(v)} holds (%${u.user.id}, ${u.index}) twice`);
          continue;
        }
        found[slot] = 1;
      }
    }
    // An instruction listed twice (a block-parent error) is checked once, at its last
    // listing, in the order of its first.
    const checked = listedTwice ? new IdSet<Instruction>(fn.valueIdBound) : undefined;
    for (const inst of cx.insts) {
      if (checked) {
        if (checked.has(inst)) continue;
        checked.add(inst);
      }
      const k = instIndex.get(inst)!;
      for (let j = 0; j < inst.operands.length; j++) {
        if (!found[base[k]! + j]) cx.errorAt(inst, `users list of ${printValue(inst.operands[j]!)} lacks the entry for operand ${j} of %${inst.id}`);
      }
    }
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
    // Position of each instruction in the block that lists it last (as `linked` says).
    const ordinal = new IdMap<Instruction, number>(cx.fn.valueIdBound);
    for (let n = 0; n < cx.insts.length; n++) {
      const inst = cx.insts[n]!;
      if (cx.linked.get(inst) === cx.instBlocks[n]) ordinal.set(inst, cx.ordinals[n]!);
    }
    for (let n = 0; n < cx.insts.length; n++) {
      const user = cx.insts[n]!;
      const bb = cx.instBlocks[n]!;
      const operands = user.operands;
      for (let k = 0; k < operands.length; k++) {
        const v = operands[k]!;
        if (v.kind !== "instruction") continue;
        const def = v as Instruction;
        const defBlock = cx.linked.get(def);
        // Foreign or unlinked definitions are `foreign-values` errors; definitions in
        // unreachable blocks used from reachable code are `unreachable-code` errors.
        if (!defBlock || !cx.blockSet.has(defBlock) || !dt.isReachable(defBlock)) continue;
        const at = useBlock(user, k, bb);
        if (!at || !cx.blockSet.has(at) || !dt.isReachable(at)) continue;
        let ok: boolean;
        if (user.isPhi) ok = dt.dominates(defBlock, at);
        else if (defBlock === at) ok = ordinal.get(def)! < (ordinal.get(user) ?? -1);
        else ok = dt.strictlyDominates(defBlock, at);
        if (!ok) {
          const where = user.isPhi ? `at the end of ${ref(at)}` : `in ${ref(at)}`;
          cx.errorAt(user, `operand ${k} %${def.id} (defined in ${ref(defBlock)}) does not dominate its use ${where}`);
        }
      }
    }
  },
};

const unreachableCode: VerifierCheck = {
  name: "unreachable-code",
  description: "unreachable blocks may exist, but reachable code uses no value they define",
  run(cx) {
    const dt = cx.dominators;
    for (let n = 0; n < cx.insts.length; n++) {
      const user = cx.insts[n]!;
      const operands = user.operands;
      for (let k = 0; k < operands.length; k++) {
        const v = operands[k]!;
        if (v.kind !== "instruction") continue;
        const def = v as Instruction;
        const defBlock = cx.linked.get(def);
        if (!defBlock || !cx.blockSet.has(defBlock) || dt.isReachable(defBlock)) continue;
        const at = useBlock(user, k, cx.instBlocks[n]!);
        if (at && cx.blockSet.has(at) && dt.isReachable(at))
          cx.errorAt(user, `operand ${k} %${def.id} is defined in unreachable ${ref(defBlock)} but used in reachable ${ref(at)}`);
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
export function referenceVerifyFunction(fn: Function, module?: Module): VerifierError[] {
  const cx = new VerifyContext(fn, module);
  for (const check of CHECKS) {
    try {
      cx.runCheck(check);
    } catch (cause) {
      // A check must not throw; if it does on IR broken in an unforeseen way, report that.
      cx.errorAtFunction(`check ${check.name} crashed: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  }
  return cx.errors;
}

/** Verifies every function of a module, plus module-level rules (unique function and map names). */
export function referenceVerifyModule(m: Module): VerifierError[] {
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
  for (const fn of m.functions) errors.push(...referenceVerifyFunction(fn, m));
  return errors;
}
