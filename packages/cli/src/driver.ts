/**
 * The compiler driver, usable in process: Lua source → IR → passes → eBPF → ELF object.
 * The command line is a thin shell around it; benchmarks and tests call it directly.
 */
import { compileModule, encodeInsns, printObjdump, type CompiledProgram } from "@luabpf/backend-ebpf";
import { btfInt, MapType, writeObject, type BpfObject, type BtfType, type ObjectMap } from "@luabpf/elf";
import { compileLua } from "@luabpf/frontend-lua";
import { CompileError, printModule, timePhase, type DataType, type MapDecl, type Module, type PhaseTimes } from "@luabpf/ir";
import { formatStatistics, parsePipeline, PassManager, PipelineError, pipelineForLevel, type PipelineReport } from "@luabpf/passes";

export interface DriverOptions {
  /** Source file name used in diagnostics and listings. */
  file: string;
  /** Optimisation level (default 2); ignored when `passes` is given. */
  optLevel?: 0 | 1 | 2;
  /** A textual pipeline, e.g. `"sccp,gvn,dce,simplify-cfg"`. */
  passes?: string;
  /** Print the IR after every pass (to `log`). */
  printAfterAll?: boolean;
  /** Print the IR after the passes of these names (to `log`). */
  printAfter?: readonly string[];
  /** Verify the IR after every pass (tests turn it on). */
  verifyEach?: boolean;
  /** Where printed IR goes. */
  log?: (text: string) => void;
  /** Keep the optimised IR's text in the result (`--emit ir`). */
  keepIr?: boolean;
  /** Adds the milliseconds spent in each phase (parse, ssa, passes, isel, regalloc, emit; elf in {@link compileToElf}) to this record. */
  times?: PhaseTimes;
}

export interface CompileResult {
  module: Module;
  programs: CompiledProgram[];
  object: BpfObject;
  /** The IR after optimisation, as it reaches code generation (printed for `--emit ir`). */
  ir: string | undefined;
  /** What the optimisation pipeline did. */
  report: PipelineReport;
}

const INT_NAMES: Record<number, string> = { 1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long long" };

function btfOf(t: DataType): BtfType | undefined {
  return t.kind === "int" ? btfInt(INT_NAMES[t.size]!, t.size, false) : undefined;
}

/** The ELF description of a map declaration. */
export function objectMap(decl: MapDecl): ObjectMap {
  const type = (MapType as Record<string, number>)[decl.kind];
  if (type === undefined) throw new CompileError({ severity: "error", message: `map ${decl.name}: unsupported map type ${decl.kind}` });
  const m: ObjectMap = { name: decl.name, type, keySize: decl.key.size, valueSize: decl.value.size, maxEntries: decl.maxEntries, flags: decl.flags };
  const key = btfOf(decl.key);
  const value = btfOf(decl.value);
  if (key) m.key = key;
  if (value) m.value = value;
  return m;
}

/** Generates code for an IR module and packs it into an object description. */
export function codegen(module: Module, times?: PhaseTimes): { programs: CompiledProgram[]; object: BpfObject } {
  const programs = compileModule(module, { times });
  const object: BpfObject = timePhase(times, "emit", () => ({
    license: module.license,
    programs: programs.map((p) => ({
      name: p.name,
      section: p.section,
      code: encodeInsns(p.insns),
      relocations: p.relocations.map((r) => ({ offset: r.slot * 8, symbol: r.symbol })),
    })),
    maps: module.maps.map(objectMap),
  }));
  return { programs, object };
}

/** Runs the optimisation pipeline the options ask for over `module`, in place. */
export function optimize(module: Module, options: Omit<DriverOptions, "file">): PipelineReport {
  let passes;
  try {
    passes = options.passes !== undefined ? parsePipeline(options.passes) : pipelineForLevel(options.optLevel ?? 2);
  } catch (e) {
    if (e instanceof PipelineError) throw new CompileError({ severity: "error", message: `--passes: ${e.message}` });
    throw e;
  }
  const printAfter = options.printAfterAll ? "all" : options.printAfter && options.printAfter.length > 0 ? options.printAfter : undefined;
  const log = options.log;
  const pm = new PassManager(passes, {
    verify: options.verifyEach ?? false,
    ...(printAfter ? { printAfter, printChangedOnly: false } : {}),
    ...(log ? { onPrint: log } : {}),
  });
  return timePhase(options.times, "passes", () => pm.run(module));
}

/** Compiles Lua source into an object description (throws CompileError on bad input). */
export function compileSource(source: string, options: DriverOptions): CompileResult {
  const module = compileLua(source, { file: options.file, times: options.times });
  const report = optimize(module, options);
  const ir = options.keepIr ? printModule(module) : undefined;
  const { programs, object } = codegen(module, options.times);
  return { module, programs, object, ir, report };
}

/** `--stats`: the pass statistics and, per program, the register allocator's. */
export function formatStats(result: CompileResult): string {
  const lines = [formatStatistics(result.report)];
  for (const p of result.programs) {
    const s = p.stats;
    lines.push(`${p.name}: ${p.insns.length} instructions, ${s.spills} spills, ${s.reloads} reloads, ${s.copiesRemoved} copies removed`);
  }
  return lines.join("\n") + "\n";
}

/** Compiles Lua source to the bytes of an ELF object. */
export function compileToElf(source: string, options: DriverOptions): Uint8Array {
  const { object } = compileSource(source, options);
  return timePhase(options.times, "elf", () => writeObject(object));
}

/** The programs as `llvm-objdump -d` prints them. */
export function formatAssembly(fileName: string, programs: readonly CompiledProgram[]): string {
  return printObjdump(
    fileName,
    programs.map((p) => ({ name: p.section, insns: p.insns, symbols: [{ slot: 0, name: p.name }] })),
  );
}
