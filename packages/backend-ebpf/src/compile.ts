/**
 * The backend driver: IR module → per-program eBPF instructions and map relocations.
 *
 *   split critical edges → instruction selection (leaves SSA) → register allocation
 *   → frame layout and emission
 */
import { CompileError, DominatorTree, InternalError, LoopInfo, splitEdge, timePhase, type Function as IrFunction, type Module, type PhaseTimes } from "@luabpf/ir";
import { emitFunction } from "./emit.js";
import type { AsmRelocation, Insn } from "./isa/index.js";
import { selectFunction } from "./isel.js";
import { allocateRegisters, type RegAllocStats } from "./regalloc.js";

export interface CompiledProgram {
  /** Function (and ELF symbol) name. */
  name: string;
  /** libbpf section name. */
  section: string;
  /** Program type name, e.g. `socket_filter`. */
  type: string;
  insns: Insn[];
  relocations: AsmRelocation[];
  stats: RegAllocStats;
}

/**
 * Splits every critical edge (from a block with several successors to one with several
 * predecessors) that leads into phis: the copies that replace those phis need a place
 * of their own on that edge. Edges into phi-free blocks need no split.
 */
export function splitCriticalEdges(fn: IrFunction): number {
  let n = 0;
  for (const bb of [...fn.blocks]) {
    const term = bb.terminator;
    if (!term || term.targets.length < 2) continue;
    for (let k = 0; k < term.targets.length; k++) {
      const s = term.targets[k]!;
      if (s.preds.length > 1 && s.first?.opcode === "phi") {
        splitEdge(bb, s, k);
        n++;
      }
    }
  }
  return n;
}

/** Options of {@link compileFunction} and {@link compileModule}. */
export interface BackendOptions {
  /** Adds the time spent in instruction selection, register allocation and emission to this record. */
  times?: PhaseTimes;
}

/** Compiles one program function. */
export function compileFunction(fn: IrFunction, options: BackendOptions = {}): CompiledProgram {
  if (!fn.program) throw new InternalError(`function ${fn.name} is not a program`);
  const { times } = options;
  const mf = timePhase(times, "isel", () => {
    splitCriticalEdges(fn);
    const loops = LoopInfo.compute(fn, DominatorTree.compute(fn));
    return selectFunction(fn, (bb) => loops.depth(bb));
  });
  const stats = timePhase(times, "regalloc", () => allocateRegisters(mf));
  const { insns, relocations } = timePhase(times, "emit", () => emitFunction(mf));
  return { name: fn.name, section: fn.program.section, type: fn.program.type, insns, relocations, stats };
}

/** Compiles every program of the module. The module is consumed (critical edges get split). */
export function compileModule(m: Module, options: BackendOptions = {}): CompiledProgram[] {
  const out: CompiledProgram[] = [];
  for (const fn of m.functions) {
    if (!fn.program) continue;
    try {
      out.push(compileFunction(fn, options));
    } catch (e) {
      if (e instanceof CompileError || e instanceof InternalError) throw e;
      throw new InternalError(`backend failed on ${fn.name}: ${(e as Error).message}`, { cause: e });
    }
  }
  return out;
}
