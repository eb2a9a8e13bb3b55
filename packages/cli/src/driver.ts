/**
 * The compiler driver, usable in process: Lua source → IR → passes → eBPF → ELF object.
 * The command line is a thin shell around it; benchmarks and tests call it directly.
 */
import { compileModule, packageObject, printObjdump, type CompiledProgram } from "@luabpf/backend-ebpf";
import { writeObject, type BpfObject } from "@luabpf/elf";
import { compileLua } from "@luabpf/frontend-lua";
import { CompileError, printModule, type Module } from "@luabpf/ir";
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

/** Generates code for an IR module and packs it into an object description. */
export function codegen(module: Module): { programs: CompiledProgram[]; object: BpfObject } {
  const programs = compileModule(module);
  return { programs, object: packageObject(module, programs) };
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
  const ir = options.keepIr ? printModule(module) : undefined;
  const { programs, object } = codegen(module);
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
  return writeObject(compileSource(source, options).object);
}

/** The programs as `llvm-objdump -d` prints them. */
export function formatAssembly(fileName: string, programs: readonly CompiledProgram[]): string {
  return printObjdump(
    fileName,
    programs.map((p) => ({ name: p.section, insns: p.insns, symbols: [{ slot: 0, name: p.name }] })),
  );
}
