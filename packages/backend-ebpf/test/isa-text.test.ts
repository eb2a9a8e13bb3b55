// Validation errors, decoder errors, parser details, listings with symbols, and a property test:
// a random instruction of every form survives encode/decode and print/parse.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  INSN_FORMS, LDDW_CODE, callLocal, checkInsn, decodeInsns, encodeInsns, exit, jmp32Imm, lddw, ldInd, ldMapFd, ldxMem,
  mov32Imm, mov64Imm, parseInsn, parseProgram, printInsn, printProgram, printSectionListing, stxMem,
  type Insn, type InsnForm,
} from "../src/isa/index.js";

describe("validation", () => {
  it("rejects out-of-range fields and unknown forms with clear messages", () => {
    expect(() => encodeInsns([exit(), mov64Imm(11, 0)])).toThrow(/cannot encode instruction 1: .*dst r11 is not a register \(0\.\.10\)/);
    expect(() => encodeInsns([ldxMem("W", 1, 12, 0)])).toThrow(/src r12 is not a register/);
    expect(() => encodeInsns([ldxMem("W", 1, 2, 40000)])).toThrow(/off 40000 does not fit in int16/);
    expect(() => encodeInsns([mov64Imm(1, 2 ** 31)])).toThrow(/imm 2147483648 does not fit in int32/);
    expect(() => encodeInsns([{ code: 0xff, dst: 0, src: 0, off: 0, imm: 0 }])).toThrow(/no instruction form has opcode 0xff/);
    expect(() => encodeInsns([{ ...exit(), dst: 1 }])).toThrow(/jmp\.exit does not use dst, which must be 0/);
    expect(() => encodeInsns([{ ...ldxMem("W", 1, 2, 0), imm: 3 }])).toThrow(/ldx\.w does not use imm, which must be 0/);
    expect(() => encodeInsns([{ ...mov64Imm(1, 0), off: 8 }])).toThrow(/no instruction form matches off=8 imm=0 src=0 for opcode 0xb7; it needs alu64\.mov\.k \(off=0\)/);
    expect(() => encodeInsns([{ code: LDDW_CODE, dst: 1, src: 0, off: 0, imm: 0 }])).toThrow(/lddw needs imm64/);
    expect(() => encodeInsns([{ ...lddw(1, 0n), imm: 5 }])).toThrow(/imm must be 0/);
    expect(() => encodeInsns([{ ...exit(), imm64: 1n }])).toThrow(/only lddw has imm64/);
    expect(() => encodeInsns([{ ...lddw(1, 0n), src: 7 }])).toThrow(/pseudo src 7 is not 0\.\.6/);
    expect(() => encodeInsns([{ ...callLocal(1), src: 3 }])).toThrow(/call src 3/);
  });

  it("selects sdiv, movsx and byte swaps by off/imm, and rejects other selector values", () => {
    expect(checkInsn({ code: 0x3f, dst: 1, src: 2, off: 1, imm: 0 }).name).toBe("alu64.sdiv.x");
    expect(checkInsn({ code: 0xbf, dst: 1, src: 2, off: 16, imm: 0 }).name).toBe("alu64.movsx16");
    expect(() => checkInsn({ code: 0x3f, dst: 1, src: 2, off: 2, imm: 0 })).toThrow(/no instruction form/);
    expect(() => checkInsn({ code: 0xbc, dst: 1, src: 2, off: 32, imm: 0 })).toThrow(/no instruction form/);
    expect(() => checkInsn({ code: 0xdc, dst: 1, src: 0, off: 0, imm: 8 })).toThrow(/no instruction form/);
    expect(() => checkInsn({ code: 0xdb, dst: 1, src: 2, off: 0, imm: 0x02 })).toThrow(/no instruction form/);
  });
});

describe("decoder errors", () => {
  const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
  it("names the slot and its bytes", () => {
    expect(() => decodeInsns(bytes(1, 2, 3))).toThrow(/3 bytes: not a multiple of 8/);
    expect(() => decodeInsns(encodeInsns([lddw(1, 5n)]).subarray(0, 8))).toThrow(/slot 0 .*missing its second slot/);
    const badSecond = encodeInsns([lddw(1, 5n)]);
    badSecond[9] = 0x01;
    expect(() => decodeInsns(badSecond)).toThrow(/second slot of lddw must have zero code, registers and off/);
    const unknown = encodeInsns([exit(), exit()]);
    unknown[8] = 0x8f;
    expect(() => decodeInsns(unknown)).toThrow(/cannot decode slot 1 \(8f 00 00 00 00 00 00 00\): .*no instruction form/);
  });

  it("decodes lddw immediates with both halves", () => {
    expect(decodeInsns(encodeInsns([lddw(1, 0x8000_0000_ffff_fffen)]))).toEqual([lddw(1, -0x7fff_ffff_0000_0002n)]);
  });
});

describe("parser", () => {
  it("accepts decimal, upper-case hex, extra blanks and objdump's target annotation", () => {
    expect(parseInsn("  r1 = *(u32 *)(r2 - 16)  ")).toEqual(ldxMem("W", 1, 2, -16));
    expect(parseInsn("r1  =  0XFF")).toEqual(mov64Imm(1, 255));
    expect(parseInsn("if w1 s< -0x1 goto +0x2 <LBB0_4>")).toEqual(jmp32Imm("jslt", 1, -1, 2));
    expect(parseInsn("w3 = 4294967295")).toEqual(mov32Imm(3, -1));
    expect(parseInsn("*(u16 *)(r10 - 0x2) = w4")).toEqual(stxMem("H", 10, 4, -2));
  });

  it("rejects malformed text with the reason", () => {
    expect(() => parseInsn("r1 = frobnicate")).toThrow(/not an eBPF instruction/);
    expect(() => parseInsn("r11 = 0x1")).toThrow(/register number 11 is out of range 0\.\.10/);
    expect(() => parseInsn("r1 = *(u32 *)(r2 + 0x8000)")).toThrow(/offset \+0x8000 is out of range -32768\.\.32767/);
    expect(() => parseInsn("r1 = 0x100000000")).toThrow(/immediate 0x100000000 is out of range/);
    expect(() => parseInsn("r1 = be16 r2")).toThrow(/dst is given two different values/);
    expect(() => parseInsn("ld_pseudo\tr1, 0x0, 0x5")).toThrow(/non-zero pseudo source/);
    expect(() => parseProgram("exit\n\nr1 = ?\n")).toThrow(/^line 3: /);
  });

  it("parses programs with comments and prints them back", () => {
    const text = "# prologue\nr1 = 0x0 ll\n  w0 = 0x1   # one\nexit\n";
    const insns = parseProgram(text);
    expect(insns).toEqual([lddw(1, 0n), mov32Imm(0, 1), exit()]);
    expect(printProgram(insns)).toBe("r1 = 0x0 ll\nw0 = 0x1\nexit\n");
  });

  it("extends LLVM's syntax where it would lose a field, and says what text drops", () => {
    expect(printInsn(ldInd("W", 3, 4))).toBe("r0 = *(u32 *)skb[r3 + 0x4]");
    expect(parseInsn("r0 = *(u32 *)skb[r3 - 4]")).toEqual(ldInd("W", 3, -4));
    const mapValue = lddw(1, 0x9_0000_0007n, 2);
    expect(printInsn(mapValue)).toBe("ld_pseudo\tr1, 0x2, 0x7, 0x9");
    expect(parseInsn(printInsn(mapValue))).toEqual(mapValue);
    expect(printInsn(ldMapFd(1))).toBe("ld_pseudo\tr1, 0x1, 0x0");
    // LLVM prints BPF-to-BPF calls as `call -0x1` without src, so text does not carry it.
    expect(parseInsn(printInsn(callLocal(-1)))).toEqual({ ...callLocal(-1), src: 0 });
  });
});

describe("listing", () => {
  it("prints symbols and jump annotations like llvm-objdump -d", () => {
    // The `socket` section of a clang-16 -O2 -mcpu=v3 object, as llvm-objdump-16 -d printed it.
    const insns: Insn[] = [
      lddw(1, 0n), ldxMem("W", 1, 1, 0), mov32Imm(0, 2), jmp32Imm("jeq", 1, 0, 1), mov32Imm(0, 3), exit(),
    ];
    const expected =
      "Disassembly of section socket:\n" +
      "\n0000000000000000 <a>:\n" +
      "       0:\t18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00\tr1 = 0x0 ll\n" +
      "       2:\t61 11 00 00 00 00 00 00\tr1 = *(u32 *)(r1 + 0x0)\n" +
      "       3:\tb4 00 00 00 02 00 00 00\tw0 = 0x2\n" +
      "       4:\t16 01 01 00 00 00 00 00\tif w1 == 0x0 goto +0x1 <LBB0_2>\n" +
      "       5:\tb4 00 00 00 03 00 00 00\tw0 = 0x3\n" +
      "\n0000000000000030 <LBB0_2>:\n" +
      "       6:\t95 00 00 00 00 00 00 00\texit\n";
    expect(printSectionListing({ name: "socket", insns, symbols: [{ slot: 6, name: "LBB0_2" }, { slot: 0, name: "a" }] })).toBe(expected);
  });

  it("annotates targets between symbols as symbol+offset and omits targets before any symbol", () => {
    const insns = [jmp32Imm("jeq", 1, 0, -1), jmp32Imm("jeq", 1, 0, 1), exit(), exit()];
    const listing = printSectionListing({ name: ".text", insns, symbols: [{ slot: 1, name: "f" }] }, { hex: false });
    expect(listing).toContain("\tif w1 == 0 goto -1\n");
    expect(listing).toContain("\tif w1 == 0 goto +1 <f+0x10>\n");
  });
});

/** A random valid instruction of a form: operand fields random in range, selector fields fixed. */
function arbitraryInsn(form: InsnForm): fc.Arbitrary<Insn> {
  const reg = fc.integer({ min: 0, max: 10 });
  const has = (field: "dst" | "src" | "off" | "imm"): boolean => form.operands.has(field) && !form.unprinted.includes(field);
  return fc.record({
    dst: has("dst") ? reg : fc.constant(0),
    src: form.name === "ld.pseudo" ? fc.integer({ min: 1, max: 6 }) : has("src") ? reg : fc.constant(0),
    off: form.select.off !== undefined ? fc.constant(form.select.off) : has("off") ? fc.integer({ min: -0x8000, max: 0x7fff }) : fc.constant(0),
    imm: form.select.imm !== undefined ? fc.constant(form.select.imm)
      : has("imm") && form.code !== LDDW_CODE ? fc.integer({ min: -0x80000000, max: 0x7fffffff }) : fc.constant(0),
    imm64: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  }).map(({ imm64, ...fields }) => (form.code === LDDW_CODE ? { code: form.code, ...fields, imm64 } : { code: form.code, ...fields }));
}

describe("property: every form round-trips", () => {
  for (const form of INSN_FORMS) {
    it(form.name, () => {
      fc.assert(
        fc.property(arbitraryInsn(form), fc.boolean(), fc.boolean(), (insn, hex, subregisters) => {
          expect(checkInsn(insn).name).toBe(form.name);
          expect(decodeInsns(encodeInsns([insn]))).toEqual([insn]);
          expect(parseInsn(printInsn(insn, { hex, subregisters }))).toEqual(insn);
        }),
        { numRuns: 50 },
      );
    });
  }
});
