/**
 * `sink-common`: tail merging of a join's predecessors (LLVM SimplifyCFG's
 * `SinkCommonCodeFromPredecessors`, GCC's cross-jumping). When every predecessor of a block
 * J jumps to it unconditionally and all of them end with the same instructions — same
 * opcode, types and attributes, and operands that are either the same value or the
 * corresponding instruction of the same tail — one copy of that tail moves to the start of
 * J and the others go. The phis of J that merged corresponding tail instructions become the
 * moved instruction. `if proto == 6 then port = tcp.dport elseif proto == 17 then port =
 * udp.dport end` reads the header length and the port once after the join instead of once
 * on each side (the two ports are at the same offset).
 *
 * The tails are matched from the last instruction backwards, one position at a time, while
 * every predecessor's instruction at that position matches the first predecessor's and is
 * used only by later tail instructions or by J's phis (a phi must merge the corresponding
 * instructions of all predecessors, or none of them). Phis, allocas and terminators are not
 * moved. Moving a whole tail keeps its order and what runs before it, and every way into J
 * runs exactly one of the copies, so effects (loads, stores, calls) are unchanged; the
 * values it reads from outside are the same in every copy and dominate each predecessor,
 * hence J.
 *
 * Preserves the CFG analyses (no edge changes; emptied predecessors are left for
 * simplify-cfg). Cost: O(instructions) per join.
 */
import { isConstant, type BasicBlock, type Instruction, type Value } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { defineFunctionPass } from "../pass.js";

/** Same opcode, types and attributes (operands aside). */
function sameShape(a: Instruction, b: Instruction): boolean {
  return (
    a.opcode === b.opcode &&
    a.type === b.type &&
    a.typeParam === b.typeParam &&
    a.operands.length === b.operands.length &&
    a.offset === b.offset &&
    a.size === b.size &&
    a.align === b.align &&
    a.helper === b.helper &&
    a.callee === b.callee &&
    a.map === b.map &&
    a.core === b.core
  );
}

function sameValue(a: Value, b: Value): boolean {
  return a === b || (isConstant(a) && isConstant(b) && a.type === b.type && a.value === b.value);
}

/** The tail instructions of `bb` (before its terminator), last first. */
function tailOf(bb: BasicBlock): Instruction[] {
  const out: Instruction[] = [];
  for (let i = bb.terminator?.prev; i && !i.isPhi && i.opcode !== "alloca"; i = i.prev) out.push(i);
  return out;
}

/** Sinks the common tail of `join`'s predecessors into it; the number of instructions moved. */
function sinkInto(join: BasicBlock): number {
  const preds = join.preds;
  if (preds.length < 2 || new Set(preds).size !== preds.length) return 0;
  if (preds.some((p) => p === join || p.terminator?.opcode !== "br")) return 0;
  const tails = preds.map(tailOf);
  const depthLimit = Math.min(...tails.map((t) => t.length));
  const phis = join.phis();
  // The deepest position where every tail has an instruction of the same shape...
  let depth = 0;
  while (depth < depthLimit && tails.every((t) => sameShape(tails[0]![depth]!, t[depth]!))) depth++;
  // ...then shrink until every position's operands correspond and its uses stay inside.
  const position = new Map<Instruction, number>();
  for (let stable = false; !stable && depth > 0; ) {
    stable = true;
    position.clear();
    for (let d = 0; d < depth; d++) for (const t of tails) position.set(t[d]!, d);
    for (let d = 0; d < depth; d++) {
      if (!positionMatches(d, preds, tails, position, join, phis)) {
        depth = d;
        stable = false;
        break;
      }
    }
  }
  if (depth === 0) return 0;
  const anchor = join.firstNonPhi()!;
  for (let d = depth - 1; d >= 0; d--) {
    const keep = tails[0]![d]!;
    keep.moveBefore(anchor);
    for (let p = 1; p < preds.length; p++) {
      const dup = tails[p]![d]!;
      dup.replaceAllUsesWith(keep);
    }
  }
  for (let d = 0; d < depth; d++) for (let p = 1; p < preds.length; p++) tails[p]![d]!.erase();
  // The phis that merged the copies now read the moved instruction from every side.
  for (const phi of phis) {
    const v = phi.operands[0]!;
    if (phi.operands.every((o) => o === v) && position.has(v as Instruction)) {
      phi.replaceAllUsesWith(v);
      phi.erase();
    }
  }
  return depth;
}

/**
 * Do the instructions at `depth` of every tail read corresponding operands (the same value
 * from outside the tails, or each its own tail's instruction at one position), and is each
 * used only inside its tail or by a phi of the join merging that position from every side?
 */
function positionMatches(
  depth: number,
  preds: readonly BasicBlock[],
  tails: readonly Instruction[][],
  position: ReadonlyMap<Instruction, number>,
  join: BasicBlock,
  phis: readonly Instruction[],
): boolean {
  const lead = tails[0]![depth]!;
  for (let p = 1; p < preds.length; p++) {
    const other = tails[p]![depth]!;
    for (let k = 0; k < lead.operands.length; k++) {
      const [a, b] = [lead.operands[k]!, other.operands[k]!];
      const [pa, pb] = [position.get(a as Instruction), position.get(b as Instruction)];
      if (pa === undefined && pb === undefined) {
        if (!sameValue(a, b)) return false;
      } else if (pa === undefined || pa !== pb) return false;
    }
  }
  for (let p = 0; p < preds.length; p++) {
    for (const u of tails[p]![depth]!.uses) {
      const user = u.user;
      if (user.block === preds[p] && position.has(user)) continue;
      if (user.isPhi && user.block === join && phis.includes(user) && mergesPosition(user, preds, tails, depth)) continue;
      return false;
    }
  }
  return true;
}

/** Does `phi` merge, from each predecessor, that predecessor's tail instruction at `depth`? */
function mergesPosition(phi: Instruction, preds: readonly BasicBlock[], tails: readonly Instruction[][], depth: number): boolean {
  return preds.every((p, k) => phi.incomingValue(p) === tails[k]![depth]!);
}

export const sinkCommon = defineFunctionPass({
  name: "sink-common",
  description: "tail merging: the identical last instructions of every predecessor of a join move into the join once",
  preserves: Preserved.cfg(),
  run(fn, ctx) {
    let moved = 0;
    for (const bb of fn.blocks) moved += sinkInto(bb);
    if (moved > 0) ctx.stat("instructions-sunk", moved);
    return moved > 0;
  },
});
