/**
 * Block orders: depth-first postorder and reverse postorder (RPO) of the blocks reachable
 * from the entry.
 *
 * Algorithm: an iterative depth-first search with an explicit stack of (block, next
 * successor index) frames, so that programs with 100k blocks do not overflow the JS stack.
 * Successors are visited in terminator order (true target first), which makes the order
 * deterministic. In RPO every block comes before its successors except along back edges,
 * the order dataflow analyses and the dominator algorithm want. Cost: O(blocks + edges).
 */
import type { BasicBlock, Function } from "../core.js";

/** The reachable blocks in depth-first postorder (successors in terminator order). */
export function postOrder(fn: Function): BasicBlock[] {
  const out: BasicBlock[] = [];
  if (fn.blocks.length === 0) return out;
  const visited = new Uint8Array(fn.blockIdBound);
  const blockStack: BasicBlock[] = [fn.entry];
  const indexStack: number[] = [0];
  visited[fn.entry.id] = 1;
  while (blockStack.length > 0) {
    const top = blockStack.length - 1;
    const bb = blockStack[top]!;
    const succs = bb.succs;
    const i = indexStack[top]!;
    if (i < succs.length) {
      indexStack[top] = i + 1;
      const s = succs[i]!;
      // Targets outside the function (broken IR the verifier reports) are not followed.
      if (s.parent === fn && visited[s.id] === 0) {
        visited[s.id] = 1;
        blockStack.push(s);
        indexStack.push(0);
      }
    } else {
      out.push(bb);
      blockStack.pop();
      indexStack.pop();
    }
  }
  return out;
}

/** The reachable blocks in reverse postorder; the entry comes first. */
export function reversePostOrder(fn: Function): BasicBlock[] {
  return postOrder(fn).reverse();
}
