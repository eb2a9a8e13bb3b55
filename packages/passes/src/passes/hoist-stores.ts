/**
 * `hoist-stores`: moves each store into a stack slot up to where its value (or address)
 * is produced, within its block, so that the value need not stay in a register — across
 * a helper call it would take a callee-saved register and a copy — only to be stored
 * later. `t[f()] = g()` lowers to `k = f(); v = g(); *key = k; *val = v`; after this pass
 * `*key = k` follows `f()` directly, as clang emits it.
 *
 * A store `store v, p` into an `alloca` (through `ptradd`s) rises above each instruction
 * I of its block that does not define v or p, as long as I cannot touch the slot:
 * `util/memory.ts` `mayAlias` says no for the address of a load, store or atomic, and
 * for every pointer operand of a call (a helper sees the stack only through its pointer
 * arguments). Slots whose address escapes (stored as a value, merged by a phi or select,
 * compared) are left alone. Stores of constants are not moved (no register is freed).
 * Moving a store into the stack earlier is invisible: only later reads see the slot.
 *
 * Preserves the CFG analyses. Cost: O(instructions × distance moved).
 */
import { isConstant, isInstruction, type Instruction, type Value } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { defineFunctionPass } from "../pass.js";
import { mayAlias, pointerRoot } from "../util/memory.js";
import { censusAnalysis } from "../analysis/census.js";

/** Is every use of slot `a` (through ptradds) the address of a load, store or atomic, or a call argument? */
function addressStaysPrivate(a: Instruction): boolean {
  const stack: Instruction[] = [a];
  while (stack.length > 0) {
    const p = stack.pop()!;
    for (const u of p.uses) {
      const op = u.user.opcode;
      if (op === "ptradd" && u.index === 0) stack.push(u.user);
      else if (op === "load" || op === "call" || u.user.info.shape === "atomic") continue;
      else if (op === "store" && u.index === 1) continue;
      else return false;
    }
  }
  return true;
}

/** May instruction `i` read or write the memory `p` points to? */
function touches(i: Instruction, p: Value): boolean {
  switch (i.opcode) {
    case "load":
      return mayAlias(i.operands[0]!, p);
    case "store":
      return mayAlias(i.operands[1]!, p);
    case "call":
      return i.operands.some((a) => a.type.kind === "ptr" && mayAlias(a, p));
    case "pktload":
      return false; // reads the packet
    default:
      if (i.info.shape === "atomic") return mayAlias(i.operands[0]!, p);
      return i.info.memory !== "none";
  }
}

export const hoistStores = defineFunctionPass({
  name: "hoist-stores",
  description: "move stores into stack slots up to where their value is produced, so values do not wait in registers (across calls) to be stored",
  preserves: Preserved.cfg(),
  applies: (fn, ctx) => ctx.analyses.get(censusAnalysis).count("store") > 0,
  run(fn, ctx) {
    let changed = false;
    const privateSlot = new Map<Instruction, boolean>();
    for (const bb of fn.blocks) {
      for (let s = bb.first; s; ) {
        const next = s.next;
        const store = s;
        s = next;
        if (store.opcode !== "store") continue;
        const [v, p] = [store.operands[0]!, store.operands[1]!];
        if (isConstant(v)) continue;
        const root = pointerRoot(p);
        if (!isInstruction(root, "alloca")) continue;
        let ok = privateSlot.get(root);
        if (ok === undefined) privateSlot.set(root, (ok = addressStaysPrivate(root)));
        if (!ok) continue;
        let pos: Instruction | undefined;
        for (let i = store.prev; i && i.opcode !== "phi"; i = i.prev) {
          if (i === v || i === p || touches(i, p)) break;
          pos = i;
        }
        if (!pos) continue;
        store.moveBefore(pos);
        ctx.stat("stores-hoisted");
        changed = true;
      }
    }
    return changed;
  },
});
