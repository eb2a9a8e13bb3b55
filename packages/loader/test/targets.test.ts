// Attach targets from section names (libbpf conventions) and from the attach data an object
// records (`.luabpf.attach`), with command-line options overriding the recorded data. No kernel.
import { describe, expect, it } from "vitest";
import { LoaderError, describeTarget, targetForProgram, targetForSection } from "../src/index.js";

describe("targets from section names", () => {
  it.each([
    ["xdp", { kind: "xdp", iface: "eth0" }],
    ["tc", { kind: "tc", iface: "eth0", direction: "ingress" }],
    ["tc/egress", { kind: "tc", iface: "eth0", direction: "egress" }],
    ["tcx/ingress", { kind: "tc", iface: "eth0", direction: "ingress" }],
    ["classifier", { kind: "tc", iface: "eth0", direction: "ingress" }],
    ["socket", { kind: "socket", iface: "eth0" }],
    ["tracepoint/syscalls/sys_enter_openat", { kind: "tracepoint", category: "syscalls", name: "sys_enter_openat" }],
    ["tp/sched/sched_switch", { kind: "tracepoint", category: "sched", name: "sched_switch" }],
    ["raw_tp/sys_enter", { kind: "raw_tracepoint", name: "sys_enter" }],
    ["kprobe/do_sys_openat2", { kind: "kprobe", symbol: "do_sys_openat2", retprobe: false }],
    ["kretprobe/do_sys_openat2+0x10", { kind: "kprobe", symbol: "do_sys_openat2", offset: 16n, retprobe: true }],
    ["uprobe//bin/bash:readline", { kind: "uprobe", binary: "/bin/bash", symbol: "readline", retprobe: false }],
    ["uretprobe/libc.so.6:malloc+8", { kind: "uprobe", binary: "libc.so.6", symbol: "malloc", offset: 8n, retprobe: true }],
    ["fentry/do_sys_openat2", { kind: "tracing" }],
    ["tp_btf/sched_switch", { kind: "tracing" }],
  ])("%s", (section, target) => {
    expect(targetForSection(section, { iface: "eth0" })).toEqual(target);
  });

  it("sections without a hook have no target; unknown and incomplete ones are errors", () => {
    expect(targetForSection("syscall")).toBeUndefined();
    expect(targetForSection("action")).toBeUndefined();
    expect(() => targetForSection("xdp")).toThrow(/a xdp program needs an interface/);
    expect(() => targetForSection("tracepoint/sys_enter")).toThrow(/tracepoint\/<category>\/<name>/);
    expect(() => targetForSection("tcx/sideways", { iface: "lo" })).toThrow(/tcx\/ingress or tcx\/egress/);
    expect(() => targetForSection("uprobe")).toThrow(LoaderError);
    expect(() => targetForSection("mystery")).toThrow(/not a known program section/);
  });

  it("the object's attach data fills in what the section leaves out; options win over it", () => {
    expect(targetForProgram({ section: "socket", attach: { interface: "lo" } })).toEqual({ kind: "socket", iface: "lo" });
    expect(targetForProgram({ section: "socket", attach: { interface: "lo" } }, { iface: "eth1" })).toEqual({ kind: "socket", iface: "eth1" });
    expect(targetForProgram({ section: "uprobe", attach: { path: "/bin/bash", symbol: "readline", pid: 7 } })).toEqual({
      kind: "uprobe",
      binary: "/bin/bash",
      symbol: "readline",
      retprobe: false,
      pid: 7,
    });
    expect(targetForProgram({ section: "uprobe", attach: { path: "/bin/bash", symbol: "readline", retprobe: true } }, { pid: 9 })).toMatchObject({ retprobe: true, pid: 9 });
  });

  it("describes targets in one line", () => {
    expect(describeTarget({ kind: "xdp", iface: "eth0", mode: "generic" })).toBe("xdp on eth0 (generic)");
    expect(describeTarget({ kind: "uprobe", binary: "/bin/sh", symbol: "main", retprobe: true })).toBe("uretprobe /bin/sh:main");
  });
});
