/**
 * The pass manager: runs a sequence of passes over a module (or one function), with the
 * instrumentation a compiler researcher needs to trust and measure it:
 *
 * - `verify`: runs the IR verifier on the input and after every pass execution; a failure
 *   throws {@link PassVerificationError} naming the pass and function with the IR before
 *   and after (Binaryen's pass-debug mode);
 * - `checkAnalyses`: after each pass, recomputes every analysis the pass claimed to
 *   preserve and compares (LLVM's `-verify-analysis-invalidation`);
 * - `printAfter`: prints the function after the named passes (or all) to `onPrint`;
 * - per-pass timing and statistics: instructions/blocks removed and added, and every
 *   `ctx.stat(...)` counter of the pass;
 * - `stopAfter: n`: runs only the first n pass executions (one execution = one pass on one
 *   function), for bisecting a miscompile (LLVM's `-opt-bisect-limit`).
 *
 * Order: pass by pass, each function pass over all functions in module order (Binaryen's
 * order), so "after pass k" is a whole-module state. Output is deterministic.
 */
import { formatVerifierErrors, Function, InternalError, printFunction, verifyFunction, type Module } from "@luabpf/ir";
import { AnalysisManager, Preserved } from "./analysis-manager.js";
import { passToString, type Pass, type PassResult } from "./pass.js";

/** Options of a {@link PassManager}. */
export interface PassManagerOptions {
  /** Verify the input and the IR after every pass execution (on in tests). Default false. */
  verify?: boolean;
  /** Check that analyses a pass claims to preserve equal fresh ones. Default false. */
  checkAnalyses?: boolean;
  /** Print the function after these passes (by name), or after every pass. */
  printAfter?: readonly string[] | "all";
  /** Print only changed functions (default true). */
  printChangedOnly?: boolean;
  /** Where printed IR goes; default: collected in {@link PipelineReport.printed} only. */
  onPrint?: (text: string) => void;
  /** Run at most this many pass executions (bisection). */
  stopAfter?: number;
  /** An analysis manager to share (default: a fresh one per manager). */
  analyses?: AnalysisManager;
}

/** Per-pass (per pipeline position) measurements. */
export interface PassRecord {
  /** Position in the pipeline, from 0. */
  readonly index: number;
  readonly name: string;
  /** The pass as pipeline text, with non-default options. */
  readonly text: string;
  /** Executions (functions the pass ran on; 1 for module passes). */
  executions: number;
  /** Executions that reported a change. */
  changed: number;
  /** Wall time in milliseconds, summed over executions (verification excluded). */
  timeMs: number;
  /** Counters: `instructions-removed`, `instructions-added`, `blocks-removed`, `blocks-added`, and the pass's own. */
  readonly stats: Record<string, number>;
}

/** What a run did. */
export interface PipelineReport {
  readonly passes: PassRecord[];
  /** Pass executions performed. */
  executions: number;
  /** With `stopAfter`: the last execution performed, as `"pass on @fn"`, when the limit cut the pipeline. */
  stoppedAfter: string | undefined;
  /** Printed IR snapshots, in order. */
  readonly printed: string[];
}

/** The IR became invalid during a pass. */
export class PassVerificationError extends InternalError {
  constructor(
    readonly passName: string,
    readonly functionName: string,
    readonly errors: string,
    readonly before: string,
    readonly after: string,
  ) {
    super(
      passName === "<input>"
        ? `the input of the pipeline is invalid IR in function @${functionName}:\n${errors}\n\n; IR:\n${before}`
        : `pass '${passName}' produced invalid IR in function @${functionName}:\n${errors}\n\n; IR before ${passName}:\n${before}\n; IR after ${passName}:\n${after}`,
    );
    this.name = "PassVerificationError";
  }
}

/** A pass threw. Wraps the cause with the pass and function names (and the IR before, when verifying). */
export class PassError extends Error {
  constructor(
    readonly passName: string,
    readonly functionName: string,
    readonly before: string | undefined,
    options: { cause: unknown },
  ) {
    const msg = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`pass '${passName}' failed on function @${functionName}: ${msg}${before ? `\n; IR before ${passName}:\n${before}` : ""}`, options);
    this.name = "PassError";
  }
}

/** Formats the statistics of a report as an aligned text table (one line per pass and counter). */
export function formatStatistics(report: PipelineReport): string {
  const lines: string[] = [];
  for (const p of report.passes) {
    const keys = Object.keys(p.stats).sort();
    lines.push(`#${p.index} ${p.text}: ${p.executions} run(s), ${p.changed} changed, ${p.timeMs.toFixed(3)} ms`);
    for (const k of keys) lines.push(`    ${String(p.stats[k]).padStart(8)}  ${k}`);
  }
  return lines.join("\n");
}

/**
 * Runs passes in order. Add pass objects with {@link PassManager.add}; build them from
 * text with `PassRegistry.parse`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Builder, Module, i64, ptrType } from "@luabpf/ir";
 * import { PassManager, defaultRegistry, formatStatistics } from "@luabpf/passes";
 *
 * const m = new Module();
 * const fn = m.addFunction("prog", [ptrType("ctx")], i64);
 * const b = new Builder(fn).atEnd(fn.createBlock());
 * b.ret(b.add(b.mul(b.const(6), b.const(7)), b.const(0)));
 *
 * const pm = new PassManager(defaultRegistry.parse("sccp,instcombine,dce"), { verify: true, printAfter: ["dce"], printChangedOnly: false });
 * const report = pm.run(m);
 * assert.equal(fn.entry.size, 1);
 * assert.match(report.printed.join(""), /^  ret 42$/m);
 * assert.match(formatStatistics(report), /^#0 sccp: 1 run\(s\), 1 changed/);
 * ```
 */
export class PassManager {
  readonly passes: Pass[] = [];
  readonly analyses: AnalysisManager;

  constructor(
    passes: Iterable<Pass> = [],
    readonly options: PassManagerOptions = {},
  ) {
    for (const p of passes) this.add(p);
    this.analyses = options.analyses ?? new AnalysisManager();
  }

  /** Appends a pass (any object implementing {@link Pass}; no registration needed). */
  add(...passes: Pass[]): this {
    for (const p of passes) {
      if (p.kind !== "function" && p.kind !== "module") throw new TypeError(`not a pass: ${JSON.stringify(p)}`);
      this.passes.push(p);
    }
    return this;
  }

  /** The pipeline as text (`sccp,dce(aggressive=false)`): parsing it gives the same pipeline. */
  toString(): string {
    return this.passes.map(passToString).join(",");
  }

  /** Runs the pipeline on a module, or on one function (module passes are then skipped with an error). */
  run(target: Module | Function): PipelineReport {
    const module = target instanceof Function ? undefined : target;
    const functions = target instanceof Function ? [target] : target.functions;
    const o = this.options;
    const report: PipelineReport = {
      passes: this.passes.map((p, index) => ({ index, name: p.name, text: passToString(p), executions: 0, changed: 0, timeMs: 0, stats: {} })),
      executions: 0,
      stoppedAfter: undefined,
      printed: [],
    };
    if (o.verify) {
      for (const fn of functions) {
        const errors = verifyFunction(fn, module);
        if (errors.length) throw new PassVerificationError("<input>", fn.name, formatVerifierErrors(errors), printFunction(fn), printFunction(fn));
      }
    }
    const limit = o.stopAfter ?? Infinity;
    const shouldPrint = (p: Pass) => o.printAfter === "all" || (o.printAfter?.includes(p.name) ?? false);
    const print = (text: string) => {
      report.printed.push(text);
      o.onPrint?.(text);
    };

    for (let k = 0; k < this.passes.length; k++) {
      const pass = this.passes[k]!;
      const rec = report.passes[k]!;
      const stat = (name: string, amount = 1) => {
        rec.stats[name] = (rec.stats[name] ?? 0) + amount;
      };
      if (pass.kind === "module") {
        if (!module) throw new TypeError(`module pass '${pass.name}' cannot run on a single function`);
        if (report.executions >= limit) return report;
        const before = o.verify ? functions.map(printFunction) : undefined;
        const t0 = performance.now();
        let result: PassResult;
        try {
          result = pass.run(module, { analyses: (fn) => this.analyses.forFunction(fn), stat });
        } catch (cause) {
          throw new PassError(pass.name, "<module>", before?.join("\n"), { cause });
        }
        rec.timeMs += performance.now() - t0;
        rec.executions++;
        report.executions++;
        report.stoppedAfter = `${pass.name} on <module>`;
        const preserved = toPreserved(pass, result);
        if (!preserved.isAll) rec.changed++;
        for (const fn of module.functions) this.afterExecution(pass, fn, module, preserved, before?.[functions.indexOf(fn)] ?? "", shouldPrint(pass), print);
        continue;
      }
      for (const fn of functions) {
        if (report.executions >= limit) return report;
        const before = o.verify ? printFunction(fn) : undefined;
        const insts0 = fn.instructionCount;
        const blocks0 = fn.blocks.length;
        const t0 = performance.now();
        let result: PassResult;
        try {
          result = pass.run(fn, { module, analyses: this.analyses.forFunction(fn), stat });
        } catch (cause) {
          throw new PassError(pass.name, fn.name, before, { cause });
        }
        rec.timeMs += performance.now() - t0;
        rec.executions++;
        report.executions++;
        report.stoppedAfter = `${pass.name} on @${fn.name}`;
        const preserved = toPreserved(pass, result);
        if (!preserved.isAll) rec.changed++;
        const dInsts = fn.instructionCount - insts0;
        const dBlocks = fn.blocks.length - blocks0;
        if (dInsts < 0) stat("instructions-removed", -dInsts);
        if (dInsts > 0) stat("instructions-added", dInsts);
        if (dBlocks < 0) stat("blocks-removed", -dBlocks);
        if (dBlocks > 0) stat("blocks-added", dBlocks);
        this.afterExecution(pass, fn, module, preserved, before ?? "", shouldPrint(pass), print);
      }
    }
    report.stoppedAfter = undefined;
    return report;
  }

  private afterExecution(pass: Pass, fn: Function, module: Module | undefined, preserved: Preserved, before: string, printIt: boolean, print: (t: string) => void): void {
    const o = this.options;
    if (o.verify) {
      const errors = verifyFunction(fn, module);
      if (errors.length) throw new PassVerificationError(pass.name, fn.name, formatVerifierErrors(errors), before, printFunction(fn));
    }
    this.analyses.invalidate(fn, preserved);
    // What is still cached now is what the pass claims to preserve.
    if (o.checkAnalyses) this.analyses.checkCached(fn, pass.name);
    if (printIt && (!(o.printChangedOnly ?? true) || !preserved.isAll)) {
      print(`; *** IR after ${passToString(pass)} on @${fn.name} ***\n${printFunction(fn)}`);
    }
  }
}

function toPreserved(pass: Pass, result: PassResult): Preserved {
  if (result === false) return Preserved.all();
  if (result === true) return pass.preserves ?? Preserved.none();
  if (result instanceof Preserved) return result;
  throw new TypeError(`pass '${pass.name}' returned ${String(result)}; return a boolean (changed?) or a Preserved set`);
}
