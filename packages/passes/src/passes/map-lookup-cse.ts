/**
 * `map-lookup-cse`: a `call helper 1 (m, k)` (`map_lookup_elem`, by the platform table) with the same map value and
 * the same key pointer as an earlier lookup on every path to it is replaced by the earlier
 * result, when in between no store or atomic may have written the key bytes and no call
 * may have changed a map or written memory (`util/memory.ts`: update, delete, unknown
 * helpers and function calls are barriers).
 *
 * Why this is exact: the lookup reads the same key bytes from the same map, and without
 * an update or delete the map holds the same entry object, so both calls return a pointer
 * to the same bytes (or both null). Stores into a map value change its contents, not its
 * identity, and never reach a stack key slot (`mayAlias`). On LRU maps (or maps this pass
 * cannot identify) a lookup of another key in between reorders the entries, so it ends the
 * earlier lookups' availability.
 *
 * Same walk as gvn's load table: along each block and down chains of blocks whose only
 * predecessor is their dominator-tree parent. The CFG is untouched: preserves the CFG
 * analyses. Cost: O(instructions × table size).
 */
import type { BasicBlock, Instruction } from "@luabpf/ir";
import { isInstruction } from "@luabpf/ir";
import { BPF_FUNC, MAP_TYPES } from "@luabpf/platform";
import { Preserved } from "../analysis-manager.js";
import { dominatorTreeAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { callEffects, mayAlias } from "../util/memory.js";
import { censusAnalysis } from "../analysis/census.js";

/** (map value id, key pointer id) → the earlier lookup. */
type Lookups = Map<string, Instruction>;

function isLookup(inst: Instruction): boolean {
  return inst.opcode === "call" && inst.callee === undefined && inst.helper === BPF_FUNC.map_lookup_elem && inst.operands.length === 2;
}

export const mapLookupCse = defineFunctionPass({
  name: "map-lookup-cse",
  description: "reuse an earlier map_lookup_elem of the same map and key pointer when neither maps nor the key changed",
  preserves: Preserved.cfg(),
  // A lookup can only reuse another.
  applies: (fn, ctx) => ctx.analyses.get(censusAnalysis).helperCalls(BPF_FUNC.map_lookup_elem) >= 2,
  run(fn, ctx) {
    const dt = ctx.analyses.get(dominatorTreeAnalysis);
    const mayReorder = (lookup: Instruction): boolean => {
      const m = lookup.operands[0]!;
      const decl = isInstruction(m, "mapref") && m.map !== undefined ? ctx.module?.getMap(m.map) : undefined;
      return decl === undefined || MAP_TYPES[decl.kind].lru;
    };
    let changed = false;
    const stack: { bb: BasicBlock; lookups: Lookups }[] = [{ bb: fn.entry, lookups: new Map() }];
    while (stack.length > 0) {
      const { bb, lookups } = stack.pop()!;
      for (const inst of [...bb.instructions()]) {
        const op = inst.opcode;
        if (op === "call") {
          if (isLookup(inst)) {
            const key = `${inst.operands[0]!.id} ${inst.operands[1]!.id}`;
            const prior = lookups.get(key);
            if (prior && prior.type === inst.type) {
              inst.replaceAllUsesWith(prior);
              inst.erase();
              ctx.stat("lookups-removed");
              changed = true;
            } else {
              // On an LRU map a lookup also reorders the entries (it marks its own entry as
              // recently used), so an earlier lookup repeated after it would not be a no-op.
              if (mayReorder(inst)) lookups.clear();
              lookups.set(key, inst);
            }
            continue;
          }
          const fx = callEffects(inst);
          if (fx.writesMemory || fx.modifiesMaps) lookups.clear();
        } else if (op === "store") {
          const address = inst.operands[1]!;
          for (const [k, l] of lookups) if (mayAlias(l.operands[1]!, address)) lookups.delete(k);
        } else if (op === "atomic.add" || op === "atomic.fetch_add") {
          const address = inst.operands[0]!;
          for (const [k, l] of lookups) if (mayAlias(l.operands[1]!, address)) lookups.delete(k);
        } else if (inst.info.memory === "write" || inst.info.memory === "readwrite") {
          lookups.clear(); // an opcode this pass does not know: be conservative
        }
      }
      for (const c of dt.children(bb)) {
        const chain = c.preds.length === 1 && c.preds[0] === bb;
        stack.push({ bb: c, lookups: chain ? new Map(lookups) : new Map() });
      }
    }
    return changed;
  },
});
