/**
 * Object packaging: compiled programs and the module's map declarations → the
 * `BpfObject` of @luabpf/elf (what `writeObject` turns into an ELF file and the loader
 * loads). Map type numbers come from the platform table. Keys and values get BTF types:
 * from their C types when the front end knows them ({@link btfOfC}: struct and field
 * names, signedness, character arrays, bit-fields, typedef names — what bpftool prints
 * and user space decodes with), otherwise integers named as clang names them.
 * Relocations become byte offsets of their `lddw`s.
 */
import { btfInt, type BpfObject, type BtfMember, type BtfType, type ObjectMap } from "@luabpf/elf";
import { cSizeof, InternalError, type CType, type DataType, type MapDecl, type Module } from "@luabpf/ir";
import { INSN_SIZE, MAP_TYPES } from "@luabpf/platform";
import type { CompiledProgram } from "./compile.js";
import { encodeInsns } from "./isa/index.js";

/** clang's names of the unsigned integer types, by size. */
const INT_NAMES: Readonly<Record<number, string>> = { 1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long long" };

function btfOf(t: DataType): BtfType | undefined {
  return t.kind === "int" ? btfInt(INT_NAMES[t.size]!, t.size, false) : undefined;
}

/**
 * The BTF of a C type, as clang would emit it for the same declaration. Records are
 * converted once per object (a cache keeps shared and self-referential types one node).
 */
export function btfOfC(t: CType, cache = new Map<CType, BtfType>()): BtfType {
  const known = cache.get(t);
  if (known) return known;
  switch (t.kind) {
    case "int": {
      const b: BtfType = { kind: "int", name: t.name, size: t.size, signed: t.signed, ...(t.char ? { char: true } : {}), ...(t.bool ? { bool: true } : {}) };
      cache.set(t, b);
      return b;
    }
    case "void":
      return { kind: "void" };
    case "pointer": {
      const b: BtfType = { kind: "ptr", target: { kind: "void" } };
      cache.set(t, b);
      (b as { target: BtfType }).target = btfOfC(t.target, cache);
      return b;
    }
    case "array":
      return { kind: "array", elem: btfOfC(t.element, cache), count: t.count ?? 0 };
    case "typedef":
      return { kind: "typedef", name: t.name, target: btfOfC(t.target, cache) };
    case "enum": {
      const values = [...(t.values ?? new Map<string, bigint>()).entries()];
      const fits = values.every(([, v]) => v >= -(1n << 31n) && v < 1n << 32n);
      return fits
        ? { kind: "enum", name: t.tag ?? "", size: t.underlying.size, signed: t.underlying.signed, values: values.map(([name, v]) => ({ name, value: Number(BigInt.asIntN(32, v)) })) }
        : { kind: "enum64", name: t.tag ?? "", size: t.underlying.size, signed: t.underlying.signed, values: values.map(([name, value]) => ({ name, value })) };
    }
    case "struct":
    case "union": {
      if (t.members === undefined) return { kind: "fwd", name: t.tag ?? "", union: t.kind === "union" };
      const members: BtfMember[] = [];
      const b: BtfType = { kind: t.kind, name: t.tag ?? "", size: t.size, members };
      cache.set(t, b);
      for (const m of t.members) {
        members.push({
          name: m.name ?? "",
          type: btfOfC(m.type, cache),
          bitOffset: m.bitOffset ?? m.offset * 8,
          ...(m.bitSize !== undefined ? { bitSize: m.bitSize } : {}),
        });
      }
      return b;
    }
    case "function":
      return { kind: "func_proto", ret: btfOfC(t.result, cache), params: t.params.map((p) => ({ name: "", type: btfOfC(p, cache) })) };
  }
}

/** The ELF description of a map declaration. */
export function objectMap(decl: MapDecl): ObjectMap {
  const m: ObjectMap = {
    name: decl.name,
    type: MAP_TYPES[decl.kind].id,
    keySize: decl.key.size,
    valueSize: decl.value.size,
    maxEntries: decl.maxEntries,
    flags: decl.flags,
  };
  const key = decl.keyType ? btfChecked(decl.keyType, decl.key.size) : btfOf(decl.key);
  const value = decl.valueType ? btfChecked(decl.valueType, decl.value.size) : btfOf(decl.value);
  if (key) m.key = key;
  if (value) m.value = value;
  return m;
}

function btfChecked(t: CType, size: number): BtfType {
  if (cSizeof(t) !== size) throw new InternalError(`map key/value C type of ${cSizeof(t)} bytes does not match its layout of ${size} bytes`);
  return btfOfC(t);
}

/** Packs `programs` (compiled from `module`) with the module's maps and license into an object description. */
export function packageObject(module: Module, programs: readonly CompiledProgram[]): BpfObject {
  return {
    license: module.license,
    programs: programs.map((p) => ({
      name: p.name,
      section: p.section,
      code: encodeInsns(p.insns),
      relocations: p.relocations.map((r) => ({ offset: r.slot * INSN_SIZE, symbol: r.symbol })),
    })),
    maps: module.maps.map(objectMap),
  };
}
