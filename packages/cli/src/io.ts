/**
 * Inputs and outputs of the command line, with the conventions of clang and the Unix
 * tools: `-` as an input reads standard input, `-o -` writes standard output, files are
 * written through a temporary file and a rename (a failed run leaves no partial output),
 * except destinations that exist and are not regular files (`/dev/null`, a FIFO, a
 * socket), which are written in place as clang does, and with several inputs `-o` names a
 * directory.
 */
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { IoError, UsageError } from "./errors.js";

/** How the command line talks to the world; tests pass their own. */
export interface CliIo {
  /** Standard output (text, or an object's bytes for `-o -`). */
  stdout: (data: string | Uint8Array) => void;
  stderr: (text: string) => void;
  /** All of standard input, for the input `-` (absent: `-` is a usage error). */
  stdin?: () => Promise<Uint8Array>;
  /** Is standard output a terminal? (No binary output to a terminal.) */
  stdoutIsTTY?: boolean;
  /** Is standard error a terminal? (`--color=auto`.) */
  stderrIsTTY?: boolean;
  /** Environment (`NO_COLOR`); default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The name diagnostics use for standard input, as clang does. */
export const STDIN_NAME = "<stdin>";

/** One input: its name as diagnostics show it and its contents. */
export interface Input {
  /** The path as given, or {@link STDIN_NAME}. */
  name: string;
  /** The path as given on the command line (`-` for standard input). */
  path: string;
  bytes: Uint8Array;
}

/** Reads the inputs in order; `-` (at most once) reads standard input. */
export async function readInputs(paths: readonly string[], io: CliIo): Promise<Input[]> {
  if (paths.filter((p) => p === "-").length > 1) throw new UsageError("standard input ('-') can be read only once");
  const inputs: Input[] = [];
  for (const path of paths) {
    if (path === "-") {
      if (!io.stdin) throw new UsageError("no standard input to read '-' from");
      inputs.push({ name: STDIN_NAME, path, bytes: await io.stdin() });
      continue;
    }
    try {
      inputs.push({ name: path, path, bytes: readFileSync(path) });
    } catch (e) {
      throw IoError.from(path, "read", e);
    }
  }
  return inputs;
}

/**
 * Writes through a temporary file and a rename, so a failed run leaves no partial output.
 * A destination that exists and is not a regular file (a character device such as
 * `/dev/null`, a FIFO, a socket; symbolic links followed) is written in place instead:
 * renaming over it would replace the device or pipe with a regular file.
 */
export function writeAtomically(path: string, data: string | Uint8Array): void {
  if (isSpecialFile(path)) {
    try {
      writeFileSync(path, data);
    } catch (e) {
      throw IoError.from(path, "write", e);
    }
    return;
  }
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean up
    }
    throw IoError.from(path, "write", e);
  }
}

/** Does `path` exist (following links) as something other than a regular file or a directory? */
function isSpecialFile(path: string): boolean {
  try {
    const st = statSync(path);
    return !st.isFile() && !st.isDirectory();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Where the outputs of a command go. */
export type Destination = { kind: "stdout" } | { kind: "file"; path: string };

/**
 * Plans output destinations for `units` (each named after an input), following clang:
 *
 * - `-o -`: standard output (every unit, in order);
 * - `-o PATH` with one unit: that file, or `PATH/<base><ext>` when PATH is a directory;
 * - `-o DIR` with several units: `DIR/<base><ext>` each (DIR is created if missing);
 * - no `-o`: `defaultToFile` puts `<input without .lua><ext>` next to each input
 *   (standard input goes to standard output), otherwise standard output.
 */
export function planOutputs(
  units: readonly { path: string }[],
  output: string | undefined,
  extension: string,
  defaultToFile: boolean,
): Destination[] {
  const stem = (p: string): string => (p === "-" ? "stdin" : basename(p).replace(/\.lua$/, ""));
  if (output === "-") return units.map(() => ({ kind: "stdout" }));
  if (output !== undefined) {
    if (units.length === 1 && !isDirectory(output)) return [{ kind: "file", path: output }];
    if (units.length > 1 && !isDirectory(output)) {
      try {
        statSync(output);
        throw new UsageError(`-o ${output}: with several inputs, -o names a directory (or use --link for one object)`);
      } catch (e) {
        if (e instanceof UsageError) throw e;
      }
      try {
        mkdirSync(output, { recursive: true });
      } catch (e) {
        throw IoError.from(output, "create", e);
      }
    }
    const taken = new Set<string>();
    return units.map((u) => {
      const path = join(output, stem(u.path) + extension);
      if (taken.has(path)) throw new UsageError(`two inputs would both be written to ${path}`);
      taken.add(path);
      return { kind: "file", path };
    });
  }
  if (!defaultToFile) return units.map(() => ({ kind: "stdout" }));
  return units.map((u) => (u.path === "-" ? { kind: "stdout" } : { kind: "file", path: u.path.replace(/\.lua$/, "") + extension }));
}

/** Writes `data` to a destination. */
export function writeOutput(dest: Destination, data: string | Uint8Array, io: CliIo): void {
  if (dest.kind === "stdout") {
    if (typeof data !== "string" && io.stdoutIsTTY) {
      throw new UsageError("refusing to write an object file to a terminal (use -o FILE, or redirect standard output)");
    }
    io.stdout(data);
  } else writeAtomically(dest.path, data);
}
