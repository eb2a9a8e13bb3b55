/**
 * A preorder walk of the dominator tree with a scoped table of facts, the structure of
 * LLVM's EarlyCSE (its `ScopedHashTable`): a fact a block records holds in every block it
 * dominates and is undone when the walk leaves the block's subtree. The walk is iterative
 * (an explicit stack), so a deep tree cannot overflow the JavaScript stack.
 *
 * Passes that learn facts from the edge into a block (correlated-branch: a branch
 * condition; packet-bounds: a packet bounds check) get that edge's source as `pred` when
 * it is the block's only way in.
 */
import type { BasicBlock, Function } from "@luabpf/ir";

/** The facts in scope at the block being visited. */
export interface ScopedFacts<V> {
  get(key: string): V | undefined;
  /** Records `key = value` for this block and the blocks it dominates. */
  set(key: string, value: V): void;
}

/** What a dominator tree must answer for the walk. */
export interface DominatorChildren {
  children(bb: BasicBlock): readonly BasicBlock[];
}

/**
 * Visits every block of `fn` reachable in `dt`, parents before children, with the facts
 * its dominators recorded. `pred` is the block's single predecessor (not itself), if it
 * has exactly one: the edge from it is the only way in, so what that edge implies holds.
 */
export function walkDominatorTree<V>(fn: Function, dt: DominatorChildren, visit: (bb: BasicBlock, facts: ScopedFacts<V>, pred: BasicBlock | undefined) => void): void {
  const table = new Map<string, V>();
  type Frame = { bb: BasicBlock; undo: [string, V | undefined][]; entered: boolean };
  let current: Frame | undefined;
  const facts: ScopedFacts<V> = {
    get: (key) => table.get(key),
    set(key, value) {
      current!.undo.push([key, table.get(key)]);
      table.set(key, value);
    },
  };
  const stack: Frame[] = [{ bb: fn.entry, undo: [], entered: false }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.entered) {
      for (let i = frame.undo.length - 1; i >= 0; i--) {
        const [key, old] = frame.undo[i]!;
        if (old === undefined) table.delete(key);
        else table.set(key, old);
      }
      stack.pop();
      continue;
    }
    frame.entered = true;
    current = frame;
    const bb = frame.bb;
    const pred = bb !== fn.entry && bb.preds.length === 1 && bb.preds[0] !== bb ? bb.preds[0]! : undefined;
    visit(bb, facts, pred);
    const kids = dt.children(bb);
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ bb: kids[i]!, undo: [], entered: false });
  }
}
