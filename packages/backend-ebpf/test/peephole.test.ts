// Peepholes on allocated machine IR (peephole.ts): copies between registers already known
// equal are deleted (and only those: a write or a call's clobber ends what a copy made
// equal), blocks ending in the same `r0 = X; exit` share one copy of it, and a stack
// address computed three or more times is kept in a preserved register the function does
// not use, and a branch between two returns sets r0 before it and shares one `exit`. Whole programs
// are checked against the IR interpreter in the eBPF VM (vm.ts) on random contexts.
import fc from "fast-check";
import { interpret, MapState, parseModule } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { compileModule, printProgram } from "../src/index.js";
import type { MBlock, MFunction, MInst } from "../src/mir.js";
import { hoistFrameAddresses, removeRedundantCopies, returnBeforeBranch, shareExits } from "../src/peephole.js";
import { runVm } from "./vm.js";

const mov = (dst: number, src: number): MInst => ({ k: "alu", op: "mov", w: 64, dst, src });
const block = (index: number, insts: MInst[], succs: number[] = []): MBlock => ({ index, insts, succs, loopDepth: 0 });
const exit: MInst = { k: "exit" };
const r0 = (imm: number): MInst => ({ k: "alu", op: "mov", w: 64, dst: 0, imm });

describe("redundant copies", () => {
  test("a copy back into the register copied from is deleted, and a second identical copy", () => {
    const b = block(0, [mov(1, 0), mov(0, 1), mov(2, 0), mov(2, 1), exit]);
    expect(removeRedundantCopies(b)).toBe(2);
    expect(b.insts).toEqual([mov(1, 0), mov(2, 0), exit]);
  });

  test("a write to either register ends the equality: the copy after it stays", () => {
    const b = block(0, [mov(1, 0), { k: "alu", op: "add", w: 64, dst: 0, imm: 1 }, mov(0, 1), exit]);
    expect(removeRedundantCopies(b)).toBe(0);
    const c = block(0, [mov(6, 1), { k: "alu", op: "add", w: 64, dst: 6, imm: 1 }, mov(1, 6), exit]);
    expect(removeRedundantCopies(c)).toBe(0);
  });

  test("a call clobbers r1-r5 and writes r0: copies into them after it stay", () => {
    const b = block(0, [mov(1, 6), mov(0, 6), { k: "call", helper: 5, nargs: 0 }, mov(1, 6), mov(0, 6), exit]);
    expect(removeRedundantCopies(b)).toBe(0);
    const ld = block(0, [mov(2, 7), { k: "ldpkt", size: "B", imm: 3 }, mov(2, 7), exit]);
    expect(removeRedundantCopies(ld)).toBe(0);
  });
});

describe("shared exits", () => {
  test("a block that is only `r0 = X; exit` and only jumped to goes; its jumps go to the kept tail", () => {
    const mf: MFunction = {
      name: "f",
      slots: [],
      nextVReg: 100,
      blocks: [
        block(0, [{ k: "jcc", op: "jeq", w: 64, a: 1, imm: 0, target: 2 }, { k: "alu", op: "add", w: 64, dst: 1, imm: 1 }, r0(0), exit], [2, 1]),
        block(1, [r0(1), exit]),
        block(2, [r0(0), exit]),
      ],
    };
    // block 2 (the last with the tail) keeps it; block 0's tail becomes a jump there
    expect(shareExits(mf)).toBe(1);
    expect(mf.blocks[0]!.insts.at(-1)).toEqual({ k: "ja", target: 2 });
    expect(mf.blocks[0]!.succs).toEqual([2]);
    expect(mf.blocks[2]!.insts).toEqual([r0(0), exit]);
  });

  test("the kept tail is split off a longer block; a tail-only block reached by a jump is left unreached", () => {
    const mf: MFunction = {
      name: "f",
      slots: [],
      nextVReg: 100,
      blocks: [
        block(0, [{ k: "jcc", op: "jeq", w: 64, a: 1, imm: 0, target: 2 }, { k: "ja", target: 1 }], [2, 1]),
        block(1, [r0(7), exit]),
        block(2, [{ k: "alu", op: "add", w: 64, dst: 1, imm: 1 }, r0(7), exit]),
      ],
    };
    expect(shareExits(mf)).toBe(2);
    expect(mf.blocks.length).toBe(4);
    expect(mf.blocks[2]!.insts).toEqual([{ k: "alu", op: "add", w: 64, dst: 1, imm: 1 }]);
    expect(mf.blocks[2]!.succs).toEqual([3]);
    expect(mf.blocks[3]!.insts).toEqual([r0(7), exit]);
    expect(mf.blocks[0]!.insts[1]).toEqual({ k: "ja", target: 3 }); // the jump to block 1 now goes to the kept tail
    expect(mf.blocks[0]!.succs).toEqual([2, 3]);
  });

  test("tails that load a 64-bit constant into r0 are compared by value (lddw's immediate is a bigint)", () => {
    const big = (imm: bigint): MInst => ({ k: "lddw", dst: 0, imm });
    const mf: MFunction = {
      name: "f",
      slots: [],
      nextVReg: 100,
      blocks: [
        block(0, [{ k: "jcc", op: "jeq", w: 64, a: 1, imm: 0, target: 2 }, big(1n << 40n), exit], [2, 1]),
        block(1, [big(1n << 41n), exit]),
        block(2, [big(1n << 40n), exit]),
      ],
    };
    expect(shareExits(mf)).toBe(1);
    expect(mf.blocks[0]!.insts.at(-1)).toEqual({ k: "ja", target: 2 });
    expect(mf.blocks[1]!.insts).toEqual([big(1n << 41n), exit]);
  });

  test("a tail-only block something falls into becomes a jump; the entry block is never dropped", () => {
    const mf: MFunction = {
      name: "f",
      slots: [],
      nextVReg: 100,
      blocks: [block(0, [{ k: "jcc", op: "jeq", w: 64, a: 1, imm: 0, target: 2 }], [1, 2]), block(1, [r0(0), exit]), block(2, [r0(0), exit])],
    };
    expect(shareExits(mf)).toBe(1);
    expect(mf.blocks[1]!.insts).toEqual([{ k: "ja", target: 2 }]);
  });

  const RETS = `
map @m : array, key i32, value i64, max_entries 4, flags 0

func @prog(ptr.ctx %0) -> i64 section "socket" type socket_filter {
@bb0:
  %1 = alloca 4, align 4
  %2 = load i32 %0, 0
  %3 = ult i32 %2, 100
  condbr %3, @bb1, @bb2
@bb1:
  %4 = and i32 %2, 3
  store i32 %4, %1, 0
  %5 = mapref @m
  %6 = call ptr.map_value_or_null helper 1 (%5, %1)
  %7 = eq ptr.map_value_or_null %6, 0
  condbr %7, @bb3, @bb4
@bb4:
  atomic.add i64 %6, 1, 0
  ret 0
@bb3:
  ret 1
@bb2:
  %8 = load i32 %0, 4
  %9 = eq i32 %8, 0
  condbr %9, @bb5, @bb6
@bb5:
  ret 1
@bb6:
  ret 0
}
`;

  test("a program returning 0 and 1 from several places has one exit per value, and computes the same", () => {
    process.env.LUABPF_CHECK_REGALLOC = "1";
    const m = parseModule(RETS);
    const [p] = compileModule(m);
    const text = printProgram(p!.insns);
    expect(text.match(/^exit$/gm)?.length).toBe(2); // one `r0 = 0; exit`, one `r0 = 1; exit`
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.nat(200), (ctx, len) => {
        ctx[0] = len; // below 100 about half of the time
        ctx[1] = ctx[2] = ctx[3] = 0;
        const want = interpret(m, "prog", ["ctx"], { ctx, maps: MapState.fromModule(m) });
        const got = runVm(p!.insns, p!.relocations, { module: m, ctx });
        expect(got.r0).toBe(BigInt.asUintN(64, want.value as bigint));
        expect(got.maps.snapshot()).toEqual(want.maps.snapshot());
      }),
      { numRuns: 200, seed: 5 },
    );
  });
});

describe("frame addresses in a free preserved register", () => {
  const fa = (dst: number, slot: number, off = 0): MInst => ({ k: "frameaddr", dst, slot, off });
  const call: MInst = { k: "call", helper: 1, nargs: 2 };

  test("three uses of one address: computed once into the first free of r6-r9, each use a copy", () => {
    const mf: MFunction = {
      name: "f",
      slots: [{ size: 4, align: 4 }],
      nextVReg: 100,
      blocks: [block(0, [mov(6, 1), fa(2, 0), call, fa(2, 0), call, fa(3, 0), { k: "alu", op: "mov", w: 64, dst: 0, src: 6 }, exit])],
    };
    expect(hoistFrameAddresses(mf)).toBe(1); // 3 x 2 instructions became 2 + 3
    expect(mf.blocks[0]!.insts).toEqual([fa(7, 0), mov(6, 1), mov(2, 7), call, mov(2, 7), call, mov(3, 7), { k: "alu", op: "mov", w: 64, dst: 0, src: 6 }, exit]);
  });

  test("nothing changes with two uses, with other offsets counted apart, or with r6-r9 all in use", () => {
    const two: MFunction = { name: "f", slots: [{ size: 8, align: 8 }], nextVReg: 100, blocks: [block(0, [fa(2, 0), call, fa(2, 0, 4), call, fa(2, 0), exit])] };
    expect(hoistFrameAddresses(two)).toBe(0);
    expect(two.blocks[0]!.insts[0]).toEqual(fa(2, 0));
    const busy: MFunction = {
      name: "f",
      slots: [{ size: 8, align: 8 }],
      nextVReg: 100,
      blocks: [block(0, [mov(6, 1), mov(7, 1), mov(8, 1), mov(9, 1), fa(2, 0), call, fa(2, 0), call, fa(2, 0), exit])],
    };
    expect(hoistFrameAddresses(busy)).toBe(0);
    expect(busy.blocks[0]!.insts.filter((i) => i.k === "frameaddr").length).toBe(3);
  });

  const KEYS = `
map @m : hash, key i32, value i64, max_entries 8, flags 0

func @prog(ptr.ctx %0) -> i64 section "socket" type socket_filter {
@bb0:
  %1 = alloca 4, align 4
  %2 = alloca 8, align 8
  %3 = load i32 %0, 0
  %4 = and i32 %3, 7
  store i32 %4, %1, 0
  %5 = mapref @m
  %6 = call ptr.map_value_or_null helper 1 (%5, %1)
  %7 = eq ptr.map_value_or_null %6, 0
  condbr %7, @bb1, @bb2
@bb1:
  store i64 1, %2, 0
  %8 = call i64 helper 2 (%5, %1, %2, 0)
  br @bb3
@bb2:
  %9 = load i64 %6, 0
  %10 = add i64 %9, 1
  store i64 %10, %2, 0
  %11 = call i64 helper 2 (%5, %1, %2, 0)
  br @bb3
@bb3:
  %12 = call ptr.map_value_or_null helper 1 (%5, %1)
  %13 = eq ptr.map_value_or_null %12, 0
  condbr %13, @bb4, @bb5
@bb4:
  ret 0
@bb5:
  %14 = load i64 %12, 0
  ret %14
}
`;

  test("a key address used by four map calls is computed once, and the program computes the same", () => {
    process.env.LUABPF_CHECK_REGALLOC = "1";
    const m = parseModule(KEYS);
    const [p] = compileModule(m);
    const text = printProgram(p!.insns);
    expect(text.match(/= r10$/gm)?.length).toBe(3); // the key's address once, the value's twice (two uses: left as they were)
    expect(text).toMatch(/^r[6-9] = r10$/m);
    expect(text.match(/^r2 = r[6-9]$/gm)?.length).toBe(4);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (ctx) => {
        const want = interpret(m, "prog", ["ctx"], { ctx, maps: MapState.fromModule(m) });
        const got = runVm(p!.insns, p!.relocations, { module: m, ctx });
        expect(got.r0).toBe(BigInt.asUintN(64, want.value as bigint));
        expect(got.maps.snapshot()).toEqual(want.maps.snapshot());
      }),
      { numRuns: 100, seed: 9 },
    );
  });
});

describe("return value set before the branch", () => {
  const jgt = (a: number, imm: number, target: number): MInst => ({ k: "jcc", op: "jsgt", w: 64, a, imm, target });
  const add = (dst: number, imm: number): MInst => ({ k: "alu", op: "add", w: 64, dst, imm });

  test("`if c goto L; r0 = 1; exit; L: r0 = 0; exit` becomes `r0 = 1; if c goto L; exit` with L's exit split off", () => {
    const mf: MFunction = {
      name: "f",
      slots: [],
      nextVReg: 100,
      blocks: [
        block(0, [jgt(1, 0, 3), { k: "ja", target: 1 }], [3, 1]),
        block(1, [add(6, 1), jgt(6, 4, 3), { k: "ja", target: 2 }], [3, 2]),
        block(2, [r0(1), exit]),
        block(3, [r0(0), exit]),
      ],
    };
    expect(returnBeforeBranch(mf)).toBe(1);
    expect(mf.blocks.map((b) => b.insts)).toEqual([
      [jgt(1, 0, 3), { k: "ja", target: 1 }], // the other jump to L still finds `r0 = 0; exit`
      [add(6, 1), r0(1), jgt(6, 4, 3), { k: "ja", target: 4 }],
      [r0(1), exit], // no longer reached (emission drops it)
      [r0(0)],
      [exit],
    ]);
    expect(mf.blocks[3]!.succs).toEqual([4]);
  });

  test("the return reached from the branch's target side moves too; nothing moves above a branch reading r0", () => {
    const taken: MFunction = { name: "f", slots: [], nextVReg: 100, blocks: [block(0, [jgt(2, 7, 2)], [2, 1]), block(1, [r0(5), exit]), block(2, [mov(0, 3), exit])] };
    expect(returnBeforeBranch(taken)).toBe(1);
    // both are reached from block 0 alone: the fall-through side's `r0 = 5` moves; the taken side keeps `r0 = r3`
    expect(taken.blocks.map((b) => b.insts)).toEqual([[r0(5), jgt(2, 7, 2), { k: "ja", target: 3 }], [r0(5), exit], [mov(0, 3)], [exit]]);
    const readsR0: MFunction = { name: "f", slots: [], nextVReg: 100, blocks: [block(0, [jgt(0, 7, 2)], [2, 1]), block(1, [r0(5), exit]), block(2, [r0(6), exit])] };
    expect(returnBeforeBranch(readsR0)).toBe(0);
  });

  test("nothing changes when both returns are reached from elsewhere too, or one of them reads r0", () => {
    const shared: MFunction = {
      name: "f",
      slots: [],
      nextVReg: 100,
      blocks: [
        block(0, [jgt(1, 0, 2), { k: "ja", target: 1 }], [2, 1]),
        block(1, [jgt(2, 0, 3), { k: "ja", target: 2 }], [3, 2]),
        block(2, [r0(1), exit]),
        block(3, [r0(0), exit]),
        block(4, [jgt(3, 0, 3), { k: "ja", target: 2 }], [3, 2]),
      ],
    };
    expect(returnBeforeBranch(shared)).toBe(0);
    const selfCopy: MFunction = { name: "f", slots: [], nextVReg: 100, blocks: [block(0, [jgt(2, 7, 2)], [2, 1]), block(1, [add(0, 1), exit]), block(2, [r0(6), exit])] };
    expect(returnBeforeBranch(selfCopy)).toBe(0);
  });

  const LIMIT = `
map @m : array, key i32, value i64, max_entries 8, flags 0

func @prog(ptr.ctx %0) -> i64 section "socket" type socket_filter {
@bb0:
  %1 = alloca 4, align 4
  %2 = load i32 %0, 0
  %3 = ugt i32 %2, 200
  condbr %3, @bb3, @bb1
@bb1:
  %4 = and i32 %2, 7
  store i32 %4, %1, 0
  %5 = mapref @m
  %6 = call ptr.map_value_or_null helper 1 (%5, %1)
  %7 = eq ptr.map_value_or_null %6, 0
  condbr %7, @bb3, @bb2
@bb2:
  %8 = load i64 %6, 0
  %9 = add i64 %8, 1
  store i64 %9, %6, 0
  %10 = sgt i64 %9, 4
  condbr %10, @bb4, @bb3
@bb4:
  ret 2
@bb3:
  ret 0
}
`;

  test("a limit test between two returns sets r0 first and shares one exit, and the program computes the same", () => {
    process.env.LUABPF_CHECK_REGALLOC = "1";
    const m = parseModule(LIMIT);
    const [p] = compileModule(m);
    const text = printProgram(p!.insns);
    expect(text.match(/^exit$/gm)?.length).toBe(1);
    expect(text).toMatch(/^r0 = 0x2\nif r\d s> 0x4 goto \+0x1\nr0 = 0x0\nexit$/m);
    const maps = MapState.fromModule(m);
    const seen = new Set<bigint>();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.nat(255), (ctx, len) => {
        ctx[0] = len; // above 200 about a fifth of the time
        ctx[1] = ctx[2] = ctx[3] = 0;
        // the same map contents for both (counts grow across runs, so the limit is crossed)
        const want = interpret(m, "prog", ["ctx"], { ctx, maps: maps.clone() });
        const got = runVm(p!.insns, p!.relocations, { module: m, ctx, maps: maps.clone() });
        expect(got.r0).toBe(BigInt.asUintN(64, want.value as bigint));
        expect(got.maps.snapshot()).toEqual(want.maps.snapshot());
        seen.add(got.r0);
        interpret(m, "prog", ["ctx"], { ctx, maps });
      }),
      { numRuns: 200, seed: 11 },
    );
    expect([...seen].sort()).toEqual([0n, 2n]); // both returns taken
  });
});
