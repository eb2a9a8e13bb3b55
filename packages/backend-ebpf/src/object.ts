/**
 * Object packaging: compiled programs and the module's map declarations → the
 * `BpfObject` of @luabpf/elf (what `writeObject` turns into an ELF file and the loader
 * loads). Map type numbers come from the platform table; keys and values get BTF types —
 * their C types when the front end knows them (ctype-btf.ts), else integer types named as
 * clang names them — so bpftool prints them readably.
 * Relocations become byte offsets of their `lddw`s; CO-RE relocations get the value for the
 * program's own types in their instruction's immediate and a `.BTF.ext` record with the
 * pruned local type (core-btf.ts).
 */
import { btfInt, type BpfObject, type BtfType, type ObjectAttach, type ObjectMap } from "@luabpf/elf";
import { InternalError, type DataType, type MapDecl, type Module } from "@luabpf/ir";
import { INSN_SIZE, MAP_TYPES } from "@luabpf/platform";
import type { CompiledProgram } from "./compile.js";
import { CoreLocalTypes } from "./core-btf.js";
import { CTypeBtf } from "./ctype-btf.js";
import { encodeInsns, insnSlots, type Insn } from "./isa/index.js";

/** clang's names of the unsigned integer types, by size. */
const INT_NAMES: Readonly<Record<number, string>> = { 1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long long" };

function btfOf(t: DataType): BtfType | undefined {
  return t.kind === "int" ? btfInt(INT_NAMES[t.size]!, t.size, false) : undefined;
}

/** The ELF description of a map declaration. */
export function objectMap(decl: MapDecl): ObjectMap {
  // Map types without keys or values (ring buffers have neither) take sizes 0, whatever the declaration says.
  const type = MAP_TYPES[decl.kind];
  const keyless = type.requiredKeySize() === 0;
  const valueless = type.requiredValueSize() === 0;
  const m: ObjectMap = {
    name: decl.name,
    type: type.id,
    keySize: keyless ? 0 : decl.key.size,
    valueSize: valueless ? 0 : decl.value.size,
    maxEntries: decl.maxEntries,
    flags: decl.flags,
  };
  // C key/value types (ffi.cdef structs, typedefs, char arrays) where the kernel keeps them
  // with the map (hash and array maps; others refuse BTF); else integer layouts by size.
  const ctypes = decl.keyType && decl.valueType && (type.isHashLike() || type.isArrayLike()) ? new CTypeBtf() : undefined;
  const key = keyless ? undefined : ctypes ? ctypes.of(decl.keyType!) : btfOf(decl.key);
  const value = valueless ? undefined : ctypes ? ctypes.of(decl.valueType!) : btfOf(decl.value);
  // What a ring buffer's or perf array's records are, for readers (`luabpf run`).
  if (decl.recordType) m.record = new CTypeBtf().of(decl.recordType);
  // A map with keys and values gets both types or neither: the kernel refuses a key type
  // without a value type.
  if (!keyless && !valueless && (!key || !value)) return m;
  if (key) m.key = key;
  if (value) m.value = value;
  return m;
}

/**
 * The object's attach data of a program from what its declaration said (`bpf.socket('lo', f)`,
 * a pid...): the fields the loader reads. The symbol and binary only when the section does not
 * name them already (`kprobe/do_sys_open` does); bcc's "any" (-1) pid or CPU is left out.
 */
function attachOf(said: Readonly<Record<string, string | number | boolean>> | undefined, section: string): { attach?: ObjectAttach } {
  if (!said) return {};
  const attach: ObjectAttach = {};
  const named = section.includes("/");
  for (const key of ["interface", "symbol", "path"] as const) if (typeof said[key] === "string" && !(named && key !== "interface")) attach[key] = said[key];
  if (typeof said.retprobe === "boolean") attach.retprobe = said.retprobe;
  for (const key of ["pid", "cpu"] as const) {
    const v = said[key];
    if (typeof v === "number" && Number.isInteger(v) && v >= 0) attach[key] = v;
  }
  return Object.keys(attach).length > 0 ? { attach } : {};
}

/** Instruction indices by 8-byte slot: relocations name slots, and an lddw takes two. */
export function slotIndices(insns: readonly Insn[]): Map<number, number> {
  const indexOfSlot = new Map<number, number>();
  let slots = 0;
  insns.forEach((insn, i) => {
    indexOfSlot.set(slots, i);
    slots += insnSlots(insn);
  });
  return indexOfSlot;
}

/**
 * Writes each CO-RE relocation's compiled value (for the program's own view of the type)
 * into its `mov` — the immediate a loader that does not relocate, and listings, see.
 */
export function fillCoreValues(module: Module, program: CompiledProgram): void {
  if (program.coreRelocations.length === 0) return;
  const indexOfSlot = slotIndices(program.insns);
  for (const r of program.coreRelocations) {
    const decl = module.getCoreRelocation(r.name);
    const index = indexOfSlot.get(r.slot);
    if (!decl || index === undefined) throw new InternalError(`program ${program.name}: CO-RE relocation ${r.name} at slot ${r.slot} is not declared or names no instruction`);
    if (decl.value < -0x80000000n || decl.value > 0x7fffffffn) throw new InternalError(`CO-RE ${r.name}: value ${decl.value} does not fit an immediate`);
    program.insns[index] = { ...program.insns[index]!, imm: Number(decl.value) };
  }
}

/** Packs `programs` (compiled from `module`) with the module's maps and license into an object description. */
export function packageObject(module: Module, programs: readonly CompiledProgram[]): BpfObject {
  const core = module.coreRelocations.length > 0 ? new CoreLocalTypes(module.coreRelocations) : undefined;
  return {
    license: module.license,
    programs: programs.map((p) => {
      const insns: Insn[] = [...p.insns];
      const indexOfSlot = slotIndices(insns);
      const coreRelocations = p.coreRelocations.map((r) => {
        const decl = module.getCoreRelocation(r.name);
        if (!decl || !core) throw new InternalError(`program ${p.name}: CO-RE relocation ${r.name} is not declared`);
        const index = indexOfSlot.get(r.slot);
        if (index === undefined) throw new InternalError(`program ${p.name}: CO-RE relocation ${r.name} at slot ${r.slot} names no instruction`);
        const slot = insns[index]!;
        if (decl.value < -0x80000000n || decl.value > 0x7fffffffn) throw new InternalError(`CO-RE ${r.name}: value ${decl.value} does not fit an immediate`);
        insns[index] = { ...slot, imm: Number(decl.value) };
        return core.objectRelocation(decl, r.slot * INSN_SIZE);
      });
      return {
        name: p.name,
        section: p.section,
        code: encodeInsns(insns),
        relocations: [
          ...p.relocations.map((r) => ({ offset: r.slot * INSN_SIZE, symbol: r.symbol })),
          ...p.textCalls.map((slot) => ({ offset: slot * INSN_SIZE, symbol: ".text", type: "call" as const })),
        ].sort((a, b) => a.offset - b.offset),
        ...(coreRelocations.length > 0 ? { coreRelocations } : {}),
        ...(p.subprogram ? { subprogram: true } : {}),
        ...attachOf(module.getFunction(p.name)?.program?.attach, p.section),
      };
    }),
    maps: module.maps.map(objectMap),
  };
}
