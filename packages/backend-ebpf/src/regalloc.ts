/**
 * Graph-colouring register allocation on machine IR (Chaitin 1982 with Briggs et al.
 * 1994 optimistic colouring and biased colour choice for copies).
 *
 * Physical registers r0..r9 are precoloured nodes; helper calls clobber r0..r5 so that a
 * value live across a call interferes with them and lands in r6..r9 or is spilled.
 * Spilled values are rewritten into short-lived temporaries around each use and def,
 * with 8-byte frame slots, and allocation repeats until everything colours.
 */
import { InternalError } from "@luabpf/ir";
import { FIRST_VREG, isCopy, isVirtual, mapRegs, regEffects, type MFunction, type MInst, type MReg } from "./mir.js";

/** Allocatable registers (r10 is the read-only frame pointer). */
const K = 10;
/** Colour preference: scratch registers first, callee-saved last. */
const PREFERENCE = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

export interface RegAllocStats {
  spills: number;
  reloads: number;
  copiesRemoved: number;
  rounds: number;
}

/** Live-in sets per block, by iterating backward dataflow to a fixpoint. */
export function liveness(mf: MFunction): { liveIn: Set<MReg>[]; liveOut: Set<MReg>[] } {
  const n = mf.blocks.length;
  const gen: Set<MReg>[] = [];
  const kill: Set<MReg>[] = [];
  for (const b of mf.blocks) {
    const g = new Set<MReg>();
    const k = new Set<MReg>();
    for (const i of b.insts) {
      const e = regEffects(i);
      for (const u of e.uses) if (!k.has(u)) g.add(u);
      for (const d of e.defs) k.add(d);
      for (const d of e.clobbers) k.add(d);
    }
    gen.push(g);
    kill.push(k);
  }
  const liveIn = mf.blocks.map(() => new Set<MReg>());
  const liveOut = mf.blocks.map(() => new Set<MReg>());
  let changed = true;
  while (changed) {
    changed = false;
    for (let bi = n - 1; bi >= 0; bi--) {
      const out = liveOut[bi]!;
      for (const s of mf.blocks[bi]!.succs) for (const r of liveIn[s]!) out.add(r);
      const inn = liveIn[bi]!;
      const before = inn.size;
      for (const r of gen[bi]!) inn.add(r);
      for (const r of out) if (!kill[bi]!.has(r)) inn.add(r);
      if (inn.size !== before) changed = true;
    }
  }
  return { liveIn, liveOut };
}

interface Graph {
  adj: Map<MReg, Set<MReg>>;
  moves: Map<MReg, MReg[]>;
  cost: Map<MReg, number>;
}

function buildGraph(mf: MFunction, noSpill: Set<MReg>): Graph {
  const { liveOut } = liveness(mf);
  const adj = new Map<MReg, Set<MReg>>();
  const moves = new Map<MReg, MReg[]>();
  const cost = new Map<MReg, number>();
  const node = (r: MReg): Set<MReg> => {
    let s = adj.get(r);
    if (!s) adj.set(r, (s = new Set()));
    return s;
  };
  const edge = (a: MReg, b: MReg): void => {
    if (a === b || (!isVirtual(a) && !isVirtual(b))) return;
    node(a).add(b);
    node(b).add(a);
  };
  const addMove = (a: MReg, b: MReg): void => {
    (moves.get(a) ?? moves.set(a, []).get(a)!).push(b);
    (moves.get(b) ?? moves.set(b, []).get(b)!).push(a);
  };
  mf.blocks.forEach((b, bi) => {
    const weight = 10 ** Math.min(b.loopDepth, 6);
    const live = new Set(liveOut[bi]);
    for (let k = b.insts.length - 1; k >= 0; k--) {
      const inst = b.insts[k]!;
      const e = regEffects(inst);
      for (const r of [...e.uses, ...e.defs]) {
        if (isVirtual(r)) {
          node(r);
          cost.set(r, (cost.get(r) ?? 0) + (noSpill.has(r) ? Infinity : weight));
        }
      }
      const copySrc = e.copy ? e.uses[0] : undefined;
      if (copySrc !== undefined) addMove(e.defs[0]!, copySrc);
      for (const d of [...e.defs, ...e.clobbers]) for (const l of live) if (l !== copySrc || !e.defs.includes(d)) edge(d, l);
      if (e.earlyClobber) for (const d of e.defs) for (const u of e.uses) edge(d, u);
      for (const d of e.defs) live.delete(d);
      for (const d of e.clobbers) live.delete(d);
      for (const u of e.uses) live.add(u);
    }
  });
  return { adj, moves, cost };
}

/** Colours the graph; returns the colouring and the nodes that must be spilled. */
function color(g: Graph): { colors: Map<MReg, number>; spilled: MReg[] } {
  const vregs = [...g.adj.keys()].filter(isVirtual).sort((a, b) => a - b);
  const degree = new Map<MReg, number>();
  for (const v of vregs) degree.set(v, g.adj.get(v)!.size);
  const removed = new Set<MReg>();
  const stack: MReg[] = [];
  const remaining = new Set(vregs);
  const low: MReg[] = vregs.filter((v) => degree.get(v)! < K);
  const remove = (v: MReg): void => {
    remaining.delete(v);
    removed.add(v);
    stack.push(v);
    for (const n of g.adj.get(v)!) {
      if (!isVirtual(n) || removed.has(n)) continue;
      const d = degree.get(n)! - 1;
      degree.set(n, d);
      if (d === K - 1) low.push(n);
    }
  };
  while (remaining.size > 0) {
    let v: MReg | undefined;
    while (low.length > 0) {
      const c = low.pop()!;
      if (remaining.has(c)) {
        v = c;
        break;
      }
    }
    if (v === undefined) {
      // Potential spill: the cheapest per unit of degree; pushed optimistically (Briggs).
      let best: MReg | undefined;
      let bestScore = Infinity;
      for (const c of remaining) {
        const score = g.cost.get(c)! / Math.max(1, degree.get(c)!);
        if (best === undefined || score < bestScore) {
          best = c;
          bestScore = score;
        }
      }
      v = best!;
    }
    remove(v);
  }
  const colors = new Map<MReg, number>();
  const spilled: MReg[] = [];
  while (stack.length > 0) {
    const v = stack.pop()!;
    const forbidden = new Set<number>();
    for (const n of g.adj.get(v)!) {
      const c = isVirtual(n) ? colors.get(n) : n;
      if (c !== undefined) forbidden.add(c);
    }
    let choice: number | undefined;
    for (const m of g.moves.get(v) ?? []) {
      const c = isVirtual(m) ? colors.get(m) : m;
      if (c !== undefined && !forbidden.has(c)) {
        choice = c;
        break;
      }
    }
    if (choice === undefined) choice = PREFERENCE.find((c) => !forbidden.has(c));
    if (choice === undefined) spilled.push(v);
    else colors.set(v, choice);
  }
  return { colors, spilled };
}

/** Rewrites each spilled register into temporaries loaded/stored around each instruction. */
function rewriteSpills(mf: MFunction, spilled: MReg[], noSpill: Set<MReg>, stats: RegAllocStats): void {
  const slotOf = new Map<MReg, number>();
  for (const s of spilled) slotOf.set(s, mf.slots.push({ size: 8, align: 8, spill: true }) - 1);
  for (const b of mf.blocks) {
    const out: MInst[] = [];
    for (const inst of b.insts) {
      const e = regEffects(inst);
      const touched = [...new Set([...e.uses, ...e.defs])].filter((r) => slotOf.has(r));
      if (touched.length === 0) {
        out.push(inst);
        continue;
      }
      const temp = new Map<MReg, MReg>();
      for (const r of touched) {
        const t = mf.nextVReg++;
        noSpill.add(t);
        temp.set(r, t);
        if (e.uses.includes(r)) {
          out.push({ k: "ldx", size: "DW", dst: t, addr: { slot: slotOf.get(r)!, off: 0 } });
          stats.reloads++;
        }
      }
      mapRegs(inst, (r) => temp.get(r) ?? r);
      out.push(inst);
      for (const r of touched) {
        if (e.defs.includes(r)) {
          out.push({ k: "stx", size: "DW", addr: { slot: slotOf.get(r)!, off: 0 }, src: temp.get(r)! });
          stats.spills++;
        }
      }
    }
    b.insts = out;
  }
}

/** Allocates physical registers for every virtual register of `mf`, in place. */
export function allocateRegisters(mf: MFunction): RegAllocStats {
  const stats: RegAllocStats = { spills: 0, reloads: 0, copiesRemoved: 0, rounds: 0 };
  const noSpill = new Set<MReg>();
  for (;;) {
    stats.rounds++;
    if (stats.rounds > 50) throw new InternalError(`register allocation of ${mf.name} does not converge`);
    const g = buildGraph(mf, noSpill);
    const { colors, spilled } = color(g);
    if (spilled.length > 0) {
      if (spilled.some((s) => noSpill.has(s))) throw new InternalError(`register allocation of ${mf.name}: a spill temporary could not be coloured`);
      rewriteSpills(mf, spilled, noSpill, stats);
      continue;
    }
    for (const b of mf.blocks) {
      for (const inst of b.insts) {
        mapRegs(inst, (r) => {
          if (!isVirtual(r)) return r;
          const c = colors.get(r);
          if (c === undefined) throw new InternalError(`v${r - FIRST_VREG} has no register`);
          return c;
        });
      }
      const before = b.insts.length;
      b.insts = b.insts.filter((i) => !(isCopy(i) && i.dst === i.src));
      stats.copiesRemoved += before - b.insts.length;
    }
    return stats;
  }
}
