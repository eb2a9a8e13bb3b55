// Thin typed wrappers over the bpf(2) commands the loader needs. Each wrapper lays out its part
// of `union bpf_attr` (include/uapi/linux/bpf.h) in a zeroed buffer, makes one call, and turns a
// negative result into a BpfError. Layouts are written as offset tables next to each command;
// pointers are `__aligned_u64` fields holding the address of a buffer created by ffi.nativeBuffer.
//
// The attr size passed to the kernel is the size of the command's own struct: the kernel
// accepts a shorter attr and treats the missing tail as zero (bpf_check_uarg_tail_zero).
//
// The element wrappers do not know the map's key and value sizes: the kernel reads exactly
// key_size / value_size bytes behind the pointers, so callers must pass buffers of those sizes
// (the map handles of object.ts check them).
import { closeSync } from "node:fs";
import { BPF_OBJ_NAME_LEN, BpfCommand } from "@luabpf/platform";
import { BpfError, VerifierError } from "./errors.js";
import { addressOf, nativeBuffer, nativeCopy, rawBpf } from "./ffi.js";

/** ENOENT: "no such element" for lookups and deletes, "no next key" for iteration. */
const ENOENT = 2;
/** ENOSPC: the verifier log or the test-run output buffer was too small. */
const ENOSPC = 28;

/** One bpf(2) call whose negative result becomes a {@link BpfError}. */
export function call(cmd: number, attr: Buffer, context?: string): number {
  const { ret, errno } = rawBpf(cmd, attr);
  if (ret < 0) throw new BpfError(cmd, errno, context);
  return ret;
}

/**
 * Writes a kernel object name: at most 15 bytes of `[A-Za-z0-9_.]` (the kernel rejects any other
 * byte with EINVAL), other characters replaced by `_`, NUL-terminated by the zeroed buffer.
 */
export function writeObjectName(attr: Buffer, offset: number, name: string): void {
  const safe = sanitizeObjectName(name);
  attr.write(safe, offset, BPF_OBJ_NAME_LEN - 1, "latin1");
}

/** The form of `name` the kernel accepts as a map or program name. */
export function sanitizeObjectName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, "_").slice(0, BPF_OBJ_NAME_LEN - 1);
}

function checkLength(what: string, bytes: Uint8Array, expected: number): void {
  if (bytes.byteLength !== expected) {
    throw new RangeError(`${what} must be ${expected} bytes, got ${bytes.byteLength}`);
  }
}

// ---------------------------------------------------------------------------------------------
// BPF_MAP_CREATE
//   0 map_type u32 | 4 key_size u32 | 8 value_size u32 | 12 max_entries u32 | 16 map_flags u32
//   20 inner_map_fd u32 | 24 numa_node u32 | 28 map_name char[16] | 44 map_ifindex u32
//   48 btf_fd u32 | 52 btf_key_type_id | 56 btf_value_type_id | 60 btf_vmlinux_value_type_id
//   64 map_extra u64 → 72 bytes

/** Parameters of {@link mapCreate}. */
export interface MapCreateOptions {
  /** A {@link @luabpf/platform!MapType} value. */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** `BPF_F_*` map flags; 0 when omitted. */
  flags?: number;
  /** Shown by bpftool; sanitized to 15 bytes of `[A-Za-z0-9_.]`. */
  name?: string;
  /**
   * BTF describing the key and value (from {@link btfLoad}); with it `bpftool map dump` and
   * `luabpf maps` print typed values. Type ids 0 leave the key or value untyped.
   */
  btf?: { fd: number; keyTypeId: number; valueTypeId: number };
}

/** BPF_MAP_CREATE: creates a map and returns its file descriptor. */
export function mapCreate(options: MapCreateOptions): number {
  const attr = nativeBuffer(72);
  attr.writeUInt32LE(options.type, 0);
  attr.writeUInt32LE(options.keySize, 4);
  attr.writeUInt32LE(options.valueSize, 8);
  attr.writeUInt32LE(options.maxEntries, 12);
  attr.writeUInt32LE(options.flags ?? 0, 16);
  if (options.name) writeObjectName(attr, 28, options.name);
  if (options.btf) {
    attr.writeUInt32LE(options.btf.fd, 48);
    attr.writeUInt32LE(options.btf.keyTypeId, 52);
    attr.writeUInt32LE(options.btf.valueTypeId, 56);
  }
  return call(BpfCommand.MAP_CREATE, attr, options.name ? `map ${options.name}` : undefined);
}

// ---------------------------------------------------------------------------------------------
// BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM, BPF_MAP_GET_NEXT_KEY
//   0 map_fd u32 | 4 padding | 8 key u64 | 16 value / next_key u64 | 24 flags u64 → 32 bytes

function elemAttr(fd: number, key: Buffer | undefined, value: Buffer | undefined, flags: number): Buffer {
  const attr = nativeBuffer(32);
  attr.writeUInt32LE(fd, 0);
  attr.writeBigUInt64LE(key ? addressOf(key) : 0n, 8);
  attr.writeBigUInt64LE(value ? addressOf(value) : 0n, 16);
  attr.writeBigUInt64LE(BigInt(flags), 24);
  return attr;
}

/**
 * BPF_MAP_LOOKUP_ELEM: the value stored under `key`, or undefined when there is none.
 * For per-CPU maps `valueSize` is the whole per-CPU block (see object.ts: perCpuValueSize).
 */
export function mapLookup(fd: number, key: Uint8Array, valueSize: number): Uint8Array | undefined {
  const keyBuffer = nativeCopy(key);
  const value = nativeBuffer(valueSize);
  const { ret, errno } = rawBpf(BpfCommand.MAP_LOOKUP_ELEM, elemAttr(fd, keyBuffer, value, 0));
  if (ret < 0) {
    if (errno === ENOENT) return undefined;
    throw new BpfError(BpfCommand.MAP_LOOKUP_ELEM, errno);
  }
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** BPF_MAP_UPDATE_ELEM: stores `value` under `key`; `flags` is an `UpdateFlag` value (@luabpf/platform). */
export function mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags = 0): void {
  const keyBuffer = nativeCopy(key);
  const valueBuffer = nativeCopy(value);
  call(BpfCommand.MAP_UPDATE_ELEM, elemAttr(fd, keyBuffer, valueBuffer, flags));
}

/**
 * BPF_MAP_DELETE_ELEM: removes `key`; false when it was not present. Array maps cannot delete
 * and answer EINVAL, which is thrown.
 */
export function mapDelete(fd: number, key: Uint8Array): boolean {
  const keyBuffer = nativeCopy(key);
  const { ret, errno } = rawBpf(BpfCommand.MAP_DELETE_ELEM, elemAttr(fd, keyBuffer, undefined, 0));
  if (ret < 0) {
    if (errno === ENOENT) return false;
    throw new BpfError(BpfCommand.MAP_DELETE_ELEM, errno);
  }
  return true;
}

/**
 * BPF_MAP_GET_NEXT_KEY: the key after `key`, the first key when `key` is undefined, and
 * undefined after the last. For hash maps a `key` that is no longer present restarts from
 * the first key (kernel behaviour), so deleting while iterating may revisit keys.
 */
export function mapNextKey(fd: number, key: Uint8Array | undefined, keySize: number): Uint8Array | undefined {
  if (key) checkLength("key", key, keySize);
  const keyBuffer = key ? nativeCopy(key) : undefined;
  const next = nativeBuffer(keySize);
  const { ret, errno } = rawBpf(BpfCommand.MAP_GET_NEXT_KEY, elemAttr(fd, keyBuffer, next, 0));
  if (ret < 0) {
    if (errno === ENOENT) return undefined;
    throw new BpfError(BpfCommand.MAP_GET_NEXT_KEY, errno);
  }
  return new Uint8Array(next.buffer, next.byteOffset, next.byteLength);
}

// ---------------------------------------------------------------------------------------------
// BPF_PROG_LOAD
//   0 prog_type u32 | 4 insn_cnt u32 | 8 insns u64 | 16 license u64 | 24 log_level u32
//   28 log_size u32 | 32 log_buf u64 | 40 kern_version u32 | 44 prog_flags u32
//   48 prog_name char[16] | 64 prog_ifindex u32 | 68 expected_attach_type u32
//   72 prog_btf_fd | 76 func_info_rec_size | 80 func_info u64 | 88 func_info_cnt
//   92 line_info_rec_size | 96 line_info u64 | 104 line_info_cnt | 108 attach_btf_id
//   112 attach_prog_fd | 116 core_relo_cnt | 120 fd_array u64 | 128 core_relos u64
//   136 core_relo_rec_size | 140 log_true_size u32 (out, Linux 6.4+) → 144 bytes

/** Parameters of {@link progLoad}. */
export interface ProgLoadOptions {
  /** A {@link @luabpf/platform!ProgramType} value. */
  type: number;
  /** The instructions: 8-byte slots, little-endian, `lddw` taking two slots. */
  insns: Uint8Array;
  /** License string; GPL-only helpers need a GPL-compatible one. */
  license: string;
  /** Shown by bpftool; sanitized to 15 bytes of `[A-Za-z0-9_.]`. */
  name?: string;
  /** An {@link @luabpf/platform!AttachType} value for program types that need it at load time. */
  expectedAttachType?: number;
  /**
   * Verifier log level: 1 logs the failing path, 2 every state, 4 statistics. Levels below 1
   * are raised to 1: a log buffer is always passed so a rejection can quote the verifier.
   */
  logLevel?: number;
  /** Initial verifier log buffer size in bytes (default 1 MiB); grown when the kernel asks. */
  logSize?: number;
  /**
   * Receives the verifier's log of a program it accepted (with `logLevel` 4, its statistics:
   * `processed N insns ...`, what `luabpf experiment` reports).
   */
  onLog?: (log: string) => void;
  /**
   * The BTF type id of the kernel function or tracepoint a tracing program (fentry, fexit,
   * tp_btf) attaches to, in vmlinux BTF unless `attachBtfObjFd` names a module's BTF.
   */
  attachBtfId?: number;
  /** A BTF object descriptor that `attachBtfId` refers to (0 or absent: vmlinux). */
  attachBtfObjFd?: number;
  /** `prog_flags`: `ProgFlag` bits of @luabpf/platform (e.g. strict alignment checks). */
  progFlags?: number;
}

/** Largest verifier log buffer the loader will allocate (the kernel's limit is 1 GiB). */
const MAX_LOG_SIZE = 256 * 1024 * 1024;

/**
 * BPF_PROG_LOAD: verifies and loads a program, returning its file descriptor. A rejection
 * throws {@link VerifierError} whose message quotes the verifier's log.
 *
 * Cost: as libbpf, a load that asks for no log (no `logLevel`, no `onLog`) is first tried
 * without one, and repeated with log level 1 only when the verifier refuses it, to quote it:
 * at level 1 the verifier prints every instruction it walks (into a log that Linux 6.4+ keeps
 * the tail of), which costs about ten times the verification itself on a 1M-instruction program.
 * When the log does not fit (ENOSPC, reported even for programs that verify), the load is
 * retried once with a buffer of the size the kernel reported in `log_true_size`, or four times larger.
 */
export function progLoad(options: ProgLoadOptions): number {
  const insnCount = options.insns.byteLength / 8;
  if (!Number.isInteger(insnCount) || insnCount === 0) {
    throw new RangeError(`program instructions must be a non-empty multiple of 8 bytes, got ${options.insns.byteLength}`);
  }
  const insns = nativeCopy(options.insns);
  const license = nativeCopy(Buffer.from(`${options.license}\0`, "utf8"));
  const logLevel = Math.max(1, options.logLevel ?? 1);
  const context = options.name ? `program ${options.name}` : undefined;
  if (options.logLevel === undefined && options.onLog === undefined) {
    const attr = progLoadAttr(options, insnCount, insns, license, 0, 0, 0n);
    const { ret } = rawBpf(BpfCommand.PROG_LOAD, attr);
    if (ret >= 0) return ret;
  }
  let logSize = options.logSize ?? 1024 * 1024;
  for (let attempt = 0; ; attempt++) {
    const log = nativeBuffer(logSize);
    const attr = progLoadAttr(options, insnCount, insns, license, logLevel, logSize, addressOf(log));
    const { ret, errno } = rawBpf(BpfCommand.PROG_LOAD, attr);
    if (ret >= 0) {
      options.onLog?.(decodeLog(log));
      return ret;
    }
    const trueSize = attr.readUInt32LE(140);
    if (errno === ENOSPC && attempt === 0 && logSize < MAX_LOG_SIZE) {
      logSize = Math.min(MAX_LOG_SIZE, Math.max(trueSize + 1, logSize * 4));
      continue;
    }
    const text = decodeLog(log);
    if (text.length === 0) throw new BpfError(BpfCommand.PROG_LOAD, errno, context);
    throw new VerifierError(BpfCommand.PROG_LOAD, errno, text, context);
  }
}

/** The `union bpf_attr` of a BPF_PROG_LOAD (log buffer at `logAddress`, 0 for none). */
function progLoadAttr(options: ProgLoadOptions, insnCount: number, insns: Buffer, license: Buffer, logLevel: number, logSize: number, logAddress: bigint): Buffer {
  const attr = nativeBuffer(144);
  attr.writeUInt32LE(options.type, 0);
  attr.writeUInt32LE(insnCount, 4);
  attr.writeBigUInt64LE(addressOf(insns), 8);
  attr.writeBigUInt64LE(addressOf(license), 16);
  attr.writeUInt32LE(logLevel, 24);
  attr.writeUInt32LE(logSize, 28);
  attr.writeBigUInt64LE(logAddress, 32);
  attr.writeUInt32LE(options.progFlags ?? 0, 44);
  if (options.name) writeObjectName(attr, 48, options.name);
  attr.writeUInt32LE(options.expectedAttachType ?? 0, 68);
  attr.writeUInt32LE(options.attachBtfId ?? 0, 108);
  attr.writeUInt32LE(options.attachBtfObjFd ?? 0, 112);
  return attr;
}

function decodeLog(log: Buffer): string {
  const end = log.indexOf(0);
  return log.toString("utf8", 0, end < 0 ? log.length : end);
}

// ---------------------------------------------------------------------------------------------
// BPF_PROG_TEST_RUN
//   0 prog_fd u32 | 4 retval u32 (out) | 8 data_size_in u32 | 12 data_size_out u32 (in/out)
//   16 data_in u64 | 24 data_out u64 | 32 repeat u32 | 36 duration u32 (out)
//   40 ctx_size_in u32 | 44 ctx_size_out u32 (in/out) | 48 ctx_in u64 | 56 ctx_out u64
//   64 flags u32 | 68 cpu u32 | 72 batch_size u32 | 76 padding → 80 bytes

/** Parameters of {@link progTestRun}. */
export interface TestRunOptions {
  /** The packet (network program types) or input data. */
  data: Uint8Array;
  /** Optional context passed in, e.g. a `struct __sk_buff` for skb programs. */
  ctxIn?: Uint8Array;
  /** How many times the kernel runs the program; 0 and 1 both mean once. */
  repeat?: number;
  /** Capacity of the output packet buffer; default input length + 4096 (room for XDP/tc growth). */
  dataOutSize?: number;
  /**
   * Ask for the context back (default true when `ctxIn` is given). Raw tracepoint programs
   * refuse any output buffer: run them with empty `data`, `repeat: 0` and `ctxOut: false`.
   */
  ctxOut?: boolean;
}

/** What {@link progTestRun} observed. */
export interface TestRunResult {
  /** The program's return value (r0), as an unsigned 32-bit number. */
  retval: number;
  /** Average run time per repetition in nanoseconds, as measured by the kernel. */
  duration: number;
  /** The packet after the program ran (it may have been rewritten, grown or shrunk). */
  dataOut: Uint8Array;
  /** The context after the run, when `ctxIn` was given. */
  ctxOut?: Uint8Array;
}

/** BPF_PROG_TEST_RUN: runs a loaded program on `data` inside the kernel without attaching it. */
export function progTestRun(fd: number, options: TestRunOptions): TestRunResult {
  const data = nativeCopy(options.data);
  // No data in, no data out: program types run on a context only refuse an output buffer.
  const dataOut = nativeBuffer(options.data.byteLength === 0 ? 0 : (options.dataOutSize ?? options.data.byteLength + 4096));
  const ctxIn = options.ctxIn ? nativeCopy(options.ctxIn) : undefined;
  const ctxOut = ctxIn && options.ctxOut !== false ? nativeBuffer(ctxIn.byteLength) : undefined;
  const attr = nativeBuffer(80);
  attr.writeUInt32LE(fd, 0);
  attr.writeUInt32LE(data.byteLength, 8);
  attr.writeUInt32LE(dataOut.byteLength, 12);
  attr.writeBigUInt64LE(addressOf(data), 16);
  attr.writeBigUInt64LE(addressOf(dataOut), 24);
  attr.writeUInt32LE(options.repeat ?? 1, 32);
  if (ctxIn) {
    attr.writeUInt32LE(ctxIn.byteLength, 40);
    attr.writeBigUInt64LE(addressOf(ctxIn), 48);
  }
  if (ctxOut) {
    attr.writeUInt32LE(ctxOut.byteLength, 44);
    attr.writeBigUInt64LE(addressOf(ctxOut), 56);
  }
  call(BpfCommand.PROG_TEST_RUN, attr);
  const result: TestRunResult = {
    retval: attr.readUInt32LE(4),
    duration: attr.readUInt32LE(36),
    dataOut: new Uint8Array(dataOut.buffer, dataOut.byteOffset, attr.readUInt32LE(12)),
  };
  if (ctxOut) result.ctxOut = new Uint8Array(ctxOut.buffer, ctxOut.byteOffset, attr.readUInt32LE(44));
  return result;
}

// ---------------------------------------------------------------------------------------------

/** Closes a map or program file descriptor; the kernel frees the object with its last reference. */
export function close(fd: number): void {
  closeSync(fd);
}
