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
import type { AluBinaryOp, EndianKind, JmpCondOp, SizeName } from "./isa/index.js";

export const FIRST_VREG = 16;
export const FP = 10;
export type MReg = number;

export const isVirtual = (r: MReg): boolean => r >= FIRST_VREG;

/** A memory operand: a base register plus offset, or a frame slot plus offset. */
export type MAddr = { base: MReg; off: number } | { slot: number; off: number };

export type MInst =
  /** `dst op= src|imm` (op `mov` is a plain move; a reg-reg 64-bit mov is a copy). */
  | { k: "alu"; op: AluBinaryOp; w: 32 | 64; dst: MReg; src?: MReg; imm?: number }
  | { k: "neg"; w: 32 | 64; dst: MReg }
  | { k: "end"; kind: EndianKind; bits: 16 | 32 | 64; dst: MReg }
  /** dst = sign-extended low `bits` of src (cpu v4). */
  | { k: "movsx"; dst: MReg; src: MReg; bits: 8 | 16 | 32 }
  | { k: "ldx"; size: SizeName; dst: MReg; addr: MAddr }
  | { k: "stx"; size: SizeName; addr: MAddr; src: MReg }
  | { k: "st"; size: SizeName; addr: MAddr; imm: number }
  | { k: "lddw"; dst: MReg; imm: bigint }
  | { k: "ldmap"; dst: MReg; map: string }
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
  /** dst = cond != 0 ? t : f (early clobber). */
  | { k: "select"; dst: MReg; cond: MReg; t: MReg; f: MReg }
  | { k: "jcc"; op: JmpCondOp; w: 32 | 64; a: MReg; b?: MReg; imm?: number; target: number }
  | { k: "ja"; target: number }
  /** Returns r0. */
  | { k: "exit" };

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

/** Registers an instruction reads, writes and clobbers. */
export interface RegEffects {
  uses: MReg[];
  defs: MReg[];
  /** Physical registers destroyed (beyond defs). */
  clobbers: MReg[];
  /** Defs must not share a register with uses. */
  earlyClobber: boolean;
  /** A register-to-register copy `defs[0] = uses[0]`. */
  copy: boolean;
}

const CALLER_SAVED = [0, 1, 2, 3, 4, 5];
const addrUses = (a: MAddr): MReg[] => ("base" in a ? [a.base] : []);
const nofp = (rs: MReg[]): MReg[] => rs.filter((r) => r !== FP);

export function regEffects(i: MInst): RegEffects {
  const e = (uses: MReg[], defs: MReg[], clobbers: MReg[] = [], earlyClobber = false, copy = false): RegEffects => ({
    uses: nofp(uses),
    defs,
    clobbers,
    earlyClobber,
    copy,
  });
  switch (i.k) {
    case "alu":
      if (i.op === "mov") return i.src !== undefined ? e([i.src], [i.dst], [], false, i.w === 64) : e([], [i.dst]);
      return e(i.src !== undefined ? [i.dst, i.src] : [i.dst], [i.dst]);
    case "neg":
    case "end":
      return e([i.dst], [i.dst]);
    case "movsx":
      return e([i.src], [i.dst]);
    case "ldx":
      return e(addrUses(i.addr), [i.dst]);
    case "stx":
      return e([...addrUses(i.addr), i.src], []);
    case "st":
      return e(addrUses(i.addr), []);
    case "lddw":
    case "ldmap":
    case "frameaddr":
      return e([], [i.dst]);
    case "ldpkt":
      return e(i.index !== undefined ? [6, i.index] : [6], [0], [1, 2, 3, 4, 5]);
    case "atomic":
      return e([...addrUses(i.addr), i.src], i.fetch ? [i.src] : []);
    case "call":
      return e([1, 2, 3, 4, 5].slice(0, i.nargs), [0], CALLER_SAVED.filter((r) => r !== 0));
    case "setcc":
      return e(i.b !== undefined ? [i.a, i.b] : [i.a], [i.dst], [], true);
    case "select":
      return e([i.cond, i.t, i.f], [i.dst], [], true);
    case "jcc":
      return e(i.b !== undefined ? [i.a, i.b] : [i.a], []);
    case "ja":
      return e([], []);
    case "exit":
      return e([0], []);
  }
}

/** Rewrites every register operand of `i` through `f` (in place). */
export function mapRegs(i: MInst, f: (r: MReg) => MReg): void {
  const g = (r: MReg): MReg => (r === FP ? r : f(r));
  const addr = (a: MAddr): void => {
    if ("base" in a) a.base = g(a.base);
  };
  switch (i.k) {
    case "alu":
      i.dst = g(i.dst);
      if (i.src !== undefined) i.src = g(i.src);
      return;
    case "neg":
    case "end":
    case "lddw":
    case "ldmap":
    case "frameaddr":
      i.dst = g(i.dst);
      return;
    case "movsx":
      i.dst = g(i.dst);
      i.src = g(i.src);
      return;
    case "ldx":
      i.dst = g(i.dst);
      addr(i.addr);
      return;
    case "stx":
      i.src = g(i.src);
      addr(i.addr);
      return;
    case "st":
      addr(i.addr);
      return;
    case "ldpkt":
      if (i.index !== undefined) i.index = g(i.index);
      return;
    case "atomic":
      i.src = g(i.src);
      addr(i.addr);
      return;
    case "setcc":
      i.dst = g(i.dst);
      i.a = g(i.a);
      if (i.b !== undefined) i.b = g(i.b);
      return;
    case "select":
      i.dst = g(i.dst);
      i.cond = g(i.cond);
      i.t = g(i.t);
      i.f = g(i.f);
      return;
    case "jcc":
      i.a = g(i.a);
      if (i.b !== undefined) i.b = g(i.b);
      return;
    case "call":
    case "ja":
    case "exit":
      return;
  }
}

/** Is `i` a 64-bit register copy? */
export function isCopy(i: MInst): i is Extract<MInst, { k: "alu" }> & { src: MReg } {
  return i.k === "alu" && i.op === "mov" && i.w === 64 && i.src !== undefined;
}
