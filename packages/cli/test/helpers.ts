// Shared helpers of the CLI's end-to-end tests.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { BpfObject } from "@luabpf/elf";
import { buildPacket, loadObject } from "@luabpf/loader";
import { programTypeById } from "@luabpf/platform";
import { main } from "../src/main.js";
import { asSeenByPacketSocket } from "../src/run.js";

export const ROOT = join(import.meta.dirname, "../../..");
export const example = (name: string): string => join(ROOT, "examples", name);
export const readExample = (name: string): string => readFileSync(example(name), "utf8");

/** Runs the CLI in process; returns exit status and captured output. */
export async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: (s) => (stdout += typeof s === "string" ? s : Buffer.from(s).toString("latin1")),
    stderr: (s) => (stderr += s),
    env: {},
  });
  return { code, stdout, stderr };
}

/** The command as users run it: a real `node packages/cli/bin/luabpf.js` process. */
export const BIN = join(ROOT, "packages/cli/bin/luabpf.js");

/**
 * Runs `luabpf args...` as a process (standard input from `input`), with an environment
 * free of colour settings unless `env` adds some. Output is captured as bytes and text.
 */
export function luabpf(args: readonly string[], options: { input?: string | Uint8Array; env?: Record<string, string>; cwd?: string } = {}) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "NO_COLOR" && k !== "FORCE_COLOR") env[k] = v;
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: options.input ?? "",
    env: { ...env, ...options.env },
    cwd: options.cwd ?? ROOT,
    maxBuffer: 64 << 20,
  });
  return { code: r.status ?? -1, signal: r.signal, stdoutBytes: r.stdout, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

/** Is an external tool on PATH? In CI a missing tool is a failure, not a skip. */
export function haveTool(name: string): boolean {
  const ok = spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
  if (!ok && process.env.CI) throw new Error(`${name} is required in CI (apt-get install it in .ci/run)`);
  return ok;
}

export function run(cmd: string, args: string[]): { stdout: string; stderr: string; status: number } {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

export function ensureBpffs(): void {
  execFileSync("sh", ["-c", "mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"]);
}

/** A little-endian unsigned integer from bytes. */
export function le(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}
export function leBytes(v: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

/**
 * Loads `object` in the kernel (throws VerifierError when the verifier refuses) and test-runs
 * each packet program on every packet spec (loader's `buildPacket` syntax; a socket filter
 * sees the frame as a packet socket does): program name → its return values, one per packet
 * (undefined: a program type that is not test-run on packets).
 */
export function packetResults(object: BpfObject, packets: readonly string[]): Map<string, number[] | undefined> {
  const results = new Map<string, number[] | undefined>();
  const loaded = loadObject(object);
  try {
    for (const prog of loaded.programs.values()) {
      const type = programTypeById(prog.type)!;
      if (type.testRun !== "packet_l2" && type.testRun !== "packet_l3") {
        results.set(prog.name, undefined);
        continue;
      }
      results.set(
        prog.name,
        packets.map((spec) => {
          const frame = buildPacket(spec);
          return prog.testRun(type.name === "socket_filter" ? asSeenByPacketSocket(frame) : frame).retval;
        }),
      );
    }
  } finally {
    loaded.close();
  }
  return results;
}
