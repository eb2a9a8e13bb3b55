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
 * **Arms that differ in constants** (LLVM's sinking with a phi for the differing operand,
 * made a select because both arms leave one branch). When block D ends in `condbr c, T, F`,
 * T and F are entered only from D, and the blocks reached from T (entered only from T's
 * region) are the same as those reached from F — instruction for instruction, with
 * corresponding operands, branches to corresponding blocks or to the same block outside
 * (whose phis get corresponding values from both) — except that some operands are two
 * different integer constants, F's region goes: D computes `select c, a, b` for each
 * differing pair, T's region reads the selects, and D jumps to T. `if sum == 0xffff then
 * xadd(results[GOOD], 1) else xadd(results[BAD], 1) end` stores `select` of the two keys
 * and looks up and adds once, as clang's twin does with `key = sum == 0xffff ? 0 : 1`.
 * Differing constants are allowed in stores' values and pure instructions' operands (not in
 * a `ptradd`, whose constant offset the verifier's packet ranges need, nor in calls: a
 * helper's map argument must stay a constant map), in `ret` and in the phis of the blocks
 * both arms leave to; each select must save at least {@link ARM_SAVING} instructions.
 *
 * **Look-alike regions** (cross-jumping with phis). Two regions entered at blocks T and F
 * from different predecessors (each region entered only at its entry, at most
 * {@link MAX_REGION} blocks), matched as arms are, become one: T gets a phi per differing
 * constant pair, F's predecessors jump to T, F's region goes. Candidates are blocks with the
 * same opcodes, each tried against the first {@link MAX_CANDIDATES} earlier ones (linear in
 * the blocks); the region must weigh more than a move per phi and
 * edge plus a jump (xdp-drop-dns's IPv4 and IPv6 `xadd(dropped[k], 1)`).
 *
 * Preserves the CFG analyses when only tails move (no edge changes; emptied predecessors
 * are left for simplify-cfg); merging arms removes blocks. Cost: O(instructions) per join
 * and per branch.
 */
import { foldConditionalBranch, isConstant, redirectBranch, type BasicBlock, type Function, type Instruction, type Value } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { defineFunctionPass } from "../pass.js";
import { removeUnreachableBlocks } from "@luabpf/ir";

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

/** Instructions an arm merge must remove per select it adds (a select is a move, a jump and a move). */
const ARM_SAVING = 4;

/** Two arms' correspondence: F's blocks and values to T's, and the constant pairs that differ. */
interface ArmMatch {
  readonly blocks: Map<BasicBlock, BasicBlock>;
  readonly values: Map<Value, Value>;
  /** Operand slots of T's instructions (or phi entries) that need `select c, a, b`. */
  readonly differ: { inst: Instruction; operand: number; a: Value; b: Value }[];
  removed: number;
}

/** May a differing constant stand in operand `k` of `inst` (as a select's result)? */
function mayDiffer(inst: Instruction, k: number): boolean {
  if (inst.opcode === "store") return k === 0;
  if (inst.opcode === "ret") return true;
  return inst.info.pure && inst.opcode !== "ptradd" && !inst.isPhi;
}

/** Do `a` (in T's region) and `b` (in F's) correspond? Records a differing constant pair where allowed. */
function operandsMatch(m: ArmMatch, inst: Instruction, k: number, a: Value, b: Value, fRegion: ReadonlySet<BasicBlock>): boolean {
  const mapped = m.values.get(b);
  if (mapped !== undefined) return mapped === a;
  if (b.kind === "instruction" && fRegion.has((b as Instruction).block!)) return false;
  if (sameValue(a, b)) return true;
  if (isConstant(a) && isConstant(b) && a.type === b.type && a.type.kind === "int" && (k < 0 || mayDiffer(inst, k))) {
    m.differ.push({ inst, operand: k, a, b });
    return true;
  }
  return false;
}

/** The blocks reachable from `entry` through blocks entered only from inside (`entry` only from `d`). */
function armRegion(d: BasicBlock, entry: BasicBlock): Set<BasicBlock> | undefined {
  if (entry.preds.length !== 1 || entry.preds[0] !== d) return undefined;
  const region = new Set<BasicBlock>([entry]);
  for (const stack = [entry]; stack.length > 0; ) {
    for (const s of stack.pop()!.succs) {
      if (region.has(s) || s === d) continue;
      if (s.preds.every((p) => region.has(p))) {
        region.add(s);
        stack.push(s);
      }
    }
  }
  // A block outside must not be entered from inside and from nowhere else in a way that
  // needs it in the region: it is fine as a shared exit. Loops inside are not merged.
  for (const bb of region) if (bb.succs.includes(entry)) return undefined;
  return region;
}

/** Matches T's region against F's, block by block from the entries. */
function matchArms(t: BasicBlock, f: BasicBlock, tRegion: ReadonlySet<BasicBlock>, fRegion: ReadonlySet<BasicBlock>): ArmMatch | undefined {
  if (tRegion.size !== fRegion.size) return undefined;
  const m: ArmMatch = { blocks: new Map([[f, t]]), values: new Map(), differ: [], removed: 0 };
  const work: [BasicBlock, BasicBlock][] = [[t, f]];
  const exits: [BasicBlock, BasicBlock, BasicBlock][] = [];
  while (work.length > 0) {
    const [bt, bf] = work.pop()!;
    const [it, jf] = [bt.instructions(), bf.instructions()];
    if (it.length !== jf.length) return undefined;
    for (let n = 0; n < it.length; n++) {
      const [x, y] = [it[n]!, jf[n]!];
      if (x.isPhi || y.isPhi || x.opcode === "alloca" || !sameShape(x, y)) return undefined;
      for (let k = 0; k < x.operands.length; k++) if (!operandsMatch(m, x, k, x.operands[k]!, y.operands[k]!, fRegion)) return undefined;
      if (x.targets.length !== y.targets.length) return undefined;
      for (let k = 0; k < x.targets.length; k++) {
        const [tx, ty] = [x.targets[k]!, y.targets[k]!];
        const inT = tRegion.has(tx);
        if (inT !== fRegion.has(ty)) return undefined;
        if (inT) {
          const seen = m.blocks.get(ty);
          if (seen === undefined) {
            m.blocks.set(ty, tx);
            work.push([tx, ty]);
          } else if (seen !== tx) return undefined;
        } else if (tx !== ty) return undefined;
        else exits.push([tx, bt, bf]);
      }
      m.values.set(y, x);
      if (!x.isTerminator) m.removed++;
    }
  }
  // The blocks both leave to: each phi gets corresponding values from the two sides.
  for (const [x, bt, bf] of exits) {
    for (const phi of x.phis()) {
      if (!operandsMatch(m, phi, -1, phi.incomingValue(bt), phi.incomingValue(bf), fRegion)) return undefined;
      const last = m.differ[m.differ.length - 1];
      if (last && last.inst === phi && last.operand === -1) last.operand = phi.incomingIndex(bt);
    }
  }
  // F's values may be used only inside F's region or by those phis.
  for (const bb of fRegion) {
    for (const inst of bb.instructions()) {
      for (const u of inst.uses) if (!fRegion.has(u.user.block!) && !(u.user.isPhi && exits.some(([x, , bf]) => x === u.user.block && u.user.incoming[u.index] === bf))) return undefined;
    }
  }
  return m;
}

/** Merges the two arms of `d`'s branch when they differ only in constants; whether it did. */
function mergeArms(fn: Function, d: BasicBlock): boolean {
  const term = d.terminator;
  if (term?.opcode !== "condbr") return false;
  const [t, f] = [term.targets[0]!, term.targets[1]!];
  if (t === f) return false;
  const tRegion = armRegion(d, t);
  const fRegion = tRegion && armRegion(d, f);
  if (!tRegion || !fRegion || [...tRegion].some((b) => fRegion.has(b))) return false;
  const m = matchArms(t, f, tRegion, fRegion);
  const pairs = new Set(m?.differ.map(({ a, b }) => `${a.id},${b.id}`));
  if (!m || m.removed < ARM_SAVING * pairs.size || m.removed === 0) return false;
  const c = term.operands[0]!;
  const selects = new Map<string, Value>();
  for (const { inst, operand, a, b } of m.differ) {
    const key = `${a.id},${b.id}`;
    let sel = selects.get(key);
    if (sel === undefined) {
      const s = fn.createInstruction("select", a.type, a.type, [c, a, b]);
      s.loc = term.loc;
      s.insertBefore(term);
      selects.set(key, (sel = s));
    }
    if (!inst.isPhi) inst.setOperand(operand, sel);
    // Every entry of the phi from that block (a `condbr` with both targets the exit has two).
    else for (let i = 0; i < inst.operands.length; i++) if (inst.incoming[i] === inst.incoming[operand]) inst.setOperand(i, sel);
  }
  foldConditionalBranch(d, true);
  removeUnreachableBlocks(fn);
  return true;
}

/** The most blocks a region merged by {@link mergeRegions} may have, and the earlier look-alikes each entry is tried against. */
const MAX_REGION = 8;
const MAX_CANDIDATES = 8;

/**
 * The blocks reachable from `entry` through blocks entered only from inside: undefined when
 * the region loops back to its entry or has more than {@link MAX_REGION} blocks.
 */
function entryRegion(entry: BasicBlock): Set<BasicBlock> | undefined {
  const region = new Set<BasicBlock>([entry]);
  for (const stack = [entry]; stack.length > 0; ) {
    for (const s of stack.pop()!.succs) {
      if (s === entry) return undefined;
      if (region.has(s) || !s.preds.every((p) => region.has(p))) continue;
      region.add(s);
      if (region.size > MAX_REGION) return undefined;
      stack.push(s);
    }
  }
  return region;
}

/** What a region's instructions cost, roughly in machine instructions: a call also moves its arguments. */
function weight(region: ReadonlySet<BasicBlock>): number {
  let n = 0;
  for (const bb of region) for (const i of bb.instructions()) if (!i.isTerminator) n += i.opcode === "call" ? 1 + i.operands.length : 1;
  return n;
}

/**
 * Cross-jumping with phis: two regions entered at `t` and `f` (each entered only there, no
 * phis at either entry, no common predecessor), the same instruction for instruction with
 * the same exits except for differing integer constants (as {@link matchArms} matches arms),
 * become one: `t` gets a phi per differing pair (the first constant from `t`'s
 * predecessors, the second from `f`'s), `f`'s predecessors jump to `t`, and `f`'s region
 * goes. xdp-drop-dns counts a dropped IPv4 and IPv6 query with one `xadd(dropped[k], 1)`
 * whose key is 0 or 1 by the way in. Only where the region weighs more than a move per
 * phi and edge plus a jump. Values the regions read from outside are the same in both and
 * dominate both entries (each region is entered only at its entry), hence the merged one.
 */
function mergeRegions(fn: Function, t: BasicBlock, f: BasicBlock, regionOf: (entry: BasicBlock) => Set<BasicBlock> | undefined): boolean {
  if (t === f || t.first?.isPhi || f.first?.isPhi) return false;
  if (sharePredecessor(t, f)) return false;
  const tRegion = regionOf(t);
  const fRegion = tRegion && regionOf(f);
  // matchArms' first test, before the tests that walk the regions.
  if (!tRegion || !fRegion || tRegion.size !== fRegion.size) return false;
  for (const b of tRegion) if (fRegion.has(b)) return false;
  if (f.preds.some((p) => tRegion.has(p)) || t.preds.some((p) => fRegion.has(p))) return false;
  if (entriesDiffer(t, f, fRegion)) return false;
  const m = matchArms(t, f, tRegion, fRegion);
  if (!m || m.removed === 0) return false;
  const pairs = new Map<string, { a: Value; b: Value }>();
  for (const { a, b } of m.differ) pairs.set(`${a.id},${b.id}`, { a, b });
  if (weight(fRegion) <= pairs.size * (t.preds.length + f.preds.length) + 1) return false;
  const phis = new Map<string, Instruction>();
  for (const [key, { a }] of pairs) {
    const phi = fn.createInstruction("phi", a.type, a.type);
    for (const p of t.preds) phi.addIncoming(a, p);
    t.prepend(phi);
    phis.set(key, phi);
  }
  for (const { inst, operand, a, b } of m.differ) {
    const phi = phis.get(`${a.id},${b.id}`)!;
    if (!inst.isPhi) inst.setOperand(operand, phi);
    else for (let i = 0; i < inst.operands.length; i++) if (inst.incoming[i] === inst.incoming[operand]) inst.setOperand(i, phi);
  }
  const second = new Map<Instruction, Value>();
  for (const [key, { b }] of pairs) second.set(phis.get(key)!, b);
  for (const p of new Set(f.preds)) {
    const targets = p.terminator!.targets;
    for (let k = 0; k < targets.length; k++) if (targets[k] === f) redirectBranch(p, f, t, (phi) => second.get(phi)!, k);
  }
  removeUnreachableBlocks(fn);
  return true;
}

/**
 * Do the entries `t` and `f` (same length and opcodes: the caller's key) read, at one
 * position, operands {@link matchArms} cannot match whatever it finds before: neither the
 * same value, nor an instruction of F's region (which matching may pair with T's), nor two
 * integer constants? Then it would fail; this finds so without its tables (look-alike
 * blocks mostly differ in what they read from before).
 */
function entriesDiffer(t: BasicBlock, f: BasicBlock, fRegion: ReadonlySet<BasicBlock>): boolean {
  for (let x = t.first, y = f.first; x && y; x = x.next, y = y.next) {
    const xs = x.operands;
    const ys = y.operands;
    if (xs.length !== ys.length) return false;
    for (let k = 0; k < xs.length; k++) {
      const a = xs[k]!;
      const b = ys[k]!;
      if (b.kind === "instruction" && fRegion.has((b as Instruction).block!)) continue;
      if (sameValue(a, b) || (isConstant(a) && isConstant(b))) continue;
      return true;
    }
  }
  return false;
}

/** Tries each block as the second entry of {@link mergeRegions} against earlier blocks that start alike; the number merged. */
function mergeLookAlikes(fn: Function): number {
  const seen = new Map<string, BasicBlock[]>();
  let merged = 0;
  // Each block's entry region, by block id (null: none), computed once while the CFG stands
  // (an entry is tried against up to MAX_CANDIDATES earlier ones, each of those against every
  // later look-alike); a merge changes the CFG and starts afresh.
  let regions: (Set<BasicBlock> | null | undefined)[] = new Array(fn.blockIdBound);
  const regionOf = (bb: BasicBlock): Set<BasicBlock> | undefined => {
    let r = regions[bb.id];
    if (r === undefined) regions[bb.id] = r = entryRegion(bb) ?? null;
    return r ?? undefined;
  };
  for (const bb of [...fn.blocks]) {
    if (bb.parent !== fn || bb === fn.entry || bb.preds.length === 0 || bb.first?.isPhi) continue;
    let key = "";
    for (let i = bb.first; i; i = i.next) key += (i === bb.first ? "" : ",") + i.opcode + ":" + i.typeParam.kind;
    let earlier = seen.get(key);
    if (!earlier) seen.set(key, (earlier = []));
    if (earlier.some((t) => t.parent === fn && mergeRegions(fn, t, bb, regionOf))) {
      merged++;
      regions = new Array(fn.blockIdBound);
    } else if (earlier.length < MAX_CANDIDATES) earlier.push(bb);
  }
  return merged;
}

/** Do `a` and `b` have a predecessor in common? */
function sharePredecessor(a: BasicBlock, b: BasicBlock): boolean {
  const ap = a.preds;
  const bp = b.preds;
  if (ap.length * bp.length <= 64) {
    for (const p of ap) if (bp.includes(p)) return true;
    return false;
  }
  const bs = new Set(bp);
  return ap.some((p) => bs.has(p));
}

export const sinkCommon = defineFunctionPass({
  name: "sink-common",
  description:
    "tail merging: the identical last instructions of every predecessor of a join move into the join once; two arms of a branch that differ only in constants become one, with selects; so do two look-alike regions entered from different branches, with phis",
  run(fn, ctx) {
    let moved = 0;
    for (const bb of fn.blocks) moved += sinkInto(bb);
    if (moved > 0) ctx.stat("instructions-sunk", moved);
    let merged = 0;
    for (const bb of [...fn.blocks]) if (bb.parent === fn && mergeArms(fn, bb)) merged++;
    if (merged > 0) ctx.stat("arms-merged", merged);
    const regions = mergeLookAlikes(fn);
    if (regions > 0) ctx.stat("regions-merged", regions);
    if (merged + regions > 0) return true;
    return moved > 0 ? Preserved.cfg() : false;
  },
});
