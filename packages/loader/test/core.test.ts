// CO-RE relocation (core.ts) against BTF built here: each kind on each instruction form,
// a target with another layout, flavour suffixes, members inside anonymous members,
// arrays, bit-fields, missing fields (exists = 0, other kinds poisoned), size changes of
// loads, and the checks that refuse a malformed or mis-described object.
import { BtfIndex, encodeBtf, type BtfComposite, type BtfType, type ObjectCoreRelocation } from "@luabpf/elf";
import { describe, expect, it } from "vitest";
import { CORE_POISON_HELPER, CoreError, LoaderError, applyCoreRelocations } from "../src/index.js";
import { lddw, ldxw, movImm, program, slot } from "./asm.js";

const int: BtfType = { kind: "int", name: "int", size: 4, signed: true };
const u32: BtfType = { kind: "int", name: "unsigned int", size: 4, signed: false };
const u64: BtfType = { kind: "int", name: "unsigned long", size: 8, signed: false };
const long: BtfType = { kind: "int", name: "long", size: 8, signed: true };
const char: BtfType = { kind: "int", name: "char", size: 1, signed: true, char: true };
const u16: BtfType = { kind: "int", name: "unsigned short", size: 2, signed: false };

/** The object's view: only the members it accesses, at the offsets it was compiled for. */
function localTask(name = "task_struct"): BtfComposite {
  const task: BtfComposite = { kind: "struct", name, size: 64, members: [] };
  task.members.push(
    { name: "tgid", type: int, bitOffset: 4 * 8 }, // 0
    { name: "real_parent", type: { kind: "ptr", target: task }, bitOffset: 8 * 8 }, // 1
    { name: "comm", type: { kind: "array", elem: char, count: 16 }, bitOffset: 16 * 8 }, // 2
    { name: "flags", type: u32, bitOffset: 32 * 8 }, // 3
    { name: "gone", type: int, bitOffset: 36 * 8 }, // 4
    { name: "state", type: u32, bitOffset: 40 * 8, bitSize: 3 }, // 5
    { name: "prio", type: int, bitOffset: 40 * 8 + 3, bitSize: 5 }, // 6
    { name: "nice", type: int, bitOffset: 44 * 8 }, // 7
  );
  return task;
}

/** The kernel's view: another order, padding, a member inside an anonymous union, wider fields. */
function targetBtf(): { index: BtfIndex; taskId: number } {
  const task: BtfComposite = { kind: "struct", name: "task_struct", size: 256, members: [] };
  const anon: BtfComposite = { kind: "union", name: "", size: 8, members: [{ name: "flags", type: u64, bitOffset: 0 }, { name: "raw", type: u64, bitOffset: 0 }] };
  task.members.push(
    { name: "pad", type: { kind: "array", elem: long, count: 10 }, bitOffset: 0 },
    { name: "comm", type: { kind: "array", elem: char, count: 16 }, bitOffset: 80 * 8 },
    { name: "", type: anon, bitOffset: 96 * 8 },
    { name: "real_parent", type: { kind: "ptr", target: task }, bitOffset: 112 * 8 },
    { name: "tgid", type: { kind: "typedef", name: "pid_t", target: int }, bitOffset: 120 * 8 },
    { name: "state", type: u32, bitOffset: 124 * 8 + 5, bitSize: 3 },
    { name: "prio", type: int, bitOffset: 124 * 8 + 8, bitSize: 5 },
    { name: "nice", type: long, bitOffset: 128 * 8 },
  );
  const color: BtfType = { kind: "enum", name: "color", size: 4, signed: false, values: [{ name: "RED", value: 0 }, { name: "GREEN", value: 7 }] };
  const { bytes, ids } = encodeBtf([task, { kind: "struct", name: "unrelated", size: 4, members: [{ name: "tgid", type: int, bitOffset: 0 }] }, color]);
  return { index: new BtfIndex(bytes), taskId: ids[0]! };
}

const { index: target, taskId } = targetBtf();

function relocate(code: Uint8Array, relocations: ObjectCoreRelocation[], btf = target) {
  return applyCoreRelocations({ name: "p", code, coreRelocations: relocations }, btf);
}
const imm = (code: Uint8Array, at = 0) => new DataView(code.buffer, code.byteOffset).getInt32(at + 4, true);
const off = (code: Uint8Array, at = 0) => new DataView(code.buffer, code.byteOffset).getInt16(at + 2, true);

describe("field relocations", () => {
  const task = localTask();
  const field = (access: string, kind: ObjectCoreRelocation["kind"] = "field_byte_offset", offset = 0): ObjectCoreRelocation => ({ offset, kind, type: task, access });

  it("rewrites a byte offset in a mov, an add, a load and an lddw", () => {
    const { code, results } = relocate(program(movImm(1, 8), slot(0x07, 2, 0, 0, 4), ldxw(3, 1, 4), lddw(4, 8n)), [
      field("0:1", "field_byte_offset", 0),
      field("0:0", "field_byte_offset", 8),
      field("0:0", "field_byte_offset", 16),
      field("0:1", "field_byte_offset", 24),
    ]);
    expect(imm(code, 0)).toBe(112); // real_parent
    expect(imm(code, 8)).toBe(120); // tgid (through a typedef)
    expect(off(code, 16)).toBe(120);
    expect(imm(code, 24)).toBe(112);
    expect(imm(code, 32)).toBe(0); // upper half of the lddw
    expect(results[0]!.description).toBe("struct task_struct.real_parent (0:1) → field_byte_offset 112");
  });

  it("finds a member inside an anonymous union and reports its size", () => {
    const { code } = relocate(program(movImm(1, 32), movImm(2, 4)), [field("0:3", "field_byte_offset", 0), field("0:3", "field_byte_size", 8)]);
    expect([imm(code, 0), imm(code, 8)]).toEqual([96, 8]);
  });

  it("relocates array elements and the root with an index", () => {
    const { code } = relocate(program(movImm(1, 19), movImm(2, 1), movImm(3, 64)), [
      field("0:2:3", "field_byte_offset", 0),
      field("0:2:3", "field_byte_size", 8),
      field("1", "field_byte_offset", 16),
    ]);
    expect([imm(code, 0), imm(code, 8), imm(code, 16)]).toEqual([83, 1, 256]);
  });

  it("answers exists and signedness", () => {
    const { code } = relocate(program(movImm(1, 1), movImm(2, 1), movImm(3, 0), movImm(4, 1)), [
      field("0:2", "field_exists", 0),
      field("0:4", "field_exists", 8),
      field("0:3", "field_signed", 16),
      field("0:0", "field_signed", 24),
    ]);
    expect([imm(code, 0), imm(code, 8), imm(code, 16), imm(code, 24)]).toEqual([1, 0, 0, 1]);
  });

  it("poisons other kinds of a missing field, and both halves of an lddw", () => {
    const { code, results } = relocate(program(movImm(1, 36), lddw(2, 36n)), [field("0:4", "field_byte_offset", 0), field("0:4", "field_byte_offset", 8)]);
    expect(code[0]).toBe(0x85);
    expect(imm(code, 0)).toBe(CORE_POISON_HELPER);
    expect(code[8]).toBe(0x85);
    expect(code[16]).toBe(0x05); // ja +0
    expect(results[0]!.targetValue).toBeUndefined();
    expect(results[0]!.description).toMatch(/not found/);
  });

  it("computes bit-field shifts as libbpf does", () => {
    // local: state = bits 320..322 of a u32 at 40; target: bits 997..999 of a u32 at 124
    const { code } = relocate(program(movImm(1, 40), movImm(2, 4), movImm(3, 61), movImm(4, 61), movImm(5, 59), movImm(6, 59)), [
      field("0:5", "field_byte_offset", 0),
      field("0:5", "field_byte_size", 8),
      field("0:5", "field_lshift_u64", 16),
      field("0:5", "field_rshift_u64", 24),
      field("0:6", "field_lshift_u64", 32),
      field("0:6", "field_rshift_u64", 40),
    ]);
    // state: byte_off 124, size 4, lshift = 64 - (997 + 3 - 992) = 56, rshift = 61
    // prio:  bits 1000..1004 → byte_off 124 (u32 unit), lshift = 64 - (1000 + 5 - 992) = 51, rshift 59
    expect([0, 8, 16, 24, 32, 40].map((at) => imm(code, at))).toEqual([124, 4, 56, 61, 51, 59]);
  });

  it("widens an unsigned load and poisons a signed one whose size changed", () => {
    const { code } = relocate(program(ldxw(1, 2, 32), ldxw(3, 4, 44)), [field("0:3", "field_byte_offset", 0), field("0:7", "field_byte_offset", 8)]);
    expect(code[0]).toBe(0x79); // ldxdw
    expect(off(code, 0)).toBe(96);
    expect(code[8]).toBe(0x85); // int → long: a 4-byte load would read half of it
  });

  it("matches a flavoured local name and ignores types of another name", () => {
    const flavoured = localTask("task_struct___v2");
    const { code } = relocate(program(movImm(1, 4)), [{ offset: 0, kind: "field_byte_offset", type: flavoured, access: "0:0" }]);
    expect(imm(code)).toBe(120);
  });

  it("refuses an instruction that does not hold the local value", () => {
    expect(() => relocate(program(movImm(1, 5)), [field("0:0")])).toThrow(LoaderError);
    expect(() => relocate(program(movImm(1, 5)), [field("0:0")])).toThrow(CoreError);
    // The BTF reader's refusal (a type without a size) is reported as the relocation's, with its place.
    const declared = { kind: "fwd", name: "task_struct", union: false } as const;
    expect(() => relocate(program(movImm(1, 0)), [{ offset: 0, kind: "type_size", type: declared, access: "0" }])).toThrow(CoreError);
    expect(() => relocate(program(movImm(1, 0)), [{ offset: 0, kind: "type_size", type: declared, access: "0" }])).toThrow(/^program p: CO-RE relocation 0 \(type_size .*task_struct 0\): BTF: fwd "task_struct" has no size$/);
    expect(() => relocate(program(movImm(1, 5)), [field("0:0")])).toThrow(/program p: CO-RE relocation 0 \(field_byte_offset struct task_struct 0:0\): the instruction at 0 holds 5, not the local value 4/);
    expect(() => relocate(program(movImm(1, 4)), [field("0:9")])).toThrow(/has no member #9/);
    expect(() => relocate(program(movImm(1, 4)), [field("0:a")])).toThrow(/malformed access string/);
    expect(() => relocate(program(slot(0x95, 0, 0, 0, 0)), [field("0:0")])).toThrow(/cannot relocate the instruction at 0/);
  });

  it("refuses ambiguous candidates", () => {
    const other: BtfComposite = { kind: "struct", name: "task_struct___other", size: 8, members: [{ name: "tgid", type: int, bitOffset: 0 }] };
    const plain: BtfComposite = { kind: "struct", name: "task_struct", size: 8, members: [{ name: "tgid", type: int, bitOffset: 32 }] };
    const btf = new BtfIndex(encodeBtf([plain, other]).bytes);
    expect(() => relocate(program(movImm(1, 4)), [field("0:0")], btf)).toThrow(/ambiguous/);
  });
});

describe("type and enum relocations", () => {
  it("answers type existence, size and the target id", () => {
    const local = localTask();
    const absent: BtfType = { kind: "struct", name: "no_such_type", size: 4, members: [] };
    const { code } = relocate(program(movImm(1, 1), movImm(2, 0), movImm(3, 1), movImm(4, 64), movImm(5, 4)), [
      { offset: 0, kind: "type_exists", type: local, access: "0" },
      { offset: 8, kind: "type_id_target", type: local, access: "0" },
      { offset: 16, kind: "type_exists", type: absent, access: "0" },
      { offset: 24, kind: "type_size", type: local, access: "0" },
      { offset: 32, kind: "type_size", type: absent, access: "0" },
    ]);
    expect([0, 8, 16, 24, 32].map((at) => imm(code, at))).toEqual([1, taskId, 0, 256, 0]);
  });

  it("answers enumerator existence and value", () => {
    const color: BtfType = { kind: "enum", name: "color", size: 4, signed: false, values: [{ name: "GREEN", value: 1 }, { name: "BLUE___x", value: 2 }] };
    const { code } = relocate(program(movImm(1, 1), movImm(2, 1), movImm(3, 1)), [
      { offset: 0, kind: "enumval_value", type: color, access: "0" },
      { offset: 8, kind: "enumval_exists", type: color, access: "1" },
      { offset: 16, kind: "enumval_exists", type: color, access: "0" },
    ]);
    expect([0, 8, 16].map((at) => imm(code, at))).toEqual([7, 0, 1]);
  });
});
