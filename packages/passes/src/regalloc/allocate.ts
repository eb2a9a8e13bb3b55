/**
 * The iterated-register-coalescing allocator behind the {@link RegisterAllocator}
 * interface: lower constraints (`program.ts`), colour (`irc.ts`), and while nodes spill,
 * rewrite them to spill slots and colour again (Appel's "RewriteProgram" loop); then
 * share spill slots (`spill-slots.ts`) and read the result off as operand allocations
 * plus edits.
 */
import { LuabpfError } from "@luabpf/platform/errors";
import type { Allocation, Edit, RegAllocFunction, RegAllocOutput, RegAllocStats, RegAllocTarget, RegisterAllocator } from "./interface.js";
import { colourGraph } from "./irc.js";
import { buildProgram, rewriteSpills, type ItemOperand, type Node } from "./program.js";
import { colourSpillSlots } from "./spill-slots.js";

/** The allocation is impossible (e.g. more registers needed at one instruction than exist). */
export class RegAllocError extends LuabpfError {
  readonly kind = "internal" as const;
  readonly category = "internal" as const;
  constructor(message: string) {
    super(message);
    this.name = "RegAllocError";
  }
}

export interface IrcOptions {
  /** Give up after this many colouring rounds (default 40). */
  maxRounds?: number;
}

/** Iterated register coalescing (George & Appel 1996) with spilling and spill-slot sharing. */
export function allocateIrc(fn: RegAllocFunction, target: RegAllocTarget, options: IrcOptions = {}): RegAllocOutput {
  if (target.allocatable.length === 0) throw new RegAllocError(`target ${target.name} has no allocatable registers`);
  const prog = buildProgram(fn, target);
  const maxRounds = options.maxRounds ?? 40;
  const stats: RegAllocStats = { spills: 0, reloads: 0, copiesRemoved: 0, copiesCoalesced: 0, spilledVRegs: 0, spillSlots: 0, rounds: 0 };
  const vregEnd = prog.firstVirtual + fn.numVRegs;
  let colour: Int32Array;
  for (;;) {
    stats.rounds++;
    if (stats.rounds > maxRounds) throw new RegAllocError(`register allocation does not converge after ${maxRounds} rounds`);
    const res = colourGraph(prog, target);
    if (res.spilled.length === 0) {
      colour = res.colour;
      stats.copiesCoalesced = res.coalesced;
      break;
    }
    const slotOf = new Map<Node, number>();
    for (const { members } of res.spilled) {
      const slot = prog.numSlots++;
      for (const m of members) {
        if (prog.noSpill.has(m)) {
          throw new RegAllocError(
            `too many values are live at once for the ${target.allocatable.length} registers of ${target.name} (a spill reload could not get a register)`,
          );
        }
        slotOf.set(m, slot);
        if (m >= prog.firstVirtual && m < vregEnd) stats.spilledVRegs++;
      }
    }
    rewriteSpills(prog, slotOf);
  }

  const { slotColour, numSlots } = colourSpillSlots(prog);
  stats.spillSlots = numSlots;
  let numInsts = 0;
  for (const b of fn.blocks) numInsts += b.insts.length;
  const allocs: Allocation[][] = new Array(numInsts);
  const edits: Edit[] = [];
  const loc = (o: ItemOperand): Allocation => {
    if (o.slot !== undefined) return { kind: "stack", slot: slotColour[o.slot]! };
    const c = colour[o.node!]!;
    if (c < 0) throw new RegAllocError(`internal: node ${o.node} has no colour`);
    return { kind: "reg", reg: c };
  };
  const same = (a: Allocation, b: Allocation): boolean => a.kind === b.kind && (a.kind === "reg" ? a.reg === (b as { reg: number }).reg : a.slot === (b as { slot: number }).slot);
  for (const items of prog.blocks) {
    for (const it of items) {
      if (it.kind === "inst") {
        const a = it.ops.map(loc);
        allocs[it.origin] = a;
        if (it.copy) {
          if (same(a[0]!, a[1]!)) stats.copiesRemoved++;
          else if (a[1]!.kind === "stack") stats.spills++;
          else if (a[0]!.kind === "stack") stats.reloads++;
        }
        continue;
      }
      const pos = it.pos === "inst" ? "before" : it.pos;
      let from: Allocation;
      let to: Allocation;
      if (it.kind === "reload") [from, to] = [{ kind: "stack", slot: slotColour[it.slot!]! }, loc(it.ops[0]!)];
      else if (it.kind === "spill") [from, to] = [loc(it.ops[0]!), { kind: "stack", slot: slotColour[it.slot!]! }];
      else [from, to] = [loc(it.ops[0]!), loc(it.ops[1]!)];
      if (same(from, to)) continue;
      if (pos === "after" && prog.lastInst.has(it.origin)) throw new RegAllocError(`internal: an edit after the last instruction of a block (#${it.origin})`);
      const reason = to.kind === "stack" ? "spill" : from.kind === "stack" ? "reload" : "constraint";
      if (reason === "spill") stats.spills++;
      if (reason === "reload") stats.reloads++;
      edits.push({ inst: it.origin, pos, from, to, reason });
    }
  }
  return { allocs, edits, numSpillSlots: numSlots, stats };
}

/** {@link allocateIrc} as a {@link RegisterAllocator}. */
export const ircAllocator: RegisterAllocator = (fn, target) => allocateIrc(fn, target);
