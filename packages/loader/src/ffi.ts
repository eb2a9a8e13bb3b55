// The one native entry point of the loader: libc's `syscall(2)` called through koffi, with
// the bpf(2) system call number of the running architecture.
//
// koffi is loaded lazily with `createRequire`, so importing @luabpf/loader on a machine where
// koffi's native module or libc is missing costs nothing until a kernel call is made, and the
// failure then surfaces as an ordinary error that `bpfAvailable()` can report.
//
// errno: koffi saves the thread's errno right after every native call and restores it before
// the next one, and `koffi.errno()` reads that saved value. Calling `__errno_location()` through
// koffi afterwards would observe koffi's own bookkeeping rather than the syscall's result, so
// `koffi.errno()` is the reliable way to read it (checked on this machine: a failing
// BPF_MAP_CREATE reports EINVAL through koffi.errno() while *__errno_location() reads 0).
import { createRequire } from "node:module";

type Koffi = typeof import("koffi");

/**
 * System call numbers per Node architecture name (arch/x86/entry/syscalls/syscall_64.tbl,
 * include/uapi/asm-generic/unistd.h for the architectures that share the generic table).
 */
const SYSCALL_NUMBERS: Readonly<Record<string, { bpf: number; perfEventOpen: number }>> = {
  x64: { bpf: 321, perfEventOpen: 298 },
  arm64: { bpf: 280, perfEventOpen: 241 },
  riscv64: { bpf: 280, perfEventOpen: 241 },
  loong64: { bpf: 280, perfEventOpen: 241 },
  ia32: { bpf: 357, perfEventOpen: 336 },
};

interface Native {
  readonly koffi: Koffi;
  readonly libc: ReturnType<Koffi["load"]>;
  /** `long syscall(long number, ...)`, declared variadic as glibc declares it. */
  readonly syscall: (...args: unknown[]) => unknown;
  readonly bpfNumber: number;
  readonly perfEventOpenNumber: number;
}

let native: Native | undefined;

function bindNative(): Native {
  if (native) return native;
  if (process.platform !== "linux") {
    throw new Error(`bpf(2) exists only on Linux (this is ${process.platform})`);
  }
  const numbers = SYSCALL_NUMBERS[process.arch];
  if (numbers === undefined) {
    throw new Error(`the bpf(2) system call number of architecture ${process.arch} is not known`);
  }
  const require = createRequire(import.meta.url);
  const koffi = require("koffi") as Koffi;
  const libc = koffi.load("libc.so.6");
  const syscall = libc.func("long syscall(long number, ...)") as (...args: unknown[]) => unknown;
  native = { koffi, libc, syscall, bpfNumber: numbers.bpf, perfEventOpenNumber: numbers.perfEventOpen };
  return native;
}

/** koffi and libc, bound on first use (for libc.ts, which declares the other functions it calls). */
export function nativeLibrary(): { koffi: Koffi; libc: ReturnType<Koffi["load"]> } {
  const { koffi, libc } = bindNative();
  return { koffi, libc };
}

/** The result of one raw bpf(2) call: its return value, and errno when it is negative. */
export interface RawResult {
  readonly ret: number;
  readonly errno: number;
}

/**
 * Calls `bpf(cmd, attr, attr.length)`. The kernel reads and may write `attr` in place; every
 * pointer stored inside `attr` must stay referenced by the caller until this returns.
 */
export function rawBpf(cmd: number, attr: Buffer): RawResult {
  const { koffi, syscall, bpfNumber } = bindNative();
  const ret = Number(syscall(bpfNumber, "int", cmd, "void *", attr, "unsigned int", attr.length));
  return { ret, errno: ret < 0 ? koffi.errno() : 0 };
}

/**
 * Calls `perf_event_open(attr, pid, cpu, group_fd, flags)` (there is no libc wrapper). Returns
 * the new descriptor, or a negative value and errno.
 */
export function rawPerfEventOpen(attr: Buffer, pid: number, cpu: number, groupFd: number, flags: number): RawResult {
  const { koffi, syscall, perfEventOpenNumber } = bindNative();
  const ret = Number(
    syscall(perfEventOpenNumber, "void *", attr, "int", pid, "int", cpu, "int", groupFd, "unsigned long", flags),
  );
  return { ret, errno: ret < 0 ? koffi.errno() : 0 };
}

/**
 * A zeroed buffer whose memory lives outside the V8 heap (a fresh `ArrayBuffer` always does;
 * small typed arrays may otherwise live on the heap, where the garbage collector can move them),
 * so its address can be stored inside a bpf_attr.
 */
export function nativeBuffer(size: number): Buffer {
  return Buffer.from(new ArrayBuffer(size));
}

/** A {@link nativeBuffer} holding a copy of `bytes`. */
export function nativeCopy(bytes: Uint8Array): Buffer {
  const buffer = nativeBuffer(bytes.byteLength);
  buffer.set(bytes);
  return buffer;
}

/** The address of a {@link nativeBuffer}'s memory, or 0 for an empty one (the kernel's NULL). */
export function addressOf(buffer: Buffer): bigint {
  if (buffer.byteLength === 0) return 0n;
  return BigInt(bindNative().koffi.address(buffer));
}
