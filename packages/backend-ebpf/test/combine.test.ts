// Instruction selection's byte-swap patterns (combine.ts): `(bswapN a << N) | bswapN b` is one
// swap of `(b << N) | a`, and two adjacent packet loads of N bits are one big-endian load of
// 2N bits where the verifier's strict alignment rule allows it. Swap pairs run against the IR
// interpreter in the eBPF VM (random contexts); packet loads run on the kernel (XDP test
// runs, loaded with BPF_F_STRICT_ALIGNMENT) against the interpreter on random packets.
import fc from "fast-check";
import { interpret, MapState, parseModule } from "@luabpf/ir";
import { kernelOrSkip, loadObject, VerifierError } from "@luabpf/loader";
import { ProgFlag } from "@luabpf/platform";
import { describe, expect, test } from "vitest";
import { compileModule, packageObject, printProgram } from "../src/index.js";
import { runVm } from "./vm.js";

const PAIRS = `
func @pair64(ptr.ctx %0) -> i64 section "socket" type socket_filter {
@bb0:
  %1 = load i32 %0, 0
  %2 = bswap i32 %1
  %3 = zext i32 %2 to i64
  %4 = shl i64 %3, 32
  %5 = load i32 %0, 8
  %6 = bswap i32 %5
  %7 = zext i32 %6 to i64
  %8 = or i64 %4, %7
  ret %8
}

func @pair32(ptr.ctx %0) -> i64 section "socket" type socket_filter {
@bb0:
  %1 = load i16 %0, 2
  %2 = bswap i16 %1
  %3 = zext i16 %2 to i32
  %4 = shl i32 %3, 16
  %5 = load i16 %0, 12
  %6 = bswap i16 %5
  %7 = zext i16 %6 to i32
  %8 = or i32 %7, %4
  %9 = zext i32 %8 to i64
  ret %9
}

func @shared(ptr.ctx %0) -> i64 section "socket" type socket_filter {
@bb0:
  %1 = load i32 %0, 0
  %2 = bswap i32 %1
  %3 = zext i32 %2 to i64
  %4 = shl i64 %3, 32
  %5 = load i32 %0, 8
  %6 = bswap i32 %5
  %7 = zext i32 %6 to i64
  %8 = or i64 %4, %7
  %9 = xor i64 %8, %4
  ret %9
}
`;

describe("swap pairs", () => {
  test("`(bswapN a << N) | bswapN b` is `b << N | a` swapped whole; a shift used twice is left alone", () => {
    process.env.LUABPF_CHECK_REGALLOC = "1";
    const m = parseModule(PAIRS);
    const programs = compileModule(m);
    const text = (name: string): string => printProgram(programs.find((p) => p.name === name)!.insns);
    expect(text("pair64")).toMatch(/^(r\d) <<= 0x20\n\1 \|= r\d\n\1 = be64 \1$/m);
    expect(text("pair64")).not.toMatch(/be32/);
    expect(text("pair32")).toMatch(/^(r\d) <<= 0x10\n\1 \|= r\d\n\1 = be32 \1$/m);
    expect(text("pair32")).not.toMatch(/be16/);
    expect(text("shared")).toMatch(/be32[^]*be32/); // the shift feeds the xor too: each half swapped on its own
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (ctx) => {
        for (const p of programs) {
          const want = interpret(m, p.name, ["ctx"], { ctx, maps: new MapState() });
          const got = runVm(p.insns, p.relocations, { module: m, ctx });
          expect(got.r0, p.name).toBe(BigInt.asUintN(64, want.value as bigint));
        }
      }),
      { numRuns: 100, seed: 16 },
    );
  });
});

/**
 * An XDP program reading, after its bounds checks: the ports after a variable-length IPv4
 * header (ihl · 4 from offset 14: 4-aligned with NET_IP_ALIGN) as two 16-bit loads, the
 * addresses (offset 26: 4-aligned, not 8) and bytes 30..37 (8-aligned) as two 32-bit loads each.
 */
const XDP = `
func @xdp(ptr.ctx %0) -> i64 section "xdp" type xdp {
@bb0:
  %1 = load ptr.packet %0, 0
  %2 = load ptr.packet_end %0, 4
  %3 = ptradd ptr.packet %1, 14
  %4 = ptradd ptr.packet %1, 98
  %5 = ugt ptr.packet %4, %2
  condbr %5, @bb2, @bb1
@bb1:
  %10 = load i8 %3, 0
  %11 = zext i8 %10 to i64
  %12 = and i64 %11, 15
  %13 = shl i64 %12, 2
  %14 = add i64 %13, 14
  %15 = ptradd ptr.packet %1, %14
  %16 = ptradd ptr.packet %15, 4
  %17 = ugt ptr.packet %16, %2
  condbr %17, @bb2, @bb3
@bb3:
  %20 = load i16 %15, 0
  %21 = bswap i16 %20
  %22 = zext i16 %21 to i64
  %23 = shl i64 %22, 16
  %24 = load i16 %15, 2
  %25 = bswap i16 %24
  %26 = zext i16 %25 to i64
  %27 = or i64 %23, %26
  %30 = load i32 %3, 12
  %31 = bswap i32 %30
  %32 = zext i32 %31 to i64
  %33 = shl i64 %32, 32
  %34 = load i32 %3, 16
  %35 = bswap i32 %34
  %36 = zext i32 %35 to i64
  %37 = or i64 %33, %36
  %40 = load i32 %1, 30
  %41 = bswap i32 %40
  %42 = zext i32 %41 to i64
  %43 = shl i64 %42, 32
  %44 = load i32 %1, 34
  %45 = bswap i32 %44
  %46 = zext i32 %45 to i64
  %47 = or i64 %43, %46
  %50 = xor i64 %27, %37
  %51 = lshr i64 %37, 32
  %52 = xor i64 %50, %51
  %53 = mul i64 %47, 31
  %54 = xor i64 %52, %53
  %55 = lshr i64 %47, 29
  %56 = xor i64 %54, %55
  %57 = and i64 %56, 4294967295
  ret %57
@bb2:
  ret 2
}
`;

/** An 8-byte load at packet offset 26: misaligned for the verifier's strict rule (26 + 2 is not a multiple of 8). */
const MISALIGNED = `
func @xdp(ptr.ctx %0) -> i64 section "xdp" type xdp {
@bb0:
  %1 = load ptr.packet %0, 0
  %2 = load ptr.packet_end %0, 4
  %4 = ptradd ptr.packet %1, 34
  %5 = ugt ptr.packet %4, %2
  condbr %5, @bb2, @bb1
@bb1:
  %6 = load i64 %1, 26
  %7 = and i64 %6, 255
  ret %7
@bb2:
  ret 2
}
`;

const kernel = kernelOrSkip();

describe("wide packet loads", () => {
  test("adjacent loads become one where strict alignment allows it (ports: u32, bytes 30..37: u64), a swap pair where not (addresses)", () => {
    const m = parseModule(XDP);
    const [p] = compileModule(m);
    const text = printProgram(p!.insns);
    expect(text).toMatch(/^(r\d) = \*\(u32 \*\)\(r\d \+ 0x0\)\n\1 = be32 \1$/m); // the ports at the variable offset
    expect(text).toMatch(/^(r\d) = \*\(u64 \*\)\(r\d \+ 0x1e\)\n\1 = be64 \1$/m); // bytes 30..37
    expect(text.match(/\*\(u64 \*\)/g)?.length).toBe(1); // not the addresses at 26
    expect(text).not.toMatch(/\*\(u16 \*\)/);
    expect(text.match(/be64/g)?.length).toBe(2);
  });

  test.skipIf(!kernel)("the kernel accepts them under BPF_F_STRICT_ALIGNMENT and computes what the interpreter computes", () => {
    const m = parseModule(XDP);
    const obj = loadObject(packageObject(m, compileModule(m)), { progFlags: ProgFlag.strictAlignment });
    try {
      const prog = [...obj.programs.values()][0]!;
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 98, maxLength: 128 }), fc.integer({ min: 0, max: 15 }), (packet, ihl) => {
          packet[14] = (packet[14]! & 0xf0) | Math.min(ihl, 14); // ports within the 98 checked bytes
          const want = interpret(m, "xdp", ["ctx"], {
            ctx: new Uint8Array(24),
            packet,
            ctxPointers: [
              { offset: 0, kind: "packet" },
              { offset: 4, kind: "packet_end" },
            ],
          });
          expect(BigInt(prog.testRun(packet).retval)).toBe(BigInt.asUintN(32, want.value as bigint));
        }),
        { numRuns: 40, seed: 16 },
      );
    } finally {
      obj.close();
    }
  });

  test.skipIf(!kernel)("why the rule matters: an 8-byte packet load at offset 26 is refused under strict alignment", () => {
    const m = parseModule(MISALIGNED);
    const object = packageObject(m, compileModule(m));
    loadObject(object).close(); // this machine allows it by default
    expect(() => loadObject(object, { progFlags: ProgFlag.strictAlignment })).toThrow(VerifierError);
    try {
      loadObject(object, { progFlags: ProgFlag.strictAlignment });
    } catch (e) {
      expect((e as VerifierError).log).toMatch(/misaligned packet access/);
    }
  });
});
