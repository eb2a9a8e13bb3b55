/**
 * The allocators behind the {@link RegisterAllocator} interface: lower constraints
 * (`program.ts`), colour — by iterated register coalescing (`irc.ts`) or, for huge
 * functions, by linear scan (`linear-scan.ts`) — and while nodes spill, rewrite them to
 * spill slots and colour again (Appel's "RewriteProgram" loop); then share spill slots
 * (`spill-slots.ts`) and read the result off as operand allocations plus edits.
 */
import { LuabpfError } from "@luabpf/platform/errors";
import { locationOf, type Allocation, type Edit, type PackedEdits, type PackedLocations, type PackedRegAllocFunction, type RegAllocFunction, type RegAllocOutput, type RegAllocStats, type RegAllocTarget, type RegisterAllocator } from "./interface.js";
import { colourGraph, type ColouringResult } from "./irc.js";
import { colourLinearScan } from "./linear-scan.js";
import { ITEM_INST, ITEM_RELOAD, ITEM_SPILL, POS_AFTER, buildProgram, rewriteSpills, type Program } from "./program.js";
import { colourSpillSlots } from "./spill-slots.js";
import { int32s, withScratch } from "./scratch.js";
import { IntVec } from "./structures.js";

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

/**
 * Which allocator a compile uses (`luabpf compile --regalloc=KIND`, as llc's `-regalloc=`):
 * `irc` (iterated register coalescing), `linear` (linear scan), or `auto` — IRC up to
 * {@link LINEAR_SCAN_THRESHOLD} machine instructions per function, linear scan above.
 */
export type RegAllocKind = "auto" | "irc" | "linear";

/** The values of {@link RegAllocKind}, in the order `--help` lists them. */
export const REGALLOC_KINDS: readonly RegAllocKind[] = ["auto", "irc", "linear"];

/**
 * Under `auto`, a function of more machine instructions than this is allocated by linear
 * scan: graph colouring's time there is seconds per round (docs/performance.md §3), and
 * every ordinary program is far below it (the examples' largest function has 115).
 */
export const LINEAR_SCAN_THRESHOLD = 50_000;

/** The allocator `kind` picks for a function of `numInsts` machine instructions. */
export function allocatorFor(kind: RegAllocKind, numInsts: number): "irc" | "linear" {
  if (kind === "auto") return numInsts > LINEAR_SCAN_THRESHOLD ? "linear" : "irc";
  return kind;
}


/** Iterated register coalescing (George & Appel 1996) with spilling and spill-slot sharing; takes the input in object or packed form. */
export function allocateIrc(fn: RegAllocFunction | PackedRegAllocFunction, target: RegAllocTarget, options: IrcOptions = {}): RegAllocOutput {
  return allocateWith(colourGraph, fn, target, options);
}

/**
 * Linear-scan allocation (Poletto & Sarkar 1999) over live-interval hulls, with the same
 * constraint lowering, spill code and spill-slot sharing as {@link allocateIrc}: no
 * interference graph, so its cost does not grow with the number of simultaneously live
 * values; for huge functions, where graph colouring's rounds cost seconds. Its code is
 * larger (no coalescing, whole intervals spilled). Takes the input in object or packed form.
 */
export function allocateLinearScan(fn: RegAllocFunction | PackedRegAllocFunction, target: RegAllocTarget, options: IrcOptions = {}): RegAllocOutput {
  return allocateWith(colourLinearScan, fn, target, options);
}

/**
 * The spill loop around one colouring method, then spill-slot sharing and the output; the
 * working arrays are scratch (`scratch.ts`), the output's arrays its own.
 */
function allocateWith(
  colourProgram: (prog: Program, target: RegAllocTarget) => ColouringResult,
  fn: RegAllocFunction | PackedRegAllocFunction,
  target: RegAllocTarget,
  options: IrcOptions,
): RegAllocOutput {
  return withScratch(() => allocateInScope(colourProgram, fn, target, options));
}

function allocateInScope(
  colourProgram: (prog: Program, target: RegAllocTarget) => ColouringResult,
  fn: RegAllocFunction | PackedRegAllocFunction,
  target: RegAllocTarget,
  options: IrcOptions,
): RegAllocOutput {
  if (target.allocatable.length === 0) throw new RegAllocError(`target ${target.name} has no allocatable registers`);
  const prog = buildProgram(fn, target);
  const maxRounds = options.maxRounds ?? 40;
  const stats: RegAllocStats = { spills: 0, reloads: 0, copiesRemoved: 0, copiesCoalesced: 0, spilledVRegs: 0, spillSlots: 0, rounds: 0 };
  const vregEnd = prog.firstVirtual + fn.numVRegs;
  let colour: Int32Array;
  for (;;) {
    stats.rounds++;
    if (stats.rounds > maxRounds) throw new RegAllocError(`register allocation does not converge after ${maxRounds} rounds`);
    const res = colourProgram(prog, target);
    if (res.spilled.length === 0) {
      colour = res.colour;
      stats.copiesCoalesced = res.coalesced;
      break;
    }
    const slotOf = int32s(prog.numNodes, -1);
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
  // Edits as four parallel vectors (an object per edit is garbage at a million instructions).
  const editInst = new IntVec(64);
  const editAfter = new IntVec(64);
  const editFrom = new IntVec(64);
  const editTo = new IntVec(64);
  const { itemOps, opNode, opSlot } = prog;
  /** Operand o's location as a {@link PackedLocations} code. */
  const code = (o: number): number => {
    const s = opSlot[o]!;
    if (s >= 0) return -1 - slotColour[s]!;
    const c = colour[opNode[o]!]!;
    if (c < 0) throw new RegAllocError(`internal: node ${opNode[o]} has no colour`);
    return c;
  };
  // The input instructions' operands are their items' (same order): number them.
  const operandStart = new Int32Array(numInsts + 1);
  for (let i = 0; i < prog.numItems; i++) if (prog.itemKind[i] === ITEM_INST) operandStart[prog.itemOrigin[i]! + 1] = itemOps[i + 1]! - itemOps[i]!;
  for (let k = 0; k < numInsts; k++) operandStart[k + 1]! += operandStart[k]!;
  const codes = new Int32Array(operandStart[numInsts]!);
  for (let i = 0; i < prog.numItems; i++) {
    const kind = prog.itemKind[i]!;
    const origin = prog.itemOrigin[i]!;
    const o0 = itemOps[i]!;
    if (kind === ITEM_INST) {
      const at = operandStart[origin]!;
      for (let o = o0; o < itemOps[i + 1]!; o++) codes[at + o - o0] = code(o);
      if (prog.itemCopy[i]) {
        if (codes[at] === codes[at + 1]) stats.copiesRemoved++;
        else if (codes[at + 1]! < 0) stats.spills++;
        else if (codes[at]! < 0) stats.reloads++;
      }
      continue;
    }
    // Items around an instruction are before it (POS_BEFORE) or after it (POS_AFTER).
    const after = prog.itemPos[i] === POS_AFTER;
    // (No array destructuring: an array per item at a million items.)
    const from = kind === ITEM_RELOAD ? -1 - slotColour[prog.itemSlot[i]!]! : code(o0);
    const to = kind === ITEM_RELOAD ? code(o0) : kind === ITEM_SPILL ? -1 - slotColour[prog.itemSlot[i]!]! : code(o0 + 1);
    if (from === to) continue;
    if (after && prog.lastInst[origin]) throw new RegAllocError(`internal: an edit after the last instruction of a block (#${origin})`);
    if (to < 0) stats.spills++;
    else if (from < 0) stats.reloads++;
    editInst.push(origin);
    editAfter.push(after ? 1 : 0);
    editFrom.push(from);
    editTo.push(to);
  }
  const packedEdits: PackedEdits = { inst: editInst.toArray(), after: Uint8Array.from(editAfter.view()), from: editFrom.toArray(), to: editTo.toArray() };
  return withAllocs({ numSpillSlots: numSlots, stats, locations: { operandStart, codes }, packedEdits });
}

/**
 * `out` with `allocs` and `edits` built from their packed forms on first read: getters of a
 * class (inherited, so a spread of the output does not copy them). An object literal with
 * getters costs ~5 µs to make in V8 (its accessors are defined at run time), a class
 * instance ~0.1 µs: that was ~5 % of a warm allocation of an example's function.
 */
function withAllocs(out: Omit<RegAllocOutput, "allocs" | "edits"> & { locations: PackedLocations; packedEdits: PackedEdits }): RegAllocOutput {
  return new PackedOutput(out.numSpillSlots, out.stats, out.locations, out.packedEdits);
}

class PackedOutput implements RegAllocOutput {
  #allocs: Allocation[][] | undefined;
  #edits: Edit[] | undefined;
  constructor(
    readonly numSpillSlots: number,
    readonly stats: RegAllocStats,
    readonly locations: PackedLocations,
    readonly packedEdits: PackedEdits,
  ) {}
  get allocs(): Allocation[][] {
    const { operandStart, codes } = this.locations;
    return (this.#allocs ??= Array.from({ length: operandStart.length - 1 }, (_, k) => {
      const a: Allocation[] = [];
      for (let c = operandStart[k]!; c < operandStart[k + 1]!; c++) a.push(locationOf(codes[c]!));
      return a;
    }));
  }
  get edits(): Edit[] {
    const { inst, after, from, to } = this.packedEdits;
    return (this.#edits ??= Array.from({ length: inst.length }, (_, e): Edit => ({
      inst: inst[e]!,
      pos: after[e] ? "after" : "before",
      from: locationOf(from[e]!),
      to: locationOf(to[e]!),
      reason: to[e]! < 0 ? "spill" : from[e]! < 0 ? "reload" : "constraint",
    })));
  }
}

/** {@link allocateIrc} as a {@link RegisterAllocator}. */
export const ircAllocator: RegisterAllocator = (fn, target) => allocateIrc(fn, target);

/** {@link allocateLinearScan} as a {@link RegisterAllocator}. */
export const linearScanAllocator: RegisterAllocator = (fn, target) => allocateLinearScan(fn, target);
