/**
 * Spill-slot sharing: colours the virtual spill slots by interference, so that spilled
 * values whose lifetimes do not overlap share one 8-byte frame slot (the eBPF frame is
 * 512 bytes). A slot is live from a store (spill edit, or a copy into it) to its last
 * reload; two slots interfere when one is stored while the other is live. A copy from
 * slot a into slot b does not make them interfere (same value), and slots related by a
 * reload-then-store copy prefer the same colour. Greedy colouring in slot order, which
 * is deterministic; with so few slots an optimal colouring is not worth its cost.
 */
import { type Program } from "./program.js";

/** Returns the colour (final slot) of each virtual slot and the number of colours. */
export function colourSpillSlots(prog: Program): { slotColour: number[]; numSlots: number } {
  const S = prog.numSlots;
  const slotUses = (it: Program["blocks"][number][number]): number[] => {
    const r: number[] = [];
    if (it.kind === "reload") r.push(it.slot!);
    for (const o of it.ops) if (o.kind === "use" && o.slot !== undefined) r.push(o.slot);
    return r;
  };
  const slotDefs = (it: Program["blocks"][number][number]): number[] => {
    const r: number[] = [];
    if (it.kind === "spill") r.push(it.slot!);
    for (const o of it.ops) if (o.kind === "def" && o.slot !== undefined) r.push(o.slot);
    return r;
  };
  // Liveness of slots.
  const n = prog.blocks.length;
  const liveIn = prog.blocks.map(() => new Set<number>());
  const liveOutOf = (bi: number): Set<number> => {
    const s = new Set<number>();
    for (const succ of prog.succs[bi]!) for (const x of liveIn[succ]!) s.add(x);
    return s;
  };
  const interfere: Set<number>[] = Array.from({ length: S }, () => new Set());
  const walk = (bi: number, record: boolean): Set<number> => {
    const live = liveOutOf(bi);
    const items = prog.blocks[bi]!;
    for (let k = items.length - 1; k >= 0; k--) {
      const it = items[k]!;
      const us = slotUses(it);
      for (const d of slotDefs(it)) {
        if (record) for (const l of live) if (l !== d && !us.includes(l)) (interfere[d]!.add(l), interfere[l]!.add(d));
        live.delete(d);
      }
      for (const u of us) live.add(u);
    }
    return live;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let bi = n - 1; bi >= 0; bi--) {
      const inn = walk(bi, false);
      if (inn.size !== liveIn[bi]!.size) changed = true;
      liveIn[bi] = inn;
    }
  }
  for (let bi = 0; bi < n; bi++) walk(bi, true);
  // Slots live into the entry (read on some path before any store) interfere with all.
  for (const s of liveIn[0] ?? []) for (let t = 0; t < S; t++) if (t !== s) (interfere[s]!.add(t), interfere[t]!.add(s));

  // Affinities: `reload t ← a; copy b ← t`.
  const affinity: Set<number>[] = Array.from({ length: S }, () => new Set());
  for (const items of prog.blocks) {
    items.forEach((it, k) => {
      const prev = items[k - 1];
      if (!it.copy || prev?.kind !== "reload") return;
      const [src, dst] = it.ops;
      if (dst?.slot !== undefined && src?.node === prev.ops[0]!.node) (affinity[dst.slot]!.add(prev.slot!), affinity[prev.slot!]!.add(dst.slot));
    });
  }

  const slotColour: number[] = new Array(S).fill(-1);
  let numSlots = 0;
  for (let s = 0; s < S; s++) {
    const forbidden = new Set<number>();
    for (const t of interfere[s]!) if (slotColour[t]! >= 0) forbidden.add(slotColour[t]!);
    let c = [...affinity[s]!].map((t) => slotColour[t]!).find((x) => x >= 0 && !forbidden.has(x)) ?? -1;
    if (c < 0) for (c = 0; forbidden.has(c); c++);
    slotColour[s] = c;
    numSlots = Math.max(numSlots, c + 1);
  }
  return { slotColour, numSlots };
}
