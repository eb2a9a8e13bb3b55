// The platform's table of helpers per program type (program-helpers.ts) against the running
// kernel: for every program type with a row, a program calling each helper is loaded and the
// verifier's verdict read ("program of this type cannot use helper" / "unknown func" means
// refused; anything else — success, or a complaint about the arguments — means allowed).
// Every helper the kernel allows must be in the row (the compiler must never refuse a valid
// program), and every helper in the row the kernel refuses must be a configuration-dependent
// one (the table follows the kernel's code, not this machine's configuration).
import { closeSync } from "node:fs";
import { AttachType, CONFIG_DEPENDENT_HELPERS, HELPERS, PROGRAM_TYPES, programHelpers, type AttachTypeName, type ProgramTypeName } from "@luabpf/platform";
import { describe, expect, it } from "vitest";
import { kernelOrSkip, runningKernelBtf } from "../src/index.js";
import { addressOf, nativeBuffer, nativeCopy, rawBpf } from "../src/ffi.js";
import { call, exit, movImm, program } from "./asm.js";

const kernel = kernelOrSkip();
const BPF_PROG_LOAD = 5;
const BPF_F_SLEEPABLE = 1 << 4;

/** "allowed", "refused", or "unknown" (a helper this kernel does not have). */
function verdict(type: number, helper: number, attach: number, btfId: number, flags: number): "allowed" | "refused" | "unknown" {
  const insns = nativeCopy(program(call(helper), movImm(0, 0), exit()));
  const license = nativeCopy(Buffer.from("GPL\0"));
  const log = nativeBuffer(1 << 16);
  const attr = nativeBuffer(144);
  attr.writeUInt32LE(type, 0);
  attr.writeUInt32LE(3, 4);
  attr.writeBigUInt64LE(addressOf(insns), 8);
  attr.writeBigUInt64LE(addressOf(license), 16);
  attr.writeUInt32LE(1, 24);
  attr.writeUInt32LE(log.length, 28);
  attr.writeBigUInt64LE(addressOf(log), 32);
  attr.writeUInt32LE(flags, 44);
  attr.writeUInt32LE(attach, 68);
  attr.writeUInt32LE(btfId, 108);
  const result = rawBpf(BPF_PROG_LOAD, attr);
  if (result.ret >= 0) {
    closeSync(result.ret);
    return "allowed";
  }
  const text = log.toString("latin1");
  if (/invalid func unknown#|unknown func bpf_\w+#/.test(text) && !text.includes("cannot use helper")) return "unknown";
  return /cannot use helper|unknown func/.test(text) ? "refused" : "allowed";
}

/** How each row is probed: the expected attach type (and target) its program type needs at load time. */
const PROBES: { type: ProgramTypeName; attach?: AttachTypeName; target?: () => number; flags?: number }[] = [
  ...(Object.keys(PROGRAM_TYPES) as ProgramTypeName[])
    .filter((type) => type !== "tracing" && programHelpers(type) !== undefined)
    .map((type) => ({
      type,
      ...({
        cgroup_sock_addr: { attach: "cgroup_inet4_connect" },
        cgroup_sockopt: { attach: "cgroup_getsockopt" },
        sk_lookup: { attach: "sk_lookup" },
        netfilter: { attach: "netfilter" },
        cgroup_sock: { attach: "cgroup_inet_sock_create" },
        cgroup_skb: { attach: "cgroup_inet_ingress" },
        syscall: { flags: BPF_F_SLEEPABLE },
      } as Partial<Record<ProgramTypeName, { attach?: AttachTypeName; flags?: number }>>)[type],
    })),
  { type: "tracing", attach: "trace_raw_tp", target: () => runningKernelBtf().find("typedef", "btf_trace_sched_switch")!.id },
];

describe.skipIf(!kernel)("helpers per program type agree with the running kernel", () => {
  it.each(PROBES.map((probe) => [probe.attach ? `${probe.type} (${probe.attach})` : probe.type, probe] as const))("%s", (_, probe) => {
    const row = programHelpers(probe.type, probe.attach)!;
    const attach = probe.attach ? AttachType[probe.attach] : 0;
    const btfId = probe.target?.() ?? 0;
    const missing: string[] = [];
    const extra: string[] = [];
    for (const helper of HELPERS.slice(1)) {
      const answer = verdict(PROGRAM_TYPES[probe.type].id, helper.id, attach, btfId, probe.flags ?? 0);
      if (answer === "allowed" && !row.has(helper.name)) missing.push(helper.name);
      if (answer === "refused" && row.has(helper.name) && !CONFIG_DEPENDENT_HELPERS.has(helper.name)) extra.push(helper.name);
    }
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
  });
});
