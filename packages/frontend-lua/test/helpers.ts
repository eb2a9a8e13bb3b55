/**
 * Test helpers: compile a program, check the module with the IR verifier, run a program
 * function in the IR interpreter on a context and a packet, build packets and contexts,
 * and catch compile errors.
 */
import { CompileError, type Diagnostic, type Function, interpret, MapState, type Module, type Opcode, printModule, verifyModule, formatVerifierErrors } from "@luabpf/ir";
import { expect } from "vitest";
import { compileLua } from "../src/index.js";

/** Compiles `source` and asserts that the module passes the IR verifier. */
export function compile(source: string, file = "test.lua"): Module {
  const m = compileLua(source, { file });
  const errors = verifyModule(m);
  if (errors.length > 0) throw new Error(`verifier:\n${formatVerifierErrors(errors)}\n${printModule(m)}`);
  return m;
}

/** The only function of a module. */
export function only(m: Module): Function {
  expect(m.functions).toHaveLength(1);
  return m.functions[0]!;
}

/** The opcodes of `fn`'s instructions, in block order. */
export function opcodes(fn: Function): Opcode[] {
  return [...fn.instructions()].map((i) => i.opcode);
}

/** How many instructions of `fn` have opcode `op`. */
export function count(fn: Function, op: Opcode): number {
  return opcodes(fn).filter((o) => o === op).length;
}

export interface RunInput {
  packet?: Uint8Array;
  ctx?: Uint8Array;
  maps?: MapState;
  time?: bigint;
  pidTgid?: bigint;
  cpu?: number;
}

/** Runs program `name` (default: the only one) and returns its result and map state. */
export function run(m: Module, input: RunInput = {}, name?: string): { value: bigint; maps: MapState } {
  const fnName = name ?? only(m).name;
  const r = interpret(m, fnName, ["ctx"], {
    ctx: input.ctx ?? skbContext({}),
    packet: input.packet ?? new Uint8Array(0),
    maps: input.maps,
    time: input.time,
    pidTgid: input.pidTgid,
    cpu: input.cpu,
  });
  expect(typeof r.value).toBe("bigint");
  return { value: r.value as bigint, maps: r.maps };
}

/** Compiles a socket program whose body is `body` and runs it; returns its result. */
export function evalBody(body: string, input: RunInput = {}, prelude = ""): bigint {
  const m = compile(`${prelude}\nbpf.socket(function (skb)\n${body}\nend)\n`);
  return run(m, input).value;
}

/** Little-endian u32 fields of a context struct at the given offsets. */
export function context(size: number, fields: Record<number, number | bigint>, widths: Record<number, 4 | 8> = {}): Uint8Array {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  for (const [off, v] of Object.entries(fields)) {
    const o = Number(off);
    if (widths[o] === 8) view.setBigUint64(o, BigInt.asUintN(64, BigInt(v)), true);
    else view.setUint32(o, Number(BigInt.asUintN(32, BigInt(v))), true);
  }
  return bytes;
}

/** A `struct __sk_buff` (192 bytes) with some fields set. */
export function skbContext(f: { len?: number; mark?: number; protocol?: number; ifindex?: number; ingress_ifindex?: number }): Uint8Array {
  return context(192, { 0: f.len ?? 0, 8: f.mark ?? 0, 16: f.protocol ?? 0, 36: f.ingress_ifindex ?? 0, 40: f.ifindex ?? 0 });
}

export interface PacketSpec {
  proto?: number;
  src?: number;
  dst?: number;
  ttl?: number;
  /** IPv4 header length in 32-bit words (default 5; options are zero bytes). */
  ihl?: number;
  srcPort?: number;
  dstPort?: number;
  tcpFlags?: number;
  /** Total length: bytes after the transport header are zero. */
  size?: number;
}

/** An Ethernet + IPv4 + TCP/UDP packet (big-endian on the wire). */
export function ipv4Packet(p: PacketSpec = {}): Uint8Array {
  const ihl = p.ihl ?? 5;
  const l4 = 14 + ihl * 4;
  const bytes = new Uint8Array(Math.max(p.size ?? 0, l4 + 20));
  const v = new DataView(bytes.buffer);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x40 | ihl);
  v.setUint16(16, bytes.length - 14);
  v.setUint8(22, p.ttl ?? 64);
  v.setUint8(23, p.proto ?? 6);
  v.setUint32(26, p.src ?? 0x0a000001);
  v.setUint32(30, p.dst ?? 0x0a000002);
  v.setUint16(l4, p.srcPort ?? 12345);
  v.setUint16(l4 + 2, p.dstPort ?? 80);
  v.setUint8(l4 + 13, p.tcpFlags ?? 0x02);
  return bytes;
}

/** Compiles `source` and returns its warnings as `line:col: message`. */
export function warningsOf(source: string, options: { compat?: "lua" | "bcc" } = {}, file = "warn.lua"): string[] {
  const warnings: Diagnostic[] = [];
  compileLua(source, { file, warnings, ...options });
  return warnings.map((d) => `${d.location!.line}:${d.location!.column}: ${d.message}`);
}

/** The diagnostics of compiling `source` (which must fail). */
export function diagnostics(source: string, file = "bad.lua"): readonly Diagnostic[] {
  try {
    compileLua(source, { file });
  } catch (e) {
    if (e instanceof CompileError) return e.diagnostics;
    throw e;
  }
  throw new Error("expected a CompileError");
}

/** `file:line:col: message` of the single error of compiling `source` (warnings aside). */
export function errorOf(source: string, file = "bad.lua"): string {
  const ds = diagnostics(source, file).filter((d) => d.severity === "error");
  expect(ds.length, ds.map((d) => d.message).join("; ")).toBe(1);
  const d = ds[0]!;
  expect(d.severity).toBe("error");
  return `${d.location!.file}:${d.location!.line}:${d.location!.column}: ${d.message}`;
}
