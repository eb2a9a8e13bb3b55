/**
 * `hoist-common`: code hoisting of the instructions both sides of a branch compute (LLVM's
 * GVNHoist, the "very busy expressions" of code hoisting, restricted to one branch at a
 * time). When block D ends in `condbr c, T, F`, T and F are entered only from D, and an
 * instruction in a block T dominates and one in a block F dominates are the same —
 * same opcode, types, attributes and operands, every operand available at D — one copy
 * moves to the end of D and the other is replaced by it.
 *
 * xdp-sketch reads the IPv4 header length and computes the transport header's address on
 * its TCP path and again on its UDP path (bcc's `ip.tcp` and `ip.udp` each start from
 * `ip.hlen`); hoisted, the address is computed once, value numbering has nothing left to do,
 * and the two port reads through that one address are identical tails that sink-common
 * then merges after the join.
 *
 * A hoisted instruction runs on D's paths that did neither copy (c's third way out, a
 * branch inside T or F that skipped it), so it must be safe to run early:
 * - pure instructions and context loads (`isSpeculatable`) always are;
 * - a load through a packet pointer is when a bounds check on the edge into a block that
 *   dominates D (packet-bounds' `boundsCheck`) already covers its bytes: the verifier
 *   bounds every load from the checked base below the checked length, on every path
 *   through that edge;
 * - other loads (stack slots that may be unwritten there, map values behind a nil test),
 *   packet loads of the classic kind (`pktload` ends the program when the packet is short),
 *   calls, stores and atomics never move.
 * A load also needs the same memory at D as where it was: no store, atomic or call on any
 * path from D to either copy may write what it reads (`mayAlias`, `callMayWrite`; any call
 * before a packet load, since helpers that change the packet invalidate its pointers).
 *
 * Each D is visited until nothing more moves (a hoisted load makes its `zext` a candidate).
 * Only moves and deletes instructions: the CFG analyses stay valid. Cost: per branch and
 * round, the first {@link BUDGET} instructions under each side.
 */
import { isConstant, isInstruction, isSpeculatable, regionOf, typeToString, type BasicBlock, type Function, type Instruction } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { dominatorTreeAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { mayClobberLoad } from "../util/memory.js";
import { baseAndOffset, boundsCheck } from "./packet-bounds.js";
import { censusAnalysis } from "../analysis/census.js";

type DominatorTree = ReturnType<typeof dominatorTreeAnalysis.compute>;

/** Same computation: opcode, types, attributes and operands (constants by value). */
function keyOf(i: Instruction): string {
  const ops = i.operands.map((v) => (isConstant(v) ? `${typeToString(v.type)} ${v.value}` : `%${v.id}`));
  return `${i.opcode} ${typeToString(i.typeParam)} ${typeToString(i.type)} ${i.offset}/${i.size}/${i.align}/${i.helper ?? ""}/${i.map ?? ""}/${i.core ?? ""} ${ops.join(",")}`;
}

/** How many instructions under each side of a branch are looked at (keeps the pass linear on deep nests). */
const BUDGET = 256;

/** The instructions of the blocks `root` dominates, in dominator-tree preorder, up to {@link BUDGET}. */
function instructionsUnder(dt: DominatorTree, root: BasicBlock): Instruction[] {
  const out: Instruction[] = [];
  for (const stack = [root]; stack.length > 0 && out.length < BUDGET; ) {
    const bb = stack.pop()!;
    for (let inst = bb.first; inst && out.length < BUDGET; inst = inst.next) out.push(inst);
    const kids = dt.children(bb);
    for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k]!);
  }
  return out;
}

/** Does anything on a path from the end of `from` to `load` (in a block `from` dominates) clobber it? */
function clobberedFrom(from: BasicBlock, load: Instruction): boolean {
  const to = load.block!;
  // The blocks on a path from `from`'s successors to `to`: forward from `from`, backward from `to`.
  const forward = new Set<BasicBlock>();
  for (const stack = [...from.succs]; stack.length > 0; ) {
    const b = stack.pop()!;
    if (forward.has(b) || b === from) continue;
    forward.add(b);
    if (b !== to) stack.push(...b.succs);
  }
  const between = new Set<BasicBlock>([to]);
  for (const stack = [to]; stack.length > 0; ) {
    for (const p of stack.pop()!.preds) {
      if (forward.has(p) && !between.has(p)) {
        between.add(p);
        stack.push(p);
      }
    }
  }
  for (const bb of between) {
    for (let i = bb.firstNonPhi(); i; i = i.next) {
      if (i === load) break;
      if (mayClobberLoad(i, load)) return true;
    }
  }
  return false;
}

/** Can `inst` run at the end of `d`, where `packetKnown(base)` bytes past each packet base are checked? */
function safeAt(inst: Instruction, d: BasicBlock, known: (base: number) => number): boolean {
  if (inst.isPhi || inst.opcode === "alloca" || inst.isTerminator) return false;
  if (!isSpeculatable(inst)) {
    if (inst.opcode !== "load" || regionOf(inst.operands[0]!) !== "packet") return false;
    const { base, k } = baseAndOffset(inst.operands[0]!);
    if (k + inst.offset < 0 || k + inst.offset + inst.typeParam.size > known(base.id)) return false;
  }
  return inst.opcode !== "load" || !clobberedFrom(d, inst);
}

function hoistAt(d: BasicBlock, dt: DominatorTree, known: (base: number) => number, stat: (name: string, n?: number) => void): number {
  const term = d.terminator;
  if (!term || term.opcode !== "condbr") return 0;
  const [t, f] = [term.targets[0]!, term.targets[1]!];
  if (t === f || t.preds.length !== 1 || f.preds.length !== 1) return 0;
  const available = (inst: Instruction) =>
    inst.operands.every((v) => !isInstruction(v) || (v.block !== undefined && dt.dominates(v.block, d)));
  let hoisted = 0;
  for (let again = true; again; ) {
    again = false;
    const candidates: Instruction[] = [];
    const candidateOpcodes = new Set<string>();
    for (const inst of instructionsUnder(dt, t)) {
      if (inst.isPhi || inst.isTerminator || inst.type.kind === "void" || !available(inst)) continue;
      candidates.push(inst);
      candidateOpcodes.add(inst.opcode);
    }
    if (candidates.length === 0) break;
    const under = instructionsUnder(dt, f);
    // Keys (strings) only for the opcodes both sides have: a key starts with its opcode. The
    // table is made before the first hoist, so from the keys as they were (hoisting changes
    // only f's side and what uses it).
    const opcodes = new Set<string>();
    for (const inst of under) opcodes.add(inst.opcode);
    let first: Map<string, Instruction> | undefined;
    for (const inst of under) {
      if (inst.isPhi || inst.isTerminator || inst.type.kind === "void" || !candidateOpcodes.has(inst.opcode) || !available(inst)) continue;
      if (first === undefined) {
        first = new Map();
        for (const c of candidates) {
          if (!opcodes.has(c.opcode)) continue;
          const key = keyOf(c);
          if (!first.has(key)) first.set(key, c);
        }
      }
      if (first.size === 0) break;
      const twin = first.get(keyOf(inst));
      if (!twin || !safeAt(twin, d, known) || !safeAt(inst, d, known)) continue;
      first.delete(keyOf(inst));
      twin.moveBefore(term);
      inst.replaceAllUsesWith(twin);
      inst.erase();
      stat(twin.opcode === "load" ? "loads-hoisted" : "instructions-hoisted");
      hoisted++;
      again = true;
    }
  }
  return hoisted;
}

function hoistBranches(fn: Function, dt: DominatorTree, stat: (name: string, n?: number) => void): boolean {
  let hoisted = 0;
  for (const d of dt.preorder()) {
    // Packet bytes known in bounds at d past `base`: the bounds checks on the edges into d's dominators.
    const known = (base: number): number => {
      let n = 0;
      for (let x: BasicBlock | undefined = d; x; x = dt.idom(x)) {
        const pred = x.preds.length === 1 && x.preds[0] !== x ? x.preds[0]! : undefined;
        const check = pred ? boundsCheck(pred) : undefined;
        if (check && check.ok === x && check.short !== x && check.base.id === base) n = Math.max(n, check.known);
      }
      return n;
    };
    hoisted += hoistAt(d, dt, known, stat);
  }
  return hoisted > 0;
}

export const hoistCommon = defineFunctionPass({
  name: "hoist-common",
  description: "code hoisting: an instruction both sides of a branch compute, safe to run before the branch, is computed once there",
  preserves: Preserved.cfg(),
  applies: (fn, ctx) => ctx.analyses.get(censusAnalysis).count("condbr") > 0,
  run(fn, ctx) {
    return hoistBranches(fn, ctx.analyses.get(dominatorTreeAnalysis), ctx.stat);
  },
});
