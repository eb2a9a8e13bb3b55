/**
 * `packet-bounds`: one packet bounds check per header instead of one per field, for direct
 * packet access (XDP, tc). A *bounds check* is a block ending in
 *
 *     %q = ptradd ptr.packet %base, K      (or %q = %base: K = 0; nested constant ptradds add up)
 *     %c = ugt ptr.packet %q, %end         (%end a `load ptr.packet_end`; any unsigned compare,
 *                                           either operand order)
 *     condbr %c, @short, @ok
 *
 * which says, on the @ok edge, "%base + K ≤ data_end" (K + 1 after a strict compare such as
 * the program's own `if ptr < data_end`). The front end's checks leave through a @short
 * block that only returns a constant; those are the checks the rewrites may change. A
 * program's own check whose @short side does more is only a fact: it is never widened,
 * redirected or merged across, and it is folded only when a dominating fact implies it. The
 * rewrites, in a walk of the dominator tree:
 *
 * 1. **Redundant checks** (bounds-check elimination): a check of `%base + K` where a
 *    dominating @ok edge (the only way into its block) already established `%base + K'` with
 *    K' ≥ K (same base value, same end) always succeeds: its `condbr` becomes `br @ok` (`foldConditionalBranch`).
 * 2. **Merging** (hoisting a later check into an earlier one): when check B of `%base + K2`
 *    follows check A of `%base + K1` (K2 > K1) on a straight path — A's @ok block leads to
 *    B's block through blocks entered only from the previous one and left by `br`, and
 *    nothing on the way has an effect (no store, call or atomic) nor a check that leaves
 *    another way — and both return the same constant when short, A checks `%base + K2` instead, and B becomes redundant.
 *    A packet between the two lengths now leaves at A rather than at B; nothing observable
 *    happened in between, and both leave with the same value, so the program's result is
 *    the same.
 *
 * 3. **One exit**: the checks' short edges go to one block of the program that returns the
 *    same constant (the program's own `return XDP_PASS`, when it has one), so the code has
 *    one `r0 = 2; exit` instead of one per place. (Done first; the short block of a check
 *    is compared by value.)
 *
 * The front end checks each header's whole fixed part before reading any of its fields
 * (frontend-lua lower/packet.ts), so after value numbering has merged the base pointers,
 * (1) leaves one check per header and (2) one per straight run of headers. The verifier
 * accepts the result because a check of `%base + K` on the same register bounds every load
 * from `%base` below K. Cost: O(blocks + instructions) plus the straight-path walks.
 */
import { Builder, foldConditionalBranch, i64, isConstant, redirectBranch, type BasicBlock, type Instruction, type Value } from "@luabpf/ir";
import { dominatorTreeAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { walkDominatorTree } from "../util/scoped-walk.js";
import { censusAnalysis } from "../analysis/census.js";
import { removeUnreachableBlocks } from "@luabpf/ir";

/** A recognised bounds check: `base + k ≤ end` holds on the edge to `ok`. */
export interface BoundsCheck {
  readonly block: BasicBlock;
  readonly compare: Instruction;
  /** Operand index of `%q` in the compare. */
  readonly limitOperand: number;
  readonly base: Value;
  /** The limit's constant: the compare is of `base + k`. */
  k: number;
  /** Bytes past `base` known in the packet on the @ok edge: `k`, or `k + 1` after a strict compare. */
  known: number;
  /** The end pointer, structurally (`load ptr.packet_end` of one pointer and offset). */
  readonly endKey: string;
  readonly ok: BasicBlock;
  short: BasicBlock;
  /** What the short edge's block returns; undefined when it does more (a check only known, never rewritten). */
  readonly shortValue: bigint | undefined;
}

function isPacketPointer(v: Value, region: "packet" | "packet_end"): boolean {
  return v.type.kind === "ptr" && v.type.region === region;
}

/** The constant a block that only returns one returns. */
function returnedConstant(bb: BasicBlock): bigint | undefined {
  const insts = bb.instructions();
  if (insts.length !== 1 || insts[0]!.opcode !== "ret") return undefined;
  const v = insts[0]!.operands[0];
  return v && isConstant(v) ? v.value : undefined;
}

function endKeyOf(e: Value): string | undefined {
  if (e.kind !== "instruction" || !isPacketPointer(e, "packet_end")) return undefined;
  const inst = e as Instruction;
  if (inst.opcode !== "load") return `v${e.id}`;
  return `load ${inst.operands[0]!.id}+${inst.offset}`;
}

/**
 * How a compare of a packet pointer `q` with the end reads, by opcode and by the side `q`
 * is on: whether true means short, and whether the in-bounds side is strict (`q < end`:
 * one more byte, `q + 1 <= end`, is known in bounds).
 */
const COMPARE_FORMS: Readonly<Record<string, readonly [{ shortWhenTrue: boolean; strict: boolean }, { shortWhenTrue: boolean; strict: boolean }]>> = {
  // [q on the left (q OP end), q on the right (end OP q)]
  ugt: [{ shortWhenTrue: true, strict: false }, { shortWhenTrue: false, strict: true }],
  uge: [{ shortWhenTrue: true, strict: true }, { shortWhenTrue: false, strict: false }],
  ult: [{ shortWhenTrue: false, strict: true }, { shortWhenTrue: true, strict: false }],
  ule: [{ shortWhenTrue: false, strict: false }, { shortWhenTrue: true, strict: true }],
};

/** `q` as a base and a constant: `ptradd (ptradd b, 5), 1` is b + 6. */
export function baseAndOffset(q: Value): { base: Value; k: number } {
  let base = q;
  let k = 0;
  while (base.kind === "instruction" && (base as Instruction).opcode === "ptradd") {
    const n = (base as Instruction).operands[1]!;
    if (!isConstant(n)) break;
    k += Number(n.value);
    base = (base as Instruction).operands[0]!;
  }
  return { base, k };
}

/** The bounds check `bb` ends in, if it ends in one. */
export function boundsCheck(bb: BasicBlock): BoundsCheck | undefined {
  const term = bb.terminator;
  if (!term || term.opcode !== "condbr" || term.targets[0] === term.targets[1]) return undefined;
  const c = term.operands[0]!;
  if (c.kind !== "instruction") return undefined;
  const compare = c as Instruction;
  const forms = COMPARE_FORMS[compare.opcode];
  if (!forms) return undefined;
  const limitOperand = isPacketPointer(compare.operands[0]!, "packet") ? 0 : 1;
  const q = compare.operands[limitOperand]!;
  const endKey = endKeyOf(compare.operands[1 - limitOperand]!);
  if (!endKey || !isPacketPointer(q, "packet")) return undefined;
  const { shortWhenTrue, strict } = forms[limitOperand]!;
  const { base, k } = baseAndOffset(q);
  const [short, ok] = shortWhenTrue ? [term.targets[0]!, term.targets[1]!] : [term.targets[1]!, term.targets[0]!];
  // A check whose short edge does anything but return a constant (a program's own `if ptr
  // < data_end then ... end`) still establishes its bound; it is not merged or redirected.
  return { block: bb, compare, limitOperand, base, k, known: k + (strict ? 1 : 0), endKey, ok, short, shortValue: strict ? undefined : returnedConstant(short) };
}

const keyOf = (c: BoundsCheck) => `${c.base.id}|${c.endKey}`;

/** Does `inst` have an effect a reordered bounds check could make observable? */
function hasEffect(inst: Instruction): boolean {
  return inst.info.sideEffects || inst.info.memory === "write" || inst.info.memory === "readwrite";
}

/**
 * The later checks of the same base reached from `a`'s @ok edge on a straight path without
 * effects, in order.
 */
function straightFollowers(a: BoundsCheck, checks: Map<BasicBlock, BoundsCheck>): BoundsCheck[] {
  const out: BoundsCheck[] = [];
  let bb = a.ok;
  let from = a.block;
  const seen = new Set<BasicBlock>();
  while (bb.preds.length === 1 && bb.preds[0] === from && !seen.has(bb)) {
    seen.add(bb);
    const insts = bb.instructions();
    const body = insts.slice(0, -1);
    // The compare of a check and what computes its limit are pure; anything else with an effect stops the walk.
    if (body.some(hasEffect)) break;
    const term = insts[insts.length - 1]!;
    const b = checks.get(bb);
    if (b) {
      // A check that leaves differently (another verdict, or the program's own code) ends the
      // run: a packet it refuses must still reach it.
      if (b.shortValue !== a.shortValue) break;
      if (keyOf(b) === keyOf(a)) out.push(b);
      [from, bb] = [bb, b.ok];
      continue;
    }
    if (term.opcode !== "br") break;
    [from, bb] = [bb, term.targets[0]!];
  }
  return out;
}

export const packetBounds = defineFunctionPass({
  name: "packet-bounds",
  description: "remove packet bounds checks a dominating check implies; merge checks of one base on a straight path into the first",
  applies: (fn, ctx) => ctx.analyses.get(censusAnalysis).count("condbr") > 0,
  run(fn, ctx) {
    const checks = new Map<BasicBlock, BoundsCheck>();
    for (const bb of fn.blocks) {
      const c = boundsCheck(bb);
      if (c) checks.set(bb, c);
    }
    if (checks.size === 0) return false;
    let changed = false;

    // (3) One exit: a short packet leaves through a block of the program that returns the
    // same constant, if there is one (one `exit` for all instead of one per check).
    const rewritable = [...checks.values()].filter((c) => c.shortValue !== undefined);
    const shortBlocks = new Set(rewritable.map((c) => c.short));
    const exits = new Map<bigint, BasicBlock>();
    for (const bb of fn.blocks) {
      const v = returnedConstant(bb);
      if (v !== undefined && (!exits.has(v) || shortBlocks.has(exits.get(v)!))) exits.set(v, bb);
    }
    for (const c of rewritable) {
      const exit = exits.get(c.shortValue!)!;
      if (exit === c.short) continue;
      redirectBranch(c.block, c.short, exit);
      c.short = exit;
      ctx.stat("exits-shared");
      changed = true;
    }

    // (2) Merging: widen each check to the largest straight follower's bound.
    for (const a of rewritable) {
      const widest = Math.max(a.k, ...straightFollowers(a, checks).map((b) => b.k));
      if (widest <= a.k) continue;
      const q = new Builder(fn).before(a.compare).ptrAdd(a.base, fn.constant(i64, widest));
      a.compare.setOperand(a.limitOperand, q);
      a.k = widest;
      a.known = widest;
      ctx.stat("checks-widened");
      changed = true;
    }

    // (1) Redundant checks: a walk of the dominator tree with the bounds each @ok edge established.
    const dt = ctx.analyses.get(dominatorTreeAnalysis);
    const folds: BasicBlock[] = [];
    walkDominatorTree<number>(fn, dt, (bb, known, pred) => {
      const entering = pred ? checks.get(pred) : undefined;
      if (entering && entering.ok === bb && bb.preds.length === 1 && !folds.includes(pred!)) {
        const key = keyOf(entering);
        const old = known.get(key);
        if (old === undefined || old < entering.known) known.set(key, entering.known);
      }
      const mine = checks.get(bb);
      if (mine) {
        const k = known.get(keyOf(mine));
        if (k !== undefined && k >= mine.known) folds.push(bb);
      }
    });
    for (const bb of folds) {
      const c = checks.get(bb)!;
      foldConditionalBranch(bb, bb.terminator!.targets[0] === c.ok);
      ctx.stat("checks-removed");
    }
    if (folds.length > 0 || changed) {
      changed = true;
      const removed = removeUnreachableBlocks(fn);
      if (removed) ctx.stat("blocks-unreachable", removed);
    }
    return changed;
  },
});
