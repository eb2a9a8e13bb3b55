// The backend's stage contracts: it only reads the IR (leaving SSA makes edge blocks in
// the machine code, not in the IR), the operand visitor lists and rewrites the same
// registers, and the ISA table agrees with the platform table on shared numbers.
import fc from "fast-check";
import { Builder, CompileError, i32, i64, Module, printModule, ptrType } from "@luabpf/ir";
import { LDDW_OPCODE } from "@luabpf/platform";
import { describe, expect, test } from "vitest";
import { compileModule, encodeInsns, LDDW_CODE } from "../src/index.js";
import { selectFunction } from "../src/isel.js";
import { FP, operandsOf, visitOperands, type MInst } from "../src/mir.js";
import { genProgram } from "@luabpf/test-support";
import { swapLoop } from "./programs.js";

const compiled = (m: ReturnType<typeof genProgram>): string[] => compileModule(m).map((p) => Buffer.from(encodeInsns(p.insns)).toString("hex"));

describe("the backend does not modify the IR it compiles", () => {
  test("critical edges into phis (a swap loop): the IR prints the same, and compiling again gives the same code", () => {
    const m = swapLoop(3);
    const before = printModule(m);
    const first = compiled(m);
    expect(printModule(m)).toBe(before);
    expect(compiled(m)).toEqual(first);
  });

  test("random programs", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { maxLength: 200 }), (choices) => {
        const m = genProgram(choices);
        const before = printModule(m);
        const first = compiled(m);
        expect(printModule(m)).toBe(before);
        expect(compiled(m)).toEqual(first);
      }),
      { numRuns: 150 },
    );
  });
});

describe("operand visitor", () => {
  /** Every machine instruction of the selected random programs. */
  const instructions = (choices: number[]): MInst[] => selectFunction(genProgram(choices).getFunction("prog")!).blocks.flatMap((b) => b.insts);

  /** The register fields of a machine instruction (every field that names a register). */
  const REGISTER_FIELDS = ["dst", "src", "a", "b", "cond", "t", "f", "index"] as const;
  const registerFields = (i: MInst): number[] => {
    const o = i as unknown as Record<string, unknown>;
    const out = REGISTER_FIELDS.filter((k) => typeof o[k] === "number").map((k) => o[k] as number);
    const addr = o.addr as { base?: number } | undefined;
    if (addr?.base !== undefined && addr.base !== FP) out.push(addr.base);
    return out;
  };

  test("one visit lists and rewrites the same registers: every register field, nothing else", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { maxLength: 200 }), (choices) => {
        for (const inst of instructions(choices)) {
          const listed = operandsOf(inst);
          const copy = structuredClone(inst);
          const seen: number[] = [];
          const shift = (r: number): number => (seen.push(r), r + 1000);
          visitOperands(copy, { use: shift, def: shift, clobber: () => {} });
          // The rewriting visit saw what the collecting visit lists, in the same order.
          expect(seen).toEqual([...listed.uses, ...listed.defs]);
          expect(listed.uses).not.toContain(FP);
          // Every register field was rewritten ...
          for (const r of registerFields(copy)) expect(r).toBeGreaterThanOrEqual(1000);
          // ... and nothing else: shifting back restores the instruction exactly.
          const back = (r: number): number => (r >= 1000 ? r - 1000 : r);
          visitOperands(copy, { use: back, def: back, clobber: () => {} });
          expect(copy).toEqual(inst);
        }
      }),
      { numRuns: 60 },
    );
  });

  test("calls use r1..r{nargs}, define r0 and clobber r1..r5", () => {
    expect(operandsOf({ k: "call", helper: 1, nargs: 2 })).toEqual({ uses: [1, 2], defs: [0], early: false, clobbers: [1, 2, 3, 4, 5] });
    expect(operandsOf({ k: "ldpkt", size: "B", index: 20, imm: 0 })).toEqual({ uses: [6, 20], defs: [0], early: false, clobbers: [1, 2, 3, 4, 5] });
    expect(operandsOf({ k: "alu", op: "add", w: 64, dst: 17, src: 18 })).toEqual({ uses: [17, 18], defs: [17], early: false, clobbers: [] });
    expect(operandsOf({ k: "setcc", op: "jeq", w: 64, dst: 17, a: 18, imm: 3 })).toEqual({ uses: [18], defs: [17], early: true, clobbers: [] });
    expect(operandsOf({ k: "stx", size: "DW", addr: { base: FP, off: -8 }, src: 19 })).toEqual({ uses: [19], defs: [], early: false, clobbers: [] });
  });
});

test("the ISA table's lddw opcode is the platform's", () => {
  expect(LDDW_CODE).toBe(LDDW_OPCODE);
});

test("a program too large for eBPF's 16-bit jump offsets is a located compile error, not an internal one", () => {
  const m = new Module();
  const fn = m.addFunction("big", [ptrType("ctx")], i64);
  fn.program = { section: "tc", type: "sched_cls" };
  const [entry, body, end] = [fn.createBlock(), fn.createBlock(), fn.createBlock()];
  const b = new Builder(fn);
  b.loc = { file: "big.lua", line: 3, column: 5 };
  const x = b.atEnd(entry).load(i32, fn.params[0]!, 0);
  b.condBr(b.compare("eq", x, b.const(0, i32)), body, end);
  b.atEnd(body);
  let v = b.cast("zext", x, i64);
  for (let k = 0; k < 33_000; k++) v = b.add(v, b.const(k));
  b.ret(v);
  b.atEnd(end).ret(b.const(0));
  const error = (() => {
    try {
      compileModule(m);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  expect(error).toBeInstanceOf(CompileError);
  const e = error as CompileError;
  expect(e.kind).toBe("user");
  expect(e.diagnostics[0]).toMatchObject({ message: expect.stringMatching(/^program big is too large: a jump spans \d+ instructions/), location: { file: "big.lua", line: 3, column: 5 } });
});
