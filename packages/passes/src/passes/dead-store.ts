/**
 * `dead-store`: removes a store whose every byte is written again, on every path, before
 * anything may read it — `ffi.new` zeroing a struct whose fields are then all assigned, a
 * reserved ring-buffer record zeroed and then filled, a slot stored twice.
 *
 * Global dead-store elimination over *private objects*, by a backward "must" dataflow of
 * the bytes that are overwritten before they are read (the dual of available stores, as in
 * LLVM's DSE over MemorySSA, here on byte masks). A private object is memory that only its
 * own pointer reaches: an `alloca` or a ring buffer record (`ringbuf_reserve` with a
 * constant size), whose address (through `ptradd`s) is only the address of loads, stores
 * and atomics, a call argument, or compared (the record's null test) — never stored,
 * merged by a phi or select, or returned. Nothing else can then point into it: a helper
 * sees the stack and a record only through the pointers it is given, and user space sees a
 * record only once it is submitted.
 *
 * The state at a point maps each object to the bytes that every path from there writes
 * before reading them. Backwards through a block: a store of known bytes is dead when
 * those bytes are all in the set, then adds them; a load or atomic of known bytes removes
 * them (of unknown bytes — a variable `ptradd` — the whole object); a call given a pointer
 * into the object may read all of it and empties its set, except the output buffer of a
 * helper the platform table says fills it whole (`fills`: `comm()`, `probe_read_*`, with a
 * constant size), whose bytes it adds like a store; a store at an unknown offset proves nothing. At `ret`
 * (and `unreachable`) every byte of every object is dead: the frame is gone, and the
 * verifier requires a record to be submitted or discarded before the program returns.
 * A packet load that aborts the program leaves the same way, so it reads nothing here.
 * At a block's end the state is the intersection of its successors'. Unvisited blocks
 * count as "everything dead" (the top of the lattice), and the solver iterates in
 * postorder to the greatest fixed point: a loop that reads a byte on its way round keeps
 * the store before it.
 *
 * Exact in the interpreter and the kernel: every byte a later instruction reads was
 * written after the removed store, so no read sees the difference, and the verifier sees
 * no read of an uninitialised stack byte that it saw initialised before.
 *
 * The CFG is untouched: preserves the CFG analyses. Cost: O(iterations × instructions ×
 * objects live in a state); a state keeps only the objects not entirely dead.
 */
import { BPF_FUNC, helperFills } from "@luabpf/platform";
import { isConstant, isInstruction, type BasicBlock, type Constant, type Function, type Instruction, type Value } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { blockOrderAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { eraseDeadTree } from "../util/ir.js";
import { censusAnalysis } from "../analysis/census.js";

/** Ring buffer records larger than this are not tracked (their byte masks would be large). */
const MAX_RECORD = 4096;

/** A private object: its root instruction and size in bytes. */
interface MemObject {
  readonly root: Instruction;
  readonly size: number;
  /** Every byte set. */
  readonly full: bigint;
}

/** Object index → bytes overwritten before read; an object absent is entirely dead. */
type DeadBytes = Map<number, bigint>;

/** Where an access lands: the object, and its bytes (undefined: somewhere in it). */
interface Access {
  readonly object: number;
  readonly bytes: bigint | undefined;
}

/** The size of the object `root` allocates, when it may be one (alloca, ringbuf_reserve of a constant size). */
function objectSize(root: Instruction): number | undefined {
  if (root.opcode === "alloca") return root.size;
  if (root.opcode === "call" && root.callee === undefined && root.helper === BPF_FUNC.ringbuf_reserve) {
    const size = root.operands[1];
    return size && isConstant(size) && size.value > 0n && size.value <= BigInt(MAX_RECORD) ? Number(size.value) : undefined;
  }
  return undefined;
}

/** Does the address `root` reaches stay private: only addresses of memory operations, call arguments and compares? */
function staysPrivate(root: Instruction): boolean {
  const stack: Instruction[] = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    for (const u of p.uses) {
      const user = u.user;
      const shape = user.info.shape;
      if (shape === "ptradd" && u.index === 0) stack.push(user);
      else if (shape === "load" || shape === "call" || shape === "compare") continue;
      else if ((shape === "store" && u.index === 1) || (shape === "atomic" && u.index === 0)) continue;
      else return false;
    }
  }
  return true;
}

/** The private objects of `fn`, and the object of each root. */
function privateObjects(fn: { instructions(): Iterable<Instruction> }): { objects: MemObject[]; index: Map<Instruction, number> } {
  const objects: MemObject[] = [];
  const index = new Map<Instruction, number>();
  for (const inst of fn.instructions()) {
    const size = objectSize(inst);
    if (size === undefined || size <= 0 || !staysPrivate(inst)) continue;
    index.set(inst, objects.push({ root: inst, size, full: (1n << BigInt(size)) - 1n }) - 1);
  }
  return { objects, index };
}

/** Do `a` and `b` hold the same dead bytes for the same objects? */
function sameBytes(a: DeadBytes, b: DeadBytes): boolean {
  if (a.size !== b.size) return false;
  for (const [k, bytes] of b) if (a.get(k) !== bytes) return false;
  return true;
}

export const deadStore = defineFunctionPass({
  name: "dead-store",
  description: "remove stores into private stack slots and ring buffer records that every path overwrites before reading",
  preserves: Preserved.cfg(),
  applies: (fn, ctx) => ctx.analyses.get(censusAnalysis).count("store") > 0,
  run(fn, ctx) {
    const { postOrder, cyclic } = ctx.analyses.get(blockOrderAnalysis);
    const dead = deadStores(fn, postOrder, cyclic);
    for (const store of dead) {
      const value = store.operands[0]!;
      store.erase();
      if (isInstruction(value)) eraseDeadTree(value);
      ctx.stat("stores-removed");
    }
    return dead.length > 0;
  },
});

/**
 * The dead stores of `fn` (see the file note), in the order they are found: `order` is the
 * postorder of its reachable blocks, `cyclic` whether an edge goes back in it (the block
 * order analysis's). Without a cycle every successor of a block comes before it in
 * postorder: one sweep reaches the fixed point, and each transfer in it already sees the
 * final states — the sweep that would confirm nothing changes and the one that collects the
 * dead stores would step over the same states again.
 *
 * @internal Exported for its test (`cyclic` true on an acyclic function takes the iterated way).
 */
export function deadStores(fn: Function, order: readonly BasicBlock[], cyclic: boolean): Instruction[] {
  const { objects, index } = privateObjects(fn);
  if (objects.length === 0) return [];

  // The object and bytes a pointer `p` reaches `size` bytes from `offset` on (undefined: no object).
  const accessOf = (p: Value, offset: number, size: number): Access | undefined => {
    let v = p;
    let known = true;
    let off = offset;
    while (isInstruction(v, "ptradd")) {
      const n = v.operands[1]!;
      if (isConstant(n)) off += Number(BigInt.asIntN(64, n.value));
      else known = false;
      v = v.operands[0]!;
    }
    const object = isInstruction(v) ? index.get(v) : undefined;
    if (object === undefined) return undefined;
    if (!known || off < 0 || off + size > objects[object]!.size) return { object, bytes: undefined };
    return { object, bytes: ((1n << BigInt(size)) - 1n) << BigInt(off) };
  };
  const deadOf = (s: DeadBytes, k: number): bigint => s.get(k) ?? objects[k]!.full;
  const setDead = (s: DeadBytes, k: number, bytes: bigint): void => {
    if (bytes === objects[k]!.full) s.delete(k);
    else s.set(k, bytes);
  };

  /** Steps backwards over `inst`; for a store, returns whether it is dead. */
  const transfer = (s: DeadBytes, inst: Instruction): boolean => {
    switch (inst.info.shape) {
      case "store": {
        const a = accessOf(inst.operands[1]!, inst.offset ?? 0, inst.typeParam.size);
        if (!a || a.bytes === undefined) return false;
        const dead = deadOf(s, a.object);
        if ((dead & a.bytes) === a.bytes) return true;
        setDead(s, a.object, dead | a.bytes);
        return false;
      }
      case "load":
      case "atomic": {
        const p = inst.operands[0]!;
        const a = accessOf(p, inst.offset ?? 0, (inst.opcode === "load" ? inst.type : inst.typeParam).size);
        if (a) setDead(s, a.object, a.bytes === undefined ? 0n : deadOf(s, a.object) & ~a.bytes);
        return false;
      }
      case "call": {
        // Backwards over the call: first what it writes (the buffer it fills whole), then
        // what it may read (everything any other pointer argument reaches).
        const fills = inst.callee === undefined ? helperFills(inst.helper) : undefined;
        const size = fills ? inst.operands[fills.size] : undefined;
        const buffer = fills && size && isConstant(size) && size.value <= 1n << 20n ? inst.operands[fills.buffer] : undefined;
        if (buffer) {
          const a = accessOf(buffer, 0, Number((size as Constant).value));
          if (a?.bytes !== undefined) setDead(s, a.object, deadOf(s, a.object) | a.bytes);
        }
        inst.operands.forEach((arg, k) => {
          const a = arg.type.kind === "ptr" && (k !== fills?.buffer || !buffer) ? accessOf(arg, 0, 0) : undefined;
          if (a) s.set(a.object, 0n);
        });
        return false;
      }
      case "ret":
      case "unreachable":
        s.clear();
        return false;
      case "pktload":
        return false; // reads the packet; its abort leaves the program (every object dead)
      default:
        if (inst.info.memory !== "none") for (let k = 0; k < objects.length; k++) s.set(k, 0n); // unknown: may read anything
        return false;
    }
  };

  // Dead bytes at each block's end: the intersection over its successors' entry states.
  const entryState = new Map<BasicBlock, DeadBytes>(); // absent: not computed yet (everything dead)
  const exitState = (bb: BasicBlock): DeadBytes => {
    const out: DeadBytes = new Map();
    for (const succ of bb.succs) {
      const e = entryState.get(succ);
      if (!e) continue;
      for (const [k, bytes] of e) setDead(out, k, deadOf(out, k) & bytes);
    }
    return out;
  };
  // With a cycle, iterate to the fixed point first. Then one sweep collects the dead stores;
  // the states it records are those already there (with a cycle) or, without one, the final
  // states the first time (every successor is done before its block).
  for (let changed = cyclic; changed; ) {
    changed = false;
    for (const bb of order) {
      const s = exitState(bb);
      for (let i = bb.last; i; i = i.prev) transfer(s, i);
      const old = entryState.get(bb);
      if (!old || !sameBytes(old, s)) {
        entryState.set(bb, s);
        changed = true;
      }
    }
  }
  const dead: Instruction[] = [];
  for (const bb of order) {
    const s = exitState(bb);
    for (let i = bb.last; i; i = i.prev) if (transfer(s, i)) dead.push(i);
    entryState.set(bb, s);
  }
  return dead;
}

