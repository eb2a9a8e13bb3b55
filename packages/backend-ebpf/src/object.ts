/**
 * Object packaging: compiled programs and the module's map declarations → the
 * `BpfObject` of @luabpf/elf (what `writeObject` turns into an ELF file and the loader
 * loads). Map type numbers come from the platform table; keys and values get the BTF of
 * their C types (btf.ts), programs their prototypes with the real context struct and
 * their line tables with the source text. Relocations become byte offsets of their
 * `lddw`s; CO-RE relocations get the value for the
 * program's own types in their instruction's immediate and a `.BTF.ext` record with the
 * pruned local type (core-btf.ts).
 */
import type { BpfObject, ObjectAttach, ObjectLine, ObjectMap, ObjectProgram, ObjectRelocation } from "@luabpf/elf";
import { InternalError, type MapDecl, type Module } from "@luabpf/ir";
import { INSN_SIZE, isProgramTypeName, MAP_TYPES, PROGRAM_TYPES } from "@luabpf/platform";
import { BtfTypes } from "./btf.js";
import type { CompiledProgram } from "./compile.js";
import { CoreLocalTypes } from "./core-btf.js";
import { encodeInsns, insnSlots, type Insn } from "./isa/index.js";

/** The ELF description of a map declaration (`types`: the object's BTF types, shared between maps). */
export function objectMap(decl: MapDecl, types: BtfTypes = new BtfTypes()): ObjectMap {
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
  const key = keyless ? undefined : types.ofData(decl.key, decl.keyType);
  const value = valueless ? undefined : types.ofData(decl.value, decl.valueType);
  // What a ring buffer's or perf array's records are, for readers (`luabpf run`).
  if (decl.recordType) m.record = types.ofC(decl.recordType);
  if (key) m.key = key;
  if (value) m.value = value;
  return m;
}

/**
 * The object's attach data of a program from what its declaration said (`bpf.socket('lo', f)`,
 * a pid...): the fields the loader reads. The symbol and binary only when the section does not
 * name them already (`kprobe/do_sys_open` does); bcc's "any" (-1) pid or CPU is left out.
 */
function attachOf(said: Readonly<Record<string, string | number | boolean>> | undefined, section: string): ObjectAttach | undefined {
  if (!said) return undefined;
  const attach: ObjectAttach = {};
  const named = section.includes("/");
  for (const key of ["interface", "symbol", "path"] as const) if (typeof said[key] === "string" && !(named && key !== "interface")) attach[key] = said[key];
  if (typeof said.retprobe === "boolean") attach.retprobe = said.retprobe;
  for (const key of ["pid", "cpu"] as const) {
    const v = said[key];
    if (typeof v === "number" && Number.isInteger(v) && v >= 0) attach[key] = v;
  }
  return Object.keys(attach).length > 0 ? attach : undefined;
}

/** The kernel's limits of a line-info record: line < 2^22, column < 2^10 (0 when beyond). */
const MAX_LINE = (1 << 22) - 1;
const MAX_COLUMN = (1 << 10) - 1;

/**
 * A program's line table as object line records, each with the text of its source line
 * (from `module.sources`), which `.BTF.ext` carries for bpftool and the verifier's log.
 */
function objectLines(program: CompiledProgram, module: Module, files: Map<string, SourceLines>): ObjectLine[] {
  const rows = program.lines;
  const out = new Array<ObjectLine>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const { slot, loc } = rows[i]!;
    let lines = files.get(loc.file);
    if (!lines) files.set(loc.file, (lines = new SourceLines(module.sources.get(loc.file) ?? "")));
    out[i] = {
      offset: slot * INSN_SIZE,
      file: loc.file,
      line: loc.line <= MAX_LINE ? loc.line : 0,
      column: loc.column <= MAX_COLUMN ? loc.column : 0,
      text: lines.text(loc.line),
    };
  }
  return out;
}

/**
 * The lines of a source text as `split(/\r?\n/)` gives them (a line ends at `\n`, and a `\r`
 * before it is not part of it), found as asked: only the source up to the last line asked for
 * is scanned, and only the lines asked for are sliced out, each once (rows of one line share
 * one string, which the ELF writer compares and hashes).
 */
class SourceLines {
  /** Where each line found so far starts. */
  private readonly starts = [0];
  /** The lines sliced so far, by line number. */
  private readonly texts = new Map<number, string>();

  constructor(private readonly source: string) {}

  /** The text of line `line` (from 1); "" beyond the last. */
  text(line: number): string {
    let text = this.texts.get(line);
    if (text === undefined) this.texts.set(line, (text = this.slice(line)));
    return text;
  }

  private slice(line: number): string {
    const { source, starts } = this;
    if (!(line >= 1)) return "";
    while (starts.length < line) {
      const newline = source.indexOf("\n", starts[starts.length - 1]!);
      if (newline < 0) return "";
      starts.push(newline + 1);
    }
    const start = starts[line - 1]!;
    let end = source.indexOf("\n", start);
    if (end < 0) end = source.length;
    else if (end > start && source.charCodeAt(end - 1) === 13) end--;
    return source.slice(start, end);
  }
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

/**
 * The context struct of each function that programs call (directly or through other
 * functions): the context of the first program, in module order, that reaches it. The front
 * end compiles a function once per program kind, so every caller has the same one. The calls
 * are the compiled programs' (`callees`: every function a program reaches is compiled), not
 * the IR's, which the compile may have freed.
 */
function callerContexts(module: Module, programs: readonly CompiledProgram[]): Map<string, string> {
  const calleesOf = new Map<string, readonly string[]>();
  for (const p of programs) calleesOf.set(p.name, p.callees);
  const contexts = new Map<string, string>();
  for (const fn of module.functions) {
    const context = fn.program && isProgramTypeName(fn.program.type) ? PROGRAM_TYPES[fn.program.type].context : undefined;
    if (context === undefined) continue;
    const work = [fn.name];
    while (work.length > 0) {
      for (const callee of calleesOf.get(work.pop()!) ?? []) {
        if (contexts.has(callee) || module.getFunction(callee)?.program) continue;
        contexts.set(callee, context);
        work.push(callee);
      }
    }
  }
  return contexts;
}

/** Packs `programs` (compiled from `module`) with the module's maps and license into an object description. */
export function packageObject(module: Module, programs: readonly CompiledProgram[]): BpfObject {
  const types = new BtfTypes();
  const callerContext = programs.some((p) => p.subprogram) ? callerContexts(module, programs) : new Map<string, string>();
  const core = module.coreRelocations.length > 0 ? new CoreLocalTypes(module.coreRelocations) : undefined;
  /** The lines of each source file, found once per object. */
  const files = new Map<string, SourceLines>();
  return {
    license: module.license,
    programs: programs.map((p): ObjectProgram => {
      const fn = module.getFunction(p.name);
      // Instructions are copied (and indexed by slot) only to fill in CO-RE values.
      const insns: Insn[] = p.coreRelocations.length > 0 ? [...p.insns] : p.insns;
      const indexOfSlot = p.coreRelocations.length > 0 ? slotIndices(insns) : new Map<number, number>();
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
      const relocations: ObjectRelocation[] = [];
      for (const r of p.relocations) relocations.push({ offset: r.slot * INSN_SIZE, symbol: r.symbol });
      for (const slot of p.textCalls) relocations.push({ offset: slot * INSN_SIZE, symbol: ".text", type: "call" });
      if (relocations.length > 1) relocations.sort((a, b) => a.offset - b.offset);
      // The optional fields only when present, in this order (no object spreads: this runs per program per compile).
      const out: ObjectProgram = { name: p.name, section: p.section, code: encodeInsns(insns), relocations };
      if (coreRelocations.length > 0) out.coreRelocations = coreRelocations;
      if (p.subprogram) out.subprogram = true;
      const attach = attachOf(fn?.program?.attach, p.section);
      if (attach) out.attach = attach;
      if (p.lines.length > 0) out.lines = objectLines(p, module, files);
      if (fn) out.proto = types.programProto(fn, callerContext.get(fn.name));
      return out;
    }),
    maps: module.maps.map((decl) => objectMap(decl, types)),
  };
}
