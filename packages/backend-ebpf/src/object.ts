/**
 * Object packaging: compiled programs and the module's map declarations → the
 * `BpfObject` of @luabpf/elf (what `writeObject` turns into an ELF file and the loader
 * loads). Map type numbers come from the platform table; keys and values get the BTF of
 * their C types (btf.ts), programs their prototypes with the real context struct.
 * Relocations become byte offsets of their `lddw`s.
 */
import type { BpfObject, ObjectMap } from "@luabpf/elf";
import type { MapDecl, Module } from "@luabpf/ir";
import { INSN_SIZE, MAP_TYPES } from "@luabpf/platform";
import { BtfTypes } from "./btf.js";
import type { CompiledProgram } from "./compile.js";
import { encodeInsns } from "./isa/index.js";

/** The ELF description of a map declaration (`types`: the object's BTF types, shared between maps). */
export function objectMap(decl: MapDecl, types: BtfTypes = new BtfTypes()): ObjectMap {
  const m: ObjectMap = {
    name: decl.name,
    type: MAP_TYPES[decl.kind].id,
    keySize: decl.key.size,
    valueSize: decl.value.size,
    maxEntries: decl.maxEntries,
    flags: decl.flags,
  };
  const key = types.ofData(decl.key, decl.keyType);
  const value = types.ofData(decl.value, decl.valueType);
  if (key) m.key = key;
  if (value) m.value = value;
  return m;
}

/** Packs `programs` (compiled from `module`) with the module's maps and license into an object description. */
export function packageObject(module: Module, programs: readonly CompiledProgram[]): BpfObject {
  const types = new BtfTypes();
  return {
    license: module.license,
    programs: programs.map((p) => {
      const fn = module.getFunction(p.name);
      return {
        name: p.name,
        section: p.section,
        code: encodeInsns(p.insns),
        relocations: p.relocations.map((r) => ({ offset: r.slot * INSN_SIZE, symbol: r.symbol })),
        ...(fn ? { proto: types.programProto(fn) } : {}),
      };
    }),
    maps: module.maps.map((decl) => objectMap(decl, types)),
  };
}
