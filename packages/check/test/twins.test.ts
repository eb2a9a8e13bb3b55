/**
 * The C twins of bench/size compute what their Lua programs compute: each twin (clang-16
 * -O2 -target bpf -mcpu=v3) and its example (luabpf -O2) are loaded into the kernel and
 * run with BPF_PROG_TEST_RUN on the same packets; return values and map contents must
 * agree (the list: twin-kinds.ts). Twins of tracing programs are compared attached, in
 * twins-tracing.test.ts; xdp-cpu-budget's `slot` map holds the current millisecond, so
 * only its other map is compared.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readObject, type BpfObject } from "@luabpf/elf";
import { buildPacket, kernelOrSkip, loadObject } from "@luabpf/loader";
import { compileSource } from "luabpf";
import { afterAll, describe, expect, test } from "vitest";
import { asSeenByPacketSocket, skbContextIn, sortKeys, unsignedLe } from "../src/kernel.js";
import { compileTwin } from "../src/twins.js";
import { PACKET_TWINS } from "./twin-kinds.js";

const ROOT = join(import.meta.dirname, "../../..");

/** An IPv6 frame: next header `nh`, hop limit `hops`. */
function ipv6Frame(nh: number, hops: number): Uint8Array {
  const f = new Uint8Array(14 + 40 + 20);
  f.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x86, 0xdd], 0);
  f[14] = 0x60;
  f[14 + 5] = 20; // payload length
  f[14 + 6] = nh;
  f[14 + 7] = hops;
  f[14 + 8 + 15] = 1;
  f[14 + 24 + 15] = 2;
  return f;
}

/** A frame whose IPv4 header checksum is wrong. */
function badChecksum(): Uint8Array {
  const f = buildPacket("udp,dport=9");
  f[14 + 10]! ^= 0x55;
  return f;
}

const PACKETS: Uint8Array[] = [
  buildPacket("tcp,dport=80"),
  buildPacket("tcp,dport=80,flags=SA,len=300"),
  buildPacket("tcp,dport=443,flags=A,ttl=3,len=1500"),
  buildPacket("tcp,dport=50000,src=10.1.2.3"),
  buildPacket("tcp,dport=8080,src=10.1.2.3,flags=S,ttl=200"),
  buildPacket("udp,dport=53"),
  buildPacket("udp,dport=53,len=700,ttl=1"),
  buildPacket("udp,dport=1023,src=192.168.0.9"),
  buildPacket("icmp,ttl=17"),
  badChecksum(),
  ipv6Frame(6, 64),
  ipv6Frame(17, 4),
  ipv6Frame(17, 2),
  buildPacket("tcp,dport=80,payload=GET /index.html HTTP/1.0"),
  buildPacket("tcp,dport=80,ttl=9,payload=POST /form"),
  buildPacket("tcp,dport=80,cut=56,payload=HEAD /"),
  buildPacket("udp6,dport=53,hex=1234"),
  buildPacket("udp,vlan=5,dport=53"),
  buildPacket("tcp,dport=80,cut=40"),
];

const kernel = kernelOrSkip();
const dir = mkdtempSync(join(tmpdir(), "luabpf-twins-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the object's one program on every packet: return values and maps afterwards. */
function observe(object: BpfObject, ignoreMaps: readonly string[]): { returns: number[]; maps: Record<string, Record<string, string>> } {
  const entries = object.programs.filter((p) => !p.subprogram);
  expect(entries).toHaveLength(1);
  const program = entries[0]!;
  const loaded = loadObject(object);
  try {
    const handle = [...loaded.programs.values()][0]!;
    const returns = PACKETS.map((frame) => {
      if (program.section === "socket") return handle.testRun(asSeenByPacketSocket(frame), { ctxIn: skbContextIn({ packet: frame }) }).retval;
      if (program.section.startsWith("tc")) return handle.testRun(frame, { ctxIn: skbContextIn({ packet: frame }) }).retval;
      return handle.testRun(frame).retval;
    });
    const maps: Record<string, Record<string, string>> = {};
    for (const [name, map] of loaded.maps) {
      if (ignoreMaps.includes(name)) continue;
      const out: Record<string, string> = {};
      for (const [key, value] of map.entries() as Iterable<[Uint8Array, Uint8Array | Uint8Array[]]>) {
        const v = Array.isArray(value) ? value.reduce((s, x) => s + BigInt(unsignedLe(x)), 0n).toString() : unsignedLe(value);
        if (v !== "0") out[unsignedLe(key)] = v;
      }
      maps[name] = sortKeys(out);
    }
    return { returns, maps };
  } finally {
    loaded.close();
  }
}

describe.skipIf(!kernel)("bench/size twins compute what their Lua programs compute", () => {
  test.each(Object.keys(PACKET_TWINS))("%s", (name) => {
    const theirs = observe(readObject(readFileSync(compileTwin(name, dir))), PACKET_TWINS[name]!.ignoreMaps ?? []);
    const lua = readFileSync(join(ROOT, "examples", `${name}.lua`), "utf8");
    const ours = observe(compileSource(lua, { file: `${name}.lua`, optLevel: 2 }).object, PACKET_TWINS[name]!.ignoreMaps ?? []);
    expect(ours).toEqual(theirs);
    // The packets exercise the program: not every run returns the same, or a map changed.
    if (!PACKET_TWINS[name]!.sameEveryRun) expect(new Set(ours.returns).size > 1 || Object.values(ours.maps).some((m) => Object.keys(m).length > 0)).toBe(true);
  });
});
