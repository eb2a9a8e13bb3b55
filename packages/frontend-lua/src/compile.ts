/**
 * The front end's entry point: Lua source → IR module.
 *
 *   parse (parse.ts) → run the top level at compile time (toplevel/) → declare the maps →
 *   lower each program body (lower/, with SSA construction in ssa.ts), and the Lua
 *   functions they call
 *
 * All diagnostics of the top level and of every program body are collected and thrown
 * together as one {@link CompileError}; warnings go to `options.warnings` (or become
 * errors with `warningsAsErrors`).
 */
import { InternalError, Module, CompileError, timePhase, type Diagnostic, type PhaseTimes } from "@luabpf/ir";
import { isLuabpfError } from "@luabpf/platform/errors";
import { DiagnosticBag } from "./diagnostics.js";
import { KernelTypes, type KernelTypeSource } from "./kernel/index.js";
import { checkProgram } from "./lower/tracing.js";
import { ModuleLowering, type Compat } from "./lower/module.js";
import { parseLua, type ParsedChunk } from "./parse.js";
import { evaluateTopLevel } from "./toplevel/interpreter.js";

/** Options of {@link compileLua}. */
export interface CompileLuaOptions {
  /** The file name used in diagnostics and source locations. */
  file: string;
  /**
   * How a number in a condition is read: `lua` (default: always true, with a warning) or
   * `bcc` (C-style, `~= 0`, as bcc compiled it). A file can also say
   * `-- luabpf: compat=bcc` (or `=lua`) in a comment line; the option wins.
   */
  compat?: Compat;
  /** Receives the warnings of a successful compilation. */
  warnings?: Diagnostic[];
  /** Warnings are errors (`-Werror`). */
  warningsAsErrors?: boolean;
  /**
   * The kernel's types (its BTF, tracepoint formats): C type names fall back to them, and
   * tracing programs get typed contexts and arguments (lower/tracing.ts). Without them,
   * kernel types are unknown names.
   */
  kernel?: KernelTypeSource | KernelTypes;
  /** Adds the time spent parsing (`parse`) and building SSA (`ssa`, the top level included) to this record. */
  times?: PhaseTimes;
}

/** `-- luabpf: compat=bcc` in a comment line of the file. */
const PRAGMA = /^[ \t]*--[ \t]*luabpf:[ \t]*compat[ \t]*=[ \t]*(bcc|lua)\b/m;

/**
 * Compiles a luabpf program file to an IR module: one function per program declaration
 * (with `fn.program` set), one per specialised Lua function the programs call, and the
 * maps they share. Throws a {@link CompileError} listing every error found; never any
 * other exception on bad input.
 */
export function compileLua(source: string, options: CompileLuaOptions): Module {
  const { file, times } = options;
  const parsed = timePhase(times, "parse", () => parseLua(source, file));
  const module = timePhase(times, "ssa", () => lowerFile(source, parsed, options));
  module.sources.set(file, source);
  return module;
}

function lowerFile(source: string, parsed: ParsedChunk, options: CompileLuaOptions): Module {
  const { file } = options;
  const bag = new DiagnosticBag();
  const kernel = options.kernel === undefined ? undefined : options.kernel instanceof KernelTypes ? options.kernel : new KernelTypes(options.kernel);
  const top = evaluateTopLevel(parsed, file, bag, kernel?.scope());
  const module = new Module();
  module.license = "GPL";
  for (const m of top.maps) module.addMap(m.decl);
  const compat = options.compat ?? (PRAGMA.exec(source)?.[1] as Compat | undefined) ?? "lua";
  const unit = new ModuleLowering(module, file, source, parsed, top, compat, bag, kernel);
  // Programs are named after their Lua function when it has a name (`local function
  // count_proto(skb)`), else after their section; ELF symbols share one namespace with maps.
  const names = new Set<string>(module.maps.map((m) => m.name));
  for (const program of top.programs) {
    const name = uniqueName(functionName(program.fn.name ?? program.section), names, module);
    bag.attempt(() => {
      try {
        checkProgram(unit, unit.lowerProgram(program, name), program);
      } catch (e) {
        // luabpf's own errors keep their kind (a located CompileError, a tracefs format file
        // the kernel gave us that cannot be read, an InternalError); anything else is a bug.
        if (isLuabpfError(e)) throw e;
        throw new InternalError(`lowering ${name} failed: ${String(e)}`, { cause: e });
      }
    });
  }
  if (top.programs.length === 0 && !bag.hasErrors) {
    bag.add({ severity: "error", message: "the file declares no program: declare one with bpf.socket(function (skb) ... end), bpf.kprobe('symbol', function (ctx) ... end), ... or bpf(function ... end)", location: { file, line: 1, column: 1 } });
  }
  if (options.warningsAsErrors) {
    for (const d of bag.diagnostics) if (d.severity === "warning") d.severity = "error";
  }
  bag.throwIfErrors();
  options.warnings?.push(...bag.diagnostics.filter((d) => d.severity === "warning"));
  return module;
}

const IDENTIFIER = /^[A-Za-z0-9_]*$/;

/** The section name with every character that cannot appear in an identifier replaced by `_`. */
export function functionName(section: string): string {
  const name = IDENTIFIER.test(section) ? section : section.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

function uniqueName(base: string, taken: Set<string>, module: Module): string {
  let name = base;
  for (let n = 2; taken.has(name) || module.getFunction(name); n++) name = `${base}_${n}`;
  taken.add(name);
  return name;
}
