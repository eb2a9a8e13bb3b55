/**
 * Kernel type information for the front end: the kernel's structs, unions, enums, typedefs
 * and function prototypes from its BTF (btf-ctypes.ts), tracepoint record layouts from
 * tracefs or BTF (tracepoints.ts), and a C scope in which `ffi` type names find kernel
 * types (`ffi.cast('struct task_struct *', p)`).
 *
 * The front end does no I/O: the caller (the CLI's `--btf FILE`, default
 * /sys/kernel/btf/vmlinux) passes the BTF and a function that reads tracefs formats.
 * The C types translated from a BTF index are shared by every compile given that index,
 * and a tracefs format text parsed before is not parsed again (KernelTypes.tracepoint).
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
  /**
   * Names the C parser declared here (a `struct foo` the kernel's types do not know, an
   * enum's constants): this compile's own objects.
   */
  private declared: Set<string> | undefined;
  /** Answers that came from the kernel's types, or from asking for them (see {@link KernelTypes.tracepoint}). */
  kernelAnswers = 0;
  /** Declarations of names of {@link declared}, and answers that were one of them. */
  declaredAnswers = 0;

  constructor(
    /** The kernel's types, read on the first name the parents do not know. */
    private readonly kernelOf: () => BtfCTypes | undefined,
    parent: CScope,
  ) {
    super(parent);
  }

  /** Whether the parser declared a name here: until then the scope holds nothing but what it found in the kernel's types. */
  get hasDeclarations(): boolean {
    return this.declared !== undefined;
  }

  override lookupTag(name: string): CTagged | undefined {
    // The builtin parent has no tags: a tag found is this scope's own.
    const found = super.lookupTag(name);
    if (found) {
      if (this.declared?.has(`tag ${name}`)) this.declaredAnswers++;
      else this.kernelAnswers++;
      return found;
    }
    this.kernelAnswers++;
    const kernel = this.kernelOf();
    if (!kernel) return undefined;
    const t = kernel.record(name) ?? kernel.record(name, true) ?? kernel.enumeration(name);
    if (t) super.defineTag(name, t);
    return t;
  }

  override ownTag(name: string): CTagged | undefined {
    const found = super.ownTag(name);
    if (found) {
      if (this.declared?.has(`tag ${name}`)) this.declaredAnswers++;
      else this.kernelAnswers++;
    }
    return found;
  }

  /** A tag the C parser declares (the kernel's are recorded by {@link lookupTag} itself). */
  override defineTag(name: string, t: CTagged): void {
    (this.declared ??= new Set()).add(`tag ${name}`);
    this.declaredAnswers++;
    super.defineTag(name, t);
  }

  /** A typedef the C parser declares (the kernel's are recorded by {@link lookupTypedef} itself). */
  override defineTypedef(name: string, t: CType): void {
    (this.declared ??= new Set()).add(`typedef ${name}`);
    this.declaredAnswers++;
    super.defineTypedef(name, t);
  }

  /** A constant the C parser declares (an enum's). */
  override defineConstant(name: string, c: CConstant): void {
    (this.declared ??= new Set()).add(`constant ${name}`);
    this.declaredAnswers++;
    super.defineConstant(name, c);
  }

  override lookupTypedef(name: string): CType | undefined {
    // This scope's own typedefs are the kernel's, found before (or declared); the parent's are the builtin ones.
    const own = super.ownTypedef(name);
    if (own) {
      if (this.declared?.has(`typedef ${name}`)) this.declaredAnswers++;
      else this.kernelAnswers++;
      return own;
    }
    const builtin = this.parent?.lookupTypedef(name);
    if (builtin) return builtin;
    this.kernelAnswers++;
    const t = this.kernelOf()?.typedef(name);
    if (t) super.defineTypedef(name, t);
    return t;
  }

  override lookupConstant(name: string): CConstant | undefined {
    // The builtin parent has no constants: a constant found is one the parser declared here.
    const found = super.lookupConstant(name);
    if (found) {
      this.declaredAnswers++;
      return found;
    }
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) return undefined; // enumerators are upper case by kernel convention
    this.kernelAnswers++;
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

/**
 * Tracepoint records parsed from tracefs format files before, by category, name and the
 * file's text (see {@link KernelTypes.tracepoint}): the record whose parse asked the
 * kernel's types nothing, or the records by the BTF translation the parse asked (`NO_BTF`:
 * none). At most {@link FORMATS_KEPT} texts (then the table starts again).
 */
const parsedFormats = new Map<string, { alone?: TracepointFormat; byKernel?: WeakMap<object, TracepointFormat> }>();
const NO_BTF = {};
const FORMATS_KEPT = 256;

/** Kernel types as the front end asks for them. */
export class KernelTypes {
  private ctypesCache: BtfCTypes | null | undefined;
  private readonly tracepoints = new Map<string, TracepointFormat | undefined>();
  private scopeCache: KernelCScope | undefined;

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

  /**
   * Tracepoint `category/name`'s record: tracefs first (exact), then BTF; undefined when neither knows it.
   *
   * The format file is read by every compile (it may change), but a text parsed before is
   * not parsed again: the record is a function of the text and the answers the parse got
   * from the scope, which are the builtin types' (fixed), the kernel's (a function of the
   * BTF translation: shared by every compile given that BTF) or a tag the parse declared
   * (`struct foo *` of a struct nobody knows: each compile's own object). A parse that
   * declared or met such a tag is not kept. One that asked the kernel's types is kept by
   * translation; it is looked up only where the parse would ask them too (the translation
   * already read, or the scope holding nothing of its own yet: then the same text asks the
   * same first name the builtin types do not know), so a compile reads the kernel's BTF
   * exactly when it did without the table. test/kernel-types.test.ts compares kept records
   * with fresh parses.
   */
  tracepoint(category: string, name: string): TracepointFormat | undefined {
    const key = `${category}/${name}`;
    if (this.tracepoints.has(key)) return this.tracepoints.get(key);
    const text = this.source.tracepointFormat?.(category, name);
    const format = text !== undefined ? this.parseFormat(text, category, name) : this.ctypes ? tracepointFromBtf(this.ctypes, category, name) : undefined;
    this.tracepoints.set(key, format);
    return format;
  }

  /** {@link parseTracepointFormat} in this compile's kernel scope, or the record of an earlier parse of the same text (see {@link tracepoint}). */
  private parseFormat(text: string, category: string, name: string): TracepointFormat {
    this.scope();
    const scope = this.scopeCache!;
    const key = `${category}/${name}\n${text}`;
    const kept = parsedFormats.get(key);
    if (kept?.alone) return kept.alone;
    if (kept?.byKernel && (this.ctypesCache !== undefined || !scope.hasDeclarations)) {
      const found = kept.byKernel.get(this.ctypes ?? NO_BTF);
      if (found) return found;
    }
    const kernelAnswers = scope.kernelAnswers;
    const declaredAnswers = scope.declaredAnswers;
    const format = parseTracepointFormat(text, category, name, scope);
    if (scope.declaredAnswers !== declaredAnswers) return format;
    let entry = kept;
    if (!entry) {
      if (parsedFormats.size >= FORMATS_KEPT) parsedFormats.clear();
      parsedFormats.set(key, (entry = {}));
    }
    if (scope.kernelAnswers === kernelAnswers) entry.alone = format;
    else (entry.byKernel ??= new WeakMap()).set(this.ctypes ?? NO_BTF, format);
    return format;
  }
}
