/**
 * `loop-term`: a loop's exit test reads the counter's next value, so that the latch is
 * empty and the loop ends in one conditional jump back (LLVM's loop strength reduction does
 * the same in `OptimizeLoopTermCond`; clang's loops end `r1 += 1; if r1 < 16 goto header`).
 *
 * The shape: a loop with one latch L whose only predecessor is the exiting block E, whose
 * `condbr (cmp i, K)` goes to L or out of the loop; `i` is a basic induction variable, a
 * header phi `[init, entering], [next, L]` with `next = add i, step` and constants `init`,
 * `step`, `K`. Then E tests `cmp next, K + step` instead, and L's instructions — all pure,
 * `next` among them — move up to the end of E, leaving L with its branch alone (emission
 * threads the jump to L into a jump to the header). Without it the loop pays for `ja
 * header` in the latch besides the test in E.
 *
 * The rewrite keeps the meaning when `i + step` and `K + step` do not wrap for any value `i`
 * holds at E: equality tests always (adding a constant is a bijection modulo 2^N); an
 * ordered test when the loop goes on while `i < K` or `i <= K` (in the test's signedness)
 * with a positive step. Every iteration passes E's test to reach L (its only predecessor),
 * so `i` at E lies in [init, max(init, K - 1 + step)] (`K + step` for `<=`), which is
 * checked to fit with `step` added.
 *
 * It applies only where no extra copy follows: `i` must not be used after `next` is computed
 * (on the way out of the loop, or by a latch instruction that needs `next` too), since it
 * would then live beside `next` in another register; the latch's instructions that do not
 * need `next` move above it. Likewise no loop value a latch instruction reads may be used
 * after the loop.
 * Cost: O(loops + the instructions of the latches).
 */
import { INVERTED_COMPARE, isConstant, isInstruction, SWAPPED_COMPARE, type BasicBlock, type CompareOpcode, type Function, type Instruction, type Loop, type Value } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { blockOrderAnalysis, loopInfoAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { censusAnalysis } from "../analysis/census.js";

const COMPARES: ReadonlySet<string> = new Set(Object.keys(SWAPPED_COMPARE));

/** `v`'s value as the integer of its `bits`-wide type read `signed` or not, if it is a constant. */
function constantOf(v: Value, bits: number, signed: boolean): bigint | undefined {
  if (!isConstant(v)) return undefined;
  return signed ? BigInt.asIntN(bits, v.value) : BigInt.asUintN(bits, v.value);
}

/**
 * May the test `i op K` (the loop goes on when it is `goesOnWhen`) become `i + step op
 * K + step`? See the file comment: always for equality, else for an upper bound with the
 * largest `i` at the test plus `step` within the type.
 */
function rewritable(op: CompareOpcode, goesOnWhen: boolean, bits: number, init: Value, step: bigint, k: Value): boolean {
  if (op === "eq" || op === "ne") return true;
  const on = goesOnWhen ? op : INVERTED_COMPARE[op];
  if (on !== "ult" && on !== "ule" && on !== "slt" && on !== "sle") return false;
  const signed = on === "slt" || on === "sle";
  const [i0, kk] = [constantOf(init, bits, signed), constantOf(k, bits, signed)];
  const s = BigInt.asIntN(bits, step);
  if (i0 === undefined || kk === undefined || s <= 0n) return false;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  const last = on === "ult" || on === "slt" ? kk - 1n + s : kk + s;
  const highest = i0 > last ? i0 : last;
  return highest + s <= max;
}

/** The basic induction variable `phi` of `loop` stepped in `latch`: its start and step, if it is one. */
function induction(phi: Instruction, loop: Loop, latch: BasicBlock): { init: Value; next: Instruction; step: bigint } | undefined {
  if (!phi.isPhi || phi.block !== loop.header || phi.type.kind !== "int" || phi.operands.length !== 2) return undefined;
  const from = phi.incoming.findIndex((b) => b !== latch);
  if (from < 0 || phi.incoming[1 - from] !== latch) return undefined;
  const init = phi.operands[from]!;
  const next = phi.operands[1 - from]!;
  if (!isInstruction(next, "add")) return undefined;
  const [a, b] = next.operands as [Value, Value];
  const step = a === phi && isConstant(b) ? b.value : b === phi && isConstant(a) ? a.value : undefined;
  if (step === undefined || !isConstant(init)) return undefined;
  return { init, next, step };
}

/** Rewrites `loop`'s exit test when it has the shape of the file comment; returns whether it did. */
function rewriteLoop(fn: Function, loop: Loop): boolean {
  const latch = loop.latch();
  if (!latch || latch === loop.header || latch.preds.length !== 1) return false;
  const exiting = latch.preds[0]!;
  const term = exiting.terminator;
  if (term?.opcode !== "condbr" || !loop.contains(exiting)) return false;
  const toLatch = term.targets.indexOf(latch);
  if (toLatch < 0 || term.targets[1 - toLatch] === latch || loop.contains(term.targets[1 - toLatch]!)) return false;
  // The latch holds pure instructions only, the counter's step among them.
  const moved: Instruction[] = [];
  for (let i = latch.first; i && i !== latch.terminator; i = i.next) {
    if (i.isPhi || !i.info.pure) return false;
    moved.push(i);
  }
  if (moved.length === 0) return false;
  const cmp = term.operands[0]!;
  if (!isInstruction(cmp) || !COMPARES.has(cmp.opcode)) return false;
  let op = cmp.opcode as CompareOpcode;
  let [iv, k] = cmp.operands as [Value, Value];
  if (isConstant(iv)) {
    [iv, k] = [k, iv];
    op = SWAPPED_COMPARE[op];
  }
  if (!isInstruction(iv) || !isConstant(k)) return false;
  const ind = induction(iv, loop, latch);
  if (!ind || ind.next.block !== latch || iv.type.kind !== "int") return false;
  const bits = iv.type.bits;
  if (!rewritable(op, toLatch === 0, bits, ind.init, ind.step, k)) return false;
  // The latch's instructions that read `next` (through each other) move after it, the
  // others before it, so that `i` is dead once `next` is computed.
  const afterNext = new Set<Instruction>([ind.next]);
  for (const i of moved) if (i.operands.some((o) => afterNext.has(o as Instruction))) afterNext.add(i);
  // `i` must be dead after the step: used only by the step, the test, latch instructions
  // placed before the step and instructions that run before E's end in the iteration
  // (every loop block but the latch lies on the way from the header to E, the latch's only
  // predecessor).
  for (const u of iv.uses) {
    const user = u.user;
    if (user === ind.next || user === cmp) continue;
    const bb = user.block;
    if (!bb || !loop.contains(bb) || (bb === latch && afterNext.has(user)) || (user.isPhi && bb === loop.header)) return false;
  }
  // A loop value a latch instruction reads must not be live on the way out either: moved
  // above E's test, the instruction would then write a register beside it (a copy more).
  for (const i of moved) {
    for (const o of i.operands) {
      if (isInstruction(o) && o.block && loop.contains(o.block) && o.uses.some((u) => !u.user.block || !loop.contains(u.user.block))) return false;
    }
  }
  for (const i of moved) if (!afterNext.has(i)) i.moveBefore(term);
  for (const i of moved) if (afterNext.has(i)) i.moveBefore(term);
  const test = fn.createInstruction(op, cmp.type, cmp.typeParam, [ind.next, fn.constant(iv.type, BigInt.asIntN(64, BigInt.asUintN(bits, k.value + ind.step)))]);
  test.loc = cmp.loc;
  test.insertBefore(term);
  term.setOperand(0, test);
  if (!cmp.hasUses) cmp.erase();
  return true;
}

export const loopTerm = defineFunctionPass({
  name: "loop-term",
  description: "test a counted loop's exit on the counter's next value, so that the latch is empty",
  // A counted loop (a cycle): an induction phi and an exit condbr.
  applies(fn, ctx) {
    const census = ctx.analyses.get(censusAnalysis);
    return census.count("condbr") > 0 && census.count("phi") > 0 && ctx.analyses.get(blockOrderAnalysis).cyclic;
  },
  run(fn, ctx) {
    const info = ctx.analyses.get(loopInfoAnalysis);
    let changed = false;
    for (const loop of info.innermostFirst()) {
      if (rewriteLoop(fn, loop)) {
        ctx.stat("exit-tests-rewritten");
        changed = true;
      }
    }
    // Instructions moved between blocks of the same loops: the CFG and loops stay.
    return changed ? Preserved.cfg() : false;
  },
});
