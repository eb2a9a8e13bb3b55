/**
 * The meaning of a window for the superoptimizer: a concrete evaluator over 64-bit
 * bigints (for testing candidates) and an SMT-LIB bit-vector encoding (for proving them),
 * both following the kernel's eBPF semantics (Documentation/bpf/standardization/
 * instruction-set.rst): 32-bit ALU results are zero-extended into the 64-bit register,
 * 64-bit immediates are the sign-extended 32-bit field, shift amounts are masked to the
 * operation's width, and JMP32 compares the low halves.
 *
 * Windows use pattern registers 1..n (backend-ebpf superopt.ts); a jump's target is not
 * part of its meaning, only whether it is taken.
 */
import type { JmpCondOp, WindowInst } from "@luabpf/backend-ebpf";

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;

/** Registers r1..rn of a window (index 0 unused). */
export type Regs = bigint[];

/** The outcome of running a window: the registers after it, and whether its final jump is taken. */
export interface Outcome {
  regs: Regs;
  taken: boolean | undefined;
}

/** Runs `insts` from `regs` (not modified). */
export function run(insts: readonly WindowInst[], regs: Regs): Outcome {
  const r = regs.slice();
  let taken: boolean | undefined;
  for (const i of insts) {
    if (i.k === "jcc") {
      const b = i.b !== undefined ? r[i.b]! : BigInt.asUintN(64, BigInt(i.imm!));
      taken = compare(i.op, i.w, r[i.a]!, b);
    } else r[i.dst] = step(i, r);
  }
  return { regs: r, taken };
}

/** The value an ALU instruction writes to its destination. */
export function step(i: Extract<WindowInst, { k: "alu" | "neg" }>, r: Regs): bigint {
  const mask = i.w === 64 ? M64 : M32;
  const a = r[i.dst]! & mask;
  if (i.k === "neg") return -a & mask;
  const b = (i.src !== undefined ? r[i.src]! : BigInt.asUintN(64, BigInt(i.imm!))) & mask;
  const bits = BigInt(i.w);
  const shift = b & (bits - 1n);
  switch (i.op) {
    case "mov": return b;
    case "add": return (a + b) & mask;
    case "sub": return (a - b) & mask;
    case "mul": return (a * b) & mask;
    case "and": return a & b;
    case "or": return a | b;
    case "xor": return a ^ b;
    case "lsh": return (a << shift) & mask;
    case "rsh": return a >> shift;
    case "arsh": return BigInt.asUintN(i.w, BigInt.asIntN(i.w, a) >> shift);
    default:
      throw new Error(`superopt semantics: no meaning for ${i.op}`);
  }
}

/** Does the jump condition `a op b` hold at width `w`? */
export function compare(op: JmpCondOp, w: 32 | 64, a: bigint, b: bigint): boolean {
  if (w === 32) {
    a &= M32;
    b &= M32;
  }
  const sa = BigInt.asIntN(w, a);
  const sb = BigInt.asIntN(w, b);
  switch (op) {
    case "jeq": return a === b;
    case "jne": return a !== b;
    case "jgt": return a > b;
    case "jge": return a >= b;
    case "jlt": return a < b;
    case "jle": return a <= b;
    case "jsgt": return sa > sb;
    case "jsge": return sa >= sb;
    case "jslt": return sa < sb;
    case "jsle": return sa <= sb;
    case "jset": return (a & b) !== 0n;
  }
}

// ---- SMT-LIB (QF_BV) ----

const hex64 = (x: bigint): string => `#x${BigInt.asUintN(64, x).toString(16).padStart(16, "0")}`;
const lo = (e: string): string => `((_ extract 31 0) ${e})`;
const zext = (e: string): string => `((_ zero_extend 32) ${e})`;

const SMT_ALU: Record<string, string> = { add: "bvadd", sub: "bvsub", mul: "bvmul", and: "bvand", or: "bvor", xor: "bvxor", lsh: "bvshl", rsh: "bvlshr", arsh: "bvashr" };
const SMT_CMP: Record<Exclude<JmpCondOp, "jne" | "jset">, string> = {
  jeq: "=", jgt: "bvugt", jge: "bvuge", jlt: "bvult", jle: "bvule", jsgt: "bvsgt", jsge: "bvsge", jslt: "bvslt", jsle: "bvsle",
};

/**
 * The window as SMT-LIB definitions over the inputs `in1..inN` (64-bit bit-vectors):
 * `${prefix}_r${p}` is register p after it, `${prefix}_taken` its jump's condition.
 */
export function encode(insts: readonly WindowInst[], n: number, prefix: string): string {
  const lines: string[] = [];
  const cur: string[] = [];
  for (let p = 1; p <= n; p++) cur[p] = `in${p}`;
  let version = 0;
  let taken: string | undefined;
  for (const i of insts) {
    if (i.k === "jcc") {
      const a = i.w === 64 ? cur[i.a]! : lo(cur[i.a]!);
      const b64 = i.b !== undefined ? cur[i.b]! : hex64(BigInt(i.imm!));
      const b = i.w === 64 ? b64 : lo(b64);
      taken = i.op === "jne" ? `(not (= ${a} ${b}))` : i.op === "jset" ? `(not (= (bvand ${a} ${b}) ${i.w === 64 ? "#x0000000000000000" : "#x00000000"}))` : `(${SMT_CMP[i.op]} ${a} ${b})`;
      continue;
    }
    const a64 = cur[i.dst]!;
    let value: string;
    if (i.k === "neg") value = i.w === 64 ? `(bvneg ${a64})` : zext(`(bvneg ${lo(a64)})`);
    else {
      const b64 = i.src !== undefined ? cur[i.src]! : hex64(BigInt(i.imm!));
      if (i.op === "mov") value = i.w === 64 ? b64 : zext(lo(b64));
      else if (i.w === 64) {
        const b = i.op === "lsh" || i.op === "rsh" || i.op === "arsh" ? `(bvand ${b64} #x000000000000003f)` : b64;
        value = `(${SMT_ALU[i.op]} ${a64} ${b})`;
      } else {
        const b = i.op === "lsh" || i.op === "rsh" || i.op === "arsh" ? `(bvand ${lo(b64)} #x0000001f)` : lo(b64);
        value = zext(`(${SMT_ALU[i.op]} ${lo(a64)} ${b})`);
      }
    }
    const name = `${prefix}_v${version++}`;
    lines.push(`(define-fun ${name} () (_ BitVec 64) ${value})`);
    cur[i.dst] = name;
  }
  for (let p = 1; p <= n; p++) lines.push(`(define-fun ${prefix}_r${p} () (_ BitVec 64) ${cur[p]})`);
  lines.push(`(define-fun ${prefix}_taken () Bool ${taken ?? "false"})`);
  return lines.join("\n");
}

/**
 * An SMT-LIB query that is unsatisfiable exactly when `a` and `b` agree on every register
 * outside `dead` and on their jump, for all inputs that satisfy the `narrow` preconditions
 * (`[p, bits]`: rp < 2^bits): `unsat` is the proof of the rewrite.
 */
export function equivalenceQuery(a: readonly WindowInst[], b: readonly WindowInst[], n: number, dead: readonly number[], narrow: readonly (readonly [number, number])[] = []): string {
  const decls = Array.from({ length: n }, (_, k) => `(declare-const in${k + 1} (_ BitVec 64))`);
  // Preconditions: rp < 2^bits.
  for (const [p, bits] of narrow) decls.push(`(assert (bvult in${p} ${hex64(1n << BigInt(bits))}))`);
  const differs = [`(not (= a_taken b_taken))`];
  for (let p = 1; p <= n; p++) if (!dead.includes(p)) differs.push(`(not (= a_r${p} b_r${p}))`);
  return ["(set-logic QF_BV)", ...decls, encode(a, n, "a"), encode(b, n, "b"), `(assert (or ${differs.join(" ")}))`, "(check-sat)", ""].join("\n");
}
