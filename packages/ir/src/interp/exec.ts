/**
 * The execution engine: each function is compiled once per run into dispatch tables —
 * per block, an array of closures (one per instruction, specialised on opcode, width and
 * operand registers) and a terminator closure that picks an outgoing edge; per edge, the
 * phi moves as two register-index arrays. Executing is then a loop over closures with no
 * per-step decisions about what an instruction is.
 *
 * Registers are a flat array indexed by value id (params, instructions and constants
 * share the id space); constants are pre-filled in a template that each call copies.
 * Phis take all their incoming values on an edge at once (parallel copy through a
 * temporary), so a phi reading another phi of the same block sees the old value.
 *
 * Steps count executed instructions, phis and terminators included; a block is charged
 * on entry. Compilation happens per run (functions are mutated between runs by passes).
 */
import { isConstant, type BasicBlock, type Function, type Instruction } from "../core.js";
import { assertNever } from "../errors.js";
import type { Module } from "../module.js";
import type { BinaryOpcode, CastOpcode, CompareOpcode, UnaryOpcode } from "../opcodes.js";
import { bitsOf, type Type } from "../types.js";
import { binaryOp, castOp, comparePredicate, unaryOp } from "./arith.js";
import { BUILTIN_HELPERS, type HelperFn, type InterpContext } from "./helpers.js";
import type { MapInstance, MapState } from "./maps.js";
import { atomicAdd, loadValue, packetLoad, readBytes, storeValue, writeBytes, type CtxPointerKind, type MemoryEnv } from "./memory.js";
import { InterpError, InterpPointer, MemoryObject, type InterpValue } from "./values.js";

type Regs = (InterpValue | undefined)[];

interface Frame {
  readonly regs: Regs;
  /** Per alloca instruction of the function: the pointer to its stack object, once created. */
  readonly allocas: (InterpPointer | undefined)[];
  ret: InterpValue;
  readonly depth: number;
}

type Step = (f: Frame) => void;
/** Returns the edge taken, or undefined when the function returned (value in `f.ret`). */
type Terminator = (f: Frame) => Edge | undefined;

interface Edge {
  to: CompiledBlock;
  /** Phi moves: `regs[dst[k]] = regs[src[k]]`, all reads before all writes. */
  src: number[];
  dst: number[];
  tmp: (InterpValue | undefined)[];
  /** Set when a phi of `to` has no value for this edge (malformed IR): taking it traps. */
  error: string | undefined;
}

interface CompiledBlock {
  readonly block: BasicBlock;
  /** Body instructions then the terminator, for error locations. */
  readonly insts: Instruction[];
  cost: number;
  body: Step[];
  term: Terminator;
}

interface CompiledFunction {
  readonly fn: Function;
  readonly template: Regs;
  readonly entry: CompiledBlock;
  readonly allocaCount: number;
}

/** Thrown by an out-of-bounds `pktload`: the current function returns 0. */
const PACKET_ABORT = Symbol("packet abort");

function int(v: InterpValue | undefined): bigint {
  if (typeof v === "bigint") return v;
  throw new InterpError(v === undefined ? "use of an undefined value" : `pointer ${v} used as an integer`);
}

function truthy(v: InterpValue | undefined): boolean {
  if (typeof v === "bigint") return v !== 0n;
  if (v instanceof InterpPointer) return true;
  throw new InterpError("branch on an undefined value");
}

/** Compare where at least one side is a pointer: same object → by offset; else only eq/ne. */
function comparePointers(op: CompareOpcode, x: InterpValue | undefined, y: InterpValue | undefined): boolean {
  if (x === undefined || y === undefined) throw new InterpError("compare of an undefined value");
  if (x instanceof InterpPointer && y instanceof InterpPointer && x.object === y.object) {
    const c = x.offset < y.offset ? -1 : x.offset > y.offset ? 1 : 0;
    switch (op) {
      case "eq":
        return c === 0;
      case "ne":
        return c !== 0;
      case "ult":
      case "slt":
        return c < 0;
      case "ule":
      case "sle":
        return c <= 0;
      case "ugt":
      case "sgt":
        return c > 0;
      case "uge":
      case "sge":
        return c >= 0;
    }
  }
  // Distinct objects, or an object pointer and an integer (e.g. null): never equal.
  if (op === "eq") return false;
  if (op === "ne") return true;
  throw new InterpError(`ordered compare ${op} of ${x} and ${y}, which do not point into the same object`);
}

/** Wraps a value produced outside the function (argument, helper result) to its type. */
function toTyped(v: InterpValue | number | undefined, t: Type, what: string): InterpValue {
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new InterpError(`${what} is not an integer: ${v}`);
    v = BigInt(v);
  }
  if (typeof v === "bigint") return t.kind === "int" ? BigInt.asIntN(t.bits, v) : BigInt.asIntN(64, v);
  if (v instanceof InterpPointer) return v;
  throw new InterpError(`${what} is missing`);
}

/** Options of a run, resolved. */
export interface RunSettings {
  readonly module: Module;
  readonly maps: MapState;
  readonly helpers: Readonly<Record<number, HelperFn>>;
  readonly ctx: MemoryObject;
  readonly packet: MemoryObject;
  readonly ctxPointers: ReadonlyMap<number, CtxPointerKind>;
  readonly maxSteps: number;
  readonly maxCallDepth: number;
  readonly time: bigint;
  readonly pidTgid: bigint;
  readonly cpu: bigint;
}

/** One interpretation: settings, step counter, compiled functions. Also the helpers' context. */
export class Run implements MemoryEnv, InterpContext {
  steps = 0;
  readonly module: Module;
  readonly maps: MapState;
  readonly time: bigint;
  readonly pidTgid: bigint;
  readonly cpu: bigint;
  readonly ctxPointers: ReadonlyMap<number, CtxPointerKind>;
  private readonly packetPointers: Record<CtxPointerKind, InterpPointer>;
  private readonly compiled = new Map<string, CompiledFunction>();

  constructor(readonly settings: RunSettings) {
    this.module = settings.module;
    this.maps = settings.maps;
    this.time = settings.time;
    this.pidTgid = settings.pidTgid;
    this.cpu = settings.cpu;
    this.ctxPointers = settings.ctxPointers;
    const pkt = settings.packet;
    // No metadata area: data_meta == data.
    this.packetPointers = {
      packet: new InterpPointer(pkt, 0n),
      packet_meta: new InterpPointer(pkt, 0n),
      packet_end: new InterpPointer(pkt, BigInt(pkt.bytes.length)),
    };
  }

  packetPointer(kind: CtxPointerKind): InterpPointer {
    return this.packetPointers[kind];
  }
  readBytes(p: InterpValue, size: number): Uint8Array {
    return readBytes(p, size);
  }
  writeBytes(p: InterpValue, bytes: Uint8Array): void {
    writeBytes(p, bytes);
  }
  mapOf(p: InterpValue): MapInstance {
    if (p instanceof InterpPointer && p.object.kind === "map" && p.object.map) return p.object.map;
    throw new InterpError(`${p} is not a map`);
  }

  /** Calls `fn` with `args` (already resolved values) at call depth `depth`. */
  call(fn: Function, args: readonly (InterpValue | number)[], depth: number): InterpValue {
    return this.invoke(this.compile(fn), args, depth);
  }

  private compile(fn: Function): CompiledFunction {
    let cf = this.compiled.get(fn.name);
    if (!cf) {
      cf = compileFunction(this, fn);
      this.compiled.set(fn.name, cf);
    }
    return cf;
  }

  /** @internal */
  callByName(name: string, args: InterpValue[], depth: number): InterpValue {
    const fn = this.module.getFunction(name);
    if (!fn) throw new InterpError(`call of unknown function @${name}`);
    return this.invoke(this.compile(fn), args, depth);
  }

  private invoke(cf: CompiledFunction, args: readonly (InterpValue | number | undefined)[], depth: number): InterpValue {
    const fn = cf.fn;
    if (depth > this.settings.maxCallDepth) throw new InterpError(`call depth limit of ${this.settings.maxCallDepth} exceeded`);
    if (args.length !== fn.params.length) {
      throw new InterpError(`@${fn.name} takes ${fn.params.length} arguments, got ${args.length}`);
    }
    const regs = cf.template.slice();
    for (const p of fn.params) regs[p.id] = toTyped(args[p.index], p.type, `argument ${p.index + 1} of @${fn.name}`);
    const frame: Frame = { regs, allocas: new Array<InterpPointer | undefined>(cf.allocaCount), ret: 0n, depth };
    const maxSteps = this.settings.maxSteps;
    let blk = cf.entry;
    let i = -1;
    try {
      for (;;) {
        i = -1;
        this.steps += blk.cost;
        if (this.steps > maxSteps) throw new InterpError(`step limit of ${maxSteps} exceeded`);
        const body = blk.body;
        for (i = 0; i < body.length; i++) body[i]!(frame);
        const edge = blk.term(frame);
        if (edge === undefined) return frame.ret;
        if (edge.error !== undefined) throw new InterpError(edge.error);
        const { src, dst } = edge;
        const n = src.length;
        if (n === 1) regs[dst[0]!] = regs[src[0]!];
        else if (n > 1) {
          const tmp = edge.tmp;
          for (let k = 0; k < n; k++) tmp[k] = regs[src[k]!];
          for (let k = 0; k < n; k++) regs[dst[k]!] = tmp[k];
        }
        blk = edge.to;
      }
    } catch (e) {
      if (e === PACKET_ABORT) return 0n;
      if (e instanceof InterpError) e.locate({ function: fn.name, block: blk.block.id, instruction: i >= 0 ? blk.insts[i] : undefined });
      throw e;
    } finally {
      for (const p of frame.allocas) if (p) p.object.live = false;
    }
  }
}

function compileFunction(run: Run, fn: Function): CompiledFunction {
  const template: Regs = new Array(fn.valueIdBound);
  const blocks = new Map<BasicBlock, CompiledBlock>();
  for (const bb of fn.blocks) {
    blocks.set(bb, { block: bb, insts: [], cost: bb.size, body: [], term: noTerminator(bb) });
  }
  let allocaCount = 0;
  const allocaIndex = () => allocaCount++;
  for (const bb of fn.blocks) {
    const cb = blocks.get(bb)!;
    let seenNonPhi = false;
    for (let inst = bb.first; inst; inst = inst.next) {
      for (const v of inst.operands) if (isConstant(v)) template[v.id] = v.value;
      if (inst.opcode === "phi" && !seenNonPhi) continue;
      seenNonPhi = true;
      cb.insts.push(inst);
      if (inst.isTerminator) {
        cb.term = compileTerminator(inst, bb, blocks);
        break;
      }
      cb.body.push(compileStep(run, inst, allocaIndex));
    }
  }
  return { fn, template, entry: blocks.get(fn.entry)!, allocaCount };
}

function noTerminator(bb: BasicBlock): Terminator {
  return () => {
    throw new InterpError(`@bb${bb.id} has no terminator`);
  };
}

function compileEdge(from: BasicBlock, slot: number, term: Instruction, blocks: Map<BasicBlock, CompiledBlock>): Edge {
  const to = term.targets[slot]!;
  const cto = blocks.get(to);
  if (!cto) return { to: blocks.get(from)!, src: [], dst: [], tmp: [], error: `branch to @bb${to.id}, which is not in the function` };
  // With several edges from `from` to `to` (condbr with equal targets), the k-th edge uses
  // the k-th incoming pair from `from`, or the first if there are fewer.
  let occurrence = 0;
  for (let s = 0; s < slot; s++) if (term.targets[s] === to) occurrence++;
  const src: number[] = [];
  const dst: number[] = [];
  let error: string | undefined;
  for (const phi of to.phis()) {
    const idx: number[] = [];
    phi.incoming.forEach((b, k) => b === from && idx.push(k));
    const k = idx[occurrence] ?? idx[0];
    if (k === undefined) {
      error ??= `phi %${phi.id} in @bb${to.id} has no incoming value from @bb${from.id}`;
      continue;
    }
    src.push(phi.operands[k]!.id);
    dst.push(phi.id);
  }
  return { to: cto, src, dst, tmp: new Array(src.length), error };
}

function compileTerminator(inst: Instruction, bb: BasicBlock, blocks: Map<BasicBlock, CompiledBlock>): Terminator {
  switch (inst.opcode) {
    case "br": {
      const e = compileEdge(bb, 0, inst, blocks);
      return () => e;
    }
    case "condbr": {
      const c = inst.operand(0).id;
      const t = compileEdge(bb, 0, inst, blocks);
      const f = compileEdge(bb, 1, inst, blocks);
      return (fr) => (truthy(fr.regs[c]) ? t : f);
    }
    case "ret": {
      if (inst.operands.length === 0) {
        return (fr) => {
          fr.ret = 0n;
          return undefined;
        };
      }
      const v = inst.operand(0).id;
      return (fr) => {
        const x = fr.regs[v];
        if (x === undefined) throw new InterpError("return of an undefined value");
        fr.ret = x;
        return undefined;
      };
    }
    case "unreachable":
      return () => {
        throw new InterpError("reached unreachable");
      };
    default:
      throw new InterpError(`${inst.opcode} is not a terminator`);
  }
}

function trap(message: string): Step {
  return () => {
    throw new InterpError(message);
  };
}

function compileStep(run: Run, inst: Instruction, allocaIndex: () => number): Step {
  const d = inst.id;
  const ops = inst.operands.map((v) => v.id);
  const a = ops[0]!;
  const b = ops[1]!;
  const op = inst.opcode;
  const T = inst.typeParam;
  const bits = bitsOf(T);
  switch (op) {
    case "add":
    case "sub":
    case "mul":
    case "udiv":
    case "sdiv":
    case "urem":
    case "srem":
    case "and":
    case "or":
    case "xor":
    case "shl":
    case "lshr":
    case "ashr": {
      const f2 = binaryOp(op satisfies BinaryOpcode, bits);
      return (f) => {
        const r = f.regs;
        r[d] = f2(int(r[a]), int(r[b]));
      };
    }
    case "neg":
    case "not":
    case "bswap": {
      const f1 = unaryOp(op satisfies UnaryOpcode, bits);
      return (f) => {
        const r = f.regs;
        r[d] = f1(int(r[a]));
      };
    }
    case "zext":
    case "sext":
    case "trunc": {
      const f1 = castOp(op satisfies CastOpcode, bits, bitsOf(inst.type));
      return (f) => {
        const r = f.regs;
        r[d] = f1(int(r[a]));
      };
    }
    case "eq":
    case "ne":
    case "ult":
    case "ule":
    case "ugt":
    case "uge":
    case "slt":
    case "sle":
    case "sgt":
    case "sge": {
      const pred = comparePredicate(op satisfies CompareOpcode, bits);
      return (f) => {
        const r = f.regs;
        const x = r[a];
        const y = r[b];
        r[d] = (typeof x === "bigint" && typeof y === "bigint" ? pred(x, y) : comparePointers(op, x, y)) ? 1n : 0n;
      };
    }
    case "select": {
      const c = ops[2]!;
      return (f) => {
        const r = f.regs;
        r[d] = truthy(r[a]) ? r[b] : r[c];
      };
    }
    case "copy":
      return (f) => {
        const r = f.regs;
        const x = r[a];
        if (x === undefined) throw new InterpError("copy of an undefined value");
        r[d] = x;
      };
    case "ptradd":
      return (f) => {
        const r = f.regs;
        const p = r[a];
        const n = int(r[b]);
        if (p instanceof InterpPointer) r[d] = new InterpPointer(p.object, BigInt.asIntN(64, p.offset + n));
        else r[d] = BigInt.asIntN(64, int(p) + n);
      };
    case "load": {
      const off = inst.offset;
      return (f) => {
        const r = f.regs;
        r[d] = loadValue(run, r[a], off, T);
      };
    }
    case "store": {
      const off = inst.offset;
      return (f) => {
        const r = f.regs;
        storeValue(run, r[a], r[b], off, T);
      };
    }
    case "atomic.add":
    case "atomic.fetch_add": {
      const off = inst.offset;
      if (T.kind !== "int" || T.bits < 32) return trap(`${op} of ${T.kind === "int" ? `i${T.bits}` : T.kind}: must be i32 or i64`);
      if (op === "atomic.add") {
        return (f) => {
          const r = f.regs;
          atomicAdd(r[a], off, T, r[b]);
        };
      }
      return (f) => {
        const r = f.regs;
        r[d] = BigInt.asIntN(bits, atomicAdd(r[a], off, T, r[b]));
      };
    }
    case "pktload": {
      const off = inst.offset;
      const packet = run.settings.packet;
      return (f) => {
        const r = f.regs;
        const c = r[a];
        if (!(c instanceof InterpPointer && c.object.kind === "ctx")) throw new InterpError("pktload: first operand is not the context pointer");
        const v = packetLoad(packet, r[b], off, bits);
        if (v === undefined) throw PACKET_ABORT;
        r[d] = v;
      };
    }
    case "alloca": {
      const k = allocaIndex();
      const size = inst.size;
      // One stack object per alloca and frame: executing the alloca again (in a loop)
      // yields the same slot with its contents, as a fixed stack slot would.
      return (f) => {
        let p = f.allocas[k];
        if (!p) f.allocas[k] = p = new InterpPointer(new MemoryObject("stack", `stack %${d}`, new Uint8Array(size)), 0n);
        f.regs[d] = p;
      };
    }
    case "call":
      return compileCall(run, inst, ops);
    case "mapref": {
      const name = inst.map ?? "";
      if (!run.maps.has(name)) return trap(`unknown map ${name}`);
      const p = new InterpPointer(run.maps.get(name).handle, 0n);
      return (f) => {
        f.regs[d] = p;
      };
    }
    case "coreval": {
      // The value as compiled: the interpreter runs against the program's own view of the types.
      const decl = run.module.getCoreRelocation(inst.core ?? "");
      if (!decl) return trap(`unknown CO-RE relocation ${inst.core ?? ""}`);
      const value = decl.value;
      return (f) => {
        f.regs[d] = value;
      };
    }
    case "phi":
      return trap("phi after a non-phi instruction");
    case "br":
    case "condbr":
    case "ret":
    case "unreachable":
      return trap(`terminator ${op} in the middle of a block`);
    default:
      return assertNever(op, "opcode");
  }
}

function collectArgs(r: Regs, ops: number[]): InterpValue[] {
  const args = new Array<InterpValue>(ops.length);
  for (let k = 0; k < ops.length; k++) {
    const v = r[ops[k]!];
    if (v === undefined) throw new InterpError(`argument ${k + 1} is undefined`);
    args[k] = v;
  }
  return args;
}

function compileCall(run: Run, inst: Instruction, ops: number[]): Step {
  const d = inst.id;
  const rt = inst.type;
  const hasResult = rt.kind !== "void";
  if (inst.callee !== undefined) {
    const name = inst.callee;
    return (f) => {
      const v = run.callByName(name, collectArgs(f.regs, ops), f.depth + 1);
      if (hasResult) f.regs[d] = v;
    };
  }
  const id = inst.helper;
  const impl = id === undefined ? undefined : (run.settings.helpers[id] ?? BUILTIN_HELPERS[id]);
  if (!impl) return trap(`unknown helper ${id}`);
  const what = `result of helper ${id}`;
  return (f) => {
    const v = impl(collectArgs(f.regs, ops), run);
    if (hasResult) f.regs[d] = toTyped(v, rt, what);
  };
}
