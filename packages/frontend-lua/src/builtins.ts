/**
 * The declarative tables of the dialect's library: program kinds (`bpf.socket`, ...),
 * map kinds and key/value C types (`bpf.map`), and the helper-calling builtins available
 * in program bodies (`time()`, ...). What a program kind, map kind or helper *is* comes
 * from the platform table (@luabpf/platform); these tables say only what the dialect
 * calls them and how a declaration is written.
 */
import { i16, i32, i64, i8, InternalError, type IntType, type MapKind } from "@luabpf/ir";
import { CONTEXT_STRUCTS, PROGRAM_TYPES, sectionRuleByPrefix, type HelperName, type ProgramTypeName } from "@luabpf/platform";
import { contextView, type ContextLayout } from "./dissectors.js";

/** A kind of program declaration, `bpf.<name>(...)`. */
export interface ProgramKind {
  /** libbpf program type. */
  readonly type: ProgramTypeName;
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

/**
 * A program kind whose programs go into section `prefix` (with `/symbol` appended when it
 * needs a symbol); the program type, context and packet access follow from the platform's
 * section rule for `prefix`.
 */
function programKind(prefix: string, form: "symbol" | "optional name"): ProgramKind {
  const rule = sectionRuleByPrefix(prefix);
  if (!rule) throw new InternalError(`no section rule for ${prefix}`);
  const type = PROGRAM_TYPES[rule.type];
  const struct = type.context === undefined ? undefined : CONTEXT_STRUCTS[type.context];
  if (!struct) throw new InternalError(`no context layout for program type ${type.name}`);
  const needsSymbol = form === "symbol";
  return {
    type: type.name,
    section: needsSymbol ? (s) => `${prefix}/${s}` : () => prefix,
    needsSymbol,
    optionalName: !needsSymbol,
    context: contextView(struct, type.legacyPacketLoads),
    packetAccess: type.legacyPacketLoads,
  };
}

export const PROGRAM_KINDS: Readonly<Record<string, ProgramKind>> = {
  socket: programKind("socket", "optional name"),
  tc: programKind("tc", "optional name"),
  xdp: programKind("xdp", "optional name"),
  kprobe: programKind("kprobe", "symbol"),
  kretprobe: programKind("kretprobe", "symbol"),
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
export const HELPER_BUILTINS: Readonly<Record<string, { readonly helper: HelperName; readonly description: string }>> = {
  time: { helper: "ktime_get_ns", description: "monotonic time in nanoseconds" },
  cpu: { helper: "get_smp_processor_id", description: "the current CPU" },
  pid_tgid: { helper: "get_current_pid_tgid", description: "tgid << 32 | pid" },
};
