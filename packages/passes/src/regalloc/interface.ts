/**
 * The register-allocation interface: what a target hands an allocator, and what an
 * allocator hands back. It is target-independent and allocator-agnostic, in the spirit of
 * regalloc2's `Function` trait and `Output`: any allocator that consumes a
 * {@link RegAllocFunction} plus a {@link RegAllocTarget} and produces a
 * {@link RegAllocOutput} can be dropped in (see `allocator.ts` for the signature), and the
 * independent checker (`checker.ts`) can prove its result correct.
 *
 * The input is a CFG of blocks (successors, loop depth) of instructions out of SSA form:
 * a virtual register may be defined several times (phis have already become copies).
 * Each instruction lists its register operands:
 *
 * - a use or def of a virtual register, with a constraint: any allocatable register, a
 *   fixed physical register, or (defs only) reuse of the register of another operand (the
 *   tied form of two-address instructions such as eBPF's `dst += src`);
 * - a use or def of a physical register named directly (a precoloured operand: call
 *   arguments and results, the context register at entry);
 *
 * plus the physical registers it clobbers and whether it is a register copy (the
 * allocator may coalesce it away). Early defs are written before the instruction's uses
 * are read, so they may not share a register with any use.
 *
 * The output gives each operand a location (a register; for copies also a spill slot)
 * and a list of edits — moves between registers and spill slots — that the target
 * materialises before or after instructions. Spill slots are 8-byte, numbered densely
 * from 0; the target places them in its frame.
 *
 * Invariants the input must satisfy (the allocator and checker assert them):
 * - control leaves a block only after its last instruction that has operands or
 *   clobbers (instructions after it, e.g. an unconditional jump after a conditional one,
 *   have none), and that instruction defines no register;
 * - a copy has exactly two operands, a use and then a def;
 * - physical registers named by operands or clobbers are below `numRegs`; virtual
 *   registers are below `numVRegs`.
 */

/** A physical register, `0 .. target.numRegs - 1`. */
export type PReg = number;
/** A virtual register, `0 .. fn.numVRegs - 1`. */
export type VReg = number;
/** An instruction, numbered densely across the function in block order. */
export type InstId = number;

/** Where an operand of a virtual register must be. */
export type OperandConstraint =
  /** Any allocatable register. */
  | { kind: "any" }
  /** This physical register (the allocator inserts moves around the instruction). */
  | { kind: "fixed"; reg: PReg }
  /** (defs) The same register as operand `operand` of this instruction, a use: two-address forms. */
  | { kind: "reuse"; operand: number };

/** One register operand of an instruction. */
export type Operand =
  | { kind: "use" | "def"; vreg: VReg; constraint: OperandConstraint; early?: boolean }
  /** A physical register named directly: its value is not the allocator's to move. */
  | { kind: "use" | "def"; preg: PReg; early?: boolean };

export interface RegAllocInst {
  operands: readonly Operand[];
  /** Physical registers whose contents the instruction destroys (beyond its defs). */
  clobbers: readonly PReg[];
  /** A register copy `operands[1] = operands[0]` (use, then def). */
  copy: boolean;
}

export interface RegAllocBlock {
  insts: readonly RegAllocInst[];
  succs: readonly number[];
  /** Loop nesting depth (0 outside loops): spill costs weigh by 10^depth. */
  loopDepth: number;
}

/** The function to allocate. Block 0 is the entry; registers hold their incoming values there. */
export interface RegAllocFunction {
  blocks: readonly RegAllocBlock[];
  numVRegs: number;
}

/** What an allocator needs to know about the machine (one register class). */
export interface RegAllocTarget {
  name: string;
  /** Physical registers are `0 .. numRegs - 1` (allocatable or not). */
  numRegs: number;
  /** Registers the allocator may assign, in order of preference. */
  allocatable: readonly PReg[];
  /** Register names for messages. */
  regName?(r: PReg): string;
}

/** Where a value lives: a register or a spill slot. */
export type Allocation = { kind: "reg"; reg: PReg } | { kind: "stack"; slot: number };

/** A move the target materialises: reg→reg copy, reg→stack spill, stack→reg reload. */
export interface Edit {
  /** The instruction it is attached to, and on which side. */
  inst: InstId;
  pos: "before" | "after";
  from: Allocation;
  to: Allocation;
  /** Why it exists (for statistics and listings). */
  reason: "spill" | "reload" | "constraint";
}

export interface RegAllocStats {
  /** Spill stores inserted (edits and copies turned into stores). */
  spills: number;
  /** Reloads inserted (edits and copies turned into loads). */
  reloads: number;
  /** Input copies whose source and destination got the same location (the target drops them). */
  copiesRemoved: number;
  /** Copies merged by the coalescer (some may be the allocator's own constraint moves). */
  copiesCoalesced: number;
  /** Virtual registers that were spilled. */
  spilledVRegs: number;
  /** Spill slots after slot sharing. */
  spillSlots: number;
  /** Colouring rounds (1 + rounds restarted after spilling). */
  rounds: number;
}

export interface RegAllocOutput {
  /**
   * Per instruction, per operand: its location (a stack slot only for copies). When
   * {@link RegAllocOutput.locations} is given, built from it on first read (a
   * million-instruction function would otherwise hold a million arrays).
   */
  allocs: Allocation[][];
  /** The same locations packed (the built-in allocators give them): see {@link PackedLocations}. */
  locations?: PackedLocations;
  /**
   * Edits in program order (for one instruction and side, in the order they run). When
   * {@link RegAllocOutput.packedEdits} is given, built from it on first read.
   */
  edits: Edit[];
  /** The same edits packed (the built-in allocators give them): see {@link PackedEdits}. */
  packedEdits?: PackedEdits;
  // (The built-in allocators' `allocs` and `edits` are getters of the output's class: a spread
  // or `structuredClone` of the output does not carry them; read them to copy them.)
  numSpillSlots: number;
  stats: RegAllocStats;
}

/** Allocators have this shape. */
export type RegisterAllocator = (fn: RegAllocFunction, target: RegAllocTarget) => RegAllocOutput;

/**
 * Operand locations as typed arrays: operand j of instruction i is at
 * `codes[operandStart[i] + j]`, a register r as r, spill slot s as `-1 - s`
 * ({@link locationOf} decodes one).
 */
export interface PackedLocations {
  /** Per instruction, its first operand's index in `codes` (length: instructions + 1). */
  readonly operandStart: Int32Array;
  readonly codes: Int32Array;
}

/**
 * Edits as typed arrays, in program order: edit e is attached to instruction `inst[e]`,
 * before it (`after[e]` 0) or after it (1), and moves `from[e]` to `to[e]` (locations as
 * {@link PackedLocations} codes). Its reason follows from the locations: a spill when `to`
 * is a slot, a reload when `from` is, else a constraint.
 */
export interface PackedEdits {
  readonly inst: Int32Array;
  readonly after: Uint8Array;
  readonly from: Int32Array;
  readonly to: Int32Array;
}

/** Shared, immutable locations (an output names each register and slot once). */
const REG_LOCATIONS: Allocation[] = [];
const SLOT_LOCATIONS: Allocation[] = [];
/** The location of register r (one shared frozen object per register). */
export const regLocation = (r: PReg): Allocation => (REG_LOCATIONS[r] ??= Object.freeze({ kind: "reg", reg: r }));
/** The location of spill slot s (one shared frozen object per slot). */
export const slotLocation = (s: number): Allocation => (SLOT_LOCATIONS[s] ??= Object.freeze({ kind: "stack", slot: s }));
/** The location a {@link PackedLocations} code stands for. */
export const locationOf = (code: number): Allocation => (code >= 0 ? regLocation(code) : slotLocation(-1 - code));

/** A helper for messages. */
export function formatAllocation(a: Allocation, target: RegAllocTarget): string {
  return a.kind === "reg" ? (target.regName?.(a.reg) ?? `p${a.reg}`) : `slot${a.slot}`;
}

/** Operand flags of a {@link PackedRegAllocFunction}. */
export const PACKED_DEF = 1;
/** An early def (written before the instruction's uses are read). */
export const PACKED_EARLY = 2;
/** A physical register named directly (`opReg` is the register). */
export const PACKED_PHYSICAL = 4;
/** A virtual register fixed to physical register `opArg`. */
export const PACKED_FIXED = 8;
/** A def reusing the register of operand `opArg` of its instruction. */
export const PACKED_REUSE = 16;

/**
 * The function to allocate in packed form: the same content as a {@link RegAllocFunction},
 * instructions numbered densely in block order, operands as parallel typed arrays instead
 * of an object per instruction and per operand (a million-instruction function is a few
 * arrays). A target builds it with `PackedFunctionWriter`; `packFunction` converts the
 * object form.
 */
export interface PackedRegAllocFunction {
  readonly packed: true;
  readonly numVRegs: number;
  readonly blocks: readonly { readonly numInsts: number; readonly succs: readonly number[]; readonly loopDepth: number }[];
  /** Operands of instruction i: `instOps[i] .. instOps[i+1]-1` (length: instructions + 1). */
  readonly instOps: Int32Array;
  /** A register copy (`1`), as {@link RegAllocInst.copy}. */
  readonly instCopy: Uint8Array;
  /** Clobbered physical registers of each instruction. */
  readonly clobbers: readonly (readonly PReg[])[];
  /** Per operand: `PACKED_*` flags. */
  readonly opFlags: Uint8Array;
  /** Per operand: the virtual register, or the physical one with `PACKED_PHYSICAL`. */
  readonly opReg: Int32Array;
  /** Per operand: the fixed register (`PACKED_FIXED`) or the reused operand (`PACKED_REUSE`), else -1. */
  readonly opArg: Int32Array;
}
