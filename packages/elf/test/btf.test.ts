// BTF encoder/decoder: exact bytes for a small table (encoding checked by hand
// against Documentation/bpf/btf.rst), round trips of every kind, deduplication,
// cycles and malformed input.
import { MapType } from "@luabpf/platform";
import { describe, expect, it } from "vitest";
import {
  BtfBuilder,
  ElfError,
  btfSizeof,
  btfVoid,
  decodeBtf,
  decodeBtfExt,
  encodeBtf,
  encodeBtfExt,
  mapDefinitionType,
  parseMapDefinition,
  type BtfComposite,
  type BtfType,
} from "../src/index.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("BTF encoding", () => {
  it("encodes int and a pointer to it byte for byte", () => {
    const int: BtfType = { kind: "int", name: "int", size: 4, signed: true };
    const { bytes, ids } = encodeBtf([{ kind: "ptr", target: int }]);
    expect(ids).toEqual([2]);
    const expected = [
      "9feb", "01", "00", "18000000", // magic, version, flags, hdr_len 24
      "00000000", "1c000000", // type_off 0, type_len 28
      "1c000000", "05000000", // str_off 28, str_len 5
      // [1] INT 'int': name_off 1, info kind 1 << 24, size 4, encoding SIGNED | 32 bits
      "01000000", "00000001", "04000000", "20000001",
      // [2] PTR -> 1
      "00000000", "00000002", "01000000",
      "00", "696e7400", // "", "int"
    ].join("");
    expect(hex(bytes)).toBe(expected);
  });

  it("deduplicates structurally equal leaf and derived types and strings", () => {
    const builder = new BtfBuilder();
    const a = builder.add({ kind: "ptr", target: { kind: "int", name: "u8", size: 1, signed: false } });
    const b = builder.add({ kind: "ptr", target: { kind: "int", name: "u8", size: 1, signed: false } });
    const c = builder.add({ kind: "array", elem: { kind: "int", name: "u8", size: 1, signed: false }, count: 3 });
    const d = builder.add({ kind: "array", elem: { kind: "int", name: "u8", size: 1, signed: false }, count: 3 });
    expect(a).toBe(b);
    expect(c).toBe(d);
    expect(builder.typeCount).toBe(4); // u8, ptr, __ARRAY_SIZE_TYPE__, array
    const table = decodeBtf(builder.finish());
    expect(table.types.filter((type) => type.kind === "int").map((type) => (type as { name: string }).name)).toEqual([
      "u8",
      "__ARRAY_SIZE_TYPE__",
    ]);
  });

  it("round-trips every kind, including a cycle through a struct and bitfields", () => {
    const u32: BtfType = { kind: "int", name: "unsigned int", size: 4, signed: false };
    const node: BtfComposite = { kind: "struct", name: "node", size: 16, members: [] };
    node.members.push(
      { name: "next", type: { kind: "ptr", target: node }, bitOffset: 0 },
      { name: "flag", type: u32, bitOffset: 64, bitSize: 1 },
      { name: "rest", type: u32, bitOffset: 65, bitSize: 31 },
    );
    const roots: BtfType[] = [
      node,
      { kind: "union", name: "u", size: 8, members: [{ name: "x", type: { kind: "float", name: "double", size: 8 }, bitOffset: 0 }] },
      { kind: "enum", name: "color", size: 4, signed: true, values: [{ name: "RED", value: -1 }, { name: "BLUE", value: 7 }] },
      { kind: "enum64", name: "big", size: 8, signed: false, values: [{ name: "HUGE", value: 1n << 40n }] },
      { kind: "fwd", name: "opaque", union: false },
      { kind: "typedef", name: "u32_t", target: { kind: "const", target: { kind: "volatile", target: u32 } } },
      { kind: "restrict", target: { kind: "ptr", target: btfVoid } },
      { kind: "type_tag", name: "user", target: u32 },
      { kind: "int", name: "char", size: 1, signed: true, char: true },
      { kind: "int", name: "_Bool", size: 1, signed: false, bool: true },
      {
        kind: "func",
        name: "f",
        linkage: "global",
        proto: { kind: "func_proto", ret: u32, params: [{ name: "a", type: u32 }, { name: "", type: btfVoid }] },
      },
      { kind: "decl_tag", name: "tag", target: node, componentIdx: 1 },
    ];
    roots.push({
      kind: "datasec",
      name: ".data",
      size: 4,
      vars: [{ var: { kind: "var", name: "v", type: u32, linkage: "static" }, offset: 0, size: 4 }],
    });
    const { bytes, ids } = encodeBtf(roots);
    const table = decodeBtf(bytes);
    ids.forEach((id, index) => expect(table.types[id], `root ${index}`).toEqual(roots[index]));
    const decodedNode = table.types[ids[0]!] as BtfComposite;
    expect((decodedNode.members[0]!.type as { target: BtfType }).target).toBe(decodedNode);
    // Re-encoding the decoded graph gives the same bytes.
    expect(hex(encodeBtf(ids.map((id) => table.types[id]!)).bytes)).toBe(hex(bytes));
  });

  it("rejects a cycle that does not pass through a struct", () => {
    const loop: { kind: "ptr"; target: BtfType } = { kind: "ptr", target: btfVoid };
    loop.target = { kind: "const", target: loop };
    expect(() => encodeBtf([loop])).toThrow(ElfError);
    expect(() => encodeBtf([loop])).toThrow(/cycle/);
  });

  it("computes sizes like the kernel", () => {
    const u16: BtfType = { kind: "int", name: "u16", size: 2, signed: false };
    expect(btfSizeof({ kind: "array", elem: { kind: "typedef", name: "t", target: u16 }, count: 5 })).toBe(10);
    expect(btfSizeof({ kind: "ptr", target: btfVoid })).toBe(8);
    expect(() => btfSizeof(btfVoid)).toThrow(/void has no size/);
  });
});

describe("BTF decoding errors", () => {
  const good = encodeBtf([{ kind: "ptr", target: { kind: "int", name: "int", size: 4, signed: true } }]).bytes;
  const corrupt = (at: number, value: number) => {
    const bytes = good.slice();
    new DataView(bytes.buffer).setUint32(at, value, true);
    return bytes;
  };
  it("reports bad magic, dangling type ids, bad string offsets and unknown kinds", () => {
    expect(() => decodeBtf(corrupt(0, 0x1234))).toThrow(/bad magic/);
    expect(() => decodeBtf(corrupt(24 + 16 + 8, 9))).toThrow(/\.BTF: type 2: reference to type 9/);
    expect(() => decodeBtf(corrupt(24, 99))).toThrow(/type 1: string offset 99/);
    expect(() => decodeBtf(corrupt(24 + 4, 31 << 24))).toThrow(/type 1: unknown BTF kind 31/);
    expect(() => decodeBtf(good.slice(0, 30))).toThrow(ElfError);
  });
});

describe("map definitions", () => {
  it("builds libbpf's layout and parses it back", () => {
    const key: BtfType = { kind: "int", name: "u32", size: 4, signed: false };
    const map = { name: "m", type: MapType.lru_hash, keySize: 4, valueSize: 12, maxEntries: 9, flags: 2, key };
    const definition = mapDefinitionType(map);
    expect(definition.members.map((member) => member.name)).toEqual([
      "type",
      "key",
      "value_size",
      "max_entries",
      "map_flags",
    ]);
    expect(definition.members.map((member) => member.bitOffset)).toEqual([0, 64, 128, 192, 256]);
    expect(definition.size).toBe(40);
    expect(parseMapDefinition("m", definition)).toEqual(map);
  });
  it("rejects a key_size that disagrees with the key type", () => {
    const key: BtfType = { kind: "int", name: "u32", size: 4, signed: false };
    const definition = mapDefinitionType({ name: "m", type: 1, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0, key });
    definition.members.push({
      name: "key_size",
      type: { kind: "ptr", target: { kind: "array", elem: key, count: 8 } },
      bitOffset: 320,
    });
    expect(() => parseMapDefinition("m", definition)).toThrow(/map m: key_size 8 disagrees with the type's size 4/);
  });
});

describe(".BTF.ext", () => {
  it("round-trips func and line info", () => {
    const funcInfo = [{ sectionNameOffset: 5, records: [{ insnOffset: 0, typeId: 3 }, { insnOffset: 64, typeId: 4 }] }];
    const lineInfo = [{ sectionNameOffset: 5, records: [{ insnOffset: 0, fileNameOffset: 1, lineOffset: 2, lineCol: (7 << 10) | 3 }] }];
    expect(decodeBtfExt(encodeBtfExt(funcInfo, lineInfo))).toEqual({ funcInfo, lineInfo, coreRelocations: [] });
    expect(decodeBtfExt(encodeBtfExt(funcInfo))).toEqual({ funcInfo, lineInfo: [], coreRelocations: [] });
  });
  it("writes empty blocks with length 0 (libbpf rejects a block without records)", () => {
    const bytes = encodeBtfExt([{ sectionNameOffset: 1, records: [] }]);
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(4, true)).toBe(32); // hdr_len
    expect([12, 20, 28].map((at) => view.getUint32(at, true))).toEqual([0, 0, 0]); // block lengths
    expect(bytes.length).toBe(32);
  });
});
