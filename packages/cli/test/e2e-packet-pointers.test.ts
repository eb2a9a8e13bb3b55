// bcc's raw packet pointers on the real kernel (issue 11): `skb.data + n` / `ctx.data + n`,
// compared with `data_end` by the program itself and read with `ptr[i]`, in socket filters
// (classic loads; `data_end` is the packet's length), tc and XDP (direct access: the
// program's own comparison is the verifier's bounds check), at -O0 and -O2, on complete
// packets and on packets too short for the read. Also bcc's two codegen spec programs that
// use them, and the located errors around them.
import { describe, expect, test } from "vitest";
import { buildPacket, kernelOrSkip, loadObject, type LoadedObject } from "@luabpf/loader";
import { CompileError } from "@luabpf/ir";
import { compileSource, type DriverOptions } from "../src/driver.js";
import { asSeenByPacketSocket } from "../src/run.js";
import { luabpf } from "./helpers.js";

const kernel = kernelOrSkip();
const OPTS: Partial<DriverOptions>[] = [{ optLevel: 0 }, { optLevel: 2 }];

type Kind = "socket" | "tc" | "xdp";
const HEADS: Record<Kind, string> = { socket: "bpf.socket(function (skb)", tc: "bpf.tc(function (skb)", xdp: "bpf.xdp(function (skb)" };
/** What a read the program did not check returns on a short packet: the type's pass verdict. */
const SHORT: Record<Kind, number> = { socket: 0, tc: 0, xdp: 2 };

function disassemble(source: string): string {
  const r = luabpf(["compile", "-", "-O2", "--emit", "asm", "--no-source", "-o", "-"], { input: source });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}
function program(kind: Kind, body: string): string {
  return `local ffi, bpf = require('ffi'), require('bpf')\n${HEADS[kind]}\n${body}\nend)\n`;
}
function load(source: string, options: Partial<DriverOptions>): LoadedObject {
  return loadObject(compileSource(source, { file: "p.lua", ...options }).object);
}
function run(obj: LoadedObject, kind: Kind, packet: Uint8Array): number {
  const prog = [...obj.programs.values()][0]!;
  return prog.testRun(kind === "socket" ? asSeenByPacketSocket(packet) : packet).retval;
}
function withObject<T>(source: string, options: Partial<DriverOptions>, f: (obj: LoadedObject) => T): T {
  const obj = load(source, options);
  try {
    return f(obj);
  } finally {
    obj.close();
  }
}

// A UDP frame whose payload starts at byte 42: "abcdefgh" puts 'd' (100) at byte 45.
const FULL = buildPacket("udp,payload=abcdefgh");
const SHORT_PAYLOAD = buildPacket("udp,payload=abc"); // 45 bytes: byte 45 is missing

describe.skipIf(!kernel).each(OPTS.map((o) => [`-O${o.optLevel}`, o] as const))("raw packet pointers at %s", (_n, options) => {
  describe.each(["socket", "tc", "xdp"] as const)("%s", (kind) => {
    test("bcc's bounds-checked form: `local ptr = skb.data + 45; if ptr < skb.data_end then return ptr[0] end`", () => {
      const src = program(kind, "  local ptr = skb.data + 45\n  if ptr < skb.data_end then return ptr[0] end\n  return 99");
      withObject(src, options, (obj) => {
        expect(run(obj, kind, FULL)).toBe(100);
        expect(run(obj, kind, SHORT_PAYLOAD)).toBe(99);
      });
    });

    test("the end on the left and a non-strict comparison: `if skb.data_end >= ptr + 3 then` reads bytes 42..44", () => {
      const src = program(kind, "  local ptr = skb.data + 42\n  if skb.data_end >= ptr + 3 then return ptr[0] + ptr[1] + ptr[2] end\n  return 99");
      withObject(src, options, (obj) => {
        expect(run(obj, kind, FULL)).toBe(97 + 98 + 99);
        expect(run(obj, kind, buildPacket("udp,payload=abc"))).toBe(97 + 98 + 99);
        expect(run(obj, kind, buildPacket("udp,payload=ab"))).toBe(99);
      });
    });

    test("a read the program did not check gets the dissectors' check: a short packet gives the pass verdict", () => {
      const src = program(kind, "  local ptr = skb.data + 45\n  return ptr[0]");
      withObject(src, options, (obj) => {
        expect(run(obj, kind, FULL)).toBe(100);
        expect(run(obj, kind, SHORT_PAYLOAD)).toBe(SHORT[kind]);
      });
    });

    test("a bounded loop over checked bytes with a run-time index, and a 2-byte slice ptr(0, 2) (big-endian)", () => {
      const src = program(
        kind,
        ["  local p = skb.data + 42", "  if p + 8 > skb.data_end then return 1 end", "  local s = 0", "  for i = 0, 7 do s = s + p[i] end", "  return s + p(0, 2)"].join("\n"),
      );
      withObject(src, options, (obj) => {
        const sum = [..."abcdefgh"].reduce((a, c) => a + c.charCodeAt(0), 0);
        expect(run(obj, kind, FULL)).toBe(sum + 0x6162);
        expect(run(obj, kind, buildPacket("udp,payload=abcdefg"))).toBe(1);
      });
    });
  });

  describe.each([
    ["tc", "bpf.tc(function (skb)", "TC_ACT_SHOT", "TC_ACT_OK", 2, 0],
    ["xdp", "bpf.xdp(function (skb)", "XDP_DROP", "XDP_TX", 1, 3],
  ] as const)("%s: bytes written through the pointer", (_kind, head, drop, done, dropValue, doneValue) => {
    const src = [
      "local bpf = require('bpf')",
      head,
      "  local p = skb.data + 42",
      `  if p + 4 > skb.data_end then return ${drop} end`,
      "  p[0] = 0x41",
      "  for i = 1, 3 do p[i] = p[i] + 1 end",
      `  return ${done}`,
      "end)",
    ].join("\n");
    test("stored as C stores them: the bytes change, nothing else does; a short packet is left alone", () => {
      withObject(src, options, (obj) => {
        const prog = [...obj.programs.values()][0]!;
        const input = buildPacket("udp,payload=abcdef");
        const r = prog.testRun(input);
        expect(r.retval).toBe(doneValue);
        expect(Buffer.from(r.dataOut.subarray(42)).toString()).toBe("Acdeef");
        expect([...r.dataOut.subarray(0, 42)]).toEqual([...input.subarray(0, 42)]);
        const short = prog.testRun(buildPacket("udp,payload=abc"));
        expect(short.retval).toBe(dropValue);
        expect(Buffer.from(short.dataOut.subarray(42)).toString()).toBe("abc");
      });
    });
  });

  describe("XDP: a program's own check before the dissectors (bcc: `if ctx.data + 38 > ctx.data_end then return XDP_DROP end`)", () => {
    test.each([
      ["an IPv4 frame of 38 bytes: the TTL", buildPacket("tcp,cut=38"), 64],
      ["an IPv4 frame of 37 bytes: dropped by the program's check", buildPacket("tcp,cut=37"), 1],
      ["an IPv4 frame of 14 bytes: dropped by the program's check", buildPacket("tcp,cut=14"), 1],
      ["an ARP frame of 42 bytes: sent back", buildPacket("tcp,cut=42").map((b, i) => (i === 13 ? 0x06 : b)), 3],
    ] as const)("%s", (_what, packet, want) => {
      withObject(OWN_CHECK, options, (obj) => expect(run(obj, "xdp", packet)).toBe(want));
    });
  });
});

const OWN_CHECK = [
  "local bpf = require('bpf')",
  "bpf.xdp(function (ctx)",
  "  if ctx.data + 38 > ctx.data_end then return XDP_DROP end",
  "  if pkt.type ~= c.eth.ip then return XDP_TX end",
  "  return pkt.ip.ttl",
  "end)",
].join("\n");

describe("raw packet pointers: code", () => {
  test.each(["tc", "xdp"] as const)("%s at -O2: the program's own check is the only one, as bcc and clang emit it", (kind) => {
    const src = program(kind, "  local ptr = skb.data + 5\n  if ptr < skb.data_end then return ptr[0] end\n  return 0");
    const asm = disassemble(src);
    expect(asm.match(/\bif r\d+ [<>]=? r\d+ goto/g)).toHaveLength(1);
    expect(asm).toMatch(/r\d+ = \*\(u8 \*\)\(r\d+ \+ 0x0\)/);
  });

  test("XDP at -O2: the program's own 38-byte check makes the IPv4 header's (34 bytes) redundant", () => {
    expect(disassemble(OWN_CHECK).match(/\bif r\d+ [<>]=? r\d+ goto/g)).toHaveLength(1);
  });

  test("socket filters compare with the packet's length and read with classic loads", () => {
    const src = program("socket", "  local ptr = skb.data + 5\n  if ptr < skb.data_end then return ptr[0] end\n  return 0");
    const asm = disassemble(src);
    expect(asm).toMatch(/r\d+ = \*\(u32 \*\)\(r1 \+ 0x0\)/); // skb->len
    expect(asm).toMatch(/r0 = \*\(u8 \*\)skb\[0x5\]/);
  });

  test.each([
    ["  return skb.data_end == skb.data", "3:10: error: the packet's end (data_end) can only be compared with <, <=, > or >= to a packet position"],
    ["  if skb.data_end > 5 then return 1 end\n  return 0", "3:21: error: the packet's end (data_end) can only be compared with a packet position (such as 'skb.data + 14'), not with"],
    ["  return skb.data_meta", "3:14: error: 'data_meta' (the metadata area before the packet) is not supported"],
    ["  local ptr = skb.data + 5\n  return ptr.ttl", "4:14: error: unknown field 'ttl' of the packet pointer"],
    ["  local ip = ffi.cast('struct iphdr *', skb.data + 14)\n  return ip.ttl", "3:41: error: a packet position cannot be cast to a C pointer"],
  ])("%s: a located error", (body, message) => {
    let err: unknown;
    try {
      compileSource(program("xdp", body), { file: "p.lua" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CompileError);
    expect(String((err as Error).message)).toContain(`p.lua:${message}`);
  });

  test("a raw pointer read in a function the XDP program calls is a located error", () => {
    const src = "local bpf = require('bpf')\nlocal function at(ctx, n) local p = ctx.data + n\n  return p[0]\nend\nbpf.xdp(function (ctx)\n  return at(ctx, 3)\nend)\n";
    expect(() => compileSource(src, { file: "p.lua", optLevel: 0 })).toThrow(/p\.lua:3:10: error: direct packet access \(xdp programs\) is only possible in the program's own body/);
  });
});
