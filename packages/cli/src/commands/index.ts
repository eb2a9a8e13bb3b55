/**
 * The commands of `luabpf`, in the order `luabpf --help` lists them. A new command is one
 * module in this folder exporting a {@link Command} and one row here; its options come
 * from its own table plus the shared groups in `../options.ts`.
 */
import type { Command } from "./command.js";
import { compileCommand } from "./compile.js";
import { experimentCommand } from "./experiment.js";
import { mapsCommand } from "./maps.js";
import { optCommand } from "./opt.js";
import { runCommand } from "./run.js";

export const COMMANDS: readonly Command[] = [compileCommand, runCommand, mapsCommand, optCommand, experimentCommand];

/** The command called `name`, if there is one. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export type { Command, CommandContext } from "./command.js";
