/**
 * Object packaging: compiled programs and the module's map declarations → the
 * `BpfObject` of @luabpf/elf (what `writeObject` turns into an ELF file and the loader
 * loads). Map type numbers come from the platform table; keys and values of integer type
 * get BTF integer types named as clang names them, so bpftool prints them readably.
 * Relocations become byte offsets of their `lddw`s; CO-RE relocations get the value for the
 * program's own types in their instruction's immediate and a `.BTF.ext` record with the
 * pruned local type (core-btf.ts).
 */
import { btfInt, type BpfObject, type BtfType, type ObjectMap } from "@luabpf/elf";
import { InternalError, type DataType, type MapDecl, type Module } from "@luabpf/ir";
import { INSN_SIZE, MAP_TYPES } from "@luabpf/platform";
import type { CompiledProgram } from "./compile.js";
import { CoreLocalTypes } from "./core-btf.js";
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
  const key = keyless ? undefined : btfOf(decl.key);
  const value = valueless ? undefined : btfOf(decl.value);
  // Both or neither: the kernel refuses a map with a key type and no value type.
  if (key && value) {
    m.key = key;
    m.value = value;
  }
  // What a ring buffer's or perf array's records are, for readers (`luabpf run`).
  if (decl.recordType) m.record = new CoreLocalTypes([], true).typeOf(decl.recordType);
  return m;
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
      };
    }),
    maps: module.maps.map(objectMap),
  };
}
