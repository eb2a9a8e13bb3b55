/**
 * `sink-loads`: moves the value a phi chose on one side of a branch down to the phi's use,
 * when a branch condition known at the use says that the phi came from that side (sinking
 * through a phi by correlated conditions, a cousin of LLVM's `Sink` and of GCC's
 * partial-redundancy "code sinking").
 *
 * bcc's map read `local lo = lowest[proto]` is lowered to a lookup, a nil test and a load
 * of the value behind it, merged by a phi: `%v = phi [0, @test], [%load, @nonnil]`. A later
 * `if not lo or ttl < lo` tests the pointer again and reads `%v` only where the pointer is
 * not nil, that is, where the phi can only have come from `@nonnil`. Moving the load (and
 * the pure instructions between it and the phi: a `zext`) to that use empties `@nonnil`,
 * and simplify-cfg then removes the first nil test: the value is loaded where it is used,
 * behind the one test that remains, as clang does for `if (!lo || ttl < *lo)`.
 *
 * For a phi P in block J and a block U that uses P (not as a phi operand), each incoming
 * edge A → J carries facts: the condition of A's `condbr` when it has two different
 * targets, and the conditions of the single-predecessor chain above A (up to
 * {@link CHAIN}); U has the facts of the branches that dominate it (the scoped walk of
 * correlated-branch). An edge whose facts contradict U's cannot have been the last way
 * into J on a path to U. When J is in no cycle (so no condition is evaluated again between
 * J and U, and J is passed once), P at U is the value on the feasible edges, if they all
 * carry one value V:
 * - when V dominates U (a constant, an argument, a value from above), U reads V directly;
 * - otherwise, when P is used only in U and V is an instruction used only by P, V and the
 *   operands it alone uses (pure instructions and loads, not phis) move to U before P's
 *   first use, and P goes. Every path to U executed them on the way through A, so a load
 *   is safe at U with the same pointer (a map value whose nil test the path passed, a
 *   packet pointer whose bounds it checked), provided memory is the same on every path from the load to U: no store or atomic that
 *   may alias the load (`mayAlias`), and no call that may write what it reads
 *   (`callMayWrite`: an update of another map leaves a map value alone; any call ends a
 *   packet load, since helpers that change the packet invalidate packet pointers).
 *
 * Only moves instructions (and erases the phis it replaces): the CFG analyses stay valid.
 * Cost: O(instructions) for the walk plus, per candidate, the blocks between A and U.
 */
import { isInstruction, type BasicBlock, type Function, type Instruction, type Value } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { dominatorTreeAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { factsOf, type FactTable } from "../util/conditions.js";
import { usedOnlyIn } from "../util/ir.js";
import { mayClobberLoad } from "../util/memory.js";
import { walkDominatorTree } from "../util/scoped-walk.js";
import { censusAnalysis } from "../analysis/census.js";

/** How many single-predecessor edges above an incoming block contribute facts to its edge. */
const CHAIN = 8;

/** Is `bb` on a cycle (can it reach itself)? */
function onCycle(bb: BasicBlock): boolean {
  const seen = new Set<BasicBlock>();
  const stack = [...bb.succs];
  while (stack.length > 0) {
    const b = stack.pop()!;
    if (b === bb) return true;
    if (seen.has(b)) continue;
    seen.add(b);
    stack.push(...b.succs);
  }
  return false;
}

/** The facts that hold on the edge `from` → `to` (its branch and the single-predecessor chain above). */
function edgeFacts(from: BasicBlock, to: BasicBlock): [string, boolean][] {
  const out: [string, boolean][] = [];
  let [src, dst] = [from, to];
  for (let k = 0; k <= CHAIN; k++) {
    const t = src.terminator;
    if (t && t.opcode === "condbr" && t.targets[0] !== t.targets[1]) out.push(...factsOf(t.operands[0]!, t.targets[0] === dst));
    if (src.preds.length !== 1 || src.preds[0] === src) break;
    [src, dst] = [src.preds[0]!, src];
  }
  return out;
}

/** The value phi `phi` has at a block with facts `facts`, if the feasible incoming edges agree on one. */
function valueAt(phi: Instruction, facts: FactTable): Value | undefined {
  let chosen: Value | undefined;
  for (let i = 0; i < phi.operands.length; i++) {
    const infeasible = edgeFacts(phi.incoming[i]!, phi.block!).some(([key, v]) => facts.get(key) === !v);
    if (infeasible) continue;
    if (chosen !== undefined && chosen !== phi.operands[i]) return undefined;
    chosen = phi.operands[i]!;
  }
  return chosen;
}

/** The blocks on some path from `from` to `to` (both included; `to` reached, not passed through). */
function blocksBetween(from: BasicBlock, to: BasicBlock): Set<BasicBlock> {
  const forward = new Set<BasicBlock>([from]);
  for (const stack = [from]; stack.length > 0; ) {
    for (const s of stack.pop()!.succs) {
      if (!forward.has(s) && s !== to) {
        forward.add(s);
        stack.push(s);
      }
    }
  }
  const out = new Set<BasicBlock>([to]);
  for (const stack = [to]; stack.length > 0; ) {
    for (const p of stack.pop()!.preds) {
      if (forward.has(p) && !out.has(p)) {
        out.add(p);
        stack.push(p);
      }
    }
  }
  return out;
}

/** Does any instruction run between `load` and `before` (on any path) clobber it? */
function clobberedBetween(load: Instruction, before: Instruction): boolean {
  const [from, to] = [load.block!, before.block!];
  for (const bb of blocksBetween(from, to)) {
    let i = bb === from ? load.next : bb.firstNonPhi();
    for (; i; i = i.next) {
      if (i === before) break;
      if (mayClobberLoad(i, load)) return true;
    }
  }
  return false;
}

/**
 * The instructions to move so that `root` can be computed before `at`: `root` and the
 * operands only it needs that do not dominate `at`, operands first; undefined if one cannot move.
 */
function movable(root: Instruction, at: Instruction, dominates: (v: Value, at: Instruction) => boolean, phi: Instruction): Instruction[] | undefined {
  const order: Instruction[] = [];
  const inTree = new Set<Instruction>();
  const visit = (inst: Instruction, user: Instruction): boolean => {
    if (inst.isPhi || inst.opcode === "alloca" || !(inst.info.pure || inst.opcode === "load")) return false;
    if (inst.uses.some((u) => u.user !== user)) return false;
    for (const v of inst.operands) {
      if (dominates(v, at)) continue;
      if (!isInstruction(v) || inTree.has(v) || !visit(v, inst)) return false;
    }
    inTree.add(inst);
    order.push(inst);
    return true;
  };
  if (!visit(root, phi)) return undefined;
  for (const inst of order) if (inst.opcode === "load" && clobberedBetween(inst, at)) return undefined;
  return order;
}

function sinkPhiValues(fn: Function, dt: ReturnType<typeof dominatorTreeAnalysis.compute>, stat: (name: string, n?: number) => void): boolean {
  const dominates = (v: Value, at: Instruction): boolean => !isInstruction(v) || (v.block !== undefined && dt.instructionDominates(v, at) && v !== at);
  const candidates: { phi: Instruction; block: BasicBlock; value: Value }[] = [];
  const cycles = new Map<BasicBlock, boolean>();
  walkDominatorTree<boolean>(fn, dt, (bb, facts, pred) => {
    const pt = pred?.terminator;
    if (pt && pt.opcode === "condbr" && pt.targets[0] !== pt.targets[1]) {
      for (const [key, v] of factsOf(pt.operands[0]!, pt.targets[0] === bb)) facts.set(key, v);
    }
    const seen = new Set<Instruction>();
    for (const inst of bb.instructions()) {
      if (inst.isPhi) continue;
      for (const v of inst.operands) {
        if (!isInstruction(v, "phi") || seen.has(v) || v.block === bb) continue;
        seen.add(v);
        const j = v.block!;
        if (!cycles.has(j)) cycles.set(j, onCycle(j));
        if (cycles.get(j)) continue;
        const value = valueAt(v, facts);
        if (value !== undefined && value !== v) candidates.push({ phi: v, block: bb, value });
      }
    }
  });
  let changed = false;
  for (const { phi, block, value } of candidates) {
    if (phi.block === undefined) continue;
    const users = phi.uses.filter((u) => u.user.block === block && !u.user.isPhi).map((u) => u.user);
    if (users.length === 0) continue;
    const first = block.instructions().find((i) => users.includes(i))!;
    if (dominates(value, first)) {
      for (const u of users) for (let k = 0; k < u.operands.length; k++) if (u.operands[k] === phi) u.setOperand(k, value);
      stat("phi-uses-resolved", users.length);
      changed = true;
      continue;
    }
    if (!isInstruction(value) || !usedOnlyIn(phi, block)) continue;
    const moves = movable(value, first, dominates, phi);
    if (!moves) continue;
    for (const inst of moves) inst.moveBefore(first);
    phi.replaceAllUsesWith(value);
    phi.erase();
    stat("instructions-sunk", moves.length);
    changed = true;
  }
  return changed;
}

export const sinkLoads = defineFunctionPass({
  name: "sink-loads",
  description: "move the value a phi takes from one side of a branch to the phi's use, where a branch condition there decides that side",
  preserves: Preserved.cfg(),
  // The values it moves are phis' incoming values.
  applies: (fn, ctx) => ctx.analyses.get(censusAnalysis).count("phi") > 0,
  run(fn, ctx) {
    return sinkPhiValues(fn, ctx.analyses.get(dominatorTreeAnalysis), ctx.stat);
  },
});
