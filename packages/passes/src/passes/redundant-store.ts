/**
 * `redundant-store`: removes a store that writes the value memory already holds — the same
 * SSA value, with the same type, to the same address and offset as an earlier store, or
 * the value an earlier load of that address returned — when nothing in between may have
 * written those bytes.
 *
 * Available memory, a forward "must" dataflow over the whole CFG (in the style of gvn's
 * load table): a table maps (type, offset, address) to the value memory holds on every
 * path into a point; at a merge only the entries all predecessors agree on stay. A store or atomic removes the entries its address may alias (`util/memory.ts`
 * `mayAlias`); a call clears the table unless `helperEffects` says the helper writes no
 * memory (map lookup, clock, cpu, pid). Removing the store is exact in the interpreter:
 * the bytes already hold the value and are already initialised (the earlier store wrote
 * them, or the earlier load read them without fault).
 *
 * The CFG is untouched: preserves the CFG analyses. Cost: O(instructions × table size) per
 * sweep; one sweep on a function without a cycle (see {@link redundantStores}).
 */
import type { BasicBlock, Function, Instruction, Value } from "@luabpf/ir";
import { isInstruction, typeToString } from "@luabpf/ir";
import { helperById } from "@luabpf/platform";
import { Preserved } from "../analysis-manager.js";
import { blockOrderAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { callEffects, mayAlias, pointerRoot } from "../util/memory.js";
import { censusAnalysis } from "../analysis/census.js";

/** What memory is known to hold: key → (address, value). */
type Available = Map<string, { address: Value; value: Value }>;

function slotKey(typeParam: Instruction["typeParam"], offset: number | undefined, address: Value): string {
  return `${typeToString(typeParam)} ${offset ?? 0} ${address.id}`;
}

function killAliasing(avail: Available, address: Value): void {
  for (const [k, e] of avail) if (mayAlias(e.address, address)) avail.delete(k);
}

/**
 * What a call that may write memory leaves known. A helper reaches the program's stack only
 * through the pointers it is given, and writes none through a `map_key` or `map_value`
 * argument (the platform table's classes, the kernel's read-only `ARG_PTR_TO_MAP_KEY` /
 * `_VALUE`): entries on stack slots stay unless another pointer argument may alias them.
 * Everything else (map values, the context, the packet), and everything after a call of
 * an IR function or of a helper whose arguments the table does not describe, is forgotten.
 */
function killForCall(avail: Available, call: Instruction): void {
  const args = call.callee === undefined ? helperById(call.helper!)?.args : undefined;
  if (!args) {
    avail.clear();
    return;
  }
  const readOnly = (k: number): boolean => args[k] === "map_key" || args[k] === "map_value";
  for (const [key, e] of avail) {
    const onStack = isInstruction(pointerRoot(e.address), "alloca");
    if (!onStack || call.operands.some((a, k) => a.type.kind === "ptr" && !readOnly(k) && mayAlias(a, e.address))) avail.delete(key);
  }
}

/**
 * The effect of `inst` on `avail`; for a store, whether memory already held its value.
 * `keys` remembers each load's and store's slot key (the dataflow visits them repeatedly).
 */
function transfer(avail: Available, inst: Instruction, keys: Map<Instruction, string>): boolean {
  const op = inst.opcode;
  if (op === "load") {
    let key = keys.get(inst);
    if (key === undefined) keys.set(inst, (key = slotKey(inst.typeParam, inst.offset, inst.operands[0]!)));
    if (!avail.has(key)) avail.set(key, { address: inst.operands[0]!, value: inst });
  } else if (op === "store") {
    const [value, address] = [inst.operands[0]!, inst.operands[1]!];
    let key = keys.get(inst);
    if (key === undefined) keys.set(inst, (key = slotKey(inst.typeParam, inst.offset, address)));
    if (avail.get(key)?.value === value) return true;
    killAliasing(avail, address);
    avail.set(key, { address, value });
  } else if (op === "atomic.add" || op === "atomic.fetch_add") {
    killAliasing(avail, inst.operands[0]!);
  } else if (op === "call") {
    if (callEffects(inst).writesMemory) killForCall(avail, inst);
  } else if (inst.info.memory === "write" || inst.info.memory === "readwrite") {
    avail.clear(); // an opcode this pass does not know: be conservative
  }
  return false;
}

/** The entries both tables hold (same key, same value). */
function intersect(a: Available, b: Available): Available {
  const out: Available = new Map();
  for (const [k, e] of a) if (b.get(k)?.value === e.value) out.set(k, e);
  return out;
}

/** Do `a` and `b` hold the same keys with the same values? */
function sameValues(a: Available, b: Available): boolean {
  if (a.size !== b.size) return false;
  for (const [k, e] of b) if (a.get(k)?.value !== e.value) return false;
  return true;
}

/**
 * Could some store of `fn` be removed? Only where another instruction put its value into its
 * slot: a table entry is made by a load (the value is the load) or a store (its value), so
 * a store is removable only if it stores a load of its own slot key, or another store of
 * that key stores the same value. Without such a pair the dataflow would remove nothing.
 * One walk, no key text unless address, offset and value already match.
 */
function hasCandidate(fn: Function): boolean {
  // Stores by value, then by address id.
  const stores = new Map<Value, Map<number, Instruction[]>>();
  const sameSlot = (a: Instruction, b: Instruction): boolean => (a.offset ?? 0) === (b.offset ?? 0) && typeToString(a.typeParam) === typeToString(b.typeParam);
  for (const bb of fn.blocks) {
    for (let i = bb.first; i; i = i.next) {
      if (i.opcode !== "store") continue;
      const [value, address] = [i.operands[0]!, i.operands[1]!];
      if (isInstruction(value, "load") && value.operands[0]!.id === address.id && sameSlot(i, value)) return true;
      let byAddress = stores.get(value);
      if (byAddress === undefined) stores.set(value, (byAddress = new Map()));
      const list = byAddress.get(address.id);
      if (list === undefined) byAddress.set(address.id, [i]);
      else {
        for (const other of list) if (sameSlot(i, other)) return true;
        list.push(i);
      }
    }
  }
  return false;
}

/**
 * The stores of `fn` that write the value memory already holds, in the order of `order` (the
 * reverse postorder) and of their blocks. The dataflow iterates in reverse postorder to a
 * fixed point, then one more sweep collects the stores; on a function without a cycle
 * (`cyclic` false) every predecessor's table is final when a block is reached, so the first
 * sweep is the fixed point and collects them itself. A store found so leaves the table as it
 * was (it writes what the table holds), so finding it, erasing it then or after the sweep
 * is the same.
 *
 * @internal Exported for its test (`cyclic` true on an acyclic function: the iterated sweeps).
 */
export function redundantStores(fn: Function, order: readonly BasicBlock[], cyclic: boolean): Instruction[] {
  // Available memory on entry to each block: the meet over all predecessors (a forward
  // "must" dataflow; a block not yet reached contributes nothing to the meet), iterated
  // in reverse postorder to a fixed point. Entries only leave tables as it iterates.
  const out = new Map<BasicBlock, Available>();
  const keys = new Map<Instruction, string>();
  const entryOf = (bb: BasicBlock): Available => {
    if (bb === fn.entry) return new Map();
    let acc: Available | undefined;
    for (const p of bb.preds) {
      const o = out.get(p);
      if (o) acc = acc ? intersect(acc, o) : new Map(o);
    }
    return acc ?? new Map();
  };
  // With a cycle, iterate to the fixed point first. Then one sweep collects the stores; the
  // tables it records are those already there (with a cycle) or, without one, the final
  // tables the first time (every predecessor is done before its block).
  for (let changed = cyclic; changed; ) {
    changed = false;
    for (const bb of order) {
      const avail = entryOf(bb);
      for (let i = bb.first; i; i = i.next) transfer(avail, i, keys);
      const old = out.get(bb);
      if (!old || !sameValues(old, avail)) {
        out.set(bb, avail);
        changed = true;
      }
    }
  }
  const found: Instruction[] = [];
  for (const bb of order) {
    const avail = entryOf(bb);
    for (let i = bb.first; i; i = i.next) if (transfer(avail, i, keys)) found.push(i);
    out.set(bb, avail);
  }
  return found;
}

export const redundantStore = defineFunctionPass({
  name: "redundant-store",
  description: "remove stores of the value memory already holds (same value, address, offset and type as an earlier store or load)",
  preserves: Preserved.cfg(),
  applies: (fn, ctx) => ctx.analyses.get(censusAnalysis).count("store") > 0 && hasCandidate(fn),
  run(fn, ctx) {
    const { rpo, cyclic } = ctx.analyses.get(blockOrderAnalysis);
    const found = redundantStores(fn, rpo, cyclic);
    for (const store of found) {
      store.erase();
      ctx.stat("stores-removed");
    }
    return found.length > 0;
  },
});
