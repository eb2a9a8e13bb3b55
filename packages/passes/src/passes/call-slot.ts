/**
 * `call-slot`: a helper that fills a stack temporary whose bytes are then copied elsewhere
 * writes straight into the destination instead (LLVM MemCpyOpt's call slot optimisation).
 * bcc's `t.real_parent.tgid` into a ring buffer record is `probe_read(tmp, 4, src); v =
 * load tmp; store v, rec + 4`: with the record as the helper's buffer the load and the store
 * go, and so does the temporary's address (exec-parents: 39 → 35 slots).
 *
 * The shape, in one block: a call of a helper the platform table says fills a buffer whole
 * (`fills`: `probe_read*`, `comm()` — it writes every byte of it, zeros when the read fails,
 * and reads none), whose buffer is a stack slot (an `alloca` plus a constant) and whose size
 * is a constant N; then a load of exactly those N bytes, used only by a store of N bytes to
 * another object D; nothing but pure instructions between the call and the store. D is a
 * stack slot, a map value, or a ring buffer record (`ringbuf_reserve`, plus constants): memory
 * the helper may write (the verifier's ARG_PTR_TO_UNINIT_MEM), and D's address is defined
 * before the call. The temporary's N bytes must be dead after the load: the next instruction
 * of the block that touches the temporary writes them all again (a store, or another such
 * call), or nothing touches it again and no other block uses it.
 *
 * Exact: D's bytes hold, from the store on, what they held before (the helper's bytes, or
 * its zeros), and nothing in between reads or writes memory; the temporary's bytes that are
 * no longer written are never read. The CFG is untouched. Cost: O(instructions of the blocks
 * with such calls).
 */
import { BPF_FUNC, helperFills } from "@luabpf/platform";
import { i64, isConstant, isInstruction, regionOf, type Function, type Instruction, type Value } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { defineFunctionPass } from "../pass.js";
import { censusAnalysis } from "../analysis/census.js";

/** `v` as an alloca plus a constant offset (through constant `ptradd`s), if it is one. */
function frameSlot(v: Value): { alloca: Instruction; off: number } | undefined {
  let off = 0n;
  while (isInstruction(v, "ptradd") && isConstant(v.operands[1]!)) {
    off += BigInt.asIntN(64, v.operands[1].value);
    v = v.operands[0]!;
  }
  return isInstruction(v, "alloca") && off >= 0n && off < 1n << 20n ? { alloca: v, off: Number(off) } : undefined;
}

/** The root of a pointer through constant `ptradd`s. */
function rootOf(v: Value): Value {
  while (isInstruction(v, "ptradd") && isConstant(v.operands[1]!)) v = v.operands[0]!;
  return v;
}

/** May a helper be given `d` as the buffer it fills (stack, map value, or a ring buffer record)? */
function writableBuffer(d: Value): boolean {
  const region = regionOf(d);
  // A maybe-null map value stored to in the call's block is non-null there: the block has no branch.
  if (region === "stack" || region === "map_value" || region === "map_value_or_null") return true;
  const root = rootOf(d);
  return region === undefined && isInstruction(root, "call") && root.callee === undefined && root.helper === BPF_FUNC.ringbuf_reserve;
}

/** Every value that is `alloca` or a `ptradd` of one (transitively). */
function derivedFrom(alloca: Instruction): Set<Value> {
  const out = new Set<Value>([alloca]);
  const work: Value[] = [alloca];
  while (work.length > 0) {
    const v = work.pop()!;
    for (const u of v.uses) if (u.user.opcode === "ptradd" && u.index === 0 && !out.has(u.user)) (out.add(u.user), work.push(u.user));
  }
  return out;
}

/** The constant-size buffer `i` fills whole, if it is a call of such a helper: its operand index, pointer and size. */
function filledBuffer(i: Instruction): { index: number; ptr: Value; size: number } | undefined {
  if (i.opcode !== "call" || i.callee !== undefined) return undefined;
  const fills = helperFills(i.helper);
  const size = fills ? i.operands[fills.size] : undefined;
  if (!fills || !size || !isConstant(size) || size.value <= 0n || size.value > 1n << 20n) return undefined;
  return { index: fills.buffer, ptr: i.operands[fills.buffer]!, size: Number(size.value) };
}

/** Does `i` write all of bytes [off, off + n) of `alloca` (a store or a filling call)? */
function overwrites(i: Instruction, alloca: Instruction, off: number, n: number): boolean {
  let at: { alloca: Instruction; off: number } | undefined;
  let size = 0;
  if (i.opcode === "store") {
    at = frameSlot(i.operands[1]!);
    if (at) at = { alloca: at.alloca, off: at.off + i.offset };
    size = i.typeParam.size;
  } else {
    const f = filledBuffer(i);
    if (!f) return false;
    at = frameSlot(f.ptr);
    size = f.size;
    // The helper must not be handed the temporary through another argument.
    if (i.operands.some((o, k) => k !== f.index && o.type.kind === "ptr" && rootOf(o) === alloca)) return false;
  }
  return at !== undefined && at.alloca === alloca && at.off <= off && off + n <= at.off + size;
}

/** Are bytes [off, off + n) of `alloca` dead after `after` (see the file comment)? */
function deadAfter(after: Instruction, alloca: Instruction, off: number, n: number, derived: Set<Value>): boolean {
  for (let i = after.next; i; i = i.next) {
    if (i.opcode === "ptradd" || !i.operands.some((o) => derived.has(o))) continue;
    return overwrites(i, alloca, off, n);
  }
  const bb = after.block;
  for (const v of derived) for (const u of v.uses) if (u.user.block !== bb) return false;
  return true;
}

/** Is `v` defined before `at` (in an earlier block that dominates it, being used in its block, or earlier in it)? */
function definedBefore(v: Value, at: Instruction): boolean {
  if (!isInstruction(v)) return true;
  if (v.block !== at.block) return true; // it dominates the store in at's block, so it dominates at
  for (let i = at.prev; i; i = i.prev) if (i === v) return true;
  return false;
}

/** Rewrites `call` when it has the shape of the file comment; returns whether it did. */
function forward(fn: Function, call: Instruction): boolean {
  const buffer = filledBuffer(call);
  if (!buffer || buffer.size > 8) return false;
  const tmp = frameSlot(buffer.ptr);
  if (!tmp) return false;
  const n = buffer.size;
  // The load of exactly the filled bytes, right after (pure instructions aside).
  let i = call.next;
  for (; i && i.info.pure; i = i.next);
  if (!i || i.opcode !== "load" || i.type.kind !== "int" || i.type.size !== n || i.useCount !== 1) return false;
  const from = frameSlot(i.operands[0]!);
  if (!from || from.alloca !== tmp.alloca || from.off + i.offset !== tmp.off) return false;
  const load = i;
  const store = load.uses[0]!.user;
  if (store.opcode !== "store" || load.uses[0]!.index !== 0 || store.typeParam.size !== n || store.block !== call.block) return false;
  for (i = load.next; i && i !== store; i = i.next) if (!i.info.pure) return false;
  if (i !== store) return false;
  const dest = store.operands[1]!;
  const derived = derivedFrom(tmp.alloca);
  if (derived.has(rootOf(dest)) || !writableBuffer(dest) || !definedBefore(dest, call)) return false;
  if (!deadAfter(store, tmp.alloca, tmp.off, n, derived)) return false;
  let ptr: Value = dest;
  if (store.offset !== 0) {
    const add = fn.createInstruction("ptradd", dest.type, dest.type, [dest, fn.constant(i64, store.offset)]);
    add.loc = store.loc;
    add.insertBefore(call);
    ptr = add;
  }
  call.setOperand(buffer.index, ptr);
  store.erase();
  load.erase();
  return true;
}

export const callSlot = defineFunctionPass({
  name: "call-slot",
  description: "let a helper that fills a stack temporary copied elsewhere fill the destination instead",
  applies(fn, ctx) {
    const census = ctx.analyses.get(censusAnalysis);
    return census.count("call") > 0 && census.count("load") > 0 && census.count("store") > 0;
  },
  run(fn, ctx) {
    let changed = false;
    for (const bb of fn.blocks) {
      for (let i = bb.first; i; i = i.next) {
        // (what it erases comes after the call, which stays: its `next` is read afterwards)
        if (forward(fn, i)) {
          ctx.stat("calls-forwarded");
          changed = true;
        }
      }
    }
    return changed ? Preserved.cfg() : false;
  },
});
