/**
 * The front end's entry point: Lua source → IR module.
 *
 *   parse (parse.ts) → evaluate the top level (compile-time.ts) → declare the maps →
 *   lower each program body (lower.ts, with SSA construction in ssa.ts)
 *
 * All diagnostics of the top level and of every program body are collected and thrown
 * together as one {@link CompileError}.
 */
import { InternalError, Module, CompileError, timePhase, type PhaseTimes } from "@luabpf/ir";
import { evaluateTopLevel } from "./compile-time.js";
import { DiagnosticBag } from "./diagnostics.js";
import { lowerProgram } from "./lower.js";
import { parseLua, type ParsedChunk } from "./parse.js";

/** Options of {@link compileLua}. */
export interface CompileLuaOptions {
  /** The file name used in diagnostics and source locations. */
  file: string;
  /** Adds the time spent parsing (`parse`) and building SSA (`ssa`) to this record. */
  times?: PhaseTimes;
}

/**
 * Compiles a luabpf program file to an IR module: one function per program declaration
 * (with `fn.program` set) and the maps they share. Throws a {@link CompileError} listing
 * every error found; never any other exception on bad input.
 */
export function compileLua(source: string, options: CompileLuaOptions): Module {
  const { file, times } = options;
  const { chunk } = timePhase(times, "parse", () => parseLua(source, file));
  const module = timePhase(times, "ssa", () => lowerChunk(chunk, file));
  module.sources.set(file, source);
  return module;
}

function lowerChunk(chunk: ParsedChunk["chunk"], file: string): Module {
  const bag = new DiagnosticBag();
  const top = evaluateTopLevel(chunk, file, bag);
  const module = new Module();
  module.license = "GPL";
  for (const m of top.maps) module.addMap(m.decl);
  // Programs are named after their Lua function when it has a name (`local function
  // count_proto(skb)`), else after their section; ELF symbols share one namespace with maps.
  const names = new Set<string>(module.maps.map((m) => m.name));
  for (const program of top.programs) {
    const name = uniqueName(functionName(program.fn.name ?? program.section), names);
    bag.attempt(() => {
      try {
        lowerProgram(module, program, name, file);
      } catch (e) {
        if (e instanceof CompileError || e instanceof InternalError) throw e;
        throw new InternalError(`lowering ${name} failed: ${String(e)}`, { cause: e });
      }
    });
  }
  bag.throwIfErrors();
  return module;
}

/** The section name with every character that cannot appear in an identifier replaced by `_`. */
export function functionName(section: string): string {
  const name = section.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
  taken.add(name);
  return name;
}
