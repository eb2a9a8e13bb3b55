/**
 * Kernel type information for the front end: the kernel's structs, unions, enums, typedefs
 * and function prototypes from its BTF (btf-ctypes.ts), tracepoint record layouts from
 * tracefs or BTF (tracepoints.ts), and a C scope in which `ffi` type names find kernel
 * types (`ffi.cast('struct task_struct *', p)`).
 *
 * The front end does no I/O: the caller (the CLI's `--btf FILE`, default
 * /sys/kernel/btf/vmlinux) passes the BTF and a function that reads tracefs formats.
 * The C types translated from a BTF index are shared by every compile given that index.
 */
import type { BtfIndex } from "@luabpf/elf";
import type { CRecord, CType } from "@luabpf/ir";
import { CScope, builtinCScope, type CConstant, type CTagged } from "../ctypes/index.js";
import { BtfCTypes, type KernelFunction, type KernelParam } from "./btf-ctypes.js";
import { parseTracepointFormat, tracepointFromBtf, type TracepointFormat } from "./tracepoints.js";

export { BtfCTypes, type KernelFunction, type KernelParam } from "./btf-ctypes.js";
export { describeFields, parseTracepointFormat, TracepointFormatError, tracepointFromBtf, type TracepointField, type TracepointFormat } from "./tracepoints.js";

/** Where the front end gets kernel types from (`compileLua`'s `kernel` option). */
export interface KernelTypeSource {
  /** The kernel's BTF (e.g. /sys/kernel/btf/vmlinux, or a file given with `--btf`). */
  readonly btf?: BtfIndex;
  /** Names the BTF's origin in messages ("/sys/kernel/btf/vmlinux"). */
  readonly btfOrigin?: string;
  /** The text of tracefs' `events/<category>/<name>/format`, or undefined when unavailable. */
  readonly tracepointFormat?: (category: string, name: string) => string | undefined;
}

/**
 * A C scope that falls back to the kernel's BTF for tags and typedefs its parents do not
 * know, and for enumerators as constants (`TASK_COMM_LEN` is not one: it is a #define).
 */
class KernelCScope extends CScope {
  constructor(
    /** The kernel's types, read on the first name the parents do not know. */
    private readonly kernelOf: () => BtfCTypes | undefined,
    parent: CScope,
  ) {
    super(parent);
  }

  override lookupTag(name: string): CTagged | undefined {
    const found = super.lookupTag(name);
    if (found) return found;
    const kernel = this.kernelOf();
    if (!kernel) return undefined;
    const t = kernel.record(name) ?? kernel.record(name, true) ?? kernel.enumeration(name);
    if (t) this.defineTag(name, t);
    return t;
  }

  override lookupTypedef(name: string): CType | undefined {
    const found = super.lookupTypedef(name);
    if (found) return found;
    const t = this.kernelOf()?.typedef(name);
    if (t) this.defineTypedef(name, t);
    return t;
  }

  override lookupConstant(name: string): CConstant | undefined {
    const found = super.lookupConstant(name);
    if (found) return found;
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) return undefined; // enumerators are upper case by kernel convention
    return this.kernelOf()?.enumerator(name);
  }
}

/**
 * The C types of each BTF index, for as long as the index lives. Translation is a function
 * of the index alone (and its results are never modified), so compiles given the same
 * index — the CLI keeps one per unchanged BTF file — share one translation.
 */
const translations = new WeakMap<BtfIndex, BtfCTypes>();

function translationOf(btf: BtfIndex): BtfCTypes {
  let t = translations.get(btf);
  if (!t) translations.set(btf, (t = new BtfCTypes(btf)));
  return t;
}

/** Kernel types as the front end asks for them. */
export class KernelTypes {
  private ctypesCache: BtfCTypes | null | undefined;
  private readonly tracepoints = new Map<string, TracepointFormat | undefined>();
  private scopeCache: CScope | undefined;

  constructor(private readonly source: KernelTypeSource) {}

  /** The kernel's BTF as C types (read from the source on first use), or undefined without BTF. */
  get ctypes(): BtfCTypes | undefined {
    if (this.ctypesCache === undefined) {
      const btf = this.source.btf;
      this.ctypesCache = btf ? translationOf(btf) : null;
    }
    return this.ctypesCache ?? undefined;
  }

  /** Where the BTF came from, for messages; undefined without BTF. */
  get btfOrigin(): string | undefined {
    return this.ctypes ? (this.source.btfOrigin ?? "the kernel's BTF") : undefined;
  }

  /** True when `t` is a record from the kernel's BTF (accesses are CO-RE relocatable). */
  isKernelRecord(t: CType): t is CRecord {
    return this.ctypes?.isKernelRecord(t) ?? false;
  }

  /** A C scope whose names fall back to the kernel's (the builtin scope when there is no BTF). */
  scope(): CScope {
    this.scopeCache ??= new KernelCScope(() => this.ctypes, builtinCScope());
    return this.scopeCache;
  }

  /** Kernel function `name`'s prototype, or undefined (no BTF, or no such function). */
  func(name: string): KernelFunction | undefined {
    return this.ctypes?.func(name);
  }

  /** Raw tracepoint `name`'s arguments (from `btf_trace_<name>`), or undefined. */
  rawTracepoint(name: string): KernelParam[] | undefined {
    return this.ctypes?.rawTracepoint(name);
  }

  /** Tracepoint `category/name`'s record: tracefs first (exact), then BTF; undefined when neither knows it. */
  tracepoint(category: string, name: string): TracepointFormat | undefined {
    const key = `${category}/${name}`;
    if (this.tracepoints.has(key)) return this.tracepoints.get(key);
    const text = this.source.tracepointFormat?.(category, name);
    const format = text !== undefined ? parseTracepointFormat(text, category, name, this.scope()) : this.ctypes ? tracepointFromBtf(this.ctypes, category, name) : undefined;
    this.tracepoints.set(key, format);
    return format;
  }
}
