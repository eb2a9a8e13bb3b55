/**
 * Instruction selection: SSA IR → machine IR over virtual registers.
 *
 * A tree-less, one-instruction-at-a-time selector with a few folds that matter for
 * eBPF code size: immediates in ALU/jump/store forms, compare+branch fusion, stack and
 * map addresses rematerialised at their uses, alloca-based addresses folded into
 * r10-relative accesses. Leaving SSA happens here too: critical edges must already be
 * split (see `compile.ts`), and every phi becomes a virtual register written by a
 * sequentialised parallel copy at the end of each predecessor.
 *
 * Register convention for narrow integers: a value of type iN (N < 64) is held
 * zero-extended in its 64-bit register. i32 arithmetic uses ALU32 (which zeroes the upper
 * half for free); i8/i16 results of operations that can carry out are masked.
 */
import {
  InternalError,
  isConstant,
  isInstruction,
  type BasicBlock,
  type CompareOpcode,
  type Constant,
  type Function as IrFunction,
  type Instruction,
  type Value,
} from "@luabpf/ir";
import type { AluBinaryOp, JmpCondOp, SizeName } from "./isa/index.js";
import { FIRST_VREG, newVReg, type MAddr, type MBlock, type MFunction, type MInst, type MReg } from "./mir.js";

const JCC: Record<CompareOpcode, JmpCondOp> = {
  eq: "jeq", ne: "jne", ult: "jlt", ule: "jle", ugt: "jgt", uge: "jge", slt: "jslt", sle: "jsle", sgt: "jsgt", sge: "jsge",
};
const SWAP: Record<JmpCondOp, JmpCondOp> = {
  jeq: "jeq", jne: "jne", jlt: "jgt", jle: "jge", jgt: "jlt", jge: "jle", jslt: "jsgt", jsle: "jsge", jsgt: "jslt", jsge: "jsle", jset: "jset",
};
const ALU: Partial<Record<string, AluBinaryOp>> = {
  add: "add", sub: "sub", mul: "mul", udiv: "div", sdiv: "sdiv", urem: "mod", srem: "smod",
  and: "and", or: "or", xor: "xor", shl: "lsh", lshr: "rsh", ashr: "arsh",
};
const SIGNED_CMP = new Set<CompareOpcode>(["slt", "sle", "sgt", "sge"]);

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
const bitsOf = (v: Value): number => (v.type.kind === "int" ? v.type.bits : 64);
const fitsI32 = (v: bigint): boolean => v >= -0x80000000n && v <= 0x7fffffffn;
/** The constant's bits as the register holds them (zero-extended from its width). */
const regBits = (c: Constant): bigint => BigInt.asUintN(bitsOf(c), c.value);

/** Constants, stack addresses and map addresses are recomputed at each use, not kept in registers. */
function isRematerialisable(v: Value): boolean {
  return isConstant(v) || isInstruction(v, "alloca") || isInstruction(v, "mapref");
}

/**
 * The width from which a value is known to be zero-extended in its register: loads and
 * packet loads of N bytes, and zext of a narrower value (64 when nothing is known).
 */
function zeroExtendedFrom(v: Value): number {
  if (!isInstruction(v)) return 64;
  switch (v.opcode) {
    case "load":
    case "pktload":
      return v.type.size * 8;
    case "zext":
      return bitsOf(v.operands[0]!);
    default:
      return bitsOf(v);
  }
}

/** Selects machine instructions for `fn`, whose critical edges must be split. */
export function selectFunction(fn: IrFunction, loopDepth?: (bb: BasicBlock) => number): MFunction {
  const mf: MFunction = { name: fn.name, blocks: [], slots: [], nextVReg: FIRST_VREG };
  const blockIndex = new Map<BasicBlock, number>();
  fn.blocks.forEach((bb, i) => blockIndex.set(bb, i));
  const vregOf = new Map<Value, MReg>();
  const slotOf = new Map<Instruction, number>();
  const folded = new Set<Instruction>();

  // Compares whose only use is the condbr ending their block fuse into the jump.
  for (const bb of fn.blocks) {
    const t = bb.terminator;
    if (t?.opcode !== "condbr") continue;
    const c = t.operands[0]!;
    if (isInstruction(c) && c.info.shape === "compare" && c.block === bb && c.uses.length === 1) folded.add(c);
  }
  for (const inst of fn.instructions()) {
    if (inst.opcode === "alloca") slotOf.set(inst, mf.slots.push({ size: inst.size, align: Math.max(1, Math.min(8, inst.align)) }) - 1);
  }

  let out: MInst[] = [];
  const emit = (i: MInst): void => {
    out.push(i);
  };
  const fresh = (): MReg => newVReg(mf);
  const vreg = (v: Value): MReg => {
    let r = vregOf.get(v);
    if (r === undefined) {
      r = fresh();
      vregOf.set(v, r);
    }
    return r;
  };

  /** Loads a constant into register `dst`. */
  const loadConst = (dst: MReg, c: Constant): void => {
    const u = regBits(c);
    const s = BigInt.asIntN(64, u);
    if (fitsI32(s)) emit({ k: "alu", op: "mov", w: 64, dst, imm: Number(s) });
    else if (u <= 0xffffffffn) emit({ k: "alu", op: "mov", w: 32, dst, imm: Number(BigInt.asIntN(32, u)) });
    else emit({ k: "lddw", dst, imm: s });
  };
  /** Computes `v` into register `dst` (rematerialising constants, stack and map addresses). */
  const valueInto = (dst: MReg, v: Value): void => {
    if (isConstant(v)) return loadConst(dst, v);
    if (isInstruction(v, "alloca")) return emit({ k: "frameaddr", dst, slot: slotOf.get(v)!, off: 0 });
    if (isInstruction(v, "mapref")) return emit({ k: "ldmap", dst, map: v.map! });
    emit({ k: "alu", op: "mov", w: 64, dst, src: vreg(v) });
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
    if (isInstruction(p, "alloca")) return { slot: slotOf.get(p)!, off };
    return { base: use(p), off };
  };
  const mask = (dst: MReg, bits: number): void => {
    if (bits < 32) emit({ k: "alu", op: "and", w: 32, dst, imm: (1 << bits) - 1 });
  };
  /** A register holding `v` sign-extended from its width to 64 bits. */
  const signExtended = (v: Value): MReg => {
    const bits = bitsOf(v);
    const r = use(v);
    if (bits === 64) return r;
    const t = fresh();
    emit({ k: "movsx", dst: t, src: r, bits: bits as 8 | 16 | 32 });
    return t;
  };

  /** Emits a conditional jump for compare `op` of `a` and `b`. */
  const branch = (op: CompareOpcode, a: Value, b: Value, target: number): void => {
    const bits = Math.max(bitsOf(a), bitsOf(b));
    let w: 32 | 64 = bits === 32 ? 32 : 64;
    let jop = JCC[op];
    if (isConstant(a) && !isConstant(b)) {
      [a, b] = [b, a];
      jop = SWAP[jop];
    }
    let ra: MReg;
    let bImm: number | undefined;
    let rb: MReg | undefined;
    if (bits < 32 && SIGNED_CMP.has(op)) {
      ra = signExtended(a);
      rb = signExtended(b);
      w = 64;
    } else {
      ra = use(a);
      bImm = imm(b, w === 32);
      if (bImm === undefined) rb = use(b);
    }
    emit(rb !== undefined ? { k: "jcc", op: jop, w, a: ra, b: rb, target } : { k: "jcc", op: jop, w, a: ra, imm: bImm!, target });
  };

  const phiCopies = (from: BasicBlock): void => {
    const copies: { dst: MReg; src: Value }[] = [];
    for (const s of new Set(from.succs)) for (const phi of s.phis()) copies.push({ dst: vreg(phi), src: phi.incomingValue(from) });
    parallelCopy(copies);
  };
  /** Sequentialises a parallel copy; a temporary is used only to break a cycle. */
  const parallelCopy = (copies: { dst: MReg; src: Value }[]): void => {
    const regCopies: { dst: MReg; src: MReg }[] = [];
    const late: { dst: MReg; src: Value }[] = [];
    for (const c of copies) {
      if (isRematerialisable(c.src)) late.push(c);
      else if (vreg(c.src) !== c.dst) regCopies.push({ dst: c.dst, src: vreg(c.src) });
    }
    const pending = regCopies;
    while (pending.length > 0) {
      const ready = pending.findIndex((c) => !pending.some((o) => o !== c && o.src === c.dst));
      if (ready >= 0) {
        const [c] = pending.splice(ready, 1);
        emit({ k: "alu", op: "mov", w: 64, dst: c!.dst, src: c!.src });
        continue;
      }
      // Every pending copy is on a cycle: save one destination's old value and redirect readers.
      const d = pending[0]!.dst;
      const t = fresh();
      emit({ k: "alu", op: "mov", w: 64, dst: t, src: d });
      for (const c of pending) if (c.src === d) c.src = t;
    }
    for (const c of late) valueInto(c.dst, c.src);
  };

  const selectInstruction = (inst: Instruction): void => {
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
          if (op === "udiv" || op === "sdiv") emit({ k: "alu", op: "mov", w: 64, dst, imm: 0 });
          else valueInto(dst, a);
          return;
        }
        const signed = op === "sdiv" || op === "srem" || op === "ashr";
        if (signed && bits < 32) {
          emit({ k: "alu", op: "mov", w: 64, dst, src: signExtended(a) });
          const rb = op === "ashr" ? use(b) : signExtended(b);
          emit({ k: "alu", op: aluOp, w: 64, dst, src: rb });
          mask(dst, bits);
          return;
        }
        valueInto(dst, a);
        const shift = op === "shl" || op === "lshr" || op === "ashr";
        let bi = imm(b, w === 32);
        if (bi !== undefined && shift) bi = Number(BigInt.asUintN(64, BigInt(bi)) % BigInt(bits));
        if (bi !== undefined) emit({ k: "alu", op: aluOp, w, dst, imm: bi });
        else {
          let rb = use(b);
          if (shift && bits < 32) {
            const t = fresh();
            emit({ k: "alu", op: "mov", w: 64, dst: t, src: rb });
            emit({ k: "alu", op: "and", w: 32, dst: t, imm: bits - 1 });
            rb = t;
          }
          emit({ k: "alu", op: aluOp, w, dst, src: rb });
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
          emit({ k: "neg", w: bits === 64 ? 64 : 32, dst });
          mask(dst, bits);
        } else if (op === "not") {
          if (bits === 64) emit({ k: "alu", op: "xor", w: 64, dst, imm: -1 });
          else if (bits === 32) emit({ k: "alu", op: "xor", w: 32, dst, imm: -1 });
          else emit({ k: "alu", op: "xor", w: 32, dst, imm: (1 << bits) - 1 });
        } else if (op === "bswap") emit({ k: "end", kind: "bswap", bits: bits as 16 | 32 | 64, dst });
        else throw new InternalError(`isel: unary ${op}`);
        return;
      }
      case "cast": {
        const a = inst.operands[0]!;
        const dst = vreg(inst);
        const to = bitsOf(inst);
        if (op === "zext") valueInto(dst, a);
        else if (op === "sext") {
          if (isConstant(a)) loadConst(dst, inst.parentFunction!.constant(inst.type, a.value));
          else {
            emit({ k: "movsx", dst, src: use(a), bits: bitsOf(a) as 8 | 16 | 32 });
            if (to === 32) emit({ k: "alu", op: "mov", w: 32, dst, src: dst });
            else mask(dst, to);
          }
        } else if (to === 32) {
          if (isConstant(a)) loadConst(dst, inst.parentFunction!.constant(inst.type, a.value));
          else if (zeroExtendedFrom(a) <= 32) valueInto(dst, a); // the upper half is already zero
          else emit({ k: "alu", op: "mov", w: 32, dst, src: use(a) });
        } else {
          valueInto(dst, a);
          mask(dst, to);
        }
        return;
      }
      case "compare": {
        if (folded.has(inst)) return;
        const [a0, b0] = [inst.operands[0]!, inst.operands[1]!];
        const bits = Math.max(bitsOf(a0), bitsOf(b0));
        let [a, b] = [a0, b0];
        let jop = JCC[op as CompareOpcode];
        if (isConstant(a) && !isConstant(b)) {
          [a, b] = [b, a];
          jop = SWAP[jop];
        }
        const dst = vreg(inst);
        if (bits < 32 && SIGNED_CMP.has(op as CompareOpcode)) {
          emit({ k: "setcc", op: jop, w: 64, dst, a: signExtended(a), b: signExtended(b) });
          return;
        }
        const w: 32 | 64 = bits === 32 ? 32 : 64;
        const ra = use(a);
        const bi = imm(b, w === 32);
        emit(bi !== undefined ? { k: "setcc", op: jop, w, dst, a: ra, imm: bi } : { k: "setcc", op: jop, w, dst, a: ra, b: use(b) });
        return;
      }
      case "select": {
        const [c, t, f] = inst.operands as [Value, Value, Value];
        emit({ k: "select", dst: vreg(inst), cond: use(c), t: use(t), f: use(f) });
        return;
      }
      case "ptradd": {
        const [p, n] = [inst.operands[0]!, inst.operands[1]!];
        const dst = vreg(inst);
        valueInto(dst, p);
        const ni = imm(n, false);
        emit(ni !== undefined ? { k: "alu", op: "add", w: 64, dst, imm: ni } : { k: "alu", op: "add", w: 64, dst, src: use(n) });
        return;
      }
      case "copy":
        valueInto(vreg(inst), inst.operands[0]!);
        return;
      case "load":
        emit({ k: "ldx", size: sizeOf(inst.type.size), dst: vreg(inst), addr: addr(inst.operands[0]!, inst.offset) });
        return;
      case "store": {
        const [v, p] = [inst.operands[0]!, inst.operands[1]!];
        const size = sizeOf(inst.typeParam.size);
        const vi = isConstant(v) ? imm(v, size !== "DW") : undefined;
        const a = addr(p, inst.offset);
        if (vi !== undefined) emit({ k: "st", size, addr: a, imm: vi });
        else emit({ k: "stx", size, addr: a, src: use(v) });
        return;
      }
      case "atomic": {
        const [p, v] = [inst.operands[0]!, inst.operands[1]!];
        const size = inst.typeParam.size === 8 ? "DW" : "W";
        const fetch = op === "atomic.fetch_add";
        let src: MReg;
        if (fetch) {
          src = vreg(inst);
          valueInto(src, v);
        } else src = use(v);
        emit({ k: "atomic", fetch, size, addr: addr(p, inst.offset), src });
        return;
      }
      case "pktload": {
        const [ctx, index] = [inst.operands[0]!, inst.operands[1]!];
        valueInto(6, ctx);
        const size = sizeOf(inst.type.size) as "B" | "H" | "W";
        if (isConstant(index)) emit({ k: "ldpkt", size, imm: Number(index.value) + inst.offset });
        else emit({ k: "ldpkt", size, index: use(index), imm: inst.offset });
        emit({ k: "alu", op: "mov", w: 64, dst: vreg(inst), src: 0 });
        return;
      }
      case "alloca":
      case "mapref":
        return; // rematerialised at each use
      case "call": {
        const args = inst.operands;
        // Register arguments first (their sources may not live in r1..r5 across this
        // sequence: interference makes sure), then rematerialisable ones.
        args.forEach((a, k) => {
          if (!isRematerialisable(a)) valueInto(k + 1, a);
        });
        args.forEach((a, k) => {
          if (isRematerialisable(a)) valueInto(k + 1, a);
        });
        emit(inst.callee !== undefined ? { k: "call", helper: -1, nargs: args.length, callee: inst.callee } : { k: "call", helper: inst.helper!, nargs: args.length });
        if (inst.type.kind !== "void") emit({ k: "alu", op: "mov", w: 64, dst: vreg(inst), src: 0 });
        return;
      }
      case "phi":
        vreg(inst);
        return;
      case "br":
        phiCopies(inst.block!);
        emit({ k: "ja", target: blockIndex.get(inst.targets[0]!)! });
        return;
      case "condbr": {
        phiCopies(inst.block!);
        const c = inst.operands[0]!;
        const [t, f] = [blockIndex.get(inst.targets[0]!)!, blockIndex.get(inst.targets[1]!)!];
        if (isInstruction(c) && folded.has(c)) branch(c.opcode as CompareOpcode, c.operands[0]!, c.operands[1]!, t);
        else if (isConstant(c)) {
          emit({ k: "ja", target: c.value !== 0n ? t : f });
          return;
        } else emit({ k: "jcc", op: "jne", w: 64, a: use(c), imm: 0, target: t });
        emit({ k: "ja", target: f });
        return;
      }
      case "ret": {
        const v = inst.operands[0];
        if (v) valueInto(0, v);
        else emit({ k: "alu", op: "mov", w: 64, dst: 0, imm: 0 });
        emit({ k: "exit" });
        return;
      }
      case "unreachable":
        emit({ k: "alu", op: "mov", w: 64, dst: 0, imm: 0 });
        emit({ k: "exit" });
        return;
      case "mapref" as never:
        return;
    }
    throw new InternalError(`isel: unhandled opcode ${op}`);
  };

  fn.blocks.forEach((bb, index) => {
    out = [];
    if (index === 0) fn.params.forEach((p, k) => emit({ k: "alu", op: "mov", w: 64, dst: vreg(p), src: k + 1 }));
    for (let i = bb.first; i; i = i.next) selectInstruction(i);
    const block: MBlock = { index, insts: out, succs: bb.succs.map((s) => blockIndex.get(s)!), loopDepth: loopDepth?.(bb) ?? 0 };
    mf.blocks.push(block);
  });
  return mf;
}
