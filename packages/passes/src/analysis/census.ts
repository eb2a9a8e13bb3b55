/**
 * The opcode census of a function: how many instructions of the opcodes that passes test
 * for ({@link CENSUS_OPCODES}) it holds and how many calls of each helper — what a pass's
 * precondition (`applies`, see pass.ts) reads to say "nothing here can match" without walking the function itself: strength-reduce with
 * no `udiv`/`urem`, map-lookup-cse with fewer than two lookups, the branch passes with no
 * `condbr`, the store passes with no `store`.
 *
 * An ordinary analysis, not `cfgOnly`: any change to the function drops it, and every pass
 * execution that changes nothing (most of them: see docs/performance.md) keeps it, so one
 * walk serves the passes that follow until one of them changes the function.
 * Cost: one walk of the instructions.
 */
import type { Function, Opcode } from "@luabpf/ir";
import { defineAnalysis } from "../analysis-manager.js";

/** The opcodes the census counts: those the passes' preconditions ask about. */
export const CENSUS_OPCODES = ["udiv", "urem", "condbr", "store", "load", "phi", "call", "ptradd"] as const satisfies readonly Opcode[];
export type CensusOpcode = (typeof CENSUS_OPCODES)[number];

/** Instruction counts of one function (see the file comment). */
export interface OpcodeCensus {
  /** The number of instructions of opcode `op`. */
  count(op: CensusOpcode): number;
  /** The number of calls of helper `id` (`call T helper id`). */
  helperCalls(id: number): number;
  /** The number of calls of functions (`call T @f`). */
  readonly functionCalls: number;
}

class Census implements OpcodeCensus {
  /** Instructions per opcode of {@link CENSUS_OPCODES}, at its index there. */
  readonly opcodes: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  readonly helpers = new Map<number, number>();
  functionCalls = 0;

  constructor(fn: Function) {
    const counts = this.opcodes;
    for (const bb of fn.blocks) {
      for (let i = bb.first; i; i = i.next) {
        // A switch on the (interned) opcode strings: cheaper than a table lookup per instruction.
        switch (i.opcode) {
          case "udiv":
            counts[0]!++;
            break;
          case "urem":
            counts[1]!++;
            break;
          case "condbr":
            counts[2]!++;
            break;
          case "store":
            counts[3]!++;
            break;
          case "load":
            counts[4]!++;
            break;
          case "phi":
            counts[5]!++;
            break;
          case "ptradd":
            counts[7]!++;
            break;
          case "call": {
            counts[6]!++;
            const helper = i.helper;
            if (helper !== undefined) this.helpers.set(helper, (this.helpers.get(helper) ?? 0) + 1);
            else this.functionCalls++;
            break;
          }
        }
      }
    }
  }

  count(op: CensusOpcode): number {
    return this.opcodes[CENSUS_OPCODES.indexOf(op)]!;
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
