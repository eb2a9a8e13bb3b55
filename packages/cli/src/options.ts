/**
 * The command line's shared option layer, with the syntax of `node:util` `parseArgs`
 * (strict, operands allowed, `--no-NAME` for booleans; see {@link scanArguments}).
 *
 * Each command declares its options as a table of {@link OptionSpec}s (name, type, value
 * name, help text, allowed values); option groups that several commands share (output,
 * optimisation pipeline, diagnostics) are declared once here and spread into those
 * tables. From one table come the parser configuration (`--name value`, `--name=value`,
 * `-o FILE`, `-ofile`, `-O2`, repeated options, `--no-NAME` for booleans), the checks
 * (unknown options and bad values are {@link UsageError}s, exit status 2) and the help
 * text of `luabpf help CMD` / `luabpf CMD --help`. Adding an option to a command is one
 * row in its table; adding a command is one entry in `commands/index.ts`.
 */
import { UsageError } from "./errors.js";

/** One option of a command. */
export interface OptionSpec {
  type: "string" | "boolean";
  /** One-letter alias (`-o`, `-O`). */
  short?: string;
  /** May be given several times; the values are collected in order. */
  multiple?: boolean;
  /** Placeholder for the value in help (`FILE`, `LIST`). */
  valueName?: string;
  /** Allowed values (checked; listed in help). A value may also be `choice=detail` when the choice ends in `=`. */
  choices?: readonly string[];
  /** Default, as the parser sees it. */
  default?: string | boolean;
  /** For booleans: `--no-NAME` is accepted and sets it to false. */
  negatable?: boolean;
  /** One line of help. */
  description: string;
  /** Left out of help (aliases, internal switches). */
  hidden?: boolean;
}

/** An ordered table of options by long name. */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** What a command declares about itself (the implementation is loaded only when it runs). */
export interface CommandSpec {
  name: string;
  /** One line for `luabpf --help`. */
  summary: string;
  /** Positional arguments in the synopsis, e.g. `FILE.lua...`. */
  operands: string;
  /** Minimum and maximum number of positional arguments. */
  minOperands: number;
  maxOperands: number;
  options: OptionTable;
  /** Paragraphs after the option list (examples, notes). */
  details?: string;
  /**
   * Arguments after a `--` are not parsed but handed to the command as a command line of its
   * own (`luabpf run trace.lua -- ls /`); the text shown in the synopsis, e.g. `[-- COMMAND...]`.
   */
  trailing?: string;
}

/** Parsed options: strings, booleans, or lists for `multiple` options. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface ParsedCommandLine {
  values: OptionValues;
  operands: string[];
  /** For commands with {@link CommandSpec.trailing}: the arguments after `--`, if `--` was given. */
  trailing?: string[];
}

// ---- shared option groups ----

/** `--help` on every command. */
export const HELP_OPTIONS = {
  help: { type: "boolean", short: "h", description: "print this command's usage and options" },
} as const satisfies OptionTable;

/** Diagnostics rendering, on every command. */
export const DIAGNOSTIC_OPTIONS = {
  color: {
    type: "string",
    valueName: "WHEN",
    choices: ["auto", "always", "never"],
    default: "auto",
    description: "colour diagnostics: auto (on a terminal, unless NO_COLOR is set), always, never",
  },
  "diagnostics-format": {
    type: "string",
    valueName: "FORMAT",
    choices: ["text", "json"],
    default: "text",
    description: "text (file:line:col: error: ..., source line and caret) or json (one JSON object per line)",
  },
} as const satisfies OptionTable;

/**
 * The optimisation pipeline and its instrumentation (LLVM `opt`'s options), on every
 * command that runs passes.
 */
export const PIPELINE_OPTIONS = {
  O: { type: "string", short: "O", valueName: "LEVEL", choices: ["0", "1", "2"], default: "2", description: "optimisation level: -O0, -O1 or -O2 (default)" },
  passes: { type: "string", valueName: "LIST", description: "run this pass pipeline instead of -O's, e.g. sccp,gvn,dce(aggressive=false)" },
  "load-pass": {
    type: "string",
    multiple: true,
    valueName: "FILE",
    description: "load the passes an ES module exports, for --passes and the print options; repeatable",
  },
  "verify-each": {
    type: "boolean",
    description: "verify the IR after every pass; invalid IR is an error naming the pass, the function and the rule, with the IR before and after",
  },
  "print-before": { type: "string", multiple: true, valueName: "PASS", description: "print the IR before each run of PASS, or of every pass with 'all' (to stderr); repeatable" },
  "print-after": { type: "string", multiple: true, valueName: "PASS", description: "print the IR after each run of PASS, or of every pass with 'all' (to stderr); repeatable" },
  "print-after-all": { type: "boolean", description: "print the IR after every pass (to stderr)" },
  "print-changed": { type: "boolean", description: "after each pass run that changed a function, print the change as a unified diff (to stderr)" },
  "filter-function": {
    type: "string",
    multiple: true,
    valueName: "NAME",
    description: "limit the --print-* options (and opt's --emit ir/dot) to function NAME; repeatable",
  },
  "opt-bisect-limit": {
    type: "string",
    valueName: "N",
    description: "run only the first N pass executions (a pass on a function), skip the rest, and print each one's number (to stderr); -1 runs all",
  },
  stats: { type: "boolean", description: "print pass and register allocation statistics (to stderr)" },
  "time-passes": { type: "boolean", description: "print the time each pass took (to stderr)" },
  "inline-threshold": { type: "string", valueName: "N", description: "inline Lua functions whose cost is at most N (default 40; 0 keeps real BPF-to-BPF calls)" },
  compat: {
    type: "string",
    valueName: "MODE",
    choices: ["lua", "bcc"],
    description: "how a number reads in a condition: lua (always true, with a warning; the default) or bcc (C-style, true when not 0)",
  },
  W: { type: "string", short: "W", valueName: "error", choices: ["error"], description: "-Werror: treat warnings as errors" },
  btf: {
    type: "string",
    valueName: "FILE",
    description: "kernel types (tracing contexts, CO-RE) from this BTF file (raw BTF or an ELF with .BTF); default /sys/kernel/btf/vmlinux",
  },
} as const satisfies OptionTable;

// ---- parsing ----

/**
 * Parses `argv` (the arguments after the command name) against `spec`. Throws
 * {@link UsageError} for unknown options, missing or bad values, and wrong operand counts.
 */
export function parseCommandLine(spec: CommandSpec, allArgs: readonly string[]): ParsedCommandLine {
  const dash = spec.trailing ? allArgs.indexOf("--") : -1;
  const argv = dash >= 0 ? allArgs.slice(0, dash) : allArgs;
  const trailing = dash >= 0 ? allArgs.slice(dash + 1) : undefined;
  const parsed = scanArguments(spec, argv);
  const values: OptionValues = {};
  for (const [name, o] of Object.entries(spec.options)) {
    let v = parsed.values[name] as string | boolean | string[] | undefined;
    if (typeof v === "boolean" && o.type === "string") {
      throw new UsageError(`option '${display(name, o)}' needs a value`, spec.name);
    }
    if (v === false && o.type === "boolean" && !o.negatable && argv.includes(`--no-${name}`)) {
      throw new UsageError(`unknown option '--no-${name}'`, spec.name);
    }
    if (o.choices && v !== undefined) for (const one of Array.isArray(v) ? v : [v]) checkChoice(spec, name, o, String(one));
    if (v === undefined && o.default !== undefined) v = o.default;
    values[name] = v;
  }
  const operands = parsed.positionals;
  if (values.help) return { values, operands, ...(trailing ? { trailing } : {}) };
  if (operands.length < spec.minOperands) {
    throw new UsageError(spec.minOperands === 1 ? `${spec.name} needs an input file` : `${spec.name} needs ${spec.operands}`, spec.name);
  }
  if (operands.length > spec.maxOperands) {
    throw new UsageError(`unexpected argument '${operands[spec.maxOperands]}' (${spec.name} takes ${spec.operands})`, spec.name);
  }
  if (trailing && trailing.length === 0) throw new UsageError(`'--' must be followed by a command`, spec.name);
  return { values, operands, ...(trailing ? { trailing } : {}) };
}

function checkChoice(spec: CommandSpec, name: string, o: OptionSpec, value: string): void {
  const ok = o.choices!.some((c) => (c.endsWith("=") ? value.startsWith(c) && value.length > c.length : c === value));
  if (!ok) {
    const list = o.choices!.map((c) => (c.endsWith("=") ? `${c}...` : c));
    throw new UsageError(`option '${display(name, o)}' takes ${list.slice(0, -1).join(", ")}${list.length > 1 ? " or " : ""}${list.at(-1)}, not '${value}'`, spec.name);
  }
}

/**
 * Splits `argv` into option values and operands, as `node:util` `parseArgs` does with
 * `strict`, `allowPositionals` and `allowNegative` (the command line used it; this is the same
 * syntax without loading that module, ~1.5 ms of a compile process's start-up;
 * test/options-scan.test.ts checks both agree): `--` ends the options; `-x` and `--name` take
 * the next argument as the value of a string option, `-xVALUE` and `--name=VALUE` an inline
 * one; `-abc` is `-a -b -c` up to the first string option, which takes the rest; `--no-NAME`
 * sets a boolean to false. The first bad option is a {@link UsageError}, worded for users.
 *
 * @internal exported for the test that compares it with `parseArgs`
 */
export function scanArguments(spec: CommandSpec, argv: readonly string[]): { values: Record<string, string | boolean | (string | boolean)[]>; positionals: string[] } {
  const options = spec.options;
  const nameOfShort = (c: string): string => Object.keys(options).find((n) => options[n]!.short === c) ?? c;
  const typeOf = (name: string): OptionSpec["type"] | undefined => (Object.hasOwn(options, name) ? options[name]!.type : undefined);
  const values: Record<string, string | boolean | (string | boolean)[]> = Object.create(null);
  const positionals: string[] = [];
  const fail = (message: string): never => {
    throw new UsageError(message, spec.name);
  };
  /** One option occurrence: `raw` as written (`-o`, `--emit`), `inline` when its value came with it. */
  const take = (name: string, raw: string, value: string | undefined, inline: boolean): void => {
    let base = name;
    if (typeOf(name) === undefined) {
      base = name.startsWith("no-") ? name.slice(3) : "";
      if (typeOf(base) !== "boolean") {
        const near = nearestOption(spec, raw);
        fail(`unknown option '${raw}'${near ? ` (did you mean '${near}'?)` : ""}`);
      }
    }
    const o = options[base]!;
    if (o.type === "string" && value === undefined) fail(`option '${display(base, o)}' needs a value`);
    if (o.type === "boolean" && value !== undefined) fail(`option '${o.short ? `-${o.short},` : `--${base}`}' does not take a value`);
    if (!inline && value !== undefined && value.length > 1 && value.startsWith("-")) {
      const written = raw.replace(/^-+/, "");
      const spec2 = options[written] ?? Object.values(options).find((x) => x.short === written);
      fail(`option '${spec2 ? display(written, spec2) : raw}' needs a value (write ${spec2?.short ? `-${spec2.short} ` : `--${written}=`}VALUE if the value starts with '-')`);
    }
    if (name === "__proto__") return;
    const v = base !== name && value === undefined ? false : (value ?? true);
    if (o.multiple) ((values[base] ??= []) as (string | boolean)[]).push(v);
    else values[base] = v;
  };
  const queue = [...argv];
  while (queue.length > 0) {
    const arg = queue.shift()!;
    if (arg === "--") {
      positionals.push(...queue);
      break;
    }
    if (arg.length < 2 || arg[0] !== "-") {
      positionals.push(arg);
    } else if (arg[1] !== "-") {
      const name = nameOfShort(arg[1]!);
      if (arg.length === 2) {
        take(name, arg, typeOf(name) === "string" && queue.length > 0 ? queue.shift() : undefined, false);
      } else if (typeOf(name) === "string") {
        take(name, `-${arg[1]}`, arg.slice(2), true);
      } else {
        // A group: each letter an option; a string option takes the rest as its value.
        const expanded: string[] = [];
        for (let k = 1; k < arg.length; k++) {
          if (typeOf(nameOfShort(arg[k]!)) !== "string" || k === arg.length - 1) expanded.push(`-${arg[k]}`);
          else {
            expanded.push(`-${arg.slice(k)}`);
            break;
          }
        }
        queue.unshift(...expanded);
      }
    } else if (arg.length > 2) {
      const eq = arg.indexOf("=", 3);
      if (eq < 0) take(arg.slice(2), arg, typeOf(arg.slice(2)) === "string" && queue.length > 0 ? queue.shift() : undefined, false);
      else take(arg.slice(2, eq), arg.slice(0, eq), arg.slice(eq + 1), true);
    } else {
      positionals.push(arg);
    }
  }
  return { values, positionals };
}

/** @internal The option nearest to a misspelt one (within edit distance 2), as written. */
export function nearestOption(spec: CommandSpec, raw: string): string | undefined {
  const bare = raw.replace(/^-+/, "").split("=")[0]!;
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of Object.keys(spec.options)) {
    const d = editDistance(name, bare);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best === undefined ? undefined : name(best, spec.options[best]!);
  function name(n: string, o: OptionSpec): string {
    return o.short && n.length === 1 ? `-${n}` : `--${n}`;
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** How an option is written (`-O`, `--emit`). */
/** @internal An option as written: `-o` for a one-letter name with a short form, else `--name`. */
export function display(name: string, o: OptionSpec): string {
  return o.short && name.length === 1 ? `-${name}` : `--${name}`;
}

// ---- help ----

/** The synopsis line of a command. */
export function synopsis(spec: CommandSpec): string {
  return `luabpf ${spec.name} [options] ${spec.operands}${spec.trailing ? ` ${spec.trailing}` : ""}`;
}

/** `luabpf help CMD`: synopsis, summary, every option with its value and help, then details. */
export function formatHelp(spec: CommandSpec): string {
  const rows: [string, string][] = [];
  for (const [name, o] of Object.entries(spec.options)) {
    if (o.hidden) continue;
    const value = o.type === "string" ? (o.choices && o.choices.length <= 4 && !o.choices.some((c) => c.endsWith("=")) ? o.choices.join("|") : (o.valueName ?? "VALUE")) : "";
    let left: string;
    if (o.short && name.length === 1) left = `-${name}${value}`;
    else {
      const long = `--${o.negatable ? `[no-]` : ""}${name}${value ? `=${value}` : ""}`;
      left = o.short ? `-${o.short}, ${long}` : long;
    }
    if (name === "o") left = `-o ${o.valueName ?? "FILE"}`;
    rows.push([left, o.description]);
  }
  const width = Math.min(32, Math.max(...rows.map(([l]) => l.length)) + 2);
  const lines = [`usage: ${synopsis(spec)}`, "", spec.summary, "", "options:"];
  for (const [left, text] of rows) lines.push(left.length + 2 > width ? `  ${left}\n  ${" ".repeat(width)}${text}` : `  ${left.padEnd(width)}${text}`);
  if (spec.details) lines.push("", spec.details.trimEnd());
  return lines.join("\n") + "\n";
}
