// The superoptimizer's rule table (superopt-rules.ts, made by `npm run superopt`) and its
// matcher (superopt.ts). Every rule is re-checked here, independently of the search's own
// evaluator and of z3: its window and its rewrite are assembled and run in the eBPF VM
// (vm.ts) on boundary and random inputs that meet its preconditions, and must agree on
// every register the rule does not declare dead and on the jump. The table's safety
// conditions are checked too (shorter, scalar inputs), and the matcher is checked to apply
// a rule only where its dead registers are dead and its preconditions are known.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { asmInsn, asmJump, asmLabel, assemble, exit, fromInsn, lddw, ldxMem, mov64Reg, parseInsn, printInsn, type AsmItem } from "../src/index.js";
import type { MBlock, MFunction, MInst } from "../src/mir.js";
import { readsWrites, ruleNumbers, scalarInputs, superoptimize, toInsn, unmatchedImmediate, type WindowInst } from "../src/superopt.js";
import { SUPEROPT_RULES, type SuperoptRule } from "../src/superopt-rules.js";
import { runVm } from "./vm.js";

const parse = (text: string): WindowInst[] => (text === "" ? [] : text.split("; ").map((t) => fromInsn(parseInsn(t))));
const regCount = (r: SuperoptRule): number =>
  Math.max(0, ...[...parse(r.find), ...parse(r.replace)].flatMap((i) => (i.k === "jcc" ? [i.a, i.b ?? 0] : i.k === "alu" ? [i.dst, i.src ?? 0] : [i.dst])));

/**
 * `text` (pattern registers r1..rn are the machine's r1..rn) as a program that loads its
 * inputs from the context (8 bytes each), runs, and returns register `out` after it (0:
 * whether its final jump was taken, as 1/0). Assembled once, run per input.
 */
function windowProgram(text: string, n: number, out: number): (inputs: readonly bigint[]) => bigint {
  const items: AsmItem[] = [asmInsn(mov64Reg(0, 1))];
  for (let p = n; p >= 1; p--) items.push(asmInsn(ldxMem("DW", p, 0, 8 * (p - 1))));
  for (const insn of text === "" ? [] : text.split("; ").map((t) => parseInsn(t))) {
    items.push((insn.code & 0x07) === 0x05 || (insn.code & 0x07) === 0x06 ? asmJump(insn, "taken") : asmInsn(insn));
  }
  const result = (taken: number): AsmItem[] => (out === 0 ? [asmInsn(lddw(0, BigInt(taken)))] : [asmInsn(mov64Reg(0, out))]);
  items.push(...result(0), asmInsn(exit()), asmLabel("taken"), ...result(1), asmInsn(exit()));
  const { insns, relocations } = assemble(items);
  return (inputs) => {
    const ctx = new Uint8Array(8 * Math.max(1, n));
    const view = new DataView(ctx.buffer);
    inputs.forEach((v, k) => view.setBigUint64(8 * k, v, true));
    return runVm(insns, relocations, { ctx }).r0;
  };
}

const BOUNDARY = [0n, 1n, 0x7fn, 0x80n, 0xffn, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn];

describe("superoptimizer rule table", () => {
  test("has rules, each shorter than its window, with scalar inputs and a jump only where the window has one", () => {
    expect(SUPEROPT_RULES.length).toBeGreaterThan(0);
    for (const r of SUPEROPT_RULES) {
      const find = parse(r.find);
      const replace = parse(r.replace);
      expect(replace.length, r.find).toBeLessThan(find.length);
      expect(scalarInputs(find), r.find).toBe(true);
      expect(find.at(-1)!.k === "jcc", r.find).toBe(replace.at(-1)?.k === "jcc");
      // The rewrite reads nothing the window does not read (it may not depend on a register the window ignores).
      const inputs = readsWrites(find).inputs;
      for (const p of readsWrites(replace).inputs) expect(inputs, `${r.find} => ${r.replace}`).toContain(p);
    }
  });

  test.each(SUPEROPT_RULES.map((r) => [`${r.find}  =>  ${r.replace || "(nothing)"}`, r] as const))("%s: equal in the eBPF VM", (_name, rule) => {
    const n = regCount(rule);
    const masks = Array.from({ length: n }, (_, k) => {
      const fact = rule.narrow?.find(([p]) => p === k + 1);
      return fact ? (1n << BigInt(fact[1])) - 1n : (1n << 64n) - 1n;
    });
    const outs = [0, ...Array.from({ length: n }, (_, k) => k + 1).filter((p) => !rule.dead.includes(p))];
    const programs = outs.map((out) => [out, windowProgram(rule.find, n, out), windowProgram(rule.replace, n, out)] as const);
    const agree = (inputs: bigint[]): void => {
      const xs = inputs.map((v, k) => v & masks[k]!);
      for (const [out, find, replace] of programs) expect(replace(xs), `r${out} from ${xs.map((x) => x.toString(16))}`).toBe(find(xs));
    };
    // Boundary values: every pair for the first two inputs (with n <= 2), each value in every position otherwise.
    if (n <= 2) for (const a of BOUNDARY) for (const b of n > 1 ? BOUNDARY : [0n]) agree([a, b].slice(0, n));
    else for (const a of BOUNDARY) for (let p = 0; p < n; p++) agree(Array.from({ length: n }, (_, k) => (k === p ? a : BOUNDARY[(k * 5 + p) % BOUNDARY.length]!)));
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: n, maxLength: n }), (xs) => agree(xs)),
      { numRuns: 50, seed: 16 },
    );
  });
});

describe("superoptimizer matcher", () => {
  const alu = (op: Extract<MInst, { k: "alu" }>["op"], dst: number, imm: number, w: 32 | 64 = 64): MInst => ({ k: "alu", op, w, dst, imm });
  const fn = (insts: MInst[]): MFunction => ({ name: "f", slots: [], nextVReg: 100, blocks: [{ index: 0, insts, succs: [], loopDepth: 0 } satisfies MBlock] });
  const rule: SuperoptRule = { find: "r1 <<= 0x38; r1 s>>= 0x38; if r1 == 0x0 goto +0x0", replace: "r1 &= 0xff; if r1 == 0x0 goto +0x0", dead: [1] };
  const window = (r: number): MInst[] => [alu("lsh", r, 56), alu("arsh", r, 56), { k: "jcc", op: "jeq", w: 64, a: r, imm: 0, target: 1 }];

  test("a rule applies where its dead registers are dead, with the window's registers and jump target", () => {
    const mf = fn([...window(3), alu("mov", 0, 0), { k: "exit" }]);
    mf.blocks.push({ index: 1, insts: [alu("mov", 0, 1), { k: "exit" }], succs: [], loopDepth: 0 });
    mf.blocks[0]!.succs = [1];
    expect(superoptimize(mf, { rules: [rule] })).toBe(1);
    expect(mf.blocks[0]!.insts.slice(0, 2)).toEqual([alu("and", 3, 0xff), { k: "jcc", op: "jeq", w: 64, a: 3, imm: 0, target: 1 }]);
  });

  test("nothing changes where a dead register of the rule is live after the window (here on the jump's target)", () => {
    const mf = fn([...window(3), alu("mov", 0, 0), { k: "exit" }]);
    mf.blocks.push({ index: 1, insts: [{ k: "alu", op: "mov", w: 64, dst: 0, src: 3 }, { k: "exit" }], succs: [], loopDepth: 0 });
    mf.blocks[0]!.succs = [1];
    expect(superoptimize(mf, { rules: [rule] })).toBe(0);
    expect(mf.blocks[0]!.insts.slice(0, 3)).toEqual(window(3));
  });

  test("a rule whose rewrite needs a later -mcpu than the target's is skipped (jle is v2, JMP32 v3)", () => {
    const jle: SuperoptRule = { find: "r1 >>= 0x1f; if r1 == 0x0 goto +0x0", replace: "if r1 <= 0x7fffffff goto +0x0", dead: [1] };
    const make = (): MFunction => {
      const mf = fn([alu("rsh", 2, 31), { k: "jcc", op: "jeq", w: 64, a: 2, imm: 0, target: 1 }, alu("mov", 0, 0), { k: "exit" }]);
      mf.blocks.push({ index: 1, insts: [alu("mov", 0, 1), { k: "exit" }], succs: [], loopDepth: 0 });
      mf.blocks[0]!.succs = [1];
      return mf;
    };
    expect(superoptimize(make(), { rules: [jle], cpu: 1 })).toBe(0);
    expect(superoptimize(make(), { rules: [jle], cpu: 2 })).toBe(1);
  });

  test("a rule with a precondition applies only where the block's code before the window establishes it", () => {
    const narrowRule: SuperoptRule = { find: "r1 >>= 0x8; r1 &= 0xff", replace: "r1 >>= 0x8", dead: [], narrow: [[1, 16]] };
    const tail: MInst[] = [{ k: "alu", op: "mov", w: 64, dst: 0, src: 2 }, { k: "exit" }];
    const known = fn([{ k: "ldx", size: "H", dst: 2, addr: { base: 1, off: 0 } }, alu("rsh", 2, 8), alu("and", 2, 0xff), ...tail]);
    expect(superoptimize(known, { rules: [narrowRule] })).toBe(1);
    expect(known.blocks[0]!.insts[1]).toEqual(alu("rsh", 2, 8));
    const unknown = fn([{ k: "ldx", size: "W", dst: 2, addr: { base: 1, off: 0 } }, alu("rsh", 2, 8), alu("and", 2, 0xff), ...tail]);
    expect(superoptimize(unknown, { rules: [narrowRule] })).toBe(0);
  });
});

describe("superoptimizer matcher: immediates no rule names", () => {
  const numbers = ruleNumbers(SUPEROPT_RULES);
  const texts = new Set(SUPEROPT_RULES.flatMap((r) => r.find.split("; ")));

  test("every immediate of a rule's window instruction is among the rules' numbers", () => {
    for (const text of texts) expect(numbers.has(parseInsn(text).imm | 0), text).toBe(true);
  });

  test("a window instruction whose immediate is not among them prints as no rule's instruction (the walk may stop there)", () => {
    const ruleImms = [...numbers];
    const imm = fc.oneof(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.constantFrom(...ruleImms), fc.constantFrom(...ruleImms).map((v) => (v + 1) | 0));
    const reg = fc.integer({ min: 1, max: 3 });
    const inst: fc.Arbitrary<WindowInst> = fc.oneof(
      fc.record({ k: fc.constant("alu" as const), op: fc.constantFrom("mov", "add", "sub", "mul", "and", "or", "xor", "lsh", "rsh", "arsh"), w: fc.constantFrom(32 as const, 64 as const), dst: reg, imm }),
      fc.record({ k: fc.constant("jcc" as const), op: fc.constantFrom("jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"), w: fc.constantFrom(32 as const, 64 as const), a: reg, imm, target: fc.constant(0) }),
    );
    let unmatched = 0;
    fc.assert(
      fc.property(inst, (i) => {
        if (!unmatchedImmediate(i, numbers)) return;
        unmatched++;
        expect(texts.has(printInsn(toInsn(i, (r) => r)))).toBe(false);
      }),
      { numRuns: 3000 },
    );
    expect(unmatched).toBeGreaterThan(500);
  });
});
