/**
 * `update-to-store`: `sketch[a] = v` right after `sketch[a]` was read is a
 * `bpf_map_update_elem` call; on an array map it becomes a store through the pointer the
 * lookup returned — `if (p) *p = v` — as clang's twin writes `*pa = ca`.
 *
 * The rule, and why it keeps bcc's meaning (`m[k] = v` is `bpf_map_update_elem(m, &k, &v,
 * BPF_ANY)`): a call `call helper map_update_elem (m, kp, vp, flags)` is replaced when
 * - `m` is an array or per-CPU array (platform `MAP_TYPES`: array-like, listed by index —
 *   not an array of maps or of file descriptors) without `BPF_F_RDONLY_PROG`. Its elements
 *   exist for every index below `max_entries` and are never deleted or moved, so a pointer
 *   a lookup returned stays the element's address for the whole run, whatever happens in
 *   between (other updates, calls, other CPUs). A per-CPU array's lookup and update both
 *   address the current CPU's copy, and the program does not change CPU while it runs;
 * - `flags` is the constant `BPF_ANY` or `BPF_EXIST` (an array update with an index in
 *   bounds then copies the value and returns 0; `BPF_NOEXIST` always fails);
 * - the call's result is unused;
 * - a lookup `p = call helper map_lookup_elem (m, kp')` of the same map dominates it, and
 *   the key bytes at both calls are the same value: each call's key slot was last written,
 *   on the straight path before it, by a store of the whole key (`key_size` bytes) of one
 *   SSA value. The lookup is in no loop: it runs at most once, so nothing can compute
 *   another instance of that key value after it (in a loop, a later iteration could
 *   define a new key and leave before the lookup, and the update would see the new key
 *   while `p` is the old key's element). The lookup returns NULL exactly when that index is out of bounds, which is
 *   exactly when the update fails without writing: so `if (p != NULL) *p = value`;
 * - the value slot was likewise last written by one store of the whole value
 *   (`value_size` bytes, a scalar): that value is stored through `p`.
 * Hash maps keep their update: another CPU or user space may delete the entry between the
 * lookup and the update, after which the update would insert it again while a store
 * through `p` would write into a freed element (and an LRU update also refreshes the
 * entry).
 *
 * The update's block is split at the call: the part before it ends with `condbr p != 0`
 * (reusing a compare of `p` with null that dominates it) into a new block holding the
 * store, and both go on to the rest. The key and value slots' stores are left for
 * `dead-store`, which removes them when nothing else reads the slots.
 *
 * Changes the CFG. Cost: the lookups are indexed once per map by the key value their slot
 * holds (a search of at most 64 instructions back each); an update then tries only the
 * lookups of its map and key, each with a dominance query (in one block, a walk between them).
 */
import { BPF_FUNC, MAP_TYPES, MapFlag, UpdateFlag, helperById } from "@luabpf/platform";
import { i64, isConstant, isInstruction, splitBlock, voidType, type BasicBlock, type Function, type Instruction, type Value } from "@luabpf/ir";
import { dominatorTreeAnalysis, loopInfoAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { mayAlias } from "../util/memory.js";
import { censusAnalysis } from "../analysis/census.js";

/** How many instructions the search for a slot's last store looks back. */
const SEARCH_LIMIT = 64;

const isHelperCall = (i: Instruction, id: number): boolean => i.opcode === "call" && i.callee === undefined && i.helper === id;

/** May `i` write the bytes `slot` points to? (A helper writes nothing through its `map_key`/`map_value` arguments.) */
function mayWrite(i: Instruction, slot: Value): boolean {
  switch (i.info.shape) {
    case "store":
      return mayAlias(i.operands[1]!, slot);
    case "atomic":
      return mayAlias(i.operands[0]!, slot);
    case "call": {
      const args = i.callee === undefined ? helperById(i.helper!)?.args : undefined;
      return i.operands.some((a, k) => a.type.kind === "ptr" && args?.[k] !== "map_key" && args?.[k] !== "map_value" && args?.[k] !== "map" && mayAlias(a, slot));
    }
    default:
      return i.info.memory === "write" || i.info.memory === "readwrite";
  }
}

/**
 * The value the `size` bytes at `slot` hold when `at` runs: the last store of exactly those
 * bytes on the straight path before `at` (back through single-predecessor blocks), if no
 * write that may touch them comes after it.
 */
function slotValueAt(at: Instruction, slot: Value, size: number): Value | undefined {
  let bb: BasicBlock | undefined = at.block;
  let i = at.prev;
  for (let n = 0; n < SEARCH_LIMIT && bb; n++) {
    if (!i) {
      bb = bb.preds.length === 1 ? bb.preds[0] : undefined;
      i = bb?.last;
      continue;
    }
    if (i.opcode === "store" && i.operands[1] === slot && i.offset === 0 && i.typeParam.size === size) return i.operands[0];
    if (mayWrite(i, slot)) return undefined;
    i = i.prev;
  }
  return undefined;
}

/** Does `a` run before `b` on every path to `b`? */
function dominatesInst(a: Instruction, b: Instruction, dominates: (x: BasicBlock, y: BasicBlock) => boolean): boolean {
  if (a.block !== b.block) return dominates(a.block!, b.block!);
  for (let i = a.next; i; i = i.next) if (i === b) return true;
  return false;
}

/** A compare `ne p, 0` (or `ne 0, p`) that runs before `at` on every path, if there is one. */
function nullTestBefore(p: Instruction, at: Instruction, dominates: (x: BasicBlock, y: BasicBlock) => boolean): Instruction | undefined {
  for (const u of p.uses) {
    const c = u.user;
    if (c.opcode !== "ne" || !c.block) continue;
    const other = c.operands[1 - u.index]!;
    if (isConstant(other) && other.value === 0n && dominatesInst(c, at, dominates)) return c;
  }
  return undefined;
}

/** Replaces `update` by `if (p != 0) store value, p` (see the file comment). */
function rewrite(fn: Function, update: Instruction, p: Instruction, value: Value, test: Instruction | undefined): void {
  const head = update.block!;
  const tail = splitBlock(update);
  const body = fn.createBlock({ after: head });
  const store = fn.createInstruction("store", voidType, value.type, [value, p], { offset: 0 });
  store.loc = update.loc;
  body.append(store);
  const br = fn.createInstruction("br", voidType, voidType);
  br.targets.push(tail);
  br.loc = update.loc;
  body.append(br);
  head.last!.erase(); // splitBlock's `br tail`
  let cond = test;
  if (!cond) {
    cond = fn.createInstruction("ne", i64, p.type, [p, fn.constant(p.type, 0n)]);
    cond.loc = update.loc;
    head.append(cond);
  }
  const condbr = fn.createInstruction("condbr", voidType, cond.type, [cond]);
  condbr.targets.push(body, tail);
  condbr.loc = update.loc;
  head.append(condbr);
  update.erase();
}

export const updateToStore = defineFunctionPass({
  name: "update-to-store",
  description: "an array map update of the element a dominating lookup of the same key returned becomes a store through that pointer",
  applies(fn, ctx) {
    const census = ctx.analyses.get(censusAnalysis);
    return census.helperCalls(BPF_FUNC.map_update_elem) > 0 && census.helperCalls(BPF_FUNC.map_lookup_elem) > 0;
  },
  run(fn, ctx) {
    const updates: Instruction[] = [];
    const lookups: Instruction[] = [];
    for (const i of fn.instructions()) {
      if (isHelperCall(i, BPF_FUNC.map_update_elem) && i.operands.length === 4 && !i.hasUses) updates.push(i);
      else if (isHelperCall(i, BPF_FUNC.map_lookup_elem) && i.operands.length === 2) lookups.push(i);
    }
    if (updates.length === 0 || lookups.length === 0) return false;
    const dt = ctx.analyses.get(dominatorTreeAnalysis);
    const loops = ctx.analyses.get(loopInfoAnalysis);
    const dominates = (a: BasicBlock, b: BasicBlock): boolean => a === b || dt.dominates(a, b);
    const mapOf = (v: Value): string | undefined => (isInstruction(v, "mapref") ? v.map : undefined);
    const plan: { update: Instruction; lookup: Instruction; value: Value; test: Instruction | undefined }[] = [];
    // The lookups outside loops by map and by the key value their slot holds (the IR does not
    // change until the plan is made), in program order: an update looks at those of its map and
    // key only, not at every lookup.
    const lookupsByKey = new Map<string, Map<Value | undefined, Instruction[]>>();
    const candidates = (name: string, keySize: number, key: Value): readonly Instruction[] => {
      let byKey = lookupsByKey.get(name);
      if (!byKey) {
        lookupsByKey.set(name, (byKey = new Map()));
        for (const l of lookups) {
          if (mapOf(l.operands[0]!) !== name || loops.loopFor(l.block!)) continue;
          const k = slotValueAt(l, l.operands[1]!, keySize);
          (byKey.get(k) ?? byKey.set(k, []).get(k)!).push(l);
        }
      }
      return byKey.get(key) ?? [];
    };
    for (const update of updates) {
      const [m, kp, vp, flags] = update.operands as [Value, Value, Value, Value];
      const name = mapOf(m);
      const decl = name === undefined ? undefined : ctx.module?.getMap(name);
      if (!decl) continue;
      const kind = MAP_TYPES[decl.kind];
      if (!kind.isArrayLike() || !kind.isListedByIndex() || (decl.flags & MapFlag.rdonlyProg) !== 0) continue;
      if (!isConstant(flags) || (flags.value !== BigInt(UpdateFlag.ANY) && flags.value !== BigInt(UpdateFlag.EXIST))) continue;
      const key = slotValueAt(update, kp, decl.key.size);
      const value = slotValueAt(update, vp, decl.value.size);
      if (key === undefined || value === undefined || value.type.kind !== "int") continue;
      const lookup = candidates(name!, decl.key.size, key).find((l) => dominatesInst(l, update, dominates));
      if (!lookup) continue;
      plan.push({ update, lookup, value, test: nullTestBefore(lookup, update, dominates) });
    }
    for (const { update, lookup, value, test } of plan) {
      rewrite(fn, update, lookup, value, test);
      ctx.stat("updates-to-stores");
    }
    return plan.length > 0;
  },
});
