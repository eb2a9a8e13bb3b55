/**
 * `dce`: dead code elimination.
 *
 * Aggressive mode (default; "mark and sweep", Kennedy's ADCE without control dependence):
 * the roots are every terminator and every instruction the opcode table marks
 * `sideEffects`, except stores into stack slots nobody reads. Liveness flows backwards
 * from the roots through operands; everything unmarked is removed, including cycles of
 * phis that only feed each other, which use-count-based DCE cannot see. Branches are all
 * kept (no control-dependence analysis); simplify-cfg removes the empty blocks left.
 *
 * Dead stack slots: an `alloca` whose address (through `ptradd` chains) is only ever the
 * *address operand* of `store`s is never read — not loaded, not passed to a call, not
 * stored elsewhere, not compared, not merged by a phi/select — so its stores are not roots
 * and the slot disappears with them.
 *
 * `aggressive=false` removes only instructions whose results are unused (iteratively).
 * Both modes finally remove unreachable blocks. Cost: O(instructions + uses).
 */
import { removeUnreachableBlocks, type Function, type Instruction } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { blockOrderAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { allInstructions, eraseDeadTree } from "../util/ir.js";

/** Allocas whose address is only used as the address of stores (through ptradds); `insts`: `fn`'s instructions, when the caller has them. */
export function writeOnlySlots(fn: Function, insts: Iterable<Instruction> = fn.instructions()): Set<Instruction> {
  const out = new Set<Instruction>();
  for (const inst of insts) {
    if (inst.opcode !== "alloca") continue;
    let ok = true;
    const stack: Instruction[] = [inst];
    while (ok && stack.length > 0) {
      const p = stack.pop()!;
      for (const u of p.uses) {
        if (u.user.opcode === "store" && u.index === 1) continue;
        if (u.user.opcode === "ptradd" && u.index === 0) {
          stack.push(u.user);
          continue;
        }
        ok = false;
        break;
      }
    }
    if (ok) out.add(inst);
  }
  return out;
}

function isDeadStore(inst: Instruction, slots: ReadonlySet<Instruction>): boolean {
  if (inst.opcode !== "store") return false;
  let p = inst.operands[1]!;
  while (p.kind === "instruction" && (p as Instruction).opcode === "ptradd") p = (p as Instruction).operands[0]!;
  return slots.has(p as Instruction);
}

export const dce = defineFunctionPass({
  name: "dce",
  description: "dead code elimination: unused instructions, dead phi cycles, stores to unread stack slots, unreachable blocks",
  options: {
    aggressive: { type: "boolean", default: true, description: "mark-and-sweep from side effects (removes dead cycles and dead stores); false: only unused results" },
  },
  run(fn, ctx, { aggressive }) {
    let removed = 0;
    // A valid block order that holds every block (analyses are valid between passes): all reachable.
    const order = ctx.analyses.cached(blockOrderAnalysis);
    const blocks = order !== undefined && order.rpo.length === fn.blocks.length ? 0 : removeUnreachableBlocks(fn);
    if (blocks) ctx.stat("blocks-unreachable", blocks);
    if (!aggressive) {
      for (const inst of allInstructions(fn).reverse()) removed += eraseDeadTree(inst);
    } else {
      // One walk of the blocks: marking changes nothing, so the list serves to the sweep.
      const all = allInstructions(fn);
      const slots = writeOnlySlots(fn, all);
      const live = new Uint8Array(fn.valueIdBound);
      const work: Instruction[] = [];
      for (const inst of all) {
        const info = inst.info;
        if ((info.terminator || info.sideEffects) && !isDeadStore(inst, slots)) {
          live[inst.id] = 1;
          work.push(inst);
        }
      }
      while (work.length > 0) {
        const inst = work.pop()!;
        for (const v of inst.operands) {
          if (v.kind !== "instruction" || live[v.id]) continue;
          live[v.id] = 1;
          work.push(v as Instruction);
        }
      }
      const dead = all.filter((i) => !live[i.id]);
      for (const inst of dead) inst.dropOperands();
      for (const inst of dead) {
        if (inst.opcode === "store") ctx.stat("dead-stores");
        if (inst.isPhi) ctx.stat("dead-phis");
        inst.erase();
      }
      removed = dead.length;
    }
    if (removed) ctx.stat("instructions-dead", removed);
    if (blocks) return true;
    return removed > 0 ? Preserved.cfg() : false;
  },
});
