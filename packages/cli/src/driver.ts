/**
 * The compiler driver, usable in process: Lua source → IR → passes → eBPF → ELF object.
 * The command line is a thin shell around it; benchmarks and tests call it directly.
 */
import { compileModule, encodeInsns, printObjdump, type CompiledProgram } from "@luabpf/backend-ebpf";
import { btfInt, MapType, writeObject, type BpfObject, type BtfType, type ObjectMap } from "@luabpf/elf";
import { compileLua } from "@luabpf/frontend-lua";
import { CompileError, formatVerifierErrors, InternalError, printModule, verifyModule, type DataType, type MapDecl, type Module } from "@luabpf/ir";
import { formatStatistics, parsePipeline, PassManager, PassVerificationError, PipelineError, pipelineForLevel, type PipelineReport } from "@luabpf/passes";

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
export function codegen(module: Module): { programs: CompiledProgram[]; object: BpfObject } {
  const programs = compileModule(module);
  const object: BpfObject = {
    license: module.license,
    programs: programs.map((p) => ({
      name: p.name,
      section: p.section,
      code: encodeInsns(p.insns),
      relocations: p.relocations.map((r) => ({ offset: r.slot * 8, symbol: r.symbol })),
    })),
    maps: module.maps.map(objectMap),
  };
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
  return pm.run(module);
}

/** Compiles Lua source into an object description (throws CompileError on bad input). */
export function compileSource(source: string, options: DriverOptions): CompileResult {
  const module = compileLua(source, { file: options.file });
  const report = optimize(module, options);
  verifyBeforeCodegen(module, source, options);
  const ir = options.keepIr ? printModule(module) : undefined;
  const { programs, object } = codegen(module);
  return { module, programs, object, ir, report };
}

/**
 * Verifies the IR once before code generation, always: a front-end or pass bug must stop
 * here as an internal error, not reach the kernel as a miscompile. Cost: one verifier run
 * (linear plus a dominator tree). When the IR is broken, the compile is repeated with
 * verification after every stage, only to name the stage that broke it.
 *
 * @throws InternalError naming the stage and listing the verifier's findings
 */
export function verifyBeforeCodegen(module: Module, source: string, options: DriverOptions): void {
  const errors = verifyModule(module);
  if (errors.length === 0) return;
  throw new InternalError(`invalid IR before code generation, produced by ${brokenStage(source, options)}:\n${formatVerifierErrors(errors)}`);
}

/** Which stage first produces invalid IR for `source`: the front end, a named pass, or (not reproduced) the pipeline. */
function brokenStage(source: string, options: DriverOptions): string {
  try {
    const fresh = compileLua(source, { file: options.file });
    if (verifyModule(fresh).length > 0) return "the front end (frontend-lua)";
    optimize(fresh, { ...options, verifyEach: true, printAfterAll: false, printAfter: [] });
  } catch (e) {
    if (e instanceof PassVerificationError) return e.passName === "<input>" ? "the front end (frontend-lua)" : `pass '${e.passName}' (on @${e.functionName})`;
    return `the optimisation pipeline (repeating the compile failed: ${e instanceof Error ? e.message : String(e)})`;
  }
  return "the optimisation pipeline";
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
  return writeObject(compileSource(source, options).object);
}

/** The programs as `llvm-objdump -d` prints them. */
export function formatAssembly(fileName: string, programs: readonly CompiledProgram[]): string {
  return printObjdump(
    fileName,
    programs.map((p) => ({ name: p.section, insns: p.insns, symbols: [{ slot: 0, name: p.name }] })),
  );
}
