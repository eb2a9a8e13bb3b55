// Error classes of the loader. A failed bpf(2) call becomes a BpfError naming the command and
// errno; a program the verifier refuses becomes a VerifierError that also carries the verifier's
// log, since that log, not the errno, is what explains the rejection.
import { LuabpfError } from "@luabpf/platform/errors";
import { getSystemErrorMap } from "node:util";
import { BpfCommand } from "@luabpf/platform";

/** Name of a bpf(2) command value (`BPF_MAP_CREATE`), for error messages. */
export function commandName(command: number): string {
  for (const [name, value] of Object.entries(BpfCommand)) {
    if (value === command) return `BPF_${name}`;
  }
  return `bpf command ${command}`;
}

/** Name (`"EPERM"`) and description (`"operation not permitted"`) of an errno value. */
export function describeErrno(errno: number): { name: string; message: string } {
  const entry = getSystemErrorMap().get(-errno);
  return entry ? { name: entry[0], message: entry[1] } : { name: `errno ${errno}`, message: "unknown error" };
}

/** A bpf(2) call that returned an error. */
export class BpfError extends LuabpfError {
  readonly kind = "user" as const;
  readonly category: "kernel" | "verifier" = "kernel";
  override name = "BpfError";
  /** The numeric errno, e.g. 1. */
  readonly errno: number;
  /** The errno's symbolic name, e.g. `"EPERM"`. */
  readonly code: string;
  /** The bpf(2) command that failed, e.g. `"BPF_MAP_CREATE"`. */
  readonly command: string;
  /** The `enum bpf_cmd` value of {@link BpfError.command}. */
  readonly commandNumber: number;
  /** What was being done, e.g. `"map counts"`; prefixed to the message. */
  readonly context: string | undefined;

  /**
   * @param command the `enum bpf_cmd` value that failed
   * @param errno the errno the kernel returned
   * @param context optional words saying what was being done, prefixed to the message
   */
  constructor(command: number, errno: number, context?: string, options?: ErrorOptions) {
    const { name, message } = describeErrno(errno);
    const what = commandName(command);
    super(`${context ? `${context}: ` : ""}${what} failed: ${name} (${message})${hint(name)}`, options);
    this.errno = errno;
    this.code = name;
    this.command = what;
    this.commandNumber = command;
    this.context = context;
  }
}

/** A BPF_PROG_LOAD the verifier (or the program-load checks before it) rejected. */
export class VerifierError extends BpfError {
  override readonly category = "verifier" as const;
  override name = "VerifierError";
  /** The verifier's log, verbatim (trailing NULs removed). */
  readonly log: string;

  constructor(command: number, errno: number, log: string, context?: string, options?: ErrorOptions) {
    super(command, errno, context, options);
    this.log = log;
    this.message += `\nverifier log:\n${indent(log.trimEnd())}`;
  }
}

/** A libc call the loader made (epoll, mmap, perf_event_open, socket, ...) that failed. */
export class OsError extends LuabpfError {
  readonly kind = "user" as const;
  readonly category = "kernel" as const;
  override name = "OsError";
  /** The numeric errno. */
  readonly errno: number;
  /** The errno's symbolic name, e.g. `"ENOENT"`. */
  readonly code: string;
  /** The function that failed, e.g. `"perf_event_open"`. */
  readonly syscall: string;

  constructor(syscall: string, errno: number, context?: string, options?: ErrorOptions) {
    const { name, message } = describeErrno(errno);
    super(`${context ? `${context}: ` : ""}${syscall} failed: ${name} (${message})`, options);
    this.errno = errno;
    this.code = name;
    this.syscall = syscall;
  }
}

/** An object that cannot be loaded for a reason found before or between kernel calls. */
export class LoaderError extends LuabpfError {
  readonly kind = "user" as const;
  readonly category = "kernel" as const;
  override name = "LoaderError";
}

function hint(errnoName: string): string {
  if (errnoName === "EPERM") return "; loading eBPF needs root, or CAP_BPF (plus CAP_PERFMON/CAP_NET_ADMIN for some program types)";
  return "";
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}
