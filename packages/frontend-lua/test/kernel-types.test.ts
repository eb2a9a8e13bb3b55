// Kernel types for the front end: BTF translated into C types (lazily, with the kernel's
// offsets), kernel names in C type names, function and raw tracepoint prototypes, and
// tracepoint records from tracefs' format files and from BTF — which must agree with each
// other on every event that has its own BTF struct.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { readBtfFile, type BtfComposite } from "@luabpf/elf";
import { cFindMember, cResolve, cSizeof, describeCType, type CRecord, type CType } from "@luabpf/ir";
import { describe, expect, it } from "vitest";
import { builtinCScope, parseCTypeName } from "../src/ctypes/index.js";
import { KernelTypes, parseTracepointFormat, TracepointFormatError, type KernelTypeSource, type TracepointFormat } from "../src/kernel/index.js";

const SCHED_SWITCH = `name: sched_switch
ID: 372
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;
\tfield:int dfd;\toffset:40;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:48;\tsize:8;\tsigned:0;
\tfield:__data_loc char[] name;\toffset:56;\tsize:4;\tsigned:0;
\tfield:struct no_such_type blob;\toffset:60;\tsize:4;\tsigned:0;

print fmt: "prev_comm=%s", REC->prev_comm
`;

describe("tracefs format files", () => {
  const format = parseTracepointFormat(SCHED_SWITCH, "sched", "sched_switch", builtinCScope());
  const field = (name: string) => format.fields.find((f) => f.name === name)!;

  it("reads every field with its offset, size, signedness and C type", () => {
    expect(format.id).toBe(372);
    expect(format.fields.map((f) => [f.name, f.offset, f.size])).toEqual([
      ["common_type", 0, 2], ["common_flags", 2, 1], ["common_preempt_count", 3, 1], ["common_pid", 4, 4],
      ["prev_comm", 8, 16], ["prev_pid", 24, 4], ["prev_state", 32, 8], ["dfd", 40, 8], ["filename", 48, 8], ["name", 56, 4], ["blob", 60, 4],
    ]);
    expect(format.fields.filter((f) => f.common).map((f) => f.name)).toEqual(["common_type", "common_flags", "common_preempt_count", "common_pid"]);
    expect(describeCType(field("prev_comm").type)).toBe("char [16]");
    expect(describeCType(field("prev_pid").type)).toBe("pid_t");
    expect(describeCType(field("filename").type)).toBe("char *");
  });

  it("reads a declared int stored in an 8-byte slot as the int, trusts the recorded size otherwise, and reads __data_loc", () => {
    // System call arguments: `int dfd` in a long slot; AT_FDCWD (-100) arrives as 0xffffff9c, read as the int.
    expect(describeCType(field("dfd").type)).toBe("int");
    expect(field("name")).toMatchObject({ size: 4, dataLoc: { kind: "int", name: "char" } });
    expect(describeCType(field("blob").type)).toBe("unsigned int"); // unknown type name: the recorded integer
  });

  it("builds the record struct the program's context points at", () => {
    const record = format.record;
    expect(record.tag).toBe("trace_event_raw_sched_switch");
    expect(cFindMember(record, "prev_pid")?.offset).toBe(24);
    expect(cSizeof(record)).toBe(64);
  });

  it("refuses text that is not a format file", () => {
    expect(() => parseTracepointFormat("hello\n", "a", "b", builtinCScope())).toThrow(TracepointFormatError);
  });
});

/** A format file of event `test_event` with these field lines (`decl;\toffset:N;\tsize:N;\tsigned:N`). */
function formatText(fields: string[]): string {
  return `name: test_event\nID: 7\nformat:\n${fields.map((f) => `\tfield:${f};\n`).join("")}\nprint fmt: ""\n`;
}

/** The parts of a record a compile reads, for comparing a kept record with a fresh parse. */
function describeFormat(f: TracepointFormat): unknown {
  return { id: f.id, size: cSizeof(f.record), fields: f.fields.map((x) => [x.name, x.offset, x.size, x.signed, x.common, describeCType(x.type), x.dataLoc && describeCType(x.dataLoc)]) };
}

describe("tracefs format texts parsed before", () => {
  it("gives a text parsed before its record again, and a changed text a new one", () => {
    let text = formatText(["int common_pid;\toffset:4;\tsize:4;\tsigned:1", "char comm[16];\toffset:8;\tsize:16;\tsigned:0", "pid_t pid;\toffset:24;\tsize:4;\tsigned:1"]);
    const source = { tracepointFormat: () => text };
    const first = new KernelTypes(source).tracepoint("test", "kept_alone")!;
    const second = new KernelTypes(source).tracepoint("test", "kept_alone")!;
    expect(second).toBe(first);
    expect(describeFormat(second)).toEqual(describeFormat(parseTracepointFormat(text, "test", "kept_alone", new KernelTypes({}).scope())));
    // The same text under another event's name is that event's record.
    expect(new KernelTypes(source).tracepoint("test", "kept_other")!.name).toBe("kept_other");
    text = text.replace("offset:24", "offset:28");
    const changed = new KernelTypes(source).tracepoint("test", "kept_alone")!;
    expect(changed).not.toBe(first);
    expect(changed.fields.find((f) => f.name === "pid")!.offset).toBe(28);
    expect(describeFormat(changed)).toEqual(describeFormat(parseTracepointFormat(text, "test", "kept_alone", new KernelTypes({}).scope())));
  });

  it("keeps no record that holds a struct each compile makes itself", () => {
    const texts: Record<string, string> = {
      a: formatText(["int common_pid;\toffset:4;\tsize:4;\tsigned:1", "struct luabpf_unknown * p;\toffset:8;\tsize:8;\tsigned:0"]),
      b: formatText(["int common_pid;\toffset:4;\tsize:4;\tsigned:1", "int x;\toffset:8;\tsize:4;\tsigned:1", "struct luabpf_unknown * q;\toffset:16;\tsize:8;\tsigned:0"]),
    };
    const source = { tracepointFormat: (_c: string, n: string) => texts[n] };
    const target = (k: KernelTypes, n: string, field: string) => (cResolve(k.tracepoint("unknown", n)!.fields.find((f) => f.name === field)!.type) as { target: CType }).target;
    const one = new KernelTypes(source);
    const two = new KernelTypes(source);
    // Within a compile both events point at one `struct luabpf_unknown`, as without the table; each compile has its own.
    expect(target(one, "a", "p")).toBe(target(one, "b", "q"));
    expect(target(two, "a", "p")).toBe(target(two, "b", "q"));
    expect(target(two, "a", "p")).not.toBe(target(one, "a", "p"));
    expect(two.tracepoint("unknown", "a")).not.toBe(one.tracepoint("unknown", "a"));
  });
});

const VMLINUX = "/sys/kernel/btf/vmlinux";
const TRACEFS = "/sys/kernel/tracing";

function mountTracefs(): boolean {
  if (existsSync(join(TRACEFS, "events"))) return true;
  try {
    execFileSync("mount", ["-t", "tracefs", "nodev", TRACEFS], { stdio: "ignore" });
  } catch {
    return false;
  }
  return existsSync(join(TRACEFS, "events"));
}

describe.skipIf(!existsSync(VMLINUX))("the running kernel's types", () => {
  const btf = readBtfFile(readFileSync(VMLINUX), VMLINUX);
  const kernel = new KernelTypes({ btf, btfOrigin: VMLINUX });

  it("finds kernel structs through C type names, with the kernel's offsets", () => {
    const pointer = cResolve(parseCTypeName("struct task_struct *", kernel.scope()));
    expect(pointer.kind).toBe("pointer");
    const task = cResolve((pointer as { target: CRecord }).target) as CRecord;
    expect(kernel.isKernelRecord(task)).toBe(true);
    const btfTask = btf.find("struct", "task_struct")!.type as BtfComposite;
    expect(cSizeof(task)).toBe(btfTask.size);
    for (const name of ["pid", "tgid", "real_parent", "comm", "flags"]) {
      expect(cFindMember(task, name)?.offset, name).toBe(btfTask.members.find((m) => m.name === name)!.bitOffset / 8);
    }
    expect(describeCType(cFindMember(task, "comm")!.member.type)).toBe("char [16]");
    expect(describeCType(parseCTypeName("pid_t", kernel.scope()))).toBe("pid_t");
    expect(kernel.scope().lookupConstant("BPF_ANY")?.value).toBe(0n);
  });

  it("knows function prototypes and raw tracepoint arguments", () => {
    const openat2 = kernel.func("do_sys_openat2")!;
    expect(openat2.params.map((p) => `${p.name}: ${describeCType(p.type)}`)).toEqual(["dfd: int", "filename: char *", "how: struct open_how *"]);
    expect(kernel.func("luabpf_no_such_function")).toBeUndefined();
    const sw = kernel.rawTracepoint("sched_switch")!;
    expect(sw.map((p) => describeCType(p.type))).toEqual(["bool", "struct task_struct *", "struct task_struct *", "unsigned int"]);
  });

  it("keeps a record whose parse asked the kernel's types by their BTF, and reads the BTF when it did before", () => {
    const text = formatText(["int common_pid;\toffset:4;\tsize:4;\tsigned:1", "umode_t mode;\toffset:8;\tsize:2;\tsigned:0"]);
    const alone = formatText(["int common_pid;\toffset:4;\tsize:4;\tsigned:1", "pid_t pid;\toffset:8;\tsize:4;\tsigned:1"]);
    let reads = 0;
    const source = (withBtf: boolean): KernelTypeSource => ({
      get btf() {
        reads++;
        return withBtf ? btf : undefined;
      },
      tracepointFormat: (_c: string, n: string) => (n === "mode" ? text : alone),
    });
    const mode = (k: KernelTypes) => k.tracepoint("test", "mode")!;
    // Without BTF `umode_t` is unknown: the recorded size's integer; with it, the kernel's typedef.
    const bare = mode(new KernelTypes(source(false)));
    expect(describeCType(bare.fields[1]!.type)).toBe("unsigned short");
    expect(mode(new KernelTypes(source(false)))).toBe(bare);
    reads = 0;
    const typed = mode(new KernelTypes(source(true)));
    expect(reads).toBe(1);
    expect(describeCType(typed.fields[1]!.type)).toBe("umode_t");
    expect(describeFormat(typed)).toEqual(describeFormat(parseTracepointFormat(text, "test", "mode", new KernelTypes({ btf }).scope())));
    reads = 0;
    expect(mode(new KernelTypes(source(true)))).toBe(typed);
    expect(reads).toBe(1);
    expect(mode(new KernelTypes(source(false)))).toBe(bare);
    // A text whose parse needs nothing of the kernel's: its record is kept alone, and no compile reads the BTF for it.
    reads = 0;
    const first = new KernelTypes(source(true)).tracepoint("test", "alone");
    expect(new KernelTypes(source(true)).tracepoint("test", "alone")).toBe(first);
    expect(reads).toBe(0);
  });

  it.skipIf(!mountTracefs())("tracefs and BTF agree on every event with its own trace_event_raw struct", () => {
    const read = (c: string, n: string) => {
      const path = join(TRACEFS, "events", c, n, "format");
      return existsSync(path) ? readFileSync(path, "utf8") : undefined;
    };
    const withTracefs = new KernelTypes({ btf, tracepointFormat: read });
    const btfOnly = new KernelTypes({ btf });
    let compared = 0;
    for (const category of ["sched", "syscalls", "irq", "signal", "task", "net", "block"]) {
      const dir = join(TRACEFS, "events", category);
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        if (!existsSync(join(dir, name, "format"))) continue;
        const fromBtf = btfOnly.tracepoint(category, name);
        if (!fromBtf) continue;
        const fromTracefs = withTracefs.tracepoint(category, name)!;
        expect(fromTracefs.source).toBe("tracefs");
        expect(fromBtf.fields.map((f) => [f.name, f.offset, f.size, f.dataLoc !== undefined]), `${category}/${name}`).toEqual(
          fromTracefs.fields.map((f) => [f.name, f.offset, f.size, f.dataLoc !== undefined]),
        );
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(20);
    const exec = withTracefs.tracepoint("sched", "sched_process_exec")!;
    expect(exec.fields.find((f) => f.name === "filename")?.dataLoc).toBeDefined();
    const openat = withTracefs.tracepoint("syscalls", "sys_enter_openat")!;
    expect(describeCType(openat.fields.find((f) => f.name === "filename")!.type)).toBe("char *");
    expect(withTracefs.tracepoint("sched", "luabpf_no_such_event")).toBeUndefined();
  });
});
