/**
 * Every error path of the front end: a CompileError whose diagnostic points at the
 * offending construct (file:line:column, 1-based) with its exact message. Also: several
 * errors are reported together, and no other exception escapes on bad input.
 */
import { CompileError, verifyModule } from "@luabpf/ir";
import { describe, expect, test } from "vitest";
import { compileLua } from "../src/index.js";
import { diagnostics, errorOf } from "./helpers.js";

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
    expect(errorOf("print('hi')")).toBe("bad.lua:1:1: unknown global 'print'");
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
    [sock("local s = 'abc'"), "bad.lua:1:37: strings are not supported in program bodies"],
    ["local NAME = 'x'\n" + sock("return NAME"), "bad.lua:2:34: strings are not supported in program bodies"],
    [sock("local t = {}"), "bad.lua:1:37: tables are not supported"],
    [sock("local f = function () end"), "bad.lua:1:37: closures are not supported inside program bodies"],
    [sock("local function g() end"), "bad.lua:1:27: closures are not supported inside program bodies"],
    ["bpf.socket(function (skb, ...) end)", "bad.lua:1:27: varargs are not supported"],
    ["local a = ...", "bad.lua:1:11: varargs are not supported"],
    [sock("goto done ::done::"), "bad.lua:1:27: goto and labels are not supported"],
    [sock("skb:foo()"), "bad.lua:1:27: method calls are not supported"],
    [sock("return 1.5"), "bad.lua:1:34: floating point numbers are not supported"],
    [sock("return 1e3"), "bad.lua:1:34: floating point numbers are not supported"],
    [sock("return 0x1p4"), "bad.lua:1:34: floating point numbers are not supported"],
    ["local HALF = 0.5", "bad.lua:1:14: floating point numbers are not supported"],
    [sock("return 7 / 2"), "bad.lua:1:34: float division '/' is not supported; use floor division '//'"],
    [sock("return 2 ^ 2"), "bad.lua:1:34: exponentiation '^' is not supported (it works on floating point numbers)"],
    [sock("return #skb"), "bad.lua:1:34: the length operator '#' is not supported"],
    [sock("return 99999999999999999999"), "bad.lua:1:34: integer literal 99999999999999999999 does not fit in 64 bits"],
    [sock("for k, v in pairs(x) do end"), "bad.lua:1:27: generic for loops (for ... in) are not supported; use a numeric for loop"],
    [sock("for i = 1, 10, 0 do end"), "bad.lua:1:42: 'for' step is zero"],
    [sock("return 1, 2"), "bad.lua:1:37: returning several values is not supported"],
    [sock("local m = bpf.map('hash')"), "bad.lua:1:37: bpf.map can only be called at the top level of the file"],
    ["local function f(skb) return 0 end\n" + sock("return f(skb)"), "bad.lua:2:34: calling Lua functions from a program body is not supported"],
    [sock("return time(1)"), "bad.lua:1:39: time() takes no arguments"],
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
    [sock("return skb[1]"), "bad.lua:1:34: attempt to index the program context; only maps can be indexed with []"],
    ["local m = bpf.map('hash')\n" + sock("return m"), "bad.lua:2:34: a map cannot be used as a value; read an element with map[key]"],
    [sock("local x = 1 x()"), "bad.lua:1:39: attempt to call a number"],
  ])("%s", (source, expected) => {
    expect(errorOf(source)).toBe(expected);
  });
});

describe("map declarations", () => {
  test.each([
    ["local m = bpf.map('tree', 10)", "bad.lua:1:19: unknown map type 'tree' (expected one of array, hash, percpu_array, percpu_hash, lru_hash)"],
    ["local m = bpf.map(5)", "bad.lua:1:19: the map type must be a string (one of array, hash, percpu_array, percpu_hash, lru_hash)"],
    ["local m = bpf.map()", "bad.lua:1:11: bpf.map needs a map type, e.g. bpf.map('hash', 1024, 'uint32_t', 'uint64_t')"],
    ["local m = bpf.map('hash', 'x')", "bad.lua:1:27: max_entries must be a positive integer (below 2^32)"],
    ["local m = bpf.map('hash', 1.5)", "bad.lua:1:27: max_entries must be a positive integer (below 2^32)"],
    ["local m = bpf.map('hash', 0)", "bad.lua:1:27: max_entries must be a positive integer (below 2^32)"],
    ["local m = bpf.map('hash', 0x100000000)", "bad.lua:1:27: max_entries must be a positive integer (below 2^32)"],
    ["local m = bpf.map('hash', 10, 'float')", "bad.lua:1:31: unknown C type 'float' for the map key (expected an integer type such as uint8_t, uint32_t, int64_t)"],
    ["local m = bpf.map('hash', 10, 'uint32_t', 'double')", "bad.lua:1:43: unknown C type 'double' for the map value (expected an integer type such as uint8_t, uint32_t, int64_t)"],
    ["local m = bpf.map('hash', 10, 4)", "bad.lua:1:31: the map key type must be a C type name such as 'uint32_t'"],
    ["local m = bpf.map('hash', 10, 'uint32_t', 'uint32_t', 5)", "bad.lua:1:55: too many arguments to bpf.map (expected at most 4: map type, max_entries, key type, value type)"],
    ["local m = bpf.map('array', 10, 'uint64_t')", "bad.lua:1:32: array maps need a 4-byte key type such as uint32_t"],
    ["local m = bpf.map('hash', 16, 'uint32_t', 'uint16_t')\nbpf.socket(function (skb) xadd(m[1], 1) end)", "bad.lua:2:32: xadd needs a 32- or 64-bit map value, but map 'm' holds 16-bit values"],
    [sock("xadd(5, 1)"), "bad.lua:1:32: xadd needs a map element as its first argument: xadd(map[key], n)"],
    [sock("xadd(skb[1], 1)"), "bad.lua:1:32: xadd needs a map element as its first argument: xadd(map[key], n)"],
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
      "bad.lua:1:41: unknown field 'foo' of the IPv4 header (known: ver, hlen, ihl, tos, len, tlen, id, identification, frag, df, mf, foffset, ttl, proto, checksum, hchecksum, src, dst, tcp, udp, icmp)",
    ],
    [
      sock("return pkt.ip.udp.window"),
      "bad.lua:1:45: unknown field 'window' of the UDP header (known: src_port, dst_port, length, len, checksum, crc)",
    ],
    ["bpf.xdp(function (ctx) return pkt.ip.proto end)", "bad.lua:1:31: 'pkt' (packet access) is only available in socket and tc programs, not in xdp programs"],
    ["bpf.kprobe('f', function (r) return pkt.ip.proto end)", "bad.lua:1:37: 'pkt' (packet access) is only available in socket and tc programs, not in kprobe programs"],
  ])("%s", (source, expected) => {
    expect(errorOf(source)).toBe(expected);
  });
});

describe("program declarations and the top level", () => {
  test.each([
    ["bpf.socket()", "bad.lua:1:1: bpf.socket needs a function (usage: bpf.socket(function (ctx) ... end))"],
    ["bpf.socket(5)", "bad.lua:1:12: bpf.socket needs a function, not a number (usage: bpf.socket(function (ctx) ... end))"],
    ["bpf.kprobe(function (r) end)", "bad.lua:1:12: bpf.kprobe needs the kernel symbol to probe as a string first argument (usage: bpf.kprobe('symbol', function (ctx) ... end))"],
    ["bpf.kretprobe()", "bad.lua:1:1: bpf.kretprobe needs the kernel symbol to probe as a string first argument (usage: bpf.kretprobe('symbol', function (ctx) ... end))"],
    ["bpf.kprobe('x')", "bad.lua:1:1: bpf.kprobe needs a function (usage: bpf.kprobe('symbol', function (ctx) ... end))"],
    ["bpf.socket('eth0', function (skb) end, 3)", "bad.lua:1:40: too many arguments to bpf.socket (usage: bpf.socket(function (ctx) ... end))"],
    ["bpf.socket(1, function (skb) end)", "bad.lua:1:12: the first of two arguments to bpf.socket must be an interface name string"],
    ["bpf.socket(function (a, b) end)", "bad.lua:1:25: a socket program takes one parameter (its context), not 2"],
    ["bpf.foo(1)", "bad.lua:1:5: the bpf module has no member 'foo' (it has map, socket, tc, xdp, kprobe, kretprobe)"],
    ["local y = require('ffi')", "bad.lua:1:19: unknown module 'ffi' (only 'bpf' is available)"],
    ["x = 1", "bad.lua:1:1: only declarations are allowed at the top level: assignments must be 'local' declarations"],
    ["if true then end", "bad.lua:1:1: only declarations are allowed at the top level (maps, programs, constants and local functions), not an if statement"],
    ["for i = 1, 2 do end", "bad.lua:1:1: only declarations are allowed at the top level (maps, programs, constants and local functions), not a loop"],
    ["return 1", "bad.lua:1:1: only declarations are allowed at the top level (maps, programs, constants and local functions), not a return statement"],
    ["function f() end", "bad.lua:1:1: global functions are not supported: declare it with 'local function'"],
    ["local t = {}", "bad.lua:1:11: tables are not supported"],
    ["local x = 1 < 2", "bad.lua:1:11: operator '<' is not supported in compile-time constants"],
    ["local x = 1 + 'a'", "bad.lua:1:15: the right operand of '+' must be an integer, not a string"],
  ])("%s", (source, expected) => {
    expect(errorOf(source)).toBe(expected);
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
      "1:19: unknown map type 'tree' (expected one of array, hash, percpu_array, percpu_hash, lru_hash)",
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
