/**
 * What every command of the command line is: its declaration (name, operands, option
 * table, help) and an implementation that gets a {@link CommandContext}. Command modules
 * import only light modules at their top level and load the compiler, the ELF writer or
 * the loader inside `run`, so that `luabpf --help` and usage errors start fast.
 */
import type { DiagnosticPrinter } from "../diagnostics.js";
import type { CliIo } from "../io.js";
import type { CommandSpec, OptionValues } from "../options.js";

/** Everything a running command needs. */
export interface CommandContext {
  io: CliIo;
  /** Parsed options (defaults filled in) and operands. */
  values: OptionValues;
  operands: string[];
  /** Arguments after `--`, for commands that declare `trailing` (undefined when no `--` was given). */
  trailing?: string[];
  /** Source texts by file name, for the source line under each diagnostic. */
  sources: Map<string, string>;
  diagnostics: DiagnosticPrinter;
  /**
   * Reports an error as the command line reports any error, and returns the exit status
   * it stands for (commands with several inputs go on after one fails).
   */
  report(error: unknown): Promise<number>;
}

/** A command: its declaration plus its implementation (returns the exit status). */
export interface Command extends CommandSpec {
  run(ctx: CommandContext): Promise<number>;
}

/** The value of a string option (after defaults). */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/** The values of a repeatable option. */
export function listOption(values: OptionValues, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
}
