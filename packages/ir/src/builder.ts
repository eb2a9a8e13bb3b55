/**
 * The IR builder: creates instructions at an insertion point.
 *
 * Insertion points: before/after an instruction, front/back of a block, before the
 * terminator, after the phis. Result types follow the rules of `opcodes.ts`; the builder
 * checks operand types eagerly so that front ends fail close to their bug.
 */
import { BasicBlock, Function, Instruction, type InstructionAttrs, type Value } from "./core.js";
import { assert, type SourceLocation } from "./errors.js";
import { OPCODES, type AtomicOpcode, type BinaryOpcode, type CastOpcode, type CompareOpcode, type Opcode, type UnaryOpcode } from "./opcodes.js";
import { i64, isInt, ptrType, voidType, type IntType, type PtrType, type Type } from "./types.js";

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

  // ---- constants ----

  /** A constant of type `type` (default i64). */
  const(value: bigint | number, type: Type = i64): Value {
    return this.fn.constant(type, value);
  }

  // ---- arithmetic ----

  binary(op: BinaryOpcode, a: Value, b: Value): Instruction {
    sameInt(op, a, b);
    return this.create(op, a.type, a.type, [a, b]);
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
    assert(isInt(a.type), `${op}: operand must be an integer`);
    if (op === "bswap") assert(a.type.bits >= 16, "bswap: operand must be i16, i32 or i64");
    return this.create(op, a.type, a.type, [a]);
  }
  /** zext/sext/trunc of `a` to `to`. */
  cast(op: CastOpcode, a: Value, to: IntType): Instruction {
    assert(isInt(a.type), `${op}: operand must be an integer`);
    const widen = op !== "trunc";
    assert(widen ? to.bits > a.type.bits : to.bits < a.type.bits, `${op}: i${a.type.bits} to i${to.bits} is not a ${widen ? "widening" : "narrowing"}`);
    return this.create(op, to, a.type, [a]);
  }
  /** Compare; the result is an i64 holding 0 or 1. */
  compare(op: CompareOpcode, a: Value, b: Value): Instruction {
    assert(a.type.kind !== "void" && sameKind(a.type, b.type), `${op}: operands must have the same scalar type`);
    return this.create(op, i64, a.type, [a, b]);
  }
  /** `cond != 0 ? a : b`. */
  select(cond: Value, a: Value, b: Value): Instruction {
    assert(isInt(cond.type), "select: condition must be an integer");
    assert(a.type === b.type, "select: arms must have the same type");
    return this.create("select", a.type, a.type, [cond, a, b]);
  }
  /** Pointer plus a byte offset (i64), same region. */
  ptrAdd(p: Value, n: Value): Instruction {
    assert(p.type.kind === "ptr", "ptradd: first operand must be a pointer");
    assert(n.type === i64, "ptradd: offset must be i64");
    return this.create("ptradd", p.type, p.type, [p, n]);
  }
  /** A copy (used when leaving SSA and by tests). */
  copy(a: Value): Instruction {
    return this.create("copy", a.type, a.type, [a]);
  }

  // ---- memory ----

  /** Loads a `type` from `p + offset`. */
  load(type: Type, p: Value, offset = 0): Instruction {
    assert(p.type.kind === "ptr", "load: address must be a pointer");
    assert(type.kind !== "void", "load: cannot load void");
    return this.create("load", type, type, [p], { offset });
  }
  /** Stores `v` to `p + offset`. */
  store(v: Value, p: Value, offset = 0): Instruction {
    assert(p.type.kind === "ptr", "store: address must be a pointer");
    assert(v.type.kind !== "void", "store: cannot store void");
    return this.create("store", voidType, v.type, [v, p], { offset });
  }
  /** Atomic add of `v` to `p + offset`; `fetch` returns the old value. */
  atomic(op: AtomicOpcode, p: Value, v: Value, offset = 0): Instruction {
    assert(p.type.kind === "ptr", "atomic: address must be a pointer");
    assert(v.type.kind === "int" && v.type.bits >= 32, "atomic: operand must be i32 or i64");
    return this.create(op, op === "atomic.fetch_add" ? v.type : voidType, v.type, [p, v], { offset });
  }
  /**
   * Legacy packet load (eBPF LD_ABS/LD_IND): reads a `type` at packet byte
   * `index + offset` in network order and returns it in host order. Aborts the program
   * with return value 0 when out of bounds. `ctx` must be the program's context.
   */
  pktLoad(type: IntType, ctx: Value, index: Value, offset = 0): Instruction {
    assert(type.bits <= 32, "pktload: at most 4 bytes");
    assert(index.type === i64, "pktload: index must be i64");
    return this.create("pktload", type, type, [ctx, index], { offset });
  }
  /** A stack slot of `size` bytes. */
  alloca(size: number, align = 8): Instruction {
    assert(size > 0 && Number.isInteger(size), "alloca: size must be a positive integer");
    const t = ptrType("stack");
    return this.create("alloca", t, t, [], { size, align });
  }

  // ---- calls and maps ----

  /** Calls eBPF helper `helper` (its kernel id). */
  callHelper(helper: number, args: readonly Value[], returnType: Type = i64): Instruction {
    assert(args.length <= 5, "call: eBPF helpers take at most 5 arguments");
    return this.create("call", returnType, returnType, args, { helper });
  }
  /** Calls function `callee` of the module. */
  callFunction(callee: string, args: readonly Value[], returnType: Type = i64): Instruction {
    assert(args.length <= 5, "call: eBPF functions take at most 5 arguments");
    return this.create("call", returnType, returnType, args, { callee });
  }
  /** The address of map `name` (an `ld_imm64` with a map relocation). */
  mapRef(name: string): Instruction {
    const t: PtrType = ptrType("map");
    return this.create("mapref", t, t, [], { map: name });
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
    inst.targets.push(target);
    return this.insert(inst);
  }
  condBr(cond: Value, ifTrue: BasicBlock, ifFalse: BasicBlock): Instruction {
    assert(isInt(cond.type), "condbr: condition must be an integer");
    const inst = this.fn.createInstruction("condbr", voidType, cond.type, [cond]);
    inst.targets.push(ifTrue, ifFalse);
    return this.insert(inst);
  }
  ret(v?: Value): Instruction {
    return this.create("ret", voidType, this.fn.returnType, v ? [v] : []);
  }
  unreachable(): Instruction {
    return this.create("unreachable", voidType, voidType);
  }
}

function sameKind(a: Type, b: Type): boolean {
  return a === b || (a.kind === "ptr" && b.kind === "ptr");
}
function sameInt(op: string, a: Value, b: Value): void {
  assert(isInt(a.type) && a.type === b.type, () => `${op}: operands must be integers of the same type`);
}

/** Convenience: the opcode table entry is pure and side-effect free. */
export function isPureOpcode(op: Opcode): boolean {
  return OPCODES[op].pure;
}
