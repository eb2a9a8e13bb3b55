/**
 * C types of the front end (`CType` of @luabpf/ir: what `ffi.cdef` declared) → BTF types of
 * @luabpf/elf, whole, as clang describes the same declarations: integers with their C names
 * and char/bool flags, records with every member at its bit offset (bit-fields with their
 * widths), typedefs, enums (64-bit ones as ENUM64), arrays, pointers. Map keys and values
 * get these types so the kernel knows them and `bpftool map dump` prints fields. Like clang,
 * no integer is marked BTF_INT_CHAR: the kernel takes one encoding bit only, and `char` is
 * SIGNED.
 *
 * One walk with a memo per CType (records are created before their members are converted,
 * so self-referencing records through pointers terminate). Function types become a
 * prototype `void (void)` (only pointers to them appear in data).
 */
import type { BtfMember, BtfType } from "@luabpf/elf";
import type { CType } from "@luabpf/ir";

/** Converts C types to BTF, sharing one BtfType per CType. */
export class CTypeBtf {
  private readonly memo = new Map<CType, BtfType>();

  /** The BTF of `t`. */
  of(t: CType): BtfType {
    const known = this.memo.get(t);
    if (known) return known;
    switch (t.kind) {
      case "void":
        return { kind: "void" };
      case "int":
        return this.remember(t, { kind: "int", name: t.name, size: t.size, signed: t.signed, ...(t.bool ? { bool: true } : {}) });
      case "pointer": {
        const p: { kind: "ptr"; target: BtfType } = { kind: "ptr", target: { kind: "void" } };
        this.remember(t, p);
        p.target = this.of(t.target);
        return p;
      }
      case "array": {
        const a: { kind: "array"; elem: BtfType; count: number } = { kind: "array", elem: { kind: "void" }, count: t.count ?? 0 };
        this.remember(t, a);
        a.elem = this.of(t.element);
        return a;
      }
      case "typedef": {
        const d: { kind: "typedef"; name: string; target: BtfType } = { kind: "typedef", name: t.name, target: { kind: "void" } };
        this.remember(t, d);
        d.target = this.of(t.target);
        return d;
      }
      case "enum": {
        const values = [...(t.values ?? new Map<string, bigint>())];
        const u = t.underlying;
        if (u.size === 8) return this.remember(t, { kind: "enum64", name: t.tag ?? "", size: 8, signed: u.signed, values: values.map(([name, value]) => ({ name, value })) });
        return this.remember(t, { kind: "enum", name: t.tag ?? "", size: u.size, signed: u.signed, values: values.map(([name, value]) => ({ name, value: Number(value) })) });
      }
      case "struct":
      case "union": {
        if (t.members === undefined) return this.remember(t, { kind: "fwd", name: t.tag ?? "", union: t.kind === "union" });
        const members: BtfMember[] = [];
        const record: BtfType = { kind: t.kind, name: t.tag ?? "", size: t.size, members };
        this.remember(t, record);
        for (const m of t.members) {
          const bits = m.bitSize !== undefined ? { bitOffset: m.bitOffset ?? m.offset * 8, bitSize: m.bitSize } : { bitOffset: m.offset * 8 };
          members.push({ name: m.name ?? "", type: this.of(m.type), ...bits });
        }
        return record;
      }
      case "function":
        return this.remember(t, { kind: "func_proto", ret: { kind: "void" }, params: [] });
    }
  }

  private remember(t: CType, b: BtfType): BtfType {
    this.memo.set(t, b);
    return b;
  }
}
