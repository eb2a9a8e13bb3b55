// CO-RE end to end from the IR: `coreval` instructions of a program compiled against a
// made-up layout of `struct task_struct` become `mov` instructions — or, added to a pointer,
// the immediate of the `add` itself (`r3 += off`) — with `.BTF.ext` records whose local type
// is pruned to the members used. libbpf (bpftool) and our loader relocate
// them to the running kernel's offsets (bpftool's xlated dump shows libbpf's), and the
// program — run by our loader with BPF_PROG_TEST_RUN as a raw tracepoint, so
// bpf_get_current_task() is this process — returns the parent's tgid.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Builder, C_INTS, cArrayOf, cPointerTo, i32, i64, interpret, MapState, Module, printModule, parseModule, ptrType, verifyModule, type CRecord } from "@luabpf/ir";
import { readObject, writeObject, type BtfComposite } from "@luabpf/elf";
import { applyCoreRelocations, kernelOrSkip, loadObject, progTestRun, runningKernelBtf } from "@luabpf/loader";
import { BPF_FUNC } from "@luabpf/platform";
import { describe, expect, it } from "vitest";
import { compileModule, packageObject } from "../src/index.js";

/** The program's view of the kernel's task_struct: the right names, invented offsets. */
function fakeTask(): CRecord {
  const task: CRecord = { kind: "struct", tag: "task_struct", members: undefined, size: 64, align: 8, constants: new Map() };
  task.members = [
    { name: "pid", type: C_INTS.int, offset: 0 },
    { name: "tgid", type: C_INTS.int, offset: 4 },
    { name: "real_parent", type: cPointerTo(task), offset: 8 },
    { name: "comm", type: cArrayOf(C_INTS.char, 16), offset: 16 },
    { name: "flags", type: C_INTS["unsigned int"], offset: 32 },
  ];
  return task;
}

/** `return current->real_parent->tgid` through probe_read_kernel, as a raw tracepoint program. */
function parentTgid(): Module {
  const m = new Module();
  const task = fakeTask();
  const parentOffset = m.addCoreRelocation({ kind: "field_byte_offset", type: task, path: ["real_parent"], value: 8n });
  const tgidOffset = m.addCoreRelocation({ kind: "field_byte_offset", type: task, path: ["tgid"], value: 4n });
  const fn = m.addFunction("parent_tgid", [ptrType("ctx")], i64);
  fn.program = { section: "raw_tp/sys_enter", type: "raw_tracepoint" };
  const b = new Builder(fn);
  b.atEnd(fn.createBlock());
  const slot = b.alloca(8);
  const current = b.callHelper(BPF_FUNC.get_current_task, []);
  b.callHelper(BPF_FUNC.probe_read_kernel, [slot, b.const(8), b.add(current, b.coreValue(parentOffset.name))]);
  const parent = b.load(i64, slot);
  b.callHelper(BPF_FUNC.probe_read_kernel, [slot, b.const(4), b.add(parent, b.coreValue(tgidOffset.name))]);
  b.ret(b.cast("zext", b.load(i32, slot), i64));
  return m;
}

function objectOf(m: Module) {
  return packageObject(m, compileModule(m));
}

describe("coreval after an lddw", () => {
  it("patches the mov at its own instruction: relocations name 8-byte slots and an lddw takes two", () => {
    const m = parseModule(
      'map @m : array, key i32, value i64, max_entries 1, flags 0\n\n' +
        'core @c : field_byte_offset, type "struct task_struct", access "tgid", value 4\n\n' +
        'func @f(ptr.ctx %0) -> i64 section "raw_tp/sys_enter" type raw_tracepoint {\n@bb0:\n' +
        '  %1 = mapref @m\n  %2 = alloca 4, align 4\n  store i32 0, %2, 0\n  %3 = call ptr.map_value_or_null helper 1 (%1, %2)\n' +
        '  %4 = coreval @c\n  %5 = add i64 %4, 1\n  ret %5\n}\n',
    );
    const core = m.coreRelocations[0]!;
    (core as { type: unknown }).type = fakeTask();
    const program = objectOf(m).programs[0]!;
    const [r] = program.coreRelocations!;
    const view = new DataView(program.code.buffer, program.code.byteOffset);
    // the relocated instruction is the mov (0xb7) holding 4, and no other instruction got the value
    expect([program.code[r!.offset], view.getInt32(r!.offset + 4, true)]).toEqual([0xb7, 4]);
    const opcodes = Array.from({ length: r!.offset / 8 }, (_, i) => program.code[i * 8]);
    expect(opcodes).toContain(0x18); // an lddw (the map) comes before it
  });
});

describe("coreval in the IR", () => {
  it("prints, parses and verifies; the interpreter sees the compiled value", () => {
    const m = parentTgid();
    expect(verifyModule(m)).toEqual([]);
    const text = printModule(m);
    expect(text).toContain('core @core0 : field_byte_offset, type "struct task_struct", access "real_parent", value 8');
    expect(text).toMatch(/%\d+ = coreval @core1/);
    const again = parseModule(text);
    expect(printModule(again)).toBe(text);
    expect(() => parseModule(text.replace("coreval @core1", "coreval @core9"))).toThrow(/undefined CO-RE relocation @core9/);
    expect(again.coreRelocations.map((r) => r.path)).toEqual([["real_parent"], ["tgid"]]);
    const small = parseModule(
      'core @c : field_byte_offset, type "struct task_struct", access "comm[3]", value 19\n\nfunc @f() -> i64 {\n@bb0:\n  %0 = coreval @c\n  ret %0\n}\n',
    );
    expect(small.coreRelocations[0]!.path).toEqual(["comm", 3]);
    expect(interpret(small, "f", [], { maps: MapState.fromModule(small) }).value).toBe(19n);
  });

  it("becomes add-immediate instructions with .BTF.ext records on a pruned local type", () => {
    const object = objectOf(parentTgid());
    const program = object.programs[0]!;
    const relocations = program.coreRelocations!;
    expect(relocations.map((r) => [r.kind, r.access])).toEqual([["field_byte_offset", "0:1"], ["field_byte_offset", "0:0"]]);
    const view = new DataView(program.code.buffer, program.code.byteOffset);
    // `add i64 %p, coreval` is one `r += off` (0x07: ALU64 | ADD | K) holding the compiled offset
    expect(relocations.map((r) => [program.code[r.offset], view.getInt32(r.offset + 4, true)])).toEqual([[0x07, 8], [0x07, 4]]);
    // and the register it adds to is the pointer, not a copy of the offset: no mov of 8 or 4 is left
    const movs = Array.from({ length: program.code.length / 8 }, (_, i) => i * 8).filter((o) => program.code[o] === 0xb7 && [4, 8].includes(view.getInt32(o + 4, true)));
    expect(movs.filter((o) => program.code[o + 8] === 0x0f)).toEqual([]);
    const local = relocations[0]!.type as BtfComposite;
    expect(local).toMatchObject({ kind: "struct", name: "task_struct", size: 64 });
    expect(local.members.map((mem) => [mem.name, mem.bitOffset / 8])).toEqual([["tgid", 4], ["real_parent", 8]]);
    // the object's BTF round-trips through our reader
    const read = readObject(writeObject(object)).programs[0]!.coreRelocations!;
    expect(read.map((r) => r.access)).toEqual(["0:1", "0:0"]);
  });
});

const kernel = kernelOrSkip();
const hasBpftool = spawnSync("sh", ["-c", "command -v bpftool"]).status === 0;

describe.skipIf(!kernel)("CO-RE on the kernel", () => {
  const bytes = writeObject(objectOf(parentTgid()));

  it("our loader relocates to the kernel's offsets and the program reads the parent's tgid", () => {
    const object = readObject(bytes);
    const kernelTask = runningKernelBtf().find("struct", "task_struct")!.type;
    const offsetOf = (name: string) => kernelTask.kind === "struct" && kernelTask.members.find((mem) => mem.name === name)!.bitOffset / 8;
    const { code } = applyCoreRelocations(object.programs[0]!, runningKernelBtf());
    const view = new DataView(code.buffer);
    const [parent, tgid] = object.programs[0]!.coreRelocations!.map((r) => view.getInt32(r.offset + 4, true));
    expect([parent, tgid]).toEqual([offsetOf("real_parent"), offsetOf("tgid")]);
    const loaded = loadObject(object);
    try {
      const result = progTestRun(loaded.programs.get("parent_tgid")!.fd, { data: new Uint8Array(0), repeat: 0, ctxIn: new Uint8Array(8), ctxOut: false });
      expect(result.retval).toBe(process.ppid);
    } finally {
      loaded.close();
    }
  });

  it.skipIf(!hasBpftool && !process.env.CI)("libbpf relocates it the same way (bpftool prog loadall)", () => {
    const dir = mkdtempSync(join(tmpdir(), "luabpf-core-ir-"));
    const pins = `/sys/fs/bpf/luabpf-core-ir-${process.pid}`;
    try {
      const path = join(dir, "core.o");
      writeFileSync(path, bytes);
      const load = spawnSync("bpftool", ["prog", "loadall", path, pins], { encoding: "utf8" });
      expect(load.stderr).toBe("");
      expect(load.status).toBe(0);
      const dump = spawnSync("bpftool", ["prog", "dump", "xlated", "pinned", `${pins}/parent_tgid`], { encoding: "utf8" }).stdout;
      const kernelTask = runningKernelBtf().find("struct", "task_struct")!.type as BtfComposite;
      const offset = (name: string) => kernelTask.members.find((mem) => mem.name === name)!.bitOffset / 8;
      expect(dump).toContain(`= ${offset("real_parent")}\n`);
      expect(dump).toContain(`= ${offset("tgid")}\n`);
    } finally {
      spawnSync("rm", ["-rf", pins]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
