/**
 * Every error path of the front end: a CompileError whose diagnostic points at the
 * offending construct (file:line:column, 1-based) with its exact message. Also: several
 * errors are reported together, and no other exception escapes on bad input.
 */
import { CompileError, verifyModule } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { isLuabpfError } from "@luabpf/platform/errors";
import { CDeclError, compileLua, TracepointFormatError } from "../src/index.js";
import { compile, diagnostics, errorOf, run, warningsOf } from "./helpers.js";

const ENDLESS = "this loop never ends: no path leaves it (eBPF programs must terminate: add a condition, a break or a return)";

/** Wraps a body into a socket program on line 1. */
const sock = (body: string) => `bpf.socket(function (skb) ${body} end)`;

describe("syntax errors", () => {
  test("luaparse's error becomes a located CompileError", () => {
    expect(errorOf("local x = = 1")).toBe("bad.lua:1:11: syntax error: <expression> expected near '='");
    expect(errorOf("local m = bpf.map('hash')\nbpf.socket(function (skb)\n  return 1 +\nend)", "prog.lua")).toBe("prog.lua:4:1: syntax error: <expression> expected near 'end'");
    expect(errorOf(sock("break"))).toBe("bad.lua:1:33: syntax error: no loop to break near 'end'");
    expect(errorOf("local s = 'unterminated")).toMatch(/^bad\.lua:1:\d+: syntax error: unfinished string/);
  });
});

describe("names", () => {
  test("unknown globals", () => {
    expect(errorOf(sock("foo(1) return 0"))).toBe("bad.lua:1:27: unknown global 'foo'");
    expect(errorOf(sock("x = y"))).toBe("bad.lua:1:31: unknown global 'y'");
    expect(errorOf("prnt('hi')")).toBe("bad.lua:1:1: unknown global 'prnt'");
    expect(errorOf("local m = bpf.map('hash')\nbpf.socket(function (skb)\n  local v = m[1]\n  return v + w\nend)")).toBe("bad.lua:4:14: unknown global 'w'");
    // A local is not visible before its declaration.
    expect(errorOf("bpf.socket(function (skb) return later end)\nlocal later = 1")).toBe("bad.lua:1:34: unknown global 'later'");
  });

  test("assignments that cannot happen", () => {
    expect(errorOf(sock("x = 1"))).toBe("bad.lua:1:27: assignment to global 'x' is not supported (declare it with 'local')");
    expect(errorOf("local N = 5\nbpf.socket(function (skb) N = 6 end)")).toBe(
      "bad.lua:2:27: cannot assign to 'N': top-level locals are compile-time constants (keep state in a map)",
    );
    expect(errorOf("local m = bpf.map('hash')\nbpf.socket(function (skb) local q = m q = 1 end)")).toBe("bad.lua:2:39: cannot assign to 'q': it refers to a map, which cannot change");
    expect(errorOf(sock("skb.mark = 1"))).toBe("bad.lua:1:27: context fields are read-only ('mark')");
  });
});

describe("unsupported constructs", () => {
  test.each([
    [sock("local s = 'abc' return s + 1"), "bad.lua:1:50: attempt to perform arithmetic on a string value (local 's') (strings can be compared, used as map keys, copied into C buffers and printed)"],
    ["local NAME = 'x'\n" + sock("return NAME"), "bad.lua:2:34: a string cannot be stored or used as a number here (strings can be compared, used as map keys, copied into C buffers and printed)"],
    [sock("local t = {}"), "bad.lua:1:37: tables are not supported in program bodies (use a map, or ffi.new for a C struct)"],
    [sock("local f = function () end"), "bad.lua:1:37: closures are not supported inside program bodies (declare the function at the top level)"],
    [sock("local function g() end"), "bad.lua:1:27: closures are not supported inside program bodies (declare the function at the top level)"],
    ["bpf.socket(function (skb, ...) end)", "bad.lua:1:27: varargs are not supported"],
    ["local a = ...", "bad.lua:1:11: varargs are not supported"],
    [sock("goto done ::done::"), "bad.lua:1:27: goto and labels are not supported"],
    [sock("skb:foo()"), "bad.lua:1:27: method calls are not supported"],
    [sock("return 1.5"), "bad.lua:1:34: floating point numbers are not supported"],
    [sock("return 1e3"), "bad.lua:1:34: floating point numbers are not supported"],
    [sock("return 0x1p4"), "bad.lua:1:34: floating point numbers are not supported"],
    ["local HALF = 0.5\n" + sock("return HALF"), "bad.lua:2:34: a floating point number cannot be used as a value"],
    [sock("return 2 ^ 2"), "bad.lua:1:34: exponentiation '^' is not supported (it works on floating point numbers)"],
    [sock("return #skb"), "bad.lua:1:34: the length operator '#' works on strings and C arrays only"],
    [sock("return 99999999999999999999"), "bad.lua:1:34: integer literal 99999999999999999999 does not fit in 64 bits"],
    [sock("for k, v in pairs(x) do end"), "bad.lua:1:27: generic for loops (for ... in) are not supported; use a numeric for loop"],
    [sock("for i = 1, 10, 0 do end"), "bad.lua:1:42: 'for' step is zero"],
    [sock("return 1, 2"), "bad.lua:1:37: returning several values is not supported"],
    [sock("local m = bpf.map('hash')"), "bad.lua:1:41: bpf.map can only be called at the top level of the file"],
    ["local function f(n) return f(n - 1) end\n" + sock("return f(3)"), "bad.lua:1:28: recursive call: 'f' → 'f' (eBPF programs cannot recurse; use a loop)"],
    ["local g\nlocal function f(n) return g(n) end\ng = function (n) return f(n) end\n" + sock("return f(3)"), "bad.lua:3:25: recursive call: 'f' → (function at line 3) → 'f' (eBPF programs cannot recurse; use a loop)"],
    [sock("return time(1)"), "bad.lua:1:39: time() takes no arguments"],
    [sock("local x = 0 while true do x = x + 1 end return x"), `bad.lua:1:39: ${ENDLESS}`],
    ["bpf.socket(function (skb)\n  local x = 0\n  while true do x = x + 1 if x > 9 then break end end\n  repeat x = x - 1 until false\nend)", `bad.lua:4:3: ${ENDLESS}`],
    ["local function spin(n) while n > 0 do n = n + 0 end while true do end end\n" + sock("return spin(1)"), `bad.lua:1:53: ${ENDLESS}`],
  ])("%s", (source, expected) => {
    expect(errorOf(source)).toBe(expected);
  });
});

describe("type errors known at compile time", () => {
  test.each([
    [sock("local x return x + 1"), "bad.lua:1:42: attempt to perform arithmetic on a nil value (local 'x')"],
    [sock("return (1 < 2) + 1"), "bad.lua:1:35: attempt to perform arithmetic on a boolean value"],
    [sock("return nil < 1"), "bad.lua:1:34: attempt to compare a nil value"],
    [sock("return ~true"), "bad.lua:1:35: attempt to perform bitwise operation on a boolean value"],
    ["local m = bpf.map('hash')\n" + sock("return m + 1"), "bad.lua:2:34: attempt to perform arithmetic on a map (upvalue 'm')"],
    ["local m = bpf.map('hash')\n" + sock("local x = m.foo"), "bad.lua:2:39: attempt to index a map (field 'foo')"],
    [sock("local x = 1 return x.y"), "bad.lua:1:48: attempt to index a number (field 'y')"],
    [sock("return skb[1]"), "bad.lua:1:34: attempt to index the program context; only maps, C arrays and C pointers can be indexed with []"],
    ["local m = bpf.map('hash')\n" + sock("return m"), "bad.lua:2:34: a map cannot be used as a value; read an element with map[key]"],
    [sock("local x = 1 x()"), "bad.lua:1:39: attempt to call a number"],
  ])("%s", (source, expected) => {
    expect(errorOf(source)).toBe(expected);
  });
});

describe("ffi.new initializers", () => {
  const head = "local ffi = require('ffi')\nffi.cdef [[ struct p { int x; int y; }; struct o { struct p pt; union { int a; int b; }; }; ]]\n";
  const at3 = (body: string) => head + sock(`local v = ${body} return 0`);
  test.each([
    ["ffi.new('struct p', {1, 2, 3})", "bad.lua:3:64: too many initializers for 'struct p' (2 members take values in order)"],
    ["ffi.new('struct p', 1, 2, 3)", "bad.lua:3:63: too many initializers for 'struct p' (2 members take values in order)"],
    ["ffi.new('int[2]', {1, 2, 3})", "bad.lua:3:62: too many initializers for 'int [2]' (2 elements)"],
    ["ffi.new('int', 1, 2)", "bad.lua:3:55: too many initializers for 'int' (a scalar takes one value)"],
    ["ffi.new('struct p', {z = 1})", "bad.lua:3:62: 'struct p' has no member 'z' (it has x, y)"],
    ["ffi.new('struct o', {pt = 5})", "bad.lua:3:63: cannot initialize 'struct p' (member 'pt') with a number: use a table {...} or C data of the same type"],
    ["ffi.new('struct p', {x = {1}})", "bad.lua:3:62: cannot initialize 'int' (member 'x') with a table: it takes one value"],
    ["ffi.new('struct o', {a = 1, b = 2})", "bad.lua:3:69: a union is initialized through one member: 'a' and 'b' are both given"],
    ["ffi.new('struct p', {1, y = 2})", "bad.lua:3:65: the initializer of 'struct p' mixes values in order and by name ('y'); use one or the other"],
    ["ffi.new('int[2]', {x = 1})", "bad.lua:3:60: an array initializer takes values in order, not a member name ('x')"],
    ["ffi.new('struct p', {1, nil, 3})", "bad.lua:3:66: initializer [3] is not used: positional initializers run from [1] up to the first nil"],
    ["ffi.new('struct p', {x = 1, x = 2})", "bad.lua:3:65: the initializer gives 'x' twice"],
    ["ffi.new('struct p', {x = 'abc'})", "bad.lua:3:62: a string cannot be stored in a C number (compare it, or ffi.copy it into a char array)"],
  ])("%s", (init, message) => {
    expect(errorOf(at3(init))).toBe(message);
  });
});

describe("ffi.string", () => {
  const head = "local ffi = require('ffi')\nffi.cdef [[ struct p { int x; int y; }; ]]\n";
  test.each([
    ["bpf.socket(function (skb) local a = ffi.new('struct p') return ffi.string(a) == 'x' end)", "bad.lua:3:75: ffi.string without a length needs a char array, not C data of type 'struct p' (give the length: ffi.string(data, n))"],
    ["bpf.socket(function (skb) local a = ffi.new('char[4]') return ffi.string(a, 5) == 'x' end)", "bad.lua:3:77: ffi.string of 5 bytes reads past the end of 'char [4]' (4 bytes)"],
    ["bpf.socket(function (skb) local a = ffi.new('char[4]') return ffi.string(a, skb.len) == 'x' end)", "bad.lua:3:77: ffi.string needs a constant length in a program body (strings are compile-time values)"],
    [
      "bpf.kprobe('do_sys_openat2', function (ctx) local p = ffi.cast('char *', ctx.si) return ffi.string(p) == 'x' end)",
      "bad.lua:3:100: ffi.string of a C pointer needs a constant length in a program body: ffi.string(p, n) (or ffi.copy a NUL-terminated string into a char array)",
    ],
    ["bpf.socket(function (skb) return ffi.string('ab', 3) == 'x' end)", "bad.lua:3:51: ffi.string of 3 bytes reads past the end of the 2-byte string"],
    ["local s = ffi.string('ab', 3)", "bad.lua:3:28: ffi.string of 3 bytes reads past the end of the 2-byte string"],
  ])("%s", (source, message) => {
    expect(errorOf(head + source)).toBe(message);
  });
});

describe("map declarations", () => {
  test.each([
    ["local m = bpf.map('tree', 10)", "bad.lua:1:19: unknown map type 'tree' (expected one of array, hash, percpu_array, percpu_hash, lru_hash, lru_percpu_hash, perf_event_array, stack_trace, ringbuf)"],
    ["local m = bpf.map(5)", "bad.lua:1:19: the map type must be a string (one of array, hash, percpu_array, percpu_hash, lru_hash, lru_percpu_hash, perf_event_array, stack_trace, ringbuf)"],
    ["local m = bpf.map('lpm_trie', 10)", "bad.lua:1:19: map type 'lpm_trie' is not supported by luabpf programs (expected one of array, hash, percpu_array, percpu_hash, lru_hash, lru_percpu_hash, perf_event_array, stack_trace, ringbuf)"],
    ["local m = bpf.map()", "bad.lua:1:11: bpf.map needs a map type, e.g. bpf.map('hash', 1024, 'uint32_t', 'uint64_t')"],
    ["local m = bpf.map('hash', 'x')", "bad.lua:1:27: max_entries must be a positive integer (below 2^32)"],
    ["local m = bpf.map('hash', 1.5)", "bad.lua:1:27: max_entries must be a positive integer (below 2^32)"],
    ["local m = bpf.map('hash', 0)", "bad.lua:1:27: max_entries must be a positive integer (below 2^32)"],
    ["local m = bpf.map('hash', 0x100000000)", "bad.lua:1:27: max_entries must be a positive integer (below 2^32)"],
    ["local m = bpf.map('hash', 10, 'float')", "bad.lua:1:32: C declaration: 'float' is not supported: eBPF has no floating-point or 128-bit types"],
    ["local m = bpf.map('hash', 10, 'uint32_t', 'double')", "bad.lua:1:44: C declaration: 'double' is not supported: eBPF has no floating-point or 128-bit types"],
    ["local m = bpf.map('hash', 10, 'foo_t')", "bad.lua:1:32: C declaration: unknown type name 'foo_t'"],
    ["local m = bpf.map('hash', 10, 4)", "bad.lua:1:31: the map key type must be a C type: a name such as 'uint32_t' or ffi.typeof(...)"],
    ["local m = bpf.map('hash', 10, 'struct nothere')", "bad.lua:1:31: the map key type 'struct nothere' is incomplete"],
    ["local m = bpf.map('hash', 10, 'uint32_t', 'uint32_t', 5)", "bad.lua:1:55: too many arguments to bpf.map (expected at most 4: map type, max_entries, key type, value type)"],
    ["local m = bpf.map('array', 10, 'uint64_t')", "bad.lua:1:32: array maps need a 4-byte key type such as uint32_t"],
    ["local m = bpf.map('hash', 16, 'uint32_t', 'uint16_t')\nbpf.socket(function (skb) xadd(m[1], 1) end)", "bad.lua:2:32: xadd needs a 32- or 64-bit map value, but map 'm' holds 16-bit values"],
    [sock("xadd(5, 1)"), "bad.lua:1:32: xadd needs a map element as its first argument: xadd(map[key], n)"],
    [sock("xadd(skb.len, 1)"), "bad.lua:1:32: xadd needs a map element as its first argument: xadd(map[key], n)"],
    ["local m = bpf.map('hash')\n" + sock("xadd(m[1])"), "bad.lua:2:27: xadd takes two arguments: xadd(map[key], n)"],
  ])("%s", (source, expected) => {
    expect(errorOf(source)).toBe(expected);
  });
});

describe("context and dissector fields", () => {
  test.each([
    [sock("return skb.foo"), "bad.lua:1:38: unknown field 'foo' of the socket program context (struct __sk_buff)"],
    ["bpf.xdp(function (ctx) return ctx.len end)", "bad.lua:1:35: unknown field 'len' of the xdp program context (struct xdp_md)"],
    ["bpf.kprobe('f', function (r) return r.eax end)", "bad.lua:1:39: unknown field 'eax' of the kprobe program context (struct pt_regs)"],
    [
      sock("return pkt.ip.foo"),
      "bad.lua:1:41: unknown field 'foo' of the IPv4 header (known: ver, hlen, ihl, tos, len, tlen, id, identification, frag, ffo_unused, df, mf, foffset, ttl, proto, checksum, hchecksum, src, dst, tcp, udp, icmp)",
    ],
    [
      sock("return pkt.ip.udp.window"),
      "bad.lua:1:45: unknown field 'window' of the UDP header (known: src_port, dst_port, length, len, checksum, crc, data)",
    ],
    ["bpf.xdp(function (ctx) return pkt.ip6.ttl end)", "bad.lua:1:39: unknown field 'ttl' of the IPv6 header (known: ver, priority, flow_label, payload_len, next_header, hop_limit, src_hi, src_lo, dst_hi, dst_lo, tcp, udp, icmp6, ip6_opt)"],
    ["bpf.kprobe('f', function (r) return pkt.ip.proto end)", "bad.lua:1:37: 'pkt' (packet access) is only available in socket, tc and XDP programs, not in kprobe programs"],
    [sock("pkt.ip.ttl = 1"), "bad.lua:1:27: socket programs cannot change the packet (tc and XDP programs can)"],
    ["bpf.xdp(function (ctx) pkt.ip.udp.data[0] = 0 end)", "bad.lua:1:24: cannot assign to a byte of the payload: the dialect would have to keep its checksum right; assign header fields (pkt.ip.ttl = 1), or bytes through a raw packet pointer (local p = skb.data + n; p[i] = v), which changes the byte only"],
    [sock("local p = skb.data + 3\n p[0] = 1"), "bad.lua:2:2: socket programs cannot change the packet (tc and XDP programs can)"],
    ["bpf.xdp(function (ctx) pkt.ip.tcp = 0 end)", "bad.lua:1:24: cannot assign to 'tcp': it is a header, not a field"],
    ["bpf.tc(function (skb) pkt.ip.tttl = 0 end)", "bad.lua:1:30: unknown field 'tttl' of the IPv4 header (known: ver, hlen, ihl, tos, len, tlen, id, identification, frag, ffo_unused, df, mf, foffset, ttl, proto, checksum, hchecksum, src, dst, tcp, udp, icmp)"],
  ])("%s", (source, expected) => {
    expect(errorOf(source)).toBe(expected);
  });
});

describe("program declarations and the top level", () => {
  const P = "\nbpf.socket(function (skb) return 0 end)";
  test.each([
    ["bpf.socket()", "bad.lua:1:1: bpf.socket needs a function (usage: bpf.socket('eth0', function (skb) ... end))"],
    ["bpf.socket(5)", "bad.lua:1:12: bpf.socket needs a function, not a number (usage: bpf.socket('eth0', function (skb) ... end))"],
    ["bpf.kprobe(function (r) end)", "bad.lua:1:12: bpf.kprobe needs the kernel symbol to probe as a string first argument (usage: bpf.kprobe('name:symbol', function (ptregs) ... end[, retprobe]))"],
    ["bpf.kretprobe()", "bad.lua:1:1: bpf.kretprobe needs the kernel symbol to probe as a string first argument (usage: bpf.kretprobe('symbol', function (ptregs) ... end))"],
    ["bpf.kprobe('x')", "bad.lua:1:1: bpf.kprobe needs a function (usage: bpf.kprobe('name:symbol', function (ptregs) ... end[, retprobe]))"],
    ["bpf.kprobe('p:')", "bad.lua:1:12: no kernel symbol after ':' in 'p:'"],
    ["bpf.kprobe('f', function (r) end, 'yes')", "bad.lua:1:35: the retprobe argument of bpf.kprobe must be true or false"],
    ["bpf.kprobe('f', function (r) end, true, 1, 2, 3, 4)", "bad.lua:1:50: too many arguments to bpf.kprobe (usage: bpf.kprobe('name:symbol', function (ptregs) ... end[, retprobe]))"],
    ["bpf.uprobe('/bin/bash', function (r) end)", "bad.lua:1:12: expected '/path/to/binary:symbol', not '/bin/bash'"],
    ["bpf.tracepoint('sched', function (r) end)", "bad.lua:1:16: expected a tracepoint 'category/name', not 'sched'"],
    ["bpf.socket('eth0', function (skb) end, 3)", "bad.lua:1:40: too many arguments to bpf.socket (usage: bpf.socket('eth0', function (skb) ... end))"],
    ["bpf.socket(true, function (skb) end)", "bad.lua:1:12: the first of two arguments to bpf.socket must be an interface name string (usage: bpf.socket('eth0', function (skb) ... end))"],
    ["bpf.socket(function (a, b) end)", "bad.lua:1:25: a socket program takes one parameter (its context), not 2"],
    ["bpf(5)", "bad.lua:1:5: bpf(...) compiles a function, not a number (usage: local prog = bpf(function (skb) ... end))"],
    ["bpf.foo(1)", "bad.lua:1:5: the bpf module has no member 'foo' (it has map, socket, tc, xdp, kprobe, kretprobe, uprobe, uretprobe, tracepoint, raw_tracepoint, fentry, fexit, tp_btf, tracelog, ntoh, hton, dump, dump_string)"],
    ["local bpf = require('bpf')", "bad.lua:1:1: the file declares no program: declare one with bpf.socket(function (skb) ... end), bpf.kprobe('symbol', function (ctx) ... end), ... or bpf(function ... end)"],
    ["", "bad.lua:1:1: the file declares no program: declare one with bpf.socket(function (skb) ... end), bpf.kprobe('symbol', function (ctx) ... end), ... or bpf(function ... end)"],
    ["while true do end" + P, "bad.lua:1:1: the top level does not finish at compile time (an endless loop?); loops that run forever belong in user space, reading maps or waiting for events"],
    ["local function f() return f() end f()" + P, "bad.lua:1:27: compile-time calls nest too deeply (endless recursion?)"],
    ["error('no ' .. 'luck')" + P, "bad.lua:1:1: error at the top level: no luck"],
    ["assert(1 > 2, 'bad config')" + P, "bad.lua:1:1: error at the top level: bad config"],
    ["local x = 1 + 'a'" + P, "bad.lua:1:15: attempt to perform arithmetic on a string"],
    ["local x = 1 < {}" + P, "bad.lua:1:15: attempt to compare a table"],
    ["ffi.cdef 'struct s { int x; int x; };'" + P, "bad.lua:1:33: C declaration: duplicate member 'x'"],
    ["ffi.cdef [[\nstruct a {\n  int n[SIZE];\n};]]" + P, "bad.lua:3:9: C declaration: 'SIZE' is not a constant"],
    ["local S = require('syscall')\nbpf.socket(function (skb) return S.c end)", "bad.lua:2:36: attempt to index the syscall library (ljsyscall) (field 'c')"],
    ["local n = tonumber(io.read())\nbpf.socket(function (skb) return n end)", "bad.lua:2:34: a value computed by user-space code (it calls the io library) cannot be used as a value"],
  ])("%s", (source, expected) => {
    expect(errorOf(source)).toBe(expected);
  });

  test("the top level runs at compile time: tables, loops, functions, strings and C types", () => {
    const m = compile(`
local ffi = require('ffi')
local bpf = require('bpf')
local sizes = {}
for i = 1, 3 do sizes[#sizes + 1] = i * 8 end
local function pick(t, k) return t[k] end
local key_t = string.format('struct { char name[%d]; int32_t id; }', pick(sizes, 2))
local cfg = { port = 80, proto = 'tcp' }
if cfg.proto == 'tcp' then cfg.number = 6 else cfg.number = 17 end
local m = bpf.map('hash', #sizes * 100, ffi.typeof(key_t), 'uint64_t')
bpf.socket(function (skb) return cfg.number + ffi.sizeof(key_t) + m.max_entries_is_not_a_field_but_unused and 0 or cfg.port end)
`.replace(" + m.max_entries_is_not_a_field_but_unused and 0 or cfg.port", ""));
    expect(m.maps[0]).toMatchObject({ name: "m", kind: "hash", maxEntries: 300 });
    expect(m.maps[0]!.key.size).toBe(20);
    expect(run(m).value).toBe(26n);
  });

  test("user-space code is skipped; writing map elements there is a warning", () => {
    const warnings = warningsOf(`
local bpf = require('bpf')
local S = require('syscall')
local map = bpf.map('hash', 256)
map[1], map[6] = 0, 0
bpf.socket('lo', function (skb) xadd(map[pkt.ip.proto], 1) end)
for _ = 1, 10 do
  print(string.format('TCP %d', map[6] or 0))
  S.sleep(1)
end
`);
    expect(warnings).toEqual([
      "5:1: map elements written at the top level are user-space code, which luabpf does not compile: the kernel programs start with the map as the kernel creates it (empty or zero-filled); initialise it from user space or in a program",
    ]);
  });

  test("a declaration inside user-space code is not compiled, with a warning", () => {
    expect(warningsOf(`
local S = require('syscall')
bpf.socket(function (skb) return 0 end)
if S.getuid() == 0 then bpf.kprobe('f', function (r) return 1 end) end
`)).toEqual(["4:25: this declaration is inside user-space code (it depends on I/O or run-time state), so it is not compiled"]);
  });

  test("bcc's command-line arguments are absent: the script sees an empty arg table", () => {
    const m = compile(`
local watch = arg[1] or 'any'
local limit = tonumber(arg[2] or '80')
bpf.socket(function (skb) if watch == 'any' then return limit end return 0 end)
`);
    expect(run(m).value).toBe(80n);
  });
});

describe("reporting", () => {
  test("errors of several statements and programs are reported together, in source order", () => {
    const ds = diagnostics(
      [
        "local m = bpf.map('tree')", // 1: bad map
        "bpf.socket(function (skb) return m[1] end)", // 2: m is poisoned: no second error
        "bpf.socket(function (skb) return zz end)", // 3
        "local k = bpf.map('hash', 1.5)", // 4
        "bpf.kprobe('f', function (r) return r.nope end)", // 5
      ].join("\n"),
    );
    expect(ds.map((d) => `${d.location!.line}:${d.location!.column}: ${d.message}`)).toEqual([
      "1:19: unknown map type 'tree' (expected one of array, hash, percpu_array, percpu_hash, lru_hash, lru_percpu_hash, perf_event_array, stack_trace, ringbuf)",
      "3:34: unknown global 'zz'",
      "4:27: max_entries must be a positive integer (below 2^32)",
      "5:39: unknown field 'nope' of the kprobe program context (struct pt_regs)",
    ]);
  });

  test("errors in dead code are reported", () => {
    expect(errorOf(sock("if skb.len > 0 then return 1 else return 2 end return nope"))).toBe("bad.lua:1:81: unknown global 'nope'");
    expect(errorOf(sock("local x = 1 or nope"))).toBe("bad.lua:1:42: unknown global 'nope'");
  });

  test("no other exception escapes on odd input", () => {
    const inputs = [
      "",
      "local bpf = require('bpf')",
      "local bpf = 5\nbpf.socket(function () end)",
      sock("return pkt"),
      sock("return pkt.ip"),
      sock("return bpf"),
      sock("return xadd"),
      sock("local a = pkt.ip a = 1"),
      sock("return skb"),
      "bpf.socket(function () return 1 end)",
      sock("while true do end"),
      sock("repeat until false"),
      sock("local x = nil == nil"),
      sock("return (nil)"),
      "local f = require\nlocal b = f('bpf')\nb.socket(function (s) return s.len end)",
      "local s = bpf.socket",
      "bpf.socket(bpf.socket)",
      "local function h(skb) return h end\nbpf.socket(h)",
      sock("return bpf.map"),
      sock("return bpf.socket(1)"),
      sock("return -nil"),
      sock("local a = true and nil or false return a"),
    ];
    for (const src of inputs) {
      try {
        compileLua(src, { file: "odd.lua" });
      } catch (e) {
        expect(e, `${src}: ${String(e)}`).toBeInstanceOf(CompileError);
        expect((e as CompileError).diagnostics.length, src).toBeGreaterThan(0);
      }
    }
  });
});

describe("robustness", () => {
  /** Deterministic xorshift PRNG. */
  function rng(seed: number): () => number {
    let s = seed >>> 0 || 1;
    return () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 2 ** 32;
    };
  }

  const base = `
local bpf = require('bpf')
local m = bpf.map('hash', 64, 'uint32_t', 'uint64_t')
local N = 3
bpf.socket(function (skb)
  local v = m[pkt.ip.src]
  if not v then m[pkt.ip.src] = skb.len else xadd(m[pkt.ip.src], 1) end
  for i = 1, N do v = (v or 0) + i // 2 end
  while skb.len > 10 and v ~= nil do break end
  return pkt.ip.tcp.dst_port == 80 and skb.len or 0
end)
bpf.kprobe('f', function (r) m[pid_tgid()] = time() return r.parm1 end)
`;
  const tokens = base.match(/[A-Za-z_][A-Za-z_0-9]*|\d+|'[^']*'|[^\sA-Za-z_0-9]/g)!;
  const pieces = ["nil", "true", "1.5", "'s'", "{}", "...", "(", ")", "=", "==", "+", "//", "..", "not", "and", "end", "local", "pkt", "skb", "m", "x", "[", "]", ".", ":", ",", "return", "break", "function"];

  test("mutated programs compile or throw a CompileError, nothing else", () => {
    const next = rng(12345);
    for (let n = 0; n < 400; n++) {
      const t = [...tokens];
      const edits = 1 + Math.floor(next() * 3);
      for (let k = 0; k < edits; k++) {
        const i = Math.floor(next() * t.length);
        const r = next();
        if (r < 0.4) t.splice(i, 1);
        else if (r < 0.7) t[i] = pieces[Math.floor(next() * pieces.length)]!;
        else t.splice(i, 0, pieces[Math.floor(next() * pieces.length)]!);
      }
      const src = t.join(" ");
      try {
        const m = compileLua(src, { file: "fuzz.lua" });
        expect(verifyModule(m), src).toEqual([]);
      } catch (e) {
        if (!(e instanceof CompileError)) throw new Error(`non-CompileError on:\n${src}\n${String(e)}`, { cause: e });
        expect(e.diagnostics.length, src).toBeGreaterThan(0);
      }
    }
  });
});

describe("errors that are not the Lua file's", () => {
  test("a tracefs format file that cannot be read is a user error of the kernel category, not an internal one", () => {
    const kernel = { tracepointFormat: () => "name: broken\nID: 1\nformat:\n" };
    const src = "bpf.tracepoint('sched/broken', function (args) return 0 end)";
    let error: unknown;
    try {
      compileLua(src, { file: "t.lua", kernel });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TracepointFormatError);
    expect(isLuabpfError(error) && { kind: error.kind, category: error.category }).toEqual({ kind: "user", category: "kernel" });
    expect((error as Error).message).toBe("tracepoint sched/broken: format file: no `field:` lines");
  });

  test("a C declaration error is a LuabpfError of the user, and stays located in the Lua string", () => {
    const e = new CDeclError("unexpected character '@'", 3);
    expect(isLuabpfError(e) && [e.kind, e.category, e.offset]).toEqual(["user", "compile", 3]);
    expect(errorOf("local ffi = require('ffi')\nffi.cdef [[\nstruct s { int @x; };\n]]")).toBe("bad.lua:3:16: C declaration: unexpected character '@'");
  });
});
