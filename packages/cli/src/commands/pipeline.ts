/**
 * The optimisation-pipeline options shared by the commands that run passes (`compile`,
 * `run`, `opt`): `-O`, `--passes`, `--load-pass`, `--verify-each`, `--print-before`,
 * `--print-after[-all]`, `--print-changed`, `--filter-function`, `--opt-bisect-limit`,
 * `--stats`, `--time-passes`. Everything is checked before any input is read — an unknown
 * pass name in `--passes` or a print option is a usage error (exit status 2) that lists
 * the valid names; a pass module that cannot be loaded is an error (exit status 1).
 * Passes of `--load-pass` modules are registered in a copy of the built-in registry with
 * their module as origin, so their failures are reported as theirs.
 */
import type { PassRegistry } from "@luabpf/passes";
import type { DriverOptions } from "../driver.js";
import { UsageError } from "../errors.js";
import type { OptionValues } from "../options.js";
import { listOption, stringOption } from "./command.js";

/** The pipeline part of the driver's options, from parsed command-line values. */
export type PipelineChoice = Pick<
  DriverOptions,
  "optLevel" | "passes" | "printAfter" | "printAfterAll" | "printBefore" | "printChanged" | "printFunctions" | "bisectLimit" | "verifyEach" | "registry" | "inlineThreshold" | "compat" | "warningsAsErrors" | "kernel"
> & {
  /** `--time-passes`. */
  timePasses: boolean;
};

/**
 * Reads and checks the pipeline options. `registry` is the pass registry in effect
 * (default: the built-in passes, plus those of `--load-pass`).
 */
export async function pipelineChoice(values: OptionValues, command: string, registry?: PassRegistry): Promise<PipelineChoice> {
  const { defaultRegistry, PipelineError } = await import("../lazy/passes.js");
  let reg = registry ?? defaultRegistry;
  const modules = listOption(values, "load-pass");
  if (modules.length > 0) {
    const { loadPasses } = await import("../load-pass.js");
    reg = reg.clone();
    for (const path of modules) await loadPasses(path, reg);
  }
  const passes = stringOption(values, "passes");
  if (passes !== undefined) {
    try {
      reg.parse(passes);
    } catch (e) {
      if (e instanceof PipelineError) throw new UsageError(`--passes: ${e.message}`, command);
      throw e;
    }
  }
  const passNames = (option: string): string[] | "all" => {
    const names = listOption(values, option);
    if (names.includes("all")) return "all";
    const unknown = names.filter((name) => !reg.has(name));
    if (unknown.length > 0) {
      throw new UsageError(`--${option}: unknown pass ${unknown.map((n) => `'${n}'`).join(", ")}; valid passes: ${reg.names().join(", ")} (or 'all')`, command);
    }
    return names;
  };
  const printAfter = passNames("print-after");
  const printBefore = passNames("print-before");
  const bisectText = stringOption(values, "opt-bisect-limit");
  let bisectLimit: number | undefined;
  if (bisectText !== undefined) {
    bisectLimit = Number(bisectText);
    if (!/^-?\d+$/.test(bisectText) || bisectLimit < -1) throw new UsageError(`--opt-bisect-limit takes a number of pass executions (or -1), not '${bisectText}'`, command);
  }
  const threshold = stringOption(values, "inline-threshold");
  if (threshold !== undefined && !/^\d+$/.test(threshold)) throw new UsageError("--inline-threshold takes a number (0 or more)", command);
  const compat = stringOption(values, "compat") as "lua" | "bcc" | undefined;
  const functions = listOption(values, "filter-function");
  const btf = stringOption(values, "btf");
  return {
    ...(btf !== undefined ? { kernel: (await import("../kernel-types.js")).kernelTypeSource(btf) } : {}),
    ...(threshold !== undefined ? { inlineThreshold: Number(threshold) } : {}),
    ...(compat ? { compat } : {}),
    ...(stringOption(values, "W") === "error" ? { warningsAsErrors: true } : {}),
    optLevel: Number(stringOption(values, "O") ?? "2") as 0 | 1 | 2,
    ...(passes !== undefined ? { passes } : {}),
    printAfter: printAfter === "all" ? [] : printAfter,
    printAfterAll: values["print-after-all"] === true || printAfter === "all",
    printBefore,
    printChanged: values["print-changed"] === true,
    ...(functions.length > 0 ? { printFunctions: functions } : {}),
    ...(bisectLimit !== undefined ? { bisectLimit } : {}),
    verifyEach: values["verify-each"] === true,
    timePasses: values["time-passes"] === true,
    ...(reg !== defaultRegistry ? { registry: reg } : {}),
  };
}
