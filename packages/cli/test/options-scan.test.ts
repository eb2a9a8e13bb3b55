/**
 * The command line's option scanner (options.ts scanArguments) against `node:util`
 * `parseArgs` with the options it was configured with before (strict, operands allowed,
 * `--no-NAME`), and parseArgs' errors reworded as they were: the same values and operands,
 * or the same message, for every command's option table over many generated argument lists.
 */
import { parseArgs } from "node:util";
import { describe, expect, test } from "vitest";
import { COMMANDS } from "../src/commands/index.js";
import { UsageError } from "../src/errors.js";
import { display, nearestOption, scanArguments, type CommandSpec } from "../src/options.js";

/** What the command line did with parseArgs: its result, or its error reworded. */
function reference(spec: CommandSpec, argv: string[]): unknown {
  const config: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(spec.options)) config[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  try {
    const { values, positionals } = parseArgs({ args: argv, options: config, strict: true, allowPositionals: true, allowNegative: true });
    return { values: { ...values }, positionals };
  } catch (err) {
    const e = err as Error & { code?: string };
    const raw = /'([^']+)'/.exec(e.message)?.[1] ?? "";
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const near = nearestOption(spec, raw);
      return { error: `unknown option '${raw}'${near ? ` (did you mean '${near}'?)` : ""}` };
    }
    if (e.code !== "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") return { error: e.message };
    if (/does not take an argument/.test(e.message)) return { error: `option '${raw.split(/[ =]/)[0]}' does not take a value` };
    const opt = /(--?[\w-]+)(?=[ >]|$)/.exec(e.message)?.[1] ?? raw;
    const name = opt.replace(/^-+/, "");
    const o = spec.options[name] ?? Object.values(spec.options).find((x) => x.short === name);
    if (/ambiguous/.test(e.message)) return { error: `option '${o ? display(name, o) : opt}' needs a value (write ${o?.short ? `-${o.short} ` : `--${name}=`}VALUE if the value starts with '-')` };
    return { error: `option '${o ? display(name, o) : opt}' needs a value` };
  }
}

function scanned(spec: CommandSpec, argv: string[]): unknown {
  try {
    const { values, positionals } = scanArguments(spec, argv);
    return { values: { ...values }, positionals };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return { error: e.message };
  }
}

/** Argument lists made of the command's own option spellings, values, groups and strays. */
function* argumentLists(spec: CommandSpec, count: number): Generator<string[]> {
  let seed = 0x2545f491;
  const next = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const names = Object.keys(spec.options);
  const shorts = Object.values(spec.options).flatMap((o) => (o.short ? [o.short] : []));
  const words = ["x.lua", "-", "--", "-1", "-x", "2", "v3", "obj", "a=b", "", "--=", "--=x", "-=", "all", "--__proto__", "-__proto__"];
  const piece = (): string => {
    const name = names[next(names.length)]!;
    const short = shorts.length ? shorts[next(shorts.length)]! : "h";
    switch (next(12)) {
      case 0: return `--${name}`;
      case 1: return `--no-${name}`;
      case 2: return `--${name}=${words[next(words.length)]}`;
      case 3: return `-${short}`;
      case 4: return `-${short}${words[next(words.length)]}`;
      case 5: return `-${[short, ...shorts, "q"].slice(0, 1 + next(3)).join("")}${next(2) ? "" : "val"}`;
      case 6: return `--${name.slice(0, -1)}`;
      case 7: return `--no-${name}=x`;
      default: return words[next(words.length)]!;
    }
  };
  for (let i = 0; i < count; i++) yield Array.from({ length: next(5) }, piece);
}

describe("option scanning", () => {
  for (const command of COMMANDS) {
    test(`${command.name}: the same values, operands or message as parseArgs`, () => {
      const outcomes = new Set<string>();
      for (const argv of argumentLists(command, 1500)) {
        const expected = reference(command, argv) as { error?: string };
        expect(scanned(command, argv), JSON.stringify(argv)).toEqual(expected);
        outcomes.add(expected.error?.replace(/'.*/, "").replace(/^option $/, `option ... ${/does not take|\(write/.exec(expected.error)?.[0] ?? "needs"}`) ?? "parsed");
      }
      // The lists reach every outcome: parsed, unknown option, missing value, value not taken, ambiguous value.
      expect([...outcomes].sort()).toEqual(["option ... (write", "option ... does not take", "option ... needs", "parsed", "unknown option "]);
    });
  }
  test("spellings users write", () => {
    const compile = COMMANDS.find((c) => c.name === "compile")!;
    for (const argv of [["-O2", "-ox.o", "a.lua"], ["-o", "x.o", "--emit=asm", "--no-source", "a.lua"], ["-mcpu=v4", "a.lua"], ["-Werror", "-h"], ["--passes", "-x"], ["-o", "-x"], ["--stats=yes"], ["--emitt", "x"], ["-hO2"], ["-ho", "-"], ["--", "-x", "--y"]]) {
      expect(scanned(compile, argv), JSON.stringify(argv)).toEqual(reference(compile, argv));
    }
  });
});
