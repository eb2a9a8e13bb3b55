// BTF of an object: map keys and values typed by their C types (signed integers signed,
// records with bit-fields and self-references, enums, typedefs), programs typed
// `int name(struct CTX *param)` with the context struct laid out from the platform table;
// read back by bpftool and accepted by libbpf and the kernel without the
// `arg#0 reference type('UNKNOWN ')` complaint.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readObject, writeObject, type BtfComposite, type BtfType } from "@luabpf/elf";
import { Builder, C_INTS, cArrayOf, cPointerTo, cTypedefOf, i32, i64, Module, ptrType, type CRecord, type CType, type DataType } from "@luabpf/ir";
import { kernelOrSkip } from "@luabpf/loader";
import { SK_BUFF, XDP_MD } from "@luabpf/platform";
import { describe, expect, test } from "vitest";
import { BtfTypes, compileModule, packageObject } from "../src/index.js";

/** `struct node { int value; struct node *next; unsigned flags : 3; unsigned mode : 5; }` (clang layout). */
function nodeRecord(): CRecord {
  const node: CRecord = { kind: "struct", tag: "node", members: undefined, size: 0, align: 1, constants: new Map() };
  node.members = [
    { name: "value", type: C_INTS.int, offset: 0 },
    { name: "next", type: cPointerTo(node), offset: 8 },
    { name: "flags", type: C_INTS["unsigned int"], offset: 16, bitOffset: 128, bitSize: 3 },
    { name: "mode", type: C_INTS["unsigned int"], offset: 16, bitOffset: 131, bitSize: 5 },
  ];
  node.size = 24;
  node.align = 8;
  return node;
}

/** A module with one program of type `type` (section `section`) returning 0 and one map. */
function module(type: string, section: string, key: { data: DataType; c?: CType }, value: { data: DataType; c?: CType }): Module {
  const m = new Module();
  m.addMap({ name: "m", kind: "hash", key: key.data, value: value.data, maxEntries: 4, flags: 0, ...(key.c ? { keyType: key.c } : {}), ...(value.c ? { valueType: value.c } : {}) });
  const fn = m.addFunction("prog", [ptrType("ctx")], i64);
  fn.params[0]!.name = "skb";
  fn.program = { section, type };
  const b = new Builder(fn).atEnd(fn.createBlock());
  b.ret(fn.constant(i64, 0n));
  return m;
}

describe("C types to BTF", () => {
  test("integers keep their names and signedness; typedefs, arrays, pointers and records translate", () => {
    const t = new BtfTypes();
    expect(t.ofC(C_INTS.int)).toEqual({ kind: "int", name: "int", size: 4, signed: true });
    expect(t.ofC(C_INTS["unsigned long long"])).toEqual({ kind: "int", name: "unsigned long long", size: 8, signed: false });
    // As clang: char is SIGNED without BTF_INT_CHAR (the kernel refuses two encoding bits).
    expect(t.ofC(C_INTS.char)).toEqual({ kind: "int", name: "char", size: 1, signed: true });
    expect(t.ofC(cTypedefOf("s32", C_INTS.int))).toEqual({ kind: "typedef", name: "s32", target: { kind: "int", name: "int", size: 4, signed: true } });
    expect(t.ofC(cArrayOf(C_INTS.short, 3))).toEqual({ kind: "array", elem: { kind: "int", name: "short", size: 2, signed: true }, count: 3 });
    const node = t.ofC(nodeRecord()) as BtfComposite;
    expect(node).toMatchObject({ kind: "struct", name: "node", size: 24 });
    expect(node.members.map((m) => [m.name, m.bitOffset, m.bitSize])).toEqual([
      ["value", 0, undefined],
      ["next", 64, undefined],
      ["flags", 128, 3],
      ["mode", 131, 5],
    ]);
    // The self-reference is the record itself, not a copy.
    expect((node.members[1]!.type as { target: BtfType }).target).toBe(node);
    // An incomplete record is a forward declaration.
    expect(t.ofC({ kind: "union", tag: "u", members: undefined, size: 0, align: 1, constants: new Map() })).toEqual({ kind: "fwd", name: "u", union: true });
  });

  test("the context struct has the platform table's layout and size", () => {
    const skb = new BtfTypes().context("__sk_buff") as BtfComposite;
    expect(skb.size).toBe(SK_BUFF.size);
    expect(skb.members.map((m) => [m.name, m.bitOffset / 8])).toEqual(SK_BUFF.fields.map((f) => [f.name, f.offset]));
    expect(skb.members.find((m) => m.name === "cb")!.type).toMatchObject({ kind: "array", count: 5, elem: { kind: "typedef", name: "__u32" } });
    const xdp = new BtfTypes().context("xdp_md") as BtfComposite;
    expect(xdp.members.map((m) => m.name)).toEqual(XDP_MD.fields.map((f) => f.name));
    expect(new BtfTypes().context("bpf_sock_ops")).toEqual({ kind: "fwd", name: "bpf_sock_ops", union: false });
  });
});

describe("object BTF", () => {
  test.each([
    ["socket_filter", "socket", "__sk_buff"],
    ["sched_cls", "tc", "__sk_buff"],
    ["xdp", "xdp", "xdp_md"],
    ["kprobe", "kprobe/do_nanosleep", "pt_regs"],
  ])("a %s program (section %s) is int prog(struct %s *skb)", (type, section, ctx) => {
    const m = module(type, section, { data: i32, c: C_INTS.int }, { data: i64, c: C_INTS.long });
    const object = readObject(writeObject(packageObject(m, compileModule(m))));
    const proto = object.programs[0]!.proto!;
    expect(proto.ret).toEqual({ kind: "int", name: "int", size: 4, signed: true });
    expect(proto.params).toHaveLength(1);
    expect(proto.params[0]!.name).toBe("skb");
    expect(proto.params[0]!.type).toMatchObject({ kind: "ptr", target: { kind: "struct", name: ctx } });
    expect(object.maps[0]!.key).toEqual({ kind: "int", name: "int", size: 4, signed: true });
    expect(object.maps[0]!.value).toEqual({ kind: "int", name: "long", size: 8, signed: true });
  });

  test("a map without C types gets unsigned integers of its sizes", () => {
    const m = module("xdp", "xdp", { data: i32 }, { data: i64 });
    const object = readObject(writeObject(packageObject(m, compileModule(m))));
    expect(object.maps[0]!.key).toEqual({ kind: "int", name: "unsigned int", size: 4, signed: false });
    expect(object.maps[0]!.value).toEqual({ kind: "int", name: "unsigned long long", size: 8, signed: false });
  });

  const bpftool = spawnSync("sh", ["-c", "command -v bpftool"]).status === 0;
  test.skipIf(!bpftool || !kernelOrSkip())("bpftool reads the types; libbpf and the kernel take the programs without complaint", () => {
    const dir = mkdtempSync(join(tmpdir(), "luabpf-btf-"));
    const pins = `/sys/fs/bpf/luabpf-btf-${process.pid}`;
    try {
      spawnSync("sh", ["-c", "mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"]);
      const value: CRecord = nodeRecord();
      for (const [type, section] of [["sched_cls", "tc"], ["xdp", "xdp"], ["kprobe", "kprobe/do_nanosleep"]] as const) {
        const m = module(type, section, { data: i32, c: cTypedefOf("s32", C_INTS.int) }, { data: { kind: "struct", name: "node", fields: [], size: 24, align: 8 }, c: value });
        const path = join(dir, `${type}.o`);
        writeFileSync(path, writeObject(packageObject(m, compileModule(m))));
        const dump = spawnSync("bpftool", ["btf", "dump", "file", path], { encoding: "utf8" });
        expect(dump.status).toBe(0);
        const int = /\[(\d+)\] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED/.exec(dump.stdout)?.[1];
        expect(int).toBeDefined();
        expect(dump.stdout).toContain(`TYPEDEF 's32' type_id=${int}\n`);
        expect(dump.stdout).toMatch(/STRUCT 'node' size=24 vlen=4\n\t'value' type_id=\d+ bits_offset=0\n\t'next' type_id=\d+ bits_offset=64\n\t'flags' type_id=\d+ bits_offset=128 bitfield_size=3\n\t'mode' type_id=\d+ bits_offset=131 bitfield_size=5/);
        expect(dump.stdout).toMatch(/FUNC_PROTO '\(anon\)' ret_type_id=\d+ vlen=1\n\t'skb' type_id=\d+/);
        const load = spawnSync("bpftool", ["-d", "prog", "loadall", path, pins], { encoding: "utf8" });
        expect(load.status, load.stderr).toBe(0);
        expect(load.stderr).not.toMatch(/arg#0|UNKNOWN|size cannot be determined/);
        rmSync(pins, { recursive: true, force: true });
      }
    } finally {
      rmSync(pins, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
