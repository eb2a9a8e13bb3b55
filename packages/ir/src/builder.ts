/**
 * The IR builder: creates instructions at an insertion point.
 *
 * Insertion points: before/after an instruction, front/back of a block, before the
 * terminator, after the phis. The typed methods choose the type parameter and result type
 * and check the operands eagerly against the opcode's signature (typing.ts, the same rules
 * the parser and verifier apply), so that front ends fail close to their bug.
 */
import { BasicBlock, Function, Instruction, type InstructionAttrs, type Value } from "./core.js";
import { assert, type SourceLocation } from "./errors.js";
import { MAX_CALL_ARGS } from "@luabpf/platform";
import { OPCODES, type AtomicOpcode, type BinaryOpcode, type CastOpcode, type CompareOpcode, type Opcode, type UnaryOpcode } from "./opcodes.js";
import { printValue } from "./print.js";
import { i64, ptrType, voidType, type IntType, type PtrType, type Type } from "./types.js";
import { resultTypeOf, satisfiesSignature, signatureErrors } from "./typing.js";

/** Where the next instruction goes. */
export type InsertPoint =
  | { kind: "before"; inst: Instruction }
  | { kind: "after"; inst: Instruction }
  | { kind: "start"; block: BasicBlock }
  | { kind: "end"; block: BasicBlock }
  | { kind: "beforeTerminator"; block: BasicBlock }
  | { kind: "afterPhis"; block: BasicBlock };

/**
 * Creates instructions at an insertion point, checking operand types as it goes; front
 * ends set {@link Builder.loc} per statement so every instruction knows its source line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Builder, Module, i64, interpret, ptrType, verifyModule } from "@luabpf/ir";
 *
 * // i = 0; do i += 1 while (i < 10); return i
 * const m = new Module();
 * const fn = m.addFunction("count", [ptrType("ctx")], i64);
 * const [entry, loop, exit] = [fn.createBlock(), fn.createBlock(), fn.createBlock()];
 * const b = new Builder(fn).atEnd(entry);
 * b.br(loop);
 * b.atEnd(loop);
 * const i = b.phi(i64);
 * const next = b.add(i, b.const(1));
 * i.addIncoming(b.const(0), entry);
 * i.addIncoming(next, loop);
 * b.condBr(b.compare("ult", next, b.const(10)), loop, exit);
 * b.atEnd(exit).ret(next);
 * assert.deepEqual(verifyModule(m), []);
 * assert.equal(interpret(m, "count", ["ctx"]).value, 10n);
 * ```
 */
export class Builder {
  private point: InsertPoint | undefined;
  /** Attached to every instruction created while set (front ends set it per statement). */
  loc: SourceLocation | undefined;

  constructor(public readonly fn: Function) {}

  // ---- insertion points ----

  setInsertPoint(p: InsertPoint): this {
    this.point = p;
    return this;
  }
  /** Insert before `inst`. */
  before(inst: Instruction): this {
    return this.setInsertPoint({ kind: "before", inst });
  }
  /** Insert after `inst` (successive inserts keep their order). */
  after(inst: Instruction): this {
    return this.setInsertPoint({ kind: "after", inst });
  }
  /** Insert at the very start of `block` (before its phis). */
  atStart(block: BasicBlock): this {
    return this.setInsertPoint({ kind: "start", block });
  }
  /** Append to `block`. */
  atEnd(block: BasicBlock): this {
    return this.setInsertPoint({ kind: "end", block });
  }
  /** Insert just before the terminator of `block` (or at its end if it has none). */
  beforeTerminator(block: BasicBlock): this {
    return this.setInsertPoint({ kind: "beforeTerminator", block });
  }
  /** Insert after the phis of `block`. */
  afterPhis(block: BasicBlock): this {
    return this.setInsertPoint({ kind: "afterPhis", block });
  }
  /** The block instructions currently go into. */
  get block(): BasicBlock {
    const p = this.point;
    assert(p, "builder has no insertion point");
    const bb = p.kind === "before" || p.kind === "after" ? p.inst.block : p.block;
    assert(bb, "builder insertion point is not in a block");
    return bb;
  }

  /** Inserts an existing unlinked instruction at the insertion point. */
  insert<T extends Instruction>(inst: T): T {
    const p = this.point;
    assert(p, "builder has no insertion point");
    if (this.loc && !inst.loc) inst.loc = this.loc;
    switch (p.kind) {
      case "before":
        inst.insertBefore(p.inst);
        break;
      case "after":
        inst.insertAfter(p.inst);
        this.point = { kind: "after", inst };
        break;
      case "start":
        p.block.prepend(inst);
        this.point = { kind: "after", inst };
        break;
      case "end":
        p.block.append(inst);
        break;
      case "beforeTerminator": {
        const t = p.block.terminator;
        if (t) inst.insertBefore(t);
        else p.block.append(inst);
        break;
      }
      case "afterPhis": {
        const f = p.block.firstNonPhi();
        if (f) inst.insertBefore(f);
        else p.block.append(inst);
        this.point = { kind: "after", inst };
        break;
      }
    }
    return inst;
  }

  /** Creates and inserts an instruction (no type checks: prefer the typed methods). */
  create(opcode: Opcode, type: Type, typeParam: Type, operands: readonly Value[] = [], attrs: InstructionAttrs = {}): Instruction {
    return this.insert(this.fn.createInstruction(opcode, type, typeParam, operands, attrs));
  }

  /** Creates and inserts an instruction whose types follow `opcode`'s signature (asserted). */
  private typed(opcode: Opcode, typeParam: Type, operands: readonly Value[], attrs: InstructionAttrs = {}, to?: Type): Instruction {
    const type = resultTypeOf(opcode, typeParam, to);
    // The messages (and the closure that prints operands) only when a rule is broken.
    if (!satisfiesSignature(opcode, type, typeParam, operands)) {
      const errors = signatureErrors(opcode, type, typeParam, operands, (i) => printValue(operands[i]!));
      assert(false, () => `${opcode}: ${errors.join("; ")}`);
    }
    return this.create(opcode, type, typeParam, operands, attrs);
  }

  // ---- constants ----

  /** A constant of type `type` (default i64). */
  const(value: bigint | number, type: Type = i64): Value {
    return this.fn.constant(type, value);
  }

  // ---- arithmetic ----

  binary(op: BinaryOpcode, a: Value, b: Value): Instruction {
    return this.typed(op, a.type, [a, b]);
  }
  add(a: Value, b: Value): Instruction {
    return this.binary("add", a, b);
  }
  sub(a: Value, b: Value): Instruction {
    return this.binary("sub", a, b);
  }
  mul(a: Value, b: Value): Instruction {
    return this.binary("mul", a, b);
  }
  and(a: Value, b: Value): Instruction {
    return this.binary("and", a, b);
  }
  or(a: Value, b: Value): Instruction {
    return this.binary("or", a, b);
  }
  xor(a: Value, b: Value): Instruction {
    return this.binary("xor", a, b);
  }
  shl(a: Value, b: Value): Instruction {
    return this.binary("shl", a, b);
  }
  unary(op: UnaryOpcode, a: Value): Instruction {
    return this.typed(op, a.type, [a]);
  }
  /** zext/sext/trunc of `a` to `to`. */
  cast(op: CastOpcode, a: Value, to: IntType): Instruction {
    return this.typed(op, a.type, [a], {}, to);
  }
  /** Compare; the result is an i64 holding 0 or 1. */
  compare(op: CompareOpcode, a: Value, b: Value): Instruction {
    return this.typed(op, a.type, [a, b]);
  }
  /** `cond != 0 ? a : b` (of `a`'s type; `b` must be assignable to it). */
  select(cond: Value, a: Value, b: Value): Instruction {
    return this.typed("select", a.type, [cond, a, b]);
  }
  /** Pointer plus a byte offset (i64), same region. */
  ptrAdd(p: Value, n: Value): Instruction {
    return this.typed("ptradd", p.type, [p, n]);
  }
  /** A copy of `a` as a `type` (default `a`'s own; `a` must be assignable to it). */
  copy(a: Value, type: Type = a.type): Instruction {
    return this.typed("copy", type, [a]);
  }

  // ---- memory ----

  /** Loads a `type` from `p + offset`. */
  load(type: Type, p: Value, offset = 0): Instruction {
    return this.typed("load", type, [p], { offset });
  }
  /** Stores `v` to `p + offset`. */
  store(v: Value, p: Value, offset = 0): Instruction {
    return this.typed("store", v.type, [v, p], { offset });
  }
  /** Atomic add of `v` to `p + offset`; `fetch` returns the old value. */
  atomic(op: AtomicOpcode, p: Value, v: Value, offset = 0): Instruction {
    return this.typed(op, v.type, [p, v], { offset });
  }
  /**
   * Legacy packet load (eBPF LD_ABS/LD_IND): reads a `type` at packet byte
   * `index + offset` in network order and returns it in host order. Aborts the program
   * with return value 0 when out of bounds. `ctx` must be the program's context.
   */
  pktLoad(type: IntType, ctx: Value, index: Value, offset = 0): Instruction {
    return this.typed("pktload", type, [ctx, index], { offset });
  }
  /** A stack slot of `size` bytes. */
  alloca(size: number, align = 8): Instruction {
    assert(size > 0 && Number.isInteger(size), "alloca: size must be a positive integer");
    return this.typed("alloca", ptrType("stack"), [], { size, align });
  }

  // ---- calls and maps ----

  /** Calls eBPF helper `helper` (its kernel id). */
  callHelper(helper: number, args: readonly Value[], returnType: Type = i64): Instruction {
    assert(args.length <= MAX_CALL_ARGS, `call: eBPF helpers take at most ${MAX_CALL_ARGS} arguments`);
    return this.typed("call", returnType, args, { helper });
  }
  /** Calls function `callee` of the module. */
  callFunction(callee: string, args: readonly Value[], returnType: Type = i64): Instruction {
    assert(args.length <= MAX_CALL_ARGS, `call: eBPF functions take at most ${MAX_CALL_ARGS} arguments`);
    return this.typed("call", returnType, args, { callee });
  }
  /** The address of map `name` (an `ld_imm64` with a map relocation). */
  mapRef(name: string): Instruction {
    const t: PtrType = ptrType("map");
    return this.typed("mapref", t, [], { map: name });
  }

  /** The value of CO-RE relocation `name` of the module (an i64 the loader may rewrite). */
  coreValue(name: string): Instruction {
    return this.create("coreval", i64, i64, [], { core: name });
  }

  // ---- SSA and control flow ----

  /** An empty phi of type `type`; add pairs with `addIncoming`. Inserts after existing phis. */
  phi(type: Type, block?: BasicBlock): Instruction {
    const inst = this.fn.createInstruction("phi", type, type);
    const bb = block ?? this.block;
    const f = bb.firstNonPhi();
    if (f) inst.insertBefore(f);
    else bb.append(inst);
    if (this.loc && !inst.loc) inst.loc = this.loc;
    return inst;
  }
  br(target: BasicBlock): Instruction {
    const inst = this.fn.createInstruction("br", voidType, voidType);
    inst.initTargets([target]);
    return this.insert(inst);
  }
  condBr(cond: Value, ifTrue: BasicBlock, ifFalse: BasicBlock): Instruction {
    if (!satisfiesSignature("condbr", voidType, cond.type, [cond])) {
      const errors = signatureErrors("condbr", voidType, cond.type, [cond], () => printValue(cond));
      assert(false, () => `condbr: ${errors.join("; ")}`);
    }
    const inst = this.fn.createInstruction("condbr", voidType, cond.type, [cond]);
    inst.initTargets([ifTrue, ifFalse]);
    return this.insert(inst);
  }
  ret(v?: Value): Instruction {
    return this.create("ret", voidType, this.fn.returnType, v ? [v] : []);
  }
  unreachable(): Instruction {
    return this.create("unreachable", voidType, voidType);
  }
}

/** Convenience: the opcode table entry is pure and side-effect free. */
export function isPureOpcode(op: Opcode): boolean {
  return OPCODES[op].pure;
}
