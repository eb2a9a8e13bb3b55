/**
 * Record layout: the offsets, size and alignment clang gives a struct or union for
 * `-target bpf`, which follows the System V / Itanium C ABI rules for an LP64 target:
 *
 * - A member is placed at the next offset that is a multiple of its alignment (its
 *   type's, raised by `aligned(N)`, lowered to 1 in a `packed` record); the record's
 *   alignment is the largest member alignment (raised by the record's `aligned(N)`) and
 *   its size is rounded up to it.
 * - A bit-field of declared type T and width w goes at the current bit position unless
 *   it would straddle a boundary of T's alignment (then it starts at the next boundary);
 *   in a packed record it always goes at the current bit. A zero-width bit-field moves
 *   the position to the next boundary of T's alignment. Named bit-fields raise the
 *   record's alignment to T's alignment (unless packed); unnamed ones do not.
 * - A union places every member at offset 0; its size is that of its largest member,
 *   rounded up to its alignment.
 *
 * The tests compare every case with clang-16's `sizeof`, `_Alignof`, `offsetof` and
 * bit positions on the same declarations.
 */
import { cAlignof, cResolve, cSizeof, type CMember, type CType } from "@luabpf/ir";

/** A member as declared, before layout. */
export interface DeclaredMember {
  readonly name: string | undefined;
  readonly type: CType;
  /** Bit-field width, when declared with `: w`. */
  readonly bitWidth?: number;
  /** `__attribute__((aligned(N)))` on the member. */
  readonly aligned?: number;
  /** `__attribute__((packed))` on the member. */
  readonly packed?: boolean;
}

export interface RecordAttributes {
  readonly packed: boolean;
  /** `__attribute__((aligned(N)))` on the record. */
  readonly aligned?: number;
}

export interface RecordLayout {
  readonly members: CMember[];
  readonly size: number;
  readonly align: number;
}

const roundUp = (x: number, a: number): number => Math.ceil(x / a) * a;

/** Lays out a struct or union whose member types are complete and bit-fields checked. */
export function layoutRecord(kind: "struct" | "union", declared: readonly DeclaredMember[], attrs: RecordAttributes): RecordLayout {
  const members: CMember[] = [];
  let align = 1;
  let bit = 0; // struct: the next free bit; union: the largest member size in bits
  for (const d of declared) {
    const typeAlign = cAlignof(d.type);
    const packed = attrs.packed || d.packed === true;
    if (d.bitWidth !== undefined) {
      const unitBits = typeAlign * 8;
      const w = d.bitWidth;
      let at = kind === "union" ? 0 : bit;
      if (w === 0) {
        // `T : 0` ends the current unit; it holds no value and is not a member.
        if (kind === "struct") bit = roundUp(bit, unitBits);
        continue;
      }
      if (kind === "struct" && !packed && (at % unitBits) + w > cSizeof(d.type) * 8) at = roundUp(at, unitBits);
      members.push({ name: d.name, type: d.type, offset: Math.floor(at / 8), bitOffset: at, bitSize: w });
      if (d.name !== undefined) align = Math.max(align, packed ? 1 : typeAlign, d.aligned ?? 1);
      bit = kind === "union" ? Math.max(bit, w) : at + w;
      continue;
    }
    const memberAlign = Math.max(packed ? 1 : typeAlign, d.aligned ?? 1);
    const offset = kind === "union" ? 0 : roundUp(Math.ceil(bit / 8), memberAlign);
    members.push({ name: d.name, type: d.type, offset });
    align = Math.max(align, memberAlign);
    const end = (offset + cSizeof(d.type)) * 8;
    bit = kind === "union" ? Math.max(bit, end) : end;
  }
  align = Math.max(align, attrs.aligned ?? 1);
  return { members, size: roundUp(Math.ceil(bit / 8), align), align };
}

/** Whether `t` can be a bit-field's declared type (an integer or enum). */
export function bitFieldCapable(t: CType): boolean {
  const r = cResolve(t);
  return r.kind === "int" || r.kind === "enum";
}
