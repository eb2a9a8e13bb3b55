// Instruction selection's narrowing and frame-address folds (isel.ts): a store of N bytes
// takes the value a trunc or low mask narrows, masks and `w = w` zero-extensions are left
// out where the upper bits are known zero, and an alloca plus a constant offset is a frame
// address rematerialised at each use. Each program is checked twice: the shape of its code
// (what the fold removes is not there) and its results against the IR interpreter on
// random contexts and packets (the eBPF VM of vm.ts).
import fc from "fast-check";
import { interpret, MapState, parseModule, type Module } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { compileModule, printProgram } from "../src/index.js";
import { runVm } from "./vm.js";

const compile = (m: Module): { text: string; insns: ReturnType<typeof compileModule>[number]["insns"]; relocations: ReturnType<typeof compileModule>[number]["relocations"] } => {
  const [p] = compileModule(m);
  return { text: printProgram(p!.insns), insns: p!.insns, relocations: p!.relocations };
};

/** Runs `@prog` of `text` in the interpreter and, compiled, in the VM on random contexts and packets. */
function agrees(text: string): void {
  process.env.LUABPF_CHECK_REGALLOC = "1";
  const m = parseModule(text);
  const { insns, relocations } = compile(m);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.uint8Array({ minLength: 60, maxLength: 60 }), (ctx, packet) => {
      const want = interpret(m, "prog", ["ctx"], { packet, ctx, maps: MapState.fromModule(m) });
      const got = runVm(insns, relocations, { module: m, packet, ctx });
      expect(got.r0).toBe(BigInt.asUintN(64, want.value as bigint));
      expect(got.maps.snapshot()).toEqual(want.maps.snapshot());
    }),
    { numRuns: 200, seed: 3 },
  );
}

const STORES = `
func @prog(ptr.ctx %0) -> i64 section "socket" type socket_filter {
@bb0:
  %1 = alloca 8, align 8
  %2 = load i32 %0, 0
  %3 = zext i32 %2 to i64
  %4 = load i32 %0, 4
  %5 = zext i32 %4 to i64
  %6 = shl i64 %5, 32
  %7 = or i64 %6, %3
  %8 = and i64 %7, 4294967295
  %9 = trunc i64 %8 to i32
  store i32 %9, %1, 4
  %10 = lshr i64 %7, 32
  %11 = trunc i64 %10 to i32
  store i32 %11, %1, 0
  %12 = ptradd ptr.stack %1, 2
  %13 = and i64 %7, 255
  %14 = trunc i64 %13 to i8
  store i8 %14, %12, 4
  %15 = load i64 %1, 0
  ret %15
}
`;

const MASKS = `
func @prog(ptr.ctx %0) -> i64 section "socket" type socket_filter {
@bb0:
  %1 = alloca 2, align 2
  %2 = pktload i8 %0, 0, 3
  %3 = zext i8 %2 to i32
  %4 = trunc i32 %3 to i16
  store i16 %4, %1, 0
  %5 = load i16 %1, 0
  %6 = zext i16 %5 to i64
  %7 = and i64 %6, 65535
  %8 = pktload i16 %0, 0, 4
  %9 = zext i16 %8 to i64
  %10 = lshr i64 %9, 4
  %11 = and i64 %10, 4095
  %12 = shl i64 %11, 16
  %13 = or i64 %12, %7
  %14 = trunc i64 %13 to i32
  %15 = zext i32 %14 to i64
  %16 = and i64 %9, 255
  %17 = shl i64 %16, 40
  %18 = xor i64 %15, %17
  ret %18
}
`;

const FRAME = `
map @m : hash, key i32, value i64, max_entries 4, flags 0

func @prog(ptr.ctx %0) -> i64 section "socket" type socket_filter {
@bb0:
  %1 = alloca 16, align 8
  %2 = ptradd ptr.stack %1, 8
  %3 = ptradd ptr.stack %2, 4
  %4 = load i32 %0, 0
  %5 = and i32 %4, 3
  store i32 %5, %3, 0
  store i64 7, %1, 0
  %6 = mapref @m
  %7 = call i64 helper 2 (%6, %3, %1, 0)
  %8 = call ptr.map_value_or_null helper 1 (%6, %3)
  %9 = eq ptr.map_value_or_null %8, 0
  condbr %9, @bb2, @bb1
@bb1:
  %10 = load i64 %8, 0
  ret %10
@bb2:
  ret 0
}
`;

describe("instruction selection: narrowing folds", () => {
  test("a store takes the value a trunc or low mask narrows: no `w = w`, no mask, no -1 constant", () => {
    const { text } = compile(parseModule(STORES));
    expect(text).not.toMatch(/^\s*\d+:\s+w(\d+) = w\1$/m); // no zero-extension of a register in place
    expect(text).not.toMatch(/&=/);
    expect(text).not.toMatch(/= -0x1$/m);
    // the three stores read registers directly: the low half, the high half shifted down, the byte
    expect(text).toMatch(/\*\(u32 \*\)\(r10 - 0x4\) = r\d/);
    expect(text).toMatch(/\*\(u32 \*\)\(r10 - 0x8\) = r\d/);
    expect(text).toMatch(/\*\(u8 \*\)\(r10 - 0x2\) = r\d/); // alloca + 2 + 4: folded into the store's offset
    agrees(STORES);
  });

  test("masks of values whose upper bits are zero are left out (loads, zext, shifts, `or`)", () => {
    const { text } = compile(parseModule(MASKS));
    expect(text).not.toMatch(/&= 0xffff$/m);
    expect(text).not.toMatch(/w(\d+) = w\1$/m);
    expect(text).not.toMatch(/&= 0xfff$/m); // `>> 4` of a 16-bit value leaves 12 bits: 4095 clears none
    expect(text).toMatch(/&= 0xff$/m); // 255 of the 16-bit value does clear bits: kept
    agrees(MASKS);
  });

  test("an alloca plus a constant offset is rematerialised at each use, not kept in r6-r9", () => {
    const { text } = compile(parseModule(FRAME));
    expect(text).not.toMatch(/r[6-9] = r10/);
    expect(text.match(/r2 = r10\n.*r2 \+= -0x4$/gm)?.length).toBe(2); // both calls' key argument: r10 - 16 + 8 + 4
    expect(text).toMatch(/\*\(u32 \*\)\(r10 - 0x4\) = /);
    agrees(FRAME);
  });
});
