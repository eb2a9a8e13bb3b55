/**
 * Instruction selection: SSA IR → machine IR over virtual registers.
 *
 * A tree-less, one-instruction-at-a-time selector with a few folds that matter for
 * eBPF code size: immediates in ALU/jump/store forms, compare+branch fusion, stack and
 * map addresses rematerialised at their uses, alloca-based addresses folded into
 * r10-relative accesses, byte-swapped halves swapped whole and adjacent packet loads
 * combined (combine.ts). Machine blocks follow the layout of `leave-ssa.ts` (IR blocks
 * plus edge blocks for critical edges into phis); every phi becomes a virtual register
 * written by a sequentialised parallel copy where control leaves each predecessor.
 * The IR is only read.
 *
 * Register convention for narrow integers: a value of type iN (N < 64) is held
 * zero-extended in its 64-bit register. i32 arithmetic uses ALU32 (which zeroes the upper
 * half for free); i8/i16 results of operations that can carry out are masked.
 *
 * Target CPU (`-mcpu=vN`, LLVM's names; v3 by default, as clang): instructions newer than
 * the target are replaced by older sequences — v4's sign-extending move by a shift pair,
 * its signed division and remainder by unsigned ones on absolute values with the signs
 * fixed up, its unconditional byte swap by `be` (a swap on little-endian eBPF); v3's
 * 32-bit jumps by 64-bit jumps on extended operands; v2's `<`/`<=` jumps by `>`/`>=` with
 * the operands swapped. What has no older form (v3's atomic fetch-and-add) is a located
 * compile error. Emission checks every instruction against the target's version.
 */
import {
  assertNever,
  CompileError,
  InternalError,
  isConstant,
  isInstruction,
  type CompareOpcode,
  type Constant,
  type Function as IrFunction,
  type Instruction,
  type LoopInfo,
  type SourceLocation,
  type Type,
  type Value,
} from "@luabpf/ir";
import { helperResultMax } from "@luabpf/platform";
import { INVERSE_JUMPS, JMP_OPS, SWAPPED_JUMPS, type AluBinaryOp, type CpuVersion, type JmpCondOp, type SizeName } from "./isa/index.js";
import { findCombines } from "./combine.js";
import { BlockLayout, sequentializeCopies } from "./leave-ssa.js";
import { ARG_REGS, FIRST_VREG, newVReg, PKT_CTX_REG, RET_REG, type MAddr, type MBlock, type MFunction, type MInst, type MReg, type MSource } from "./mir.js";

const JCC: Record<CompareOpcode, JmpCondOp> = {
  eq: "jeq", ne: "jne", ult: "jlt", ule: "jle", ugt: "jgt", uge: "jge", slt: "jslt", sle: "jsle", sgt: "jsgt", sge: "jsge",
};
const ALU: Partial<Record<string, AluBinaryOp>> = {
  add: "add", sub: "sub", mul: "mul", udiv: "div", sdiv: "sdiv", urem: "mod", srem: "smod",
  and: "and", or: "or", xor: "xor", shl: "lsh", lshr: "rsh", ashr: "arsh",
};
const SIGNED_CMP = new Set<CompareOpcode>(["slt", "sle", "sgt", "sge"]);
/**
 * 64-bit operations whose right operand may be a CO-RE value in the immediate (the front
 * end's field offsets and bitfield shifts; a division is left out: a relocated 0 in an
 * immediate is refused by the verifier, where a register divisor of 0 gives 0).
 */
const CORE_FOLDS = new Set<string>(["add", "shl", "lshr", "ashr"]);

/** The target CPU when none is given: v3, as clang. */
export const DEFAULT_CPU: CpuVersion = 3;

/** Options of {@link selectFunction}. */
export interface SelectOptions {
  /** The eBPF ISA version to generate code for (`-mcpu=vN`); default {@link DEFAULT_CPU}. */
  cpu?: CpuVersion;
}

const sizeOf = (bytes: number): SizeName => {
  switch (bytes) {
    case 1:
      return "B";
    case 2:
      return "H";
    case 4:
      return "W";
    case 8:
      return "DW";
  }
  throw new InternalError(`no access size of ${bytes} bytes`);
};
/**
 * Bytes a `load` of `type` reads. A packet pointer is loaded from the context, where it is
 * a 32-bit field (`__u32 data`, `data_end` of `__sk_buff` and `xdp_md`): the program reads
 * 4 bytes and the verifier rewrites the access into a full pointer load, as clang's code does.
 */
const loadedBytes = (type: Type): number => (type.kind === "ptr" && (type.region === "packet" || type.region === "packet_end") ? 4 : type.size);
const bitsOf = (v: Value): number => (v.type.kind === "int" ? v.type.bits : 64);
const fitsI32 = (v: bigint): boolean => v >= -0x80000000n && v <= 0x7fffffffn;
/** The constant's bits as the register holds them (zero-extended from its width). */
const regBits = (c: Constant): bigint => BigInt.asUintN(bitsOf(c), c.value);

/** A compare lowered to eBPF: jump condition, width, and operands (a register and a register or immediate). */
interface LoweredCompare {
  op: JmpCondOp;
  w: 32 | 64;
  a: MReg;
  b?: MReg;
  imm?: number;
}

/**
 * A stack address as an alloca and a constant offset into it: the alloca itself, or a
 * `ptradd` of one by a constant (nested); undefined for any other value.
 */
function frameAddress(v: Value): { alloca: Instruction; off: number } | undefined {
  let off = 0n;
  while (isInstruction(v, "ptradd") && isConstant(v.operands[1]!)) {
    off += BigInt.asIntN(64, (v.operands[1] as Constant).value);
    v = v.operands[0]!;
  }
  if (!isInstruction(v, "alloca") || !fitsI32(off)) return undefined;
  return { alloca: v, off: Number(off) };
}

/**
 * Constants, stack addresses (an alloca plus a constant offset: `r = r10; r += off`), map
 * addresses and CO-RE values are recomputed at each use, not kept in registers.
 */
function isRematerialisable(v: Value): boolean {
  return isConstant(v) || frameAddress(v) !== undefined || isInstruction(v, "mapref") || isInstruction(v, "coreval");
}

/** Bits needed for the unsigned value `u` (0 for 0). */
const bitLength = (u: bigint): number => u.toString(2).length - (u === 0n ? 1 : 0);
/** The number of consecutive one bits of `u` from bit 0 (`0xffff` → 16). */
const trailingOnes = (u: bigint): number => {
  let n = 0;
  while (u & 1n) {
    u >>= 1n;
    n++;
  }
  return n;
};

/**
 * The width from which a value is known to be zero-extended in its register (64 when
 * nothing is known): a small known-bits walk over the operands (`depth` levels) under the
 * register convention that an iN value is held zero-extended from N. Loads and packet loads
 * of N bytes, zext, trunc, a mask `and K`, shifts by a constant, `or`/`xor`/`add`/`mul` of
 * narrower values, compares (0 or 1), selects, and helpers whose result is bounded.
 * Instruction selection uses it to drop the `w = w` of a trunc to i32, the mask of a
 * narrower trunc and a low-mask `and` when the bits they clear are zero already (clang's
 * known-bits for the same).
 */
function zeroExtendedFrom(v: Value, depth = 4): number {
  const bits = bitsOf(v);
  if (isConstant(v)) return Math.min(bits, bitLength(regBits(v)));
  if (!isInstruction(v) || depth === 0) return bits;
  const from = (x: Value): number => zeroExtendedFrom(x, depth - 1);
  switch (v.opcode) {
    case "load":
    case "pktload":
      return v.type.kind === "int" ? Math.min(bits, v.type.size * 8) : bits;
    case "zext":
    case "trunc":
      return Math.min(bits, from(v.operands[0]!));
    case "and":
      return Math.min(from(v.operands[0]!), from(v.operands[1]!));
    case "or":
    case "xor":
      return Math.max(from(v.operands[0]!), from(v.operands[1]!));
    case "lshr": {
      const k = v.operands[1]!;
      return isConstant(k) && k.value >= 0n && k.value < BigInt(bits) ? Math.max(0, from(v.operands[0]!) - Number(k.value)) : from(v.operands[0]!);
    }
    case "shl": {
      const k = v.operands[1]!;
      return isConstant(k) && k.value >= 0n && k.value < BigInt(bits) ? Math.min(bits, from(v.operands[0]!) + Number(k.value)) : bits;
    }
    case "add":
      return Math.min(bits, Math.max(from(v.operands[0]!), from(v.operands[1]!)) + 1);
    case "mul":
      return Math.min(bits, from(v.operands[0]!) + from(v.operands[1]!));
    case "select":
      return Math.max(from(v.operands[1]!), from(v.operands[2]!));
    case "call": {
      const max = v.callee === undefined ? helperResultMax(v.helper) : undefined;
      return max === undefined ? bits : Math.min(bits, bitLength(max));
    }
    default:
      return v.info.shape === "compare" ? 1 : bits;
  }
}

/**
 * The low bits a narrowing keeps of its (first) operand, for an instruction that only
 * narrows: a trunc (its width) or an `and` with a low mask constant (the mask's width);
 * undefined for anything else.
 */
function keptBits(i: Instruction): number | undefined {
  if (i.opcode === "trunc") return bitsOf(i);
  if (i.opcode !== "and") return undefined;
  const k = i.operands[1]!;
  if (!isConstant(k) || isConstant(i.operands[0]!)) return undefined;
  const u = regBits(k);
  return bitLength(u) === trailingOnes(u) ? trailingOnes(u) : undefined;
}

/** The location of the first instruction of `fn` that has one. */
function firstLocation(fn: IrFunction): SourceLocation | undefined {
  for (const bb of fn.blocks) for (let i = bb.first; i; i = i.next) if (i.loc) return i.loc;
  return undefined;
}

/** The instructions of `fn` in block order, as an array (what `fn.instructions()` yields, without a generator). */
function instructionsOf(fn: IrFunction): Instruction[] {
  const out: Instruction[] = [];
  for (const bb of fn.blocks) for (let i = bb.first; i; i = i.next) out.push(i);
  return out;
}

/** Selects machine instructions for `fn` (leaving SSA on the way; `fn` is not modified). */
export function selectFunction(fn: IrFunction, loops?: LoopInfo, options: SelectOptions = {}): MFunction {
  const cpu = options.cpu ?? DEFAULT_CPU;
  const mf: MFunction = { name: fn.name, blocks: [], slots: [], nextVReg: FIRST_VREG };
  const layout = new BlockLayout(fn, loops);
  /** The virtual register of each value, by value id (0: none yet; virtual registers start at 16). */
  const vregOf = new Int32Array(fn.valueIdBound);
  const slotOf = new Map<Instruction, number>();
  const folded = new Set<Instruction>();

  /** The function's instructions in order (one walk of the blocks' lists, no iterator per loop). */
  const all = instructionsOf(fn);
  // Compares used only as conditions of branches and selects fuse into each of them (the
  // jump recomputes the compare from its operands; nothing materialises the 0/1 value).
  for (const c of all) {
    if (c.info.shape !== "compare" || !c.hasUses) continue;
    if (c.uses.every((u) => u.index === 0 && (u.user.opcode === "condbr" || u.user.opcode === "select"))) folded.add(c);
  }
  // A store of N bytes reads only the low N bytes of its register: a trunc or low mask whose
  // every use is such a store (or another such instruction keeping no fewer bits) is not
  // selected, and the stores take the value it narrows (`store i32 (trunc x)` stores x).
  const narrowed = new Set<Instruction>();
  for (let k = all.length - 1; k >= 0; k--) {
    const n = all[k]!;
    const keep = keptBits(n);
    if (keep === undefined || !n.hasUses) continue;
    const ok = n.uses.every(({ user, index }) => {
      if (user.opcode === "store") return index === 0 && user.typeParam.size * 8 <= keep;
      return narrowed.has(user) && keptBits(user)! <= keep;
    });
    if (ok) narrowed.add(n);
  }
  /** What a store of `bytes` bytes of `v` stores: `v` without the narrowings it does not need. */
  const stored = (v: Value, bytes: number): Value => {
    while (isInstruction(v) && narrowed.has(v) && keptBits(v)! >= bytes * 8) v = v.operands[0]!;
    return v;
  };
  // Byte-swapped halves joined into one swap, adjacent packet loads into one (combine.ts).
  const combines = findCombines(all);
  for (const inst of all) {
    if (inst.opcode === "alloca") slotOf.set(inst, mf.slots.push({ size: inst.size, align: Math.max(1, Math.min(8, inst.align)) }) - 1);
  }

  let out: MInst[] = [];
  /**
   * The source location of what is being selected: every instruction emitted gets it, in its
   * object literal (a `loc` added after construction would go to an out-of-line property
   * array: ~40 bytes more per machine instruction, 1.5 million of them at 1M IR instructions).
   */
  let loc: SourceLocation | undefined;
  const emit = (i: MInst): void => {
    out.push(i);
  };
  const fresh = (): MReg => newVReg(mf);
  const vreg = (v: Value): MReg => {
    let r = vregOf[v.id]!;
    if (r === 0) {
      r = fresh();
      vregOf[v.id] = r;
    }
    return r;
  };

  /** Loads the constant `value` of a `bits`-wide integer type into register `dst` (zero-extended from `bits`). */
  const loadImm = (dst: MReg, bits: number, value: bigint): void => {
    const u = BigInt.asUintN(bits, value);
    const s = BigInt.asIntN(64, u);
    if (fitsI32(s)) emit({ k: "alu", op: "mov", w: 64, dst, imm: Number(s), loc });
    else if (u <= 0xffffffffn) emit({ k: "alu", op: "mov", w: 32, dst, imm: Number(BigInt.asIntN(32, u)), loc });
    else emit({ k: "lddw", dst, imm: s, loc });
  };
  /** Computes `v` into register `dst` (rematerialising constants, stack and map addresses). */
  const valueInto = (dst: MReg, v: Value): void => {
    if (isConstant(v)) return loadImm(dst, bitsOf(v), v.value);
    const fa = frameAddress(v);
    if (fa) return emit({ k: "frameaddr", dst, slot: slotOf.get(fa.alloca)!, off: fa.off, loc });
    if (isInstruction(v, "mapref")) return emit({ k: "ldmap", dst, map: v.map!, loc });
    if (isInstruction(v, "coreval")) return emit({ k: "coreval", dst, core: v.core!, loc });
    emit({ k: "alu", op: "mov", w: 64, dst, src: vreg(v), loc });
  };
  /** `v` as the source of a move: an immediate when it is a constant one `mov` loads, else a register. */
  const source = (v: Value): MSource => {
    if (isConstant(v)) {
      const u = BigInt.asUintN(bitsOf(v), v.value);
      const s = BigInt.asIntN(64, u);
      if (fitsI32(s)) return { imm: Number(s), w: 64 };
      if (u <= 0xffffffffn) return { imm: Number(BigInt.asIntN(32, u)), w: 32 };
    }
    return { reg: use(v) };
  };
  /** A register holding `v`. */
  const use = (v: Value): MReg => {
    if (isRematerialisable(v)) {
      const t = fresh();
      valueInto(t, v);
      return t;
    }
    return vreg(v);
  };
  /** An immediate usable in a 64-bit (or 32-bit when `w32`) ALU/JMP form, if `v` is one. */
  const imm = (v: Value, w32: boolean): number | undefined => {
    if (!isConstant(v)) return undefined;
    const u = regBits(v);
    if (w32) return Number(BigInt.asIntN(32, u));
    const s = BigInt.asIntN(64, u);
    return fitsI32(s) ? Number(s) : undefined;
  };
  const addr = (p: Value, off: number): MAddr => {
    const fa = frameAddress(p);
    if (fa && fitsI32(BigInt(fa.off + off))) return { slot: slotOf.get(fa.alloca)!, off: fa.off + off };
    return { base: use(p), off };
  };
  const mask = (dst: MReg, bits: number): void => {
    if (bits < 32) emit({ k: "alu", op: "and", w: 32, dst, imm: (1 << bits) - 1, loc });
  };
  /** `dst` = the low `bits` of `src` sign-extended to 64 bits (movsx on v4, a shift pair before). */
  const signExtend = (dst: MReg, src: MReg, bits: 8 | 16 | 32): void => {
    if (cpu >= 4) return emit({ k: "movsx", dst, src, bits, loc });
    emit({ k: "alu", op: "mov", w: 64, dst, src, loc });
    emit({ k: "alu", op: "lsh", w: 64, dst, imm: 64 - bits, loc });
    emit({ k: "alu", op: "arsh", w: 64, dst, imm: 64 - bits, loc });
  };
  /** A register holding `v` sign-extended from its width to 64 bits. */
  const signExtended = (v: Value): MReg => {
    const bits = bitsOf(v);
    const r = use(v);
    if (bits === 64) return r;
    const t = fresh();
    signExtend(t, r, bits as 8 | 16 | 32);
    return t;
  };
  /**
   * `dst s/= rb` or `dst s%= rb` (64-bit, both sign-extended) before cpu v4: unsigned
   * division of the absolute values, then the sign fixed up — the quotient's from both signs,
   * the remainder's from the dividend's. A zero divisor gives 0 and the dividend, as sdiv/smod.
   */
  const signedDivideV3 = (dst: MReg, rb: MReg, rem: boolean): void => {
    const sa = fresh();
    emit({ k: "alu", op: "mov", w: 64, dst: sa, src: dst, loc });
    emit({ k: "alu", op: "arsh", w: 64, dst: sa, imm: 63, loc });
    emit({ k: "alu", op: "xor", w: 64, dst, src: sa, loc });
    emit({ k: "alu", op: "sub", w: 64, dst, src: sa, loc });
    const sb = fresh();
    emit({ k: "alu", op: "mov", w: 64, dst: sb, src: rb, loc });
    emit({ k: "alu", op: "arsh", w: 64, dst: sb, imm: 63, loc });
    const ub = fresh();
    emit({ k: "alu", op: "mov", w: 64, dst: ub, src: rb, loc });
    emit({ k: "alu", op: "xor", w: 64, dst: ub, src: sb, loc });
    emit({ k: "alu", op: "sub", w: 64, dst: ub, src: sb, loc });
    emit({ k: "alu", op: rem ? "mod" : "div", w: 64, dst, src: ub, loc });
    if (!rem) emit({ k: "alu", op: "xor", w: 64, dst: sa, src: sb, loc });
    emit({ k: "alu", op: "xor", w: 64, dst, src: sa, loc });
    emit({ k: "alu", op: "sub", w: 64, dst, src: sa, loc });
  };

  /**
   * Lowers compare `op` of `a` and `b` (for a jump or a setcc): a constant goes to the
   * right (the condition swapped), i32 compares use JMP32, narrower signed compares
   * sign-extend both sides to 64 bits, and a right side that fits becomes an immediate.
   */
  const lowerCompare = (op: CompareOpcode, a: Value, b: Value): LoweredCompare => {
    const bits = Math.max(bitsOf(a), bitsOf(b));
    let jop = JCC[op];
    if (isConstant(a) && !isConstant(b)) {
      [a, b] = [b, a];
      jop = SWAPPED_JUMPS[jop];
    }
    // Before v3 (no JMP32) an i32 compare is a 64-bit one: the registers hold i32 values
    // zero-extended, which unsigned compares and equality can read as they are.
    const narrow = cpu >= 3 ? bits < 32 : bits <= 32;
    let c: LoweredCompare;
    if (narrow && SIGNED_CMP.has(op)) c = { op: jop, w: 64, a: signExtended(a), b: signExtended(b) };
    else {
      const w: 32 | 64 = bits === 32 && cpu >= 3 ? 32 : 64;
      const ra = use(a);
      const bi = imm(b, w === 32);
      c = bi !== undefined ? { op: jop, w, a: ra, imm: bi } : { op: jop, w, a: ra, b: use(b) };
    }
    // Before v2 there is no `<` or `<=` jump: swap the operands (an immediate goes to a register).
    if (JMP_OPS[c.op].cpu > cpu) {
      let rb = c.b;
      if (rb === undefined) {
        rb = fresh();
        emit({ k: "alu", op: "mov", w: 64, dst: rb, imm: c.imm!, loc });
      }
      c = { op: SWAPPED_JUMPS[c.op], w: c.w, a: rb, b: c.a };
    }
    return c;
  };

  /** Emits a conditional jump to `target` for compare `op` of `a` and `b`. */
  const branch = (op: CompareOpcode, a: Value, b: Value, target: number): void => {
    const c = lowerCompare(op, a, b);
    emit(c.b !== undefined ? { k: "jcc", op: c.op, w: c.w, a: c.a, b: c.b, target, loc } : { k: "jcc", op: c.op, w: c.w, a: c.a, imm: c.imm!, target, loc });
  };

  /**
   * The copies into the phis of the blocks control enters when it leaves layout block `b`:
   * register-to-register copies as one sequentialised parallel copy, then the
   * rematerialised values (constants, stack and map addresses), which read no register.
   */
  const phiCopies = (b: (typeof layout.blocks)[number]): void => {
    // Destinations get their registers first, then sources (virtual register numbering is
    // part of the output: keep it stable).
    const copies = layout.phiCopies(b).map(({ phi, src }) => ({ dst: vreg(phi), src }));
    const regCopies: { dst: MReg; src: MReg }[] = [];
    const late: { dst: MReg; src: Value }[] = [];
    for (const c of copies) {
      if (isRematerialisable(c.src)) late.push(c);
      else if (vreg(c.src) !== c.dst) regCopies.push({ dst: c.dst, src: vreg(c.src) });
    }
    sequentializeCopies(regCopies, fresh, (dst, src) => emit({ k: "alu", op: "mov", w: 64, dst, src, loc }));
    for (const c of late) valueInto(c.dst, c.src);
  };

  const selectInstruction = (inst: Instruction): void => {
    if (narrowed.has(inst)) return; // each store takes the value this narrows
    if (combines.absorbed.has(inst)) return; // selected as part of the pattern rooted at its user
    const combine = combines.roots.get(inst);
    if (combine) {
      const dst = vreg(inst);
      if (combine.kind === "wide-load") emit({ k: "ldx", size: combine.bits === 64 ? "DW" : "W", dst, addr: addr(combine.ptr, combine.offset), loc });
      else {
        valueInto(dst, combine.lo);
        emit({ k: "alu", op: "lsh", w: 64, dst, imm: combine.bits / 2, loc });
        emit({ k: "alu", op: "or", w: 64, dst, src: use(combine.hi), loc });
      }
      emit({ k: "end", kind: cpu >= 4 ? "bswap" : "be", bits: combine.bits, dst, loc });
      return;
    }
    const op = inst.opcode;
    const info = inst.info;
    switch (info.shape) {
      case "binary": {
        const [a, b] = [inst.operands[0]!, inst.operands[1]!];
        const bits = bitsOf(inst);
        const w: 32 | 64 = bits === 64 ? 64 : 32;
        const dst = vreg(inst);
        const aluOp = ALU[op]!;
        if (isConstant(b) && b.value === 0n && (op === "udiv" || op === "sdiv" || op === "urem" || op === "srem")) {
          // eBPF semantics with a zero divisor, which the verifier refuses as an immediate.
          if (op === "udiv" || op === "sdiv") emit({ k: "alu", op: "mov", w: 64, dst, imm: 0, loc });
          else valueInto(dst, a);
          return;
        }
        const signed = op === "sdiv" || op === "srem" || op === "ashr";
        const signedDivision = op === "sdiv" || op === "srem";
        if ((signed && bits < 32) || (signedDivision && cpu < 4)) {
          // In 64 bits on sign-extended operands (before v4, division through unsigned division).
          emit({ k: "alu", op: "mov", w: 64, dst, src: signExtended(a), loc });
          const rb = op === "ashr" ? use(b) : signExtended(b);
          if (signedDivision && cpu < 4) signedDivideV3(dst, rb, op === "srem");
          else emit({ k: "alu", op: aluOp, w: 64, dst, src: rb, loc });
          if (bits === 32) emit({ k: "alu", op: "mov", w: 32, dst, src: dst, loc });
          else mask(dst, bits);
          return;
        }
        if (op === "and" && isConstant(b) && !isConstant(a)) {
          // A low mask: nothing to do when the bits it clears are zero already; the low 32
          // bits of a 64-bit value are one `w = w` (ALU32 zeroes the upper half).
          const k = regBits(b);
          const ones = trailingOnes(k);
          if (bitLength(k) === ones && zeroExtendedFrom(a) <= ones) return valueInto(dst, a);
          if (bits === 64 && k === 0xffffffffn) return emit({ k: "alu", op: "mov", w: 32, dst, src: use(a), loc });
        }
        if (w === 64 && CORE_FOLDS.has(op)) {
          // A CO-RE value as the right operand is the immediate of the operation itself, whose
          // relocation the loader patches as it patches a mov (any ALU-immediate form), as
          // clang relocates a bitfield's shifts: `r += off` instead of `t = off; r += t`.
          const [x, c] = isInstruction(b, "coreval") ? [a, b] : op === "add" && isInstruction(a, "coreval") ? [b, a] : [undefined, undefined];
          if (x !== undefined && c !== undefined && !isConstant(x) && !isInstruction(x, "coreval")) {
            valueInto(dst, x);
            return emit({ k: "alu", op: aluOp, w: 64, dst, imm: 0, core: c.core!, loc });
          }
        }
        valueInto(dst, a);
        const shift = op === "shl" || op === "lshr" || op === "ashr";
        let bi = imm(b, w === 32);
        if (bi !== undefined && shift) bi = Number(BigInt.asUintN(64, BigInt(bi)) % BigInt(bits));
        if (bi !== undefined) emit({ k: "alu", op: aluOp, w, dst, imm: bi, loc });
        else {
          let rb = use(b);
          if (shift && bits < 32) {
            const t = fresh();
            emit({ k: "alu", op: "mov", w: 64, dst: t, src: rb, loc });
            emit({ k: "alu", op: "and", w: 32, dst: t, imm: bits - 1, loc });
            rb = t;
          }
          emit({ k: "alu", op: aluOp, w, dst, src: rb, loc });
        }
        if (bits < 32 && (op === "add" || op === "sub" || op === "mul" || op === "shl")) mask(dst, bits);
        return;
      }
      case "unary": {
        const a = inst.operands[0]!;
        const bits = bitsOf(inst);
        const dst = vreg(inst);
        valueInto(dst, a);
        if (op === "neg") {
          emit({ k: "neg", w: bits === 64 ? 64 : 32, dst, loc });
          mask(dst, bits);
        } else if (op === "not") {
          if (bits === 64) emit({ k: "alu", op: "xor", w: 64, dst, imm: -1, loc });
          else if (bits === 32) emit({ k: "alu", op: "xor", w: 32, dst, imm: -1, loc });
          else emit({ k: "alu", op: "xor", w: 32, dst, imm: (1 << bits) - 1, loc });
        } else if (op === "bswap") emit({ k: "end", kind: cpu >= 4 ? "bswap" : "be", bits: bits as 16 | 32 | 64, dst, loc });
        else throw new InternalError(`isel: unary ${op}`);
        return;
      }
      case "cast": {
        const a = inst.operands[0]!;
        const dst = vreg(inst);
        const to = bitsOf(inst);
        if (op === "zext") valueInto(dst, a);
        else if (op === "sext") {
          if (isConstant(a)) loadImm(dst, to, a.value);
          else {
            signExtend(dst, use(a), bitsOf(a) as 8 | 16 | 32);
            if (to === 32) emit({ k: "alu", op: "mov", w: 32, dst, src: dst, loc });
            else mask(dst, to);
          }
        } else if (to === 32) {
          if (isConstant(a)) loadImm(dst, to, a.value);
          else if (zeroExtendedFrom(a) <= 32) valueInto(dst, a); // the upper half is already zero
          else emit({ k: "alu", op: "mov", w: 32, dst, src: use(a), loc });
        } else {
          valueInto(dst, a);
          if (zeroExtendedFrom(a) > to) mask(dst, to);
        }
        return;
      }
      case "compare": {
        if (folded.has(inst)) return;
        const dst = vreg(inst);
        const c = lowerCompare(op as CompareOpcode, inst.operands[0]!, inst.operands[1]!);
        emit(c.b !== undefined ? { k: "setcc", op: c.op, w: c.w, dst, a: c.a, b: c.b, loc } : { k: "setcc", op: c.op, w: c.w, dst, a: c.a, imm: c.imm!, loc });
        return;
      }
      case "select": {
        // A move of one arm, then a conditional move of the other (`if (c) dst = t`, or with
        // the test inverted `if (!c) dst = f`): the arm moved first is a register when one is,
        // so that the move can coalesce away. A compare fused into the select is the test.
        const [c, t, f] = inst.operands as [Value, Value, Value];
        let test: LoweredCompare =
          isInstruction(c) && folded.has(c) ? lowerCompare(c.opcode as CompareOpcode, c.operands[0]!, c.operands[1]!) : { op: "jne", w: 64, a: use(c), imm: 0 };
        const dst = vreg(inst);
        let [first, second] = [f, t];
        if (isConstant(f) && !isConstant(t) && INVERSE_JUMPS[test.op]) {
          [first, second] = [t, f];
          test = { ...test, op: INVERSE_JUMPS[test.op]! };
        }
        const src = source(second);
        valueInto(dst, first);
        emit({ k: "cmov", ...test, dst, src, loc });
        return;
      }
      case "ptradd": {
        if (isRematerialisable(inst)) return; // a stack address, rematerialised at each use
        const [p, n] = [inst.operands[0]!, inst.operands[1]!];
        const dst = vreg(inst);
        valueInto(dst, p);
        const ni = imm(n, false);
        if (isInstruction(n, "coreval")) return emit({ k: "alu", op: "add", w: 64, dst, imm: 0, core: n.core!, loc }); // `r += off`, relocated
        emit(ni !== undefined ? { k: "alu", op: "add", w: 64, dst, imm: ni, loc } : { k: "alu", op: "add", w: 64, dst, src: use(n), loc });
        return;
      }
      case "copy":
        valueInto(vreg(inst), inst.operands[0]!);
        return;
      case "load":
        emit({ k: "ldx", size: sizeOf(loadedBytes(inst.type)), dst: vreg(inst), addr: addr(inst.operands[0]!, inst.offset), loc });
        return;
      case "store": {
        const p = inst.operands[1]!;
        const v = stored(inst.operands[0]!, inst.typeParam.size);
        const size = sizeOf(inst.typeParam.size);
        const vi = isConstant(v) ? imm(v, size !== "DW") : undefined;
        const a = addr(p, inst.offset);
        if (vi !== undefined) emit({ k: "st", size, addr: a, imm: vi, loc });
        else emit({ k: "stx", size, addr: a, src: use(v), loc });
        return;
      }
      case "atomic": {
        const [p, v] = [inst.operands[0]!, inst.operands[1]!];
        const size = inst.typeParam.size === 8 ? "DW" : "W";
        const fetch = op === "atomic.fetch_add";
        if (fetch && cpu < 3) {
          throw new CompileError({
            severity: "error",
            message: `an atomic add that returns the old value needs -mcpu=v3 or later (compiling for v${cpu})`,
            ...(inst.loc ? { location: inst.loc } : {}),
          });
        }
        let src: MReg;
        if (fetch) {
          src = vreg(inst);
          valueInto(src, v);
        } else src = use(v);
        emit({ k: "atomic", fetch, size, addr: addr(p, inst.offset), src, loc });
        return;
      }
      case "pktload": {
        const [ctx, index] = [inst.operands[0]!, inst.operands[1]!];
        valueInto(PKT_CTX_REG, ctx);
        const size = sizeOf(inst.type.size) as "B" | "H" | "W";
        if (isConstant(index)) emit({ k: "ldpkt", size, imm: Number(index.value) + inst.offset, loc });
        else emit({ k: "ldpkt", size, index: use(index), imm: inst.offset, loc });
        emit({ k: "alu", op: "mov", w: 64, dst: vreg(inst), src: RET_REG, loc });
        return;
      }
      case "alloca":
      case "mapref":
      case "coreval":
        return; // rematerialised at each use
      case "call": {
        const args = inst.operands;
        // Register arguments first (their sources may not live in r1..r5 across this
        // sequence: interference makes sure), then rematerialisable ones.
        args.forEach((a, k) => {
          if (!isRematerialisable(a)) valueInto(ARG_REGS[k]!, a);
        });
        args.forEach((a, k) => {
          if (isRematerialisable(a)) valueInto(ARG_REGS[k]!, a);
        });
        emit(inst.callee !== undefined ? { k: "call", helper: -1, nargs: args.length, callee: inst.callee, loc } : { k: "call", helper: inst.helper!, nargs: args.length, loc });
        if (inst.type.kind !== "void") emit({ k: "alu", op: "mov", w: 64, dst: vreg(inst), src: RET_REG, loc });
        return;
      }
      case "phi":
        vreg(inst);
        return;
      case "br":
        phiCopies(current);
        emit({ k: "ja", target: layout.target(inst.block!, 0), loc });
        return;
      case "condbr": {
        phiCopies(current);
        const c = inst.operands[0]!;
        const [t, f] = [layout.target(inst.block!, 0), layout.target(inst.block!, 1)];
        if (isInstruction(c) && folded.has(c)) branch(c.opcode as CompareOpcode, c.operands[0]!, c.operands[1]!, t);
        else if (isConstant(c)) {
          emit({ k: "ja", target: c.value !== 0n ? t : f, loc });
          return;
        } else emit({ k: "jcc", op: "jne", w: 64, a: use(c), imm: 0, target: t, loc });
        emit({ k: "ja", target: f, loc });
        return;
      }
      case "ret": {
        const v = inst.operands[0];
        if (v) valueInto(RET_REG, v);
        else emit({ k: "alu", op: "mov", w: 64, dst: RET_REG, imm: 0, loc });
        emit({ k: "exit", loc });
        return;
      }
      case "unreachable":
        emit({ k: "alu", op: "mov", w: 64, dst: RET_REG, imm: 0, loc });
        emit({ k: "exit", loc });
        return;
      default:
        assertNever(info.shape, "opcode shape");
    }
  };

  let current = layout.blocks[0]!;
  layout.blocks.forEach((b, index) => {
    out = [];
    current = b;
    if (b.kind === "block") {
      if (index === 0) {
        // The parameters' moves belong to the function's first statement.
        loc = firstLocation(fn);
        fn.params.forEach((p, k) => emit({ k: "alu", op: "mov", w: 64, dst: vreg(p), src: ARG_REGS[k]!, loc }));
      }
      for (let i = b.bb.first; i; i = i.next) {
        loc = i.loc ?? loc;
        selectInstruction(i);
      }
    } else {
      // An edge block: the phi copies of its edge, then on to the edge's target; they
      // belong to the branch that takes the edge.
      loc = b.from.terminator?.loc ?? loc;
      phiCopies(b);
      emit({ k: "ja", target: layout.indexOf(b.to), loc });
    }
    mf.blocks.push({ index, insts: out, succs: layout.succs(b), loopDepth: layout.loopDepth(b, loops) } satisfies MBlock);
  });
  return mf;
}
