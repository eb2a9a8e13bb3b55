/**
 * `loop-delete`: deletes a loop whose work nobody uses and that provably ends (LLVM's
 * loop-deletion; clang drops len-sqrt's Newton `repeat` loop, whose results are never read,
 * the same way).
 *
 * A loop qualifies when
 * - it has one latch, no nested loop, and one exit block, and no block entering it also
 *   branches to that exit;
 * - every instruction in it is pure or a phi or a branch (no memory access, call or packet
 *   load: nothing it does can be seen, and nothing in it can leave the program);
 * - no value defined in it is used outside it, except by the exit block's phis, and each
 *   such phi receives one loop-invariant value from every loop edge into it;
 * - it ends: some exiting block that every iteration reaches (it dominates the latch) takes
 *   its exit within `max-trip` iterations, by constants alone — the header's phis start
 *   from the constants every entering block sends, the loop's foldable instructions are evaluated on them
 *   (util/fold.ts) and the next iteration starts from the latch's values, as in `unroll`.
 *   (Removing a loop that might not end would change what the program does; the verifier
 *   would have rejected it, and the Lua program would not return.)
 *
 * The entering blocks then branch straight to the exit block, whose phis take the invariant
 * values from them, and the loop's blocks are removed as unreachable.
 * Cost: O(max-trip × loop size) per candidate loop.
 */
import { removeUnreachableBlocks, type BasicBlock, type Instruction, type Loop, type Value } from "@luabpf/ir";
import { blockOrderAnalysis, dominatorTreeAnalysis, loopInfoAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { evaluate, isFoldable } from "../util/fold.js";
import { constValue } from "../util/ir.js";
import { censusAnalysis } from "../analysis/census.js";

/** Does `loop` (entered from `entering`) end within `max` iterations, decided by constants? */
function endsWithin(loop: Loop, entering: readonly BasicBlock[], latch: BasicBlock, exiting: readonly BasicBlock[], max: number): boolean {
  let start = new Map<Value, bigint>();
  for (const phi of loop.header.phis()) {
    const ks = entering.map((e) => constValue(phi.incomingValue(e)));
    if (ks[0] !== undefined && ks.every((k) => k === ks[0])) start.set(phi, ks[0]);
  }
  for (let n = 1; n <= max; n++) {
    const known = new Map<Value, bigint>(start);
    const valueOf = (v: Value): bigint | undefined => constValue(v) ?? known.get(v);
    for (const bb of loop.blocks) {
      for (let i = bb.first; i; i = i.next) {
        if (i.isPhi || !isFoldable(i.opcode)) continue;
        const args = i.operands.map(valueOf);
        if (args.every((a) => a !== undefined)) known.set(i, evaluate(i.opcode, i.typeParam, i.type, args as bigint[]));
      }
    }
    for (const x of exiting) {
      const t = x.terminator!;
      const c = valueOf(t.operands[0]!);
      if (c === undefined) continue;
      if (!loop.contains(t.targets[c !== 0n ? 0 : 1]!)) return true;
    }
    const next = new Map<Value, bigint>();
    for (const phi of loop.header.phis()) {
      const k = valueOf(phi.incomingValue(latch));
      if (k !== undefined) next.set(phi, k);
    }
    start = next;
  }
  return false;
}

/** The value each phi of `exit` receives from the loop, if every one is a single loop-invariant value. */
function exitValues(loop: Loop, exit: BasicBlock): Map<Instruction, Value> | undefined {
  const values = new Map<Instruction, Value>();
  for (const phi of exit.phis()) {
    let v: Value | undefined;
    for (let k = 0; k < phi.operands.length; k++) {
      if (!loop.contains(phi.incoming[k]!)) continue;
      const w = phi.operands[k]!;
      if (!loop.isInvariant(w) || (v !== undefined && v !== w)) return undefined;
      v = w;
    }
    if (v === undefined) return undefined;
    values.set(phi, v);
  }
  return values;
}

export const loopDelete = defineFunctionPass({
  name: "loop-delete",
  description: "delete loops without effects whose values are unused and whose exit constants decide that they end",
  options: {
    "max-trip": { type: "integer", min: 1, default: 64, description: "the iterations within which constants must decide an exit" },
  },
  // A loop (a cycle) is left only through a condbr.
  applies: (fn, ctx) => ctx.analyses.get(censusAnalysis).count("condbr") > 0 && ctx.analyses.get(blockOrderAnalysis).cyclic,
  run(fn, ctx, options) {
    const info = ctx.analyses.get(loopInfoAnalysis);
    const dt = ctx.analyses.get(dominatorTreeAnalysis);
    let changed = false;
    for (const loop of info.loops) {
      if (loop.children.length > 0 || loop.contains(fn.entry)) continue;
      const entering = loop.entering();
      const latch = loop.latch();
      const exits = loop.exitBlocks();
      if (!latch || exits.length !== 1) continue;
      const exit = exits[0]!;
      // An entering block that also branches to the exit would reach it twice.
      if (entering.some((e) => e.succs.includes(exit) || e.terminator!.targets.filter((t) => t === loop.header).length !== 1)) continue;
      let effectFree = true;
      for (const bb of loop.blocks) {
        for (let i = bb.first; i && effectFree; i = i.next) {
          if (!(i.info.pure || i.isPhi || i.opcode === "br" || i.opcode === "condbr")) effectFree = false;
          else
            for (let p = 0, n = i.useCount; p < n && effectFree; p++) {
              const user = i.useUserAt(p)!;
              if (!loop.contains(user.block!) && user.block !== exit) effectFree = false;
            }
        }
      }
      if (!effectFree) continue;
      const values = exitValues(loop, exit);
      if (!values) continue;
      // Uses in the exit block other than its phis' loop edges would lose their definition.
      let usedOutside = false;
      for (const bb of loop.blocks)
        for (let i = bb.first; i && !usedOutside; i = i.next)
          for (let p = 0, n = i.useCount; p < n && !usedOutside; p++) {
            const user = i.useUserAt(p)!;
            if (user.block === exit && !(user.isPhi && values.has(user))) usedOutside = true;
          }
      if (usedOutside) continue;
      const exiting = loop.blocks.filter((bb) => bb.terminator?.opcode === "condbr" && bb.succs.includes(exit) && dt.dominates(bb, latch));
      if (!endsWithin(loop, entering, latch, exiting, options["max-trip"])) continue;
      // The loop's edges into the exit leave with its blocks (removeUnreachableBlocks).
      for (const e of entering) {
        for (const [phi, v] of values) phi.addIncoming(v, e);
        const term = e.terminator!;
        term.targets.forEach((t, k) => {
          if (t === loop.header) term.setTarget(k, exit);
        });
      }
      ctx.stat("loops-deleted");
      changed = true;
    }
    if (changed) removeUnreachableBlocks(fn);
    return changed;
  },
});
