// Lua tracing programs on the real kernel, attached for real: a tracepoint whose `args` are
// typed from the event's format (common_pid, dfd, a user-space filename), a raw tracepoint
// reading the current task through CO-RE relocated fields into ring buffer records
// (reserve/submit), a uprobe on a binary the test builds, and fentry where the kernel loads
// it. Objects also pass libbpf (`bpftool prog loadall`), which applies our CO-RE records.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { writeObject, readObject } from "@luabpf/elf";
import { attach, BpfError, kernelOrSkip, linkInfo, probePmu, loadObject, RingBufferReader, targetForProgram, typedMap, type Attachment, type LoadedObject } from "@luabpf/loader";
import { bpftoolLinkIds, compileHostC, hasTool, mountTracefs, openDescriptorCount } from "@luabpf/test-support";
import { beforeAll, describe, expect, it } from "vitest";
import { compileSource } from "../src/driver.js";
import { luabpf, ROOT } from "./helpers.js";

const kernel = kernelOrSkip();
const tools = ["bpftool", "cc"].filter((tool) => !hasTool(tool));
if (kernel && tools.length > 0 && process.env.CI) throw new Error(`tracing tests need ${tools.join(", ")}`);
const enabled = kernel && tools.length === 0;

function compile(source: string, optLevel: 0 | 2 = 2) {
  return compileSource(source, { file: "trace.lua", optLevel, verifyEach: true }).object;
}

/** Opens and closes a file `count` times (each is one openat system call of this thread). */
function openFiles(count: number, path = "/proc/self/stat"): void {
  for (let i = 0; i < count; i++) closeSync(openSync(path, "r"));
}

/** Attaches every program of `object` where its section says. */
function attachAll(object: LoadedObject): Attachment[] {
  return [...object.programs.values()].map((p) => attach(p, targetForProgram(p)!));
}

/** Detaches, checking each link was in `bpftool link` and is gone after. */
function detachAll(attachments: Attachment[]): void {
  const ids = attachments.map((a) => linkInfo(a.linkFd!).id);
  const listed = bpftoolLinkIds();
  for (const id of ids) expect(listed).toContain(id);
  for (const a of attachments) a.close();
  const after = bpftoolLinkIds();
  for (const id of ids) expect(after).not.toContain(id);
}

/** libbpf (bpftool) loads the object too: it applies our CO-RE records against the running kernel. */
function loadsWithLibbpf(bytes: Uint8Array): void {
  const dir = mkdtempSync(join(tmpdir(), "luabpf-trace-"));
  const pin = `/sys/fs/bpf/luabpf_trace_${process.pid}`;
  try {
    writeFileSync(join(dir, "prog.o"), bytes);
    const r = spawnSync("bpftool", ["prog", "loadall", join(dir, "prog.o"), pin], { encoding: "utf8" });
    expect(r.stderr).not.toMatch(/failed|error/i);
    expect(r.status).toBe(0);
  } finally {
    rmSync(pin, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

const TRACEPOINT = `
local opens = bpf.map('hash', 1024, 'uint32_t', 'uint64_t')
local first = bpf.map('hash', 256, 'uint32_t', 'uint64_t')
bpf.tracepoint('syscalls/sys_enter_openat', function (args)
  local pid = args.common_pid
  if args.dfd ~= -100 then return end          -- AT_FDCWD: a relative or absolute path
  local n = opens[pid]
  opens[pid] = (n or 0) + 1
  local name = ffi.new('char[16]')
  ffi.copy(name, args.filename)                -- a user-space string
  if name[0] == 47 and name[1] == 112 and name[6] == 115 then   -- "/proc/s..."
    local k = first[pid]
    first[pid] = (k or 0) + 1
  end
end)
`;

describe.skipIf(!enabled).each([0, 2] as const)("Lua tracing programs attached for real at -O%i", (optLevel) => {
  beforeAll(() => mountTracefs());

  it("a tracepoint counts this process's openat calls by args.common_pid and reads args.filename from user memory", () => {
    const before = openDescriptorCount();
    const bytes = writeObject(compile(TRACEPOINT, optLevel));
    loadsWithLibbpf(bytes);
    const object = loadObject(readObject(bytes));
    try {
      const attachments = attachAll(object);
      const opens = typedMap(object.maps.get("opens")!);
      const first = typedMap(object.maps.get("first")!);
      const read = (m: typeof opens) => Number(m.get(process.pid) ?? 0n);
      openFiles(25);
      openFiles(5, "/dev/null");
      expect(read(opens)).toBeGreaterThanOrEqual(30);
      const proc = read(first);
      expect(proc).toBeGreaterThanOrEqual(25);
      // The /dev/null opens are not counted as "/proc/s...": the filename was read.
      expect(proc).toBeLessThan(read(opens));
      detachAll(attachments);
      const stopped = read(opens);
      openFiles(5);
      expect(read(opens)).toBe(stopped);
    } finally {
      object.close();
    }
    expect(openDescriptorCount()).toBe(before);
  });

  it("ffi.string(args.filename, n) reads n bytes of a user-space string and compares them exactly", () => {
    const path = join(tmpdir(), `luabpf-string-${process.pid}`);
    writeFileSync(path, "");
    const object = loadObject(
      compile(
        `
local m = bpf.map('array', 3, 'uint32_t', 'uint64_t')
bpf.tracepoint('syscalls/sys_enter_openat', function (args)
  if ffi.string(args.filename, ${path.length}) == '${path}' then xadd(m[0], 1) end
  if ffi.string(args.filename, ${path.length - 1}) == '${path.slice(0, -1)}' then xadd(m[1], 1) end
  if ffi.string(args.filename, ${path.length}) == '${path.slice(0, -1)}' then xadd(m[2], 1) end
end)`,
        optLevel,
      ),
    );
    try {
      const attachments = attachAll(object);
      openFiles(4, path);
      detachAll(attachments);
      const m = typedMap(object.maps.get("m")!);
      expect([m.get(0), m.get(1), m.get(2)]).toEqual([4n, 4n, 0n]);
    } finally {
      object.close();
      rmSync(path, { force: true });
    }
  });

  it("a raw tracepoint sends the current task's tgid, parent's tgid (CO-RE) and comm through a ring buffer", async () => {
    const source = `
ffi.cdef [[ struct event { uint32_t pid; uint32_t ppid; uint64_t id; char comm[16]; }; ]]
local events = bpf.map('ringbuf', 16384)
bpf.raw_tracepoint('sys_enter', function (args)
  if bit.rshift(pid_tgid(), 32) ~= ${process.pid} or args[1] ~= 257 then return end   -- openat
  local e = ringbuf_reserve(events, 'struct event')
  local t = task()
  e.pid = t.tgid
  e.ppid = t.real_parent.tgid
  e.id = args[1]
  comm(e.comm)
  ringbuf_submit(e)
end)
`;
    const object0 = compile(source, optLevel);
    const relocs = object0.programs[0]!.coreRelocations ?? [];
    expect(relocs.map((r) => `${r.kind} ${r.access}`).sort()).toEqual(expect.arrayContaining([expect.stringMatching(/field_byte_offset/)]));
    expect(relocs.length).toBeGreaterThanOrEqual(2);
    const bytes = writeObject(object0);
    loadsWithLibbpf(bytes);
    const object = loadObject(readObject(bytes));
    const reader = new RingBufferReader(object.maps.get("events")!);
    try {
      const attachments = attachAll(object);
      openFiles(3);
      const records = [];
      for await (const record of reader) {
        records.push(record.data);
        if (records.length === 3) break;
      }
      detachAll(attachments);
      const comm = readFileSync("/proc/self/comm", "utf8").trim();
      for (const data of records) {
        const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
        expect(view.getUint32(0, true)).toBe(process.pid);
        expect(view.getUint32(4, true)).toBe(process.ppid);
        expect(view.getBigUint64(8, true)).toBe(257n);
        expect(new TextDecoder().decode(data.subarray(16, 32)).replace(/\0.*$/s, "")).toBe(comm);
      }
      expect(reader.lost).toBe(0);
    } finally {
      await reader.close();
      object.close();
    }
  });
});

describe.skipIf(!enabled).each([0, 2] as const)("stack traces of our own, attached for real at -O%i", (optLevel) => {
  beforeAll(() => mountTracefs());

  it("stack_id(map, flags) in a tracepoint stores the kernel stack and the user stack; their ids resolve to non-zero addresses", () => {
    const object = loadObject(
      compile(
        `
local stacks = bpf.map('stack_trace', 256)
local ids = bpf.map('array', 2, 'uint32_t', 'int64_t')
bpf.tracepoint('syscalls/sys_enter_openat', function (args)
  if bit.rshift(pid_tgid(), 32) ~= ${process.pid} then return end
  ids[0] = stack_id(stacks, 0)
  ids[1] = stack_id(stacks, BPF.F_USER_STACK)
end)`,
        optLevel,
      ),
    );
    try {
      const ids = typedMap(object.maps.get("ids")!);
      ids.set(0, -1n);
      ids.set(1, -1n);
      const attachments = attachAll(object);
      openFiles(2);
      detachAll(attachments);
      const stacks = object.maps.get("stacks")!;
      if (stacks.perCpu) throw new Error("a stack_trace map is not per-CPU");
      const frames = (id: bigint): bigint[] => {
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, Number(id), true);
        const value = stacks.get(key);
        expect(value, `stack id ${id} is in the map`).toBeDefined();
        const view = new DataView(value!.buffer, value!.byteOffset, value!.byteLength);
        const out: bigint[] = [];
        for (let at = 0; at < value!.byteLength; at += 8) out.push(view.getBigUint64(at, true));
        return out.slice(0, out.indexOf(0n) < 0 ? out.length : out.indexOf(0n));
      };
      const kernelId = ids.get(0) as bigint;
      const userId = ids.get(1) as bigint;
      expect(kernelId).toBeGreaterThanOrEqual(0n);
      expect(userId).toBeGreaterThanOrEqual(0n);
      const kernelStack = frames(kernelId);
      const userStack = frames(userId);
      expect(kernelStack.length).toBeGreaterThan(1);
      expect(userStack.length).toBeGreaterThanOrEqual(1);
      for (const pc of kernelStack) expect(pc >= 0xffff800000000000n, `kernel address ${pc.toString(16)}`).toBe(true);
      // The first user frame is where the thread entered the kernel; the rest come from a
      // frame-pointer walk that node's code (built without frame pointers) does not support.
      expect(userStack[0]! > 0n && userStack[0]! < 0x0000800000000000n, `user address ${userStack[0]!.toString(16)}`).toBe(true);
      // ... in an executable mapping of this process (the libc system call wrapper).
      const executable = readFileSync("/proc/self/maps", "utf8")
        .split("\n")
        .map((l) => /^([0-9a-f]+)-([0-9a-f]+) ..x/.exec(l))
        .filter((m) => m !== null)
        .some((m) => userStack[0]! >= BigInt(`0x${m[1]}`) && userStack[0]! < BigInt(`0x${m[2]}`));
      expect(executable).toBe(true);
      // The kernel stack is the system call's: one frame is in do_syscall_64 (/proc/kallsyms).
      const symbols = readFileSync("/proc/kallsyms", "utf8")
        .split("\n")
        .map((l) => l.split(" "))
        .filter((f) => f.length >= 3 && /^[tT]$/.test(f[1]!))
        .map((f) => ({ at: BigInt(`0x${f[0]}`), name: f[2]! }))
        .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
      const symbolOf = (pc: bigint) => {
        let lo = 0;
        let hi = symbols.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (symbols[mid]!.at <= pc) lo = mid;
          else hi = mid - 1;
        }
        return symbols[lo]!.name;
      };
      expect(kernelStack.map(symbolOf)).toContain("do_syscall_64");
    } finally {
      object.close();
    }
  });
});

/** The object loads with libbpf; loaded by ours and attached, it stores this process's parent's tgid in m[0] (CALLED_CORE's filter). */
function readsParentTgid(bytes: Uint8Array, read: ReturnType<typeof readObject>): void {
  loadsWithLibbpf(bytes);
  const loaded = loadObject(read);
  try {
    const attachments = attachAll(loaded);
    openFiles(2);
    detachAll(attachments);
    expect(typedMap(loaded.maps.get("m")!).get(0)).toBe(BigInt(process.ppid));
  } finally {
    loaded.close();
  }
}

/** `parent_tgid` stays a BPF-to-BPF call (in .text) with --inline-threshold 0: its CO-RE records are .text's. */
const CALLED_CORE = (filter: string, use: string) => `
${filter ? "local m = bpf.map('array', 1, 'uint32_t', 'uint64_t')" : ""}
local function parent_tgid()
  local t = task()
  return t.real_parent.tgid
end
bpf.raw_tracepoint('sys_enter', function (args)
  ${filter}
  ${use}
end)`;

describe.skipIf(!enabled).each([0, 2] as const)("CO-RE relocations in a called function (BPF-to-BPF, --inline-threshold 0) at -O%i", (optLevel) => {
  const compileCalled = (source: string) => compileSource(source, { file: "trace.lua", optLevel, inlineThreshold: 0, verifyEach: true }).object;

  it("the .text function carries its records at its own instructions; libbpf and our loader relocate them; the parent's tgid is read", () => {
    const object = compileCalled(CALLED_CORE(`if bit.rshift(pid_tgid(), 32) ~= ${process.pid} then return end`, "m[0] = parent_tgid()"));
    const bytes = writeObject(object);
    const read = readObject(bytes);
    const sub = read.programs.find((p) => p.subprogram)!;
    expect(sub.name).toBe("parent_tgid");
    expect(sub.section).toBe(".text");
    const relocs = sub.coreRelocations ?? [];
    expect(relocs.map((r) => r.kind)).toEqual(["field_byte_offset", "field_byte_offset"]); // real_parent, tgid
    // Each record names an instruction of the function that holds its (local) offset.
    const imm = (code: Uint8Array, at: number) => new DataView(code.buffer, code.byteOffset).getInt32(at + 4, true);
    const kernelOffsets = [memberOffset("real_parent"), memberOffset("tgid")];
    expect(relocs.map((r) => imm(sub.code, r.offset))).toEqual(kernelOffsets);
    expect(read.programs.find((p) => !p.subprogram)!.coreRelocations ?? []).toEqual([]);
    readsParentTgid(bytes, read);
  });

  it("against a BTF with another layout, our loader writes the instructions libbpf writes", () => {
    const object = readObject(writeObject(compileCalled(CALLED_CORE("", "return parent_tgid()"))));
    const dir = mkdtempSync(join(tmpdir(), "luabpf-core-call-"));
    try {
      const { harness, targetPath, objectPath } = libbpfHarness(dir, object);
      const libbpf = (btf?: string) => libbpfCode(harness, objectPath, btf);
      const ours = (targetBtf?: string) => ourCode(object, targetBtf);
      const there = ours(targetPath);
      expect(there).toBe(libbpf(targetPath));
      expect(ours()).toBe(libbpf());
      expect(there).not.toBe(ours());
      // core_target.c: real_parent at 80, tgid at 56 (in an anonymous union), in the
      // immediates of ALU64 instructions (the `r += off` that adds each to its pointer)
      const slots = there.match(/.{16}/g)!.map((h) => Buffer.from(h, "hex"));
      const imms = slots.filter((b) => (b[0]! & 0x0f) === 0x07).map((b) => b.readInt32LE(4));
      expect(imms).toEqual(expect.arrayContaining([80, 56]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Inlined (the default threshold at -O1 and -O2), `parent_tgid`'s records travel with its copied instructions into the program. */
describe.skipIf(!enabled).each([1, 2] as const)("CO-RE relocations in an inlined local function at -O%i", (optLevel) => {
  it("the function's CO-RE reads keep their records in the program; libbpf and our loader relocate them; the parent's tgid is read", () => {
    const source = CALLED_CORE(`if bit.rshift(pid_tgid(), 32) ~= ${process.pid} then return end`, "m[0] = parent_tgid()");
    const bytes = writeObject(compileSource(source, { file: "trace.lua", optLevel, verifyEach: true }).object);
    const read = readObject(bytes);
    expect(read.programs.map((p) => p.subprogram ?? false)).toEqual([false]);
    expect((read.programs[0]!.coreRelocations ?? []).map((r) => r.kind)).toEqual(["field_byte_offset", "field_byte_offset"]);
    readsParentTgid(bytes, read);
  });
});

describe.skipIf(!enabled).each([0, 2] as const)("tp_btf (BTF-enabled raw tracepoints) attached for real at -O%i", (optLevel) => {
  it("sched_process_fork's parent and child are read with direct loads (PTR_TO_BTF_ID), CO-RE relocated; pid, tgid, the child's real_parent", () => {
    const object = compile(
      `
local forks = bpf.map('hash', 64, 'uint32_t', 'uint64_t')
bpf.tp_btf('sched_process_fork', function (parent, child)
  if parent.tgid ~= ${process.pid} then return end
  forks[child.pid] = child.real_parent.tgid * 1000000000 + child.tgid
end)`,
      optLevel,
    );
    const program = object.programs[0]!;
    expect(program.section).toBe("tp_btf/sched_process_fork");
    // Every read is a direct load: no bpf_probe_read_* call at all.
    const helpers: number[] = [];
    for (let at = 0; at < program.code.length; at += 8) if (program.code[at] === 0x85 && program.code[at + 1] === 0) helpers.push(new DataView(program.code.buffer, program.code.byteOffset).getInt32(at + 4, true));
    expect(helpers.filter((h) => [4, 45, 112, 113, 114, 115].includes(h))).toEqual([]);
    expect((program.coreRelocations ?? []).map((r) => r.kind)).toContain("field_byte_offset");
    const bytes = writeObject(object);
    loadsWithLibbpf(bytes);
    const loaded = loadObject(readObject(bytes));
    try {
      const attachments = attachAll(loaded);
      const children = [spawnSync("/bin/true"), spawnSync("/bin/true")];
      detachAll(attachments);
      const forks = typedMap(loaded.maps.get("forks")!);
      for (const child of children) expect(forks.get(child.pid!)).toBe(BigInt(process.pid) * 1000000000n + BigInt(child.pid!));
    } finally {
      loaded.close();
    }
  });

  it("bit-fields of the BTF-typed parent and child are CO-RE relocated: a parent under chrt --reset-on-fork has sched_reset_on_fork set, its child not", () => {
    const loaded = loadObject(
      compile(
        `
local forks = bpf.map('hash', 1024, 'uint32_t', 'uint64_t')
bpf.tp_btf('sched_process_fork', function (parent, child)
  forks[child.pid] = parent.sched_reset_on_fork * 10 + child.sched_reset_on_fork
end)`,
        optLevel,
      ),
    );
    try {
      const attachments = attachAll(loaded);
      const plainChild = spawnSync("/bin/true");
      const viaShell = spawnSync("chrt", ["--reset-on-fork", "--other", "0", "sh", "-c", "/bin/true & echo $!; wait"], { encoding: "utf8" });
      detachAll(attachments);
      expect(viaShell.status, viaShell.stderr).toBe(0);
      const forks = typedMap(loaded.maps.get("forks")!);
      expect(forks.get(plainChild.pid!)).toBe(0n);
      expect(forks.get(Number(viaShell.stdout.trim()))).toBe(10n);
    } finally {
      loaded.close();
    }
  });
});

describe.skipIf(!enabled).each([0, 2] as const)("CO-RE bit-fields of kernel structs at -O%i", (optLevel) => {
  beforeAll(() => mountTracefs());

  it("task().in_execve and task().sched_reset_on_fork read in sched_process_exec: 1 while exec runs; reset-on-fork only under chrt -R", () => {
    const object = compile(
      `
local m = bpf.map('hash', 64, 'uint32_t', 'int64_t')
bpf.tracepoint('sched/sched_process_exec', function (args)
  local t = task()
  m[t.tgid] = t.in_execve * 10 + t.sched_reset_on_fork
end)`,
      optLevel,
    );
    const relocs = object.programs[0]!.coreRelocations ?? [];
    expect(new Set(relocs.map((r) => r.kind))).toEqual(new Set(["field_byte_offset", "field_byte_size", "field_lshift_u64", "field_rshift_u64"]));
    const bytes = writeObject(object);
    loadsWithLibbpf(bytes);
    const loaded = loadObject(readObject(bytes));
    try {
      const attachments = attachAll(loaded);
      const plainRun = spawnSync("/bin/true");
      const resetRun = spawnSync("chrt", ["--reset-on-fork", "--other", "0", "/bin/true"]);
      detachAll(attachments);
      expect([plainRun.status, resetRun.status]).toEqual([0, 0]);
      const m = typedMap(loaded.maps.get("m")!);
      expect([m.get(plainRun.pid!), m.get(resetRun.pid!)]).toEqual([10n, 11n]);
    } finally {
      loaded.close();
    }
  });

  it("relocates a bit-field's offset, size and shifts as libbpf does, against the running kernel and another layout", () => {
    const object = readObject(writeObject(compile(`
bpf.raw_tracepoint('sys_enter', function (args)
  local t = task()
  return t.in_execve * 16 + t.init_private_fork_class
end)`, optLevel)));
    const dir = mkdtempSync(join(tmpdir(), "luabpf-core-bits-"));
    try {
      const { harness, targetPath, objectPath } = libbpfHarness(dir, object);
      const ours = (targetBtf?: string) => ourCode(object, targetBtf);
      const there = ours(targetPath);
      expect(there).toBe(libbpfCode(harness, objectPath, targetPath));
      expect(ours()).toBe(libbpfCode(harness, objectPath));
      expect(there).not.toBe(ours());
      // core_target.c: the bits sit in an unsigned int at byte 72: in_execve is bit 7, the
      // 4-bit field bits 8-11 — lshift 64 - 8 = 56 and 64 - 12 = 52, rshift 63 and 60. The
      // relocated values are immediates of ALU64 instructions: a mov, or the add and shifts
      // that use them (`r3 += 72`, `r1 <<= 56`, as clang relocates a bit-field's shifts).
      const imms = there.match(/.{16}/g)!.map((h) => Buffer.from(h, "hex")).filter((b) => (b[0]! & 0x0f) === 0x07).map((b) => b.readInt32LE(4));
      expect(imms).toEqual(expect.arrayContaining([72, 4, 56, 63, 52, 60]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Builds libbpf_core (loader/test/c) and core_target.o (another layout) in `dir`; writes `object` there. */
function libbpfHarness(dir: string, object: ReturnType<typeof readObject>): { harness: string; targetPath: string; objectPath: string } {
  const objectPath = join(dir, "prog.o");
  const targetPath = join(dir, "core_target.o");
  const harness = join(dir, "libbpf_core");
  writeFileSync(objectPath, writeObject(object));
  const c = (name: string) => join(ROOT, "packages/loader/test/c", name);
  for (const [cmd, args] of [
    ["clang-16", ["-g", "-target", "bpf", "-c", c("core_target.c"), "-o", targetPath]],
    ["cc", ["-O2", "-o", harness, c("libbpf_core.c"), "-lbpf"]],
  ] as const) {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
  }
  return { harness, targetPath, objectPath };
}

/** The instructions libbpf loads for the object's (one) program, as hex. */
/** The hex of the instructions our loader gives the kernel for the object's program, relocated against `targetBtf` (default: the running kernel's). */
function ourCode(object: ReturnType<typeof readObject>, targetBtf?: string): string {
  const loaded = loadObject(object, targetBtf ? { targetBtf } : {});
  try {
    return Buffer.from([...loaded.programs.values()][0]!.instructions).toString("hex");
  } finally {
    loaded.close();
  }
}

function libbpfCode(harness: string, objectPath: string, btf?: string): string {
  const r = spawnSync(harness, btf ? [objectPath, btf] : [objectPath], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split("\n").filter((l) => l !== "" && !l.startsWith("program ")).join("");
}

/** Byte offset of a task_struct member in the running kernel's BTF (bpftool's dump). */
function memberOffset(member: string): number {
  const dump = spawnSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux"], { encoding: "utf8", maxBuffer: 1 << 30 }).stdout.split("\n");
  const start = dump.findIndex((l) => /STRUCT 'task_struct' /.test(l));
  for (let at = start + 1; dump[at]?.startsWith("\t"); at++) {
    const m = new RegExp(`^\\t'${member}' type_id=\\d+ bits_offset=(\\d+)`).exec(dump[at]!);
    if (m) return Number(m[1]) / 8;
  }
  throw new Error(`no task_struct.${member}`);
}

describe.skipIf(!enabled)("__data_loc strings", () => {
  beforeAll(() => mountTracefs());

  it("ffi.copy(buf, args.filename) on sched/sched_process_exec copies the exec'd path from the record", () => {
    const object = loadObject(
      compile(`
local m = bpf.map('array', 2, 'uint32_t', 'uint64_t')
bpf.tracepoint('sched/sched_process_exec', function (args)
  local name = ffi.new('char[32]')
  ffi.copy(name, args.filename)
  if name == '/bin/true' then xadd(m[0], 1) end
  xadd(m[1], 1)
end)`),
    );
    try {
      const attachments = attachAll(object);
      const m = typedMap(object.maps.get("m")!);
      const read = (k: number) => m.get(k) as bigint;
      const before = read(0);
      for (let i = 0; i < 3; i++) expect(spawnSync("/bin/true").status).toBe(0);
      expect(spawnSync("/bin/echo").status).toBe(0);
      expect(read(0) - before).toBeGreaterThanOrEqual(3n); // (another process may exec /bin/true too)
      expect(read(1)).toBeGreaterThanOrEqual(4n);
      detachAll(attachments);
    } finally {
      object.close();
    }
  });
});

describe.skipIf(!enabled)("a Lua kprobe with typed arguments", () => {
  const KPROBE = `
local counts = bpf.map('array', 2, 'uint32_t', 'uint64_t')
bpf.kprobe('do_sys_openat2', function (ctx, dfd, filename)
  if bit.rshift(pid_tgid(), 32) ~= ${process.pid} then return end
  if dfd == -100 then xadd(counts[0], 1) end
  xadd(counts[1], 1)
end)`;

  it("loads into the kernel (our loader and libbpf)", () => {
    const object = compile(KPROBE);
    loadsWithLibbpf(writeObject(object));
    loadObject(object).close();
  });

  const kprobePmu = probePmu("kprobe");
  it.skipIf(kprobePmu === undefined)(`counts this process's opens by dfd${kprobePmu ? "" : " [skipped: this kernel has no kprobe PMU]"}`, () => {
    const object = loadObject(compile(KPROBE));
    try {
      const attachments = attachAll(object);
      openFiles(4);
      detachAll(attachments);
      const counts = typedMap(object.maps.get("counts")!);
      expect(counts.get(0)).toBeGreaterThanOrEqual(4n);
    } finally {
      object.close();
    }
  });
});

describe.skipIf(!enabled)("core_field_exists", () => {
  it("is a field_exists relocation the loader resolves to 1 for a member the kernel has; the guarded read runs", () => {
    const object0 = compile(`
local m = bpf.map('array', 2, 'uint32_t', 'uint64_t')
bpf.raw_tracepoint('sys_enter', function (args)
  if bit.rshift(pid_tgid(), 32) ~= ${process.pid} then return end
  local t = task()
  if core_field_exists(t, 'tgid') ~= 0 then m[0] = t.tgid end
  m[1] = core_field_exists(t, 'comm')
end)`);
    expect(object0.programs[0]!.coreRelocations!.map((r) => r.kind)).toEqual(expect.arrayContaining(["field_exists", "field_byte_offset"]));
    const bytes = writeObject(object0);
    loadsWithLibbpf(bytes);
    const object = loadObject(readObject(bytes));
    try {
      const attachments = attachAll(object);
      openFiles(2);
      detachAll(attachments);
      const m = typedMap(object.maps.get("m")!);
      expect(m.get(0)).toBe(BigInt(process.pid));
      expect(m.get(1)).toBe(1n);
    } finally {
      object.close();
    }
  });
});

const TARGET_SOURCE = `
#include <stdlib.h>
__attribute__((noinline)) int luabpf_lua_target(int x) { return x * 2; }
int main(int argc, char **argv) {
  int sum = 0;
  for (int i = 1; i < argc; i++) sum += luabpf_lua_target(atoi(argv[i]));
  return sum == 0;
}
`;

describe.skipIf(!enabled)("a Lua uprobe on a binary the test builds", () => {
  let binary: string;
  beforeAll(() => {
    binary = compileHostC("lua_probe_target", TARGET_SOURCE);
  });

  it("bpf.uprobe('path:symbol', fn) sums the function's first argument (ptregs.parm1) and bpf.uprobe(..., true) its return value", () => {
    const source = `
local sums = bpf.map('array', 2, 'uint32_t', 'uint64_t')
bpf.uprobe('${binary}:luabpf_lua_target', function (ptregs)
  xadd(sums[0], ptregs.parm1)
end)
bpf.uprobe('${binary}:luabpf_lua_target', function (ptregs)
  xadd(sums[1], ptregs.ret)
end, true)
`;
    const object = loadObject(compile(source));
    try {
      expect([...object.programs.values()].map((p) => p.section).sort()).toEqual([`uprobe/${binary}:luabpf_lua_target`, `uretprobe/${binary}:luabpf_lua_target`].sort());
      const attachments = attachAll(object);
      expect(spawnSync(binary, ["4", "30", "8"]).status).toBe(0);
      const sums = typedMap(object.maps.get("sums")!);
      expect(sums.get(0)).toBe(42n);
      expect(sums.get(1)).toBe(84n);
      detachAll(attachments);
    } finally {
      object.close();
    }
  });
});

const FENTRY = `
local counts = bpf.map('array', 4, 'uint32_t', 'uint64_t')
bpf.fentry('do_sys_openat2', function (dfd, filename, how)
  if dfd == -100 then xadd(counts[1], 1) end
end)
bpf.fexit('do_sys_openat2', function (dfd, filename, how, ret)
  if ret >= 0 then xadd(counts[2], 1) end
end)
`;

/** Why this kernel refuses fentry programs, or undefined when it loads them. */
function fentryRefusal(): string | undefined {
  try {
    loadObject(compile(FENTRY)).close();
    return undefined;
  } catch (error) {
    if (error instanceof BpfError) return `${error.code} loading an fentry program (no BPF trampolines)`;
    throw error;
  }
}

describe.skipIf(!enabled)("fentry/fexit", () => {
  it("the arguments are typed from the kernel's BTF: ctx slots 0, 8, 16, and fexit's return value after them", () => {
    const r = compileSource(FENTRY, { file: "trace.lua", optLevel: 0, keepIr: true });
    expect(r.object.programs.map((p) => p.section)).toEqual(["fentry/do_sys_openat2", "fexit/do_sys_openat2"]);
    // do_sys_openat2(int dfd, const char __user *filename, struct open_how *how) returns long.
    expect(r.ir).toMatch(/load i64 %0, 0\n/);
    expect(r.ir).toMatch(/load i64 %0, 24\n/);
  });

  const refusal = enabled ? fentryRefusal() : "no kernel";
  it.skipIf(refusal !== undefined)(`fentry and fexit count this process's opens${refusal ? ` [skipped: this kernel refuses them: ${refusal}]` : ""}`, () => {
    const object = loadObject(compile(FENTRY));
    try {
      const attachments = attachAll(object);
      openFiles(6);
      const counts = typedMap(object.maps.get("counts")!);
      expect(Number(counts.get(1) ?? 0n)).toBeGreaterThanOrEqual(6);
      expect(Number(counts.get(2) ?? 0n)).toBeGreaterThanOrEqual(6);
      detachAll(attachments);
    } finally {
      object.close();
    }
  });
});

describe.skipIf(!enabled)("luabpf run on Lua tracing programs (the real command)", () => {
  beforeAll(() => mountTracefs());

  it("examples/opens-by-pid.lua (README's quick start): counts the command's openat calls under its pid, then detaches", () => {
    const links = bpftoolLinkIds();
    const r = luabpf(["run", "examples/opens-by-pid.lua", "--", "sh", "-c", "echo $$; exec cat /etc/hostname /etc/hostname /etc/hostname"]);
    expect(r.stderr).toMatch(/^luabpf: attached tracepoint_syscalls_sys_enter_openat to tracepoint syscalls:sys_enter_openat$/m);
    expect(r.code).toBe(0);
    const pid = /^(\d+)$/m.exec(r.stdout)?.[1];
    expect(pid, r.stdout).toBeDefined();
    const count = Number(new RegExp(`^@opens\\[${pid}\\]: (\\d+)$`, "m").exec(r.stdout)?.[1]);
    expect(count).toBeGreaterThanOrEqual(3); // cat opened /etc/hostname three times (and its libraries)
    // No link of the run is left (a pinned one would outlive the process). Other processes on
    // the machine may hold links of their own for a moment: a new id must go away in time.
    const deadline = Date.now() + 10_000;
    let left = bpftoolLinkIds().filter((id) => !links.includes(id));
    while (left.length > 0 && Date.now() < deadline) {
      spawnSync("sleep", ["0.2"]);
      left = bpftoolLinkIds().filter((id) => !links.includes(id));
    }
    expect(left).toEqual([]);
  });

  it("examples/exec-parents.lua: one ring buffer record per exec, decoded by its C type: pid, the parent's pid (CO-RE), the name", () => {
    const r = luabpf(["run", "examples/exec-parents.lua", "--", "sh", "-c", "echo $$ $PPID; exec true"]);
    expect(r.stderr).toMatch(/^luabpf: attached raw_tracepoint_sched_process_exec to raw tracepoint sched_process_exec$/m);
    expect(r.code).toBe(0);
    const [pid, ppid] = (/^(\d+) (\d+)$/m.exec(r.stdout) ?? []).slice(1).map(Number);
    expect(pid, r.stdout).toBeGreaterThan(0);
    // The shell's exec and then its exec of `true`, in the same process, whose parent is luabpf.
    expect(r.stdout).toContain(`pid=${pid} ppid=${ppid} comm=sh\n`);
    expect(r.stdout).toContain(`pid=${pid} ppid=${ppid} comm=true\n`);
    const json = luabpf(["run", "examples/exec-parents.lua", "--json", "--", "true"]);
    expect(json.code).toBe(0);
    const events = json.stdout.trim().split("\n").map((line) => JSON.parse(line) as { type: string; value: { pid: number; ppid: number; comm: string } });
    expect(events.some((e) => e.type === "event" && e.value.comm === "true" && e.value.ppid > 0)).toBe(true);
  });
});

describe("docs/language.md's tracing examples", () => {
  const doc = readFileSync(join(ROOT, "docs/language.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Tracing programs"), doc.indexOf("## Differences from bcc"));
  const blocks = [...section.matchAll(/^```lua\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

  it("there is an example per hook", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
  });

  it.each(blocks.map((b, i) => [i, b] as const))("example %i compiles, and loads into the kernel where this machine allows its hook", (_i, block) => {
    const object = compile(block);
    expect(object.programs.length).toBeGreaterThan(0);
    // fentry/fexit: no trampolines here; uprobes: the example's binary is made up.
    if (!kernel || object.programs.some((p) => /^(fentry|fexit|uprobe|uretprobe)\//.test(p.section))) return;
    loadObject(object).close();
  });
});
