// Kernel tests of the tracing hooks: a tracepoint counter on syscalls/sys_enter_openat while the
// test opens files, a uprobe and a uretprobe on a function of a binary the test builds with `cc`
// reporting its argument and return value through a ring buffer, raw and BTF tracepoints,
// fentry/fexit and kprobes where the kernel has them (skipped with the reason where it does
// not). Every test checks that its links are gone from `bpftool link` after close() and that no
// descriptor stays open.
import { closeSync, openSync, readFileSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BpfError,
  LoaderError,
  RingBufferReader,
  attach,
  functionSymbols,
  kernelOrSkip,
  linkInfo,
  loadObject,
  loadObjectFile,
  probePmu,
  targetForSection,
  typedMap,
  type Attachment,
  type LoadedObject,
} from "../src/index.js";
import { R0, exit, movImm, program } from "./asm.js";
import { bpftoolLinkIds, compileBpfC, compileHostC, hasTool, mountTracefs, openDescriptorCount } from "@luabpf/test-support";

const kernel = kernelOrSkip();
const C_DIR = new URL("./c/", import.meta.url);
const tools = ["clang-16", "bpftool", "cc"].filter((tool) => !hasTool(tool));
if (kernel && tools.length > 0 && process.env.CI) throw new Error(`tracing attach tests need ${tools.join(", ")}`);
const enabled = kernel && tools.length === 0;

/** Opens and closes a file `count` times (each is one openat system call of this process). */
function openFiles(count: number): void {
  for (let i = 0; i < count; i++) closeSync(openSync("/proc/self/stat", "r"));
}

/** Closes the attachment and checks its link left `bpftool link`. */
function detach(attachment: Attachment): void {
  const id = linkInfo(attachment.linkFd!).id;
  expect(bpftoolLinkIds()).toContain(id);
  attachment.close();
  expect(bpftoolLinkIds()).not.toContain(id);
}

describe.skipIf(!enabled)("tracepoint counter", () => {
  beforeAll(() => mountTracefs());

  it("counts this process's openat calls on syscalls/sys_enter_openat, and stops after close", () => {
    const before = openDescriptorCount();
    const object = loadObjectFile(compileBpfC(C_DIR, "trace_events"));
    try {
      const program = object.programs.get("count_openat")!;
      const target = targetForSection(program.section);
      expect(target).toEqual({ kind: "tracepoint", category: "syscalls", name: "sys_enter_openat" });
      const attachment = attach(program, target!);
      const counts = typedMap(object.maps.get("counts")!);
      const read = () => Number(counts.get(process.pid) ?? 0n);
      openFiles(25);
      const afterOpens = read();
      // Other threads of this process may open files too, but never fewer than ours.
      expect(afterOpens).toBeGreaterThanOrEqual(25);
      detach(attachment);
      const stopped = read();
      openFiles(10);
      expect(read()).toBe(stopped);
    } finally {
      object.close();
    }
    expect(openDescriptorCount()).toBe(before);
  });

  it("a tracepoint that does not exist is a LoaderError", () => {
    const object = loadObjectFile(compileBpfC(C_DIR, "trace_events"));
    try {
      const program = object.programs.get("count_openat")!;
      expect(() => attach(program, { kind: "tracepoint", category: "syscalls", name: "sys_enter_nothing" })).toThrow(LoaderError);
    } finally {
      object.close();
    }
  });
});

const TARGET_SOURCE = `
#include <stdio.h>
#include <stdlib.h>
/* The probed function: not inlined, so it has a symbol and a call site. */
__attribute__((noinline)) int luabpf_target(int x) { return x * 3 + 1; }
/* Arguments: numbers to pass to luabpf_target; "w" first waits for a line on stdin. */
int main(int argc, char **argv) {
  int sum = 0, first = 1;
  if (argc > 1 && argv[1][0] == 'w') { getchar(); first = 2; }
  for (int i = first; i < argc; i++) sum += luabpf_target(atoi(argv[i]));
  return sum == 0;
}
`;

describe.skipIf(!enabled)("probes on a binary the test builds", () => {
  let binary: string;
  let object: LoadedObject;

  beforeAll(() => {
    binary = compileHostC("probe_target", TARGET_SOURCE);
    object = loadObjectFile(compileBpfC(C_DIR, "trace_probes"));
  });
  afterAll(() => object?.close());

  it("finds the function's file offset through the ELF symbol table", () => {
    const symbol = functionSymbols(binary).get("luabpf_target")!;
    expect(symbol).toBeDefined();
    // The byte at the file offset is the function's first instruction byte, as objdump shows it.
    const first = readFileSync(binary)[Number(symbol.fileOffset)]!;
    const objdump = spawnSync("objdump", ["-d", "--start-address", `0x${symbol.address.toString(16)}`, "--stop-address", `0x${(symbol.address + 1n).toString(16)}`, binary], { encoding: "utf8" });
    if (objdump.status === 0 || process.env.CI) {
      const shown = /<luabpf_target>:\s+[0-9a-f]+:\s+([0-9a-f]{2})/.exec(objdump.stdout)?.[1];
      expect(shown).toBe(first.toString(16).padStart(2, "0"));
    }
    expect(() => functionSymbols("/proc/self/stat")).toThrow(/not an ELF file/);
  });

  it("uprobe and uretprobe report the argument and the return value through a ring buffer", async () => {
    const before = openDescriptorCount();
    const entry = attach(object.programs.get("on_call")!, { kind: "uprobe", binary, symbol: "luabpf_target" });
    const exit = attach(object.programs.get("on_return")!, { kind: "uprobe", binary, symbol: "luabpf_target", retprobe: true });
    const reader = new RingBufferReader(object.maps.get("calls")!);
    const child = spawnSync(binary, ["42", "-5"]);
    expect(child.status).toBe(0);
    const calls: Array<{ pid: number; kind: number; value: bigint }> = [];
    for await (const record of reader) {
      const call = record.value as { pid: number; kind: number; value: bigint };
      if (call.pid !== child.pid) continue;
      calls.push(call);
      if (calls.length === 4) break;
    }
    expect(calls.map((call) => [call.kind, call.value])).toEqual([
      [0, 42n],
      [1, 127n],
      [0, -5n],
      [1, -14n],
    ]);
    expect(reader.lost).toBe(0);
    detach(entry);
    detach(exit);
    expect(openDescriptorCount()).toBe(before);
  });

  it("a uprobe limited to one process fires for it and not for another", async () => {
    const waiting = spawn(binary, ["w", "11"], { stdio: ["pipe", "ignore", "ignore"] });
    const exited = new Promise((resolve) => waiting.on("exit", resolve));
    const attachment = attach(object.programs.get("on_call")!, { kind: "uprobe", binary, symbol: "luabpf_target", pid: waiting.pid! });
    const reader = new RingBufferReader(object.maps.get("calls")!);
    try {
      reader.readAvailable();
      expect(spawnSync(binary, ["9"]).status).toBe(0);
      expect(reader.readAvailable()).toEqual([]);
      waiting.stdin!.end("\n");
      expect(await exited).toBe(0);
      const record = (await reader.next()).value!;
      expect(record.value).toEqual({ pid: waiting.pid, kind: 0, value: 11n });
    } finally {
      await reader.close();
      detach(attachment);
    }
  });

  it("a raw tracepoint and a BTF tracepoint (tracing link) count this process's system calls", () => {
    const counts = typedMap(object.maps.get("per_process")!);
    const read = (slot: number) => Number(counts.get(process.pid | (slot << 24)) ?? 0n);
    const raw = attach(object.programs.get("on_sys_enter")!, targetForSection("raw_tp/sys_enter")!);
    const btf = attach(object.programs.get("on_sys_enter_btf")!, targetForSection("tp_btf/sys_enter")!);
    openFiles(10);
    expect(read(3)).toBeGreaterThanOrEqual(20); // an openat and a close each
    expect(read(5)).toBeGreaterThanOrEqual(20);
    detach(raw);
    detach(btf);
    const [rawAfter, btfAfter] = [read(3), read(5)];
    openFiles(5);
    expect([read(3), read(5)]).toEqual([rawAfter, btfAfter]);
  });

  const kprobePmu = probePmu("kprobe");
  it.skipIf(kprobePmu === undefined)(
    `kprobe counts do_sys_openat2 calls${kprobePmu ? "" : " [skipped: this kernel has no kprobe PMU (CONFIG_KPROBES is off)]"}`,
    () => {
      const counts = typedMap(object.maps.get("per_process")!);
      const attachment = attach(object.programs.get("on_openat2_kprobe")!, targetForSection("kprobe/do_sys_openat2")!);
      openFiles(5);
      expect(Number(counts.get(process.pid | (4 << 24)) ?? 0n)).toBeGreaterThanOrEqual(5);
      detach(attachment);
    },
  );

  it.runIf(kprobePmu === undefined)("without a kprobe PMU, a kprobe attach is a LoaderError that says so", () => {
    const before = openDescriptorCount();
    expect(() => attach(object.programs.get("on_openat2_kprobe")!, { kind: "kprobe", symbol: "do_sys_openat2" })).toThrow(
      /no kprobe PMU/,
    );
    expect(openDescriptorCount()).toBe(before);
  });
});

/** Whether this kernel loads fentry programs at all (some refuse them with EPERM). */
function fentryRefusal(): string | undefined {
  if (!enabled) return "no kernel";
  try {
    loadObjectFile(compileBpfC(C_DIR, "trace_fentry")).close();
    return undefined;
  } catch (error) {
    if (error instanceof BpfError) return `${error.code} loading an fentry program`;
    throw error;
  }
}

const fentry = enabled ? fentryRefusal() : "no kernel";
describe.skipIf(!enabled)("fentry/fexit", () => {
  it.skipIf(fentry !== undefined)(
    `fentry and fexit on do_sys_openat2 count this process's opens${fentry ? ` [skipped: this kernel refuses them: ${fentry}]` : ""}`,
    () => {
      const object = loadObjectFile(compileBpfC(C_DIR, "trace_fentry"));
      try {
        const counts = typedMap(object.maps.get("per_process")!);
        const entry = attach(object.programs.get("on_openat2_entry")!, targetForSection("fentry/do_sys_openat2")!);
        const exit = attach(object.programs.get("on_openat2_exit")!, targetForSection("fexit/do_sys_openat2")!);
        openFiles(6);
        expect(Number(counts.get(process.pid | (1 << 24)) ?? 0n)).toBeGreaterThanOrEqual(6);
        expect(Number(counts.get(process.pid | (2 << 24)) ?? 0n)).toBeGreaterThanOrEqual(6);
        detach(entry);
        detach(exit);
      } finally {
        object.close();
      }
    },
  );

  it("a tracing program for a function the kernel does not have is a LoaderError before loading", () => {
    const code = program(movImm(R0, 0), exit());
    const object = { license: "GPL", maps: [], programs: [{ name: "f", section: "fentry/luabpf_no_such_function", code, relocations: [] }] };
    expect(() => loadObject(object)).toThrow(/the kernel has no function luabpf_no_such_function in its BTF/);
  });
});
