/**
 * The superoptimizer's search (after Massalin 1987's exhaustive enumeration, with K2's
 * (SIGCOMM 2021) test-then-prove discipline): for a harvested window, enumerate every
 * shorter sequence over a small vocabulary — the ALU operations on the window's registers
 * with register or immediate sources (immediates from the window's constants and simple
 * combinations of them), and for a window that ends in a conditional jump, a final jump of
 * any condition — and keep the first that survives, in order:
 *
 * 1. a filter: a few fixed input vectors (boundary values), compared on the registers
 *    live after the window and on the jump's direction;
 * 2. testing: every combination of boundary values for up to two inputs, and random
 *    64-bit vectors;
 * 3. a proof: the SMT-LIB query of semantics.ts is `unsat` in z3 (no input on which the
 *    two differ on a live register or the jump). Without z3 nothing is kept.
 *
 * Only windows whose inputs are all scalars wherever the verifier accepted them qualify
 * (backend-ebpf superopt.ts `scalarInputs`); the rule says which registers must be dead
 * after it.
 */
import { fromInsn, parseInsn, readsWrites, type AluBinaryOp, type JmpCondOp, type WindowInst } from "@luabpf/backend-ebpf";
import { compare, equivalenceQuery, run, step, type Regs } from "./semantics.js";

/** A window parsed from its canonical text. */
export function parseWindow(text: string): WindowInst[] {
  return text.split("; ").map((t) => fromInsn(parseInsn(t)));
}

const BOUNDARY: readonly bigint[] = [
  0n, 1n, 2n, 3n, 0x7fn, 0x80n, 0xffn, 0x100n, 0x7fffn, 0x8000n, 0xffffn, 0x10000n, 0x7fffffffn, 0x80000000n, 0xffffffffn,
  0x100000000n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xfffffffffffffffen, 0xffffffffffffffffn,
];

/** A deterministic 64-bit generator (xorshift64*), so that a search run is reproducible. */
function randoms(seed: bigint): () => bigint {
  let s = seed || 1n;
  return () => {
    s ^= s >> 12n;
    s ^= (s << 25n) & ((1n << 64n) - 1n);
    s ^= s >> 27n;
    const x = (s * 0x2545f4914f6cdd1dn) & ((1n << 64n) - 1n);
    // Mix in narrow values: half the draws are small (sizes, bytes, ports, flags).
    const shape = Number(x & 7n);
    return shape < 2 ? x & 0xffn : shape < 3 ? x & 0xffffn : shape < 4 ? x & 0xffffffffn : x;
  };
}

/** Input vectors for `n` registers: the filter set and the test set. */
function vectors(n: number, constants: readonly bigint[], narrow: readonly (readonly [number, number])[], jump: boolean): { filter: Regs[]; second: Regs[]; tests: Regs[] } {
  const rnd = randoms(0x9e3779b97f4a7c15n);
  const near = constants.flatMap((c) => [c, c - 1n, c + 1n].map((v) => BigInt.asUintN(64, v)));
  const pool = [...BOUNDARY, ...near];
  const masks = Array.from({ length: n + 1 }, () => (1n << 64n) - 1n);
  for (const [p, bits] of narrow) masks[p] = (1n << BigInt(bits)) - 1n;
  // A value that breaks a precondition is replaced by its low bits (still a boundary value of the narrower range).
  const make = (f: (p: number) => bigint): Regs => [0n, ...Array.from({ length: n }, (_, k) => f(k + 1) & masks[k + 1]!)];
  const filter = [make(() => rnd()), make((p) => BOUNDARY[(p * 7) % BOUNDARY.length]!), make(() => rnd()), make((p) => pool[(p * 5 + 3) % pool.length]!), make(() => rnd()), make(() => rnd())];
  if (jump) {
    // A jump's direction is one bit: random inputs rarely reach the rare side (`x ^ c == 0`),
    // so the filter also pairs 0, ±1 and the window's constants.
    const small = [0n, 1n, (1n << 64n) - 1n, ...constants.slice(0, 8).map((c) => BigInt.asUintN(64, c))];
    for (const a of small) for (const b of small) filter.push(make((p) => (p === 1 ? a : p === 2 ? b : 0n)));
  }
  const second: Regs[] = [];
  for (let k = 0; k < 48; k++) second.push(make((p) => (k % 3 === 0 ? pool[(k * 7 + p * 13) % pool.length]! : rnd())));
  const tests: Regs[] = [];
  if (n <= 2) for (const a of pool) for (const b of n === 2 ? pool : [0n]) tests.push(make((p) => (p === 1 ? a : b)));
  else for (const a of pool) tests.push(make((p) => (p === 1 ? a : rnd())), make((p) => (p === 2 ? a : rnd())), make((p) => (p === 3 ? a : rnd())));
  for (let k = 0; k < 3000; k++) tests.push(make(() => rnd()));
  return { filter, second, tests };
}

/** The immediates candidates may use: the window's constants, simple combinations of them, and common masks and shifts. */
export function immediatePool(insts: readonly WindowInst[]): number[] {
  const cs = insts.flatMap((i) => (i.k !== "neg" && i.imm !== undefined ? [i.imm] : []));
  const out = new Set<number>([0, 1, -1, 0xff, 0xffff, 32]);
  const fits = (x: number): boolean => Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31;
  for (const c of cs) for (const x of [c, -c, ~c, c - 1, c + 1, 2 ** 31 - 1]) if (fits(x)) out.add(x);
  for (const a of cs)
    for (const b of cs) {
      for (const x of [a + b, a - b, a & b, a | b, a ^ b]) if (fits(x)) out.add(x);
      if (b >= 0 && b < 32) for (const x of [a << b, a >> b, a >>> b]) if (fits(x)) out.add(x | 0);
      if (b >= 0 && b < 64 && a >= 0 && a < 64) out.add(Math.abs(a - b));
    }
  return [...out].sort((a, b) => a - b);
}

const OPS: readonly AluBinaryOp[] = ["mov", "add", "sub", "mul", "and", "or", "xor", "lsh", "rsh", "arsh"];
const CONDS: readonly JmpCondOp[] = ["jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"];

/** ALU instructions writing one of `dsts`, over registers 1..n and immediates `imms` (register shift amounts excluded). */
function aluVocabulary(n: number, dsts: readonly number[], imms: readonly number[]): WindowInst[] {
  const out: WindowInst[] = [];
  for (const w of [64, 32] as const)
    for (const dst of dsts) {
      out.push({ k: "neg", w, dst });
      for (const op of OPS) {
        const shift = op === "lsh" || op === "rsh" || op === "arsh";
        if (!shift) for (let src = 1; src <= n; src++) if (src !== dst || (op !== "mov" && op !== "and" && op !== "or") || w === 32) out.push({ k: "alu", op, w, dst, src });
        for (const imm of imms) if (!shift || (imm > 0 && imm < w)) out.push({ k: "alu", op, w, dst, imm });
      }
    }
  return out;
}

/** Conditional jumps over registers 1..n and immediates `imms`. */
function jumpVocabulary(n: number, imms: readonly number[]): WindowInst[] {
  const out: WindowInst[] = [];
  for (const w of [64, 32] as const)
    for (const op of CONDS)
      for (let a = 1; a <= n; a++) {
        for (let b = 1; b <= n; b++) if (b !== a) out.push({ k: "jcc", op, w, a, b, target: 0 });
        for (const imm of imms) out.push({ k: "jcc", op, w, a, imm, target: 0 });
      }
  return out;
}

/** A rewrite found for a window (not yet proved). */
export interface Candidate {
  replace: WindowInst[];
  /** Pattern registers that must be dead after the window. */
  dead: number[];
  /** Preconditions the rewrite needs (`[p, bits]`: rp < 2^bits before the window). */
  narrow: [number, number][];
}

/** Statistics of one window's search. */
export interface SearchStats {
  tried: number;
  passedFilter: number;
  passedTests: number;
  /** The time budget ran out before every candidate was tried. */
  timedOut?: boolean;
}

/**
 * Searches the sequences shorter than `window` (at most `maxLength` instructions) for
 * one that agrees with it on the registers in `liveOut` and on its jump, on every test
 * vector; returns the shortest (the first found among equals) and the statistics. The
 * proof is the caller's ({@link proofQuery}).
 */
export function searchWindow(
  window: readonly WindowInst[],
  liveOut: readonly number[],
  narrow: readonly (readonly [number, number])[],
  maxLength = 2,
  accept: (c: Candidate) => boolean = () => true,
  budgetMs = 30_000,
): { found?: Candidate; stats: SearchStats } {
  const deadline = performance.now() + budgetMs;
  const n = Math.max(0, ...window.flatMap((i) => (i.k === "jcc" ? [i.a, i.b ?? 0] : i.k === "alu" ? [i.dst, i.src ?? 0] : [i.dst])));
  const { writes } = readsWrites(window);
  const live = new Set(liveOut);
  const outputs = writes.filter((r) => live.has(r));
  const free = Array.from({ length: n }, (_, k) => k + 1).filter((r) => !live.has(r) || outputs.includes(r));
  const jump = window[window.length - 1]!.k === "jcc";
  const imms = immediatePool(window);
  const constants = imms.map((c) => BigInt(c));
  const { filter, second, tests } = vectors(n, constants, narrow, jump);
  const stats: SearchStats = { tried: 0, passedFilter: 0, passedTests: 0 };
  const expect = (vs: Regs[]) => vs.map((v) => run(window, v));
  const wantFilter = expect(filter);
  let wantSecond: ReturnType<typeof expect> | undefined;
  let wantTests: ReturnType<typeof expect> | undefined;
  const agrees = (c: readonly WindowInst[], vs: Regs[], want: ReturnType<typeof expect>): boolean => {
    for (let k = 0; k < vs.length; k++) {
      const got = run(c, vs[k]!);
      if (got.taken !== want[k]!.taken) return false;
      for (const r of liveOut) if (got.regs[r] !== want[k]!.regs[r]) return false;
    }
    return true;
  };
  const check = (c: WindowInst[]): Candidate | undefined => {
    stats.tried++;
    if (!agrees(c, filter, wantFilter)) return undefined;
    stats.passedFilter++;
    if (!agrees(c, second, (wantSecond ??= expect(second)))) return undefined;
    if (!agrees(c, tests, (wantTests ??= expect(tests)))) return undefined;
    stats.passedTests++;
    const cw = readsWrites(c).writes;
    const dead = [...new Set([...writes, ...cw])].filter((r) => !live.has(r)).sort();
    const candidate: Candidate = { replace: c, dead, narrow: narrow.map(([p, b]) => [p, b] as [number, number]) };
    return accept(candidate) ? candidate : undefined;
  };
  const alus = aluVocabulary(n, free, imms);
  const jumps = jump ? jumpVocabulary(n, imms) : [];
  const limit = Math.min(maxLength, window.length - 1);
  const liveList = [...live];
  // The filter, fast: registers after a prefix are computed once per prefix; a prefix that
  // leaves two live registers wrong cannot be fixed by one more instruction, and one that
  // leaves one wrong only by an instruction writing it.
  const quick = (states: Regs[], last: WindowInst): boolean => {
    for (let k = 0; k < states.length; k++) {
      const st = states[k]!;
      const want = wantFilter[k]!;
      if (last.k === "jcc") {
        const b = last.b !== undefined ? st[last.b]! : BigInt.asUintN(64, BigInt(last.imm!));
        if (compare(last.op, last.w, st[last.a]!, b) !== want.taken) return false;
      } else if (step(last, st) !== want.regs[last.dst] && live.has(last.dst)) return false;
    }
    return true;
  };
  const wrongAfter = (states: Regs[]): Set<number> => {
    const wrong = new Set<number>();
    states.forEach((st, k) => {
      for (const r of liveList) if (st[r] !== wantFilter[k]!.regs[r]) wrong.add(r);
    });
    return wrong;
  };
  for (let len = jump ? 1 : 0; len <= limit; len++) {
    if (len === 0) {
      const found = check([]);
      if (found) return { found, stats };
      continue;
    }
    const prefixLen = len - 1;
    if (prefixLen > 1) continue;
    const prefixes: WindowInst[][] = prefixLen === 0 ? [[]] : alus.map((i) => [i]);
    for (const prefix of prefixes) {
      if (performance.now() > deadline) {
        stats.timedOut = true;
        return { stats };
      }
      const states = filter.map((v) => run(prefix, v).regs);
      const wrong = wrongAfter(states);
      if (jump ? wrong.size > 0 : wrong.size > 1) {
        stats.tried += jump ? jumps.length : alus.length;
        continue;
      }
      const lasts = jump ? jumps : wrong.size === 1 ? alus.filter((i) => i.k !== "jcc" && wrong.has(i.dst)) : alus;
      for (const last of lasts) {
        stats.tried++;
        if (!quick(states, last)) continue;
        stats.tried--;
        const found = check([...prefix, last]);
        if (found) return { found, stats };
      }
    }
  }
  return { stats };
}

/** The SMT-LIB query whose `unsat` proves `candidate` equal to `window` (see semantics.ts). */
export function proofQuery(window: readonly WindowInst[], candidate: Candidate): string {
  const n = Math.max(0, ...[...window, ...candidate.replace].flatMap((i) => (i.k === "jcc" ? [i.a, i.b ?? 0] : i.k === "alu" ? [i.dst, i.src ?? 0] : [i.dst])));
  return equivalenceQuery(window, candidate.replace, n, candidate.dead, candidate.narrow);
}
