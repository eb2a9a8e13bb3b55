/**
 * The backend driver: IR module → per-program eBPF instructions and map relocations.
 *
 *   split critical edges → instruction selection (leaves SSA) → register allocation
 *   → frame layout and emission → linking of BPF-to-BPF calls (link.ts)
 *
 * Programs are compiled with every function they call (transitively); those functions
 * become subprograms in `.text`, as clang lays them out.
 */
import { CompileError, DominatorTree, InternalError, LoopInfo, splitEdge, type Function as IrFunction, type Module } from "@luabpf/ir";
import { emitFunction, type CallSite } from "./emit.js";
import { linkCalls } from "./link.js";
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
  /** BPF-to-BPF call sites (their `imm` is filled in by linking). */
  calls: CallSite[];
  /** Slots of calls from a program section into `.text`, which need an `R_BPF_64_32` relocation (set by linking). */
  textCalls: number[];
  /** The stack frame in bytes. */
  frameSize: number;
  /** A function programs call, laid out in `.text`; not a program of its own. */
  subprogram: boolean;
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

/** Compiles one function: a program, or (without `fn.program`) a subprogram for `.text`. */
export function compileFunction(fn: IrFunction): CompiledProgram {
  splitCriticalEdges(fn);
  const loops = LoopInfo.compute(fn, DominatorTree.compute(fn));
  const mf = selectFunction(fn, (bb) => loops.depth(bb));
  const stats = allocateRegisters(mf);
  const { insns, relocations, calls, frameSize } = emitFunction(mf);
  const subprogram = !fn.program;
  return { name: fn.name, section: fn.program?.section ?? ".text", type: fn.program?.type ?? "", insns, relocations, stats, calls, textCalls: [], frameSize, subprogram };
}

/** The functions `fn` calls (BPF-to-BPF), in instruction order. */
export function calleesOf(fn: IrFunction): string[] {
  const out: string[] = [];
  for (const inst of fn.instructions()) if (inst.opcode === "call" && inst.callee !== undefined && !out.includes(inst.callee)) out.push(inst.callee);
  return out;
}

/**
 * Compiles every program of the module and the functions they call, then links the
 * calls. The module is consumed (critical edges get split). Functions no program calls
 * are not compiled.
 */
export function compileModule(m: Module): CompiledProgram[] {
  const needed = new Set<string>();
  const work = m.functions.filter((f) => f.program).map((f) => f.name);
  while (work.length > 0) {
    const name = work.pop()!;
    const fn = m.getFunction(name);
    if (!fn) throw new InternalError(`call of an undefined function @${name}`);
    for (const callee of calleesOf(fn)) {
      if (!needed.has(callee)) {
        needed.add(callee);
        work.push(callee);
      }
    }
  }
  const out: CompiledProgram[] = [];
  for (const fn of m.functions) {
    if (!fn.program && !needed.has(fn.name)) continue;
    try {
      out.push(compileFunction(fn));
    } catch (e) {
      if (e instanceof CompileError || e instanceof InternalError) throw e;
      throw new InternalError(`backend failed on ${fn.name}: ${(e as Error).message}`, { cause: e });
    }
  }
  linkCalls(out);
  return out;
}
