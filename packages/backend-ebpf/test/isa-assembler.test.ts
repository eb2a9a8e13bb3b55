// Symbolic assembler: label resolution across two-slot lddw, offset range checks, relocation slots.

import { describe, expect, it } from "vitest";
import {
  asmInsn, asmJump, asmLabel, asmReloc, assemble, decodeInsns, encodeInsns, exit, gotol, ja, jmp32Reg, jmpImm, jmpReg, JumpRangeError, lddw,
  ldMapFd, mov64Imm, movsx64, type AsmItem, type Insn,
} from "../src/isa/index.js";

describe("assemble", () => {
  it("copies the items' instructions unless told to adopt them (same output either way)", () => {
    const items = (): AsmItem[] => [asmReloc(ldMapFd(2), "counters"), asmInsn(mov64Imm(0, 1)), asmJump(ja(0), "out"), asmLabel("out"), asmInsn(exit())];
    const given = items();
    const copied = assemble(given);
    const adopted = assemble(given, { adopt: true });
    expect(adopted).toEqual(copied);
    for (const k of [0, 1, 4]) {
      const item = given[k] as { insn: Insn };
      expect(copied.insns.includes(item.insn)).toBe(false);
      expect(adopted.insns.includes(item.insn)).toBe(true);
    }
  });

  it("resolves a forward jump across a lddw (two slots)", () => {
    const { insns, relocations, labels } = assemble([
      asmJump(jmpImm("jeq", 1, 0, 0), "out"), // slot 0
      asmReloc(ldMapFd(2), "counters"), // slots 1-2
      asmInsn(mov64Imm(0, 1)), // slot 3
      asmLabel("out"),
      asmInsn(exit()), // slot 4
    ]);
    expect(insns[0]).toEqual(jmpImm("jeq", 1, 0, 3));
    expect(labels.get("out")).toBe(4);
    expect(relocations).toEqual([{ slot: 1, symbol: "counters" }]);
  });

  it("resolves a backward jump across a lddw", () => {
    const { insns } = assemble([
      asmLabel("top"),
      asmInsn(lddw(1, 0x1_0000_0000n)), // slots 0-1
      asmInsn(mov64Imm(0, 1)), // slot 2
      asmJump(ja(0), "top"), // slot 3: off = 0 - 4
      asmJump(gotol(0), "top"), // slot 4: imm = 0 - 5
    ]);
    expect(insns[2]).toEqual(ja(-4));
    expect(insns[3]).toEqual(gotol(-5));
  });

  it("resolves a jump to the next instruction as off 0 and to itself as -1", () => {
    const { insns } = assemble([asmJump(ja(9), "next"), asmLabel("next"), asmLabel("self"), asmJump(jmp32Reg("jne", 1, 2, 9), "self")]);
    expect(insns.map((i) => i.off)).toEqual([0, -1]);
  });

  it("reports relocation slots in 8-byte units, counting earlier lddw as two slots", () => {
    const { insns, relocations } = assemble([
      asmReloc(ldMapFd(1), "a"),
      asmInsn(lddw(2, 5n)),
      asmInsn(mov64Imm(3, 0)),
      asmReloc(ldMapFd(4), "b"),
      asmInsn(exit()),
    ]);
    expect(relocations).toEqual([{ slot: 0, symbol: "a" }, { slot: 5, symbol: "b" }]); // a: 0-1, lddw: 2-3, mov: 4
    const bytes = encodeInsns(insns);
    for (const r of relocations) expect(bytes[r.slot * 8]).toBe(0x18);
    expect(decodeInsns(bytes)).toEqual(insns);
  });

  it("accepts offsets at the int16 limits and rejects one beyond, naming the label", () => {
    const filler = (n: number): AsmItem[] => Array.from({ length: n }, () => asmInsn(mov64Imm(0, 0)));
    expect(assemble([asmJump(ja(0), "far"), ...filler(32767), asmLabel("far"), asmInsn(exit())]).insns[0]!.off).toBe(32767);
    expect(() => assemble([asmJump(ja(0), "far"), ...filler(32768), asmLabel("far"), asmInsn(exit())])).toThrow(
      /item 0 \(slot 0\): jump to "far" is 32768 slots away, beyond the int16 range/,
    );
    const back = assemble([asmLabel("top"), ...filler(32767), asmJump(ja(0), "top")]);
    expect(back.insns.at(-1)!.off).toBe(-32768);
    expect(() => assemble([asmLabel("top"), ...filler(32768), asmJump(ja(0), "top")])).toThrow(/-32769 slots away/);
    // gotol carries a 32-bit offset, so the same distance is fine.
    expect(assemble([asmJump(gotol(0), "far"), ...filler(40000), asmLabel("far")]).insns[0]!.imm).toBe(40000);
  });

  it("rejects undefined and duplicate labels, non-jumps and non-lddw relocations", () => {
    expect(() => assemble([asmJump(ja(0), "nowhere")])).toThrow(/undefined label "nowhere"/);
    expect(() => assemble([asmLabel("x"), asmLabel("x")])).toThrow(/item 1: label "x" is defined twice/);
    expect(() => assemble([asmLabel("x"), asmJump(exit(), "x")])).toThrow(/is not a relative jump/);
    expect(() => assemble([asmReloc(mov64Imm(1, 0), "m")])).toThrow(/relocation against "m" needs a lddw/);
    expect(() => assemble([asmInsn({ ...exit(), dst: 3 })])).toThrow(/item 0 \(slot 0\): invalid instruction/);
  });

  it("does not mutate its input", () => {
    const jump = ja(0);
    assemble([asmJump(jump, "l"), asmLabel("l")]);
    expect(jump).toEqual(ja(0));
  });

  it("handles long programs", () => {
    const items: AsmItem[] = [];
    for (let i = 0; i < 50_000; i++) {
      items.push(asmLabel(`l${i}`), asmReloc(ldMapFd(1), `m${i}`), asmJump(jmpImm("jeq", 1, 0, 0), `l${Math.max(0, i - 1)}`));
    }
    const { insns, relocations } = assemble(items);
    expect(insns).toHaveLength(100_000);
    expect(relocations[49_999]).toEqual({ slot: 3 * 49_999, symbol: "m49999" });
    // Label l(i) is at slot 3i, the jump of iteration i at 3i + 2 targets l(i-1): off = 3(i-1) - (3i + 3) = -6.
    expect(insns[99_999]!.off).toBe(-6);
  });
});

describe("branch relaxation (-mcpu=v4)", () => {
  const filler = (n: number): AsmItem[] => Array.from({ length: n }, () => asmInsn(mov64Imm(0, 0)));
  /** The slot a jump at `slot` lands on, following gotol's imm and other jumps' off. */
  const landing = (insns: Insn[], slot: number): number => slot + 1 + (insns[slot]!.code === gotol(0).code ? insns[slot]!.imm : insns[slot]!.off);

  it("turns an out-of-range ja into gotol and keeps in-range jumps short", () => {
    const { insns, labels } = assemble([asmJump(ja(0), "near"), asmLabel("near"), asmJump(ja(0), "far"), ...filler(40_000), asmLabel("far"), asmInsn(exit())], { cpu: 4 });
    expect(insns[0]).toEqual(ja(0));
    expect(insns[1]).toEqual(gotol(40_000));
    expect(landing(insns, 1)).toBe(labels.get("far"));
  });

  it("turns an out-of-range conditional jump into the opposite condition over a gotol (jset: jset, ja, gotol)", () => {
    const items: AsmItem[] = [asmJump(jmpImm("jgt", 1, 5, 0), "far"), asmJump(jmpImm("jset", 2, 4, 0), "far"), ...filler(40_000), asmLabel("far"), asmInsn(exit())];
    const { insns, labels } = assemble(items, { cpu: 4 });
    const far = labels.get("far")!;
    // jgt r1, 5 far  =>  jle r1, 5, +1; gotol far
    expect(insns[0]).toEqual(jmpImm("jle", 1, 5, 1));
    expect(landing(insns, 1)).toBe(far);
    // jset r2, 4 far  =>  jset r2, 4, +1; ja +1; gotol far
    expect(insns[2]).toEqual(jmpImm("jset", 2, 4, 1));
    expect(insns[3]).toEqual(ja(1));
    expect(landing(insns, 4)).toBe(far);
    expect(far).toBe(5 + 40_000);
  });

  it("reports every item's slot after relaxation (what the line table is built from)", () => {
    const items: AsmItem[] = [asmJump(jmpImm("jgt", 1, 5, 0), "far"), asmJump(jmpImm("jset", 2, 4, 0), "far"), asmInsn(lddw(1, 7n)), ...filler(40_000), asmLabel("far"), asmInsn(exit())];
    const { itemSlots, labels } = assemble(items, { cpu: 4 });
    // jgt grew to 2 slots, jset to 3, lddw takes 2.
    expect(itemSlots.slice(0, 4)).toEqual([0, 2, 5, 7]);
    expect(itemSlots[items.length - 2]).toBe(labels.get("far"));
    expect(itemSlots[items.length - 1]).toBe(labels.get("far"));
    expect(assemble(items.slice(2)).itemSlots.slice(0, 2)).toEqual([0, 2]);
  });

  it("relaxes again when growing one jump pushes another out of range", () => {
    // The second jump is exactly in range until the first (backward, far) one grows by a slot.
    const items: AsmItem[] = [asmLabel("top"), ...filler(40_000), asmJump(jmpReg("jeq", 1, 2, 0), "top"), asmJump(ja(0), "end"), ...filler(32_767), asmLabel("end"), asmInsn(exit())];
    const short = assemble(items.filter((_, k) => k !== 40_001), { cpu: 4 });
    expect(short.insns[40_000]).toEqual(ja(32_767));
    const { insns, labels } = assemble(items, { cpu: 4 });
    expect(insns[40_000]).toEqual(jmpReg("jne", 1, 2, 1));
    expect(landing(insns, 40_001)).toBe(labels.get("top"));
    expect(landing(insns, 40_002)).toBe(labels.get("end"));
  });

  it("below v4 an out-of-range jump is a JumpRangeError with its distance, and newer instructions are refused", () => {
    const items = [asmJump(ja(0), "far"), ...filler(40_000), asmLabel("far"), asmInsn(exit())];
    expect(() => assemble(items, { cpu: 3 })).toThrow(JumpRangeError);
    try {
      assemble(items, { cpu: 3 });
    } catch (e) {
      expect((e as JumpRangeError).distance).toBe(40_000);
    }
    expect(() => assemble([asmInsn(movsx64(1, 2, 8)), asmInsn(exit())], { cpu: 3 })).toThrow(/needs cpu v4, the target is v3/);
    expect(assemble([asmInsn(movsx64(1, 2, 8)), asmInsn(exit())], { cpu: 4 }).insns).toHaveLength(2);
  });
});
