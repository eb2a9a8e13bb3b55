/**
 * Random control-flow graphs for analysis tests: one block per entry of a list of
 * terminators (`ret`, `br t`, `condbr t, f`), block i with id i. Edges may go anywhere,
 * including into the entry, so the graphs are not always valid functions; tests that need
 * a verifier-clean function use {@link arbValidCfg}.
 */
import fc from "fast-check";
import { Builder, Function, i64, type BasicBlock } from "@luabpf/ir";

export type Term = { kind: "ret" } | { kind: "br"; t: number } | { kind: "condbr"; t: number; f: number };
export const ret: Term = { kind: "ret" };
export const br = (t: number): Term => ({ kind: "br", t });
export const cbr = (t: number, f: number): Term => ({ kind: "condbr", t, f });

/** A function with one block per entry of `terms`, ending as described (block i has id i). */
export function cfg(terms: readonly Term[], name = "f"): { fn: Function; blocks: BasicBlock[] } {
  const fn = new Function(name, [i64], i64);
  const blocks = terms.map(() => fn.createBlock());
  const B = new Builder(fn);
  terms.forEach((t, i) => {
    B.atEnd(blocks[i]!);
    if (t.kind === "ret") B.ret(fn.params[0]!);
    else if (t.kind === "br") B.br(blocks[t.t]!);
    else B.condBr(fn.params[0]!, blocks[t.t]!, blocks[t.f]!);
  });
  return { fn, blocks };
}

/** Random terminator lists of 1..max blocks (edges anywhere, the entry included). */
export function arbCfg(max = 24, minTarget = 0): fc.Arbitrary<Term[]> {
  return fc.integer({ min: 1, max }).chain((n) =>
    fc.array(
      fc.oneof(
        { arbitrary: fc.constant<Term>(ret), weight: 1 },
        { arbitrary: fc.integer({ min: Math.min(minTarget, n - 1), max: n - 1 }).map(br), weight: 3 },
        {
          arbitrary: fc.tuple(fc.integer({ min: Math.min(minTarget, n - 1), max: n - 1 }), fc.integer({ min: Math.min(minTarget, n - 1), max: n - 1 })).map(([t, f]) => cbr(t, f)),
          weight: 4,
        },
      ),
      { minLength: n, maxLength: n },
    ),
  );
}

/** Random CFGs with no edge into the entry block (as the verifier requires). */
export const arbValidCfg = (max = 24): fc.Arbitrary<Term[]> => arbCfg(max, 1).filter((ts) => ts.length > 1 || ts[0]!.kind === "ret");

/**
 * Gives every block with predecessors one phi with a distinct constant per incoming edge
 * (in predecessor order), so that edge-to-pair bookkeeping can be checked.
 */
export function addEdgePhis(fn: Function): void {
  let k = 1000;
  for (const bb of fn.blocks) {
    if (bb.preds.length === 0) continue;
    const phi = fn.createInstruction("phi", i64, i64);
    for (const p of bb.preds) phi.addIncoming(fn.constant(i64, k++), p);
    bb.prepend(phi);
  }
}
