/**
 * The `luabpf` command line: `luabpf COMMAND [options] OPERANDS`, `luabpf help [COMMAND]`,
 * `luabpf --version`. Keeps start-up small: only argument parsing happens before the
 * command's modules load the compiler. Library code throws; only this file decides exit
 * statuses — 0 success, 1 bad input (compile errors, verifier rejections, files that
 * cannot be read or written), 2 bad usage, 70 internal errors (EX_SOFTWARE) — and only
 * the entry point at the bottom touches the process.
 */
import { COMMANDS, findCommand } from "./commands/index.js";
import { DiagnosticPrinter, useColour, type CliDiagnostic, type RenderOptions } from "./diagnostics.js";
import { isLuabpfError } from "@luabpf/platform/errors";
import { UsageError } from "./errors.js";
import type { CliIo } from "./io.js";
import { formatHelp, parseCommandLine, synopsis } from "./options.js";
import { luabpfVersion } from "./version.js";

export type { CliIo } from "./io.js";

/** `luabpf --help`: the commands and where to read more. */
function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    "usage: luabpf COMMAND [options] FILE...",
    "",
    "Compiles programs in bcc's Lua dialect to eBPF ELF objects that libbpf, bpftool and the kernel load.",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    `  ${"help".padEnd(width)}Print a command's options: luabpf help COMMAND (or luabpf COMMAND --help).`,
    "",
    "  luabpf --version    print the version",
    "",
  ].join("\n");
}

function version(): string {
  return `luabpf ${luabpfVersion()}\n`;
}

/**
 * The rendering options before the command line is parsed (a usage error is reported
 * in the format asked for, even when the error is elsewhere on the line).
 */
function renderOptionsFromArgv(argv: readonly string[], io: CliIo): RenderOptions {
  const valueOf = (name: string): string | undefined => {
    let found: string | undefined;
    argv.forEach((a, i) => {
      if (a.startsWith(`--${name}=`)) found = a.slice(name.length + 3);
      else if (a === `--${name}` && i + 1 < argv.length) found = argv[i + 1];
    });
    return found;
  };
  const format = valueOf("diagnostics-format") === "json" ? "json" : "text";
  const when = valueOf("color") ?? "auto";
  // Decided when a diagnostic is first printed: asking whether standard error is a
  // terminal loads node:tty (see the entry point below), which a quiet compile never needs.
  let color: boolean | undefined;
  return {
    format,
    get color() {
      return (color ??= format === "text" && useColour(when, io.stderrIsTTY ?? false, io.env ?? process.env));
    },
  };
}

/** Runs the command line; returns the exit status. Never throws. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const sources = new Map<string, string>();
  const printer = new DiagnosticPrinter(io.stderr, sources, renderOptionsFromArgv(argv, io));
  const report = (e: unknown): Promise<number> => reportError(e, printer);
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      io.stderr(generalHelp());
      return 2;
    }
    if (first === "--help" || first === "-h") {
      io.stdout(generalHelp());
      return 0;
    }
    if (first === "--version" || first === "-V") {
      io.stdout(version());
      return 0;
    }
    if (first === "help") {
      if (rest.length > 1) throw new UsageError(`help takes one command name, not '${rest.join(" ")}'`);
      if (rest.length === 0) {
        io.stdout(generalHelp());
        return 0;
      }
      const command = findCommand(rest[0]!);
      if (!command) throw new UsageError(`no command '${rest[0]}' (commands: ${COMMANDS.map((c) => c.name).join(", ")})`);
      io.stdout(formatHelp(command));
      return 0;
    }
    if (first.startsWith("-")) throw new UsageError(`expected a command before '${first}' (commands: ${COMMANDS.map((c) => c.name).join(", ")})`);
    const command = findCommand(first);
    if (!command) throw new UsageError(`unknown command '${first}' (commands: ${COMMANDS.map((c) => c.name).join(", ")})`);
    const { values, operands, trailing } = parseCommandLine(command, rest);
    if (values.help) {
      io.stdout(formatHelp(command));
      return 0;
    }
    return await command.run({ io, values, operands, ...(trailing ? { trailing } : {}), sources, diagnostics: printer, report });
  } catch (e) {
    return report(e);
  }
}

/** The diagnostic for an error and the exit status it stands for. */
/** The words of an internal error: luabpf's bug, to be reported. */
function internalMessage(message: string): string {
  return message.startsWith("internal error") ? message : `internal error: ${message} (this is a bug in luabpf; please report it with the input that caused it)`;
}

function classify(e: unknown): { diagnostics: CliDiagnostic[]; status: number; usage?: string } {
  // Every error luabpf throws on purpose says whose fault it is (`kind`) and what it is
  // about (`category`, @luabpf/platform/errors); anything else escaping is a bug.
  if (!isLuabpfError(e) || e.kind === "internal") {
    const message = internalMessage((e as Error)?.message ?? String(e));
    return { diagnostics: [{ severity: "error", category: "internal", message }], status: 70 };
  }
  if (e.category === "usage") {
    const command = e instanceof UsageError && e.command ? findCommand(e.command) : undefined;
    const hint = command ? `usage: ${synopsis(command)}\n(see 'luabpf help ${command.name}')` : "(see 'luabpf --help')";
    return { diagnostics: [{ severity: "error", category: "usage", message: e.message }], status: 2, usage: hint };
  }
  // Errors with source diagnostics (compile errors; verifier rejections also carry the log).
  const { diagnostics, log } = e as { diagnostics?: unknown; log?: unknown };
  if (Array.isArray(diagnostics)) {
    const detail = typeof log === "string" ? { detail: `verifier log:\n${indent(log)}` } : {};
    return { diagnostics: (diagnostics as CliDiagnostic[]).map((d) => ({ ...d, category: e.category, ...detail })), status: 1 };
  }
  return { diagnostics: [{ severity: "error", category: e.category, message: e.message }], status: 1 };
}

/** The exit status an error stands for: 2 usage, 1 bad input, 70 internal (see the file comment). */
export function exitStatusOf(e: unknown): number {
  return classify(e).status;
}

async function reportError(e: unknown, printer: DiagnosticPrinter): Promise<number> {
  const { diagnostics, status, usage } = classify(e);
  for (const d of diagnostics) printer.print(d);
  if (usage && printer.options.format === "text") printer.raw(`${usage}\n`);
  if (status === 70 && process.env.LUABPF_DEBUG) printer.raw(`${(e as Error)?.stack}\n`);
  return status;
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}

// ---- the process ----

const isEntry = process.argv[1] !== undefined && /luabpf(\.js)?$|main\.(js|ts)$/.test(process.argv[1]);
if (isEntry) {
  // process.stdout and process.stderr are made on first use (each a stream over its file
  // descriptor: a measurable part of start-up), so nothing touches them before it writes:
  // `compile -o x.o` writes to neither. For the same reason node:tty (which loads node:net
  // and the streams: ~7 % of an empty Node's CPU, measured pairwise) is loaded only when
  // the command asks whether an output is a terminal.
  // node:tty comes from process.getBuiltinModule (Node >= 20.16): node:module's createRequire
  // would load node:module at start-up, and with it the ES module loader (~3 % of an empty
  // Node's CPU, measured pairwise); an older Node gets it through createRequire.
  let legacyRequire: ((id: string) => unknown) | undefined;
  const builtin = (id: string): unknown =>
    typeof process.getBuiltinModule === "function" ? process.getBuiltinModule(id) : legacyRequire!(id);
  const isatty = (fd: number): boolean => (builtin("node:tty") as typeof import("node:tty")).isatty(fd);
  let stdoutReady = false;
  const stdout = (): NodeJS.WriteStream => {
    if (!stdoutReady) {
      stdoutReady = true;
      // `luabpf ... | head`: a closed pipe ends the output, not the process with a stack trace.
      process.stdout.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
        throw e;
      });
    }
    return process.stdout;
  };
  let stderrUsed = false;
  const io: CliIo = {
    stdout: (s) => stdout().write(s),
    stderr: (s) => {
      stderrUsed = true;
      return process.stderr.write(s);
    },
    stdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    get stdoutIsTTY() {
      return isatty(1);
    },
    get stderrIsTTY() {
      return isatty(2);
    },
    env: process.env,
  };
  void (async () => {
    // (The bundle is CommonJS: its own `require`; dynamic import() does not work there.)
    if (typeof process.getBuiltinModule !== "function") legacyRequire = typeof require === "function" ? require : (await import("node:module")).createRequire(import.meta.url);
    const code = await main(process.argv.slice(2), io);
    // A command that wrote nothing to standard output or error (`compile -o x.o`) ends here:
    // back in the event loop, Node would first run what V8 scheduled for idle time — a
    // scavenge, when the young generation is four-fifths full — and then tear the heap down,
    // work for nobody. (With output, the event loop ends the process: a pipe is asynchronous
    // on some systems, and process.exit could cut it short.)
    if (!stdoutReady && !stderrUsed) process.exit(code);
    process.exitCode = code;
  })();
}
