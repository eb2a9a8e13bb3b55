/**
 * Machine IR: eBPF instructions over virtual and physical registers, grouped into
 * blocks in layout order. Instruction selection produces it, register allocation
 * rewrites its registers, and emission turns it into encoded `Insn`s.
 *
 * Registers: 0..10 are the physical r0..r10; numbers from {@link FIRST_VREG} up are
 * virtual. ALU instructions are two-address (`dst op= src`): `dst` is both used and
 * defined. Stack accesses name a frame slot (`slot`) instead of r10 plus an offset; the
 * frame is laid out after allocation, when spill slots are known.
 */
import { assertNever, type SourceLocation } from "@luabpf/ir";
import { Reg, type AluBinaryOp, type EndianKind, type JmpCondOp, type SizeName } from "./isa/index.js";

/** Virtual registers are numbered from here up; below are the physical r0..r10. */
export const FIRST_VREG = 16;
/** The read-only frame pointer, r10: never allocated, never a register operand. */
export const FP = Reg.FP;
/** Helper results and the program's return value. */
export const RET_REG = Reg.R0;
/** Helper arguments, in order; clobbered by calls. */
export const ARG_REGS: readonly MReg[] = [Reg.R1, Reg.R2, Reg.R3, Reg.R4, Reg.R5];
/** Registers a helper call (and a legacy packet load) destroys besides its result r0. */
export const CALL_CLOBBERS: readonly MReg[] = ARG_REGS;
/** The context register of legacy packet loads (`ldpkt` reads the packet through r6). */
export const PKT_CTX_REG = Reg.R6;
export type MReg = number;


export const isVirtual = (r: MReg): boolean => r >= FIRST_VREG;

/** A memory operand: a base register plus offset, or a frame slot plus offset. */
export type MAddr = { base: MReg; off: number } | { slot: number; off: number };

/**
 * A machine instruction: one of the kinds below, plus the source location of the IR
 * instruction it was selected for. Instruction selection sets `loc` on everything it
 * emits (phi copies take the location of the branch that leaves the block), register
 * allocation gives its spill, reload and constraint moves the location of the
 * instruction they serve, and emission carries it into the program's line table.
 */
export type MInst = MInstKind & { loc?: SourceLocation | undefined };

type MInstKind =
  /**
   * `dst op= src|imm` (op `mov` is a plain move; a reg-reg 64-bit mov is a copy). With `core`
   * the immediate is the value of that CO-RE relocation (the loader rewrites it; `imm` is 0
   * until the object is packaged): `dst += <field offset>` in one instruction.
   */
  | { k: "alu"; op: AluBinaryOp; w: 32 | 64; dst: MReg; src?: MReg; imm?: number; core?: string }
  | { k: "neg"; w: 32 | 64; dst: MReg }
  | { k: "end"; kind: EndianKind; bits: 16 | 32 | 64; dst: MReg }
  /** dst = sign-extended low `bits` of src (cpu v4). */
  | { k: "movsx"; dst: MReg; src: MReg; bits: 8 | 16 | 32 }
  | { k: "ldx"; size: SizeName; dst: MReg; addr: MAddr }
  | { k: "stx"; size: SizeName; addr: MAddr; src: MReg }
  | { k: "st"; size: SizeName; addr: MAddr; imm: number }
  | { k: "lddw"; dst: MReg; imm: bigint }
  | { k: "ldmap"; dst: MReg; map: string }
  /** dst = the value of CO-RE relocation `core` (a `mov` whose immediate the loader rewrites). */
  | { k: "coreval"; dst: MReg; core: string }
  /** dst = address of frame slot + off. */
  | { k: "frameaddr"; dst: MReg; slot: number; off: number }
  /** Legacy packet load: r0 = packet[index + imm] (uses r6 = ctx, clobbers r1..r5). */
  | { k: "ldpkt"; size: "B" | "H" | "W"; index?: MReg; imm: number }
  /** `lock *(size *)(addr) += src`, or with fetch: src = old value. */
  | { k: "atomic"; fetch: boolean; size: "W" | "DW"; addr: { base: MReg; off: number } | { slot: number; off: number }; src: MReg }
  /**
   * Helper call, or with `callee` a BPF-to-BPF call of another function of the module
   * (BPF_PSEUDO_CALL); arguments already in r1..r{nargs}, result in r0; clobbers r0..r5
   * (r6..r9 survive both kinds: the kernel gives the callee its own registers and frame).
   */
  | { k: "call"; helper: number; nargs: number; callee?: string }
  /** dst = (a op b|imm) ? 1 : 0. dst is written before a and b are dead (early clobber). */
  | { k: "setcc"; op: JmpCondOp; w: 32 | 64; dst: MReg; a: MReg; b?: MReg; imm?: number }
  /**
   * Conditional move: `if (a op b|imm) dst = src`, emitted as `if !(a op b|imm) goto +1;
   * dst = src`. dst is read and written (a two-address form: a `select` is a move of one
   * arm into dst, then this); src is a register or an immediate.
   */
  | { k: "cmov"; op: JmpCondOp; w: 32 | 64; a: MReg; b?: MReg; imm?: number; dst: MReg; src: MSource }
  | { k: "jcc"; op: JmpCondOp; w: 32 | 64; a: MReg; b?: MReg; imm?: number; target: number }
  | { k: "ja"; target: number }
  /** Returns r0. */
  | { k: "exit" };

/** A value moved into a register: another register, or an immediate of a 64-bit or 32-bit `mov`. */
export type MSource = { reg: MReg } | { imm: number; w: 32 | 64 };

export interface MBlock {
  /** Index in layout order (jump targets refer to it). */
  index: number;
  insts: MInst[];
  /** Successor block indices (for liveness). */
  succs: number[];
  /** Loop nesting depth, for spill costs. */
  loopDepth: number;
}

export interface MFrameSlot {
  size: number;
  align: number;
  /** Byte offset below r10 of the slot's start, set by frame layout. */
  offset?: number;
  /** Spill slot created by the register allocator. */
  spill?: boolean;
}

export interface MFunction {
  name: string;
  blocks: MBlock[];
  slots: MFrameSlot[];
  nextVReg: number;
}

export function newVReg(f: MFunction): MReg {
  return f.nextVReg++;
}

/**
 * How {@link visitOperands} shows an instruction's register operands (Cranelift's
 * `OperandVisitor`). Register fields of the instruction are replaced by what `use` and
 * `def` return, so one visit both lists and rewrites them; implicit fixed registers (a
 * call's r1..r5 and r0, `ldpkt`'s r6, `exit`'s r0) are shown too, and what is returned
 * for them is ignored. The frame pointer is never shown: it is not an allocatable operand.
 */
export interface OperandVisitor {
  /** A register read. */
  use(r: MReg): MReg;
  /** A register written; `early`: written before the uses are read, so it must not share their registers. */
  def(r: MReg, early: boolean): MReg;
  /** A physical register destroyed besides the defs. */
  clobber(r: MReg): void;
}

/**
 * Visits the register operands of `i` in a fixed order — every use, then every def, then
 * the clobbers — and writes back the registers the visitor returns (in place). The order
 * is part of the allocator interface: operand `k` of an instruction is the `k`-th
 * register visited. Every visit sees the instruction's original registers; a field that
 * is both read and written (two-address forms) takes what `def` returns.
 */
export function visitOperands(i: MInst, v: OperandVisitor): void {
  switch (i.k) {
    case "alu": {
      // `dst op= src` reads dst (except a plain mov), then writes it: a two-address form,
      // whose one field gets the register the def is given (the allocator ties the two).
      const dst = i.dst;
      if (i.op !== "mov") use(v, dst);
      if (i.src !== undefined) i.src = use(v, i.src);
      i.dst = v.def(dst, false);
      return;
    }
    case "neg":
    case "end": {
      const dst = i.dst;
      use(v, dst);
      i.dst = v.def(dst, false);
      return;
    }
    case "movsx":
      i.src = use(v, i.src);
      i.dst = v.def(i.dst, false);
      return;
    case "ldx":
      visitAddr(v, i.addr);
      i.dst = v.def(i.dst, false);
      return;
    case "stx":
      visitAddr(v, i.addr);
      i.src = use(v, i.src);
      return;
    case "st":
      visitAddr(v, i.addr);
      return;
    case "lddw":
    case "ldmap":
    case "coreval":
    case "frameaddr":
      i.dst = v.def(i.dst, false);
      return;
    case "ldpkt":
      v.use(PKT_CTX_REG);
      if (i.index !== undefined) i.index = use(v, i.index);
      v.def(RET_REG, false);
      for (const r of CALL_CLOBBERS) v.clobber(r);
      return;
    case "atomic": {
      visitAddr(v, i.addr);
      const src = i.src;
      i.src = use(v, src);
      if (i.fetch) i.src = v.def(src, false); // the old value comes back in src
      return;
    }
    case "call":
      for (let k = 0; k < i.nargs && k < ARG_REGS.length; k++) v.use(ARG_REGS[k]!);
      v.def(RET_REG, false);
      for (const r of CALL_CLOBBERS) v.clobber(r);
      return;
    case "setcc":
      i.a = use(v, i.a);
      if (i.b !== undefined) i.b = use(v, i.b);
      i.dst = v.def(i.dst, true);
      return;
    case "cmov": {
      const dst = i.dst;
      i.a = use(v, i.a);
      if (i.b !== undefined) i.b = use(v, i.b);
      if ("reg" in i.src) {
        const r = use(v, i.src.reg);
        if (r !== i.src.reg) i.src = { reg: r };
      }
      use(v, dst);
      i.dst = v.def(dst, false);
      return;
    }
    case "jcc":
      i.a = use(v, i.a);
      if (i.b !== undefined) i.b = use(v, i.b);
      return;
    case "ja":
      return;
    case "exit":
      v.use(RET_REG);
      return;
    default:
      assertNever(i, "machine instruction");
  }
}

/** A register operand read: shown to the visitor unless it is the frame pointer. */
function use(v: OperandVisitor, r: MReg): MReg {
  return r === FP ? r : v.use(r);
}

/** The base register of a memory operand (a frame slot has none). */
function visitAddr(v: OperandVisitor, a: MAddr): void {
  if ("base" in a) a.base = use(v, a.base);
}

/** The registers `i` reads, writes and clobbers, in {@link visitOperands} order (a collecting visit). */
export function operandsOf(i: MInst): { uses: MReg[]; defs: MReg[]; early: boolean; clobbers: MReg[] } {
  const e = collectOperands(i);
  return { uses: e.uses.slice(0, e.nUses), defs: e.defs.slice(0, e.nDefs), early: e.early, clobbers: e.clobbers.slice(0, e.nClobbers) };
}

/**
 * What {@link collectOperands} found: one record reused by every call (read it before the
 * next), the registers in the first `nUses`/`nDefs`/`nClobbers` entries of each list (counts,
 * not array lengths: setting an array's length is a slow call, and this runs per instruction).
 */
export interface CollectedOperands {
  readonly uses: MReg[];
  nUses: number;
  readonly defs: MReg[];
  nDefs: number;
  readonly clobbers: MReg[];
  nClobbers: number;
  early: boolean;
}

const collected: CollectedOperands = { uses: [0, 0, 0, 0, 0, 0, 0, 0], nUses: 0, defs: [0, 0, 0, 0], nDefs: 0, clobbers: [0, 0, 0, 0, 0, 0, 0, 0], nClobbers: 0, early: false };
const collector: OperandVisitor = {
  use: (r) => ((collected.uses[collected.nUses++] = r), r),
  def: (r, early) => ((collected.defs[collected.nDefs++] = r), (collected.early ||= early), r),
  clobber: (r) => void (collected.clobbers[collected.nClobbers++] = r),
};

/**
 * {@link operandsOf} without allocating: the operands of `i` in a record shared by every call,
 * valid until the next (the passes that look at each instruction's operands once, in order).
 */
export function collectOperands(i: MInst): CollectedOperands {
  collected.nUses = 0;
  collected.nDefs = 0;
  collected.nClobbers = 0;
  collected.early = false;
  visitOperands(i, collector);
  return collected;
}

/** The index of `r` among the first `n` entries of `list`, or -1. */
export function indexAmong(list: readonly MReg[], n: number, r: MReg): number {
  for (let k = 0; k < n; k++) if (list[k] === r) return k;
  return -1;
}

/** Is `i` a 64-bit register copy? */
export function isCopy(i: MInst): i is Extract<MInst, { k: "alu" }> & { src: MReg } {
  return i.k === "alu" && i.op === "mov" && i.w === 64 && i.src !== undefined;
}
