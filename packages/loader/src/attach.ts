// Attaching loaded programs to their hooks. `attach(program, target)` dispatches on the
// target's kind and returns an Attachment whose close() detaches (closing every descriptor the
// attachment opened). BPF links are used wherever the kernel has them, so that a crashed or
// killed process detaches too (the kernel drops a link with its last descriptor) and
// `bpftool link` shows what is attached:
//
//   xdp             BPF_LINK_CREATE(BPF_XDP, ifindex, XDP_FLAGS_{DRV,SKB}_MODE)     attach-net.ts
//   tc              BPF_LINK_CREATE(BPF_TCX_INGRESS/EGRESS, ifindex) (tcx, Linux 6.6+)  attach-net.ts
//   socket          SO_ATTACH_BPF on an AF_PACKET socket bound to the interface       attach-net.ts
//   tracepoint      perf_event_open(PERF_TYPE_TRACEPOINT, id from tracefs)
//                   + BPF_LINK_CREATE(BPF_PERF_EVENT)                                 attach-trace.ts
//   raw_tracepoint  BPF_RAW_TRACEPOINT_OPEN(name)                                     attach-trace.ts
//   uprobe/kprobe   perf_event_open(uprobe/kprobe PMU) + BPF_LINK_CREATE(BPF_PERF_EVENT)
//   fentry/fexit    BPF_LINK_CREATE(BPF_TRACE_FENTRY/FEXIT) for a program loaded with the
//   tp_btf          target's vmlinux BTF id (object.ts)                                attach-trace.ts
//
// `targetForSection` reads the target from a libbpf-style section name (the `hook` column of
// @luabpf/platform's section rules says which kind, the part after "/" says where), so a whole
// object can be attached without the caller knowing its programs.
import { closeSync as closeFd } from "node:fs";
import { LoaderError } from "./errors.js";
import { attachSocket, attachTc, attachXdp } from "./attach-net.js";
import { attachPerfEventProbe, attachRawTracepoint, attachTracing, attachTracepoint } from "./attach-trace.js";
import type { ObjectAttach } from "@luabpf/elf";
import { sectionRule } from "@luabpf/platform";
import { objPin } from "./syscall-objects.js";

/** An interface by name (`"eth0"`) or index. */
export type InterfaceRef = string | number;

/** Which driver hook runs an XDP program. */
export type XdpMode = "native" | "generic" | "offload";

/** Where to attach a program. */
export type AttachTarget =
  | { kind: "xdp"; iface: InterfaceRef; mode?: XdpMode }
  | { kind: "tc"; iface: InterfaceRef; direction: "ingress" | "egress" }
  | { kind: "socket"; iface: InterfaceRef }
  | { kind: "tracepoint"; category: string; name: string }
  | { kind: "raw_tracepoint"; name: string }
  | { kind: "uprobe"; binary: string; symbol?: string; offset?: bigint; retprobe?: boolean; pid?: number }
  | { kind: "kprobe"; symbol: string; offset?: bigint; retprobe?: boolean }
  | { kind: "tracing" };

/** The program fields attaching needs (a ProgramHandle of object.ts has them all). */
export interface AttachableProgram {
  readonly name: string;
  readonly fd: number;
  /** A {@link @luabpf/platform!ProgramType} value. */
  readonly type: number;
  /** The {@link @luabpf/platform!AttachType} it was loaded with (tracing programs). */
  readonly expectedAttachType?: number | undefined;
}

/** An attached program. */
export interface Attachment {
  readonly program: string;
  readonly target: AttachTarget;
  /** A short description for messages, e.g. `xdp on veth0 (native)`. */
  readonly description: string;
  /** The BPF link's descriptor, when the hook uses a link (everything but socket filters). */
  readonly linkFd: number | undefined;
  /** The packet socket of a socket filter. */
  readonly socketFd: number | undefined;
  /** Pins the link in bpffs, so it stays attached after this process exits (until unpinned). */
  pin(path: string): void;
  /** Detaches and closes every descriptor the attachment opened; idempotent. */
  close(): void;
}

/** What the per-hook functions return: the descriptors, closed in reverse order by close(). */
export interface AttachedParts {
  description: string;
  linkFd?: number;
  socketFd?: number;
  /** Every descriptor opened, in opening order. */
  fds: number[];
}

/**
 * Attaches `program` to `target`.
 *
 * @throws LoaderError when the target is impossible here (no such interface, tracepoint or
 *   symbol; a PMU the kernel lacks), BpfError/OsError when the kernel refuses the attachment
 */
export function attach(program: AttachableProgram, target: AttachTarget): Attachment {
  const parts = attachParts(program, target);
  let closed = false;
  return {
    program: program.name,
    target,
    description: parts.description,
    linkFd: parts.linkFd,
    socketFd: parts.socketFd,
    pin(path: string): void {
      if (parts.linkFd === undefined) throw new LoaderError(`${parts.description}: there is no link to pin (socket filters live on their socket)`);
      objPin(parts.linkFd, path);
    },
    close(): void {
      if (closed) return;
      closed = true;
      closeDescriptors(parts.fds);
    },
  };
}

function attachParts(program: AttachableProgram, target: AttachTarget): AttachedParts {
  switch (target.kind) {
    case "xdp":
      return attachXdp(program, target.iface, target.mode);
    case "tc":
      return attachTc(program, target.iface, target.direction);
    case "socket":
      return attachSocket(program, target.iface);
    case "tracepoint":
      return attachTracepoint(program, target.category, target.name);
    case "raw_tracepoint":
      return attachRawTracepoint(program, target.name);
    case "uprobe":
      return attachPerfEventProbe(program, target);
    case "kprobe":
      return attachPerfEventProbe(program, target);
    case "tracing":
      return attachTracing(program);
    default:
      return assertNever(target);
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected attach target ${JSON.stringify(value)}`);
}

/** Closes descriptors in reverse order of opening (links before the perf events they hold). */
export function closeDescriptors(fds: number[]): void {
  for (const fd of fds.splice(0).reverse()) {
    try {
      closeFd(fd);
    } catch {
      // Already closed: nothing more to release.
    }
  }
}

/** Options for {@link targetForSection}: what a section name cannot say (they win over the object's attach data). */
export interface SectionTargetOptions {
  /** The interface of xdp, tc and socket programs whose section names none. */
  iface?: InterfaceRef;
  xdpMode?: XdpMode;
  /** The process uprobes are limited to (default: every process). */
  pid?: number;
}

/**
 * The attach target a program's section names, libbpf style:
 *   `xdp`, `tc` / `tc/ingress` / `tc/egress` / `tcx/ingress` / `tcx/egress`, `socket`
 *     (the interface comes from `options.iface`);
 *   `tracepoint/<category>/<name>`, `tp/<category>/<name>`; `raw_tracepoint/<name>`, `raw_tp/<name>`;
 *   `uprobe/<binary>:<symbol>[+<offset>]`, `uretprobe/...`; `kprobe/<symbol>[+<offset>]`, `kretprobe/...`;
 *   `fentry/<function>`, `fexit/<function>`, `tp_btf/<tracepoint>`.
 * Undefined for sections with nothing to attach to (`syscall`, `action`, ...).
 *
 * @throws LoaderError when the section needs a target it does not name (an interface, a probe)
 */
export function targetForSection(section: string, options: SectionTargetOptions = {}): AttachTarget | undefined {
  return targetForProgram({ section }, options);
}

/**
 * The attach target of a program from its section name and the attach data its object
 * recorded (`ObjectProgram.attach`, e.g. the interface of `bpf.socket('eth0', fn)` or a
 * bare `uprobe` section's binary and function); `options` override the recorded data.
 *
 * @throws LoaderError as {@link targetForSection}
 */
export function targetForProgram(
  program: { section: string; attach?: ObjectAttach | undefined },
  options: SectionTargetOptions = {},
): AttachTarget | undefined {
  const { section } = program;
  const recorded = program.attach ?? {};
  const iface = options.iface ?? recorded.interface;
  const pid = options.pid ?? recorded.pid;
  const rule = sectionRule(section);
  if (!rule) throw new LoaderError(`section ${section}: not a known program section`);
  const slash = section.indexOf("/");
  const target = slash < 0 ? "" : section.slice(slash + 1);
  const needIface = (): InterfaceRef => {
    if (iface === undefined) {
      throw new LoaderError(`section ${section}: a ${rule.hook} program needs an interface (none given)`);
    }
    return iface;
  };
  switch (rule.hook) {
    case "none":
    case "perf_event":
      return undefined;
    case "xdp":
      return { kind: "xdp", iface: needIface(), ...(options.xdpMode ? { mode: options.xdpMode } : {}) };
    case "tc": {
      // tc actions run inside a classifier's action list; only classifiers attach to a hook.
      if (rule.type !== "sched_cls") return undefined;
      // `tc/egress`, `tcx/egress`; any other target of `tc` (libbpf allows names) is ingress.
      const direction = target === "egress" ? "egress" : rule.prefix === "tcx" && target !== "ingress" ? undefined : "ingress";
      if (!direction) throw new LoaderError(`section ${section}: a tcx section is tcx/ingress or tcx/egress`);
      return { kind: "tc", iface: needIface(), direction };
    }
    case "socket":
      return { kind: "socket", iface: needIface() };
    case "tracepoint": {
      const slash = target.indexOf("/");
      if (slash <= 0 || slash === target.length - 1) {
        throw new LoaderError(`section ${section}: a tracepoint section is tracepoint/<category>/<name>`);
      }
      return { kind: "tracepoint", category: target.slice(0, slash), name: target.slice(slash + 1) };
    }
    case "raw_tracepoint":
      return { kind: "raw_tracepoint", name: target };
    case "kprobe":
    case "kretprobe": {
      const match = /^([\w.]+)(?:\+(0x[0-9a-f]+|\d+))?$/i.exec(target || (recorded.symbol ?? ""));
      if (!match) throw new LoaderError(`section ${section}: a kprobe section is kprobe/<symbol>[+<offset>]`);
      return {
        kind: "kprobe",
        symbol: match[1]!,
        ...(match[2] ? { offset: BigInt(match[2]) } : {}),
        retprobe: rule.hook === "kretprobe" || recorded.retprobe === true,
      };
    }
    case "uprobe":
    case "uretprobe": {
      const spec = target !== "" ? target : recorded.path !== undefined && recorded.symbol !== undefined ? `${recorded.path}:${recorded.symbol}` : "";
      if (spec === "") throw new LoaderError(`section ${section}: a bare uprobe section needs its binary and function (from the API or the object's attach data)`);
      const match = /^(.+):([\w.@]+?)(?:\+(0x[0-9a-f]+|\d+))?$/i.exec(spec);
      if (!match) throw new LoaderError(`section ${section}: a uprobe section is uprobe/<binary>:<function>[+<offset>]`);
      return {
        kind: "uprobe",
        binary: match[1]!,
        symbol: match[2]!,
        ...(match[3] ? { offset: BigInt(match[3]) } : {}),
        retprobe: rule.hook === "uretprobe" || recorded.retprobe === true,
        ...(pid !== undefined ? { pid } : {}),
      };
    }
    case "tracing":
      return { kind: "tracing" };
    default:
      return assertNever(rule.hook);
  }
}

/** One line naming a target, for messages. */
export function describeTarget(target: AttachTarget): string {
  switch (target.kind) {
    case "xdp":
      return `xdp on ${target.iface}${target.mode ? ` (${target.mode})` : ""}`;
    case "tc":
      return `tc ${target.direction} on ${target.iface}`;
    case "socket":
      return `socket filter on ${target.iface}`;
    case "tracepoint":
      return `tracepoint ${target.category}:${target.name}`;
    case "raw_tracepoint":
      return `raw tracepoint ${target.name}`;
    case "uprobe":
      return `${target.retprobe ? "uretprobe" : "uprobe"} ${target.binary}:${target.symbol ?? ""}${target.offset ? `+0x${target.offset.toString(16)}` : ""}`;
    case "kprobe":
      return `${target.retprobe ? "kretprobe" : "kprobe"} ${target.symbol}${target.offset ? `+0x${target.offset.toString(16)}` : ""}`;
    case "tracing":
      return "tracing (target fixed at load)";
    default:
      return assertNever(target);
  }
}
