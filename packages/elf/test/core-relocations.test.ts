// CO-RE relocation records in `.BTF.ext`: the writer's records read back by our reader
// and by llvm-objdump, clang's records read by our reader, and input checks.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CoreReloKind } from "@luabpf/platform";
import { describe, expect, it } from "vitest";
import {
  ElfError,
  decodeBtfExt,
  encodeBtfExt,
  parseElf,
  readObject,
  writeObject,
  type BpfObject,
  type BtfComposite,
  type BtfType,
} from "../src/index.js";
import { itWith, run, withTempDir, writeTemp } from "./tools.js";

/** `r0 = <imm>` (mov64 imm), `exit`. */
function movExit(imm: number): Uint8Array {
  const code = new Uint8Array(16);
  const view = new DataView(code.buffer);
  code[0] = 0xb7;
  view.setInt32(4, imm, true);
  code[8] = 0x95;
  return code;
}

const int: BtfType = { kind: "int", name: "int", size: 4, signed: true };
function localTask(): BtfComposite {
  const task: BtfComposite = { kind: "struct", name: "task_struct", size: 2000, members: [] };
  task.members.push({ name: "real_parent", type: { kind: "ptr", target: task }, bitOffset: 1280 * 8 }, { name: "tgid", type: int, bitOffset: 1244 * 8 });
  return task;
}

function coreObject(): BpfObject {
  const task = localTask();
  return {
    license: "GPL",
    maps: [],
    programs: [
      {
        name: "first",
        section: "kprobe/a",
        code: movExit(1244),
        relocations: [],
        coreRelocations: [{ offset: 0, kind: "field_byte_offset", type: task, access: "0:1" }],
      },
      {
        name: "second",
        section: "kprobe/b",
        code: new Uint8Array([...movExit(1), ...movExit(4)]),
        relocations: [],
        coreRelocations: [
          { offset: 0, kind: "field_exists", type: task, access: "0:0" },
          { offset: 16, kind: "type_size", type: task, access: "0" },
        ],
      },
    ],
  };
}

describe("CO-RE relocations in .BTF.ext", () => {
  it("encodes and decodes the core_relo block", () => {
    const sections = [{ sectionNameOffset: 5, records: [{ insnOffset: 8, typeId: 2, accessStringOffset: 9, kind: 3 }] }];
    const bytes = encodeBtfExt([], [], sections);
    expect(new DataView(bytes.buffer).getUint32(28, true)).toBe(4 + 8 + 16); // core_relo_len
    expect(decodeBtfExt(bytes).coreRelocations).toEqual(sections);
    expect(decodeBtfExt(encodeBtfExt([], [])).coreRelocations).toEqual([]);
  });

  it("round-trips through writeObject and readObject with the local type", () => {
    const read = readObject(writeObject(coreObject()));
    const [first, second] = read.programs;
    expect(first!.coreRelocations).toEqual([{ offset: 0, kind: "field_byte_offset", type: expect.anything(), access: "0:1" }]);
    const type = first!.coreRelocations![0]!.type as BtfComposite;
    expect(type).toMatchObject({ kind: "struct", name: "task_struct", size: 2000 });
    expect(type.members.map((m) => [m.name, m.bitOffset / 8])).toEqual([["real_parent", 1280], ["tgid", 1244]]);
    // one local type for both programs
    expect(second!.coreRelocations!.map((r) => [r.offset, r.kind, r.access])).toEqual([[0, "field_exists", "0:0"], [16, "type_size", "0"]]);
    expect(second!.coreRelocations![0]!.type).toBe(type);
  });

  it("is deterministic", () => {
    expect(Buffer.from(writeObject(coreObject())).equals(Buffer.from(writeObject(coreObject())))).toBe(true);
  });

  it("rejects bad offsets, kinds and access strings", () => {
    const bad = (patch: (object: BpfObject) => void) => {
      const object = coreObject();
      patch(object);
      return () => writeObject(object);
    };
    expect(bad((o) => (o.programs[0]!.coreRelocations![0]!.offset = 4))).toThrow(/CO-RE relocation 0: offset 4 is not an instruction/);
    expect(bad((o) => (o.programs[0]!.coreRelocations![0]!.offset = 16))).toThrow(ElfError);
    expect(bad((o) => (o.programs[0]!.coreRelocations![0]!.access = "0:x"))).toThrow(/access string "0:x"/);
    expect(bad((o) => ((o.programs[0]!.coreRelocations![0] as { kind: string }).kind = "field_offset"))).toThrow(/unknown kind/);
    expect(bad((o) => o.programs[1]!.coreRelocations!.reverse())).toThrow(/decreases/);
  });

  itWith(["llvm-objdump-19"])("llvm-objdump reads the records", () => {
    withTempDir((dir) => {
      const path = writeTemp(dir, "core.o", writeObject(coreObject()));
      const dump = run("llvm-objdump-19", ["-d", "-r", path]);
      expect(dump.status).toBe(0);
      expect(dump.stdout).toMatch(/CO-RE <byte_off> \[\d+\] struct task_struct::tgid \(0:1\)/);
      expect(dump.stdout).toMatch(/CO-RE <field_exists> \[\d+\] struct task_struct::real_parent \(0:0\)/);
      expect(dump.stdout).toMatch(/CO-RE <type_size> \[\d+\] struct task_struct/);
    });
  });
});

const source = fileURLToPath(new URL("./c/core_fields.bpf.c", import.meta.url));

describe("clang-16's CO-RE relocations", () => {
  itWith(["clang-16"])("are read with their kinds, access strings and local types", () => {
    const object = withTempDir((dir) => {
      const machine = run("uname", ["-m"]).stdout.trim();
      const result = run("clang-16", ["-O2", "-g", "-target", "bpf", `-I/usr/include/${machine}-linux-gnu`, "-c", source, "-o", `${dir}/core.o`]);
      expect(result.stderr).toBe("");
      return readFileSync(`${dir}/core.o`);
    });
    expect(parseElf(object).sections.some((s) => s.name === ".BTF.ext")).toBe(true);
    const program = readObject(object).programs[0]!;
    const relocations = program.coreRelocations!;
    const describe = relocations.map((r) => `${r.kind} ${(r.type as BtfComposite).name} ${r.access}`);
    expect(describe).toEqual([
      "field_byte_offset task_struct 0:2",
      "field_byte_offset task_struct 0:1",
      "field_exists task_struct 0:3",
      "field_byte_size task_struct 0:3:3",
    ]);
    const task = relocations[0]!.type as BtfComposite;
    expect(task.members.map((m) => m.name)).toEqual(["pid", "tgid", "real_parent", "comm"]);
    // the relocated instructions hold the local values: offsets 8 and 4, exists 1, size 1
    const view = new DataView(program.code.buffer, program.code.byteOffset);
    const imm = (offset: number) => view.getInt32(offset + 4, true);
    const code = (offset: number) => program.code[offset]!;
    for (const relocation of relocations) expect([0xb7, 0x07, 0x18, 0x61, 0x79]).toContain(code(relocation.offset));
    expect(relocations.map((r) => (code(r.offset) === 0x61 || code(r.offset) === 0x79 ? view.getInt16(r.offset + 2, true) : imm(r.offset)))).toEqual([8, 4, 1, 1]);
    expect(CoreReloKind.field_byte_size).toBe(1);
  });
});
