/**
 * The optimisation-pipeline options shared by the commands that compile (`compile`,
 * `run`): `-O`, `--passes`, `--print-after`, `--print-after-all`, `--stats`. Everything
 * is checked before any input is read — an unknown pass name in `--passes` or
 * `--print-after` is a usage error (exit status 2) that lists the valid names.
 */
import type { PassRegistry } from "@luabpf/passes";
import type { DriverOptions } from "../driver.js";
import { UsageError } from "../errors.js";
import type { OptionValues } from "../options.js";
import { listOption, stringOption } from "./command.js";

/** The pipeline part of the driver's options, from parsed command-line values. */
export type PipelineChoice = Pick<DriverOptions, "optLevel" | "passes" | "printAfter" | "printAfterAll" | "registry">;

/**
 * Reads and checks the pipeline options. `registry` is the pass registry in effect
 * (default: the built-in passes).
 */
export async function pipelineChoice(values: OptionValues, command: string, registry?: PassRegistry): Promise<PipelineChoice> {
  const { defaultRegistry, PipelineError } = await import("@luabpf/passes");
  const reg = registry ?? defaultRegistry;
  const passes = stringOption(values, "passes");
  if (passes !== undefined) {
    try {
      reg.parse(passes);
    } catch (e) {
      if (e instanceof PipelineError) throw new UsageError(`--passes: ${e.message}`, command);
      throw e;
    }
  }
  const printAfter = listOption(values, "print-after");
  const unknown = printAfter.filter((name) => !reg.has(name));
  if (unknown.length > 0) {
    throw new UsageError(`--print-after: unknown pass ${unknown.map((n) => `'${n}'`).join(", ")}; valid passes: ${reg.names().join(", ")}`, command);
  }
  return {
    optLevel: Number(stringOption(values, "O") ?? "2") as 0 | 1 | 2,
    ...(passes !== undefined ? { passes } : {}),
    printAfter,
    printAfterAll: values["print-after-all"] === true,
    ...(registry ? { registry } : {}),
  };
}
