/**
 * Dense conditional constant propagation as an instance of the generic dataflow solver
 * (Kildall 1973 with Wegman & Zadeck's conditional edges): the fact at a block is either
 * "unreachable" (`null`, the solver's bottom) or the lattice value of every SSA value
 * defined on the way there. The edge transfer drops edges a constant branch never takes
 * and evaluates the target's phis with the values of that edge; the join keeps the
 * values available on every incoming path. It proves every constant SCCP
 * (passes/sccp.ts) proves, which the tests check on random programs, and is a little more
 * precise on a condbr whose two edges enter one block (it keeps the phi pairs of the two
 * edges apart); SCCP is the one the optimiser runs, because it is sparse (this one copies
 * a map per block).
 */
import { isConstant, type BasicBlock, type Function, type Value } from "@luabpf/ir";
import { solveDataflow, type DataflowProblem } from "../dataflow.js";
import { meet, OVERDEFINED, type LatticeValue } from "../util/constant-lattice.js";
import { evaluate, isFoldable } from "../util/fold.js";

/** Reachability and value facts at a program point; `null` means unreachable. */
export type ConstantFacts = ReadonlyMap<number, LatticeValue> | null;

function read(facts: ReadonlyMap<number, LatticeValue>, v: Value): LatticeValue {
  if (isConstant(v)) return v.value;
  if (v.kind === "param") return OVERDEFINED;
  return facts.has(v.id) ? facts.get(v.id) : OVERDEFINED;
}

const problem: DataflowProblem<ConstantFacts> = {
  direction: "forward",
  lattice: {
    bottom: () => null,
    join(a, b) {
      if (a === null) return b;
      if (b === null) return a;
      const out = new Map<number, LatticeValue>();
      for (const [id, v] of a) if (b.has(id)) out.set(id, meet(v, b.get(id)));
      return out;
    },
    equals(a, b) {
      if (a === null || b === null) return a === b;
      if (a.size !== b.size) return false;
      for (const [id, v] of a) if (!b.has(id) || b.get(id) !== v) return false;
      return true;
    },
  },
  boundary: () => new Map(),
  transfer(bb, input) {
    if (input === null) return null;
    const facts = new Map(input);
    for (let inst = bb.firstNonPhi(); inst; inst = inst.next) {
      if (inst.type.kind === "void") continue;
      const ops = inst.operands.map((v) => read(facts, v));
      let lv: LatticeValue = OVERDEFINED;
      if (inst.opcode === "copy") lv = ops[0];
      else if (inst.opcode === "select") {
        const c = ops[0];
        lv = c === OVERDEFINED || c === undefined ? meet(ops[1], ops[2]) : ops[c !== 0n ? 1 : 2];
      } else if (isFoldable(inst.opcode)) {
        if (ops.some((o) => o === undefined)) lv = undefined;
        else if (!ops.some((o) => o === OVERDEFINED)) lv = evaluate(inst.opcode, inst.typeParam, inst.type, ops as bigint[]);
      }
      facts.set(inst.id, lv);
    }
    return facts;
  },
  edge(from, to, value) {
    if (value === null) return null;
    // The terminator slots that lead to `to` and may be taken. A condbr may target one
    // block twice; the n-th phi pair from `from` belongs to its n-th edge to `to`.
    const targets = from.succs;
    const term = from.terminator;
    const c = term?.opcode === "condbr" ? read(value, term.operands[0]!) : OVERDEFINED;
    if (c === undefined) return null;
    const taken: number[] = [];
    let occurrence = 0;
    for (let k = 0; k < targets.length; k++) {
      if (targets[k] !== to) continue;
      if (c === OVERDEFINED || k === (c !== 0n ? 0 : 1)) taken.push(occurrence);
      occurrence++;
    }
    if (taken.length === 0) return null;
    const phis = to.phis();
    if (phis.length === 0) return value;
    const out = new Map(value);
    for (const phi of phis) {
      let lv: LatticeValue = undefined;
      for (const n of taken) lv = meet(lv, read(value, phi.operands[nthPair(phi.incoming, from, n)]!));
      out.set(phi.id, lv);
    }
    return out;
  },
};

function nthPair(incoming: readonly BasicBlock[], from: BasicBlock, n: number): number {
  for (let i = 0; i < incoming.length; i++) if (incoming[i] === from && n-- === 0) return i;
  return -1;
}

/** The constant-propagation facts of `fn`: per block id, the facts at its end (`null`: unreachable). */
export function denseConstants(fn: Function): { atEnd: readonly ConstantFacts[]; valueOf(v: Value, where: BasicBlock): LatticeValue } {
  const result = solveDataflow(fn, problem);
  return {
    atEnd: result.atEnd,
    valueOf(v, where) {
      const facts = result.atEnd[where.id];
      return facts ? read(facts, v) : undefined;
    },
  };
}
