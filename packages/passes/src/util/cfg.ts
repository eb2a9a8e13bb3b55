/**
 * CFG helpers the passes share, on top of `@luabpf/ir`'s cfg.ts.
 *
 * A `condbr c, X, X` has two edges into X, and X's phis have one incoming pair per edge:
 * the k-th edge uses the k-th pair from the block (the interpreter's semantics). Folding
 * such a branch must keep the pair of the edge that stays.
 */
import { foldConditionalBranch, voidType, type BasicBlock, type Value } from "@luabpf/ir";

/** The value phi-pair occurrence `n` (0: true edge, 1: false edge) from `from` carries. */
function nthIncoming(phi: { incoming: BasicBlock[]; operands: Value[] }, from: BasicBlock, n: number): Value {
  let seen = 0;
  let first: Value | undefined;
  for (let k = 0; k < phi.incoming.length; k++) {
    if (phi.incoming[k] !== from) continue;
    first ??= phi.operands[k];
    if (seen++ === n) return phi.operands[k]!;
  }
  return first!;
}

/** Replaces the `condbr` ending `bb` by `br` to its true (`taken`) or false target, keeping the right phi pairs. */
export function foldBranch(bb: BasicBlock, taken: boolean): void {
  const term = bb.terminator!;
  const [t, f] = [term.targets[0]!, term.targets[1]!];
  if (t !== f) return foldConditionalBranch(bb, taken);
  const kept = t.phis().map((phi) => [phi, nthIncoming(phi, bb, taken ? 0 : 1)] as const);
  for (const [phi] of kept) while (phi.incomingIndex(bb) >= 0) phi.removeIncoming(bb);
  term.erase();
  const br = bb.parent!.createInstruction("br", voidType, voidType);
  br.targets.push(t);
  br.loc = term.loc;
  bb.append(br);
  for (const [phi, v] of kept) phi.addIncoming(v, bb);
}

/**
 * For `condbr c, X, X`: do the two edges carry the same value into every phi of X?
 * (Then the branch is a plain jump.)
 */
export function equalTargetsAgree(bb: BasicBlock): boolean {
  const t = bb.terminator!.targets[0]!;
  return t.phis().every((phi) => nthIncoming(phi, bb, 0) === nthIncoming(phi, bb, 1));
}

/** The value phi pair `n` from `from` carries (exported for simplify-cfg's select formation). */
export { nthIncoming };
