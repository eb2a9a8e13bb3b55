/**
 * The pass manager: runs a sequence of passes over a module (or one function), with the
 * instrumentation a compiler researcher needs to trust and measure it — what LLVM's `opt`
 * offers from its command line:
 *
 * - `verify`: runs the IR verifier on the input and after every pass execution; a failure
 *   throws {@link PassVerificationError} naming the pass, the function and the broken
 *   rule, with the IR before and after (Binaryen's pass-debug mode, `-verify-each`);
 * - `checkAnalyses`: after each pass, recomputes every analysis the pass claimed to
 *   preserve and compares (LLVM's `-verify-analysis-invalidation`);
 * - `printBefore` / `printAfter`: prints the function before / after the named passes (or
 *   all); `printChanged`: after each execution that changed the function, a unified diff
 *   of its text (`-print-changed=diff`); `printFunctions` limits all printing to some
 *   functions (`-filter-print-funcs`);
 * - per-pass timing and statistics: instructions/blocks removed and added, and every
 *   `ctx.stat(...)` counter of the pass (`-time-passes`, `-stats`);
 * - `bisectLimit: n`: numbers every pass execution from 1 (one execution = one function
 *   pass on one function, or one module pass), runs those up to n and skips the rest,
 *   reporting each as `BISECT: running pass (k) NAME on @f` or `BISECT: NOT running pass
 *   (k) ...` (LLVM's `-opt-bisect-limit`; -1 runs everything and only numbers it);
 *   `stopAfter: n` stops after n executions instead of skipping.
 *
 * A pass that throws is wrapped in {@link PassError}; with `verify` on, the IR before it is
 * attached. Errors carry the pass's `origin`, so a driver can report a researcher's pass
 * failing as that pass's failure rather than as a bug in luabpf.
 *
 * Order: pass by pass, each function pass over all functions in module order (Binaryen's
 * order), so "after pass k" is a whole-module state. Output is deterministic.
 */
import { LuabpfError, type ErrorCategory } from "@luabpf/platform/errors";
import { formatVerifierErrors, Function, InternalError, nowMs, printFunction, verifyFunction, type Module } from "@luabpf/ir";
import { AnalysisManager, Preserved } from "./analysis-manager.js";
import { isBuiltInPass, passToString, type Pass, type PassResult } from "./pass.js";
import { unifiedDiff } from "./util/diff.js";

/** Options of a {@link PassManager}. */
export interface PassManagerOptions {
  /** Verify the input and the IR after every pass execution (on in tests). Default false. */
  verify?: boolean;
  /** Check that analyses a pass claims to preserve equal fresh ones. Default false. */
  checkAnalyses?: boolean;
  /** Print the function before these passes (by name), or before every pass. */
  printBefore?: readonly string[] | "all";
  /** Print the function after these passes (by name), or after every pass. */
  printAfter?: readonly string[] | "all";
  /** With `printAfter`: print only when the pass changed the function (default true). */
  printChangedOnly?: boolean;
  /** After every execution that changed a function's text, print a unified diff of it. */
  printChanged?: boolean;
  /** Limit `printBefore`/`printAfter`/`printChanged` to functions with these names. */
  printFunctions?: readonly string[];
  /** Where printed IR goes; default: collected in {@link PipelineReport.printed} only. */
  onPrint?: (text: string) => void;
  /** Run only the executions numbered 1..n (from 1), skip the rest; -1: run all. Each is reported to `onBisect`. */
  bisectLimit?: number;
  /** Receives one `BISECT: ...` line per pass execution when `bisectLimit` is set. */
  onBisect?: (line: string) => void;
  /** Run at most this many pass executions, then stop. */
  stopAfter?: number;
  /** An analysis manager to share (default: a fresh one per manager). */
  analyses?: AnalysisManager;
  /**
   * Measure each pass's time ({@link PassRecord.timeMs}, {@link formatPassTimes}). Default
   * true. Off, the times stay 0: the clock costs ~0.25 µs a read, two reads per execution
   * (~17 µs of an -O2 compile of one function), which a compile that prints no times skips.
   */
  timing?: boolean;
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
  /** Wall time in milliseconds, summed over executions (verification excluded); 0 when the manager runs without `timing`. */
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
  /** With `bisectLimit`: the `BISECT:` lines, in order. */
  readonly bisect: string[];
  /** Time spent verifying (input and after each pass), in milliseconds. */
  verifyMs: number;
  /** For each function, the last pass that reported changing it (`"name"` or absent): for error messages. */
  readonly lastChange: Map<string, string>;
}

/** The IR became invalid during a pass: luabpf's bug, or the user's when the pass was loaded from their module. */
export class PassVerificationError extends InternalError {
  override readonly kind: "user" | "internal";
  override readonly category: "internal" | "pass";
  constructor(
    readonly passName: string,
    readonly functionName: string,
    readonly errors: string,
    readonly before: string,
    readonly after: string,
    /** The pass's origin (its module, for a loaded pass). */
    readonly origin?: string,
  ) {
    const text =
      passName === "<input>"
        ? `the input of the pipeline is invalid IR in function @${functionName}:\n${errors}\n\n; IR:\n${before}`
        : `pass '${passName}'${origin ? ` (from ${origin})` : ""} produced invalid IR in function @${functionName}:\n${errors}\n\n; IR before ${passName}:\n${before}\n; IR after ${passName}:\n${after}`;
    super(text);
    // A loaded pass breaking the IR is not a bug in luabpf: no "internal error" framing.
    if (origin) this.message = text.trimEnd();
    this.name = "PassVerificationError";
    this.kind = origin ? "user" : "internal";
    this.category = origin ? "pass" : "internal";
  }
}

/**
 * A pass threw. Wraps the cause with the pass and function names (and the IR before, when
 * verifying). A user error when the pass came from the user's module (`origin`), or when
 * the cause itself is one (bad input found by a pass); otherwise luabpf's bug.
 */
export class PassError extends LuabpfError {
  readonly kind: "user" | "internal";
  readonly category: "pass" | "internal" | ErrorCategory;
  constructor(
    readonly passName: string,
    readonly functionName: string,
    readonly before: string | undefined,
    options: { cause: unknown },
    /** The pass's origin (its module, for a loaded pass). */
    readonly origin?: string,
  ) {
    const msg = options.cause instanceof Error ? options.cause.message : String(options.cause);
    const fnText = functionName === "<module>" ? "the module" : `function @${functionName}`;
    super(`pass '${passName}'${origin ? ` (from ${origin})` : ""} failed on ${fnText}: ${msg}${before ? `\n; IR before ${passName}:\n${before}` : ""}`, options);
    this.name = "PassError";
    const cause = options.cause;
    this.kind = origin || (cause instanceof LuabpfError && cause.kind === "user") ? "user" : "internal";
    this.category = origin ? "pass" : cause instanceof LuabpfError && cause.kind === "user" ? cause.category : "internal";
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
 * `-time-passes`: wall time per pipeline position, largest first, with its share of the
 * total, then verification and the total (LLVM's "Pass execution timing report").
 */
export function formatPassTimes(report: PipelineReport): string {
  const total = report.passes.reduce((t, p) => t + p.timeMs, 0) + report.verifyMs;
  const pct = (ms: number) => (total > 0 ? ((100 * ms) / total).toFixed(1) : "0.0").padStart(5);
  const rows = [...report.passes].sort((a, b) => b.timeMs - a.timeMs || a.index - b.index);
  const lines = ["===-------------------------------------------------------------------------===", "                      Pass execution timing report", "===-------------------------------------------------------------------------===", `  Total: ${total.toFixed(3)} ms`, "", "      ms      %  runs  pass"];
  for (const p of rows) lines.push(`${p.timeMs.toFixed(3).padStart(8)} ${pct(p.timeMs)}% ${String(p.executions).padStart(5)}  #${p.index} ${p.text}`);
  if (report.verifyMs > 0) lines.push(`${report.verifyMs.toFixed(3).padStart(8)} ${pct(report.verifyMs)}%        verifier`);
  lines.push(`${total.toFixed(3).padStart(8)} 100.0%        total`);
  return lines.join("\n") + "\n";
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
  /** The running `run`'s record of a changed function (repeats of unchanged runs are skipped). */
  private onChange: ((fn: Function) => void) | undefined;

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
      bisect: [],
      verifyMs: 0,
      lastChange: new Map(),
    };
    if (o.verify) {
      const t0 = nowMs();
      for (const fn of functions) {
        const errors = verifyFunction(fn, module);
        if (errors.length) throw new PassVerificationError("<input>", fn.name, formatVerifierErrors(errors), printFunction(fn), printFunction(fn));
      }
      report.verifyMs += nowMs() - t0;
    }
    const limit = o.stopAfter ?? Infinity;
    const selected = (names: readonly string[] | "all" | undefined, p: Pass) => names === "all" || (names?.includes(p.name) ?? false);
    const shown = (fn: Function) => !o.printFunctions || o.printFunctions.includes(fn.name);
    const print = (text: string) => {
      report.printed.push(text);
      o.onPrint?.(text);
    };
    let numbered = 0;
    /** The bisection decision for the next execution (true: run it). */
    const bisect = (pass: Pass, unit: string): boolean => {
      if (o.bisectLimit === undefined) return true;
      numbered++;
      const run = o.bisectLimit < 0 || numbered <= o.bisectLimit;
      const line = `BISECT: ${run ? "running" : "NOT running"} pass (${numbered}) ${passToString(pass)} on ${unit}`;
      report.bisect.push(line);
      o.onBisect?.(line);
      return run;
    };
    // Nothing printed, numbered or verified (the compiler's own runs: 33 executions per -O2
    // compile of one function): each execution only runs the pass, counts and invalidates.
    // Text is made only for what is printed or kept.
    const needText = (o.verify ?? false) || (o.printChanged ?? false);
    const timing = o.timing ?? true;
    /** The last execution performed (its `"pass on @fn"` text is made only when the run stops there). */
    let last: { pass: Pass; unit: string | Function } | undefined;
    const stopped = (): PipelineReport => {
      if (last) report.stoppedAfter = `${last.pass.name} on ${typeof last.unit === "string" ? last.unit : `@${last.unit.name}`}`;
      return report;
    };

    // Repeats that cannot change anything (see `isBuiltInPass`): per function, how many
    // executions changed it so far, and per built-in pass (by its text, options included)
    // that count when it last ran on the function without a change and without a statistic.
    const changes = new Map<Function, number>();
    const cleanAt = new Map<Function, Map<string, number>>();
    this.onChange = (fn) => changes.set(fn, (changes.get(fn) ?? 0) + 1);
    let statCalls = 0;

    for (let k = 0; k < this.passes.length; k++) {
      const pass = this.passes[k]!;
      const rec = report.passes[k]!;
      const stats = rec.stats;
      const stat = (name: string, amount = 1) => {
        statCalls++;
        stats[name] = (stats[name] ?? 0) + amount;
      };
      const repeatKey = pass.kind === "function" && isBuiltInPass(pass) ? rec.text : undefined;
      const printingBefore = selected(o.printBefore, pass);
      // The functions an execution can change, and what to snapshot of them before it. Their
      // sizes (for the statistics) are taken by `measure`: before a module pass, and before a
      // function pass only when it is run (a skipped execution changes nothing; counting the
      // instructions walks every block).
      let sizes: number[] | undefined;
      const measure = (fns: readonly Function[]): void => {
        sizes = [];
        for (const fn of fns) sizes.push(fn.instructionCount, fn.blocks.length);
      };
      const execute = (unit: string, fns: readonly Function[], body: () => PassResult): void => {
        if (o.bisectLimit !== undefined && !bisect(pass, unit)) return;
        if (printingBefore) for (const fn of fns) if (shown(fn)) print(`; *** IR before ${passToString(pass)} on @${fn.name} ***\n${printFunction(fn)}`);
        const before = needText ? fns.map(printFunction) : undefined;
        sizes = undefined;
        if (pass.kind === "module") measure(fns);
        const t0 = timing ? nowMs() : 0;
        let preserved: Preserved;
        try {
          preserved = toPreserved(pass, body());
        } catch (cause) {
          throw new PassError(pass.name, fns.length === 1 && unit !== "<module>" ? fns[0]!.name : "<module>", o.verify ? before?.join("\n") : undefined, { cause }, pass.origin);
        }
        if (timing) rec.timeMs += nowMs() - t0;
        rec.executions++;
        report.executions++;
        if (!preserved.isAll) rec.changed++;
        // A module pass may have added or removed functions: look at the module as it is now.
        const touched = unit === "<module>" && module ? module.functions.slice() : fns;
        for (const fn of touched) {
          const i = fns.indexOf(fn);
          if (i >= 0 && sizes !== undefined) {
            const dInsts = fn.instructionCount - sizes[2 * i]!;
            const dBlocks = fn.blocks.length - sizes[2 * i + 1]!;
            if (dInsts < 0) stat("instructions-removed", -dInsts);
            if (dInsts > 0) stat("instructions-added", dInsts);
            if (dBlocks < 0) stat("blocks-removed", -dBlocks);
            if (dBlocks > 0) stat("blocks-added", dBlocks);
          }
          this.afterExecution(pass, fn, module, preserved, before?.[i] ?? "", report, print, shown(fn));
        }
      };
      if (pass.kind === "module") {
        if (!module) throw new TypeError(`module pass '${pass.name}' cannot run on a single function`);
        if (report.executions >= limit) return stopped();
        const executions = report.executions;
        execute("<module>", module.functions.slice(), () => pass.run(module, { analyses: (fn) => this.analyses.forFunction(fn), stat }));
        if (report.executions > executions) last = { pass, unit: "<module>" };
        continue;
      }
      for (const fn of functions) {
        if (report.executions >= limit) return stopped();
        const executions = report.executions;
        execute(o.bisectLimit !== undefined || printingBefore ? `@${fn.name}` : "", [fn], () => {
          const version = changes.get(fn) ?? 0;
          let runs = repeatKey === undefined ? undefined : cleanAt.get(fn);
          // Run before on this function as it is now, changing nothing: it would change nothing.
          if (runs?.get(repeatKey!) === version) return false;
          const ctx = { module, analyses: this.analyses.forFunction(fn), stat };
          // A pass whose precondition fails would change nothing: an execution without a change.
          if (pass.applies !== undefined && !pass.applies(fn, ctx)) return false;
          const [stats, values, blocks] = [statCalls, fn.valueIdBound, fn.blockIdBound];
          measure([fn]);
          const result = pass.run(fn, ctx);
          // Clean: no change reported, no statistic, no id taken (a new id would shift the ids after it).
          const clean = statCalls === stats && fn.valueIdBound === values && fn.blockIdBound === blocks;
          if (repeatKey !== undefined && clean && (result === false || (isPreserved(result) && result.isAll))) {
            if (!runs) cleanAt.set(fn, (runs = new Map()));
            runs.set(repeatKey, version);
          }
          return result;
        });
        if (report.executions > executions) last = { pass, unit: fn };
      }
    }
    return report;
  }

  private afterExecution(pass: Pass, fn: Function, module: Module | undefined, preserved: Preserved, before: string, report: PipelineReport, print: (t: string) => void, shown: boolean): void {
    const o = this.options;
    let after: string | undefined;
    if (o.verify) {
      const t0 = nowMs();
      const errors = verifyFunction(fn, module);
      report.verifyMs += nowMs() - t0;
      if (errors.length) throw new PassVerificationError(pass.name, fn.name, formatVerifierErrors(errors), before, (after = printFunction(fn)), pass.origin);
    }
    if (!preserved.isAll) {
      report.lastChange.set(fn.name, pass.name);
      this.onChange?.(fn);
    }
    this.analyses.invalidate(fn, preserved);
    // What is still cached now is what the pass claims to preserve.
    if (o.checkAnalyses) this.analyses.checkCached(fn, pass.name);
    const printIt = o.printAfter === "all" || (o.printAfter?.includes(pass.name) ?? false);
    if (!shown || (!o.printChanged && !printIt)) return;
    const label = `${passToString(pass)} on @${fn.name}`;
    if (o.printChanged) {
      after ??= printFunction(fn);
      const diff = unifiedDiff(before, after, [`@${fn.name} before ${passToString(pass)}`, `@${fn.name} after ${passToString(pass)}`]);
      if (diff) print(`; *** IR changed by ${label} ***\n${diff}`);
    }
    if (printIt && (!(o.printChangedOnly ?? true) || !preserved.isAll)) print(`; *** IR after ${label} ***\n${after ?? printFunction(fn)}`);
  }
}

/** `Preserved` by shape as well as by class: a pass loaded from outside may hold another copy of this package. */
function isPreserved(x: unknown): x is Preserved {
  return x instanceof Preserved || (typeof x === "object" && x !== null && typeof (x as Preserved).preserves === "function" && typeof (x as Preserved).intersect === "function");
}

function toPreserved(pass: Pass, result: PassResult): Preserved {
  if (result === false) return Preserved.all();
  if (result === true) return pass.preserves ?? Preserved.none();
  if (isPreserved(result)) return result;
  throw new TypeError(`pass '${pass.name}' returned ${String(result)}; return a boolean (changed?) or a Preserved set`);
}
