// End to end on the real kernel: Lua → object → loader → verifier → BPF_PROG_TEST_RUN.
import { beforeEach, describe, expect, test } from "vitest";
import { buildPacket, kernelOrSkip, loadObject, type LoadedObject, type PlainMapHandle } from "@luabpf/loader";
import { compileSource } from "../src/driver.js";
import { asSeenByPacketSocket } from "../src/run.js";
import { le, leBytes, readExample } from "./helpers.js";

const kernel = kernelOrSkip();

/** Every test runs at each optimisation level: the kernel must accept both and agree. */
let optLevel: 0 | 2 = 2;
function load(source: string, file = "test.lua"): LoadedObject {
  return loadObject(compileSource(source, { file, optLevel, verifyEach: true }).object);
}
function program(obj: LoadedObject, section: string) {
  const p = [...obj.programs.values()].find((x) => x.section === section);
  if (!p) throw new Error(`no program in section ${section}`);
  return p;
}
function plain(obj: LoadedObject, name: string): PlainMapHandle {
  const m = obj.maps.get(name);
  if (!m || m.perCpu) throw new Error(`no plain map ${name}`);
  return m;
}
/** Runs a socket filter on a frame as a packet socket would see it (from the Ethernet header). */
function runSocket(obj: LoadedObject, spec: string, repeat = 1): number {
  return program(obj, "socket").testRun(asSeenByPacketSocket(buildPacket(spec)), { repeat }).retval;
}
function runTc(obj: LoadedObject, spec: string, repeat = 1): number {
  return program(obj, "tc").testRun(buildPacket(spec), { repeat }).retval;
}
const asTc = (source: string): string => source.replace("bpf.socket(", "bpf.tc(");

describe.skipIf(!kernel).each([0, 2] as const)("end to end on the kernel at -O%i", (level) => {
  beforeEach(() => {
    optLevel = level;
  });

  test("per-protocol packet counter (array map, xadd) as socket filter and as tc", () => {
    for (const [source, run] of [
      [readExample("proto-count.lua"), runSocket],
      [asTc(readExample("proto-count.lua")), runTc],
    ] as const) {
      const obj = load(source);
      try {
        expect(run(obj, "tcp,dport=80", 3)).toBe(0);
        run(obj, "udp,dport=53", 2);
        run(obj, "icmp");
        const counts = plain(obj, "counts");
        expect(le(counts.get(leBytes(6n, 4))!)).toBe(3n);
        expect(le(counts.get(leBytes(17n, 4))!)).toBe(2n);
        expect(le(counts.get(leBytes(1n, 4))!)).toBe(1n);
        expect(le(counts.get(leBytes(2n, 4))!)).toBe(0n);
      } finally {
        obj.close();
      }
    }
  });

  test("TCP port filter returns skb.len for port 80 and 0 otherwise", () => {
    for (const [source, run] of [
      [readExample("tcp-port-filter.lua"), runSocket],
      [asTc(readExample("tcp-port-filter.lua")), runTc],
    ] as const) {
      const obj = load(source);
      try {
        expect(run(obj, "tcp,dport=80,len=200")).toBe(200);
        expect(run(obj, "tcp,dport=80,len=90")).toBe(90);
        expect(run(obj, "tcp,dport=81,len=200")).toBe(0);
        expect(run(obj, "udp,dport=80,len=200")).toBe(0);
      } finally {
        obj.close();
      }
    }
  });

  test("byte counter per source address (hash map: create when absent, add otherwise)", () => {
    for (const [source, run] of [
      [readExample("bytes-per-source.lua"), runSocket],
      [asTc(readExample("bytes-per-source.lua")), runTc],
    ] as const) {
      const obj = load(source);
      try {
        run(obj, "tcp,src=10.0.0.1,len=100");
        run(obj, "udp,src=10.0.0.1,len=200");
        run(obj, "tcp,src=192.168.1.7,len=64", 4);
        const bytes = plain(obj, "bytes");
        const entries = new Map([...bytes.entries()].map(([k, v]) => [le(k), le(v)]));
        expect(entries).toEqual(new Map([[0x0a000001n, 300n], [0xc0a80107n, 256n]]));
      } finally {
        obj.close();
      }
    }
  });

  test("tc program: drops UDP to port 53 and counts, passes the rest", () => {
    const obj = load(readExample("tc-drop-udp.lua"));
    try {
      expect(runTc(obj, "udp,dport=53")).toBe(2);
      expect(runTc(obj, "udp,dport=54")).toBe(0);
      expect(runTc(obj, "tcp,dport=53")).toBe(0);
      expect(runTc(obj, "udp,dport=53", 4)).toBe(2);
      expect(le(plain(obj, "dropped").get(leBytes(0n, 4))!)).toBe(5n);
    } finally {
      obj.close();
    }
  });

  test("XDP program decides on ingress_ifindex", () => {
    // BPF_PROG_TEST_RUN runs XDP programs on the loopback device (ifindex 1).
    const obj = load(readExample("xdp-ifindex.lua"));
    try {
      expect(program(obj, "xdp").testRun(buildPacket("tcp")).retval).toBe(2);
    } finally {
      obj.close();
    }
    const other = load(readExample("xdp-ifindex.lua").replace("ingress_ifindex == 1", "ingress_ifindex == 7"));
    try {
      expect(program(other, "xdp").testRun(buildPacket("tcp")).retval).toBe(1);
    } finally {
      other.close();
    }
  });

  test("kprobe storing time() under pid_tgid() loads (the kernel cannot test-run kprobes)", () => {
    const obj = load(readExample("kprobe-time.lua"));
    try {
      const p = program(obj, "kprobe/do_nanosleep");
      expect(p.fd).toBeGreaterThan(0);
      expect(obj.maps.has("last")).toBe(true);
    } finally {
      obj.close();
    }
  });

  test("Lua integer semantics on the kernel: wrap-around, floor division and modulo, signed compares", () => {
    const src = `
local bpf = require('bpf')
local out = bpf.map('array', 8, 'uint32_t', 'uint64_t')
bpf.tc(function (skb)
  local n = skb.len          -- 100
  out[0] = (0 - n) // 7      -- floor(-100 / 7) = -15
  out[1] = (0 - n) % 7       -- -100 mod 7 = 5
  out[2] = n // -7           -- -15
  out[3] = n % -7            -- -5
  out[4] = 9223372036854775807 + n  -- wraps
  if n - 101 < 0 then out[5] = 1 else out[5] = 2 end
  out[6] = n * 3 - 1
  return 0
end)`;
    const obj = load(src);
    try {
      runTc(obj, "tcp,len=100");
      const out = plain(obj, "out");
      const get = (k: number): bigint => BigInt.asIntN(64, le(out.get(leBytes(BigInt(k), 4))!));
      expect(get(0)).toBe(-15n);
      expect(get(1)).toBe(5n);
      expect(get(2)).toBe(-15n);
      expect(get(3)).toBe(-5n);
      expect(get(4)).toBe(-9223372036854775709n);
      expect(get(5)).toBe(1n);
      expect(get(6)).toBe(299n);
    } finally {
      obj.close();
    }
  });
});
