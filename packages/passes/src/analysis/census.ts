/**
 * The opcode census of a function: how many instructions of each opcode it holds and how
 * many calls of each helper — what a pass's precondition (`applies`, see pass.ts) reads to
 * say "nothing here can match" without walking the function itself: strength-reduce with
 * no `udiv`/`urem`, map-lookup-cse with fewer than two lookups, the branch passes with no
 * `condbr`, the store passes with no `store`.
 *
 * An ordinary analysis, not `cfgOnly`: any change to the function drops it, and every pass
 * execution that changes nothing (most of them: see docs/performance.md) keeps it, so one
 * walk serves the passes that follow until one of them changes the function.
 * Cost: one walk of the instructions.
 */
import { OPCODES, type Function, type Opcode } from "@luabpf/ir";
import { defineAnalysis } from "../analysis-manager.js";

/** Instruction counts of one function (see the file comment). */
export interface OpcodeCensus {
  /** The number of instructions of opcode `op`. */
  count(op: Opcode): number;
  /** The number of calls of helper `id` (`call T helper id`). */
  helperCalls(id: number): number;
  /** The number of calls of functions (`call T @f`). */
  readonly functionCalls: number;
}

/** Opcode → its position in the opcode table: the census counts in an array. */
const OPCODE_INDEX = new Map((Object.keys(OPCODES) as Opcode[]).map((op, k) => [op, k]));

class Census implements OpcodeCensus {
  /** Instructions per opcode, by {@link OPCODE_INDEX}. */
  readonly opcodes: number[] = new Array<number>(OPCODE_INDEX.size).fill(0);
  readonly helpers = new Map<number, number>();
  functionCalls = 0;

  constructor(fn: Function) {
    const opcodes = this.opcodes;
    for (const bb of fn.blocks) {
      for (let i = bb.first; i; i = i.next) {
        const op = i.opcode;
        opcodes[OPCODE_INDEX.get(op)!]!++;
        if (op !== "call") continue;
        const helper = i.helper;
        if (helper !== undefined) this.helpers.set(helper, (this.helpers.get(helper) ?? 0) + 1);
        else this.functionCalls++;
      }
    }
  }

  count(op: Opcode): number {
    return this.opcodes[OPCODE_INDEX.get(op)!] ?? 0;
  }
  helperCalls(id: number): number {
    return this.helpers.get(id) ?? 0;
  }
}

const sameCounts = <K>(a: ReadonlyMap<K, number>, b: ReadonlyMap<K, number>): boolean => a.size === b.size && [...a].every(([k, n]) => b.get(k) === n);

/** The opcode census of a function (see the file comment). */
export const censusAnalysis = defineAnalysis<OpcodeCensus>({
  name: "census",
  description: "instructions per opcode and calls per helper",
  compute: (fn) => new Census(fn),
  equals: (a, b) => a instanceof Census && b instanceof Census && a.functionCalls === b.functionCalls && a.opcodes.every((n, k) => b.opcodes[k] === n) && sameCounts(a.helpers, b.helpers),
});
