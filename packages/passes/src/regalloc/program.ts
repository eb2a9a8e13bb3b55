/**
 * The allocator's working copy of the function: per block a list of items, each either
 * an input instruction or something the allocator added around one (a constraint move,
 * a reload, a spill store). Registers are graph nodes: `0 .. numRegs-1` are the physical
 * registers (precoloured), then one node per virtual register, then temporaries.
 *
 * Building it lowers operand constraints to plain register operands plus copies that the
 * coalescer usually removes again: a fixed use of v in p becomes `p ← v` before the
 * instruction and a use of p; a fixed def becomes a def of p and `v ← p` after; a reuse
 * (tied) def of a different virtual register d becomes `d ← u` before the instruction,
 * which then reads and writes d (through a temporary when d's old value is read too).
 *
 * Spilling rewrites it (Chaitin's spill-everywhere): each instruction touching a spilled
 * node gets a fresh short-lived temporary, reloaded before and stored after; a copy
 * instead reads or writes the spill slot directly, so spilled phi copies cost one memory
 * access and copies within one spill web cost nothing.
 */
import type { InstId, PReg, RegAllocFunction, RegAllocTarget } from "./interface.js";

export type Node = number;

/** A register operand (node) or, for copies only, a spill slot. */
export interface ItemOperand {
  kind: "use" | "def";
  node?: Node;
  slot?: number;
  early: boolean;
}

export interface Item {
  kind: "inst" | "move" | "reload" | "spill";
  /** The input instruction it belongs to; where it runs relative to it. */
  origin: InstId;
  pos: "before" | "inst" | "after";
  /** For "inst": one per input operand, in order. For copies/moves: [use, def]. Reload: [def] from `slot`; spill: [use] to `slot`. */
  ops: ItemOperand[];
  clobbers: readonly PReg[];
  /** A register copy the coalescer may merge (input copies and constraint moves). */
  copy: boolean;
  slot?: number;
}

export interface Program {
  numRegs: number;
  numNodes: number;
  /** Block structure (shared with the input). */
  succs: readonly (readonly number[])[];
  loopDepth: readonly number[];
  blocks: Item[][];
  /** First node of each kind. */
  firstVirtual: Node;
  /** Nodes that must not be spilled (spill temporaries). */
  noSpill: Set<Node>;
  numSlots: number;
  /** Last input instruction of each block (after-edits there would be unreachable). */
  lastInst: Set<InstId>;
}

export const uses = (it: Item): Node[] => it.ops.filter((o) => o.kind === "use" && o.node !== undefined).map((o) => o.node!);
export const defs = (it: Item): Node[] => it.ops.filter((o) => o.kind === "def" && o.node !== undefined).map((o) => o.node!);

/** Builds the working program, lowering fixed and reuse constraints to copies. */
export function buildProgram(fn: RegAllocFunction, target: RegAllocTarget): Program {
  const P = target.numRegs;
  const prog: Program = {
    numRegs: P,
    numNodes: P + fn.numVRegs,
    succs: fn.blocks.map((b) => b.succs),
    loopDepth: fn.blocks.map((b) => b.loopDepth),
    blocks: [],
    firstVirtual: P,
    noSpill: new Set(),
    numSlots: 0,
    lastInst: new Set(),
  };
  const checkPreg = (p: PReg, where: string): PReg => {
    if (!(p >= 0 && p < P)) throw new Error(`regalloc: ${where}: physical register ${p} out of range`);
    return p;
  };
  let id = 0;
  fn.blocks.forEach((b, bi) => {
    const items: Item[] = [];
    b.insts.forEach((inst, k) => {
      const origin = id++;
      const where = `block ${bi} inst ${k}`;
      if (inst.copy && (inst.operands.length !== 2 || inst.operands[0]!.kind !== "use" || inst.operands[1]!.kind !== "def")) {
        throw new Error(`regalloc: ${where}: a copy must have a use and a def`);
      }
      const before: Item[] = [];
      const after: Item[] = [];
      const move = (pos: "before" | "after", src: Node, dst: Node): Item => ({
        kind: "move",
        origin,
        pos,
        ops: [{ kind: "use", node: src, early: false }, { kind: "def", node: dst, early: false }],
        clobbers: [],
        copy: true,
      });
      const ops: ItemOperand[] = inst.operands.map((o) => {
        if ("preg" in o) return { kind: o.kind, node: checkPreg(o.preg, where), early: !!o.early };
        if (!(o.vreg >= 0 && o.vreg < fn.numVRegs)) throw new Error(`regalloc: ${where}: virtual register ${o.vreg} out of range`);
        return { kind: o.kind, node: P + o.vreg, early: !!o.early };
      });
      inst.operands.forEach((o, j) => {
        if ("preg" in o || o.constraint.kind !== "fixed") return;
        const p = checkPreg(o.constraint.reg, where);
        const v = ops[j]!.node!;
        ops[j]!.node = p;
        if (o.kind === "use") before.push(move("before", v, p));
        else after.push(move("after", p, v));
      });
      inst.operands.forEach((o, j) => {
        if ("preg" in o || o.constraint.kind !== "reuse") return;
        const r = o.constraint.operand;
        const tied = ops[r];
        if (o.kind !== "def" || !tied || tied.kind !== "use") throw new Error(`regalloc: ${where}: operand ${j} reuses operand ${r}, which is not a use`);
        const d = ops[j]!.node!;
        const u = tied.node!;
        if (u === d) return;
        if (u < P) {
          // The tied use is in a fixed register: so is the def.
          ops[j]!.node = u;
          after.push(move("after", u, d));
        } else if (ops.some((x, y) => y !== r && x.kind === "use" && x.node === d)) {
          // d's old value is read too: go through a temporary.
          const t = prog.numNodes++;
          before.push(move("before", u, t));
          tied.node = t;
          ops[j]!.node = t;
          after.push(move("after", t, d));
        } else {
          before.push(move("before", u, d));
          tied.node = d;
        }
      });
      items.push(...before, { kind: "inst", origin, pos: "inst", ops, clobbers: inst.clobbers.map((c) => checkPreg(c, where)), copy: inst.copy }, ...after);
    });
    if (b.insts.length > 0) prog.lastInst.add(id - 1);
    prog.blocks.push(items);
  });
  return prog;
}

/** Per-block live-out sets of nodes (backward dataflow to a fixpoint). */
export function liveOut(prog: Program): Set<Node>[] {
  const n = prog.blocks.length;
  const gen: Set<Node>[] = [];
  const kill: Set<Node>[] = [];
  for (const items of prog.blocks) {
    const g = new Set<Node>();
    const k = new Set<Node>();
    for (const it of items) {
      for (const u of uses(it)) if (!k.has(u)) g.add(u);
      for (const d of defs(it)) k.add(d);
      for (const c of it.clobbers) k.add(c);
    }
    gen.push(g);
    kill.push(k);
  }
  const liveIn = prog.blocks.map(() => new Set<Node>());
  const out = prog.blocks.map(() => new Set<Node>());
  for (let changed = true; changed; ) {
    changed = false;
    for (let bi = n - 1; bi >= 0; bi--) {
      const o = out[bi]!;
      for (const s of prog.succs[bi]!) for (const r of liveIn[s]!) o.add(r);
      const inn = liveIn[bi]!;
      const size = inn.size;
      for (const r of gen[bi]!) inn.add(r);
      for (const r of o) if (!kill[bi]!.has(r)) inn.add(r);
      if (inn.size !== size) changed = true;
    }
  }
  return out;
}

/**
 * Rewrites the program so that no spilled node is a register operand any more; `slotOf`
 * gives each spilled node its (virtual) spill slot. Returns the number of temporaries made.
 */
export function rewriteSpills(prog: Program, slotOf: Map<Node, number>): number {
  let temps = 0;
  prog.blocks = prog.blocks.map((items) => {
    const out: Item[] = [];
    for (const it of items) {
      if (!it.ops.some((o) => o.node !== undefined && slotOf.has(o.node))) {
        out.push(it);
        continue;
      }
      if (it.kind === "reload" || it.kind === "spill") throw new Error("regalloc: a spill temporary was spilled");
      const sidePos = (side: "before" | "after"): "before" | "after" => (it.pos === "inst" ? side : it.pos);
      if (it.copy) {
        // Copies read or write the slot directly.
        for (const o of it.ops) {
          if (o.node !== undefined && slotOf.has(o.node)) {
            o.slot = slotOf.get(o.node)!;
            o.node = undefined;
          }
        }
        const [src, dst] = it.ops as [ItemOperand, ItemOperand];
        if (src.slot !== undefined && dst.slot !== undefined && src.slot !== dst.slot) {
          const t = prog.numNodes++;
          temps++;
          prog.noSpill.add(t);
          out.push({ kind: "reload", origin: it.origin, pos: sidePos("before"), ops: [{ kind: "def", node: t, early: false }], clobbers: [], copy: false, slot: src.slot });
          src.slot = undefined;
          src.node = t;
        }
        out.push(it);
        continue;
      }
      const tempOf = new Map<Node, Node>();
      for (const o of it.ops) {
        if (o.node === undefined || !slotOf.has(o.node)) continue;
        let t = tempOf.get(o.node);
        if (t === undefined) {
          t = prog.numNodes++;
          temps++;
          prog.noSpill.add(t);
          tempOf.set(o.node, t);
        }
        o.node = t;
      }
      const pre: Item[] = [];
      const post: Item[] = [];
      for (const [n, t] of tempOf) {
        const slot = slotOf.get(n)!;
        if (it.ops.some((o) => o.kind === "use" && o.node === t)) {
          pre.push({ kind: "reload", origin: it.origin, pos: sidePos("before"), ops: [{ kind: "def", node: t, early: false }], clobbers: [], copy: false, slot });
        }
        if (it.ops.some((o) => o.kind === "def" && o.node === t)) {
          post.push({ kind: "spill", origin: it.origin, pos: sidePos("after"), ops: [{ kind: "use", node: t, early: false }], clobbers: [], copy: false, slot });
        }
      }
      out.push(...pre, it, ...post);
    }
    return out;
  });
  return temps;
}
