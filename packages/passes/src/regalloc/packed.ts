/**
 * The packed form of the allocator's input (interface.ts {@link PackedRegAllocFunction}):
 * a writer that a target fills one instruction and operand at a time without allocating
 * objects, and the conversion from the object form. Linear in the operands.
 */
import {
  PACKED_DEF,
  PACKED_EARLY,
  PACKED_FIXED,
  PACKED_PHYSICAL,
  PACKED_REUSE,
  type PackedRegAllocFunction,
  type PReg,
  type RegAllocFunction,
} from "./interface.js";
import { IntVec } from "./structures.js";
import { uint8s } from "./scratch.js";

const NO_CLOBBERS: readonly PReg[] = Object.freeze([]);

/** Builds a {@link PackedRegAllocFunction}: `block`, then per instruction its operands and `inst`. */
export class PackedFunctionWriter {
  private readonly blocks: { numInsts: number; succs: readonly number[]; loopDepth: number }[] = [];
  private readonly instOps: IntVec;
  private readonly instCopy: IntVec;
  private readonly clobbers: (readonly PReg[])[] = [];
  private readonly opFlags: IntVec;
  private readonly opReg: IntVec;
  private readonly opArg: IntVec;

  /** Sized for about `insts` instructions with `ops` operands (estimates: the arrays grow past them). */
  constructor(insts = 1024, ops = 2048) {
    this.instOps = new IntVec(insts + 1);
    this.instCopy = new IntVec(insts);
    this.opFlags = new IntVec(ops);
    this.opReg = new IntVec(ops);
    this.opArg = new IntVec(ops);
  }

  /** Starts a block (its instructions follow). */
  block(succs: readonly number[], loopDepth: number): void {
    this.blocks.push({ numInsts: 0, succs, loopDepth });
  }
  /** An operand of the instruction being written: `PACKED_*` flags, register, fixed register or reused operand (-1: none). */
  operand(flags: number, reg: number, arg = -1): void {
    this.opFlags.push(flags);
    this.opReg.push(reg);
    this.opArg.push(arg);
  }
  /** Ends the instruction whose operands were just written. */
  inst(clobbers: readonly PReg[], copy: boolean): void {
    this.instOps.push(this.opStart);
    this.opStart = this.opFlags.length;
    this.instCopy.push(copy ? 1 : 0);
    this.clobbers.push(clobbers.length === 0 ? NO_CLOBBERS : clobbers);
    this.blocks[this.blocks.length - 1]!.numInsts++;
  }
  private opStart = 0;

  finish(numVRegs: number): PackedRegAllocFunction {
    this.instOps.push(this.opFlags.length);
    const instOps = this.instOps.view();
    return {
      packed: true,
      numVRegs,
      blocks: this.blocks,
      instOps,
      instCopy: bytesOf(this.instCopy),
      clobbers: this.clobbers,
      opFlags: bytesOf(this.opFlags),
      opReg: this.opReg.view(),
      opArg: this.opArg.view(),
    };
  }
}

/** The object form of the input, packed (the same function). */
export function packFunction(fn: RegAllocFunction): PackedRegAllocFunction {
  let insts = 0;
  let ops = 0;
  for (const b of fn.blocks) for (const i of b.insts) (insts++, (ops += i.operands.length));
  const w = new PackedFunctionWriter(insts, ops);
  for (const b of fn.blocks) {
    w.block(b.succs, b.loopDepth);
    for (const inst of b.insts) {
      for (const o of inst.operands) {
        const early = o.early ? PACKED_EARLY : 0;
        const def = o.kind === "def" ? PACKED_DEF : 0;
        if ("preg" in o) w.operand(def | early | PACKED_PHYSICAL, o.preg);
        else if (o.constraint.kind === "fixed") w.operand(def | early | PACKED_FIXED, o.vreg, o.constraint.reg);
        else if (o.constraint.kind === "reuse") w.operand(def | early | PACKED_REUSE, o.vreg, o.constraint.operand);
        else w.operand(def | early, o.vreg);
      }
      w.inst(inst.clobbers, inst.copy);
    }
  }
  return w.finish(fn.numVRegs);
}

/** Is `fn` the packed form? */
export function isPacked(fn: RegAllocFunction | PackedRegAllocFunction): fn is PackedRegAllocFunction {
  return (fn as PackedRegAllocFunction).packed === true;
}

/** The entries of `v` as bytes. */
function bytesOf(v: IntVec): Uint8Array {
  const out = uint8s(v.length);
  out.set(v.view());
  return out;
}
