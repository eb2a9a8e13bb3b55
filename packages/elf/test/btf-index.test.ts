// The lazily decoded BTF index: it must see exactly what the eager decoder sees (every
// kind, cycles, bit-fields), find types by kind and name, read raw BTF and ELF files,
// and resolve the running kernel's types (when /sys/kernel/btf/vmlinux exists).
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BtfIndex,
  ElfError,
  btfVoid,
  decodeBtf,
  describeBtfType,
  encodeBtf,
  readBtfFile,
  skipModifiers,
  writeObject,
  type BtfComposite,
  type BtfFunc,
  type BtfType,
} from "../src/index.js";

function everyKind(): BtfType[] {
  const u32: BtfType = { kind: "int", name: "unsigned int", size: 4, signed: false };
  const node: BtfComposite = { kind: "struct", name: "node", size: 16, members: [] };
  node.members.push(
    { name: "next", type: { kind: "ptr", target: node }, bitOffset: 0 },
    { name: "flag", type: u32, bitOffset: 64, bitSize: 1 },
    { name: "rest", type: u32, bitOffset: 65, bitSize: 31 },
  );
  return [
    node,
    { kind: "union", name: "u", size: 8, members: [{ name: "x", type: { kind: "float", name: "double", size: 8 }, bitOffset: 0 }] },
    { kind: "enum", name: "color", size: 4, signed: true, values: [{ name: "RED", value: -1 }, { name: "BLUE", value: 7 }] },
    { kind: "enum64", name: "big", size: 8, signed: false, values: [{ name: "HUGE", value: 1n << 40n }] },
    { kind: "fwd", name: "opaque", union: true },
    { kind: "typedef", name: "node", target: { kind: "const", target: { kind: "volatile", target: u32 } } },
    { kind: "restrict", target: { kind: "ptr", target: btfVoid } },
    { kind: "type_tag", name: "user", target: u32 },
    { kind: "array", elem: { kind: "int", name: "char", size: 1, signed: true, char: true }, count: 16 },
    { kind: "int", name: "_Bool", size: 1, signed: false, bool: true },
    {
      kind: "func",
      name: "f",
      linkage: "global",
      proto: { kind: "func_proto", ret: u32, params: [{ name: "a", type: u32 }, { name: "", type: btfVoid }] },
    },
    { kind: "decl_tag", name: "tag", target: node, componentIdx: 1 },
    {
      kind: "datasec",
      name: ".data",
      size: 4,
      vars: [{ var: { kind: "var", name: "v", type: u32, linkage: "static" }, offset: 0, size: 4 }],
    },
  ];
}

describe("BtfIndex", () => {
  const roots = everyKind();
  const { bytes, ids } = encodeBtf(roots);

  it("decodes every type as decodeBtf does", () => {
    const eager = decodeBtf(bytes);
    const index = new BtfIndex(bytes);
    expect(index.count).toBe(eager.types.length);
    for (let id = 0; id < index.count; id++) expect(index.type(id), `type ${id}`).toEqual(eager.types[id]);
    ids.forEach((id, n) => expect(index.type(id), `root ${n}`).toEqual(roots[n]));
  });

  it("keeps identity, cycles and ids", () => {
    const index = new BtfIndex(bytes);
    const node = index.type(ids[0]!) as BtfComposite;
    expect(index.type(ids[0]!)).toBe(node);
    expect((node.members[0]!.type as { target: BtfType }).target).toBe(node);
    expect(index.idOf(node)).toBe(ids[0]);
    expect(index.idOf(btfVoid)).toBe(0);
    expect(index.idOf({ kind: "fwd", name: "x", union: false })).toBeUndefined();
  });

  it("finds types by kind and name without decoding others", () => {
    const index = new BtfIndex(bytes);
    expect(index.find("struct", "node")?.id).toBe(ids[0]);
    expect(index.find("typedef", "node")?.id).toBe(ids[5]);
    expect(index.findAll("struct", "node")).toHaveLength(1);
    expect(index.idsNamed("node")).toEqual([ids[0], ids[5]].sort((a, b) => a! - b!));
    expect(index.find("union", "node")).toBeUndefined();
    expect(index.find("struct", "nod")).toBeUndefined(); // a prefix of a name is not a name
    expect(index.find("struct", "ode")).toBeUndefined(); // nor a suffix
    expect(index.kindAt(ids[4]!)).toBe("fwd");
    expect(index.nameAt(ids[4]!)).toBe("opaque");
    expect(index.namesOfKind("enum")).toEqual(["color"]);
  });

  it("reports malformed input with the type id", () => {
    const corrupt = (at: number, value: number) => {
      const copy = bytes.slice();
      new DataView(copy.buffer).setUint32(at, value, true);
      return copy;
    };
    expect(() => new BtfIndex(corrupt(0, 0x1234))).toThrow(/bad magic/);
    expect(() => new BtfIndex(corrupt(24 + 4, 31 << 24))).toThrow(/type 1: unknown BTF kind 31/);
    expect(() => new BtfIndex(bytes.slice(0, 20))).toThrow(ElfError);
    const index = new BtfIndex(bytes);
    expect(() => index.type(index.count)).toThrow(/reference to type/);
  });

  it("reads raw BTF and the .BTF section of an ELF object", () => {
    expect(readBtfFile(bytes).find("struct", "node")?.id).toBe(ids[0]);
    const object = writeObject({
      license: "GPL",
      programs: [{ name: "prog", section: "socket", code: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), relocations: [] }],
      maps: [],
    });
    expect(readBtfFile(object).find("func", "prog")).toBeDefined();
    expect(() => readBtfFile(new Uint8Array([1, 2, 3, 4]), "x.btf")).toThrow(/x\.btf: neither raw BTF/);
  });
});

const VMLINUX = "/sys/kernel/btf/vmlinux";
describe.skipIf(!existsSync(VMLINUX))("the running kernel's BTF", () => {
  const index = readBtfFile(readFileSync(VMLINUX), VMLINUX);

  it("resolves task_struct, its members and a function prototype", () => {
    const task = index.find("struct", "task_struct")!.type;
    const member = (name: string) => task.members.find((m) => m.name === name)!;
    expect(describeBtfType(member("comm").type)).toBe("char[16]");
    expect(describeBtfType(member("real_parent").type)).toBe("struct task_struct *");
    expect(skipModifiers(member("tgid").type)).toMatchObject({ kind: "int", size: 4, signed: true });
    const proto = (index.find("func", "do_sys_openat2")!.type as BtfFunc).proto;
    expect(proto.kind === "func_proto" && proto.params.map((p) => p.name)).toEqual(["dfd", "filename", "how"]);
  });
});
