// Tracing hooks. Tracepoints, uprobes and kprobes are perf events with a BPF perf-event link on
// top (BPF_LINK_CREATE with BPF_PERF_EVENT, Linux 5.15+); closing the link detaches and closing
// the perf event removes the probe. Raw tracepoints and BTF tracing programs (fentry, fexit,
// tp_btf) attach with a link of their own.
//
// The perf event is opened for every process on CPU 0: a BPF program attached to a tracepoint or
// probe event runs wherever the event fires (it hangs off the event's trace_event_call, not off
// the per-CPU counter), so one event per hook is enough, as libbpf does.
import { accessSync, constants as fsConstants, existsSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import type { AttachableProgram, AttachedParts, AttachTarget } from "./attach.js";
import { closeDescriptors } from "./attach.js";
import { AttachType } from "@luabpf/platform";
import { LoaderError } from "./errors.js";
import { symbolFileOffset } from "./host-elf.js";
import { ioctlInt } from "./libc.js";
import { Perf, openProbe, openTracepoint } from "./perf-event.js";
import { linkCreate, rawTracepointOpen } from "./syscall-objects.js";

/** Puts a BPF perf-event link on perf event `perfFd` (which the attachment then owns). */
function linkPerfEvent(program: AttachableProgram, perfFd: number, description: string): AttachedParts {
  try {
    const linkFd = linkCreate({ progFd: program.fd, attachType: AttachType.perf_event, target: perfFd }, `program ${program.name}: ${description}`);
    ioctlInt(perfFd, Perf.IOC_ENABLE, 0, description);
    return { description, linkFd, fds: [perfFd, linkFd] };
  } catch (error) {
    closeDescriptors([perfFd]);
    throw error;
  }
}

/** A tracepoint program on `category:name` (tracefs must be mounted to find its id). */
export function attachTracepoint(program: AttachableProgram, category: string, name: string): AttachedParts {
  const description = `tracepoint ${category}:${name}`;
  return linkPerfEvent(program, openTracepoint(category, name), description);
}

/** A raw tracepoint program on tracepoint `name` (no tracefs needed). */
export function attachRawTracepoint(program: AttachableProgram, name: string): AttachedParts {
  const description = `raw tracepoint ${name}`;
  const linkFd = rawTracepointOpen(program.fd, name, `program ${program.name}: ${description}`);
  return { description, linkFd, fds: [linkFd] };
}

/**
 * The binary a uprobe names: a path with a slash as given, otherwise the first executable of
 * that name on PATH (as a shell would run it).
 */
export function resolveBinary(binary: string): string {
  if (binary.includes("/")) {
    if (!existsSync(binary)) throw new LoaderError(`uprobe: ${binary} does not exist`);
    return isAbsolute(binary) ? binary : join(process.cwd(), binary);
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new LoaderError(`uprobe: no executable ${binary} on PATH`);
}

/** A uprobe/uretprobe through the uprobe PMU, or a kprobe/kretprobe through the kprobe PMU. */
export function attachPerfEventProbe(
  program: AttachableProgram,
  target: Extract<AttachTarget, { kind: "uprobe" | "kprobe" }>,
): AttachedParts {
  if (target.kind === "kprobe") {
    const description = `${target.retprobe ? "kretprobe" : "kprobe"} ${target.symbol}`;
    const perfFd = openProbe({ kind: "kprobe", retprobe: target.retprobe ?? false, target: target.symbol, offset: target.offset ?? 0n });
    return linkPerfEvent(program, perfFd, description);
  }
  const binary = resolveBinary(target.binary);
  const offset = target.symbol ? symbolFileOffset(binary, target.symbol, target.offset ?? 0n) : (target.offset ?? 0n);
  const description = `${target.retprobe ? "uretprobe" : "uprobe"} ${binary}:${target.symbol ?? `0x${offset.toString(16)}`}`;
  const perfFd = openProbe({
    kind: "uprobe",
    retprobe: target.retprobe ?? false,
    target: binary,
    offset,
    ...(target.pid !== undefined ? { pid: target.pid } : {}),
  });
  return linkPerfEvent(program, perfFd, description);
}

/** An fentry/fexit/tp_btf program, whose target was fixed when it was loaded. */
export function attachTracing(program: AttachableProgram): AttachedParts {
  const attachType = program.expectedAttachType;
  if (attachType === undefined) throw new LoaderError(`program ${program.name}: a tracing program needs its attach type from loading`);
  const description = attachType === AttachType.trace_fexit ? "fexit" : attachType === AttachType.trace_raw_tp ? "tp_btf" : "fentry";
  const linkFd = linkCreate({ progFd: program.fd, attachType, target: 0 }, `program ${program.name}: ${description}`);
  return { description, linkFd, fds: [linkFd] };
}
