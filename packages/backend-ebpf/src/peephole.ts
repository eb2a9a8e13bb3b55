/**
 * Peepholes on allocated machine IR (physical registers), between register allocation and
 * emission:
 *
 * - **Redundant copies**: a forward walk over each block tracks which registers hold the
 *   same 64-bit value because of a copy (`a = b`); a copy between two registers already
 *   known equal is deleted (`r1 = r0; r0 = r1` keeps only the first). Any write to a register
 *   (a def, a call's or packet load's clobbers) forgets what it was equal to.
 * - **Shared exits** (cross-jumping, as LLVM's branch folding does): blocks that end in the
 *   same two instructions `r0 = X; exit` share one copy of them — the last such block in
 *   layout keeps its tail (split into a block of its own), a block that is only the tail
 *   is left for its jumps to go to the kept one (emission drops it once nothing reaches
 *   it), and a longer block ends in a jump there instead (one slot less each).
 *
 * - **Frame addresses in a free preserved register**: instruction selection rematerialises a
 *   stack address (`r = r10; r += off`, two instructions) at each use, which is right while
 *   registers are scarce. After allocation, an address computed three or more times goes
 *   into a preserved register (r6–r9) that the function does not use at all, once at its
 *   entry, and each use becomes one copy (`r2 = r7`), as clang keeps a key's address in r7:
 *   n uses cost n + 2 instructions instead of 2n. The register is written nowhere else and
 *   calls preserve it, so it holds the address everywhere.
 *
 * - **Return value set before the branch** (clang's select of r0 over one shared `exit`): a
 *   block that ends in a two-way branch to `r0 = A; exit` (reached from it alone) and to
 *   `r0 = B; exit` sets `r0 = A` before the branch, which then goes to a lone `exit` split off
 *   the second block, or on to its `r0 = B`:
 *   `if c goto L; r0 = A; exit; L: r0 = B; exit` (5) becomes `r0 = A; if !c goto E; L: r0 = B;
 *   E: exit` (4). Only where the branch does not read r0; other jumps to L still find
 *   `r0 = B; exit` there.
 *
 * All keep the program's meaning instruction by instruction: no value changes, only copies
 * already made, duplicated exits and recomputed addresses go, and a write of r0 that every
 * path overwrites or returns moves above a branch that does not read it.
 */
import { collectOperands, isCopy, RET_REG, type MBlock, type MFunction, type MInst, type MReg } from "./mir.js";

/** Runs every peephole on `mf` (in place); returns the number of instructions removed. */
export function peephole(mf: MFunction): number {
  let removed = 0;
  for (const b of mf.blocks) removed += removeRedundantCopies(b);
  removed += shareExits(mf);
  removed += returnBeforeBranch(mf);
  removed += hoistFrameAddresses(mf);
  return removed;
}

/** Is `i` a write of r0 that reads no register but its source (`r0 = imm|rX`, X ≠ 0; `r0 = imm64`)? */
const setsR0 = (i: MInst | undefined): boolean =>
  i !== undefined && ((i.k === "alu" && i.op === "mov" && i.dst === RET_REG && i.src !== RET_REG && i.core === undefined) || (i.k === "lddw" && i.dst === RET_REG));

/** Where control entering block `b` goes first: past empty blocks and blocks that are only `ja`. */
function forwardOf(mf: MFunction, b: number): number {
  for (let hops = 0; hops <= mf.blocks.length && b < mf.blocks.length; hops++) {
    const insts = mf.blocks[b]!.insts;
    if (insts.length === 0) b++;
    else if (insts.length === 1 && insts[0]!.k === "ja" && insts[0]!.target !== b) b = insts[0]!.target;
    else return b;
  }
  return b;
}

/** Sets r0 before branches to two returns (see the file comment); returns the instructions saved. */
export function returnBeforeBranch(mf: MFunction): number {
  let saved = 0;
  // One rewrite at a time: a rewrite inserts a block, which renumbers the others.
  for (let round = 0; round < mf.blocks.length; round++) {
    const n = mf.blocks.length;
    const forward = (b: number): number => forwardOf(mf, b);
    // Control-flow edges into each block, past forwarding blocks (whose own edges are not counted).
    const preds = new Int32Array(n + 1);
    mf.blocks.forEach((b, k) => {
      if (forward(k) !== k) return;
      for (const i of b.insts) if (i.k === "ja" || i.k === "jcc") preds[forward(i.target)]!++;
      const last = b.insts[b.insts.length - 1]!;
      if (last.k !== "ja" && last.k !== "exit" && k + 1 < n) preds[forward(k + 1)]!++;
    });
    const isReturn = (b: number): boolean => {
      const insts = b < n ? mf.blocks[b]!.insts : [];
      return insts.length === 2 && insts[1]!.k === "exit" && setsR0(insts[0]);
    };
    let rewrote = false;
    for (let x = 0; x < n && !rewrote; x++) {
      if (forward(x) !== x) continue;
      const insts = mf.blocks[x]!.insts;
      let j = insts.length - 1;
      let fall = x + 1;
      if (insts[j]?.k === "ja") fall = (insts[j--] as { target: number }).target;
      const jcc = insts[j];
      if (jcc?.k !== "jcc" || jcc.a === RET_REG || jcc.b === RET_REG) continue;
      const [t, f] = [forward(jcc.target), forward(fall)];
      if (t === f) continue;
      // y: the return reached from x alone (its `r0 = A` moves above the branch); z: the other one.
      const single = (b: number): boolean => b !== 0 && b !== x && isReturn(b) && preds[b] === 1;
      const y = single(f) ? f : single(t) ? t : -1;
      const z = y === f ? t : f;
      if (y < 0 || z === x || !isReturn(z) || keyOf(mf.blocks[y]!.insts[0]!) === keyOf(mf.blocks[z]!.insts[0]!)) continue;
      const setA = mf.blocks[y]!.insts[0]!;
      // z keeps `r0 = B` and falls into a lone `exit` after it (block numbers after z shift by one).
      const e = insertBlockAfter(mf, z);
      const zb = mf.blocks[z]!;
      e.insts = zb.insts.splice(1, 1);
      zb.succs = [e.index];
      const shift = (b: number): number => (b > z ? b + 1 : b);
      const to = (b: number): number => (b === y ? e.index : z);
      const xb = mf.blocks[shift(x)]!;
      const loc = jcc.loc ? { loc: jcc.loc } : {};
      const branch: MInst = { ...jcc, target: to(t) };
      xb.insts.splice(j, xb.insts.length - j, { ...setA }, branch, { k: "ja", target: to(f), ...loc });
      xb.succs = [to(t), to(f)];
      saved++;
      rewrote = true;
    }
    if (!rewrote) break;
  }
  return saved;
}

/** Preserved registers, in the order a free one is taken. */
const PRESERVED: readonly MReg[] = [6, 7, 8, 9];

/** Keeps frame addresses computed three or more times in free preserved registers (see the file comment); returns the instructions saved. */
export function hoistFrameAddresses(mf: MFunction): number {
  // Registers (physical: bit r for rr) the function names anywhere, and frame addresses by count.
  let used = 0;
  const counts = new Map<string, { slot: number; off: number; n: number }>();
  for (const b of mf.blocks) {
    for (const i of b.insts) {
      if (i.k === "frameaddr") {
        used |= 1 << i.dst;
        const key = `${i.slot}:${i.off}`;
        const c = counts.get(key) ?? counts.set(key, { slot: i.slot, off: i.off, n: 0 }).get(key)!;
        c.n++;
        continue;
      }
      const e = collectOperands(i);
      for (let k = 0; k < e.nUses; k++) used |= 1 << e.uses[k]!;
      for (let k = 0; k < e.nDefs; k++) used |= 1 << e.defs[k]!;
      for (let k = 0; k < e.nClobbers; k++) used |= 1 << e.clobbers[k]!;
    }
  }
  if (counts.size === 0) return 0;
  const free = PRESERVED.filter((r) => !((used >> r) & 1));
  // The most used addresses first (ties: the lower slot, then offset — deterministic).
  const chosen = [...counts.entries()]
    .filter(([, c]) => c.n >= 3)
    .sort(([, a], [, b]) => b.n - a.n || a.slot - b.slot || a.off - b.off)
    .slice(0, free.length);
  if (chosen.length === 0) return 0;
  const regOf = new Map<string, MReg>(chosen.map(([key], k) => [key, free[k]!]));
  let saved = 0;
  for (const b of mf.blocks) {
    b.insts = b.insts.map((i) => {
      if (i.k !== "frameaddr") return i;
      const r = regOf.get(`${i.slot}:${i.off}`);
      if (r === undefined) return i;
      saved++;
      return { k: "alu", op: "mov", w: 64, dst: i.dst, src: r, ...(i.loc ? { loc: i.loc } : {}) };
    });
  }
  const entry = mf.blocks[0]!;
  const loc = entry.insts.find((i) => i.loc)?.loc;
  entry.insts.unshift(...chosen.map(([key, c]): MInst => ({ k: "frameaddr", dst: regOf.get(key)!, slot: c.slot, off: c.off, ...(loc ? { loc } : {}) })));
  return saved - 2 * chosen.length;
}

/** Deletes copies between registers known to hold the same value in block `b`; returns how many. */
export function removeRedundantCopies(b: MBlock): number {
  /** copyOf[a] = b: register a holds what b holds (b was copied into a). */
  const copyOf = new Map<MReg, MReg>();
  const root = (r: MReg): MReg => copyOf.get(r) ?? r;
  const kill = (r: MReg): void => {
    copyOf.delete(r);
    for (const [a, s] of copyOf) if (s === r) copyOf.delete(a);
  };
  const out: MInst[] = [];
  for (const i of b.insts) {
    if (isCopy(i)) {
      if (i.dst === i.src || root(i.dst) === root(i.src)) continue;
      kill(i.dst);
      copyOf.set(i.dst, root(i.src));
      out.push(i);
      continue;
    }
    const e = collectOperands(i);
    for (let k = 0; k < e.nDefs; k++) kill(e.defs[k]!);
    for (let k = 0; k < e.nClobbers; k++) kill(e.clobbers[k]!);
    out.push(i);
  }
  const n = b.insts.length - out.length;
  b.insts = out;
  return n;
}

/**
 * The instruction without its source location, as a comparable key: every field of the two
 * kinds the exit peepholes compare (a move or a 64-bit load into r0), written out; any other
 * kind as JSON.
 */
const keyOf = (i: MInst): string => {
  if (i.k === "alu") return `alu ${i.op} ${i.w} ${i.dst} ${i.src ?? "-"} ${i.imm ?? "-"} ${i.core ?? "-"}`;
  if (i.k === "lddw") return `lddw ${i.dst} ${i.imm}`;
  return JSON.stringify({ ...i, loc: undefined }, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
};

/** Does control leave block `b` other than by falling through to the next one? */
const endsInJumpOrExit = (b: MBlock): boolean => {
  const last = b.insts[b.insts.length - 1];
  return last !== undefined && (last.k === "ja" || last.k === "exit");
};

/** Inserts an empty block after index `at`, renumbering jump targets and successors; returns it. */
function insertBlockAfter(mf: MFunction, at: number): MBlock {
  const shift = (t: number): number => (t > at ? t + 1 : t);
  for (const b of mf.blocks) {
    for (const i of b.insts) if (i.k === "ja" || i.k === "jcc") i.target = shift(i.target);
    b.succs = b.succs.map(shift);
  }
  const nb: MBlock = { index: at + 1, insts: [], succs: [], loopDepth: mf.blocks[at]!.loopDepth };
  mf.blocks.splice(at + 1, 0, nb);
  mf.blocks.forEach((b, k) => (b.index = k));
  return nb;
}

/** Shares the `r0 = X; exit` tails of blocks (see the file comment); returns the instructions removed. */
export function shareExits(mf: MFunction): number {
  const tailKey = (b: MBlock): string | undefined => {
    const n = b.insts.length;
    if (n < 2 || b.insts[n - 1]!.k !== "exit") return undefined;
    const set = b.insts[n - 2]!;
    const writesR0 = (set.k === "alu" && set.op === "mov" && set.dst === RET_REG) || (set.k === "lddw" && set.dst === RET_REG);
    return writesR0 ? keyOf(set) : undefined;
  };
  let removed = 0;
  const groups = new Map<string, number[]>();
  mf.blocks.forEach((b, k) => {
    const key = tailKey(b);
    if (key !== undefined) (groups.get(key) ?? groups.set(key, []).get(key)!).push(k);
  });
  // Largest block index first, so that inserting a block does not renumber groups still to do.
  const work = [...groups.values()].filter((g) => g.length > 1).sort((x, y) => y[y.length - 1]! - x[x.length - 1]!);
  for (const group of work) {
    let keep = group[group.length - 1]!;
    const kept = mf.blocks[keep]!;
    if (kept.insts.length > 2) {
      // The kept tail becomes a block of its own that the kept block falls into.
      const tail = kept.insts.splice(kept.insts.length - 2, 2);
      const nb = insertBlockAfter(mf, keep);
      nb.insts = tail;
      kept.succs = [nb.index];
      keep = nb.index;
    }
    for (const k of group.slice(0, -1)) {
      const b = mf.blocks[k]!;
      if (b.insts.length === 2 && k > 0 && endsInJumpOrExit(mf.blocks[k - 1]!)) {
        // Only reached by jumps: send them to the kept tail (the block is then unreachable).
        for (const o of mf.blocks) for (const i of o.insts) if ((i.k === "ja" || i.k === "jcc") && i.target === k) i.target = keep;
        for (const o of mf.blocks) o.succs = o.succs.map((s) => (s === k ? keep : s));
        removed += 2;
      } else {
        const loc = b.insts[b.insts.length - 2]!.loc;
        b.insts.splice(b.insts.length - 2, 2, { k: "ja", target: keep, ...(loc ? { loc } : {}) });
        b.succs = [keep];
        removed += 1;
      }
    }
  }
  return removed;
}
