/**
 * `redundant-store`: removes a store that writes the value memory already holds — the same
 * SSA value, with the same type, to the same address and offset as an earlier store, or
 * the value an earlier load of that address returned — when nothing in between may have
 * written those bytes.
 *
 * Available-memory walk in the style of gvn's load table: along each block, and down
 * chains of blocks whose only predecessor is their dominator-tree parent (so the earlier
 * access is on every path), a table maps (type, offset, address) to the value memory
 * holds. A store or atomic removes the entries its address may alias (`util/memory.ts`
 * `mayAlias`); a call clears the table unless `helperEffects` says the helper writes no
 * memory (map lookup, clock, cpu, pid). Removing the store is exact in the interpreter:
 * the bytes already hold the value and are already initialised (the earlier store wrote
 * them, or the earlier load read them without fault).
 *
 * The CFG is untouched: preserves the CFG analyses. Cost: O(instructions × table size).
 */
import type { BasicBlock, Instruction, Value } from "@luabpf/ir";
import { typeToString } from "@luabpf/ir";
import { z } from "zod";
import { Preserved } from "../analysis-manager.js";
import { dominatorTreeAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { callEffects, mayAlias } from "../util/memory.js";

/** What memory is known to hold: key → (address, value). */
type Available = Map<string, { address: Value; value: Value }>;

function slotKey(typeParam: Instruction["typeParam"], offset: number | undefined, address: Value): string {
  return `${typeToString(typeParam)} ${offset ?? 0} ${address.id}`;
}

function killAliasing(avail: Available, address: Value): void {
  for (const [k, e] of avail) if (mayAlias(e.address, address)) avail.delete(k);
}

export const redundantStore = defineFunctionPass({
  name: "redundant-store",
  description: "remove stores of the value memory already holds (same value, address, offset and type as an earlier store or load)",
  options: z.object({}),
  preserves: Preserved.cfg(),
  run(fn, ctx) {
    const dt = ctx.analyses.get(dominatorTreeAnalysis);
    let changed = false;
    const stack: { bb: BasicBlock; avail: Available }[] = [{ bb: fn.entry, avail: new Map() }];
    while (stack.length > 0) {
      const { bb, avail } = stack.pop()!;
      for (const inst of [...bb.instructions()]) {
        const op = inst.opcode;
        if (op === "load") {
          const key = slotKey(inst.typeParam, inst.offset, inst.operands[0]!);
          if (!avail.has(key)) avail.set(key, { address: inst.operands[0]!, value: inst });
        } else if (op === "store") {
          const [value, address] = [inst.operands[0]!, inst.operands[1]!];
          const key = slotKey(inst.typeParam, inst.offset, address);
          if (avail.get(key)?.value === value) {
            inst.erase();
            ctx.stat("stores-removed");
            changed = true;
            continue;
          }
          killAliasing(avail, address);
          avail.set(key, { address, value });
        } else if (op === "atomic.add" || op === "atomic.fetch_add") {
          killAliasing(avail, inst.operands[0]!);
        } else if (op === "call") {
          if (callEffects(inst).writesMemory) avail.clear();
        } else if (inst.info.memory === "write" || inst.info.memory === "readwrite") {
          avail.clear(); // an opcode this pass does not know: be conservative
        }
      }
      for (const c of dt.children(bb)) {
        const chain = c.preds.length === 1 && c.preds[0] === bb;
        stack.push({ bb: c, avail: chain ? new Map(avail) : new Map() });
      }
    }
    return changed;
  },
});
