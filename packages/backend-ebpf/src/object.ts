/**
 * Object packaging: compiled programs and the module's map declarations → the
 * `BpfObject` of @luabpf/elf (what `writeObject` turns into an ELF file and the loader
 * loads). Map type numbers come from the platform table; keys and values of integer type
 * get BTF integer types named as clang names them, so bpftool prints them readably.
 * Relocations become byte offsets of their `lddw`s.
 */
import { btfInt, type BpfObject, type BtfType, type ObjectMap } from "@luabpf/elf";
import type { DataType, MapDecl, Module } from "@luabpf/ir";
import { INSN_SIZE, MAP_TYPES } from "@luabpf/platform";
import type { CompiledProgram } from "./compile.js";
import { encodeInsns } from "./isa/index.js";

/** clang's names of the unsigned integer types, by size. */
const INT_NAMES: Readonly<Record<number, string>> = { 1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long long" };

function btfOf(t: DataType): BtfType | undefined {
  return t.kind === "int" ? btfInt(INT_NAMES[t.size]!, t.size, false) : undefined;
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
  const key = btfOf(decl.key);
  const value = btfOf(decl.value);
  if (key) m.key = key;
  if (value) m.value = value;
  return m;
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
