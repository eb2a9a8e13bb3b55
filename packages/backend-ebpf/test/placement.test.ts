// Block placement (placement.ts): chains glued by fall-through and by jumps the layout
// already makes free stay together; a chain ending in a jump to another chain's first block
// takes that chain after it; the entry stays first. A loop whose latch the IR lays out
// between the exit path and the shared return loses the exit path's jump over the latch,
// and the program computes what the IR interpreter computes (eBPF VM, random contexts).
import fc from "fast-check";
import { interpret, MapState, parseModule } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { compileModule, printProgram } from "../src/index.js";
import type { MBlock, MFunction, MInst } from "../src/mir.js";
import { placeBlocks } from "../src/placement.js";
import { runVm } from "./vm.js";

const block = (index: number, insts: MInst[]): MBlock => ({ index, insts, succs: [], loopDepth: 0 });
const fn = (blocks: MBlock[]): MFunction => ({ name: "f", slots: [], nextVReg: 100, blocks });
const ja = (target: number): MInst => ({ k: "ja", target });
const jeq = (a: number, target: number): Extract<MInst, { k: "jcc" }> => ({ k: "jcc", op: "jeq", w: 64, a, imm: 0, target });
const add = (dst: number): MInst => ({ k: "alu", op: "add", w: 64, dst, imm: 1 });
const ret: MInst[] = [{ k: "alu", op: "mov", w: 64, dst: 0, imm: 0 }, { k: "exit" }];
const all = (mf: MFunction): number[] => mf.blocks.map((_, k) => k);
const always = (): boolean => true;

describe("block placement", () => {
  test("a chain jumping to the first block of a later chain takes it; the latch it jumped over goes last", () => {
    // 0: loop header, exits to 2 or goes on to the latch 3; 2: exit path ending in `ja 4`; 4: the return.
    const mf = fn([
      block(0, [add(1)]),
      block(1, [jeq(1, 3), ja(2)]),
      block(2, [add(2), ja(4)]),
      block(3, [add(1), ja(0)]),
      block(4, ret),
    ]);
    expect(placeBlocks(mf, all(mf), always)).toEqual([0, 1, 2, 4, 3]);
  });

  test("what the layout already gets right stays: fall-through, a jump to the next block, the entry first", () => {
    const kept = fn([block(0, [add(1)]), block(1, [ja(2)]), block(2, ret)]);
    expect(placeBlocks(kept, all(kept), always)).toEqual([0, 1, 2]);
    // block 3 jumps back to the entry: the entry chain is never taken
    const entry = fn([block(0, [jeq(1, 2), ja(1)]), block(1, ret), block(2, [add(1), ja(3)]), block(3, [add(2), ja(0)])]);
    expect(placeBlocks(entry, all(entry), always)).toEqual([0, 1, 2, 3]);
  });

  test("a `jcc A; ja B` chain takes B, or A when the jump can be inverted", () => {
    const mf = fn([block(0, [jeq(1, 2), ja(3)]), block(1, ret), block(2, [add(1), ja(1)]), block(3, [add(2), ja(1)])]);
    // 0 takes 3 (its ja goes), 2 takes the return 1 (its ja goes too)
    expect(placeBlocks(mf, all(mf), always)).toEqual([0, 3, 2, 1]);
    const onlyA = fn([block(0, [jeq(1, 2), ja(1)]), block(1, [add(1), ja(0)]), block(2, ret)]);
    expect(placeBlocks(onlyA, all(onlyA), always)).toEqual([0, 1, 2]); // 1 already follows 0
    // B is taken (block 1 already falls into it): A is taken instead when the jump can be inverted
    const inv = fn([block(0, [jeq(1, 4), ja(2)]), block(1, [add(2), ja(2)]), block(2, ret), block(3, [add(1), ja(2)]), block(4, [add(3), ja(2)])]);
    expect(placeBlocks(inv, all(inv), always)).toEqual([0, 4, 1, 2, 3]);
    expect(placeBlocks(inv, all(inv), () => false)).toEqual([0, 1, 2, 3, 4]);
  });

  test("no chain takes its own first block (a loop of jumps keeps one jump)", () => {
    const mf = fn([block(0, [jeq(1, 3), ja(1)]), block(1, [add(1), ja(2)]), block(2, [add(2), ja(1)]), block(3, ret)]);
    const order = placeBlocks(mf, all(mf), always);
    expect(order[0]).toBe(0);
    expect([...order].sort()).toEqual([0, 1, 2, 3]);
  });

  // A loop counting the halvings of the length, then a map update; the latch follows the
  // update in IR order, and the update's path and the early return share `ret 0`.
  const LOOP = `
map @m : array, key i32, value i64, max_entries 32, flags 0

func @prog(ptr.ctx %0) -> i64 section "socket" type socket_filter {
@bb0:
  %1 = alloca 4, align 4
  %2 = load i32 %0, 0
  %3 = zext i32 %2 to i64
  br @bb1
@bb1:
  %4 = phi i64 [1, @bb0], [%12, @bb4]
  %5 = phi i64 [0, @bb0], [%11, @bb4]
  %6 = lshr i64 %3, %4
  %7 = ne i64 %6, 0
  %11 = select i64 %7, %4, %5
  %8 = ult i64 %4, 31
  condbr %8, @bb4, @bb2
@bb2:
  %9 = trunc i64 %11 to i32
  store i32 %9, %1, 0
  %10 = mapref @m
  %13 = call ptr.map_value_or_null helper 1 (%10, %1)
  %14 = ne ptr.map_value_or_null %13, 0
  condbr %14, @bb3, @bb5
@bb3:
  atomic.add i64 %13, 1, 0
  br @bb5
@bb4:
  %12 = add i64 %4, 1
  br @bb1
@bb5:
  ret 0
}
`;

  test("a loop's exit path falls into the shared return; the program computes what the interpreter computes", () => {
    process.env.LUABPF_CHECK_REGALLOC = "1";
    const m = parseModule(LOOP);
    const [p] = compileModule(m);
    const text = printProgram(p!.insns);
    // the update falls into `r0 = 0; exit`, the latch is laid out after it: one `goto`, the back edge
    expect(text.match(/^goto /gm)?.length).toBe(1);
    expect(text).toMatch(/^lock \*\(u64 \*\)\(r0 \+ 0x0\) \+= r\d\nr0 = 0x0\nexit\nr\d \+= 0x1\ngoto -0x[0-9a-f]+$/m);
    const maps = MapState.fromModule(m);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (ctx) => {
        const want = interpret(m, "prog", ["ctx"], { ctx, maps: maps.clone() });
        const got = runVm(p!.insns, p!.relocations, { module: m, ctx, maps: maps.clone() });
        expect(got.r0).toBe(BigInt.asUintN(64, want.value as bigint));
        expect(got.maps.snapshot()).toEqual(want.maps.snapshot());
        interpret(m, "prog", ["ctx"], { ctx, maps });
      }),
      { numRuns: 100, seed: 16 },
    );
  });
});
