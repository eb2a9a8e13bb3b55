/**
 * A fast-check generator of random *executable*, verifier-clean IR functions, for
 * differential testing of the passes against the interpreter.
 *
 * Programs are built structurally through the Builder, so SSA dominance holds by
 * construction and every program terminates:
 * - straight-line arithmetic at every width (binary, unary, casts, compares, selects) on
 *   in-scope values and edge-case constants;
 * - if/else diamonds and if-without-else triangles with phis at the join, occasionally an
 *   early `ret` in the then-branch, and `condbr c, X, X` with differing phi pairs;
 * - counted loops (trip count at most 4, or a parameter masked to 0..3) with loop-carried
 *   phis, nested up to the depth limit (all reducible: every cycle has one header that
 *   dominates it); some are entered from several blocks (no preheader: the header's phis
 *   take a pair from each entering block), some have a `continue` edge (two latches) and a
 *   `break` edge (two exiting blocks, the exit block shared), some are guarded (the guard
 *   may jump straight to the exit, whose phis then merge the loop's values with the guard's);
 * - loads from the 16-byte context (read-only, so loop-invariant ones may be hoisted);
 * - a 16-byte stack slot (zeroed at entry so no read is uninitialised) with loads/stores
 *   at every width, plus a write-only slot (dead stores);
 * - map lookups (helper 1) with a null check guarding loads, stores and atomic adds into
 *   the value, and map updates (helper 2), on an array map and a hash map;
 * - helper calls 5, 8, 14 (time, cpu, pid) and packet loads (`pktload`, which may abort
 *   the program with 0 when out of bounds).
 *
 * Choices are read off a "tape" of numbers: fast-check shrinks the tape, which shrinks the
 * program (an exhausted tape reads zeros, which always picks the simplest choice).
 */
import { BPF_FUNC, UpdateFlag } from "@luabpf/platform";
import fc from "fast-check";
import {
  ptrType,
  Builder,
  Module,
  i16,
  i32,
  i64,
  i8,
  type BasicBlock,
  type BinaryOpcode,
  type CompareOpcode,
  type Function,
  type Instruction,
  type IntType,
  type Value,
} from "@luabpf/ir";
import { Tape } from "./tape.js";

const BINARY: BinaryOpcode[] = ["add", "sub", "mul", "udiv", "sdiv", "urem", "srem", "and", "or", "xor", "shl", "lshr", "ashr"];
const COMPARE: CompareOpcode[] = ["eq", "ne", "ult", "ule", "ugt", "uge", "slt", "sle", "sgt", "sge"];
const INTS: IntType[] = [i64, i64, i64, i32, i32, i16, i8];
const CONSTANTS: bigint[] = [0n, 1n, 2n, 3n, 4n, 8n, -1n, 7n, 16n, 63n, 64n, 255n, -128n, 2n ** 31n, -(2n ** 63n), 2n ** 63n - 1n, 12345n];

/** The signature of every generated function: `f(ctx, a, b, c)`. */
export const PARAMS = "ptr.ctx, i64, i64, i32";

interface Gen {
  tape: Tape;
  fn: Function;
  b: Builder;
  slot: Value;
  deadSlot: Value;
  keySlot: Value;
  valSlot: Value;
  ctx: Value;
  budget: number;
}

function operand(g: Gen, scope: Value[], t: IntType): Value {
  const cands = scope.filter((v) => v.type === t);
  if (cands.length > 0 && !g.tape.percent(30)) return g.tape.pick(cands);
  return g.fn.constant(t, g.tape.pick(CONSTANTS));
}

function anyInt(g: Gen, scope: Value[]): Value {
  return operand(g, scope, g.tape.pick(INTS));
}

/** One straight-line instruction (or a small group) appended at the builder's position. */
function simpleStatement(g: Gen, scope: Value[]): void {
  const { tape, b } = g;
  switch (tape.below(13)) {
    case 0:
    case 1:
    case 2: {
      const t = tape.pick(INTS);
      scope.push(b.binary(tape.pick(BINARY), operand(g, scope, t), operand(g, scope, t)));
      return;
    }
    case 3: {
      const t = tape.pick(INTS);
      scope.push(b.compare(tape.pick(COMPARE), operand(g, scope, t), tape.percent(30) ? operand(g, scope, t) : operand(g, scope, t)));
      return;
    }
    case 4: {
      const t = tape.pick(INTS);
      const op = tape.pick(["neg", "not", "bswap"] as const);
      if (op === "bswap" && t.bits === 8) return;
      scope.push(b.unary(op, operand(g, scope, t)));
      return;
    }
    case 5: {
      const from = tape.pick(INTS);
      const to = tape.pick(INTS);
      if (from.bits === to.bits) return;
      const x = operand(g, scope, from);
      scope.push(to.bits > from.bits ? b.cast(tape.percent(50) ? "zext" : "sext", x, to) : b.cast("trunc", x, to));
      return;
    }
    case 6: {
      const t = tape.pick(INTS);
      scope.push(b.select(operand(g, scope, i64), operand(g, scope, t), operand(g, scope, t)));
      return;
    }
    case 7: {
      // Stack slot traffic: 16 bytes, zeroed at entry.
      const t = tape.pick(INTS);
      const off = tape.below(16 / t.size) * t.size;
      if (tape.percent(50)) b.store(operand(g, scope, t), g.slot, off);
      else scope.push(b.load(t, g.slot, off));
      if (tape.percent(30)) b.store(operand(g, scope, i64), g.deadSlot, 0);
      return;
    }
    case 8: {
      scope.push(b.callHelper(tape.pick([BPF_FUNC.ktime_get_ns, BPF_FUNC.get_smp_processor_id, BPF_FUNC.get_current_pid_tgid]), []));
      return;
    }
    case 9: {
      const t = tape.pick([i8, i16, i32]);
      scope.push(b.pktLoad(t, g.ctx, b.and(operand(g, scope, i64), g.fn.constant(i64, 7n)), tape.below(4)));
      return;
    }
    case 10: {
      // A redundant pure expression or load, for GVN.
      const cands = scope.filter((v): v is Instruction => v.kind === "instruction" && ((v as Instruction).info.pure || (v as Instruction).opcode === "load") && (v as Instruction).opcode !== "phi");
      if (cands.length === 0) return;
      const orig = tape.pick(cands);
      const clone = g.fn.cloneInstruction(orig, tape.percent(50) && orig.info.commutative ? [...orig.operands].reverse() : orig.operands);
      scope.push(b.insert(clone));
      return;
    }
    case 11: {
      // A context load (16 bytes of context; the offset is a multiple of the width).
      const t = tape.pick(INTS);
      scope.push(b.load(t, g.ctx, tape.below(16 / t.size) * t.size));
      return;
    }
    default: {
      scope.push(b.binary(tape.pick(BINARY), operand(g, scope, i64), operand(g, scope, i64)));
      return;
    }
  }
}

/** Map traffic: lookup with a null check, or an update. Creates blocks. */
function mapStatement(g: Gen, scope: Value[]): void {
  const { tape, b, fn } = g;
  const map = b.mapRef(tape.percent(50) ? "arr" : "hash");
  b.store(b.and(b.cast("trunc", operand(g, scope, i64), i32), fn.constant(i32, 3n)), g.keySlot, 0);
  if (tape.percent(30)) {
    b.store(operand(g, scope, i64), g.valSlot, 0);
    scope.push(b.callHelper(BPF_FUNC.map_update_elem, [map, g.keySlot, g.valSlot, fn.constant(i64, BigInt(UpdateFlag.ANY))]));
    return;
  }
  const p = b.callHelper(BPF_FUNC.map_lookup_elem, [map, g.keySlot], ptrType("map_value_or_null"));
  const isNull = b.compare("eq", p, fn.constant(p.type, 0n));
  const then = fn.createBlock();
  const join = fn.createBlock();
  const cur = b.block;
  b.condBr(isNull, join, then);
  b.atEnd(then);
  let v: Value;
  switch (tape.below(3)) {
    case 0:
      v = b.load(i64, p, 0);
      break;
    case 1:
      b.store(operand(g, scope, i64), p, 0);
      v = b.load(i32, p, 4);
      v = b.cast("sext", v, i64);
      break;
    default:
      v = b.atomic("atomic.fetch_add", p, operand(g, scope, i64), 0);
  }
  b.br(join);
  b.atEnd(join);
  const phi = b.phi(i64, join);
  phi.addIncoming(fn.constant(i64, -1n), cur);
  phi.addIncoming(v, then);
  scope.push(phi);
}

/** Generates statements into the current block; returns false if the block was terminated by a `ret`. */
function block(g: Gen, scope: Value[], depth: number): void {
  const n = 1 + g.tape.below(5);
  for (let k = 0; k < n && g.budget > 0; k++) {
    g.budget--;
    const r = g.tape.below(10);
    if (r < 6 || depth >= 3) simpleStatement(g, scope);
    else if (r === 6) mapStatement(g, scope);
    else if (r === 7 || r === 8) ifStatement(g, scope, depth);
    else loopStatement(g, scope, depth);
  }
}

function ifStatement(g: Gen, scope: Value[], depth: number): void {
  const { tape, b, fn } = g;
  const cond = tape.percent(70) ? b.compare(tape.pick(COMPARE), operand(g, scope, i64), operand(g, scope, i64)) : anyInt(g, scope);
  const cur = b.block;
  const join = fn.createBlock();
  if (tape.percent(8)) {
    // condbr c, X, X with a different value on each edge.
    b.condBr(cond, join, join);
    b.atEnd(join);
    const t = tape.pick(INTS);
    const phi = b.phi(t, join);
    phi.addIncoming(operand(g, scope, t), cur);
    phi.addIncoming(operand(g, scope, t), cur);
    scope.push(phi);
    return;
  }
  const then = fn.createBlock();
  const hasElse = tape.percent(60);
  const els = hasElse ? fn.createBlock() : join;
  b.condBr(cond, then, els);
  const arms: { end: BasicBlock; scope: Value[] }[] = [];
  b.atEnd(then);
  const thenScope = [...scope];
  block(g, thenScope, depth + 1);
  if (tape.percent(10)) b.ret(operand(g, thenScope, i64));
  else (arms.push({ end: b.block, scope: thenScope }), b.br(join));
  if (hasElse) {
    b.atEnd(els);
    const elseScope = [...scope];
    block(g, elseScope, depth + 1);
    arms.push({ end: b.block, scope: elseScope });
    b.br(join);
  } else arms.push({ end: cur, scope: [...scope] });
  b.atEnd(join);
  const phis = 1 + tape.below(3);
  for (let k = 0; k < phis; k++) {
    const t = tape.pick(INTS);
    const phi = b.phi(t, join);
    for (const arm of arms) phi.addIncoming(operand(g, arm.scope, t), arm.end);
    scope.push(phi);
  }
}

function loopStatement(g: Gen, scope: Value[], depth: number): void {
  const { tape, b, fn } = g;
  const bound = tape.percent(50) ? fn.constant(i64, BigInt(tape.below(5))) : b.and(operand(g, scope, i64), fn.constant(i64, 3n));
  const header = fn.createBlock();
  const exit = fn.createBlock();
  let skipFrom: BasicBlock | undefined;
  // Entering blocks: the current block, or (several entries) both arms of a branch.
  let entering: BasicBlock[];
  if (tape.percent(25)) {
    const [left, right] = [fn.createBlock(), fn.createBlock()];
    b.condBr(b.compare(tape.pick(COMPARE), operand(g, scope, i64), operand(g, scope, i64)), left, right);
    b.atEnd(left).br(header);
    b.atEnd(right).br(header);
    entering = [left, right];
  } else {
    entering = [b.block];
    if (tape.percent(25)) {
      // A guarded loop: the guard may skip it, so the exit is also entered from outside.
      skipFrom = b.block;
      b.condBr(b.compare(tape.pick(COMPARE), operand(g, scope, i64), operand(g, scope, i64)), header, exit);
    } else b.br(header);
  }
  const body = fn.createBlock();
  b.atEnd(header);
  const i = b.phi(i64, header);
  for (const e of entering) i.addIncoming(fn.constant(i64, BigInt(tape.below(2))), e);
  const carried: Instruction[] = [];
  const nCarried = tape.below(3);
  for (let k = 0; k < nCarried; k++) {
    const t = tape.pick(INTS);
    const phi = b.phi(t, header);
    for (const e of entering) phi.addIncoming(operand(g, scope, t), e);
    carried.push(phi);
  }
  b.atEnd(header);
  b.condBr(b.compare("ult", i, bound), body, exit);
  b.atEnd(body);
  const next = b.add(i, fn.constant(i64, 1n));
  const bodyScope = [...scope, i, ...carried, next];
  const backEdge = (from: BasicBlock, values: Value[]) => {
    i.addIncoming(next, from);
    for (const phi of carried) phi.addIncoming(operand(g, values, phi.type as IntType), from);
  };
  if (tape.percent(20)) {
    // continue: a second latch.
    const rest = fn.createBlock();
    const from = b.block;
    b.condBr(b.compare(tape.pick(COMPARE), operand(g, bodyScope, i64), operand(g, bodyScope, i64)), header, rest);
    backEdge(from, bodyScope);
    b.atEnd(rest);
  }
  block(g, bodyScope, depth + 1);
  if (tape.percent(20)) {
    // break: a second exiting block into the same exit.
    const rest = fn.createBlock();
    b.condBr(b.compare(tape.pick(COMPARE), operand(g, bodyScope, i64), operand(g, bodyScope, i64)), exit, rest);
    b.atEnd(rest);
  }
  backEdge(b.block, bodyScope);
  b.br(header);
  b.atEnd(exit);
  if (!skipFrom) {
    scope.push(i, ...carried);
    return;
  }
  // The header does not dominate a skippable exit: merge each header phi with a value from the guard.
  // (Values for the guard edge come from the scope before the loop, not from these phis.)
  const outer = [...scope];
  for (const v of [i, ...carried]) {
    const phi = b.phi(v.type, exit);
    for (const p of exit.preds) phi.addIncoming(p === skipFrom ? operand(g, outer, v.type as IntType) : v, p);
    scope.push(phi);
  }
}

/** Builds the module `{ map arr, map hash, func f(ptr.ctx, i64, i64, i32) -> i64 }` from a tape. */
export function buildProgram(choices: readonly number[]): Module {
  const m = new Module();
  m.addMap({ name: "arr", kind: "array", key: i32, value: i64, maxEntries: 4, flags: 0 });
  m.addMap({ name: "hash", kind: "hash", key: i32, value: i64, maxEntries: 8, flags: 0 });
  const fn = m.addFunction("f", [{ kind: "ptr", region: "ctx", size: 8 } as never, i64, i64, i32], i64);
  const b = new Builder(fn).atEnd(fn.createBlock());
  const slot = b.alloca(16);
  b.store(fn.constant(i64, 0n), slot, 0);
  b.store(fn.constant(i64, 0n), slot, 8);
  const g: Gen = {
    tape: new Tape(choices),
    fn,
    b,
    slot,
    deadSlot: b.alloca(8),
    keySlot: b.alloca(4),
    valSlot: b.alloca(8),
    ctx: fn.params[0]!,
    budget: 40,
  };
  const scope: Value[] = [fn.params[1]!, fn.params[2]!, fn.params[3]!];
  block(g, scope, 0);
  // Return a mix of the last few i64 values so that most of the program is observable.
  const ints = scope.filter((v) => v.type === i64).slice(-3);
  let r: Value = fn.constant(i64, 0n);
  for (const v of ints) r = b.add(b.mul(r, fn.constant(i64, 31n)), v);
  b.ret(r);
  return m;
}

/** Inputs of one run: a, b, c, up to 10 packet bytes and 16 context bytes. */
export interface ProgramInput {
  args: [bigint, bigint, bigint];
  packet: Uint8Array;
  ctx: Uint8Array;
}

const interesting64 = fc.oneof(fc.bigInt({ min: -4n, max: 8n }), fc.constantFrom(-(2n ** 63n), 2n ** 63n - 1n, 255n, 65536n), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }));

/** Arbitrary inputs. */
export const inputArb: fc.Arbitrary<ProgramInput> = fc.record({
  args: fc.tuple(interesting64, interesting64, fc.oneof(fc.bigInt({ min: -4n, max: 8n }), fc.bigInt({ min: -(2n ** 31n), max: 2n ** 31n - 1n }))),
  packet: fc.uint8Array({ minLength: 0, maxLength: 10 }),
  ctx: fc.uint8Array({ minLength: 16, maxLength: 16 }),
});

/** A random program tape (shrinks to smaller programs). */
export const tapeArb: fc.Arbitrary<number[]> = fc.array(fc.nat({ max: 1_000_000 }), { minLength: 0, maxLength: 400, size: "large" });
