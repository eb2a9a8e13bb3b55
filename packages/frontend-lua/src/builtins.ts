/**
 * The program kinds of the dialect (`bpf.socket`, `bpf.kprobe`, ...) and bcc's map
 * defaults. What a program kind *is* — its program type, context struct, packet access —
 * comes from the platform table (@luabpf/platform); this table says only what the dialect
 * calls it and which section prefix its declarations use. How declarations are written is
 * toplevel/declarations.ts.
 */
import { InternalError } from "@luabpf/ir";
import { CONTEXT_STRUCTS, PROGRAM_TYPES, sectionRuleByPrefix, type ProgramTypeName } from "@luabpf/platform";
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
  /** Programs read packets (`pkt.*`): socket filters with classic loads, tc and XDP directly. */
  readonly packetAccess: boolean;
  /**
   * How `pkt.*` reads the packet: classic `LD_ABS`/`LD_IND` loads, or direct loads through
   * the context's `data` pointer after a check against `data_end`.
   */
  readonly packet: "classic" | "direct" | undefined;
  /** Packet fields may be assigned (`pkt.ip.ttl = 1`): direct access that may write. */
  readonly packetWrites: boolean;
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
  // Contexts without a layout in the platform table (a tracepoint's is its format, a raw
  // tracepoint's the traced function's arguments) have no fields in the dialect yet.
  const struct = (type.context !== undefined ? CONTEXT_STRUCTS[type.context] : undefined) ?? { name: type.context ?? `${prefix} context`, size: 0, fields: [] };
  const needsSymbol = form === "symbol";
  return {
    type: type.name,
    section: needsSymbol ? (s) => `${prefix}/${s}` : () => prefix,
    needsSymbol,
    optionalName: !needsSymbol,
    context: contextView(struct, type.legacyPacketLoads || type.directPacketAccess !== undefined),
    packetAccess: type.legacyPacketLoads || type.directPacketAccess !== undefined,
    // Where both are allowed (tc), classic loads: they need no bounds checks (smaller code,
    // docs/performance.md), and helper calls (bpf_skb_store_bytes, the checksum helpers)
    // leave them valid, where they would invalidate every packet pointer.
    packet: type.legacyPacketLoads ? "classic" : type.directPacketAccess !== undefined ? "direct" : undefined,
    packetWrites: type.directPacketAccess === "write",
  };
}

export const PROGRAM_KINDS: Readonly<Record<string, ProgramKind>> = {
  socket: programKind("socket", "optional name"),
  tc: programKind("tc", "optional name"),
  xdp: programKind("xdp", "optional name"),
  kprobe: programKind("kprobe", "symbol"),
  kretprobe: programKind("kretprobe", "symbol"),
  uprobe: programKind("uprobe", "symbol"),
  uretprobe: programKind("uretprobe", "symbol"),
  tracepoint: programKind("tracepoint", "symbol"),
  raw_tracepoint: programKind("raw_tracepoint", "symbol"),
  fentry: programKind("fentry", "symbol"),
  fexit: programKind("fexit", "symbol"),
  tp_btf: programKind("tp_btf", "symbol"),
};

/** bcc's defaults for omitted `bpf.map` arguments. */
export const MAP_DEFAULTS = { maxEntries: 4096, key: "uint32_t", value: "uint32_t" } as const;
