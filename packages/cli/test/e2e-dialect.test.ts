// The bcc dialect on the real kernel (issue 10): every example program in bcc's style
// compiles, passes the verifier and computes the right result under BPF_PROG_TEST_RUN, at
// -O0 and -O2 (and with real BPF-to-BPF calls); the rest is verified (kprobes and uprobes
// cannot be test-run).
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { buildPacket, kernelOrSkip, loadObject, openPinnedMap, type LoadedObject, type PlainMapHandle } from "@luabpf/loader";
import { readObject, writeObject } from "@luabpf/elf";
import { compileSource, type DriverOptions } from "../src/driver.js";
import { asSeenByPacketSocket } from "../src/run.js";
import { le, leBytes, readExample } from "./helpers.js";

const kernel = kernelOrSkip();

function load(source: string, options: Partial<DriverOptions> = {}): LoadedObject {
  return loadObject(compileSource(source, { file: "test.lua", verifyEach: true, ...options }).object);
}
function plain(obj: LoadedObject, name: string): PlainMapHandle {
  const m = obj.maps.get(name);
  if (!m || m.perCpu) throw new Error(`no plain map ${name}`);
  return m;
}
function program(obj: LoadedObject, section: string) {
  const p = [...obj.programs.values()].find((x) => x.section === section);
  if (!p) throw new Error(`no program in section ${section}`);
  return p;
}
/** Runs the socket filter on a frame (as a packet socket sees it); `payload` goes after the TCP header. */
function runSocket(obj: LoadedObject, spec: string, payload?: string): number {
  const frame = buildPacket(spec);
  if (payload !== undefined) frame.set([...payload].map((c) => c.charCodeAt(0)), 54);
  return program(obj, "socket").testRun(asSeenByPacketSocket(frame)).retval;
}
/** bpffs at /sys/fs/bpf, mounted if it is not. */
function mountBpffs(): void {
  if (!existsSync("/sys/fs/bpf")) mkdirSync("/sys/fs/bpf", { recursive: true });
  try {
    execFileSync("mountpoint", ["-q", "/sys/fs/bpf"]);
  } catch {
    execFileSync("mount", ["-t", "bpf", "bpf", "/sys/fs/bpf"]);
  }
}
const u32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);
const u64 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getBigUint64(off, true);
const i64 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getBigInt64(off, true);
const u16 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint16(off, true);
/** A string's bytes as the big-endian integer a 4-byte packet load gives. */
const be32 = (s: string) => [...s].reduce((v, c) => (v << 8n) | BigInt(c.charCodeAt(0)), 0n);

const LEVELS: readonly Partial<DriverOptions>[] = [{ optLevel: 0 }, { optLevel: 2 }, { optLevel: 2, inlineThreshold: 0 }];
const levelName = (o: Partial<DriverOptions>) => `-O${o.optLevel}${o.inlineThreshold === 0 ? " (no inlining)" : ""}`;

describe.skipIf(!kernel).each(LEVELS.map((o) => [levelName(o), o] as const))("the bcc dialect on the kernel at %s", (_name, options) => {
  test("a struct-valued hash map updated through a reference (flow-stats.lua)", () => {
    const obj = load(readExample("flow-stats.lua"), options);
    try {
      runSocket(obj, "tcp,len=100,ttl=33");
      runSocket(obj, "tcp,len=300,ttl=44");
      runSocket(obj, "tcp,len=60,ttl=55");
      runSocket(obj, "udp,len=90");
      const stats = plain(obj, "stats");
      const tcp = stats.get(leBytes(6n, 4))!;
      // struct flow_stats { u64 packets; u64 bytes; u32 min_len, max_len; u16 last_ttl; } (size 32)
      expect(tcp.length).toBe(32);
      expect([u64(tcp, 0), u64(tcp, 8), u32(tcp, 16), u32(tcp, 20), u16(tcp, 24)]).toEqual([3n, 460n, 60, 300, 55]);
      const udp = stats.get(leBytes(17n, 4))!;
      expect([u64(udp, 0), u64(udp, 8), u32(udp, 16), u32(udp, 20)]).toEqual([1n, 90n, 90, 90]);
      // The kernel keeps the map's C types (what bpftool map dump prints fields with).
      mountBpffs();
      const pin = `/sys/fs/bpf/luabpf-e2e-dialect-${process.pid}-${options.optLevel}-${options.inlineThreshold ?? "d"}`;
      stats.pin(pin);
      const pinned = openPinnedMap(pin);
      try {
        const value = pinned.valueType;
        expect(value?.kind === "struct" ? [value.name, value.members.map((m) => m.name)] : value).toEqual(["flow_stats", ["packets", "bytes", "min_len", "max_len", "last_ttl"]]);
        expect(pinned.keyType).toMatchObject({ kind: "typedef", name: "uint32_t" });
      } finally {
        pinned.close();
        rmSync(pin, { force: true });
      }
    } finally {
      obj.close();
    }
  });

  test("a log2 histogram (len-hist.lua)", () => {
    const obj = load(readExample("len-hist.lua"), options);
    try {
      for (const len of [60, 64, 100, 127, 128, 1000, 1500]) runSocket(obj, `tcp,len=${len}`);
      const hist = plain(obj, "hist");
      const slot = (k: number) => le(hist.get(leBytes(BigInt(k), 4))!);
      // floor(log2): 60 → 5; 64, 100, 127 → 6; 128 → 7; 1000 → 9; 1500 → 10
      expect([5, 6, 7, 8, 9, 10].map(slot)).toEqual([1n, 3n, 1n, 0n, 1n, 1n]);
    } finally {
      obj.close();
    }
  });

  test("bit operations on 64-bit values (flow-hash.lua)", () => {
    const obj = load(readExample("flow-hash.lua"), options);
    try {
      const ret = runSocket(obj, "tcp,src=10.1.2.3,dst=192.168.7.9,sport=40000,dport=443");
      // The same mix computed here with LuaJIT's bit semantics on 64-bit integers.
      const M = (1n << 64n) - 1n;
      const rol = (v: bigint, n: bigint) => ((v << n) | (v >> (64n - n))) & M;
      const ror = (v: bigint, n: bigint) => ((v >> n) | (v << (64n - n))) & M;
      const src = 0x0a010203n;
      const dst = 0xc0a80709n;
      let x = ((src << 32n) | dst) & M;
      x ^= (40000n << 16n) | 443n;
      x = (x * 0x9e3779b97f4a7c15n) & M;
      x ^= x >> 31n;
      x = (rol(x, 27n) * 0x94d049bb133111ebn) & M;
      const ar = BigInt.asUintN(64, BigInt.asIntN(64, x) >> 29n);
      x = x ^ ar ^ (~ror(x, 13n) & M);
      const bucket = x & 15n;
      let swapped = 0n;
      for (let i = 0n, v = x; i < 8n; i++, v >>= 8n) swapped = (swapped << 8n) | (v & 0xffn);
      expect(le(plain(obj, "last").get(leBytes(bucket, 4))!)).toBe(x);
      expect(le(plain(obj, "buckets").get(leBytes(bucket, 4))!)).toBe(1n);
      expect(ret).toBe(Number(swapped & 0xffn));
    } finally {
      obj.close();
    }
  });

  test("a local function called twice (port-score.lua): inlined at -O2, a BPF-to-BPF call otherwise", () => {
    const source = readExample("port-score.lua");
    const result = compileSource(source, { file: "port-score.lua", ...options });
    const text = result.object.programs.filter((p) => p.subprogram).map((p) => p.name);
    expect(text).toEqual(options.optLevel === 2 && options.inlineThreshold === undefined ? [] : ["score"]);
    const obj = loadObject(result.object);
    try {
      expect(runSocket(obj, "tcp,sport=40000,dport=443")).toBe(3);
      expect(runSocket(obj, "tcp,sport=50000,dport=8080")).toBe(1);
      expect(runSocket(obj, "tcp,sport=22,dport=80")).toBe(4);
      expect(runSocket(obj, "tcp,sport=60000,dport=60001")).toBe(0);
      const scores = plain(obj, "scores");
      expect([0, 1, 2, 3, 4].map((k) => le(scores.get(leBytes(BigInt(k), 4))!))).toEqual([1n, 1n, 0n, 1n, 1n]);
    } finally {
      obj.close();
    }
  });

  test("string compares on payload bytes, and payload bytes as map keys (http-methods.lua)", () => {
    const obj = load(readExample("http-methods.lua"), options);
    try {
      expect(runSocket(obj, "tcp,len=80", "GET /index.html")).toBe(1);
      expect(runSocket(obj, "tcp,len=80", "GET /")).toBe(1);
      expect(runSocket(obj, "tcp,len=80", "POST /form")).toBe(1);
      expect(runSocket(obj, "tcp,len=80", "PUTS")).toBe(0);
      expect(runSocket(obj, "tcp,len=80", "HEAD /")).toBe(1);
      expect(runSocket(obj, "tcp,len=80", "XGET")).toBe(0);
      expect(runSocket(obj, "tcp,len=56")).toBe(0); // fewer than 4 payload bytes
      const methods = plain(obj, "methods");
      const entries = new Map([...methods.entries()].map(([k, v]) => [le(k), le(v)]));
      expect(entries).toEqual(new Map([[be32("GET "), 2n], [be32("POST"), 1n], [be32("HEAD"), 1n]]));
    } finally {
      obj.close();
    }
  });

  test("a perf event struct filled with comm(), pid_tgid() and uid_gid() (exec-events.lua, a raw tracepoint)", () => {
    const obj = load(readExample("exec-events.lua"), options);
    try {
      expect(program(obj, "raw_tracepoint/sched_switch").testRun(new Uint8Array(0), { ctxIn: new Uint8Array(8), ctxOut: false, repeat: 0 }).retval).toBe(0);
      const e = plain(obj, "last").get(leBytes(0n, 4))!;
      // struct { u64 pid_tgid; u32 uid, gid; u64 time; char comm[16]; s64 sent; } (size 48)
      expect(e.length).toBe(48);
      expect(u64(e, 0) >> 32n).toBe(BigInt(process.pid));
      expect([u32(e, 8), u32(e, 12)]).toEqual([process.getuid!(), process.getgid!()]);
      expect(u64(e, 16)).toBeGreaterThan(0n);
      const comm = new TextDecoder().decode(e.subarray(24, 40)).replace(/\0.*$/s, "");
      expect(comm).toBe(readFileSync(`/proc/${process.pid}/task/${Number(u64(e, 0) & 0xffffffffn)}/comm`, "utf8").trim());
      // perf_event_output ran with the map and BPF_F_CURRENT_CPU: no reader holds this CPU's slot, so -ENOENT.
      expect(i64(e, 40)).toBe(-2n);
    } finally {
      obj.close();
    }
  });

  test("C data on the stack: nested structs, arrays, bit-fields, casts, strings, struct keys, whole-struct stores", () => {
    const source = `
local ffi = require('ffi')
ffi.cdef [[
struct inner { uint8_t tag; uint16_t port; };
struct rec {
  uint32_t flags: 3, kind: 5, rest: 24;
  int8_t delta;
  struct inner addr;
  uint64_t slots[4];
  char name[8];
};
]]
local recs = bpf.map('hash', 8, 'struct inner', 'struct rec')
local out = bpf.map('array', 8, 'uint32_t', 'int64_t')
bpf.socket(function (skb)
  local r = ffi.new('struct rec')
  r.kind = 21
  r.flags = 5
  r.rest = 0xabcdef
  r.delta = -3
  r.addr.tag = 7
  r.addr.port = pkt.ip.tcp.dst_port
  for i = 0, 3 do r.slots[i] = i * 10 end
  r.slots[pkt.ip.ttl % 4] = 99
  ffi.copy(r.name, 'luabpf')
  local k = ffi.new('struct inner')
  k.tag = 1
  k.port = 2
  recs[k] = r
  local v = recs[k]
  if v then
    xadd(v.slots[3], 5)
    out[0] = v.kind * 100 + v.flags
    out[1] = v.delta
    out[2] = v.addr.port
    out[3] = v.slots[3]
    out[4] = ffi.sizeof(r) * 1000 + ffi.offsetof('struct rec', 'name')
    out[5] = (v.name == 'luabpf' and 1 or 0) + (v.name == 'luabp' and 10 or 0) + (r.name == 'luabpf' and 100 or 0)
    out[6] = ffi.cast('int8_t', 200) + 0xffffffffffffffffULL / 2 + r.rest
  end
  return v.slots[pkt.ip.ttl % 4]
end)`;
    const obj = load(source, options);
    try {
      expect(runSocket(obj, "tcp,dport=8080,ttl=65")).toBe(99);
      const out = plain(obj, "out");
      const at = (k: number) => BigInt.asIntN(64, le(out.get(leBytes(BigInt(k), 4))!));
      expect(at(0)).toBe(2105n);
      expect(at(1)).toBe(-3n);
      expect(at(2)).toBe(8080n);
      expect(at(3)).toBe(35n);
      expect(at(4)).toBe(56n * 1000n + 48n); // sizeof(struct rec) 56, offsetof(name) 48 (clang -target bpf)
      expect(at(5)).toBe(101n);
      expect(at(6)).toBe(BigInt.asIntN(64, -56n + 0x7fffffffffffffffn + 0xabcdefn)); // wraps around, as Lua integers do
    } finally {
      obj.close();
    }
  });

  test("a local assigned a scalar field reads its number, as its declaration does (tracepoint-offcputime.lua's `pid = arg.next_pid`)", () => {
    const source = `
local out = bpf.map('array', 4, 'uint32_t', 'int64_t')
bpf.socket(function (skb)
  local s = ffi.new('struct { int16_t a; uint32_t b; uint8_t c[2]; }', -5, 70000)
  local x = s.a
  out[0] = x
  x = s.b
  out[1] = x
  x = x + s.a
  out[2] = x
  return x
end)`;
    const obj = load(source, options);
    try {
      expect(runSocket(obj, "tcp")).toBe(69995);
      const out = plain(obj, "out");
      const at = (k: number) => BigInt.asIntN(64, le(out.get(leBytes(BigInt(k), 4))!));
      expect([at(0), at(1), at(2)]).toEqual([-5n, 70000n, 69995n]);
    } finally {
      obj.close();
    }
  });
});

describe.skipIf(!kernel).each(LEVELS.map((o) => [levelName(o), o] as const))("ffi.new with initializers on the kernel at %s (LuaJIT's rules)", (_name, options) => {
  test("named, positional, flat, nested, repeated, zero-based, copied and run-time initializers; the rest zero", () => {
    const source = `
local ffi = require('ffi')
ffi.cdef [[
struct point { int32_t x; int32_t y; };
struct shape {
  uint8_t kind: 4, flags: 4;
  struct point corners[2];
  union { uint32_t word; uint8_t bytes[4]; };
  char label[6];
  uint64_t id;
};
]]
local out = bpf.map('array', 32, 'uint32_t', 'int64_t')
local DEFAULT = { x = 3, y = 4 }
bpf.socket(function (skb)
  local ttl = pkt.ip.ttl
  local a = ffi.new('struct point', {x = 1, y = ttl})
  local b = ffi.new('struct point', {5, 6})
  local c = ffi.new('struct point', 7, ttl)
  local half = ffi.new('struct point', {y = 9})
  local d = ffi.new('uint64_t', 0xfffffffffULL)
  local n8 = ffi.new('int8_t', 200)
  local arr = ffi.new('int[4]', {1, 2, 3, 4})
  local rep = ffi.new('int16_t[3]', {ttl})
  local rep2 = ffi.new('int16_t[3]', -2)
  local two = ffi.new('int[4]', {10, 20})
  local zb = ffi.new('int[3]', {[0] = 100, 200, 300})
  local s = ffi.new('struct shape', {kind = 5, flags = ttl % 16, corners = {{1, 2}, {x = ttl, y = -1}}, word = 0x04030201, label = 'abcdefgh', id = 0xffffffffffULL})
  local copy = ffi.new('struct point', a)
  local dflt = ffi.new('struct point', DEFAULT)
  local grid = ffi.new('uint8_t[2][3]', {{1, 2, 3}, {4}})
  out[0] = a.x * 1000 + a.y
  out[1] = b.x * 1000 + b.y
  out[2] = c.x * 1000 + c.y
  out[3] = half.x * 1000 + half.y
  out[4] = d
  out[5] = n8
  out[6] = arr[0] * 1000 + arr[1] * 100 + arr[2] * 10 + arr[3]
  out[7] = rep[0] * 10000 + rep[1] * 100 + rep[2]
  out[8] = rep2[0] + rep2[1] + rep2[2]
  out[9] = two[0] * 1000 + two[1] * 10 + two[2] + two[3]
  out[10] = zb[0] * 1000000 + zb[1] * 1000 + zb[2]
  out[11] = s.kind * 100 + s.flags
  out[12] = s.corners[0].x * 1000 + s.corners[0].y * 100 + s.corners[1].x
  out[13] = s.corners[1].y
  out[14] = s.bytes[0] * 1000 + s.bytes[3]
  out[15] = (s.label == 'abcdef' and 1 or 0) + (s.label[5] == 102 and 10 or 0)
  out[16] = s.id
  out[17] = copy.x * 1000 + copy.y
  out[18] = dflt.x * 1000 + dflt.y
  out[19] = grid[0][0] * 100000 + grid[0][1] * 10000 + grid[0][2] * 1000 + grid[1][0] * 100 + grid[1][1] * 10 + grid[1][2]
  return 1
end)`;
    const obj = load(source, options);
    try {
      expect(runSocket(obj, "tcp,ttl=42")).toBe(1);
      const out = plain(obj, "out");
      const at = (k: number) => BigInt.asIntN(64, le(out.get(leBytes(BigInt(k), 4))!));
      const got = Array.from({ length: 20 }, (_, k) => at(k));
      expect(got).toEqual([
        1042n, // {x = 1, y = ttl}
        5006n, // {5, 6}
        7042n, // flat list 7, ttl
        9n, // {y = 9}: x zero
        0xfffffffffn,
        -56n, // int8_t from 200
        1234n,
        420000n + 4200n + 42n, // {ttl} repeated over all three elements
        -6n, // -2 repeated
        10200n, // {10, 20}: the rest zero
        100200300n, // [0] present: zero-based
        5n * 100n + 10n, // bit-fields: kind 5, flags 42 % 16
        1000n + 200n + 42n,
        -1n,
        1004n, // the anonymous union's word, read as bytes
        11n, // 'abcdefgh' cut at char[6]: no room for the NUL
        0xffffffffffn,
        1042n, // a copy of a
        3004n, // a top-level table
        123444n, // {{1, 2, 3}, {4}}: a row given one value repeats it
      ]);
    } finally {
      obj.close();
    }
  });
});

describe.skipIf(!kernel).each(LEVELS.map((o) => [levelName(o), o] as const))("ffi.string in a body on the kernel at %s", (_name, options) => {
  test("C strings of char arrays, exactly n bytes with a length, constants cut at NUL, map keys", () => {
    const source = `
local ffi = require('ffi')
ffi.cdef [[ struct req { char method[8]; char path[16]; }; ]]
local out = bpf.map('array', 16, 'uint32_t', 'int64_t')
local seen = bpf.map('hash', 8, 'char [8]', 'uint64_t')
local VERB = ffi.string('GET\\0junk')
bpf.socket(function (skb)
  local r = ffi.new('struct req', {method = 'GET', path = '/index'})
  if pkt.ip.ttl == 7 then r.method[1] = 79 end          -- 'GOT'
  local exact = ffi.string(r.path, 4)
  out[0] = ffi.string(r.method) == VERB and 1 or 0
  out[1] = ffi.string(r.method, 3) == 'GET' and 1 or 0
  out[2] = ffi.string(r.method, 4) == 'GET' and 1 or 0  -- 'GET\\0' has 4 bytes
  out[3] = ffi.string(r.method, 4) == 'GET\\0' and 1 or 0
  out[4] = exact == '/ind' and 1 or 0
  out[5] = exact == '/in' and 1 or 0
  out[6] = r.path == '/in' and 1 or 0                    -- a char array is a C string
  out[7] = ffi.string('abc\\0def') == 'abc' and 1 or 0
  out[8] = ffi.string('abcdef', 2) == 'ab' and 1 or 0
  seen[ffi.string(r.method)] = 5
  return 1
end)`;
    const obj = load(source, options);
    try {
      const out = plain(obj, "out");
      const at = (k: number) => BigInt.asIntN(64, le(out.get(leBytes(BigInt(k), 4))!));
      expect(runSocket(obj, "tcp,ttl=64")).toBe(1);
      expect(Array.from({ length: 9 }, (_, k) => at(k))).toEqual([1n, 1n, 0n, 1n, 1n, 0n, 0n, 1n, 1n]);
      const key = (s: string) => new Uint8Array([...s.padEnd(8, "\0")].map((c) => c.charCodeAt(0)));
      expect(le(plain(obj, "seen").get(key("GET"))!)).toBe(5n);
      expect(runSocket(obj, "tcp,ttl=7")).toBe(1);
      expect([at(0), at(1)]).toEqual([0n, 0n]); // the bytes are read at run time
      expect(le(plain(obj, "seen").get(key("GOT"))!)).toBe(5n);
    } finally {
      obj.close();
    }
  });
});

describe.skipIf(!kernel)("programs that cannot be test-run are verified", () => {
  test.each(["readline-trace.lua", "offcpu-stacks.lua"])("%s loads at -O0 and -O2", (file) => {
    for (const optLevel of [0, 2] as const) load(readExample(file), { optLevel }).close();
  });
});

describe("attach data of bcc's declaration forms (.luabpf.attach)", () => {
  const SOURCE = `
local ffi = require('ffi')
local bpf = require('bpf')
local prog = bpf(function (skb) return 0 end)
bpf.socket('lo', prog)
bpf.uprobe('/bin/bash:readline', function (ptregs) return 0 end, true, 4242, -1)
bpf.kprobe('myprobe:do_sys_openat2', function (ptregs) return 0 end)
`;
  test("the interface and pid are written to the object and read back", () => {
    const bytes = writeObject(compileSource(SOURCE, { file: "attach.lua" }).object);
    const programs = readObject(bytes).programs;
    const bySection = (s: string) => programs.find((p) => p.section === s)?.attach;
    expect(bySection("socket")).toEqual({ interface: "lo" });
    // bcc's pid -1 and cpu -1 mean "any": left out; so are the binary and symbol the section names.
    expect(bySection("uretprobe//bin/bash:readline")).toEqual({ pid: 4242 });
    expect(bySection("kprobe/do_sys_openat2")).toBeUndefined();
    // Deterministic: the same source gives the same bytes.
    expect(writeObject(compileSource(SOURCE, { file: "attach.lua" }).object)).toEqual(bytes);
  });
  test.skipIf(!kernel)("the object still loads (the section is not a program)", () => {
    load(SOURCE).close();
  });
});
