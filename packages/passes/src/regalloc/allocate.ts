/**
 * The iterated-register-coalescing allocator behind the {@link RegisterAllocator}
 * interface: lower constraints (`program.ts`), colour (`irc.ts`), and while nodes spill,
 * rewrite them to spill slots and colour again (Appel's "RewriteProgram" loop); then
 * share spill slots (`spill-slots.ts`) and read the result off as operand allocations
 * plus edits.
 */
import { LuabpfError } from "@luabpf/platform/errors";
import type { Allocation, Edit, PackedRegAllocFunction, RegAllocFunction, RegAllocOutput, RegAllocStats, RegAllocTarget, RegisterAllocator } from "./interface.js";
import { colourGraph } from "./irc.js";
import { ITEM_INST, ITEM_RELOAD, ITEM_SPILL, POS_AFTER, POS_INST, buildProgram, rewriteSpills } from "./program.js";
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

/** Shared, immutable locations (the output names each register and slot once). */
const REG_LOCATIONS: Allocation[] = [];
const SLOT_LOCATIONS: Allocation[] = [];
const regLocation = (r: number): Allocation => (REG_LOCATIONS[r] ??= Object.freeze({ kind: "reg", reg: r }));
const slotLocation = (s: number): Allocation => (SLOT_LOCATIONS[s] ??= Object.freeze({ kind: "stack", slot: s }));

/** Iterated register coalescing (George & Appel 1996) with spilling and spill-slot sharing; takes the input in object or packed form. */
export function allocateIrc(fn: RegAllocFunction | PackedRegAllocFunction, target: RegAllocTarget, options: IrcOptions = {}): RegAllocOutput {
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
    const slotOf = new Int32Array(prog.numNodes).fill(-1);
    for (const { members } of res.spilled) {
      const slot = prog.numSlots++;
      for (const m of members) {
        if (prog.noSpill[m]) {
          throw new RegAllocError(
            `too many values are live at once for the ${target.allocatable.length} registers of ${target.name} (a spill reload could not get a register)`,
          );
        }
        slotOf[m] = slot;
        if (m >= prog.firstVirtual && m < vregEnd) stats.spilledVRegs++;
      }
    }
    rewriteSpills(prog, slotOf);
  }

  const { slotColour, numSlots } = colourSpillSlots(prog);
  stats.spillSlots = numSlots;
  const numInsts = prog.clobbers.length;
  const allocs: Allocation[][] = new Array(numInsts);
  const edits: Edit[] = [];
  const { itemOps, opNode, opSlot } = prog;
  const loc = (o: number): Allocation => {
    const s = opSlot[o]!;
    if (s >= 0) return slotLocation(slotColour[s]!);
    const c = colour[opNode[o]!]!;
    if (c < 0) throw new RegAllocError(`internal: node ${opNode[o]} has no colour`);
    return regLocation(c);
  };
  for (let i = 0; i < prog.numItems; i++) {
    const kind = prog.itemKind[i]!;
    const origin = prog.itemOrigin[i]!;
    const o0 = itemOps[i]!;
    if (kind === ITEM_INST) {
      const a: Allocation[] = new Array(itemOps[i + 1]! - o0);
      for (let o = o0; o < itemOps[i + 1]!; o++) a[o - o0] = loc(o);
      allocs[origin] = a;
      if (prog.itemCopy[i]) {
        if (a[0] === a[1]) stats.copiesRemoved++;
        else if (a[1]!.kind === "stack") stats.spills++;
        else if (a[0]!.kind === "stack") stats.reloads++;
      }
      continue;
    }
    const p = prog.itemPos[i]!;
    const pos = p === POS_INST ? "before" : p === POS_AFTER ? "after" : "before";
    let from: Allocation;
    let to: Allocation;
    if (kind === ITEM_RELOAD) [from, to] = [slotLocation(slotColour[prog.itemSlot[i]!]!), loc(o0)];
    else if (kind === ITEM_SPILL) [from, to] = [loc(o0), slotLocation(slotColour[prog.itemSlot[i]!]!)];
    else [from, to] = [loc(o0), loc(o0 + 1)];
    if (from === to) continue;
    if (pos === "after" && prog.lastInst[origin]) throw new RegAllocError(`internal: an edit after the last instruction of a block (#${origin})`);
    const reason = to.kind === "stack" ? "spill" : from.kind === "stack" ? "reload" : "constraint";
    if (reason === "spill") stats.spills++;
    if (reason === "reload") stats.reloads++;
    edits.push({ inst: origin, pos, from, to, reason });
  }
  return { allocs, edits, numSpillSlots: numSlots, stats };
}

/** {@link allocateIrc} as a {@link RegisterAllocator}. */
export const ircAllocator: RegisterAllocator = (fn, target) => allocateIrc(fn, target);
