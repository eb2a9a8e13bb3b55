/**
 * The declarative tables of the dialect's library: program kinds (`bpf.socket`, ...),
 * map kinds and key/value C types (`bpf.map`), and the helper-calling builtins available
 * in program bodies (`time()`, ...).
 */
import { i16, i32, i64, i8, type IntType, type MapKind } from "@luabpf/ir";
import { PT_REGS, SK_BUFF, XDP_MD, type ContextLayout } from "./dissectors.js";

/** A kind of program declaration, `bpf.<name>(...)`. */
export interface ProgramKind {
  /** libbpf program type. */
  readonly type: string;
  /** The ELF section; `symbol` is the kprobe target. */
  section(symbol: string): string;
  /** The first argument is a kernel symbol (`bpf.kprobe('do_sys_open', fn)`). */
  readonly needsSymbol: boolean;
  /** An optional leading interface name is accepted and ignored (`bpf.socket('eth0', fn)`). */
  readonly optionalName: boolean;
  readonly context: ContextLayout;
  /** Classic packet loads (`pkt.*`) are allowed (socket filters and tc only). */
  readonly packetAccess: boolean;
}

export const PROGRAM_KINDS: Readonly<Record<string, ProgramKind>> = {
  socket: { type: "socket_filter", section: () => "socket", needsSymbol: false, optionalName: true, context: SK_BUFF, packetAccess: true },
  tc: { type: "sched_cls", section: () => "tc", needsSymbol: false, optionalName: true, context: SK_BUFF, packetAccess: true },
  xdp: { type: "xdp", section: () => "xdp", needsSymbol: false, optionalName: true, context: XDP_MD, packetAccess: false },
  kprobe: { type: "kprobe", section: (s) => `kprobe/${s}`, needsSymbol: true, optionalName: false, context: PT_REGS, packetAccess: false },
  kretprobe: { type: "kprobe", section: (s) => `kretprobe/${s}`, needsSymbol: true, optionalName: false, context: PT_REGS, packetAccess: false },
};

/** Map kinds `bpf.map` accepts. */
export const MAP_TYPES: ReadonlySet<MapKind> = new Set<MapKind>(["array", "hash", "percpu_array", "percpu_hash", "lru_hash"]);

/** bcc's defaults for omitted `bpf.map` arguments. */
export const MAP_DEFAULTS = { maxEntries: 4096, key: "uint32_t", value: "uint32_t" } as const;

/** An integer C type: its IR width and whether loads sign-extend it. */
export interface CType {
  readonly type: IntType;
  readonly signed: boolean;
}

const ctype = (type: IntType, signed: boolean): CType => ({ type, signed });

/** The C type names accepted for map keys and values. */
export const C_TYPES: Readonly<Record<string, CType>> = {
  uint8_t: ctype(i8, false),
  uint16_t: ctype(i16, false),
  uint32_t: ctype(i32, false),
  uint64_t: ctype(i64, false),
  int8_t: ctype(i8, true),
  int16_t: ctype(i16, true),
  int32_t: ctype(i32, true),
  int64_t: ctype(i64, true),
  u8: ctype(i8, false),
  u16: ctype(i16, false),
  u32: ctype(i32, false),
  u64: ctype(i64, false),
  s8: ctype(i8, true),
  s16: ctype(i16, true),
  s32: ctype(i32, true),
  s64: ctype(i64, true),
  char: ctype(i8, true),
  "unsigned char": ctype(i8, false),
  short: ctype(i16, true),
  "unsigned short": ctype(i16, false),
  int: ctype(i32, true),
  "unsigned int": ctype(i32, false),
  unsigned: ctype(i32, false),
  long: ctype(i64, true),
  "unsigned long": ctype(i64, false),
  "long long": ctype(i64, true),
  "unsigned long long": ctype(i64, false),
};

/** Builtin functions of program bodies that call an eBPF helper without arguments. */
export const HELPER_BUILTINS: Readonly<Record<string, { readonly helper: number; readonly description: string }>> = {
  time: { helper: 5, description: "bpf_ktime_get_ns: monotonic time in nanoseconds" },
  cpu: { helper: 8, description: "bpf_get_smp_processor_id: the current CPU" },
  pid_tgid: { helper: 14, description: "bpf_get_current_pid_tgid: tgid << 32 | pid" },
};

/** eBPF helper ids used by map accesses. */
export const HELPER = { mapLookup: 1, mapUpdate: 2, mapDelete: 3 } as const;
