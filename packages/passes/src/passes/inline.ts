/**
 * Inlining of BPF-to-BPF calls (`call T @f(args)`): a module pass.
 *
 * Functions are visited callees first (a post-order of the call graph), so a function's
 * cost is measured after its own calls were inlined. A call is replaced by a copy of the
 * callee's body when the callee's cost — its instructions other than phis, allocas and
 * unconditional branches — is at most `threshold`:
 *
 *   split the caller's block at the call → copy the callee's blocks (reachable ones, in
 *   reverse postorder, so operands are copied before their uses; phis are filled last),
 *   parameters replaced by the arguments, constants re-created in the caller, allocas
 *   moved to the caller's entry block → every `ret v` becomes `br` to the split-off tail,
 *   where a phi of the returned values replaces the call's result.
 *
 * A function no longer called by anything, and not a program, is removed. The call graph
 * must be acyclic (eBPF has no recursion; the front end and backend reject it): functions
 * on a cycle are left alone. Cost: linear in the size of the inlined code per call site.
 *
 * With `threshold=0` nothing but empty functions is inlined, so every call stays a real
 * BPF-to-BPF call; the default inlines small functions, as clang -O2 does.
 */
import { BasicBlock, Builder, Function, reversePostOrder, splitBlock, type Instruction, type Module, type Value, isConstant, type Constant } from "@luabpf/ir";
import { defineModulePass } from "../pass.js";

export const inline = defineModulePass({
  name: "inline",
  description: "inline calls of small functions (cost = instructions other than phis, allocas and jumps)",
  options: {
    threshold: { type: "integer", min: 0, default: 40, description: "inline a callee whose cost is at most this" },
  },
  run(module, ctx, options) {
    let changed = false;
    // Each function's calls, listed once: a function changes only when calls in it are inlined.
    const calls = new Map<Function, Instruction[]>();
    for (const fn of module.functions) calls.set(fn, callsIn(fn));
    if ([...calls.values()].every((list) => list.length === 0)) return false;
    for (const fn of postOrder(module, calls)) {
      for (const call of calls.get(fn) ?? callsIn(fn)) {
        const callee = module.getFunction(call.callee!);
        if (!callee || callee === fn || cost(callee) > options.threshold) continue;
        inlineCall(fn, call, callee);
        ctx.stat("calls-inlined");
        changed = true;
      }
    }
    // Functions nothing calls any more (and that are not programs) go.
    const called = new Set<string>();
    for (const f of module.functions) for (const c of callsIn(f)) called.add(c.callee!);
    for (let i = module.functions.length - 1; i >= 0; i--) {
      const f = module.functions[i]!;
      if (!f.program && !called.has(f.name) && changed) {
        module.functions.splice(i, 1);
        ctx.stat("functions-removed");
      }
    }
    return changed;
  },
});

function callsIn(fn: Function): Instruction[] {
  const out: Instruction[] = [];
  for (const bb of fn.blocks) for (let inst = bb.first; inst; inst = inst.next) if (inst.opcode === "call" && inst.callee !== undefined) out.push(inst);
  return out;
}

/** The cost of inlining `fn`: its instructions other than phis, allocas and unconditional branches. */
export function cost(fn: Function): number {
  let n = 0;
  for (const inst of fn.instructions()) if (inst.opcode !== "phi" && inst.opcode !== "alloca" && inst.opcode !== "br") n++;
  return n;
}

/** Functions callees first; a function on a call cycle is left out. */
function postOrder(module: Module, calls: ReadonlyMap<Function, readonly Instruction[]>): Function[] {
  const out: Function[] = [];
  const state = new Map<Function, "active" | "done">();
  const cyclic = new Set<Function>();
  const visit = (fn: Function): void => {
    if (state.get(fn) === "done") return;
    if (state.get(fn) === "active") {
      cyclic.add(fn);
      return;
    }
    state.set(fn, "active");
    for (const c of calls.get(fn) ?? callsIn(fn)) {
      const callee = module.getFunction(c.callee!);
      if (callee) visit(callee);
    }
    state.set(fn, "done");
    out.push(fn);
  };
  for (const fn of module.functions) visit(fn);
  return out.filter((f) => !cyclic.has(f));
}

/** Replaces `call` (in `caller`) with a copy of `callee`'s body. */
export function inlineCall(caller: Function, call: Instruction, callee: Function): void {
  const head = call.block!;
  const tail = splitBlock(call);
  // `head` now ends in `br tail`, and `call` is the first instruction of `tail`.
  const values = new Map<Value, Value>();
  callee.params.forEach((p, i) => values.set(p, call.operands[i]!));
  const map = (v: Value): Value => {
    const m = values.get(v);
    if (m) return m;
    if (isConstant(v)) return caller.constant(v.type, (v as Constant).value);
    throw new Error(`inline: operand %${v.id} of @${callee.name} used before its definition`);
  };
  const order = reversePostOrder(callee);
  const blocks = new Map<BasicBlock, BasicBlock>();
  let after: BasicBlock = head;
  for (const bb of order) {
    const copy = caller.createBlock({ after });
    blocks.set(bb, copy);
    after = copy;
  }
  const entryAllocas = new Builder(caller).atStart(caller.entry);
  const returns: { block: BasicBlock; value: Value | undefined }[] = [];
  const phis: [Instruction, Instruction][] = [];
  for (const bb of order) {
    const copy = blocks.get(bb)!;
    for (let inst = bb.first; inst; inst = inst.next) {
      if (inst.opcode === "ret") {
        returns.push({ block: copy, value: inst.operands[0] ? map(inst.operands[0]) : undefined });
        const br = caller.createInstruction("br", inst.type, inst.typeParam);
        br.targets.push(tail);
        if (inst.loc) br.loc = inst.loc;
        copy.append(br);
        continue;
      }
      const operands = inst.opcode === "phi" ? [] : inst.operands.map(map);
      const clone = caller.cloneInstruction(inst, operands);
      for (const t of inst.targets) clone.targets.push(blocks.get(t)!);
      if (inst.opcode === "alloca") entryAllocas.insert(clone);
      else copy.append(clone);
      if (inst.opcode === "phi") phis.push([inst, clone]);
      values.set(inst, clone);
    }
  }
  for (const [orig, clone] of phis) {
    orig.operands.forEach((v, k) => {
      const from = blocks.get(orig.incoming[k]!);
      if (from) clone.addIncoming(map(v), from);
    });
  }
  // head jumps into the copy of the callee's entry instead of the tail.
  head.terminator!.setTarget(0, blocks.get(callee.entry)!);
  // The result: the returned value, or a phi of them in the tail.
  if (call.type.kind !== "void") {
    const withValue = returns.filter((r) => r.value !== undefined);
    let result: Value;
    if (withValue.length === 1 && returns.length === 1) result = withValue[0]!.value!;
    else {
      const phi = caller.createInstruction("phi", call.type, call.type);
      tail.prepend(phi);
      for (const r of returns) phi.addIncoming(r.value ?? caller.constant(call.type, 0), r.block);
      result = phi;
    }
    call.replaceAllUsesWith(result);
  }
  call.erase();
}
