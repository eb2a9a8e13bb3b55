/**
 * The example programs: structure of the emitted IR (maps, program metadata,
 * opcodes), the IR verifier, and runs in the IR interpreter on sample packets/contexts.
 */
import { describeCType, i32, i64, MapState, printFunction } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { compile, context, count, ipv4Packet, only, opcodes, run, skbContext } from "./helpers.js";

describe("per-protocol packet counter", () => {
  const src = `
local bpf = require('bpf')
local counts = bpf.map('array', 256, 'uint32_t', 'uint64_t')
bpf.socket(function (skb)
  xadd(counts[pkt.ip.proto], 1)
  return 0
end)
`;
  test("declares the map and the program", () => {
    const m = compile(src);
    expect(m.license).toBe("GPL");
    expect(m.maps).toMatchObject([{ name: "counts", kind: "array", key: i32, value: i64, maxEntries: 256, flags: 0 }]);
    expect(describeCType(m.maps[0]!.keyType!)).toBe("uint32_t");
    expect(describeCType(m.maps[0]!.valueType!)).toBe("uint64_t");
    const fn = only(m);
    expect(fn.name).toBe("socket");
    expect(fn.program).toEqual({ section: "socket", type: "socket_filter" });
    expect(fn.params.map((p) => p.type.kind === "ptr" && p.type.region)).toEqual(["ctx"]);
    expect(fn.params[0]!.name).toBe("skb");
    expect(fn.returnType).toBe(i64);
  });

  test("emits pktload, lookup, null check and atomic add", () => {
    const fn = only(compile(src));
    const text = printFunction(fn);
    expect(text).toContain("pktload i8 %0, 0, 23");
    expect(text).toMatch(/call ptr\.map_value_or_null helper 1 \(%\d+, %\d+\)/);
    expect(text).toMatch(/ne ptr\.map_value_or_null %\d+, 0/);
    expect(text).toMatch(/atomic\.add i64 %\d+, 1, 0/);
    expect(text).toContain("mapref @counts");
    expect(count(fn, "alloca")).toBe(1);
    expect(count(fn, "phi")).toBe(0);
    expect(fn.entry.first!.opcode).toBe("alloca");
  });

  test("counts packets by protocol in the interpreter", () => {
    const m = compile(src);
    const maps = MapState.fromModule(m);
    for (const proto of [6, 6, 17, 1, 6]) expect(run(m, { packet: ipv4Packet({ proto }), maps }).value).toBe(0n);
    const counts = maps.get("counts");
    expect(counts.lookupInt(6)).toBe(3n);
    expect(counts.lookupInt(17)).toBe(1n);
    expect(counts.lookupInt(1)).toBe(1n);
    expect(counts.lookupInt(2)).toBe(0n);
  });

  test("a short packet aborts the program with 0", () => {
    const m = compile(src);
    const maps = MapState.fromModule(m);
    expect(run(m, { packet: new Uint8Array(10), maps }).value).toBe(0n);
    expect(maps.get("counts").lookupInt(0)).toBe(0n);
  });
});

describe("TCP port filter", () => {
  const src = `
bpf.socket('eth0', function (skb)
  if pkt.ip.tcp.dst_port == 80 then return skb.len end
  return 0
end)
`;
  test("loads the port relative to the IPv4 header length", () => {
    const fn = only(compile(src));
    const text = printFunction(fn);
    expect(text).toContain("pktload i8 %0, 0, 14");
    expect(text).toMatch(/and i64 %\d+, 15/);
    expect(text).toMatch(/shl i64 %\d+, 2/);
    expect(text).toMatch(/pktload i16 %0, %\d+, 16/);
    expect(text).toContain("load i32 %0, 0");
    expect(opcodes(fn).filter((o) => o === "ret")).toHaveLength(2);
  });

  test("returns skb.len for port 80 only, with any header length", () => {
    const m = compile(src);
    const ctx = skbContext({ len: 1500 });
    expect(run(m, { ctx, packet: ipv4Packet({ dstPort: 80 }) }).value).toBe(1500n);
    expect(run(m, { ctx, packet: ipv4Packet({ dstPort: 443 }) }).value).toBe(0n);
    expect(run(m, { ctx, packet: ipv4Packet({ dstPort: 80, ihl: 6 }) }).value).toBe(1500n);
    expect(run(m, { ctx, packet: ipv4Packet({ dstPort: 80, ihl: 15 }) }).value).toBe(1500n);
    // Port 80 where a 20-byte header would put it, but the header is 24 bytes long.
    const tricky = ipv4Packet({ dstPort: 443, ihl: 6 });
    tricky[14 + 20 + 2] = 0;
    tricky[14 + 20 + 3] = 80;
    expect(run(m, { ctx, packet: tricky }).value).toBe(0n);
  });
});

describe("byte counter per source address", () => {
  const src = `
local bytes = bpf.map('hash', 1024, 'uint32_t', 'uint64_t')
bpf.socket(function (skb)
  local k = pkt.ip.src
  local v = bytes[k]
  if not v then
    bytes[k] = skb.len
  else
    xadd(bytes[k], skb.len)
  end
  return 0
end)
`;
  test("declares a hash map and uses lookup, update and atomic add", () => {
    const m = compile(src);
    expect(m.maps[0]).toMatchObject({ name: "bytes", kind: "hash", key: i32, value: i64, maxEntries: 1024 });
    const fn = only(m);
    const text = printFunction(fn);
    expect(count(fn, "call")).toBe(3);
    expect(text).toMatch(/call i64 helper 2 \(%\d+, %\d+, %\d+, 0\)/);
    expect(text).toMatch(/load i64 %\d+, 0/);
    expect(text).toMatch(/atomic\.add i64/);
    // One key slot and one value slot.
    expect(count(fn, "alloca")).toBe(2);
  });

  test("creates the entry, then adds to it", () => {
    const m = compile(src);
    const maps = MapState.fromModule(m);
    const a = ipv4Packet({ src: 0x0a000001 });
    const b = ipv4Packet({ src: 0xc0a80001 });
    run(m, { packet: a, ctx: skbContext({ len: 100 }), maps });
    run(m, { packet: a, ctx: skbContext({ len: 40 }), maps });
    run(m, { packet: b, ctx: skbContext({ len: 7 }), maps });
    const bytes = maps.get("bytes");
    expect(bytes.lookupInt(0x0a000001)).toBe(140n);
    expect(bytes.lookupInt(0xc0a80001)).toBe(7n);
    expect(bytes.entries()).toHaveLength(2);
  });
});

describe("tc program", () => {
  const src = `
local marks = bpf.map('percpu_hash', 64, 'uint32_t', 'uint32_t')
bpf.tc(function (skb)
  if skb.mark ~= 0 then xadd(marks[skb.mark], 1) end
  if skb.protocol == 0x0008 and pkt.ip.ttl < 2 then return 2 end
  return 0
end)
`;
  test("has the tc section and sched_cls type", () => {
    const m = compile(src);
    const fn = only(m);
    expect(fn.name).toBe("tc");
    expect(fn.program).toEqual({ section: "tc", type: "sched_cls" });
    expect(m.maps[0]).toMatchObject({ name: "marks", kind: "percpu_hash", key: i32, value: i32, maxEntries: 64 });
    expect(printFunction(fn)).toMatch(/atomic\.add i32/);
  });

  test("runs", () => {
    const m = compile(src);
    const maps = MapState.fromModule(m);
    // protocol is in network order in __sk_buff: 0x0800 reads as 0x0008 on little-endian.
    const ctx = skbContext({ mark: 0, protocol: 0x0008 });
    expect(run(m, { ctx, packet: ipv4Packet({ ttl: 1 }), maps }).value).toBe(2n);
    expect(run(m, { ctx, packet: ipv4Packet({ ttl: 64 }), maps }).value).toBe(0n);
    const marked = skbContext({ mark: 7, protocol: 0x0008 });
    maps.get("marks").update(7, 10);
    run(m, { ctx: marked, packet: ipv4Packet({ ttl: 64 }), maps });
    expect(maps.get("marks").lookupInt(7)).toBe(11n);
  });
});

describe("XDP program", () => {
  const src = `
bpf.xdp(function (ctx)
  if ctx.ingress_ifindex == 3 then return 1 end -- XDP_DROP
  return 2 -- XDP_PASS
end)
`;
  test("reads xdp_md.ingress_ifindex", () => {
    const fn = only(compile(src));
    expect(fn.name).toBe("xdp");
    expect(fn.program).toEqual({ section: "xdp", type: "xdp" });
    expect(printFunction(fn)).toMatch(/load i32 %0, 12\n.*zext i32 %\d+ to i64/);
  });

  test("runs", () => {
    const m = compile(src);
    expect(run(m, { ctx: context(24, { 12: 3 }) }).value).toBe(1n);
    expect(run(m, { ctx: context(24, { 12: 4 }) }).value).toBe(2n);
  });
});

describe("kprobe storing time() under pid_tgid()", () => {
  const src = `
local bpf = require('bpf')
local start = bpf.map('hash', 10240, 'uint64_t', 'uint64_t')
bpf.kprobe('do_sys_open', function (ptregs)
  start[pid_tgid()] = time()
  return 0
end)
bpf.kretprobe('do_sys_open', function (ptregs)
  local t = start[pid_tgid()]
  if t then
    start[pid_tgid()] = nil
    return time() - t
  end
  return ptregs.ret
end)
`;
  test("two programs share the map", () => {
    const m = compile(src);
    expect(m.maps).toHaveLength(1);
    expect(m.maps[0]).toMatchObject({ name: "start", kind: "hash", key: i64, value: i64, maxEntries: 10240 });
    expect(m.functions.map((f) => [f.name, f.program])).toEqual([
      ["kprobe_do_sys_open", { section: "kprobe/do_sys_open", type: "kprobe", attach: { symbol: "do_sys_open" } }],
      ["kretprobe_do_sys_open", { section: "kretprobe/do_sys_open", type: "kprobe", attach: { symbol: "do_sys_open" } }],
    ]);
    const entry = printFunction(m.functions[0]!);
    expect(entry).toContain("call i64 helper 14 ()");
    expect(entry).toContain("call i64 helper 5 ()");
    expect(entry).toMatch(/call i64 helper 2 /);
    const ret = printFunction(m.functions[1]!);
    expect(ret).toMatch(/call i64 helper 3 \(%\d+, %\d+\)/);
    expect(ret).toContain("load i64 %0, 80");
  });

  test("runs", () => {
    const m = compile(src);
    const maps = MapState.fromModule(m);
    const pidTgid = (77n << 32n) | 78n;
    const regs = context(168, { 80: 1234 }, { 80: 8 });
    run(m, { ctx: regs, maps, pidTgid, time: 1000n }, "kprobe_do_sys_open");
    expect(maps.get("start").lookupInt(pidTgid)).toBe(1000n);
    expect(run(m, { ctx: regs, maps, pidTgid, time: 1500n }, "kretprobe_do_sys_open").value).toBe(500n);
    expect(maps.get("start").lookupInt(pidTgid)).toBeUndefined();
    expect(run(m, { ctx: regs, maps, pidTgid, time: 2000n }, "kretprobe_do_sys_open").value).toBe(1234n);
  });
});

describe("program declarations", () => {
  test("bcc defaults, globals without require, local functions, duplicate names", () => {
    const m = compile(`
local m = bpf.map('hash')
local function handler(skb) xadd(m[skb.len], 1) return 0 end
bpf.socket(handler)
bpf.socket(function (skb) return 1 end)
bpf.kprobe('tcp_v4_connect', function (regs) return regs.parm1 end)
bpf.kprobe('tcp_v4_connect', function (regs) return regs.di end)
`);
    expect(m.maps).toMatchObject([{ name: "m", kind: "hash", key: i32, value: i32, maxEntries: 4096, flags: 0 }]);
    expect(m.functions.map((f) => f.name)).toEqual(["socket", "socket_2", "kprobe_tcp_v4_connect", "kprobe_tcp_v4_connect_2"]);
    expect(printFunction(m.functions[2]!)).toContain("load i64 %0, 112");
  });

  test("map names: unbound maps get generated names, shadowed locals stay unique", () => {
    const m = compile(`
bpf.map('array', 4)
local a = bpf.map('hash', 8)
local a = bpf.map('lru_hash', 16, 'uint16_t', 'int8_t')
local map_1 = bpf.map('percpu_array', 2, 'int32_t')
bpf.socket(function (skb) return a[1] or 5 end)
`);
    expect(m.maps.map((x) => [x.name, x.kind, x.maxEntries])).toEqual([
      ["map_1_2", "array", 4],
      ["a", "hash", 8],
      ["a_2", "lru_hash", 16],
      ["map_1", "percpu_array", 2],
    ]);
    expect(printFunction(only(m))).toContain("mapref @a_2");
    expect(printFunction(only(m))).toMatch(/load i8 %\d+, 0\n.*sext i8/);
  });

  test("top-level constants are usable in bodies", () => {
    const m = compile(`
local PORT = 0x50
local LIMIT = 4 * 1024 - 1
bpf.socket(function (skb)
  if pkt.ip.tcp.dst_port == PORT then return LIMIT end
  return 0
end)
`);
    expect(run(m, { packet: ipv4Packet({ dstPort: 80 }) }).value).toBe(4095n);
  });
});
