/**
 * The backend driver: IR module → per-program eBPF instructions and map relocations.
 *
 *   leave SSA + instruction selection (leave-ssa.ts, isel.ts) → register allocation
 *   (regalloc.ts) → peepholes (peephole.ts) → superoptimizer rules (superopt.ts) → frame layout, block
 *   placement (placement.ts) and emission (emit.ts) →
 *   linking of BPF-to-BPF calls (link.ts)
 *
 * Programs are compiled with every function they call (transitively); those functions
 * become subprograms in `.text`, as clang lays them out.
 *
 * The IR module is only read: compiling it twice gives the same code, and it can be
 * printed or interpreted afterwards — unless the caller asks for `discardIr` (it wants only
 * the object): then each function's body is freed as soon as its machine code is selected,
 * so that the IR is not live while registers are allocated and code is emitted (at a
 * million instructions it is ~0.6 GB, which every full garbage collection traces).
 */
import { CompileError, DominatorTree, InternalError, LoopInfo, timePhase, type Function as IrFunction, type Module, type PhaseTimes, type SourceLocation } from "@luabpf/ir";
import type { RegAllocFunction, RegAllocKind } from "@luabpf/passes";
import { emitFunction, type CallSite, type LineRow } from "./emit.js";
import { linkCalls } from "./link.js";
import { fillCoreValues } from "./object.js";
import type { AsmCoreRelocation, AsmRelocation, CpuVersion, Insn } from "./isa/index.js";
import { selectFunction } from "./isel.js";
import { peephole } from "./peephole.js";
import { harvestWindows, superoptimize, type HarvestedWindow } from "./superopt.js";
import type { MFunction } from "./mir.js";
import { allocateRegisters, describeFunction, type RegAllocStats } from "./regalloc.js";

export interface CompiledProgram {
  /** Function (and ELF symbol) name. */
  name: string;
  /** libbpf section name. */
  section: string;
  /** Program type name, e.g. `socket_filter`. */
  type: string;
  insns: Insn[];
  relocations: AsmRelocation[];
  /** Source lines: the location of the instructions from each row's slot on. */
  lines: LineRow[];
  /** Instructions materialising CO-RE relocations of the module (their immediates are filled in by packageObject). */
  coreRelocations: AsmCoreRelocation[];
  stats: RegAllocStats;
  /** BPF-to-BPF call sites (their `imm` is filled in by linking). */
  calls: CallSite[];
  /** The functions this one calls (BPF-to-BPF), in the order of their first call (what packaging reads the call graph from). */
  callees: string[];
  /** Slots of calls from a program section into `.text`, which need an `R_BPF_64_32` relocation (set by linking). */
  textCalls: number[];
  /** The stack frame in bytes. */
  frameSize: number;
  /** A function programs call, laid out in `.text`; not a program of its own. */
  subprogram: boolean;
}

/** Instruction selection of `fn` with loop depths for spill costs. */
function select(fn: IrFunction, cpu?: CpuVersion): MFunction {
  return selectFunction(fn, LoopInfo.compute(fn, DominatorTree.compute(fn)), { cpu });
}

/** Options of {@link compileFunction} and {@link compileModule}. */
export interface BackendOptions {
  /** Adds the time spent in instruction selection, register allocation and emission to this record. */
  times?: PhaseTimes;
  /** The eBPF ISA version to generate code for (`-mcpu=vN`); default v3, as clang. */
  cpu?: CpuVersion;
  /** The register allocator (`--regalloc`); default `auto`: IRC, linear scan for huge functions. */
  regalloc?: RegAllocKind;
  /**
   * Free each function's IR body once its machine code is selected ({@link IrFunction.discardBody}):
   * for a caller that wants only the compiled code and will not read the module's functions again.
   */
  discardIr?: boolean;
}

/** Compiles one function: a program, or (without `fn.program`) a subprogram for `.text`. */
export function compileFunction(fn: IrFunction, options: BackendOptions = {}): CompiledProgram {
  return compileWithCallees(fn, calleesOf(fn), options);
}

/** {@link compileFunction} with the functions `fn` calls known ({@link compileModule} has walked them). */
function compileWithCallees(fn: IrFunction, callees: string[], options: BackendOptions): CompiledProgram {
  const { times, cpu, regalloc } = options;
  const mf = timePhase(times, "isel", () => select(fn, cpu));
  // What emission may need of the IR, taken before it is freed.
  let start: SourceLocation | undefined;
  const startOf = options.discardIr ? ((start = programStart(fn)), () => start) : () => programStart(fn);
  if (options.discardIr) fn.discardBody();
  const stats = timePhase(times, "regalloc", () => allocateRegisters(mf, regalloc ? { regalloc } : {}));
  timePhase(times, "emit", () => peephole(mf));
  timePhase(times, "emit", () => superoptimize(mf, { cpu }));
  const { insns, relocations, coreRelocations, lines, calls, frameSize } = timePhase(times, "emit", () => withProgramLocation(startOf, () => emitFunction(mf, { cpu })));
  const subprogram = !fn.program;
  return { name: fn.name, section: fn.program?.section ?? ".text", type: fn.program?.type ?? "", insns, relocations, coreRelocations, lines, stats, calls, callees, textCalls: [], frameSize, subprogram };
}

/** The functions `fn` calls (BPF-to-BPF), in instruction order. */
export function calleesOf(fn: IrFunction): string[] {
  const out: string[] = [];
  for (const bb of fn.blocks) for (let inst = bb.first; inst; inst = inst.next) if (inst.opcode === "call" && inst.callee !== undefined && !out.includes(inst.callee)) out.push(inst.callee);
  return out;
}

/** Where the body of `fn` starts: the earliest location among its instructions. */
function programStart(fn: IrFunction): SourceLocation | undefined {
  let first: SourceLocation | undefined;
  for (const bb of fn.blocks) {
    for (let inst = bb.first; inst; inst = inst.next) {
      const l = inst.loc;
      if (l && (!first || l.line < first.line || (l.line === first.line && l.column < first.column))) first = l;
    }
  }
  return first;
}

/**
 * Runs `f`; a diagnostic it reports without a location (the stack frame limit) gets the
 * location where the program's body starts (`start`, {@link programStart}).
 */
function withProgramLocation<T>(start: () => SourceLocation | undefined, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof CompileError) || e.diagnostics.every((d) => d.location)) throw e;
    const first = start();
    if (!first) throw e;
    throw new CompileError(e.diagnostics.map((d) => (d.location ? d : { ...d, location: first })), { cause: e });
  }
}

/**
 * Compiles every program of the module and the functions they call, then links the
 * calls (the module is not modified, unless `discardIr`). Functions no program calls are not compiled.
 */
export function compileModule(m: Module, options: BackendOptions = {}): CompiledProgram[] {
  const needed = new Set<string>();
  /** The callees of each function walked (each body is walked once). */
  const calls = new Map<string, string[]>();
  const work = m.functions.filter((f) => f.program).map((f) => f.name);
  while (work.length > 0) {
    const name = work.pop()!;
    const fn = m.getFunction(name);
    if (!fn) throw new InternalError(`call of an undefined function @${name}`);
    let callees = calls.get(name);
    if (!callees) calls.set(name, (callees = calleesOf(fn)));
    for (const callee of callees) {
      if (!needed.has(callee)) {
        needed.add(callee);
        work.push(callee);
      }
    }
  }
  const out: CompiledProgram[] = [];
  for (const fn of m.functions) {
    if (!fn.program && !needed.has(fn.name)) {
      if (options.discardIr) fn.discardBody();
      continue;
    }
    try {
      out.push(compileWithCallees(fn, calls.get(fn.name) ?? calleesOf(fn), options));
    } catch (e) {
      if (e instanceof CompileError || e instanceof InternalError) throw e;
      throw new InternalError(`backend failed on ${fn.name}: ${(e as Error).message}`, { cause: e });
    }
  }
  linkCalls(out);
  for (const p of out) fillCoreValues(m, p);
  return out;
}

/**
 * The register allocation problem of `fn` as the allocator sees it (blocks, operands with
 * constraints, clobbers, copies; see `@luabpf/passes` regalloc/interface.ts), for tools
 * that show interference graphs or try other allocators. Solve it against `EBPF_TARGET`.
 */
export function allocationProblem(fn: IrFunction): RegAllocFunction {
  return describeFunction(select(fn));
}

/**
 * The instruction windows of `fn`'s allocated machine code (after the peepholes, before
 * the superoptimizer's rules, so that a search from scratch finds the same table), with
 * the registers live after each and what is known of their widths: what the offline
 * superoptimizer (`npm run superopt`) searches for shorter equivalents.
 */
export function superoptWindows(fn: IrFunction, options: BackendOptions = {}): HarvestedWindow[] {
  const mf = select(fn, options.cpu);
  allocateRegisters(mf);
  peephole(mf);
  return harvestWindows(mf);
}
