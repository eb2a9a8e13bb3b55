// The register allocator on a toy target with 2–4 registers: forced spills, coalescing,
// call clobbers, fixed and tied constraints, spill-slot sharing; every allocation is
// proved by the independent checker, which must also refute corrupted allocations.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  allocateIrc,
  allocateLinearScan,
  allocatorFor,
  checkAllocation,
  LINEAR_SCAN_THRESHOLD,
  packFunction,
  PACKED_DEF,
  PACKED_EARLY,
  PACKED_FIXED,
  PACKED_PHYSICAL,
  PACKED_REUSE,
  RegAllocCheckError,
  RegAllocError,
  type Operand,
  type RegAllocBlock,
  type RegAllocFunction,
  type RegAllocInst,
  type RegAllocOutput,
  type RegAllocTarget,
} from "../src/regalloc/index.js";
import { intervalOrder } from "../src/regalloc/linear-scan.js";
import { colourSpillSlots } from "../src/regalloc/spill-slots.js";
import { IntVec, LinkedLists, SparseSet } from "../src/regalloc/structures.js";
import { buildProgram, ITEM_INST, ITEM_RELOAD, ITEM_SPILL, ItemWriter, liveOutSets, OP_DEF, POS_AFTER, POS_BEFORE, POS_INST, programLiveOut, rewriteSpills, type Program } from "../src/regalloc/program.js";

/** A toy machine: `n` registers; calls take arguments in p0, p1, return in p0 and clobber p0, p1. */
const toy = (n: number): RegAllocTarget => ({
  name: `toy${n}`,
  numRegs: n,
  allocatable: Array.from({ length: n }, (_, i) => i),
  regName: (r) => `p${r}`,
});

const any = { kind: "any" } as const;
const use = (vreg: number): Operand => ({ kind: "use", vreg, constraint: any });
const def = (vreg: number, early = false): Operand => ({ kind: "def", vreg, constraint: any, early });
const fixedUse = (vreg: number, reg: number): Operand => ({ kind: "use", vreg, constraint: { kind: "fixed", reg } });
const fixedDef = (vreg: number, reg: number): Operand => ({ kind: "def", vreg, constraint: { kind: "fixed", reg } });
const tiedDef = (vreg: number, operand: number): Operand => ({ kind: "def", vreg, constraint: { kind: "reuse", operand } });
const pUse = (preg: number): Operand => ({ kind: "use", preg });
const pDef = (preg: number): Operand => ({ kind: "def", preg });
const inst = (operands: Operand[], clobbers: number[] = []): RegAllocInst => ({ operands, clobbers, copy: false });
const copy = (dst: number, src: number): RegAllocInst => ({ operands: [use(src), def(dst)], clobbers: [], copy: true });
/** `dst op= src` in the tied two-address form the eBPF backend uses. */
const twoAddr = (dst: number, src: number): RegAllocInst => inst([use(dst), use(src), tiedDef(dst, 0)]);
const konst = (dst: number): RegAllocInst => inst([def(dst)]);
const branch = (...vs: number[]): RegAllocInst => inst(vs.map(use));
const ret = (v: number): RegAllocInst => inst([fixedUse(v, 0)]);
const block = (insts: RegAllocInst[], succs: number[] = [], loopDepth = 0): RegAllocBlock => ({ insts, succs, loopDepth });

/** An output's object form as a plain object (to corrupt; the allocators' outputs build it on first read). */
const plain = (out: RegAllocOutput): RegAllocOutput => ({ numSpillSlots: out.numSpillSlots, stats: out.stats, allocs: out.allocs, edits: out.edits });

/** Allocates and checks; returns the output. */
function allocate(fn: RegAllocFunction, target: RegAllocTarget): RegAllocOutput {
  const out = allocateIrc(fn, target);
  checkAllocation(fn, target, out);
  return out;
}

describe("toy target", () => {
  test("no pressure: no spills, copies coalesced", () => {
    // v0 = k; v1 = v0 (copy); v1 += v0; ret v1
    const fn: RegAllocFunction = { numVRegs: 2, blocks: [block([konst(0), copy(1, 0), twoAddr(1, 0), ret(1)])] };
    const out = allocate(fn, toy(4));
    expect(out.stats.spills).toBe(0);
    expect(out.numSpillSlots).toBe(0);
    // v1 and v0 interfere (both live at the add), so the copy stays; the return move is coalesced.
    expect(out.edits).toEqual([]);
    expect(out.allocs[3]).toEqual([{ kind: "reg", reg: 0 }]);
  });

  test("a copy between non-interfering values is coalesced and removed", () => {
    const fn: RegAllocFunction = { numVRegs: 3, blocks: [block([konst(0), copy(1, 0), copy(2, 1), ret(2)])] };
    const out = allocate(fn, toy(2));
    expect(out.stats.copiesRemoved).toBe(2);
    expect(out.allocs[1]![0]).toEqual(out.allocs[1]![1]);
    expect(out.stats.copiesCoalesced).toBeGreaterThanOrEqual(2);
  });

  test("more live values than registers: spills, reloads, and the checker agrees", () => {
    // Five values live at once on a 3-register machine, summed at the end.
    const n = 5;
    const insts: RegAllocInst[] = [];
    for (let v = 0; v < n; v++) insts.push(konst(v));
    for (let v = 1; v < n; v++) insts.push(twoAddr(0, v));
    insts.push(ret(0));
    const fn: RegAllocFunction = { numVRegs: n, blocks: [block(insts)] };
    const out = allocate(fn, toy(3));
    expect(out.stats.spills).toBeGreaterThan(0);
    expect(out.stats.reloads).toBeGreaterThan(0);
    expect(out.stats.spilledVRegs).toBeGreaterThanOrEqual(2);
    expect(out.edits.some((e) => e.reason === "reload" && e.to.kind === "reg")).toBe(true);
  });

  test("spill slots are shared by values whose lifetimes do not overlap", () => {
    // Two phases; in each, 4 values live at once on a 2-register machine.
    const insts: RegAllocInst[] = [];
    for (const base of [0, 4]) {
      for (let v = base; v < base + 4; v++) insts.push(konst(v));
      for (let v = base + 1; v < base + 4; v++) insts.push(twoAddr(base, v));
      insts.push(inst([use(base)]));
    }
    insts.push(inst([]));
    const fn: RegAllocFunction = { numVRegs: 8, blocks: [block(insts)] };
    const out = allocate(fn, toy(2));
    expect(out.stats.spilledVRegs).toBeGreaterThanOrEqual(4);
    expect(out.numSpillSlots).toBeLessThan(out.stats.spilledVRegs);
  });

  test("values live across a call avoid the clobbered registers", () => {
    // v0, v1 live across call(p0 = v2) which clobbers p0, p1; 4 registers: v0, v1 go to p2, p3.
    const call = inst([pUse(0), pDef(0)], [1]);
    const fn: RegAllocFunction = {
      numVRegs: 4,
      // The argument copy writes p0 directly; the call reads it.
      blocks: [block([konst(0), konst(1), konst(2), copy(3, 2), { operands: [use(3), pDef(0)], clobbers: [], copy: true }, call, twoAddr(0, 1), ret(0)])],
    };
    const out = allocate(fn, toy(4));
    expect(out.stats.spills).toBe(0);
    const regsOf = (v: number) => new Set(fn.blocks[0]!.insts.slice(0, 7).flatMap((i, k) => i.operands.map((o, j) => ("vreg" in o && o.vreg === v ? out.allocs[k]![j] : undefined))).filter((a) => a).map((a) => JSON.stringify(a)));
    for (const v of [0, 1]) for (const a of regsOf(v)) expect([JSON.stringify({ kind: "reg", reg: 2 }), JSON.stringify({ kind: "reg", reg: 3 })]).toContain(a);
  });

  test("a call with more live values than preserved registers spills them around it", () => {
    // Three values live across a call on a 3-register machine whose calls clobber p0, p1.
    const call = inst([pDef(0)], [1]);
    const fn: RegAllocFunction = {
      numVRegs: 3,
      blocks: [block([konst(0), konst(1), konst(2), call, twoAddr(0, 1), twoAddr(0, 2), ret(0)])],
    };
    const out = allocate(fn, toy(3));
    expect(out.stats.spilledVRegs).toBe(2);
  });

  test("fixed constraints become moves, reuse constraints with different vregs become copies", () => {
    // v1 = v0 op v2 with v1 tied to operand 0 (a different vreg), v2 fixed in p1.
    const fn: RegAllocFunction = {
      numVRegs: 4,
      blocks: [block([konst(0), konst(2), inst([use(0), fixedUse(2, 1), tiedDef(1, 0)]), inst([use(1), fixedDef(3, 1)]), twoAddr(3, 0), ret(3)])],
    };
    const out = allocate(fn, toy(3));
    expect(out.allocs[2]![1]).toEqual({ kind: "reg", reg: 1 });
    expect(out.allocs[2]![2]).toEqual(out.allocs[2]![0]);
    expect(out.allocs[3]![1]).toEqual({ kind: "reg", reg: 1 });
  });

  test("a tied def whose old value is read by another operand goes through a temporary", () => {
    // v1 = v0 - v1, v1 tied to operand 0 (v0): v1's old value must survive until the instruction.
    const fn: RegAllocFunction = {
      numVRegs: 2,
      blocks: [block([konst(0), konst(1), inst([use(0), use(1), tiedDef(1, 0)]), twoAddr(1, 0), ret(1)])],
    };
    allocate(fn, toy(3));
  });

  test("early defs do not share a register with uses", () => {
    const fn: RegAllocFunction = { numVRegs: 3, blocks: [block([konst(0), konst(1), inst([use(0), use(1), def(2, true)]), ret(2)])] };
    const out = allocate(fn, toy(3));
    const [a, b, d] = out.allocs[2]!;
    expect(d).not.toEqual(a);
    expect(d).not.toEqual(b);
  });

  test("too many simultaneous operands is a RegAllocError", () => {
    const fn: RegAllocFunction = { numVRegs: 3, blocks: [block([konst(0), konst(1), konst(2), branch(0, 1, 2), inst([])])] };
    expect(() => allocateIrc(fn, toy(2))).toThrow(RegAllocError);
  });

  test("a loop: the loop-carried values stay in registers, the cold one is spilled", () => {
    // bb0: v3 = k (cold, used after the loop); v0..v2 = k
    // bb1 (loop, depth 1): v0 += v1; v1 += v2; branch v0 → bb1 | bb2
    // bb2: v0 += v3; ret v0
    const fn: RegAllocFunction = {
      numVRegs: 4,
      blocks: [
        block([konst(3), konst(0), konst(1), konst(2), inst([])], [1]),
        block([twoAddr(0, 1), twoAddr(1, 2), branch(0), inst([])], [1, 2], 1),
        block([twoAddr(0, 3), ret(0)]),
      ],
    };
    const out = allocate(fn, toy(3));
    expect(out.stats.spilledVRegs).toBe(1);
    // No memory traffic inside the loop.
    expect(out.edits.filter((e) => e.inst >= 5 && e.inst <= 8)).toEqual([]);
  });
});

describe("checker", () => {
  const pressure = (): RegAllocFunction => {
    const insts: RegAllocInst[] = [];
    for (let v = 0; v < 5; v++) insts.push(konst(v));
    for (let v = 1; v < 5; v++) insts.push(twoAddr(0, v));
    insts.push(ret(0));
    return { numVRegs: 5, blocks: [block(insts)] };
  };

  test("refutes a use reading the wrong register", () => {
    const fn: RegAllocFunction = { numVRegs: 2, blocks: [block([konst(0), konst(1), twoAddr(0, 1), ret(0)])] };
    const out = allocate(fn, toy(3));
    const bad = structuredClone(plain(out));
    const src = bad.allocs[2]![1]!;
    bad.allocs[2]![1] = src.kind === "reg" ? { kind: "reg", reg: (src.reg + 1) % 3 } : src;
    expect(() => checkAllocation(fn, toy(3), bad)).toThrow(RegAllocCheckError);
    expect(() => checkAllocation(fn, toy(3), bad)).toThrow(/reads v1 from p/);
  });

  test("refutes a dropped reload", () => {
    const fn = pressure();
    const out = allocate(fn, toy(3));
    const k = out.edits.findIndex((e) => e.reason === "reload");
    expect(k).toBeGreaterThanOrEqual(0);
    const bad = { ...plain(out), edits: out.edits.filter((_, i) => i !== k) };
    expect(() => checkAllocation(fn, toy(3), bad)).toThrow(RegAllocCheckError);
  });

  test("refutes two values sharing a spill slot while both are live", () => {
    const fn = pressure();
    const out = allocate(fn, toy(3));
    const slots = new Set(out.edits.flatMap((e) => [e.from, e.to]).filter((a) => a.kind === "stack").map((a) => (a as { slot: number }).slot));
    if (slots.size < 2) return; // nothing to merge
    const bad = structuredClone(plain(out));
    for (const e of bad.edits) for (const a of [e.from, e.to]) if (a.kind === "stack") a.slot = 0;
    expect(() => checkAllocation(fn, toy(3), bad)).toThrow(RegAllocCheckError);
  });

  test("refutes a value kept in a register clobbered by a call", () => {
    const fn: RegAllocFunction = { numVRegs: 1, blocks: [block([konst(0), inst([pDef(0)], [1]), ret(0)])] };
    const out = allocate(fn, toy(3));
    const bad = structuredClone(plain(out));
    bad.allocs[0]![0] = { kind: "reg", reg: 1 };
    bad.edits = [{ inst: 2, pos: "before", from: { kind: "reg", reg: 1 }, to: { kind: "reg", reg: 0 }, reason: "constraint" }];
    expect(() => checkAllocation(fn, toy(3), bad)).toThrow(/reads v0/);
  });

  test("refutes a broken constraint and an early def sharing a use's register", () => {
    const fn: RegAllocFunction = { numVRegs: 3, blocks: [block([konst(0), konst(1), inst([use(0), use(1), def(2, true)]), ret(2)])] };
    const out = allocate(fn, toy(3));
    const bad = structuredClone(plain(out));
    bad.allocs[2]![2] = bad.allocs[2]![0]!;
    expect(() => checkAllocation(fn, toy(3), bad)).toThrow(/early def/);
    const bad2 = structuredClone(plain(out));
    bad2.allocs[3]![0] = { kind: "reg", reg: 2 };
    expect(() => checkAllocation(fn, toy(3), bad2)).toThrow(/must be in p0/);
  });

  test("a swap through the wrong order of copies is refuted (lost value)", () => {
    // v0 and v1 in p0, p1; the "allocation" claims the swap copies can be done in place.
    const fn: RegAllocFunction = {
      numVRegs: 3,
      blocks: [block([inst([pUse(0), pUse(1), def(0), def(1)]), copy(2, 0), copy(0, 1), copy(1, 2), inst([use(0), use(1)]), inst([])])],
    };
    const out = allocate(fn, toy(3));
    const bad = structuredClone(plain(out));
    // Put the temporary v2 where v1 lives: the third copy then reads a clobbered value.
    bad.allocs[1]![1] = bad.allocs[2]![1]!;
    bad.allocs[3]![0] = bad.allocs[2]![1]!;
    expect(() => checkAllocation(fn, toy(3), bad)).toThrow(RegAllocCheckError);
  });
});

/**
 * Random functions: a structured CFG (straight blocks, diamonds, loops) over a few
 * vregs all defined in the entry (so every use is defined), with ALU, tied, copies,
 * calls (fixed args, clobbers), early defs and fixed defs.
 */
function randomFunction(choices: number[], numRegs: number): RegAllocFunction {
  let pos = 0;
  const below = (n: number): number => (n <= 1 ? 0 : (choices[pos++] ?? 0) % n);
  const V = 2 + below(10);
  const blocks: { insts: RegAllocInst[]; succs: number[]; loopDepth: number }[] = [];
  const newBlock = (depth: number) => (blocks.push({ insts: [], succs: [], loopDepth: depth }), blocks.length - 1);
  const body = (b: number): void => {
    for (let k = below(6); k > 0; k--) {
      const a = below(V);
      const c = below(V);
      switch (below(7)) {
        case 0:
          blocks[b]!.insts.push(twoAddr(a, c));
          break;
        case 1:
          blocks[b]!.insts.push(copy(a, c));
          break;
        case 2:
          blocks[b]!.insts.push(konst(a));
          break;
        case 3: {
          // call: args in p0 (and p1), result to a.
          const args = numRegs >= 3 && below(2) ? [fixedUse(c, 0), fixedUse(below(V), 1)] : [fixedUse(c, 0)];
          blocks[b]!.insts.push(inst([...args, fixedDef(a, 0)], numRegs >= 3 ? [1] : []));
          break;
        }
        case 4:
          if (a !== c) blocks[b]!.insts.push(inst([use(c), def(a, true)]));
          break;
        case 5:
          blocks[b]!.insts.push(inst([use(a), use(c), tiedDef(below(V), 0)]));
          break;
        default:
          blocks[b]!.insts.push(inst([use(a)]));
      }
    }
  };
  const entry = newBlock(0);
  for (let v = 0; v < V; v++) blocks[entry]!.insts.push(konst(v));
  let cur = entry;
  for (let s = 1 + below(4); s > 0; s--) {
    const shape = below(3);
    const depth = blocks[cur]!.loopDepth;
    if (shape === 0) {
      const next = newBlock(depth);
      blocks[cur]!.succs.push(next);
      cur = next;
      body(cur);
    } else if (shape === 1) {
      const [l, r, j] = [newBlock(depth), newBlock(depth), newBlock(depth)];
      blocks[cur]!.insts.push(branch(below(V)));
      blocks[cur]!.succs.push(l, r);
      body(l);
      body(r);
      blocks[l]!.succs.push(j);
      blocks[r]!.succs.push(j);
      cur = j;
    } else {
      const [h, x] = [newBlock(depth + 1), newBlock(depth)];
      blocks[cur]!.succs.push(h);
      body(h);
      blocks[h]!.insts.push(branch(below(V)));
      blocks[h]!.succs.push(h, x);
      cur = x;
    }
  }
  blocks[cur]!.insts.push(ret(below(V)));
  for (const b of blocks) b.insts.push(inst([])); // the terminator
  return { numVRegs: V, blocks };
}

describe("random functions", () => {
  for (const [name, allocator] of [
    ["irc", allocateIrc],
    ["linear scan", allocateLinearScan],
  ] as const) {
    for (const n of [2, 3, 4]) {
      test(`${name}: allocations on ${n} registers pass the checker`, () => {
        let spilled = 0;
        fc.assert(
          fc.property(fc.array(fc.nat(1000), { maxLength: 200 }), (choices) => {
            const fn = randomFunction(choices, n);
            let out: RegAllocOutput;
            try {
              out = allocator(fn, toy(n));
            } catch (e) {
              // Two registers cannot serve a 2-operand instruction with both values spilled and a pinned p0.
              if (e instanceof RegAllocError && n === 2) return;
              throw e;
            }
            checkAllocation(fn, toy(n), out);
            spilled += out.stats.spilledVRegs;
          }),
          { numRuns: 300, seed: 42 + n },
        );
        expect(spilled).toBeGreaterThan(0);
      });
    }
  }
});

describe("linear scan", () => {
  const linear = (fn: RegAllocFunction, target: RegAllocTarget): RegAllocOutput => {
    const out = allocateLinearScan(fn, target);
    checkAllocation(fn, target, out);
    return out;
  };

  test("a copy's destination takes its source's register when that is free (the copy vanishes)", () => {
    const fn: RegAllocFunction = { numVRegs: 3, blocks: [block([konst(0), copy(1, 0), copy(2, 1), ret(2)])] };
    const out = linear(fn, toy(2));
    expect(out.stats.copiesRemoved).toBe(2);
    expect(out.edits).toEqual([]);
  });

  test("values live across a call avoid the clobbered registers, or spill", () => {
    // v0, v1 live across a call clobbering p0 and p1 on a 3-register machine: one fits in p2.
    const call = inst([fixedUse(2, 0), fixedDef(3, 0)], [1]);
    const fn: RegAllocFunction = { numVRegs: 4, blocks: [block([konst(0), konst(1), konst(2), call, branch(0, 1, 3), inst([])])] };
    const out = linear(fn, toy(3));
    expect(out.stats.spilledVRegs).toBe(1);
  });

  test("more live values than registers: the interval reaching furthest is spilled", () => {
    // v0 is live to the end; v1 and v2 die early: v0 is the one spilled on a 2-register machine.
    const fn: RegAllocFunction = {
      numVRegs: 3,
      blocks: [block([konst(0), konst(1), konst(2), branch(1, 2), inst([use(0)]), inst([])])],
    };
    const out = linear(fn, toy(2));
    expect(out.stats.spilledVRegs).toBe(1);
    expect(out.allocs[0]).toEqual([{ kind: "reg", reg: 0 }]);
    expect(out.edits.some((e) => e.reason === "spill" && e.inst === 0)).toBe(true);
  });

  test("a loop-carried value covers the whole loop", () => {
    // v0 defined before the loop, read at its top, redefined at its bottom: its register may
    // not be given to v1, which lives only inside the loop body after the read.
    const fn: RegAllocFunction = {
      numVRegs: 2,
      blocks: [block([konst(0), inst([])], [1]), block([branch(0), konst(1), branch(1), copy(0, 1), inst([])], [1, 2], 1), block([ret(0), inst([])])],
    };
    linear(fn, toy(2));
  });

  test("too many simultaneous operands is a RegAllocError", () => {
    const fn: RegAllocFunction = { numVRegs: 3, blocks: [block([konst(0), konst(1), konst(2), branch(0, 1, 2)])] };
    expect(() => allocateLinearScan(fn, toy(2))).toThrow(RegAllocError);
  });

  test("auto picks IRC up to the threshold and linear scan above it; a forced kind is kept", () => {
    expect(allocatorFor("auto", LINEAR_SCAN_THRESHOLD)).toBe("irc");
    expect(allocatorFor("auto", LINEAR_SCAN_THRESHOLD + 1)).toBe("linear");
    expect(allocatorFor("irc", 10 * LINEAR_SCAN_THRESHOLD)).toBe("irc");
    expect(allocatorFor("linear", 1)).toBe("linear");
  });
});

describe("packed input", () => {
  /** The packed form read back as objects (early: false and absent are the same). */
  const unpack = (fn: ReturnType<typeof packFunction>): unknown[] => {
    const out: unknown[] = [];
    let id = 0;
    for (const b of fn.blocks) {
      for (let k = 0; k < b.numInsts; k++, id++) {
        const ops: unknown[] = [];
        for (let o = fn.instOps[id]!; o < fn.instOps[id + 1]!; o++) {
          const f = fn.opFlags[o]!;
          const kind = f & PACKED_DEF ? "def" : "use";
          const reg = fn.opReg[o]!;
          const constraint = f & PACKED_FIXED ? { kind: "fixed", reg: fn.opArg[o] } : f & PACKED_REUSE ? { kind: "reuse", operand: fn.opArg[o] } : { kind: "any" };
          ops.push(f & PACKED_PHYSICAL ? { kind, preg: reg, early: !!(f & PACKED_EARLY) } : { kind, vreg: reg, constraint, early: !!(f & PACKED_EARLY) });
        }
        out.push({ ops, clobbers: [...fn.clobbers[id]!], copy: fn.instCopy[id] === 1, succs: k === 0 ? b.succs : undefined, depth: b.loopDepth });
      }
    }
    return out;
  };
  const asObjects = (fn: RegAllocFunction): unknown[] =>
    fn.blocks.flatMap((b) =>
      b.insts.map((i, k) => ({
        ops: i.operands.map((o) => ("preg" in o ? { kind: o.kind, preg: o.preg, early: !!o.early } : { kind: o.kind, vreg: o.vreg, constraint: o.constraint, early: !!o.early })),
        clobbers: [...i.clobbers],
        copy: i.copy,
        succs: k === 0 ? b.succs : undefined,
        depth: b.loopDepth,
      })),
    );

  test("packing keeps every operand, constraint, clobber and copy; both forms allocate alike", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { maxLength: 200 }), (choices) => {
        const fn = randomFunction(choices, 3);
        const packed = packFunction(fn);
        expect(packed.numVRegs).toBe(fn.numVRegs);
        expect(unpack(packed)).toEqual(asObjects(fn));
        let a: RegAllocOutput | Error, b: RegAllocOutput | Error;
        try { a = allocateIrc(fn, toy(3)); } catch (e) { a = e as Error; }
        try { b = allocateIrc(packed, toy(3)); } catch (e) { b = e as Error; }
        expect(b).toEqual(a);
      }),
      { numRuns: 200 },
    );
  });
});

describe("liveness and interval order (the linear-time forms)", () => {
  test("liveOutSets equals a round-robin fixpoint of live-out sets", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { maxLength: 200 }), fc.integer({ min: 2, max: 4 }), (choices, n) => {
        const prog = buildProgram(randomFunction(choices, n), toy(n));
        const { start, nodes } = liveOutSets(prog);
        // The reference: per block, upward-exposed uses and kills (uses of an item before its defs and clobbers), then iterate.
        const B = prog.numBlocks;
        const ue = Array.from({ length: B }, () => new Set<number>());
        const kill = Array.from({ length: B }, () => new Set<number>());
        for (let b = 0; b < B; b++) {
          for (let i = prog.blockStart[b]!; i < prog.blockStart[b + 1]!; i++) {
            for (let o = prog.itemOps[i]!; o < prog.itemOps[i + 1]!; o++) {
              const v = prog.opNode[o]!;
              if (v >= 0 && !(prog.opFlags[o]! & OP_DEF) && !kill[b]!.has(v)) ue[b]!.add(v);
            }
            for (let o = prog.itemOps[i]!; o < prog.itemOps[i + 1]!; o++) if (prog.opNode[o]! >= 0 && prog.opFlags[o]! & OP_DEF) kill[b]!.add(prog.opNode[o]!);
            if (prog.itemKind[i] === ITEM_INST) for (const c of prog.clobbers[prog.itemOrigin[i]!]!) kill[b]!.add(c);
          }
        }
        const out = Array.from({ length: B }, () => new Set<number>());
        for (let changed = true; changed; ) {
          changed = false;
          for (let b = B - 1; b >= 0; b--) {
            for (const s of prog.succs[b]!) {
              const liveIn = new Set([...ue[s]!, ...[...out[s]!].filter((v) => !kill[s]!.has(v))]);
              for (const v of liveIn) if (!out[b]!.has(v)) (out[b]!.add(v), (changed = true));
            }
          }
        }
        for (let b = 0; b < B; b++) expect([...nodes.subarray(start[b]!, start[b + 1]!)]).toEqual([...out[b]!].sort((x, y) => x - y));
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  test("intervalOrder sorts by start, ties by node, as a comparison sort does", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 50 }), fc.array(fc.tuple(fc.nat(1000), fc.boolean()), { maxLength: 300 }), (P, numItems, raw) => {
        const N = P + raw.length;
        const start = new Int32Array(N).fill(0x7fffffff);
        const end = new Int32Array(N).fill(-1);
        raw.forEach(([x, has], k) => {
          if (!has) return;
          start[P + k] = x % (4 * numItems + 4); // points run to the start of the item after the last
          end[P + k] = start[P + k]! + (x % 7);
        });
        const expected: number[] = [];
        for (let n = P; n < N; n++) if (end[n]! >= 0) expected.push(n);
        expected.sort((a, b) => start[a]! - start[b]! || a - b);
        expect([...intervalOrder(start, end, P, N, numItems)]).toEqual(expected);
      }),
      { numRuns: 500, seed: 11 },
    );
  });
});

/**
 * The spill rewrite as it was written before it worked in place: a forward sweep into fresh
 * vectors, each item copied or replaced by its reloads, itself and its stores.
 */
function rewriteSpillsReference(prog: Program, slotOf: Int32Array): void {
  const { itemOps, opNode, opSlot, opFlags } = prog;
  const spilled = (n: number): boolean => n >= 0 && n < slotOf.length && slotOf[n]! >= 0;
  const w = new ItemWriter(prog.numBlocks, prog.numItems, opNode.length);
  const temps: number[] = [];
  const newTemp = (): number => {
    temps.push(prog.numNodes);
    return prog.numNodes++;
  };
  for (let b = 0; b < prog.numBlocks; b++) {
    w.blockStart.push(w.kind.length);
    for (let i = prog.blockStart[b]!; i < prog.blockStart[b + 1]!; i++) {
      const [kind, origin, pos, copy] = [prog.itemKind[i]!, prog.itemOrigin[i]!, prog.itemPos[i]!, prog.itemCopy[i] === 1];
      const ops = [];
      for (let o = itemOps[i]!; o < itemOps[i + 1]!; o++) ops.push(o);
      if (!ops.some((o) => spilled(opNode[o]!))) {
        w.item(kind, origin, pos, copy, prog.itemSlot[i]!);
        for (const o of ops) w.op(opNode[o]!, opSlot[o]!, opFlags[o]!);
        continue;
      }
      if (kind === ITEM_RELOAD || kind === ITEM_SPILL) throw new Error("regalloc: a spill temporary was spilled");
      const before = pos === POS_INST ? POS_BEFORE : pos;
      const afterPos = pos === POS_INST ? POS_AFTER : pos;
      if (copy) {
        const [s, d] = ops as [number, number];
        let [srcNode, srcSlot, dstNode, dstSlot] = [opNode[s]!, opSlot[s]!, opNode[d]!, opSlot[d]!];
        if (spilled(srcNode)) [srcSlot, srcNode] = [slotOf[srcNode]!, -1];
        if (spilled(dstNode)) [dstSlot, dstNode] = [slotOf[dstNode]!, -1];
        if (srcSlot >= 0 && dstSlot >= 0 && srcSlot !== dstSlot) {
          const t = newTemp();
          w.item(ITEM_RELOAD, origin, before, false, srcSlot);
          w.op(t, -1, OP_DEF);
          [srcSlot, srcNode] = [-1, t];
        }
        w.item(kind, origin, pos, true);
        w.op(srcNode, srcSlot, opFlags[s]!);
        w.op(dstNode, dstSlot, opFlags[d]!);
        continue;
      }
      const temp = new Map<number, number>();
      for (const o of ops) if (spilled(opNode[o]!) && !temp.has(opNode[o]!)) temp.set(opNode[o]!, newTemp());
      for (const [n, t] of temp) {
        if (!ops.some((o) => opNode[o] === n && !(opFlags[o]! & OP_DEF))) continue;
        w.item(ITEM_RELOAD, origin, before, false, slotOf[n]!);
        w.op(t, -1, OP_DEF);
      }
      w.item(kind, origin, pos, copy);
      for (const o of ops) w.op(temp.get(opNode[o]!) ?? opNode[o]!, opSlot[o]!, opFlags[o]!);
      for (const [n, t] of temp) {
        if (!ops.some((o) => opNode[o] === n && opFlags[o]! & OP_DEF)) continue;
        w.item(ITEM_SPILL, origin, afterPos, false, slotOf[n]!);
        w.op(t, -1, 0);
      }
    }
  }
  w.blockStart.push(w.kind.length);
  w.finish(prog);
  const noSpill = new Uint8Array(prog.numNodes);
  noSpill.set(prog.noSpill);
  for (const t of temps) noSpill[t] = 1;
  prog.noSpill = noSpill;
}

/** One long block of ALU, tied, copy and constant instructions over a few vregs. */
function straightFunction(choices: number[]): RegAllocFunction {
  let pos = 0;
  const below = (n: number): number => (choices[pos++] ?? 0) % n;
  const V = 2 + below(8);
  const insts: RegAllocInst[] = [];
  for (let v = 0; v < V; v++) insts.push(konst(v));
  for (let k = 20 + below(80); k > 0; k--) {
    const [a, c] = [below(V), below(V)];
    insts.push([twoAddr(a, c), copy(a, c), konst(a), inst([use(a)])][below(4)]!);
  }
  insts.push(ret(below(V)), inst([]));
  return { numVRegs: V, blocks: [block(insts)] };
}

/** A program's content (what a rewrite must produce), as plain arrays. */
function programContent(prog: Program): unknown {
  return {
    numNodes: prog.numNodes,
    numItems: prog.numItems,
    arrays: [prog.blockStart, prog.itemKind, prog.itemOrigin, prog.itemPos, prog.itemCopy, prog.itemSlot, prog.itemOps, prog.opNode, prog.opSlot, prog.opFlags, prog.noSpill].map((a) => [...a]),
  };
}

describe("spill rewriting in place", () => {
  test("rewriteSpills gives the program and live-out sets of the forward rewrite into fresh vectors, round after round", () => {
    let moved = 0;
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { maxLength: 200 }), fc.integer({ min: 2, max: 4 }), fc.array(fc.nat(1000), { minLength: 1, maxLength: 60 }), fc.boolean(), (choices, regs, picks, long) => {
        // Long blocks too: runs of untouched items long enough to be moved as a block.
        const fn = long ? straightFunction(choices) : randomFunction(choices, regs);
        const prog = buildProgram(fn, toy(regs));
        const ref = buildProgram(fn, toy(regs));
        programLiveOut(prog); // kept through the rewrites: compared with a fresh computation below
        let p = 0;
        const pick = (n: number): number => picks[p++ % picks.length]! % n;
        for (let round = 0; round < 1 + pick(3); round++) {
          // Spill a few virtual nodes (now and then a temporary: both must refuse), sharing a few slots.
          const slotOf = new Int32Array(prog.numNodes + pick(2)).fill(-1);
          const slots = 1 + pick(3);
          for (let k = pick(6); k >= 0; k--) {
            const n = prog.firstVirtual + pick(prog.numNodes - prog.firstVirtual);
            slotOf[n] = prog.numSlots + pick(slots);
          }
          prog.numSlots = ref.numSlots = prog.numSlots + slots;
          let refError: unknown;
          let error: unknown;
          try {
            rewriteSpillsReference(ref, slotOf);
          } catch (e) {
            refError = e;
          }
          try {
            rewriteSpills(prog, slotOf);
          } catch (e) {
            error = e;
          }
          expect(error).toEqual(refError);
          if (refError) return;
          expect(programContent(prog)).toEqual(programContent(ref));
          const fresh = liveOutSets(prog);
          expect([...prog.liveOut!.start]).toEqual([...fresh.start]);
          expect([...prog.liveOut!.nodes]).toEqual([...fresh.nodes]);
          moved += ref.numItems;
        }
      }),
      { numRuns: 500, seed: 13 },
    );
    expect(moved).toBeGreaterThan(0);
  });
});

/** Spill-slot colouring as it was written before its edges were counted and placed: lists grown per edge. */
function colourSpillSlotsReference(prog: Program): { slotColour: number[]; numSlots: number } {
  const S = prog.numSlots;
  if (S === 0) return { slotColour: [], numSlots: 0 };
  const B = prog.numBlocks;
  const { itemKind, itemSlot, itemOps, opSlot, opFlags } = prog;
  // Slots read (reloads, copies from a slot) and written (spills, copies into a slot) by item i.
  // (The first nReads and nWrites entries: counts, not `length = 0`, a slow call per item.)
  const reads: number[] = [];
  const writes: number[] = [];
  let nReads = 0;
  let nWrites = 0;
  const access = (i: number): void => {
    nReads = 0;
    nWrites = 0;
    if (itemKind[i] === ITEM_RELOAD) reads[nReads++] = itemSlot[i]!;
    if (itemKind[i] === ITEM_SPILL) writes[nWrites++] = itemSlot[i]!;
    for (let o = itemOps[i]!; o < itemOps[i + 1]!; o++) {
      const s = opSlot[o]!;
      if (s < 0) continue;
      if (opFlags[o]! & OP_DEF) writes[nWrites++] = s;
      else reads[nReads++] = s;
    }
  };

  // Upward-exposed reads and writes per slot, as linked lists of blocks.
  const ueHead = new Int32Array(S).fill(-1);
  const defHead = new Int32Array(S).fill(-1);
  // At most one entry per slot access: sized for them at once.
  let accesses = 64;
  for (let i = 0; i < prog.numItems; i++) if (itemKind[i] === ITEM_RELOAD || itemKind[i] === ITEM_SPILL) accesses++;
  for (let o = 0; o < opSlot.length; o++) if (opSlot[o]! >= 0) accesses++;
  const link = new IntVec(accesses);
  const linkBlock = new IntVec(accesses);
  const seen = new Int32Array(S).fill(-1);
  const written = new Int32Array(S).fill(-1);
  for (let b = 0; b < B; b++) {
    for (let i = prog.blockStart[b]!; i < prog.blockStart[b + 1]!; i++) {
      access(i);
      for (let x = 0; x < nReads; x++) {
        const s = reads[x]!;
        if (written[s] === b || seen[s] === b) continue;
        seen[s] = b;
        linkBlock.push(b);
        ueHead[s] = link.push(ueHead[s]!);
      }
      for (let x = 0; x < nWrites; x++) {
        const s = writes[x]!;
        if (written[s] === b) continue;
        written[s] = b;
        linkBlock.push(b);
        defHead[s] = link.push(defHead[s]!);
      }
    }
  }
  const liveOut: number[][] = Array.from({ length: B }, () => []);
  const defMark = new Int32Array(B).fill(-1);
  const inMark = new Int32Array(B).fill(-1);
  const outMark = new Int32Array(B).fill(-1);
  const work: number[] = [];
  for (let s = 0; s < S; s++) {
    for (let e = defHead[s]!; e >= 0; e = link.get(e)) defMark[linkBlock.get(e)] = s;
    for (let e = ueHead[s]!; e >= 0; e = link.get(e)) {
      const b = linkBlock.get(e);
      inMark[b] = s;
      work.push(b);
    }
    while (work.length > 0) {
      const b = work.pop()!;
      for (const p of prog.preds[b]!) {
        if (outMark[p] !== s) {
          outMark[p] = s;
          liveOut[p]!.push(s);
        }
        if (defMark[p] !== s && inMark[p] !== s) {
          inMark[p] = s;
          work.push(p);
        }
      }
    }
  }

  // Interference: a write interferes with every other slot live after it (a copy's own source
  // excepted). The greedy colouring below goes in slot order and only marks the colours of
  // the neighbours coloured before, so each edge is kept at its higher slot only, and a
  // neighbour listed twice changes nothing (no edge set is needed).
  const adj = new LinkedLists(S);
  const addEdge = (a: number, b: number): void => {
    if (a < b) adj.append(b, a);
    else if (b < a) adj.append(a, b);
  };
  const live = new SparseSet(S);
  for (let b = 0; b < B; b++) {
    live.clear();
    for (const s of liveOut[b]!) live.add(s);
    for (let i = prog.blockStart[b + 1]! - 1; i >= prog.blockStart[b]!; i--) {
      access(i);
      for (let x = 0; x < nWrites; x++) {
        const d = writes[x]!;
        for (let k = 0; k < live.size; k++) {
          const l = live.dense[k]!;
          let read = false;
          for (let y = 0; y < nReads; y++) if (reads[y] === l) read = true;
          if (l !== d && !read) addEdge(d, l);
        }
        live.delete(d);
      }
      for (let x = 0; x < nReads; x++) live.add(reads[x]!);
    }
    // Slots live into the entry (read on some path before any store) interfere with all.
    if (b === 0) for (let k = 0; k < live.size; k++) for (let t = 0; t < S; t++) addEdge(live.dense[k]!, t);
  }

  // Affinities: `reload t ← a; copy b ← t`.
  const affinity = new LinkedLists(S);
  const { opNode, itemCopy } = prog;
  for (let b = 0; b < B; b++) {
    for (let i = prog.blockStart[b]! + 1; i < prog.blockStart[b + 1]!; i++) {
      if (!itemCopy[i] || itemKind[i - 1] !== ITEM_RELOAD) continue;
      const o = itemOps[i]!;
      const dstSlot = opSlot[o + 1]!;
      const a = itemSlot[i - 1]!;
      if (dstSlot >= 0 && opNode[o] === opNode[itemOps[i - 1]!]) {
        affinity.append(dstSlot, a);
        affinity.append(a, dstSlot);
      }
    }
  }

  const slotColour: number[] = new Array<number>(S).fill(-1);
  const forbidden = new Int32Array(S).fill(-1);
  let numSlots = 0;
  for (let s = 0; s < S; s++) {
    for (let e = adj.head[s]!; e >= 0; e = adj.nextOf(e)) {
      const c = slotColour[adj.valueOf(e)]!;
      if (c >= 0) forbidden[c] = s;
    }
    let c = -1;
    for (let e = affinity.head[s]!; e >= 0; e = affinity.nextOf(e)) {
      const x = slotColour[affinity.valueOf(e)]!;
      if (x >= 0 && forbidden[x] !== s) {
        c = x;
        break;
      }
    }
    if (c < 0) for (c = 0; forbidden[c] === s; c++);
    slotColour[s] = c;
    numSlots = Math.max(numSlots, c + 1);
  }
  return { slotColour, numSlots };
}

describe("spill-slot colouring", () => {
  test("colourSpillSlots colours as the edge-list form did, on programs after random spill rounds", () => {
    let slotsShared = 0;
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { maxLength: 200 }), fc.integer({ min: 2, max: 4 }), fc.array(fc.nat(1000), { minLength: 1, maxLength: 60 }), (choices, regs, picks) => {
        const prog = buildProgram(randomFunction(choices, regs), toy(regs));
        let p = 0;
        const pick = (n: number): number => picks[p++ % picks.length]! % n;
        for (let round = 0; round < 1 + pick(3); round++) {
          const slotOf = new Int32Array(prog.numNodes).fill(-1);
          for (let k = pick(8); k >= 0; k--) {
            const n = prog.firstVirtual + pick(prog.numNodes - prog.firstVirtual);
            if (!prog.noSpill[n]) slotOf[n] = prog.numSlots + pick(4);
          }
          prog.numSlots += 4;
          rewriteSpills(prog, slotOf);
        }
        const got = colourSpillSlots(prog);
        expect(got).toEqual(colourSpillSlotsReference(prog));
        slotsShared += prog.numSlots - got.numSlots;
      }),
      { numRuns: 500, seed: 17 },
    );
    expect(slotsShared).toBeGreaterThan(0);
  });
});
