// bpf(2) commands about kernel objects rather than single elements: BTF loading, pinning in
// bpffs and getting pinned objects back, object info, ids → descriptors, batched lookups and
// the two attach commands that create links (BPF_LINK_CREATE, BPF_RAW_TRACEPOINT_OPEN).
// Same conventions as syscall.ts: one zeroed attr per call, offsets written next to each
// command (checked against this kernel's `union bpf_attr` with offsetof), errors as BpfError.
import { BpfCommand } from "@luabpf/platform";
import { BpfError } from "./errors.js";
import { addressOf, nativeBuffer, nativeCopy, rawBpf } from "./ffi.js";
import { call } from "./syscall.js";

const ENOENT = 2;
const ENOSPC = 28;

// ---------------------------------------------------------------------------------------------
// BPF_BTF_LOAD
//   0 btf u64 | 8 btf_log_buf u64 | 16 btf_size u32 | 20 btf_log_size u32 | 24 btf_log_level u32
//   28 btf_log_true_size u32 → 32 bytes

/**
 * BPF_BTF_LOAD: hands a `.BTF` blob to the kernel and returns the BTF object's descriptor.
 * A rejection is retried with a log so the error quotes the kernel's reason.
 */
export function btfLoad(bytes: Uint8Array, context?: string): number {
  const data = nativeCopy(bytes);
  const attempt = (logSize: number): { ret: number; errno: number; log: string } => {
    const log = nativeBuffer(logSize);
    const attr = nativeBuffer(32);
    attr.writeBigUInt64LE(addressOf(data), 0);
    attr.writeUInt32LE(data.byteLength, 16);
    if (logSize > 0) {
      attr.writeBigUInt64LE(addressOf(log), 8);
      attr.writeUInt32LE(logSize, 20);
      attr.writeUInt32LE(1, 24);
    }
    const { ret, errno } = rawBpf(BpfCommand.BTF_LOAD, attr);
    const end = log.indexOf(0);
    return { ret, errno, log: log.toString("utf8", 0, end < 0 ? log.length : end) };
  };
  const first = attempt(0);
  if (first.ret >= 0) return first.ret;
  const logged = attempt(64 * 1024);
  if (logged.ret >= 0) return logged.ret;
  const reason = logged.log.trim().split("\n").slice(-3).join("; ");
  throw new BpfError(BpfCommand.BTF_LOAD, logged.errno, [context, reason].filter(Boolean).join(": ") || undefined);
}

// ---------------------------------------------------------------------------------------------
// BPF_MAP_FREEZE
//   0 map_fd u32 → 4 bytes

/**
 * BPF_MAP_FREEZE: no further writes from user space; with `BPF_F_RDONLY_PROG` the verifier
 * then takes the map's contents as constants (a `.rodata` section, `bpf_snprintf` formats).
 */
export function mapFreeze(fd: number, context?: string): void {
  const attr = nativeBuffer(4);
  attr.writeUInt32LE(fd, 0);
  call(BpfCommand.MAP_FREEZE, attr, context);
}

// ---------------------------------------------------------------------------------------------
// BPF_OBJ_PIN, BPF_OBJ_GET
//   0 pathname u64 | 8 bpf_fd u32 | 12 file_flags u32 | 16 path_fd s32 → 20 bytes

/** BPF_OBJ_PIN: pins a map, program or link descriptor at `path` in a bpffs mount. */
export function objPin(fd: number, path: string): void {
  const name = nativeCopy(Buffer.from(`${path}\0`, "utf8"));
  const attr = nativeBuffer(20);
  attr.writeBigUInt64LE(addressOf(name), 0);
  attr.writeUInt32LE(fd, 8);
  call(BpfCommand.OBJ_PIN, attr, `pin ${path}`);
}

/** BPF_OBJ_GET: a new descriptor for the object pinned at `path`. */
export function objGet(path: string): number {
  const name = nativeCopy(Buffer.from(`${path}\0`, "utf8"));
  const attr = nativeBuffer(20);
  attr.writeBigUInt64LE(addressOf(name), 0);
  return call(BpfCommand.OBJ_GET, attr, path);
}

// ---------------------------------------------------------------------------------------------
// BPF_OBJ_GET_INFO_BY_FD
//   0 bpf_fd u32 | 4 info_len u32 (in/out) | 8 info u64 → 16 bytes

/**
 * BPF_OBJ_GET_INFO_BY_FD: the kernel's `struct bpf_{map,prog,link,btf}_info` of a descriptor,
 * `size` bytes (the kernel fills what it knows and zeroes nothing beyond). `prepare` may store
 * pointers into the info buffer first (e.g. where the kernel should copy raw BTF).
 */
export function objInfo(fd: number, size: number, prepare?: (info: Buffer) => void): Buffer {
  const info = nativeBuffer(size);
  prepare?.(info);
  const attr = nativeBuffer(16);
  attr.writeUInt32LE(fd, 0);
  attr.writeUInt32LE(size, 4);
  attr.writeBigUInt64LE(addressOf(info), 8);
  call(BpfCommand.OBJ_GET_INFO_BY_FD, attr);
  return info;
}

/** What the kernel says about a map (`struct bpf_map_info`). */
export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  /** Id of the map's BTF object; 0 when it was created without BTF. */
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
}

// struct bpf_map_info: 0 type | 4 id | 8 key_size | 12 value_size | 16 max_entries
//   20 map_flags | 24 name[16] | 64 btf_id | 68 btf_key_type_id | 72 btf_value_type_id → 104
/** The {@link MapInfo} of a map descriptor. */
export function mapInfo(fd: number): MapInfo {
  const info = objInfo(fd, 104);
  const nameEnd = info.indexOf(0, 24);
  return {
    type: info.readUInt32LE(0),
    id: info.readUInt32LE(4),
    keySize: info.readUInt32LE(8),
    valueSize: info.readUInt32LE(12),
    maxEntries: info.readUInt32LE(16),
    flags: info.readUInt32LE(20),
    name: info.toString("latin1", 24, nameEnd < 0 || nameEnd > 40 ? 40 : nameEnd),
    btfId: info.readUInt32LE(64),
    btfKeyTypeId: info.readUInt32LE(68),
    btfValueTypeId: info.readUInt32LE(72),
  };
}

// struct bpf_link_info: 0 type | 4 id | 8 prog_id → 64 bytes with the type-specific union
/** The type, id and program id of a link descriptor. */
export function linkInfo(fd: number): { type: number; id: number; progId: number } {
  const info = objInfo(fd, 64);
  return { type: info.readUInt32LE(0), id: info.readUInt32LE(4), progId: info.readUInt32LE(8) };
}

/**
 * The raw `.BTF` bytes of a BTF object: bpf_btf_info is read twice, first for the size, then
 * with a buffer (0 btf u64 | 8 btf_size u32 | 12 id u32 → 32 bytes).
 */
export function btfRawData(btfFd: number): Uint8Array {
  const size = objInfo(btfFd, 32).readUInt32LE(8);
  const data = nativeBuffer(size);
  objInfo(btfFd, 32, (info) => {
    info.writeBigUInt64LE(addressOf(data), 0);
    info.writeUInt32LE(size, 8);
  });
  return new Uint8Array(data.buffer, data.byteOffset, size);
}

// ---------------------------------------------------------------------------------------------
// BPF_{MAP,PROG,BTF,LINK}_GET_FD_BY_ID
//   0 id u32 | 4 next_id u32 | 8 open_flags u32 → 12 bytes

/** A descriptor for the BTF object with kernel id `id`. */
export function btfFdById(id: number): number {
  const attr = nativeBuffer(12);
  attr.writeUInt32LE(id, 0);
  return call(BpfCommand.BTF_GET_FD_BY_ID, attr, `BTF id ${id}`);
}

/** A descriptor for the link with kernel id `id`. */
export function linkFdById(id: number): number {
  const attr = nativeBuffer(12);
  attr.writeUInt32LE(id, 0);
  return call(BpfCommand.LINK_GET_FD_BY_ID, attr, `link id ${id}`);
}

/** Every link id the kernel knows (BPF_LINK_GET_NEXT_ID), for tests and diagnostics. */
export function linkIds(): number[] {
  const ids: number[] = [];
  let start = 0;
  for (;;) {
    const attr = nativeBuffer(12);
    attr.writeUInt32LE(start, 0);
    const { ret, errno } = rawBpf(BpfCommand.LINK_GET_NEXT_ID, attr);
    if (ret < 0) {
      if (errno === ENOENT) return ids;
      throw new BpfError(BpfCommand.LINK_GET_NEXT_ID, errno);
    }
    start = attr.readUInt32LE(4);
    ids.push(start);
  }
}

// ---------------------------------------------------------------------------------------------
// BPF_MAP_LOOKUP_BATCH
//   0 in_batch u64 | 8 out_batch u64 | 16 keys u64 | 24 values u64 | 32 count u32 (in/out)
//   36 map_fd u32 | 40 elem_flags u64 | 48 flags u64 → 56 bytes

/**
 * BPF_MAP_LOOKUP_BATCH: every key and value of a map in as few calls as `batchSize` allows.
 * `valueSize` is the bytes per value as lookups see them (the whole per-CPU block for per-CPU
 * maps). The batch cursor is opaque; its size is the key size, which is enough for hash maps
 * (a bucket index) and arrays (an index) alike. Entries are in the kernel's order.
 *
 * @throws BpfError with EINVAL/ENOTSUPP for map types without batch support
 */
export function mapLookupBatch(
  fd: number,
  keySize: number,
  valueSize: number,
  batchSize = 256,
): Array<[Uint8Array, Uint8Array]> {
  const entries: Array<[Uint8Array, Uint8Array]> = [];
  const cursorSize = Math.max(keySize, 4);
  let inBatch: Buffer | undefined;
  for (;;) {
    const outBatch = nativeBuffer(cursorSize);
    const keys = nativeBuffer(keySize * batchSize);
    const values = nativeBuffer(valueSize * batchSize);
    const attr = nativeBuffer(56);
    attr.writeBigUInt64LE(inBatch ? addressOf(inBatch) : 0n, 0);
    attr.writeBigUInt64LE(addressOf(outBatch), 8);
    attr.writeBigUInt64LE(addressOf(keys), 16);
    attr.writeBigUInt64LE(addressOf(values), 24);
    attr.writeUInt32LE(batchSize, 32);
    attr.writeUInt32LE(fd, 36);
    const { ret, errno } = rawBpf(BpfCommand.MAP_LOOKUP_BATCH, attr);
    if (ret < 0 && errno !== ENOENT) {
      if (errno === ENOSPC && batchSize < 1 << 16) return mapLookupBatch(fd, keySize, valueSize, batchSize * 4);
      throw new BpfError(BpfCommand.MAP_LOOKUP_BATCH, errno);
    }
    const count = attr.readUInt32LE(32);
    for (let i = 0; i < count; i++) {
      entries.push([
        new Uint8Array(keys.buffer.slice(keys.byteOffset + i * keySize, keys.byteOffset + (i + 1) * keySize)),
        new Uint8Array(values.buffer.slice(values.byteOffset + i * valueSize, values.byteOffset + (i + 1) * valueSize)),
      ]);
    }
    if (ret < 0) return entries; // ENOENT: the last batch
    inBatch = outBatch;
  }
}

// ---------------------------------------------------------------------------------------------
// BPF_LINK_CREATE
//   0 prog_fd u32 | 4 target_fd / target_ifindex u32 | 8 attach_type u32 | 12 flags u32
//   16 target_btf_id u32 | perf_event.bpf_cookie u64 | tcx.relative_fd u32
//   24 tcx.expected_revision u64 | tracing.cookie u64 → 64 bytes (room for every variant)

/** Parameters of {@link linkCreate}. */
export interface LinkCreateOptions {
  progFd: number;
  /** A {@link @luabpf/platform!AttachType} value. */
  attachType: number;
  /** The target: an ifindex (XDP, tcx), a perf event descriptor (BPF_PERF_EVENT), 0 for tracing. */
  target: number;
  /** Attach-type specific flags (`XDP_FLAGS_*`, `BPF_F_BEFORE`...). */
  flags?: number;
  /** Tracing programs: the BTF id of the target, when not given at load time. */
  targetBtfId?: number;
  /** A cookie the program reads with bpf_get_attach_cookie (perf event links). */
  cookie?: bigint;
}

/** BPF_LINK_CREATE: attaches a program and returns the link's descriptor (closing it detaches). */
export function linkCreate(options: LinkCreateOptions, context?: string): number {
  const attr = nativeBuffer(64);
  attr.writeUInt32LE(options.progFd, 0);
  attr.writeUInt32LE(options.target, 4);
  attr.writeUInt32LE(options.attachType, 8);
  attr.writeUInt32LE(options.flags ?? 0, 12);
  if (options.targetBtfId !== undefined) attr.writeUInt32LE(options.targetBtfId, 16);
  else if (options.cookie !== undefined) attr.writeBigUInt64LE(options.cookie, 16);
  return call(BpfCommand.LINK_CREATE, attr, context);
}

/** BPF_LINK_DETACH: detaches a link while its descriptor stays open (it then reports "defunct"). */
export function linkDetach(linkFd: number): void {
  const attr = nativeBuffer(4);
  attr.writeUInt32LE(linkFd, 0);
  call(BpfCommand.LINK_DETACH, attr);
}

// ---------------------------------------------------------------------------------------------
// BPF_RAW_TRACEPOINT_OPEN
//   0 name u64 | 8 prog_fd u32 | 12 pad | 16 cookie u64 → 24 bytes

/**
 * BPF_RAW_TRACEPOINT_OPEN: attaches a raw tracepoint program to tracepoint `name`, or (name
 * undefined) a tracing program to the target it was loaded for. Returns a link descriptor.
 */
export function rawTracepointOpen(progFd: number, name: string | undefined, context?: string): number {
  const text = name === undefined ? undefined : nativeCopy(Buffer.from(`${name}\0`, "utf8"));
  const attr = nativeBuffer(24);
  attr.writeBigUInt64LE(text ? addressOf(text) : 0n, 0);
  attr.writeUInt32LE(progFd, 8);
  return call(BpfCommand.RAW_TRACEPOINT_OPEN, attr, context);
}
