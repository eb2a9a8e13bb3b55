/**
 * `loop-reduce`: loop strength reduction of pointer arithmetic — a pointer computed in
 * every iteration as `base + a·i + b` from a counter `i` becomes a pointer of its own that
 * steps by `a·step` (clang turns `ip[2 * i]` into a pointer the loop advances by 2 the same
 * way; Cooper, Simpson & Vick, "Operator Strength Reduction", 2001, for the general idea).
 *
 * A basic induction variable is a header phi `i = phi [init, preheader], [i + step, latch]`
 * with constants `init` and `step`. A candidate is a `ptradd base, x` in the loop with a
 * loop-invariant `base` and `x = a·i + b` built from `i` by `add`/`sub`/`mul`/`shl` with
 * constants (all i64, so everything wraps modulo 2^64 as pointer arithmetic does). The
 * pointer gets a header phi `p = phi [base + a·init + b, preheader], [p + a·step, latch]`:
 * in every iteration `p` holds the value the `ptradd` computed, so it replaces it, and the
 * index arithmetic dies. The start is `base` plus a constant: a packet pointer then has a
 * fixed offset in every iteration, which the verifier follows exactly (a non-constant
 * start would be a packet pointer plus a scalar the verifier may not bound).
 *
 * When the pointer is only used by loads and stores (through their offsets) and by
 * `ptradd p, K` with constants, the phi is rebased on the first such K: it holds `p + K`
 * (usually the end of a bounds check, `p + n > data_end`), the check compares the phi
 * itself and the accesses read at offset `off - K` (clang's `r6 = *(u8 *)(r1 - 0x1)`).
 *
 * The base must be a packet, stack or (non-null) map value pointer: the start is computed
 * in the preheader, before any test inside the loop, and the verifier refuses arithmetic
 * on a maybe-null map value and on the context.
 *
 * It applies only when it removes more instructions than it adds (the `ptradd`, the
 * index arithmetic that dies and a rebased `ptradd` against the start and the step), and
 * only in loops with a preheader and one latch. The counter stays: its own compares still
 * use it. Cost: O(loops × instructions in them).
 */
import { isConstant, isInstruction, regionOf, type BasicBlock, type Function, type Instruction, type Loop, type Value } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { blockOrderAnalysis, loopInfoAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { constValue, eraseDeadTree } from "../util/ir.js";
import { censusAnalysis } from "../analysis/census.js";

const wrap = (x: bigint): bigint => BigInt.asIntN(64, x);

/**
 * Pointers the verifier lets a program add to wherever they are: the start is computed in
 * the preheader, which a test inside the loop does not guard (a `map_value_or_null` base
 * tested for nil in the loop would be pointer arithmetic on a maybe-null pointer there;
 * the context allows no arithmetic at all).
 */
const STEPPABLE: ReadonlySet<string> = new Set(["packet", "stack", "map_value"]);

/** `x = a·iv + b`, and the instructions between x and iv (x first). */
interface Affine {
  iv: Instruction;
  a: bigint;
  b: bigint;
  chain: Instruction[];
}

/** A basic induction variable of `loop`: its start and step, if `phi` is one. */
function inductionOf(phi: Instruction, loop: Loop, preheader: BasicBlock, latch: BasicBlock): { init: bigint; step: bigint } | undefined {
  if (!phi.isPhi || phi.block !== loop.header || phi.type.kind !== "int" || phi.type.size !== 8 || phi.operands.length !== 2) return undefined;
  const init = constValue(phi.incomingValue(preheader));
  const next = phi.incomingValue(latch);
  if (init === undefined || !isInstruction(next, "add") || next.operands[0] !== phi) return undefined;
  const step = constValue(next.operands[1]!);
  return step === undefined || step === 0n ? undefined : { init, step };
}

/** `v` as an affine function of one basic induction variable of `loop`, if it is one. */
function affineOf(v: Value, loop: Loop, isInduction: (phi: Instruction) => boolean, depth = 0): Affine | undefined {
  if (v.kind !== "instruction" || depth > 8) return undefined;
  const inst = v as Instruction;
  if (inst.isPhi) return isInduction(inst) ? { iv: inst, a: 1n, b: 0n, chain: [] } : undefined;
  if (inst.type.kind !== "int" || inst.type.size !== 8 || !loop.contains(inst.block!)) return undefined;
  const [x, y] = [inst.operands[0]!, inst.operands[1]!];
  const k = y === undefined ? undefined : constValue(y);
  const kx = constValue(x);
  const inner = (w: Value) => affineOf(w, loop, isInduction, depth + 1);
  const extend = (f: Affine | undefined, a: (a: bigint) => bigint, b: (b: bigint) => bigint): Affine | undefined =>
    f && { iv: f.iv, a: wrap(a(f.a)), b: wrap(b(f.b)), chain: [inst, ...f.chain] };
  switch (inst.opcode) {
    case "add":
      if (k !== undefined) return extend(inner(x), (a) => a, (b) => b + k);
      if (kx !== undefined) return extend(inner(y!), (a) => a, (b) => b + kx);
      return undefined;
    case "sub":
      return k === undefined ? undefined : extend(inner(x), (a) => a, (b) => b - k);
    case "mul":
      if (k !== undefined) return extend(inner(x), (a) => a * k, (b) => b * k);
      if (kx !== undefined) return extend(inner(y!), (a) => a * kx, (b) => b * kx);
      return undefined;
    case "shl":
      return k === undefined || k < 0n || k > 62n ? undefined : extend(inner(x), (a) => a << k, (b) => b << k);
    default:
      return undefined;
  }
}

/** Does `use` read or write memory at `p` (as the address, not as a stored value)? Offsets fold into it. */
function isAccessThrough(user: Instruction, p: Value): boolean {
  if (user.opcode === "load") return user.operands[0] === p;
  if (user.opcode === "store") return user.operands[1] === p && user.operands[0] !== p;
  if (user.info.shape === "atomic") return user.operands[0] === p && user.operands[1] !== p;
  return false;
}

/** The constant K to rebase the pointer on, if every use of `p` allows it (see the file comment). */
function rebaseOf(p: Instruction): bigint | undefined {
  let k: bigint | undefined;
  for (const u of p.uses) {
    const user = u.user;
    if (isAccessThrough(user, p)) continue;
    const c = user.opcode === "ptradd" && user.operands[0] === p ? constValue(user.operands[1]!) : undefined;
    if (c === undefined) return undefined;
    k ??= c;
  }
  if (k === undefined || k === 0n) return undefined;
  // Rebased access offsets must stay in an instruction's signed 16-bit offset.
  for (const u of p.uses) {
    if (!isAccessThrough(u.user, p)) continue;
    const off = BigInt(u.user.offset) - k;
    if (off < -(1n << 15n) || off >= 1n << 15n) return undefined;
  }
  return k;
}

/** The instructions of `chain` that die once `p` is gone (every use inside the dying set). */
function dyingChain(p: Instruction, chain: readonly Instruction[]): number {
  const dying = new Set<Instruction>([p]);
  for (const c of chain) if (c.uses.every((u) => dying.has(u.user))) dying.add(c);
  return dying.size - 1;
}

function reduce(fn: Function, p: Instruction, f: Affine, start: bigint, step: bigint, preheader: BasicBlock, latch: BasicBlock, header: BasicBlock): void {
  const base = p.operands[0]!;
  const k = rebaseOf(p) ?? 0n;
  const i64 = f.iv.type;
  const first = wrap(f.a * start + f.b + k);
  let init: Value = base;
  if (first !== 0n) {
    const add = fn.createInstruction("ptradd", p.type, p.type, [base, fn.constant(i64, first)]);
    add.loc = p.loc;
    add.insertBefore(preheader.terminator!);
    init = add;
  }
  const phi = fn.createInstruction("phi", p.type, p.type);
  phi.loc = p.loc;
  header.prepend(phi);
  const next = fn.createInstruction("ptradd", p.type, p.type, [phi, fn.constant(i64, wrap(f.a * step))]);
  next.loc = p.loc;
  next.insertBefore(latch.terminator!);
  phi.addIncoming(init, preheader);
  phi.addIncoming(next, latch);
  if (k !== 0n) {
    for (const u of [...p.uses]) {
      const user = u.user;
      if (isAccessThrough(user, p)) {
        user.setOperand(user.operands.indexOf(p), phi);
        user.offset = Number(BigInt(user.offset) - k);
      } else {
        // ptradd p, K2 → ptradd phi, K2 - K (the phi itself when K2 = K).
        const k2 = constValue(user.operands[1]!)!;
        if (k2 === k) {
          user.replaceAllUsesWith(phi);
          user.erase();
        } else {
          user.setOperand(0, phi);
          user.setOperand(1, fn.constant(i64, wrap(k2 - k)));
        }
      }
    }
  } else p.replaceAllUsesWith(phi);
  eraseDeadTree(p);
}

export const loopReduce = defineFunctionPass({
  name: "loop-reduce",
  description: "loop strength reduction: a pointer computed from a counter as base + a*i + b in each iteration becomes a pointer the loop steps",
  preserves: Preserved.cfg(),
  // A pointer (ptradd) computed from an induction phi (in a loop: a cycle).
  applies(fn, ctx) {
    const census = ctx.analyses.get(censusAnalysis);
    return census.count("phi") > 0 && census.count("ptradd") > 0 && ctx.analyses.get(blockOrderAnalysis).cyclic;
  },
  run(fn, ctx) {
    const info = ctx.analyses.get(loopInfoAnalysis);
    let changed = false;
    for (const loop of info.loops) {
      const preheader = loop.preheader();
      const latch = loop.latch();
      if (!preheader || !latch) continue;
      const inductions = new Map<Instruction, { init: bigint; step: bigint } | undefined>();
      const isInduction = (phi: Instruction) => {
        if (!inductions.has(phi)) inductions.set(phi, inductionOf(phi, loop, preheader, latch));
        return inductions.get(phi) !== undefined;
      };
      const candidates: [Instruction, Affine][] = [];
      for (const bb of loop.blocks) {
        for (let inst = bb.first; inst; inst = inst.next) {
          if (inst.opcode !== "ptradd" || !loop.isInvariant(inst.operands[0]!) || isConstant(inst.operands[1]!)) continue;
          if (!STEPPABLE.has(regionOf(inst.operands[0]!) ?? "")) continue;
          const f = affineOf(inst.operands[1]!, loop, isInduction);
          if (f) candidates.push([inst, f]);
        }
      }
      for (const [p, f] of candidates) {
        if (!p.block) continue;
        const { init, step } = inductions.get(f.iv)!;
        const k = rebaseOf(p);
        const removed = 1 + dyingChain(p, f.chain) + (k !== undefined ? 1 : 0);
        const added = (wrap(f.a * init + f.b + (k ?? 0n)) !== 0n ? 1 : 0) + 1;
        if (removed <= added) continue;
        reduce(fn, p, f, init, step, preheader, latch, loop.header);
        ctx.stat("pointers-reduced");
        changed = true;
      }
    }
    return changed;
  },
});
