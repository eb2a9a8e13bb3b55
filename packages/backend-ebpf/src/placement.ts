/**
 * Block placement: the order emission lays the machine blocks out in, chosen so that fewer
 * unconditional jumps are left (emission drops a `ja` to the next block and inverts a
 * conditional jump over one).
 *
 * The algorithm is the chain-merging half of Pettis & Hansen's "Profile Guided Code
 * Positioning" (PLDI 1990) without profile weights, as LLVM's MachineBlockPlacement builds
 * chains: every block starts as a chain of its own; a block that falls through (it does not
 * end in `ja` or `exit`) is glued to the block after it, and so is a block whose jump
 * already goes to the next block of the current layout (nothing that saves a jump now is
 * undone, so placement never makes the code longer). Then, in layout order, a chain whose
 * last block ends in a jump to the first block of another chain takes that chain after it
 * (the jump disappears); the entry's chain stays first. Chains are laid out from the
 * entry's on, the others in the order of their first blocks.
 *
 * Typical win: a loop's latch (`i += 1; goto header`) that the IR puts between the loop's
 * exit path and the function's shared `r0 = 0; exit` — the exit path jumped over the latch
 * to reach the return; placed after the latch's own chain instead, it falls into the return.
 *
 * Cost: O(blocks). Only the order changes: every block keeps its instructions and targets.
 */
import type { MFunction, MInst } from "./mir.js";

type Jcc = Extract<MInst, { k: "jcc" }>;

/**
 * The layout order of the blocks `reachable` (block indices in increasing order, the entry
 * first) of `mf`; `invertible(j)` says whether emission can invert conditional jump `j` (the
 * target CPU has the opposite condition), which lets a `jcc A; ja B` block fall into A.
 */
export function placeBlocks(mf: MFunction, reachable: readonly number[], invertible: (j: Jcc) => boolean): number[] {
  if (reachable.length <= 2) return [...reachable];
  const n = mf.blocks.length;
  /** next[b] / prev[b]: the block glued after / before b in its chain (-1: none). */
  const next = new Int32Array(n).fill(-1);
  const prev = new Int32Array(n).fill(-1);
  /** The blocks b may be followed by for a jump to disappear, best first; `forced`: b falls through. */
  const successors = (b: number): { forced: boolean; targets: number[] } => {
    const insts = mf.blocks[b]!.insts;
    const last = insts[insts.length - 1];
    if (last?.k === "exit") return { forced: false, targets: [] };
    if (last?.k !== "ja") return { forced: true, targets: [b + 1] };
    const before = insts[insts.length - 2];
    // `jcc A; ja B`: followed by B the `ja` goes; followed by A it goes too, the jcc inverted.
    if (before?.k === "jcc" && before.target !== last.target && invertible(before)) return { forced: false, targets: [last.target, before.target] };
    return { forced: false, targets: [last.target] };
  };
  const link = (a: number, b: number): void => {
    next[a] = b;
    prev[b] = a;
  };
  // What the current layout already gets right stays.
  for (let k = 0; k + 1 < reachable.length; k++) {
    const [b, c] = [reachable[k]!, reachable[k + 1]!];
    const s = successors(b);
    if (s.forced || s.targets.includes(c)) link(b, c);
  }
  const entry = reachable[0]!;
  const headOf = (b: number): number => {
    while (prev[b]! >= 0) b = prev[b]!;
    return b;
  };
  // Chains ending in a jump take the chain that jump starts, when it starts one.
  for (const b of reachable) {
    if (next[b]! >= 0) continue;
    const s = successors(b);
    if (s.forced) continue;
    const head = headOf(b);
    const t = s.targets.find((t) => t !== entry && prev[t] === -1 && t !== head);
    if (t !== undefined) link(b, t);
  }
  const order: number[] = [];
  for (const b of reachable) {
    if (prev[b]! >= 0) continue;
    for (let c = b; c >= 0; c = next[c]!) order.push(c);
  }
  return order;
}
