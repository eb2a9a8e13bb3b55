/**
 * The compiler driver, usable in process: Lua source → IR → passes → eBPF → ELF object.
 * The command line is a thin shell around it; benchmarks and tests call it directly.
 */
import { allocationProblem, compileModule, EBPF_TARGET, packageObject, printObjdump, type CompiledProgram, type CpuVersion } from "@luabpf/backend-ebpf";
import { writeObject, type BpfObject } from "@luabpf/elf";
import { luabpfVersion } from "./version.js";
import { compileLua, type KernelTypeSource } from "@luabpf/frontend-lua";
import { kernelTypeSource } from "./kernel-types.js";
import { CompileError, formatVerifierErrors, InternalError, printModule, timePhase, verifyModule, type Diagnostic, type Module, type PhaseTimes } from "@luabpf/ir";
import { cfgToDot } from "@luabpf/ir";
import { allocateIrc, allocationOfVRegs, defaultRegistry, inline, formatStatistics, interferenceGraph, interferenceToDot, PassError, PassManager, PassVerificationError, PipelineError, pipelineForLevel, type PassRegistry, type PipelineReport, type RegAllocKind } from "@luabpf/passes";

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
  /** Print the IR before the passes of these names, or before every pass (to `log`). */
  printBefore?: readonly string[] | "all";
  /** After each pass run that changed a function, print a diff (to `log`). */
  printChanged?: boolean;
  /** Print only these functions. */
  printFunctions?: readonly string[];
  /** Run only the first N pass executions and print each one's number (to `log`); -1: all. */
  bisectLimit?: number;
  /** Verify the IR after every pass (tests turn it on). */
  verifyEach?: boolean;
  /**
   * Measure each pass's time in the report (`--time-passes`, `--stats`); default off, the
   * times then 0 (the clock read twice per pass execution is ~0.5 % of a warm compile).
   */
  passTimes?: boolean;
  /** Where printed IR goes. */
  log?: (text: string) => void;
  /** Keep the optimised IR's text in the result (`--emit ir`). */
  keepIr?: boolean;
  /** The registry that `passes` and `printAfter` names are looked up in (default: the built-in passes). */
  registry?: PassRegistry;
  /** The `inline` pass's threshold in the -O pipelines (`--inline-threshold`). */
  inlineThreshold?: number;
  /** How numbers read in conditions (`--compat`); default: Lua's way, or the file's pragma. */
  compat?: "lua" | "bcc";
  /** Warnings are errors (`-Werror`). */
  warningsAsErrors?: boolean;
  /**
   * Kernel types for tracing programs and kernel type names (`--btf FILE`); default: the
   * running kernel's BTF and tracefs (kernel-types.ts), read only when a program needs them.
   */
  kernel?: KernelTypeSource;
  /** Receives each warning of the front end (the CLI prints them as `file:line:col: warning:`). */
  onWarning?: (d: Diagnostic) => void;
  /**
   * Adds the milliseconds spent in each phase to this record: parse, ssa, passes, verify
   * (the check before code generation), isel, regalloc, emit; elf in {@link compileToElf}.
   */
  times?: PhaseTimes;
  /** The eBPF ISA version to generate code for (`-mcpu=vN`, 1..4); default 3, as clang. */
  cpu?: CpuVersion;
  /** The register allocator (`--regalloc`): `auto` (default: IRC, linear scan for huge functions), `irc` or `linear`. */
  regalloc?: RegAllocKind;
  /**
   * Only the compiled code is wanted: code generation frees each function's IR once its
   * machine code is selected (see {@link CodegenOptions.discardIr}), and the result's
   * `module` keeps its maps and declarations but no function bodies. {@link compileToElf}
   * and the `compile` and `run` commands ask for it.
   */
  discardIr?: boolean;
}

/** Code generation options of {@link codegen}. */
export interface CodegenOptions {
  /** Adds the milliseconds of the verify, isel, regalloc and emit phases to this record. */
  times?: PhaseTimes;
  /** The eBPF ISA version (`-mcpu=vN`); default 3. */
  cpu?: CpuVersion;
  /** The register allocator (`--regalloc`); default `auto`. */
  regalloc?: RegAllocKind;
  /**
   * Free each function's IR body once its machine code is selected (the module is not read
   * again; its maps and declarations stay): at a million IR instructions the IR is ~0.6 GB
   * that would otherwise stay live, and be traced by every full garbage collection, while
   * registers are allocated and code is emitted.
   */
  discardIr?: boolean;
}

export interface CompileResult {
  /** The optimised IR module (without function bodies when compiled with `discardIr`). */
  module: Module;
  programs: CompiledProgram[];
  object: BpfObject;
  /** The IR after optimisation, as it reaches code generation (printed for `--emit ir`). */
  ir: string | undefined;
  /** What the optimisation pipeline did. */
  report: PipelineReport;
}

/**
 * Generates code for an IR module and packs it into an object description.
 *
 * The IR is verified first, always: a front-end or pass bug must stop here as an internal
 * error, not reach the kernel as a miscompile. Cost: one verifier run (linear plus a
 * dominator tree). When it fails, `reproduce` (if given) repeats the compile that produced
 * `module` with verification after every stage, only to name the stage that broke it.
 *
 * @throws InternalError when the IR is invalid, naming the stage and listing the findings
 */
export function codegen(module: Module, reproduce?: () => void, options: CodegenOptions = {}): { programs: CompiledProgram[]; object: BpfObject } {
  const { times, cpu, regalloc } = options;
  timePhase(times, "verify", () => verifyBeforeCodegen(module, reproduce));
  const programs = compileModule(module, { times, cpu, regalloc, ...(options.discardIr ? { discardIr: true } : {}) });
  const object = timePhase(times, "emit", () => packageObject(module, programs));
  // DWARF names the compiler, and the directory relative source names are relative to
  // (as clang records it), so llvm-objdump -S finds the sources from anywhere.
  object.debug = { producer: `luabpf ${luabpfVersion()}`, compDir: process.cwd() };
  return { programs, object };
}

/**
 * Throws an {@link InternalError} if `module` is invalid IR (see {@link codegen}); `reproduce`
 * repeats its compile with `verifyEach`, so that the pass manager names the stage.
 */
export function verifyBeforeCodegen(module: Module, reproduce?: () => void): void {
  const errors = verifyModule(module);
  if (errors.length === 0) return;
  throw new InternalError(`invalid IR before code generation, produced by ${brokenStage(reproduce)}:\n${formatVerifierErrors(errors)}`);
}

function brokenStage(reproduce: (() => void) | undefined): string {
  if (!reproduce) return "an unidentified stage";
  try {
    reproduce();
  } catch (e) {
    // A pass loaded with --load-pass (it has an origin) broke the IR or threw: its failure,
    // reported as such (exit 1, naming the pass), not a bug in luabpf.
    if ((e instanceof PassVerificationError || e instanceof PassError) && e.origin !== undefined) throw e;
    if (e instanceof PassVerificationError) return e.passName === "<input>" ? "the front end (frontend-lua)" : `pass '${e.passName}' (on @${e.functionName})`;
    return `an unidentified stage (repeating the compile failed: ${e instanceof Error ? e.message : String(e)})`;
  }
  return "an unidentified stage (not reproduced with verification after every pass)";
}

/** Runs the optimisation pipeline the options ask for over `module`, in place. */
export function optimize(module: Module, options: Omit<DriverOptions, "file">): PipelineReport {
  let passes;
  const registry = options.registry ?? defaultRegistry;
  try {
    passes = options.passes !== undefined ? registry.parse(options.passes) : pipelineForLevel(options.optLevel ?? 2, registry);
    const threshold = options.inlineThreshold;
    if (threshold !== undefined && options.passes === undefined) passes = passes.map((p) => (p.name === "inline" ? inline({ threshold }) : p));
  } catch (e) {
    if (e instanceof PipelineError) throw new CompileError({ severity: "error", message: `--passes: ${e.message}` });
    throw e;
  }
  const printAfter = options.printAfterAll ? "all" : options.printAfter && options.printAfter.length > 0 ? options.printAfter : undefined;
  const printBefore = options.printBefore === "all" || (options.printBefore?.length ?? 0) > 0 ? options.printBefore : undefined;
  const log = options.log;
  const pm = new PassManager(passes, {
    verify: options.verifyEach ?? false,
    timing: options.passTimes ?? false,
    ...(printAfter ? { printAfter, printChangedOnly: false } : {}),
    ...(printBefore ? { printBefore } : {}),
    ...(options.printChanged ? { printChanged: true } : {}),
    ...(options.printFunctions ? { printFunctions: options.printFunctions } : {}),
    ...(options.bisectLimit !== undefined ? { bisectLimit: options.bisectLimit, ...(log ? { onBisect: (line: string) => log(line + "\n") } : {}) } : {}),
    ...(log ? { onPrint: log } : {}),
  });
  return timePhase(options.times, "passes", () => pm.run(module));
}

/** `options` with verification after every pass and nothing printed (to name a stage that broke the IR). */
export function quietVerifyEach<T extends Omit<DriverOptions, "file">>(options: T): T {
  return { ...options, verifyEach: true, printAfterAll: false, printAfter: [], printBefore: [], printChanged: false, log: undefined };
}

/** What the front end takes from the driver's options. */
export type FrontendOptions = Pick<DriverOptions, "compat" | "warningsAsErrors" | "onWarning" | "times" | "kernel">;

/** The front end: Lua source → IR module (throws CompileError on bad input); warnings go to `onWarning`. */
export function frontend(source: string, file: string, options: FrontendOptions = {}): Module {
  const warnings: Diagnostic[] = [];
  const module = compileLua(source, {
    file,
    warnings,
    kernel: options.kernel ?? kernelTypeSource(),
    ...(options.compat ? { compat: options.compat } : {}),
    ...(options.warningsAsErrors ? { warningsAsErrors: true } : {}),
    ...(options.times ? { times: options.times } : {}),
  });
  for (const w of warnings) options.onWarning?.(w);
  return module;
}

/**
 * Compiles Lua source into an object description (throws CompileError on bad input).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeObject } from "@luabpf/elf";
 * import { compileSource } from "luabpf";
 *
 * const source = "local bpf = require('bpf')\nbpf.xdp(function (ctx)\n  return 2\nend)\n";
 * const result = compileSource(source, { file: "pass.lua", optLevel: 2 });
 * assert.deepEqual(result.object.programs.map((p) => p.section), ["xdp"]);
 * assert.ok(writeObject(result.object).length > 0);
 * ```
 */
export function compileSource(source: string, options: DriverOptions): CompileResult {
  const module = frontend(source, options.file, options);
  const report = optimize(module, options);
  const ir = options.keepIr ? printModule(module) : undefined;
  const reproduce = (): void => void optimize(frontend(source, options.file, { ...(options.compat ? { compat: options.compat } : {}), ...(options.kernel ? { kernel: options.kernel } : {}) }), quietVerifyEach({ ...options, times: undefined }));
  const { programs, object } = codegen(module, reproduce, { times: options.times, cpu: options.cpu, regalloc: options.regalloc, ...(options.discardIr ? { discardIr: true } : {}) });
  return { module, programs, object, ir, report };
}

/** `--stats` when no code is generated: the pass statistics. */
export function formatPassStats(report: PipelineReport): string {
  return formatStatistics(report) + "\n";
}

/** `--stats`: the pass statistics and, per program, the register allocator's. */
export function formatStats(result: Pick<CompileResult, "report" | "programs">): string {
  const lines = [formatStatistics(result.report)];
  for (const p of result.programs) {
    const s = p.stats;
    lines.push(`${p.name}: ${p.insns.length} instructions, ${s.spills} spills, ${s.reloads} reloads, ${s.copiesRemoved} copies removed`);
  }
  return lines.join("\n") + "\n";
}

/** Compiles Lua source to the bytes of an ELF object. */
export function compileToElf(source: string, options: DriverOptions): Uint8Array {
  const { object } = compileSource(source, { ...options, discardIr: true });
  return timePhase(options.times, "elf", () => writeObject(object));
}

/** `--emit dot`: the CFG of every function, one Graphviz digraph each, instructions in the nodes. */
export async function formatCfgDot(module: Module): Promise<string> {
  return module.functions.map((fn) => cfgToDot(fn, { instructions: true })).join("");
}

/**
 * `--emit dot=interference`: the register interference graph of each function (programs and
 * the BPF-to-BPF functions they call, which are allocated the same way), as instruction
 * selection hands it to the register allocator, with the register each value got.
 */
export async function formatInterferenceDot(module: Module): Promise<string> {
  let out = "";
  for (const fn of module.functions) {
    const described = allocationProblem(fn);
    const placed = allocationOfVRegs(described, allocateIrc(described, EBPF_TARGET));
    out += interferenceToDot(fn.name, interferenceGraph(described, EBPF_TARGET), EBPF_TARGET, placed);
  }
  return out;
}

/**
 * The programs as `llvm-objdump -d` prints them; with `sources` (file name → text), as
 * `llvm-objdump -S` prints them: before the first instruction of each new source line,
 * `; ` and that line's text.
 */
export function formatAssembly(fileName: string, programs: readonly CompiledProgram[], sources?: ReadonlyMap<string, string>): string {
  const split = new Map<string, string[]>();
  const textOf = (file: string, line: number): string | undefined => {
    const text = sources?.get(file);
    if (text === undefined) return undefined;
    let lines = split.get(file);
    if (!lines) split.set(file, (lines = text.split(/\r?\n/)));
    return lines[line - 1];
  };
  return printObjdump(
    fileName,
    programs.map((p) => {
      const source: { slot: number; text: string }[] = [];
      let previous = "";
      for (const { slot, loc } of sources ? p.lines : []) {
        const key = `${loc.file}:${loc.line}`;
        if (key === previous) continue;
        previous = key;
        const text = textOf(loc.file, loc.line);
        if (text !== undefined) source.push({ slot, text });
      }
      return { name: p.section, insns: p.insns, symbols: [{ slot: 0, name: p.name }], source };
    }),
  );
}
