/**
 * `sccp`: sparse conditional constant propagation (Wegman & Zadeck, "Constant Propagation
 * with Conditional Branches", TOPLAS 1991).
 *
 * Each SSA value sits in the three-level lattice ⊤ (no information yet: not executed) ⊑
 * constant c ⊑ ⊥ (overdefined). Two worklists drive the fixed point: CFG edges that became
 * executable, and SSA values whose lattice value dropped. An instruction is evaluated only
 * once its block is executable; a phi meets only the values flowing along executable
 * edges; a `condbr` on a constant marks only the taken edge. Constants are evaluated with
 * the exact folder of `util/fold.ts`.
 *
 * Rewrite: every value at a constant becomes that constant; branches on constants become
 * `br`; blocks never found executable are removed. Values are lowered at most twice (⊤ → c
 * → ⊥), so the cost is O(instructions + uses + edges).
 *
 * Preserves: everything when nothing changed; the CFG analyses when no branch was folded.
 */
import { foldConditionalBranch, isConstant, removeUnreachableBlocks, type BasicBlock, type Function, type Instruction, type Value } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { defineFunctionPass } from "../pass.js";
import { isFoldable, evaluate } from "../util/fold.js";
import { eraseIfDead } from "../util/ir.js";

import { meet, OVERDEFINED, type LatticeValue } from "../util/constant-lattice.js";

export { OVERDEFINED, type LatticeValue };

/** The result of the analysis half of SCCP (exported for tests and other tools). */
export interface SccpResult {
  /** Value id → lattice value (⊤ undefined, constant, or "overdefined"). */
  readonly values: LatticeValue[];
  /** Block id → executable? */
  readonly executable: Uint8Array;
}

/** Runs the Wegman–Zadeck fixed point on `fn` without changing it. */
export function solveSccp(fn: Function): SccpResult {
  const values: LatticeValue[] = new Array(fn.valueIdBound);
  const executable = new Uint8Array(fn.blockIdBound);
  /** Executable edges: index `2 * from.id + slot` (a condbr may target one block twice; terminators have at most two slots). */
  const edges = new Uint8Array(2 * fn.blockIdBound);
  const blockWork: BasicBlock[] = [];
  const valueWork: Instruction[] = [];

  const get = (v: Value): LatticeValue => {
    if (isConstant(v)) return v.value;
    if (v.kind === "param") return OVERDEFINED;
    return values[v.id];
  };
  const set = (inst: Instruction, lv: LatticeValue) => {
    const old = values[inst.id];
    const next = meet(old, lv); // monotone: only ever lowers
    if (next === old) return;
    values[inst.id] = next;
    for (let p = 0, n = inst.useCount; p < n; p++) {
      const user = inst.useUserAt(p)!;
      if (user.block && executable[user.block.id]) valueWork.push(user);
    }
  };
  const markEdge = (from: BasicBlock, slot: number) => {
    const to = from.succs[slot]!;
    const key = 2 * from.id + slot;
    if (edges[key]) return;
    edges[key] = 1;
    if (!executable[to.id]) {
      executable[to.id] = 1;
      blockWork.push(to);
    } else for (const phi of to.phis()) valueWork.push(phi); // a new edge into a visited block
  };
  /**
   * Is the edge of phi pair `k` executable? The k-th pair of a phi belongs to the k-th edge
   * into its block, so when `from` branches to `to` twice (`condbr c, @b, @b`), the j-th pair
   * naming `from` is the edge of `from`'s j-th successor slot that targets `to`.
   */
  const pairEdgeExecutable = (phi: Instruction, k: number): boolean => {
    const from = phi.incoming[k]!;
    const to = phi.block!;
    let occurrence = 0;
    for (let p = 0; p < k; p++) if (phi.incoming[p] === from) occurrence++;
    const t = from.succs;
    for (let s = 0; s < t.length; s++) {
      if (t[s] !== to) continue;
      if (occurrence-- === 0) return edges[2 * from.id + s] === 1;
    }
    return false;
  };

  const visit = (inst: Instruction) => {
    const bb = inst.block!;
    switch (inst.opcode) {
      case "phi": {
        let lv: LatticeValue = undefined;
        for (let k = 0; k < inst.operands.length && lv !== OVERDEFINED; k++) {
          if (pairEdgeExecutable(inst, k)) lv = meet(lv, get(inst.operands[k]!));
        }
        set(inst, lv);
        return;
      }
      case "br":
        markEdge(bb, 0);
        return;
      case "condbr": {
        const c = get(inst.operands[0]!);
        if (c === undefined) return;
        if (c === OVERDEFINED) {
          markEdge(bb, 0);
          markEdge(bb, 1);
        } else markEdge(bb, c !== 0n ? 0 : 1);
        return;
      }
      case "copy":
        set(inst, get(inst.operands[0]!));
        return;
      case "select": {
        const c = get(inst.operands[0]!);
        if (c === undefined) return;
        if (c !== OVERDEFINED) set(inst, get(inst.operands[c !== 0n ? 1 : 2]!));
        else set(inst, meet(get(inst.operands[1]!), get(inst.operands[2]!)));
        return;
      }
    }
    if (inst.type.kind === "void") return;
    if (!isFoldable(inst.opcode)) {
      set(inst, OVERDEFINED);
      return;
    }
    const args: bigint[] = [];
    for (const v of inst.operands) {
      const lv = get(v);
      if (lv === undefined) return; // wait for the operand
      if (lv === OVERDEFINED) {
        set(inst, OVERDEFINED);
        return;
      }
      args.push(lv);
    }
    set(inst, evaluate(inst.opcode, inst.typeParam, inst.type, args));
  };

  executable[fn.entry.id] = 1;
  blockWork.push(fn.entry);
  while (blockWork.length > 0 || valueWork.length > 0) {
    while (valueWork.length > 0) visit(valueWork.pop()!);
    const bb = blockWork.pop();
    if (bb) for (let i = bb.first; i; i = i.next) visit(i);
  }
  return { values, executable };
}

export const sccp = defineFunctionPass({
  name: "sccp",
  description: "sparse conditional constant propagation (Wegman-Zadeck): fold constants, branches on constants, and the blocks they make dead",
  run(fn, ctx) {
    const { values, executable } = solveSccp(fn);
    let changed = false;
    let cfgChanged = false;
    let unexecuted = false;
    for (const bb of fn.blocks) {
      if (!executable[bb.id]) {
        unexecuted = true;
        continue;
      }
      for (const inst of bb.instructions()) {
        const lv = values[inst.id];
        if (typeof lv !== "bigint" || inst.type.kind === "void" || inst.info.sideEffects) continue;
        inst.replaceAllUsesWith(fn.constant(inst.type, lv));
        eraseIfDead(inst);
        ctx.stat("constants-folded");
        changed = true;
      }
      const term = bb.terminator;
      if (term?.opcode === "condbr") {
        const c = term.operands[0]!;
        const known = isConstant(c) ? c.value : undefined;
        if (known !== undefined) {
          foldConditionalBranch(bb, known !== 0n);
          ctx.stat("branches-folded");
          changed = cfgChanged = true;
        }
      }
    }
    // Every block executable (so reachable) and no branch folded: none to remove.
    const removed = cfgChanged || unexecuted ? removeUnreachableBlocks(fn) : 0;
    if (removed > 0) {
      ctx.stat("blocks-unreachable", removed);
      changed = cfgChanged = true;
    }
    return !changed ? false : cfgChanged ? Preserved.none() : Preserved.cfg();
  },
});
