/**
 * The kernel's types as the front end's C types: BTF (from a `BtfIndex` of @luabpf/elf,
 * usually /sys/kernel/btf/vmlinux) translated on demand into the `CType` model of
 * @luabpf/ir that `ffi` declarations also produce, so `ffi.cast('struct task_struct *', p)`
 * and a tracepoint's record are handled by the same code as a user's `ffi.cdef` struct.
 *
 * Translation is lazy, like the index it reads: a record's members, a pointer's target and
 * a typedef's target are getters that translate on first use (struct task_struct reaches a
 * large part of the kernel's ~130,000 types; a program touches a few dozen). Each BTF type
 * becomes one CType object (cached by identity), so types compare with `===` and cycles
 * through pointers need no care. Records translated from BTF are remembered as *kernel*
 * records: accesses through them compile to CO-RE relocations.
 *
 * BTF has no alignment; a record's alignment is the largest of its members', or 1 when a
 * member sits at an offset its type's alignment does not divide (a packed record).
 * Qualifiers and type tags are dropped (the C model drops them too); floats and integers
 * wider than 8 bytes become arrays of unsigned char of their size (their bytes can be
 * copied, not computed with).
 */
import type { BtfIndex, BtfType } from "@luabpf/elf";
import { C_INTS, C_VOID, cAlignof, cArrayOf, type CEnum, type CFunction, type CInt, type CMember, type CRecord, type CType, type CTypedef } from "@luabpf/ir";

/** A parameter of a kernel function (fentry/fexit, kprobe arguments with BTF). */
export interface KernelParam {
  /** As written in the kernel's source ("" when BTF has no name). */
  readonly name: string;
  readonly type: CType;
}

/** A kernel function's prototype. */
export interface KernelFunction {
  readonly name: string;
  readonly params: readonly KernelParam[];
  readonly result: CType;
}

/** Defines `object[key]` as a getter computing `get()` once, then a plain value. */
function lazy<T extends object>(object: T, key: string, get: () => unknown): T {
  Object.defineProperty(object, key, {
    configurable: true,
    enumerable: true,
    get() {
      const value = get();
      Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
      return value;
    },
  });
  return object;
}

const UNSIGNED_CHAR = C_INTS["unsigned char"];

/** Translates BTF types of one index into C types, once each. */
export class BtfCTypes {
  private readonly cache = new Map<BtfType, CType>();
  private readonly kernelRecords = new WeakSet<CRecord>();
  private readonly ints = new Map<string, CInt>();
  private enumerators: Map<string, { value: bigint; type: CEnum }> | undefined;

  constructor(readonly btf: BtfIndex) {}

  /** True when `record` was translated from this BTF (its member accesses are CO-RE relocatable). */
  isKernelRecord(record: CType): boolean {
    return (record.kind === "struct" || record.kind === "union") && this.kernelRecords.has(record);
  }

  /** The C type of BTF type `t`. */
  of(t: BtfType): CType {
    const known = this.cache.get(t);
    if (known) return known;
    const made = this.translate(t);
    this.cache.set(t, made);
    return made;
  }

  /** `struct name` (or `union name` with `union: true`), or undefined when the BTF has none. */
  record(name: string, union = false): CRecord | undefined {
    const entry = this.btf.find(union ? "union" : "struct", name);
    return entry ? (this.of(entry.type) as CRecord) : undefined;
  }

  /** `enum name`, or undefined. */
  enumeration(name: string): CEnum | undefined {
    const entry = this.btf.find("enum", name) ?? this.btf.find("enum64", name);
    return entry ? (this.of(entry.type) as CEnum) : undefined;
  }

  /**
   * The enumerator `name` of any of the kernel's enums (the first enum declaring it, in id
   * order, `enum` before `enum64`), or undefined. All enumerators are indexed on the first call.
   */
  enumerator(name: string): { value: bigint; type: CEnum } | undefined {
    if (!this.enumerators) {
      this.enumerators = new Map();
      for (const kind of ["enum", "enum64"] as const) {
        for (const id of this.btf.idsOfKind(kind)) {
          const e = this.of(this.btf.type(id)) as CEnum;
          for (const [value, number] of e.values ?? []) if (!this.enumerators.has(value)) this.enumerators.set(value, { value: number, type: e });
        }
      }
    }
    return this.enumerators.get(name);
  }

  /** The typedef `name`, or undefined. */
  typedef(name: string): CTypedef | undefined {
    const entry = this.btf.find("typedef", name);
    return entry ? (this.of(entry.type) as CTypedef) : undefined;
  }

  /** The prototype of kernel function `name` (BTF FUNC), or undefined. */
  func(name: string): KernelFunction | undefined {
    const entry = this.btf.find("func", name);
    if (!entry || entry.type.kind !== "func" || entry.type.proto.kind !== "func_proto") return undefined;
    const proto = entry.type.proto;
    return {
      name,
      params: proto.params.filter((p) => p.type.kind !== "void").map((p) => ({ name: p.name, type: this.of(p.type) })),
      result: this.of(proto.ret),
    };
  }

  /**
   * The arguments of raw tracepoint `name`, from the kernel's `btf_trace_<name>` typedef
   * (a pointer to `void (void *, args...)`), or undefined when BTF has none.
   */
  rawTracepoint(name: string): KernelParam[] | undefined {
    const entry = this.btf.find("typedef", `btf_trace_${name}`);
    if (!entry || entry.type.kind !== "typedef") return undefined;
    const pointer = entry.type.target;
    const proto = pointer.kind === "ptr" ? pointer.target : undefined;
    if (!proto || proto.kind !== "func_proto") return undefined;
    return proto.params.slice(1).map((p, i) => ({ name: p.name || `arg${i}`, type: this.of(p.type) }));
  }

  private int(name: string, size: number, signed: boolean, bool = false): CType {
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) return cArrayOf(UNSIGNED_CHAR, size);
    const key = `${name}/${size}/${signed}/${bool}`;
    let t = this.ints.get(key);
    if (!t) {
      t = Object.freeze({ kind: "int", name, size, signed, char: name.includes("char"), bool }) as CInt;
      this.ints.set(key, t);
    }
    return t;
  }

  private translate(t: BtfType): CType {
    switch (t.kind) {
      case "void":
        return C_VOID;
      case "int":
        return this.int(t.name, t.size, t.signed, t.bool === true);
      case "float":
        return cArrayOf(UNSIGNED_CHAR, t.size);
      case "ptr":
        return lazy({ kind: "pointer" } as { kind: "pointer"; target: CType }, "target", () => this.of(t.target));
      case "array":
        return lazy({ kind: "array", count: t.count === 0 ? undefined : t.count } as { kind: "array"; element: CType; count: number | undefined }, "element", () =>
          this.of(t.elem),
        );
      case "typedef":
        return lazy({ kind: "typedef", name: t.name } as { kind: "typedef"; name: string; target: CType }, "target", () => this.of(t.target));
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        return this.of(t.target);
      case "struct":
      case "union": {
        const record = { kind: t.kind, tag: t.name === "" ? undefined : t.name, size: t.size, constants: new Map() } as unknown as CRecord;
        this.kernelRecords.add(record);
        const members = (): CMember[] =>
          t.members.map((m) => {
            const type = this.of(m.type);
            const offset = Math.floor(m.bitOffset / 8);
            return m.bitSize !== undefined
              ? { name: m.name === "" ? undefined : m.name, type, offset, bitOffset: m.bitOffset, bitSize: m.bitSize }
              : { name: m.name === "" ? undefined : m.name, type, offset };
          });
        lazy(record, "members", members);
        lazy(record, "align", () => {
          let align = 1;
          for (const m of record.members ?? []) {
            const a = cAlignof(m.type);
            if (m.bitSize === undefined && m.offset % a !== 0) return 1;
            align = Math.max(align, a);
          }
          return align;
        });
        return record;
      }
      case "enum":
      case "enum64": {
        const size = t.size;
        const underlying = this.int(t.signed ? (size === 8 ? "long long" : "int") : size === 8 ? "unsigned long long" : "unsigned int", size, t.signed);
        const values = new Map<string, bigint>(t.values.map((v) => [v.name, BigInt(v.value)]));
        const result: CEnum = { kind: "enum", tag: t.name === "" ? undefined : t.name, underlying: underlying.kind === "int" ? underlying : C_INTS.int, values };
        return result;
      }
      case "fwd":
        return { kind: t.union ? "union" : "struct", tag: t.name, members: undefined, size: 0, align: 1, constants: new Map() } as CRecord;
      case "func_proto": {
        const params = t.params.filter((p) => p.type.kind !== "void");
        const fn = { kind: "function", variadic: t.params.some((p) => p.type.kind === "void") } as { kind: "function"; result: CType; params: CType[]; variadic: boolean };
        lazy(fn, "result", () => this.of(t.ret));
        lazy(fn, "params", () => params.map((p) => this.of(p.type)));
        return fn as CFunction;
      }
      case "func":
        return this.of(t.proto);
      case "var":
        return this.of(t.type);
      case "datasec":
      case "decl_tag":
        return C_VOID;
    }
  }
}
