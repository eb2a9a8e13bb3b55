/**
 * `luabpf opt`, as a library: LLVM's `opt` for this IR. Reads a module (`.ir` text, or Lua
 * through the front end), verifies it, runs a pass pipeline with the pass manager's
 * instrumentation (verify-each, print before/after/changed, bisection, statistics,
 * timing), verifies the result, and emits IR, Graphviz CFGs, eBPF assembly or an object —
 * or runs a function in the IR interpreter.
 *
 * The command (`commands/opt.ts`) parses options into an {@link OptRequest}; file tests call
 * {@link runOpt} directly with the same request, so `; run:` lines test exactly what the
 * command does.
 */
import { CompileError, formatVerifierErrors, parseModule, printFunction, printModule, verifyModule, type Module } from "@luabpf/ir";
import { formatPassTimes, type PipelineReport } from "@luabpf/passes";
import { codegen, formatAssembly, formatPassStats, formatStats, frontend, optimize, quietVerifyEach, verifyBeforeCodegen, type DriverOptions } from "./driver.js";
import { formatRunOutcome, interpretFunction, type InterpRunRequest } from "./interp-run.js";

/** What `opt` can emit. */
export type OptEmit = "ir" | "dot" | "asm" | "obj";

/** One `opt` invocation. */
export interface OptRequest {
  /** The input's name in diagnostics and listings. */
  file: string;
  /** The input text. */
  text: string;
  /** How to read it (default: Lua for `*.lua`, IR otherwise). */
  language?: "ir" | "lua";
  /** The pipeline and its instrumentation (no `passes` and no `optLevel`: no passes). */
  pipeline: Omit<DriverOptions, "file" | "log" | "keepIr">;
  emit?: OptEmit;
  /** Emit only these functions (`--filter-function`; IR and dot). */
  functions?: readonly string[];
  /** Print pass statistics (and, with code, the register allocator's) to `log`. */
  stats?: boolean;
  /** Print the pass timing report to `log`. */
  timePasses?: boolean;
  /** Run a function in the IR interpreter after the pipeline; its outcome is the output. */
  run?: InterpRunRequest;
  /** Standard error: printed IR, bisection lines, statistics. */
  log: (text: string) => void;
}

/** What an `opt` invocation produced. */
export interface OptResult {
  /** The output: text, or an object's bytes for `emit: "obj"`. */
  output: string | Uint8Array;
  module: Module;
  report: PipelineReport;
  /** With `run`: did the program trap? */
  trapped: boolean;
}

/** Reads the input module. IR input is checked by the parser and then by the verifier. */
export function readModule(req: Pick<OptRequest, "file" | "text" | "language">): Module {
  const language = req.language ?? (req.file.endsWith(".lua") ? "lua" : "ir");
  if (language === "lua") return frontend(req.text, req.file);
  const module = parseModule(req.text, { file: req.file });
  const errors = verifyModule(module);
  if (errors.length > 0) {
    throw new CompileError({ severity: "error", message: `${req.file}: the input is invalid IR:\n${formatVerifierErrors(errors)}` });
  }
  return module;
}

/** Runs one `opt` invocation. Throws CompileError (bad input), PassError/PassVerificationError, UsageError. */
export async function runOpt(req: OptRequest): Promise<OptResult> {
  const module = readModule(req);
  const pipeline = { ...req.pipeline, ...(req.pipeline.passes === undefined && req.pipeline.optLevel === undefined ? { passes: "" } : {}) };
  const report = optimize(module, { ...pipeline, log: req.log, passTimes: req.timePasses === true || req.stats === true });
  // Verified like the input; a broken output is blamed on the pass that broke it, found
  // by repeating the pipeline with verification after every pass.
  const reproduce = () => void optimize(readModule(req), quietVerifyEach(pipeline));
  verifyBeforeCodegen(module, reproduce);
  if (req.stats && req.emit !== "asm" && req.emit !== "obj") req.log(formatPassStats(report));
  if (req.timePasses) req.log(formatPassTimes(report));
  const shown = module.functions.filter((fn) => !req.functions || req.functions.length === 0 || req.functions.includes(fn.name));
  if (req.run) {
    const outcome = interpretFunction(module, req.run);
    return { output: formatRunOutcome(outcome), module, report, trapped: outcome.trap !== undefined };
  }
  let output: string | Uint8Array;
  switch (req.emit ?? "ir") {
    case "ir":
      output = shown.length === module.functions.length ? printModule(module) : shown.map(printFunction).join("\n");
      break;
    case "dot": {
      const { cfgToDot } = await import("./lazy/ir.js");
      output = shown.map((fn) => cfgToDot(fn, { instructions: true })).join("");
      break;
    }
    case "asm":
    case "obj": {
      const { programs, object } = codegen(module, reproduce);
      if (req.stats) req.log(formatStats({ report, programs }));
      if (req.emit === "asm") output = formatAssembly(req.file.replace(/^.*\//, "").replace(/\.(lua|ir)$/, "") + ".o", programs);
      else output = (await import("./lazy/elf.js")).writeObject(object);
      break;
    }
  }
  return { output, module, report, trapped: false };
}
