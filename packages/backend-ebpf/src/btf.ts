/**
 * BTF that says the truth about an object: C types (`CType`, from the front end's C
 * declarations and map key/value type names) translated into the BTF model of
 * @luabpf/elf, and each program's prototype — `int name(struct __sk_buff *skb)` with the
 * context struct of its program type laid out from the platform table — so libbpf and the
 * kernel see the context parameter as the pointer it is (no more
 * `arg#0 reference type('UNKNOWN ')`), and bpftool/pahole print signed, struct-typed keys
 * and values as C does. The same BTF types become the object's DWARF types.
 *
 * One {@link BtfTypes} per object: it caches by source object, so a C record referenced
 * from several maps, or cyclic through pointers, becomes one BTF type.
 */
import type { BtfFuncProto, BtfMember, BtfType } from "@luabpf/elf";
import { cResolve, type CRecord, type CType, type DataType, type Function as IrFunction, type Type } from "@luabpf/ir";
import { CONTEXT_FIELD_TYPES, CONTEXT_STRUCTS, PROGRAM_TYPES, type ContextStruct } from "@luabpf/platform";

/** clang's names of the unsigned integer types, by size (for integers without a C type). */
const UNSIGNED_NAMES: Readonly<Record<number, string>> = { 1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long long" };

const INT: BtfType = { kind: "int", name: "int", size: 4, signed: true };

/**
 * C types → BTF, written once for every user: subclasses say how integers are made, which
 * members of a record are kept and what a pointer's target becomes. Caches by source
 * object, so a record referenced twice, or cyclic through pointers, becomes one BTF type.
 */
export abstract class CTypeTranslator {
  private readonly ctypes = new Map<CType, BtfType>();

  /** The BTF of a C integer type. */
  protected abstract intOf(t: Extract<CType, { kind: "int" }>): BtfType;

  /** The indices (ascending) of the members of `record` its BTF keeps: all of them here. */
  protected keptMembers(record: CRecord): readonly number[] {
    return record.members!.map((_, i) => i);
  }

  /** The BTF of a pointer's target. */
  protected pointee(t: CType): BtfType {
    return this.ofC(t);
  }

  /** Whether function types keep their parameters and result (else an empty prototype). */
  protected readonly functionSignatures: boolean = true;

  /** The BTF of a C type. */
  ofC(t: CType): BtfType {
    const known = this.ctypes.get(t);
    if (known) return known;
    switch (t.kind) {
      case "int":
        return this.remember(t, this.intOf(t));
      case "void":
        return { kind: "void" };
      case "pointer": {
        const p: { kind: "ptr"; target: BtfType } = { kind: "ptr", target: { kind: "void" } };
        this.remember(t, p);
        p.target = this.pointee(t.target);
        return p;
      }
      case "array": {
        const a: { kind: "array"; elem: BtfType; count: number } = { kind: "array", elem: { kind: "void" }, count: t.count ?? 0 };
        this.remember(t, a);
        a.elem = this.ofC(t.element);
        return a;
      }
      case "struct":
      case "union": {
        if (t.members === undefined) return this.remember(t, { kind: "fwd", name: t.tag ?? "", union: t.kind === "union" });
        const members: BtfMember[] = [];
        const record: BtfType = { kind: t.kind, name: t.tag ?? "", size: t.size, members };
        this.remember(t, record);
        for (const index of this.keptMembers(t)) {
          const m = t.members[index]!;
          const bits = m.bitSize !== undefined ? { bitOffset: m.bitOffset ?? m.offset * 8, bitSize: m.bitSize } : { bitOffset: m.offset * 8 };
          members.push({ name: m.name ?? "", type: this.ofC(m.type), ...bits });
        }
        return record;
      }
      case "enum": {
        const values = [...(t.values ?? new Map<string, bigint>())];
        const u = t.underlying;
        if (u.size === 8) return this.remember(t, { kind: "enum64", name: t.tag ?? "", size: 8, signed: u.signed, values: values.map(([name, value]) => ({ name, value })) });
        return this.remember(t, { kind: "enum", name: t.tag ?? "", size: u.size, signed: u.signed, values: values.map(([name, value]) => ({ name, value: Number(value) })) });
      }
      case "typedef": {
        const d: { kind: "typedef"; name: string; target: BtfType } = { kind: "typedef", name: t.name, target: { kind: "void" } };
        this.remember(t, d);
        d.target = this.ofC(t.target);
        return d;
      }
      case "function": {
        const proto: BtfFuncProto = { kind: "func_proto", ret: { kind: "void" }, params: [] };
        this.remember(t, proto);
        if (!this.functionSignatures) return proto;
        proto.ret = this.ofC(t.result);
        proto.params = t.params.map((p) => ({ name: "", type: this.ofC(p) }));
        if (t.variadic) proto.params.push({ name: "", type: { kind: "void" } });
        return proto;
      }
    }
  }

  private remember(t: CType, b: BtfType): BtfType {
    this.ctypes.set(t, b);
    return b;
  }
}

/**
 * Integer types and the context structs (with their `__u32`-style typedefs), by key: they
 * depend only on their names and the platform table, so every object shares one frozen copy
 * made on first use (a `struct __sk_buff` is some 35 members, built once per process rather
 * than per compile). Within an object a shared type is one BTF type and one DWARF type, as
 * before: the writers deduplicate by object identity.
 */
const sharedInts = new Map<string, Map<number, BtfType>>();
const sharedContexts = new Map<string, BtfType>();

/** `t` and every object it holds, frozen (a shared type must not be changed by any object's user). */
function deepFreeze<T extends object>(t: T): T {
  if (Object.isFrozen(t)) return t;
  Object.freeze(t);
  for (const v of Object.values(t)) if (typeof v === "object" && v !== null) deepFreeze(v as object);
  return t;
}

/** Builds BTF types for one object. */
export class BtfTypes extends CTypeTranslator {
  /** An integer type, shared by name (and by every object: see `sharedInts`). */
  int(name: string, size: number, signed: boolean, flags: { char?: boolean; bool?: boolean } = {}): BtfType {
    // By name, then by a number of the other fields (no key string per call).
    let byFields = sharedInts.get(name);
    if (!byFields) sharedInts.set(name, (byFields = new Map()));
    const key = size * 8 + (signed ? 1 : 0) + (flags.char ? 2 : 0) + (flags.bool ? 4 : 0);
    let t = byFields.get(key);
    if (!t) {
      t = deepFreeze<BtfType>({ kind: "int", name, size, signed, ...(flags.char ? { char: true } : {}), ...(flags.bool ? { bool: true } : {}) });
      byFields.set(key, t);
    }
    return t;
  }

  protected intOf(t: Extract<CType, { kind: "int" }>): BtfType {
    // As clang: no BTF_INT_CHAR (the kernel takes one encoding bit; `char` is SIGNED).
    return this.int(t.name, t.size, t.signed, { bool: t.bool });
  }

  /** A map key or value: its C type when the declaration has one, else an unsigned integer of its size. */
  ofData(data: DataType, c: CType | undefined): BtfType | undefined {
    if (c !== undefined && cResolve(c).kind !== "void") return this.ofC(c);
    return data.kind === "int" ? this.int(UNSIGNED_NAMES[data.size]!, data.size, false) : undefined;
  }

  /**
   * The context struct `name` as BTF: the full layout when the platform table has it
   * (`typedef __u32` members and all), otherwise a forward declaration.
   */
  context(name: string): BtfType {
    let t = sharedContexts.get(name);
    if (t) return t;
    const layout: ContextStruct | undefined = CONTEXT_STRUCTS[name];
    t = deepFreeze<BtfType>(layout ? this.contextStruct(layout) : { kind: "fwd", name, union: false });
    sharedContexts.set(name, t);
    return t;
  }

  private contextStruct(layout: ContextStruct): BtfType {
    // `__u32` is a typedef of `unsigned int` as in the kernel's headers; a
    // `__bpf_md_ptr(T *, name)` field is a pointer padded to 8 bytes, described as `__u64`.
    const fieldType = (type: keyof typeof CONTEXT_FIELD_TYPES): BtfType => {
      const { size, signed } = CONTEXT_FIELD_TYPES[type];
      if (type === "unsigned long") return this.int("unsigned long", size, signed);
      const typedef = type === "__bpf_md_ptr" ? "__u64" : type;
      let t = sharedContexts.get(typedef);
      if (!t) {
        t = deepFreeze<BtfType>({ kind: "typedef", name: typedef, target: this.int(UNSIGNED_NAMES[size]!, size, signed) });
        sharedContexts.set(typedef, t);
      }
      return t;
    };
    return {
      kind: "struct",
      name: layout.name,
      size: layout.size,
      members: layout.fields.map((f) => {
        const elem = fieldType(f.type);
        return { name: f.name, type: f.count ? { kind: "array", elem, count: f.count } : elem, bitOffset: f.offset * 8 };
      }),
    };
  }

  /**
   * A function's prototype, as clang writes it for the C twin.
   *
   * - A program: `int NAME(struct CTX *param)`, the context struct of its program type, the
   *   parameter named as in the source (`skb`) or `ctx`.
   * - A BPF-to-BPF function (compiled into `.text`): each parameter's C type as the front end
   *   gave it (`Param.ctype`: `long long` for a Lua number, `_Bool`, `struct pair *`, ...), the
   *   context pointer as `struct CTX *` of `callerContext` (the context struct of the
   *   programs that call it), and without a C type, an unsigned integer of the IR width or
   *   `void *`; the result likewise (`Function.cReturnType`, `void` for a function that
   *   returns nothing). Names are made C identifiers (`result.tag` → `result_tag`).
   */
  programProto(fn: IrFunction, callerContext?: string): BtfFuncProto {
    if (!fn.program) {
      const params = fn.params.map((p, i) => ({ name: identifier(p.name ?? `arg${i}`), type: this.ofValue(p.ctype, p.type, callerContext) }));
      return { kind: "func_proto", ret: this.ofValue(fn.cReturnType, fn.returnType, callerContext), params };
    }
    const type = (PROGRAM_TYPES as Readonly<Record<string, { context?: string }>>)[fn.program.type];
    const context = type?.context;
    const params = fn.params.map((p, i) => ({
      name: identifier(p.name ?? (i === 0 ? "ctx" : `arg${i}`)),
      type: i === 0 && context ? ({ kind: "ptr", target: this.context(context) } as BtfType) : ({ kind: "ptr", target: { kind: "void" } } as BtfType),
    }));
    return { kind: "func_proto", ret: INT, params };
  }

  /** The BTF of a parameter or result: its C type, else the context pointer or an IR-typed default. */
  private ofValue(c: CType | undefined, ir: Type, context: string | undefined): BtfType {
    if (ir.kind === "ptr" && ir.region === "ctx" && context !== undefined) return { kind: "ptr", target: this.context(context) };
    if (c !== undefined) return this.ofC(c);
    switch (ir.kind) {
      case "int":
        return this.int(UNSIGNED_NAMES[ir.size]!, ir.size, false);
      case "ptr":
        return { kind: "ptr", target: { kind: "void" } };
      case "void":
        return { kind: "void" };
    }
  }
}

/** `name` as a C identifier, as BTF wants parameter names: other characters become `_`. */
function identifier(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[0-9]/.test(id) ? `_${id}` : id;
}
