/**
 * Value ranges: for every integer SSA value, the known bits and the unsigned and signed
 * bounds (util/range-lattice.ts) — what the eBPF verifier tracks about the register that
 * will hold it — and which blocks can run at all.
 *
 * The solver is sparse and conditional, like SCCP (Wegman & Zadeck 1991) over a taller
 * lattice: a value starts "not computed" and only grows; instructions are evaluated once
 * their block is executable; a phi joins only the values arriving along executable edges;
 * a `condbr` whose condition's range decides it marks only the taken edge. Ranges of
 * phis that keep changing are widened (after a few steps their moving bounds jump to the
 * next threshold — the edge of a byte, a 16- or 32-bit word, or the type's extreme:
 * util/range-lattice.ts widenRange), so loops converge; every cycle of SSA values passes
 * through a phi, so widening phis alone is enough, and the values computed from them stay
 * exact (a bisection `(lo + hi) >> 1` between 0 and 256 keeps its bound of 255).
 *
 * A helper call's result is bounded where the platform's helper table knows more than its
 * type (`helperResultMax`: the clocks stay below 2^63, a `u32` result is zero-extended).
 *
 * Branch conditions refine (the verifier's reg_set_min_max): a block B whose only way in
 * is the `true` (or `false`) edge of `condbr c` learns that c holds (or not) and, when c
 * compares a value with a constant (`ult x, 10`, `eq x, 3`, through `xor c, 1`, and the
 * `and`/`or` of compares), that x is in the matching interval. Because an SSA value never
 * changes, the fact holds in every block B dominates: {@link ValueRanges.rangeAt} narrows a
 * value's range by the facts of the branches dominating the block asked about, and the
 * solver evaluates each instruction with its operands narrowed that way (so `x + 1` under
 * `x < 10` is known to be at most 10 everywhere). A phi's incoming value is narrowed by the
 * edge it arrives along as well.
 *
 * The work list is a stack (last in, first out) for every function of up to
 * {@link ORDERED_ABOVE} instructions, and a queue of blocks in reverse postorder above
 * that (see there: the stack order makes a long chain of branches re-evaluate its tail
 * once per branch, until widening stops it).
 *
 * Cost: every phi changes at most (WIDEN_AFTER + 5 × 4 + 64) times (each bound passes each
 * threshold once, known bits only shrink), other values as often as their operands; each change revisits its
 * users, then two narrowing sweeps; narrowing an operand applies the branch facts recorded
 * for it whose block dominates the block asked about: up to FACT_SCAN_LIMIT facts are each
 * an O(1) dominance query, more are looked up in the dominator tree's preorder
 * ({@link DominatingFacts}).
 */
import {
  bitsOf,
  isConstant,
  isInstruction,
  SWAPPED_COMPARE,
  type BasicBlock,
  type CompareOpcode,
  type Function,
  type Instruction,
  type Value,
  type BinaryOpcode,
  type UnaryOpcode,
  type CastOpcode,
  type DominatorTree,
} from "@luabpf/ir";
import { helperResultMax } from "@luabpf/platform";
import { defineAnalysis } from "../analysis-manager.js";
import {
  binaryRange,
  castRange,
  constantOf,
  constantRange,
  decideCompare,
  fullRange,
  intersectRanges,
  isSettled,
  joinRanges,
  rangesEqual,
  refineByCompare,
  unaryRange,
  widenRange,
  unsignedRange,
  type Range,
} from "../util/range-lattice.js";
import { dominatorTreeAnalysis } from "./cfg.js";

/** Up to this many branch facts about a value are tested one by one for dominance; more go through {@link DominatingFacts}. */
const FACT_SCAN_LIMIT = 8;

/** After this many changes a value's range is widened. */
const WIDEN_AFTER = 6;
/** Descending rounds after the widened fixed point. */
const NARROWING_ROUNDS = 2;

/** What the analysis knows (see the file note). */
export interface ValueRanges {
  /** The range of `v` (an integer or pointer) wherever it is available; undefined when it is never computed (its block cannot run) or void. */
  rangeOf(v: Value): Range | undefined;
  /** The range of `v` in block `bb`, narrowed by the branch conditions that dominate `bb`; undefined when no value reaches there. */
  rangeAt(v: Value, bb: BasicBlock): Range | undefined;
  /** The range of phi operand `k` along the edge it arrives by (undefined when that edge never runs). */
  incomingRange(phi: Instruction, k: number): Range | undefined;
  /** The range of `v` on the edge `from → to`: at the end of `from`, narrowed by the branch taken. */
  rangeOnEdge(v: Value, from: BasicBlock, to: BasicBlock): Range | undefined;
  /**
   * {@link rangeOnEdge} for one edge and many values: the branch's facts are worked out once,
   * from the IR as it is now (ask again after changing the branch or its condition).
   */
  rangesOnEdge(from: BasicBlock, to: BasicBlock): (v: Value) => Range | undefined;
  /** Can `bb` run? */
  isExecutable(bb: BasicBlock): boolean;
  /** Can the edge leaving `from` through successor slot `slot` be taken? */
  isEdgeExecutable(from: BasicBlock, slot: number): boolean;
}

/** A fact a branch gives about a value: `value op k` is `holds`. */
interface Fact {
  readonly value: Value;
  readonly op: CompareOpcode;
  readonly k: Range;
  readonly holds: boolean;
}

/** The range a value of type `t` may have when nothing else is known. */
function typeRange(v: Value): Range | undefined {
  const bits = bitsOf(v.type);
  return bits ? fullRange(bits) : undefined;
}

const isCompare = (v: Value): boolean => isInstruction(v) && v.info.shape === "compare";

/** The constant 0 per width (ranges are immutable: one object serves every use). */
const ZEROS: Range[] = [];
const zeroRange = (bits: number): Range => (ZEROS[bits] ??= constantRange(bits, 0n));
const FALSE = constantRange(64, 0n);
const TRUE = constantRange(64, 1n);

/**
 * The facts `c` being nonzero (`holds`) or zero gives: about c itself, about the operand
 * of a compare with a constant, through `xor c, 1` of a compare, and through `and`/`or`
 * of compares (both hold / both fail).
 */
function factsOf(c: Value, holds: boolean, out: Fact[] = [], depth = 0): Fact[] {
  const bits = bitsOf(c.type);
  if (!bits || depth > 4) return out;
  out.push({ value: c, op: "ne", k: zeroRange(bits), holds });
  if (!isInstruction(c)) return out;
  const a = c.operands[0];
  const b = c.operands[1];
  if (isCompare(c)) {
    const op = (c as Instruction).opcode as CompareOpcode;
    if (isConstant(b!) && !isConstant(a!)) out.push({ value: a!, op, k: constantRange(bitsOf(b!.type), b!.value), holds });
    else if (isConstant(a!) && !isConstant(b!)) out.push({ value: b!, op: SWAPPED_COMPARE[op], k: constantRange(bitsOf(a!.type), a!.value), holds });
    return out;
  }
  if (c.opcode === "xor" && isConstant(b!) && b!.value === 1n && isCompare(a!)) return factsOf(a!, !holds, out, depth + 1);
  if ((c.opcode === "and" && holds) || (c.opcode === "or" && !holds)) {
    if (isCompare(a!) && isCompare(b!)) {
      factsOf(a!, holds, out, depth + 1);
      factsOf(b!, holds, out, depth + 1);
    }
  }
  if (c.opcode === "zext" && isCompare(a!)) factsOf(a!, holds, out, depth + 1);
  return out;
}

const NO_FACTS: readonly Fact[] = Object.freeze([]);

/** The facts of the edge `from → to` when it is the one way `from` reaches `to` (distinct targets of a condbr). */
function edgeFacts(from: BasicBlock, to: BasicBlock): readonly Fact[] {
  const t = from.terminator;
  if (t?.opcode !== "condbr" || t.targets[0] === t.targets[1]) return NO_FACTS;
  return factsOf(t.operands[0]!, t.targets[0] === to);
}

function narrow(r: Range, facts: readonly Fact[], v: Value): Range | undefined {
  let out: Range | undefined = r;
  for (const f of facts) {
    if (f.value !== v || !out) continue;
    out = narrowBy(out, f);
  }
  return out;
}

/** `r` (the range of the fact's value) narrowed by one fact. */
function narrowBy(r: Range, f: Fact): Range | undefined {
  return refineByCompare(r, f.op, f.k.bits === r.bits ? f.k : constantRange(r.bits, constantOf(f.k)!), f.holds);
}

/**
 * The range of `inst`'s result given the ranges of its operands (in operand order):
 * the lattice's transfer function for its opcode, the type's full range for what the
 * analysis does not model (loads, calls, ...). Undefined for void instructions and phis.
 */
export function transferRange(inst: Instruction, ops: readonly Range[]): Range | undefined {
  switch (inst.info.shape) {
    case "binary":
      return binaryRange(inst.opcode as BinaryOpcode, ops[0]!, ops[1]!);
    case "unary":
      return unaryRange(inst.opcode as UnaryOpcode, ops[0]!);
    case "cast":
      return castRange(inst.opcode as CastOpcode, ops[0]!, bitsOf(inst.type));
    case "compare": {
      const d = decideCompare(inst.opcode as CompareOpcode, ops[0]!, ops[1]!);
      return d === undefined ? BOOLEAN : d ? TRUE : FALSE;
    }
    case "select": {
      const c = ops[0]!;
      const k = constantOf(c);
      if (k !== undefined) return ops[k !== 0n ? 1 : 2];
      if (!refineByCompare(c, "eq", zeroRange(c.bits), true)) return ops[1]; // never zero
      return joinRanges(ops[1]!, ops[2]!);
    }
    case "copy":
      return ops[0]!.bits === bitsOf(inst.type) ? ops[0] : typeRange(inst);
    case "phi":
      return undefined;
    default:
      if (inst.opcode === "call") return callRange(inst);
      return typeRange(inst);
  }
}

/** A helper call's result: bounded where the platform's helper table says more than the type (a clock, a `u32`). */
function callRange(inst: Instruction): Range | undefined {
  const bits = bitsOf(inst.type);
  if (!bits || inst.type.kind !== "int") return typeRange(inst);
  const id = inst.helper;
  if (id === undefined) return fullRange(bits);
  // Worked out once per width and helper (the helper table is fixed; ranges are immutable).
  const byHelper = (CALL_RANGES[bits] ??= new Map());
  let r = byHelper.get(id);
  if (!r) {
    const max = helperResultMax(id);
    r = max === undefined || max >= (1n << BigInt(bits)) - 1n ? fullRange(bits) : unsignedRange(bits, 0n, max);
    byHelper.set(id, r);
  }
  return r;
}
const CALL_RANGES: Map<number, Range>[] = [];

const BOOLEAN = joinRanges(FALSE, TRUE);

/**
 * The order the solver takes its work in (see {@link solveValueRanges}): `"stack"` (last
 * in, first out; the order of every function up to {@link ORDERED_ABOVE} instructions) or
 * `"rpo"` (the pending work of the block first in reverse postorder, in block order).
 */
export type SolveOrder = "stack" | "rpo";

/**
 * Functions of more instructions than this are solved in `"rpo"` order. On a long chain of
 * branches the stack order runs down every false edge first and then re-evaluates the
 * whole chain below each then-block it comes back to — quadratic, were it not for
 * widening, which stops each value after ~11 changes (at 280k IR instructions of the
 * `branches` bench shape, 4 changes and 7 visits per instruction). In reverse postorder a
 * block is taken once all its forward predecessors are done: on loop-free code each value
 * is computed once. The ranges may differ (they are as sound, usually tighter: less
 * widening), so smaller functions — every program of the corpus and of ordinary size —
 * keep the stack order and their output.
 */
export const ORDERED_ABOVE = 50_000;

/** The order {@link solveValueRanges} takes for `fn` by default: by its size (see {@link ORDERED_ABOVE}). */
export function solveOrderFor(fn: Function): SolveOrder {
  return fn.instructionCount > ORDERED_ABOVE ? "rpo" : "stack";
}

/**
 * Solves the ranges of `fn` (see the file note). `order` chooses the work order (default:
 * by size, {@link ORDERED_ABOVE}); both give sound ranges.
 */
export function solveValueRanges(fn: Function, dt: DominatorTree, order: SolveOrder = solveOrderFor(fn)): ValueRanges {
  const n = fn.valueIdBound;
  // The ranges by value id: an instruction's (what it has been computed to so far) and a
  // constant's (built when first read).
  const values: (Range | undefined)[] = new Array(n);
  // The solver's counters by value id in one typed array (a typed array costs far more to
  // make than a small function's few slots; views of one would each cost as much): at `id`
  // the number of changes of the value, at CHANGED + id, EVALUATED + id, NARROWED + id and
  // SWEPT + id the clocks' stamps below.
  const counters = new Uint32Array(5 * n);
  const [CHANGED, EVALUATED, NARROWED, SWEPT] = [n, 2 * n, 3 * n, 4 * n];
  // Executable blocks (at the block id), then executable edges (at EDGES + source block id
  // * 2 + successor slot: a terminator has at most two), in one typed array.
  const flags = new Uint8Array(3 * fn.blockIdBound);
  const EDGES = fn.blockIdBound;
  const blockWork: BasicBlock[] = [];
  const valueWork: Instruction[] = [];
  const work = order === "rpo" ? new OrderedWork(fn, dt) : undefined;
  /** `inst` is to be visited again (an operand changed, or an edge into its block became executable). */
  const revisit = work ? (inst: Instruction) => work.add(inst) : (inst: Instruction) => valueWork.push(inst);

  // Branch facts, by the block they hold in (its only way in) and by the id of the value they are about.
  // (The tables by id are allocated at their full length: writing far past the end of an
  // empty array turns it into a dictionary.)
  const factsByValue: ({ block: BasicBlock; fact: Fact }[] | undefined)[] = new Array(n);
  for (const bb of fn.blocks) {
    if (bb === fn.entry || bb.preds.length !== 1 || bb.preds[0] === bb) continue;
    for (const fact of edgeFacts(bb.preds[0]!, bb)) (factsByValue[fact.value.id] ??= []).push({ block: bb, fact });
  }

  const rangeOf = (v: Value): Range | undefined => {
    if (isConstant(v)) return (values[v.id] ??= constantRange(bitsOf(v.type) || 64, v.value));
    if (v.kind === "param") return typeRange(v);
    return values[v.id];
  };
  // A value tested by many branches (`x == 1`, `x == 2`, ... down a chain) has its
  // dominating facts found through an index of them in the dominator tree's preorder.
  let factIndexes: (DominatingFacts | undefined)[] | undefined;
  const rangeAt = (v: Value, bb: BasicBlock): Range | undefined => {
    let r = rangeOf(v);
    const facts = factsByValue[v.id];
    if (!r || !facts) return r;
    if (facts.length > FACT_SCAN_LIMIT && dt.isReachable(bb)) {
      const index = ((factIndexes ??= new Array(n))[v.id] ??= new DominatingFacts(facts.map((f) => f.block), dt));
      for (const k of index.dominating(bb)) {
        r = narrowBy(r, facts[k]!.fact);
        if (!r) break;
      }
      return r;
    }
    for (const { block, fact } of facts) {
      if (!r) break;
      if (dt.dominates(block, bb)) r = narrowBy(r, fact);
    }
    return r;
  };
  const edgeKey = (from: BasicBlock, slot: number): number => from.id * 2 + slot;
  /** The k-th pair of a phi belongs to the k-th edge into its block (a condbr may target it twice). */
  const pairSlot = (phi: Instruction, k: number): number => {
    const from = phi.incoming[k]!;
    let occurrence = 0;
    for (let p = 0; p < k; p++) if (phi.incoming[p] === from) occurrence++;
    const succs = from.succs;
    for (let s = 0; s < succs.length; s++) if (succs[s] === phi.block && occurrence-- === 0) return s;
    return -1;
  };
  const incomingRange = (phi: Instruction, k: number, facts = edgeFacts): Range | undefined => {
    const from = phi.incoming[k]!;
    const slot = pairSlot(phi, k);
    if (slot < 0 || !flags[EDGES + edgeKey(from, slot)]) return undefined;
    const v = phi.operands[k]!;
    const r = rangeAt(v, from);
    return r && narrow(r, facts(from, phi.block!), v);
  };
  // While solving (the IR does not change) each edge's facts are worked out once: a phi is
  // evaluated again whenever an incoming value changes. Afterwards (the pass using the
  // ranges may rewrite branches) they are worked out from the current terminator.
  const factsOfEdge: (readonly Fact[] | undefined)[] = new Array(2 * fn.blockIdBound);
  const cachedEdgeFacts = (from: BasicBlock, to: BasicBlock): readonly Fact[] => {
    const t = from.terminator;
    if (t?.opcode !== "condbr" || t.targets[0] === t.targets[1]) return NO_FACTS;
    return (factsOfEdge[from.id * 2 + (t.targets[0] === to ? 0 : 1)] ??= edgeFacts(from, to));
  };

  /** The range each instruction's last evaluation gave (what `set` was called with). */
  const lastEval: (Range | undefined)[] = new Array(n);
  // A clock stamps each change of a value and each evaluation of an instruction: an
  // instruction none of whose operands changed since its last evaluation would evaluate
  // to the same range again, so it is not evaluated again (a block's walk and the work
  // list often visit an instruction twice with the same operands).
  let clock = 0;
  const set = (inst: Instruction, r: Range | undefined): void => {
    lastEval[inst.id] = r;
    if (!r) return;
    const old = values[inst.id];
    // Joining a settled range with itself gives it back (the common revisit): nothing changes.
    if (old && counters[inst.id]! < WIDEN_AFTER && rangesEqual(old, r) && isSettled(old)) return;
    let next = old ? joinRanges(old, r) : r;
    if (old && inst.isPhi && counters[inst.id]! >= WIDEN_AFTER) next = widenRange(old, next);
    if (old && rangesEqual(old, next)) return;
    values[inst.id] = next;
    counters[inst.id]!++;
    counters[CHANGED + inst.id] = ++clock;
    for (let p = 0, n = inst.useCount; p < n; p++) {
      const user = inst.useUserAt(p)!;
      if (user.block && flags[user.block.id]) revisit(user);
    }
  };
  const markEdge = (from: BasicBlock, slot: number): void => {
    const key = edgeKey(from, slot);
    if (flags[EDGES + key]) return;
    flags[EDGES + key] = 1;
    const to = from.succs[slot]!;
    if (!flags[to.id]) {
      flags[to.id] = 1;
      if (work) work.addBlock(to);
      else blockWork.push(to);
    } else for (const phi of to.phis()) revisit(phi);
  };

  // The operands' ranges of the instruction being evaluated (one array for every evaluation:
  // transferRange reads only its instruction's operands, and keeps no reference to it).
  const ops: Range[] = [];
  const evaluate = (inst: Instruction): Range | undefined => {
    const bb = inst.block!;
    const operands = inst.operands;
    for (let k = 0; k < operands.length; k++) {
      const r = rangeAt(operands[k]!, bb);
      if (!r) return undefined; // not computed yet (or no value reaches here)
      ops[k] = r;
    }
    return transferRange(inst, ops);
  };

  const visit = (inst: Instruction): void => {
    const bb = inst.block!;
    switch (inst.opcode) {
      case "phi": {
        let r: Range | undefined;
        for (let k = 0; k < inst.operands.length; k++) {
          const rk = incomingRange(inst, k, cachedEdgeFacts);
          if (rk) r = r ? joinRanges(r, rk) : rk;
        }
        set(inst, r);
        return;
      }
      case "br":
        markEdge(bb, 0);
        return;
      case "condbr": {
        const c = rangeAt(inst.operands[0]!, bb);
        if (!c) return;
        const k = constantOf(c);
        const canBeZero = refineByCompare(c, "eq", zeroRange(c.bits), true) !== undefined;
        if (k === undefined && canBeZero) {
          markEdge(bb, 0);
          markEdge(bb, 1);
        } else markEdge(bb, k === 0n ? 1 : 0);
        return;
      }
    }
    if (inst.type.kind === "void") return;
    const last = lastEval[inst.id];
    if (last !== undefined && !operandChangedSince(inst, counters[EVALUATED + inst.id]!)) return set(inst, last);
    counters[EVALUATED + inst.id] = clock;
    set(inst, evaluate(inst));
  };
  const operandChangedSince = (i: Instruction, since: number): boolean => {
    for (const o of i.operands) if (counters[CHANGED + o.id]! > since) return true;
    return false;
  };

  flags[fn.entry.id] = 1;
  if (work) {
    work.addBlock(fn.entry);
    work.run(visit);
  } else blockWork.push(fn.entry);
  while (blockWork.length > 0 || valueWork.length > 0) {
    while (valueWork.length > 0) {
      const inst = valueWork.pop()!;
      if (inst.block && flags[inst.block.id]) visit(inst);
    }
    const bb = blockWork.pop();
    if (bb) for (let i = bb.first; i; i = i.next) visit(i);
  }

  // Narrowing (Cousot & Cousot 1977): widening may have overshot around loops; a few
  // descending rounds intersect each value with what its operands now give, which stays
  // above the least fixed point (so sound) and recovers bounds such as a loop guard's.
  //
  // At the ascending fixed point every instruction's last evaluation saw its operands' final
  // ranges, so a sweep re-evaluates only instructions an operand of which narrowed since
  // their last evaluation (stamps of a clock), and intersects only where that gives
  // something new: the same result as evaluating everything, without its cost (most
  // functions have no loop and nothing to narrow).
  //
  // A sweep changes nothing when every value is settled and equal to its last evaluation
  // (the common case: no loop, no join of different ranges): that is checked on the tables
  // by id first, without walking the blocks.
  let settledAll = true;
  for (let id = 0; id < n && settledAll; id++) {
    if (counters[id] === 0) continue; // not an instruction's value (a constant's, or never computed)
    const v = values[id]!;
    const r = lastEval[id];
    settledAll = r !== undefined && (r === v || rangesEqual(v, r)) && isSettled(v);
  }
  const rpo = settledAll ? [] : dt.reversePostOrder();
  let sweepClock = 0;
  const operandNarrowed = (i: Instruction): boolean => {
    const since = counters[SWEPT + i.id]!;
    for (const o of i.operands) if (counters[NARROWED + o.id]! > since) return true;
    return false;
  };
  for (let round = 0, before = -1; round < NARROWING_ROUNDS; round++) {
    // A round that narrowed nothing left every range as it found it: the next one would
    // evaluate the same operands to the same results, and so would every later one.
    if (sweepClock === before) break;
    before = sweepClock;
    for (const bb of rpo) {
      if (!flags[bb.id]) continue;
      for (let i = bb.first; i; i = i.next) {
        const old = values[i.id];
        if (!old) continue;
        let r = lastEval[i.id];
        if (r === undefined || operandNarrowed(i)) {
          r = undefined;
          if (i.isPhi) {
            for (let k = 0; k < i.operands.length; k++) {
              const rk = incomingRange(i, k, cachedEdgeFacts);
              if (rk) r = r ? joinRanges(r, rk) : rk;
            }
          } else r = evaluate(i);
          lastEval[i.id] = r;
          counters[SWEPT + i.id] = sweepClock;
        }
        if (!r || (rangesEqual(old, r) && isSettled(old))) continue; // intersecting gives old again
        const narrowed = intersectRanges(old, r);
        if (!narrowed) continue;
        if (!rangesEqual(narrowed, old)) counters[NARROWED + i.id] = ++sweepClock;
        values[i.id] = narrowed;
      }
    }
  }

  return {
    rangeOf,
    rangeAt,
    incomingRange: (phi, k) => incomingRange(phi, k),
    rangeOnEdge: (v, from, to) => {
      const r = rangeAt(v, from);
      return r && narrow(r, edgeFacts(from, to), v);
    },
    rangesOnEdge: (from, to) => {
      const facts = edgeFacts(from, to);
      return (v) => {
        const r = rangeAt(v, from);
        return r && narrow(r, facts, v);
      };
    },
    isExecutable: (bb) => flags[bb.id] === 1,
    isEdgeExecutable: (from, slot) => slot >= 0 && slot < 2 && flags[EDGES + edgeKey(from, slot)] === 1,
  };
}

/** The value ranges of a function, through the analysis manager (invalidated by any change to instructions). */
export const valueRangesAnalysis = defineAnalysis<ValueRanges>({
  name: "value-ranges",
  description: "known bits and unsigned/signed bounds of every integer value, narrowed by dominating branch conditions",
  dependsOn: [dominatorTreeAnalysis],
  compute: (fn, am) => solveValueRanges(fn, am.get(dominatorTreeAnalysis)),
});

/**
 * The solver's work in reverse postorder: a min-heap of the blocks with pending
 * instructions, keyed by their position in reverse postorder, and a pending mark per
 * instruction. Taking a block visits its pending instructions in block order; an
 * instruction marked pending later in the block being walked is visited in the same walk,
 * one before it (a phi, through a back edge) queues the block again.
 */
class OrderedWork {
  private readonly position: Int32Array;
  private readonly blocks: BasicBlock[];
  private readonly pending: Uint8Array;
  private readonly queued: Uint8Array;
  private readonly heap: number[] = [];

  constructor(fn: Function, dt: DominatorTree) {
    this.blocks = dt.reversePostOrder();
    this.position = new Int32Array(fn.blockIdBound).fill(-1);
    this.blocks.forEach((bb, k) => (this.position[bb.id] = k));
    this.pending = new Uint8Array(fn.valueIdBound);
    this.queued = new Uint8Array(fn.blockIdBound);
  }

  /** Marks `inst` to be visited. */
  add(inst: Instruction): void {
    if (this.pending[inst.id]) return;
    this.pending[inst.id] = 1;
    this.queue(inst.block!);
  }

  /** Marks every instruction of `bb` (newly executable) to be visited. */
  addBlock(bb: BasicBlock): void {
    for (let i = bb.first; i; i = i.next) this.pending[i.id] = 1;
    this.queue(bb);
  }

  /** Visits pending instructions, block by block in reverse postorder, until none is left. */
  run(visit: (inst: Instruction) => void): void {
    const heap = this.heap;
    while (heap.length > 0) {
      const bb = this.blocks[this.pop()]!;
      this.queued[bb.id] = 0;
      for (let i = bb.first; i; i = i.next) {
        if (!this.pending[i.id]) continue;
        this.pending[i.id] = 0;
        visit(i);
      }
    }
  }

  private queue(bb: BasicBlock): void {
    if (this.queued[bb.id]) return;
    const k = this.position[bb.id]!;
    if (k < 0) return; // not reachable from the entry: never executable
    this.queued[bb.id] = 1;
    const heap = this.heap;
    let at = heap.length;
    heap.push(k);
    while (at > 0) {
      const up = (at - 1) >> 1;
      if (heap[up]! <= k) break;
      heap[at] = heap[up]!;
      at = up;
    }
    heap[at] = k;
  }

  private pop(): number {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    const n = heap.length;
    if (n > 0) {
      let at = 0;
      for (;;) {
        let child = 2 * at + 1;
        if (child >= n) break;
        if (child + 1 < n && heap[child + 1]! < heap[child]!) child++;
        if (heap[child]! >= last) break;
        heap[at] = heap[child]!;
        at = child;
      }
      heap[at] = last;
    }
    return top;
  }
}

/**
 * The facts about one value that hold in a block, found without testing each: the facts'
 * blocks sorted by their dominator-tree preorder number, each linked to the nearest one
 * that dominates it (dominance intervals nest). The facts dominating a reachable block B
 * are the chain of links from the last fact block at or before B in preorder, from the
 * first of them that dominates B; they are returned in the facts' own order (narrowing
 * applies them in that order). O(log facts + links walked) per question.
 */
export class DominatingFacts {
  /** Fact positions sorted by (preorder number of the block, position). */
  private readonly sorted: number[];
  private readonly pre: number[];
  /** Per sorted entry: the sorted entry of the nearest fact block dominating its block, or -1. */
  private readonly up: Int32Array;

  constructor(
    private readonly blocks: readonly BasicBlock[],
    private readonly dt: DominatorTree,
  ) {
    const preorder = preorderNumbers(dt);
    const reachable = blocks.map((_, k) => k).filter((k) => dt.isReachable(blocks[k]!));
    const preOf = (k: number) => preorder.get(blocks[k]!)!;
    this.sorted = reachable.sort((a, b) => preOf(a) - preOf(b) || a - b);
    this.pre = this.sorted.map(preOf);
    this.up = new Int32Array(this.sorted.length).fill(-1);
    const stack: number[] = [];
    for (let e = 0; e < this.sorted.length; e++) {
      const block = blocks[this.sorted[e]!]!;
      while (stack.length > 0 && !dt.dominates(blocks[this.sorted[stack.at(-1)!]!]!, block)) stack.pop();
      if (stack.length > 0) this.up[e] = stack.at(-1)!;
      stack.push(e);
    }
  }

  /** Positions of the facts whose block dominates `bb` (reachable), ascending. */
  dominating(bb: BasicBlock): number[] {
    const p = preorderNumbers(this.dt).get(bb)!;
    let lo = 0;
    let hi = this.pre.length; // the last entry with pre <= p is lo - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.pre[mid]! <= p) lo = mid + 1;
      else hi = mid;
    }
    let e = lo - 1;
    while (e >= 0 && !this.dt.dominates(this.blocks[this.sorted[e]!]!, bb)) e = this.up[e]!;
    const out: number[] = [];
    for (; e >= 0; e = this.up[e]!) out.push(this.sorted[e]!);
    return out.sort((a, b) => a - b);
  }
}

const preorders = new WeakMap<DominatorTree, Map<BasicBlock, number>>();
/** Each reachable block's number in the dominator tree's preorder (once per tree). */
function preorderNumbers(dt: DominatorTree): Map<BasicBlock, number> {
  let m = preorders.get(dt);
  if (!m) {
    m = new Map(dt.preorder().map((bb, k) => [bb, k]));
    preorders.set(dt, m);
  }
  return m;
}
