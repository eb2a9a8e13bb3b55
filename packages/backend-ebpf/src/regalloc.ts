/**
 * Register allocation of machine IR: an adapter from MIR to the target-independent
 * allocator interface of `@luabpf/passes` (regalloc2-style: operands with constraints,
 * clobbers, copies; see packages/passes/src/regalloc/interface.ts), and back.
 *
 * The eBPF register convention, as the allocator sees it:
 * - r0 holds helper results and the program's return value (precoloured operands);
 * - r1–r5 carry helper arguments and are clobbered by helper calls (and `ldpkt`);
 * - r6–r9 are preserved across calls, so values live across a call land there or spill;
 * - r10 is the read-only frame pointer: never allocated, never an operand.
 * ALU instructions are two-address: `dst op= src` reads and writes dst, described as a
 * def tied (reuse constraint) to the dst use. Spill slots become 8-byte frame slots that
 * `layoutFrame` places below the program's own stack data.
 *
 * The default allocator is iterated register coalescing; functions of more than
 * `LINEAR_SCAN_THRESHOLD` machine instructions get linear scan (`regalloc: "auto"`), and
 * either can be forced (`regalloc: "irc" | "linear"`, `luabpf compile --regalloc=KIND`).
 * When `LUABPF_CHECK_REGALLOC=1` (or `{ check: true }`), the independent checker proves
 * each allocation.
 */
import { InternalError } from "@luabpf/ir";
import {
  allocateIrc,
  allocateLinearScan,
  allocatorFor,
  checkAllocation,
  formatAllocation,
  type Allocation,
  isPacked,
  locationOf,
  PACKED_DEF,
  PACKED_EARLY,
  PACKED_PHYSICAL,
  PACKED_REUSE,
  PackedFunctionWriter,
  type Operand,
  type OperandConstraint,
  type PackedRegAllocFunction,
  type RegAllocFunction,
  type RegAllocInst,
  type RegAllocKind,
  type RegAllocOutput,
  type RegAllocStats as CoreStats,
  type RegAllocTarget,
  type RegisterAllocator,
  withRegAllocScratch,
} from "@luabpf/passes";
import { collectOperands, FIRST_VREG, indexAmong, isCopy, isVirtual, visitOperands, type MFunction, type MInst, type MReg } from "./mir.js";

/** Allocation statistics: spills, reloads, copies removed and coalesced, spill slots, rounds. */
export type RegAllocStats = CoreStats;

/** The eBPF machine as the allocator sees it. */
export const EBPF_TARGET: RegAllocTarget = {
  name: "ebpf",
  numRegs: 11,
  // Call-clobbered registers first: a value not live across a call should not occupy a
  // preserved register that a call-crossing value needs. Interference with call clobbers
  // steers the call-crossing values to r6–r9.
  allocatable: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  regName: (r) => `r${r}`,
};

export interface AllocateOptions {
  /** Run the independent checker (default: environment variable `LUABPF_CHECK_REGALLOC=1`). */
  check?: boolean;
  /** Another allocator behind the same interface (default: the one `regalloc` picks). */
  allocator?: RegisterAllocator;
  /** Which built-in allocator (default `auto`: iterated register coalescing, linear scan for huge functions). */
  regalloc?: RegAllocKind;
}

/** The constraint of a virtual register operand without one (shared: a function has millions of operands). */
const ANY: OperandConstraint = Object.freeze({ kind: "any" });
/** `reuse` constraints by operand index (shared). */
const REUSE: OperandConstraint[] = [];
/** Operands naming a physical register, by kind, early flag and register (shared). */
const PHYSICAL = new Map<number, Operand>();

/** The operand of MIR register `r`; `tiedTo` ties a def to that use (-1: untied). */
function operand(kind: "use" | "def", r: MReg, early: boolean, tiedTo: number): Operand {
  if (!isVirtual(r)) {
    const key = (r << 2) | (kind === "def" ? 2 : 0) | (early ? 1 : 0);
    let o = PHYSICAL.get(key);
    if (!o) PHYSICAL.set(key, (o = Object.freeze(early ? { kind, preg: r, early: true } : { kind, preg: r })));
    return o;
  }
  const constraint = tiedTo >= 0 ? (REUSE[tiedTo] ??= Object.freeze({ kind: "reuse", operand: tiedTo })) : ANY;
  return early ? { kind, vreg: r - FIRST_VREG, constraint, early: true } : { kind, vreg: r - FIRST_VREG, constraint };
}

const NO_CLOBBERS: readonly MReg[] = Object.freeze([]);

/**
 * Describes one MIR instruction through the allocator interface: its operands in
 * {@link visitOperands} order. A def of a register the instruction also reads is tied to
 * (reuses) the first such use: two-address forms (`dst op= src`, `neg`, a fetching atomic)
 * must, and since an instruction's registers are rewritten per virtual register, any other
 * instruction reading and writing one virtual register must keep it in one physical register.
 */
export function describeInst(i: MInst): RegAllocInst {
  const seen = collectOperands(i);
  const { uses, defs, nUses, nDefs } = seen;
  const operands: Operand[] = new Array<Operand>(nUses + nDefs);
  for (let k = 0; k < nUses; k++) operands[k] = operand("use", uses[k]!, false, -1);
  for (let k = 0; k < nDefs; k++) operands[nUses + k] = operand("def", defs[k]!, seen.early, indexAmong(uses, nUses, defs[k]!));
  return { operands, clobbers: seen.nClobbers === 0 ? NO_CLOBBERS : seen.clobbers.slice(0, seen.nClobbers), copy: isCopy(i) };
}

/** `mf` through the allocator interface. */
export function describeFunction(mf: MFunction): RegAllocFunction {
  return {
    numVRegs: Math.max(0, mf.nextVReg - FIRST_VREG),
    blocks: mf.blocks.map((b) => ({ insts: b.insts.map(describeInst), succs: b.succs, loopDepth: b.loopDepth })),
  };
}

/**
 * `mf` through the allocator interface in packed form ({@link describeInst}'s operands,
 * written straight into typed arrays: no object per instruction or operand).
 */
export function packMachineFunction(mf: MFunction): PackedRegAllocFunction {
  let insts = 0;
  for (const b of mf.blocks) insts += b.insts.length;
  const w = new PackedFunctionWriter(insts, 3 * insts + 16);
  for (const b of mf.blocks) {
    w.block(b.succs, b.loopDepth);
    for (const i of b.insts) {
      const seen = collectOperands(i);
      const { uses, defs, nUses, nDefs } = seen;
      for (let k = 0; k < nUses; k++) {
        const r = uses[k]!;
        if (isVirtual(r)) w.operand(0, r - FIRST_VREG);
        else w.operand(PACKED_PHYSICAL, r);
      }
      const early = seen.early ? PACKED_EARLY : 0;
      for (let k = 0; k < nDefs; k++) {
        const r = defs[k]!;
        if (!isVirtual(r)) {
          w.operand(PACKED_DEF | early | PACKED_PHYSICAL, r);
          continue;
        }
        const tiedTo = indexAmong(uses, nUses, r);
        if (tiedTo >= 0) w.operand(PACKED_DEF | early | PACKED_REUSE, r - FIRST_VREG, tiedTo);
        else w.operand(PACKED_DEF | early, r - FIRST_VREG);
      }
      w.inst(seen.nClobbers === 0 ? NO_CLOBBERS : seen.clobbers.slice(0, seen.nClobbers), isCopy(i));
    }
  }
  return w.finish(Math.max(0, mf.nextVReg - FIRST_VREG));
}

/**
 * Allocates physical registers for every virtual register of `mf`, in place (spill slots are
 * added to its frame). The allocator's input and working arrays are scratch (`withRegAllocScratch`).
 */
export function allocateRegisters(mf: MFunction, options: AllocateOptions = {}): RegAllocStats {
  return withRegAllocScratch(() => allocateInScope(mf, options));
}

function allocateInScope(mf: MFunction, options: AllocateOptions): RegAllocStats {
  const check = options.check ?? process.env.LUABPF_CHECK_REGALLOC === "1";
  // The default allocator takes the packed form; another allocator and the checker, the object form.
  const fn = options.allocator || check ? describeFunction(mf) : packMachineFunction(mf);
  let numInsts = 0;
  for (const b of mf.blocks) numInsts += b.insts.length;
  const builtIn = allocatorFor(options.regalloc ?? "auto", numInsts) === "linear" ? allocateLinearScan : allocateIrc;
  let out: RegAllocOutput;
  try {
    out = options.allocator ? options.allocator(fn as RegAllocFunction, EBPF_TARGET) : builtIn(fn, EBPF_TARGET);
  } catch (e) {
    throw new InternalError(`register allocation of ${mf.name}: ${(e as Error).message}`, { cause: e });
  }
  if (check) {
    try {
      checkAllocation(fn as RegAllocFunction, EBPF_TARGET, out);
    } catch (e) {
      throw new InternalError(`register allocation of ${mf.name} failed the checker: ${(e as Error).message}`, { cause: e });
    }
  }
  applyAllocation(mf, out, fn);
  return out.stats;
}

/**
 * Rewrites `mf` with an allocation: registers replaced, copies materialised or dropped, edits
 * inserted. `described` is `mf` as the allocator was given it (describeFunction), if at hand.
 */
export function applyAllocation(mf: MFunction, out: RegAllocOutput, described?: RegAllocFunction | PackedRegAllocFunction): void {
  const packed = described && isPacked(described) ? described : undefined;
  const objects = described && !isPacked(described) ? described : undefined;
  const slotBase = mf.slots.length;
  for (let s = 0; s < out.numSpillSlots; s++) mf.slots.push({ size: 8, align: 8, spill: true });
  const reg = (a: Allocation): MReg => {
    if (a.kind !== "reg") throw new InternalError(`regalloc: expected a register, got ${formatAllocation(a, EBPF_TARGET)}`);
    return a.reg;
  };
  // Moves take the source location of the instruction they serve (a spill that of the
  // def it saves, a reload that of the use it feeds), so the line table stays whole.
  const move = (from: Allocation, to: Allocation, loc: MInst["loc"]): MInst => {
    // `loc` in the literal (undefined when none; readers test `i.loc`) keeps it in-object.
    if (from.kind === "reg" && to.kind === "reg") return { k: "alu", op: "mov", w: 64, dst: to.reg, src: from.reg, loc };
    if (from.kind === "stack" && to.kind === "reg") return { k: "ldx", size: "DW", dst: to.reg, addr: { slot: slotBase + from.slot, off: 0 }, loc };
    if (from.kind === "reg" && to.kind === "stack") return { k: "stx", size: "DW", addr: { slot: slotBase + to.slot, off: 0 }, src: from.reg, loc };
    throw new InternalError("regalloc: stack-to-stack move");
  };
  // The built-in allocators' edits come packed and in program order: they are read with a
  // cursor while the instructions are visited. Another allocator's are grouped by instruction.
  const packedEdits = out.packedEdits;
  const numEdits = packedEdits ? packedEdits.inst.length : 0;
  let cursor = 0;
  const moveOf = (from: number, to: number, loc: MInst["loc"]): MInst => move(locationOf(from), locationOf(to), loc);
  const before = new Map<number, MInst[]>();
  const after = new Map<number, MInst[]>();
  if (!packedEdits && out.edits.length > 0) {
    const numbered = mf.blocks.flatMap((b) => b.insts);
    for (const e of out.edits) {
      const m = e.pos === "before" ? before : after;
      (m.get(e.inst) ?? m.set(e.inst, []).get(e.inst)!).push(move(e.from, e.to, numbered[e.inst]?.loc));
    }
  }
  const edited = !packedEdits && out.edits.length > 0;
  let id = 0;
  // The virtual registers of one instruction and the registers they got (a handful: the first
  // `assigned` entries of two arrays, not a map).
  const fromRegs: MReg[] = [];
  const toRegs: MReg[] = [];
  let assigned = 0;
  // Instruction k's operand locations: packed (the built-in allocators), or objects.
  const packedLocs = out.locations;
  let allocs: readonly Allocation[] = [];
  let first = 0;
  const locAt = (j: number): Allocation => (packedLocs ? locationOf(packedLocs.codes[first + j]!) : allocs[j]!);
  const assign = (vreg: number, j: number): void => {
    const r = vreg + FIRST_VREG;
    const p = reg(locAt(j));
    const at = indexAmong(fromRegs, assigned, r);
    if (at >= 0 && toRegs[at] !== p) throw new InternalError(`regalloc: v${vreg} in two registers in one instruction`);
    if (at < 0) {
      fromRegs[assigned] = r;
      toRegs[assigned++] = p;
    }
  };
  const rewrite = (r: MReg): MReg => {
    const j = indexAmong(fromRegs, assigned, r);
    return j < 0 ? r : toRegs[j]!;
  };
  const ignore = (): void => {};
  const rewriter = { use: rewrite, def: rewrite, clobber: ignore };
  for (let bi = 0; bi < mf.blocks.length; bi++) {
    const b = mf.blocks[bi]!;
    const insts: MInst[] = [];
    for (let ii = 0; ii < b.insts.length; ii++) {
      const inst = b.insts[ii]!;
      const k = id++;
      if (packedEdits) {
        for (; cursor < numEdits && packedEdits.inst[cursor] === k && packedEdits.after[cursor] === 0; cursor++) insts.push(moveOf(packedEdits.from[cursor]!, packedEdits.to[cursor]!, inst.loc));
      }
      const pre = edited ? before.get(k) : undefined;
      if (pre) insts.push(...pre);
      if (packedLocs) first = packedLocs.operandStart[k]!;
      else allocs = out.allocs[k]!;
      if (isCopy(inst)) {
        const src = locAt(0);
        const dst = locAt(1);
        const same = src.kind === dst.kind && (src.kind === "reg" ? src.reg === (dst as { reg: number }).reg : src.slot === (dst as { slot: number }).slot);
        if (!same) insts.push(move(src, dst, inst.loc));
      } else {
        assigned = 0;
        if (packed) {
          const o0 = packed.instOps[k]!;
          for (let j = 0; j < packed.instOps[k + 1]! - o0; j++) if (!(packed.opFlags[o0 + j]! & PACKED_PHYSICAL)) assign(packed.opReg[o0 + j]!, j);
        } else {
          const ops = (objects?.blocks[bi]!.insts[ii] ?? describeInst(inst)).operands;
          ops.forEach((o, j) => {
            if ("vreg" in o) assign(o.vreg, j);
          });
        }
        visitOperands(inst, rewriter);
        insts.push(inst);
      }
      const post = edited ? after.get(k) : undefined;
      if (post) insts.push(...post);
      if (packedEdits) {
        for (; cursor < numEdits && packedEdits.inst[cursor] === k && packedEdits.after[cursor] === 1; cursor++) insts.push(moveOf(packedEdits.from[cursor]!, packedEdits.to[cursor]!, inst.loc));
      }
    }
    b.insts = insts;
  }
  if (cursor !== numEdits) throw new InternalError(`regalloc: edit ${cursor} (at instruction ${packedEdits!.inst[cursor]}) is out of program order`);
}
