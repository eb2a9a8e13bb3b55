// The tracing forms of the dialect (lower/tracing.ts) at compile time: typed tracepoint and
// raw tracepoint contexts, fentry/fexit arguments, task() with CO-RE relocated fields, ring
// buffer records and the reference rule, the helpers a program type may call — each with
// the located errors a user sees. Kernel types come from this machine's BTF when it has
// one, else from a small C description of the same layouts.
import { existsSync, readFileSync } from "node:fs";
import { CompileError, printModule, verifyModule, type Module } from "@luabpf/ir";
import { readBtfFile } from "@luabpf/elf";
import { describe, expect, it } from "vitest";
import { compileLua, KernelTypes, type KernelTypeSource } from "../src/index.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const btf = existsSync(VMLINUX) ? readBtfFile(readFileSync(VMLINUX)) : undefined;

/** A sched_switch-like format file, so tracepoint tests do not depend on tracefs. */
const OPENAT_FORMAT = `name: sys_enter_openat
ID: 700
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;

print fmt: "dfd: 0x%08lx", ((unsigned long)(REC->dfd))
`;

const source: KernelTypeSource = {
  ...(btf ? { btf, btfOrigin: VMLINUX } : {}),
  tracepointFormat: (category, name) => (category === "syscalls" && name === "sys_enter_openat" ? OPENAT_FORMAT : undefined),
};

function compile(text: string, kernel: KernelTypeSource | KernelTypes = source): Module {
  const m = compileLua(text, { file: "trace.lua", kernel });
  expect(verifyModule(m)).toEqual([]);
  return m;
}

function errorsOf(text: string, kernel: KernelTypeSource = source): string[] {
  try {
    compileLua(text, { file: "trace.lua", kernel });
  } catch (e) {
    if (e instanceof CompileError) return e.diagnostics.map((d) => `${d.location?.line}:${d.location?.column}: ${d.message}`);
    throw e;
  }
  throw new Error("expected a compile error");
}

describe("tracepoint contexts", () => {
  it("args.<field> loads the format's field at its offset with its C type; an int in a long slot reads as the int", () => {
    const ir = printModule(
      compile(`
local m = bpf.map('array', 4, 'uint32_t', 'uint64_t')
bpf.tracepoint('syscalls/sys_enter_openat', function (args)
  m[0] = args.flags
  m[1] = args.mode
end)`),
    );
    expect(ir).toMatch(/load i32 %0, 32\n\s+%\d+ = sext i32/);
    expect(ir).toMatch(/load i16 %0, 40\n/);
  });

  it("common_pid is the current thread id and common_type the event id (the kernel hides the first 8 bytes); common_flags is an error", () => {
    const ir = printModule(
      compile(`
local m = bpf.map('array', 4, 'uint32_t', 'uint64_t')
bpf.tracepoint('syscalls/sys_enter_openat', function (args)
  m[0] = args.common_pid
  m[1] = args.common_type
end)`),
    );
    expect(ir).toMatch(/call i64 helper 14 \(\)\n\s+%\d+ = and i64 %\d+, 4294967295/);
    expect(ir).toMatch(/store i64 700,/);
    expect(ir).not.toMatch(/load \w+ %0, [0-7]\n/);
    expect(errorsOf(`bpf.tracepoint('syscalls/sys_enter_openat', function (args) return args.common_flags end)`)).toEqual([
      expect.stringMatching(/^1:\d+: 'common_flags' cannot be read: the kernel overwrites a tracepoint record's first 8 bytes/),
    ]);
  });

  it("a field of the context passes to a Lua function as its value; a pointer field as the pointer", () => {
    // Found by the differential tester's tracing programs: `f(args.flags)` was refused as
    // "context data" although `local x = args.flags; f(x)` compiled.
    const ir = printModule(
      compile(`
local m = bpf.map('array', 4, 'uint32_t', 'uint64_t')
local function add(a, b) return a + b end
local function first(p) return p[0] end
bpf.tracepoint('syscalls/sys_enter_openat', function (args)
  m[0] = add(args.flags, args.mode)
  m[1] = first(args.filename)
end)`),
    );
    expect(ir).toMatch(/load i32 %0, 32\n/);
    expect(ir).toMatch(/load i16 %0, 40\n/);
    expect(ir).toMatch(/load i64 %0, 24\n/);
  });

  it("an unknown field names the fields the format has", () => {
    expect(errorsOf(`bpf.tracepoint('syscalls/sys_enter_openat', function (args) return args.fd end)`)[0]).toMatch(/has no member 'fd' \(it has common_type, .*dfd, filename, flags, mode\)/);
  });
});

describe.skipIf(!btf)("with the kernel's BTF", () => {
  it("raw_tracepoint args are the traced function's u64 arguments (sys_enter: regs, id)", () => {
    const ir = printModule(compile(`local m = bpf.map('array', 1, 'uint32_t', 'uint64_t')\nbpf.raw_tracepoint('sys_enter', function (args) m[0] = args[1] end)`));
    expect(ir).toMatch(/load i64 %0, 8\n/);
    expect(errorsOf(`bpf.raw_tracepoint('sys_enter', function (args) return args[2] end)`)[0]).toMatch(/index 2 is out of bounds of 'unsigned long long \[2\]'/);
  });

  it("task() fields are CO-RE relocated: one field_byte_offset record per struct and member, reused", () => {
    const m = compile(`
local m = bpf.map('array', 4, 'uint32_t', 'uint64_t')
bpf.kprobe('do_nanosleep', function (ctx)
  local t = task()
  m[0] = t.tgid
  m[1] = t.real_parent.tgid
  m[2] = t.real_parent.real_parent.pid
end)`);
    expect(m.coreRelocations.map((r) => `${r.kind} ${r.path.join(".")}`)).toEqual(["field_byte_offset tgid", "field_byte_offset real_parent", "field_byte_offset pid"]);
    expect(printModule(m).match(/coreval/g)!.length).toBeGreaterThanOrEqual(5);
  });

  it("fentry parameters take the function's argument types; too many parameters is an error", () => {
    const ir = printModule(compile(`local m = bpf.map('array', 1, 'uint32_t', 'uint64_t')\nbpf.fentry('do_sys_openat2', function (dfd, filename, how) m[0] = dfd end)`));
    expect(ir).toMatch(/section "fentry\/do_sys_openat2" type tracing/);
    expect(ir).toMatch(/load i64 %0, 0\n\s+%\d+ = trunc i64 %\d+ to i32\n\s+%\d+ = sext i32/);
    expect(errorsOf(`bpf.fentry('do_sys_openat2', function (a, b, c, d) end)`)[0]).toMatch(/^1:\d+: 'do_sys_openat2' passes 3 arguments; this is parameter 4/);
    expect(errorsOf(`bpf.fexit('luabpf_no_such_function', function (a) end)`)[0]).toMatch(/has no function 'luabpf_no_such_function'/);
  });

  it("tp_btf and fentry struct-pointer arguments are kernel data read with direct loads (CO-RE offsets), not probe_read", () => {
    const ir = printModule(compile(`local m = bpf.map('array', 2, 'uint32_t', 'uint64_t')\nbpf.tp_btf('sched_process_fork', function (parent, child)\n  m[0] = child.real_parent.tgid\nend)`));
    expect(ir).toMatch(/section "tp_btf\/sched_process_fork" type tracing/);
    expect(ir).not.toMatch(/probe_read/);
    expect(ir).toMatch(/load ptr %0, 8/); // child: the second 8-byte slot, a pointer
    expect(printModule(compile(`local m = bpf.map('array', 1, 'uint32_t', 'uint64_t')\nbpf.fentry('wake_up_new_task', function (p) m[0] = p.tgid end)`))).not.toMatch(/probe_read/);
    expect(errorsOf(`bpf.tp_btf('sched_process_fork', function (a, b, c) end)`)[0]).toMatch(/^1:\d+: tracepoint 'sched_process_fork' passes 2 arguments; this is parameter 3/);
    expect(errorsOf(`bpf.tp_btf('luabpf_no_such_tp', function (a) end)`)[0]).toMatch(/has no tracepoint 'luabpf_no_such_tp' \(no typedef btf_trace_luabpf_no_such_tp\)/);
    expect(errorsOf(`bpf.tp_btf('sched_process_fork', function (parent) parent.pid = 1 end)`)[0]).toMatch(/read-only/);
    expect(errorsOf(`bpf.tp_btf('sched_process_fork', function (parent) local i = parent.pid return parent.comm[i] end)`)[0]).toMatch(/can only be indexed with constants/);
  });

  it("kprobe parameters after the context are the function's arguments, typed from BTF and read from their registers", () => {
    const ir = printModule(compile(`local m = bpf.map('array', 2, 'uint32_t', 'uint64_t')\nbpf.kprobe('do_sys_openat2', function (ctx, dfd, filename)\n  m[0] = dfd\n  m[1] = ctx.parm1\nend)`));
    // dfd is `int` in di (pt_regs offset 112): the low 32 bits, sign-extended.
    expect(ir).toMatch(/load i64 %0, 112\n\s+%\d+ = trunc i64 %\d+ to i32\n\s+%\d+ = sext i32/);
    expect(errorsOf(`bpf.kprobe('do_sys_openat2', function (ctx, a, b, c, d) end)`)[0]).toMatch(/^1:\d+: 'do_sys_openat2' passes 3 arguments; this is one more/);
    expect(errorsOf(`bpf.kprobe('luabpf_nothing', function (ctx, a) end)`)[0]).toMatch(/has no function 'luabpf_nothing': read its arguments as ptregs.parm1/);
  });

  it("a helper the program type cannot call is a located error naming the program type", () => {
    expect(errorsOf(`local st = bpf.map('stack_trace', 64)\nbpf.xdp(function (ctx)\n  return stack_id(st, 0)\nend)`)).toEqual([
      expect.stringMatching(/^3:10: xdp programs \(program type xdp\) cannot call bpf_get_stackid/),
    ]);
  });
});

describe("ring buffer records", () => {
  const HEADER = `ffi.cdef [[ struct event { uint32_t pid; uint32_t n; }; ]]\nlocal rb = bpf.map('ringbuf', 4096)\n`;

  it("reserve → zero-filled record (the program stops if the buffer is full) → submit", () => {
    const ir = printModule(compile(`${HEADER}bpf.raw_tracepoint('sys_enter', function (args)\n  local e = ringbuf_reserve(rb, 'struct event')\n  e.pid = 7\n  ringbuf_submit(e)\nend)`));
    expect(ir).toMatch(/= call ptr helper 131 \(%\d+, 8, 0\)/);
    expect(ir).toMatch(/call void helper 132 \(%\d+, 0\)/);
  });

  it("a record not submitted or discarded on some path is an error at the reserve, naming the return", () => {
    expect(errorsOf(`${HEADER}bpf.raw_tracepoint('sys_enter', function (args)\n  local e = ringbuf_reserve(rb, 'struct event')\n  if args[1] == 1 then return 0 end\n  ringbuf_discard(e)\nend)`)).toEqual([
      expect.stringMatching(/^4:\d+: the record reserved here is not submitted or discarded on every path \(line 5 returns while it is held\)/),
    ]);
  });

  it("a record used after submit is an error at the use", () => {
    expect(errorsOf(`${HEADER}bpf.raw_tracepoint('sys_enter', function (args)\n  local e = ringbuf_reserve(rb, 'struct event')\n  ringbuf_submit(e)\n  e.n = 1\nend)`)).toEqual([
      expect.stringMatching(/^6:\d+: the ring buffer record is used after ringbuf_submit\/ringbuf_discard \(line 5\)/),
    ]);
  });

  it("reserve needs a ringbuf map and a sized type; submit needs a reserved record", () => {
    expect(errorsOf(`local a = bpf.map('array', 1)\nbpf.raw_tracepoint('sys_enter', function (args) local e = ringbuf_reserve(a, 'uint32_t') end)`)[0]).toMatch(/ringbuf_reserve needs a ringbuf map, not the array map 'a'/);
    expect(errorsOf(`${HEADER}bpf.raw_tracepoint('sys_enter', function (args) local e = ffi.new('struct event'); ringbuf_submit(e) end)`)[0]).toMatch(/ringbuf_submit needs a record from ringbuf_reserve, not C data/);
  });
});

describe("without kernel types", () => {
  it("task() and fentry name what is missing", () => {
    expect(errorsOf(`bpf.kprobe('f', function (ctx) local t = task() end)`, {})[0]).toMatch(/'struct task_struct' is incomplete: it is not declared \(no kernel BTF was given: use --btf FILE/);
    expect(errorsOf(`bpf.fentry('f', function (a) end)`, {})[0]).toMatch(/bpf.fentry needs the kernel's BTF for the arguments of 'f' \(give one with --btf FILE\)/);
  });

  it("the kernel's BTF is read only when a program needs it", () => {
    let reads = 0;
    const lazy: KernelTypeSource = {
      get btf() {
        reads++;
        return btf;
      },
    };
    compile(`bpf.socket(function (skb) return 0 end)`, lazy);
    expect(reads).toBe(0);
  });
});
