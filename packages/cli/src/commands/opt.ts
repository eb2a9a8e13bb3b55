/**
 * `luabpf opt`: runs passes over a module and prints the result — LLVM's `opt` for this IR.
 * The work is done by `runOpt` (../opt.ts), which file tests call too.
 */
import { UsageError } from "../errors.js";
import { readInputs, writeOutput } from "../io.js";
import { DIAGNOSTIC_OPTIONS, HELP_OPTIONS, PIPELINE_OPTIONS } from "../options.js";
import { listOption, stringOption, type Command, type CommandContext } from "./command.js";
import { pipelineChoice } from "./pipeline.js";

const EMIT = ["ir", "dot", "asm", "obj"] as const;

export const optCommand: Command = {
  name: "opt",
  summary: "Run passes over an IR (or Lua) module and print the result, with verify/print/bisect instrumentation (LLVM opt).",
  operands: "FILE.ir|FILE.lua [ARG...]",
  minOperands: 1,
  maxOperands: Infinity,
  options: {
    o: { type: "string", short: "o", valueName: "PATH", description: "write the output to PATH (default: standard output)" },
    emit: { type: "string", valueName: "KIND", choices: EMIT, default: "ir", description: "ir (default), dot (CFG per function), asm (eBPF assembly), obj (ELF object)" },
    run: {
      type: "string",
      valueName: "FN",
      description: "after the passes, run function FN in the IR interpreter on the ARGs (integers or 'ctx'); print its result, instruction count and maps",
    },
    packet: { type: "string", valueName: "SPEC", description: "--run: the packet a program sees, e.g. tcp,dport=80 (as for luabpf run)" },
    ...PIPELINE_OPTIONS,
    O: { ...PIPELINE_OPTIONS.O, default: undefined, description: "run the -O0/-O1/-O2 pipeline (default: only the --passes given)" },
    ...DIAGNOSTIC_OPTIONS,
    ...HELP_OPTIONS,
  },
  details: `The input is IR text (docs/ir.md; '-' reads it from standard input) or, for a .lua
file, the front end's IR. It is verified before the passes and after them; a pass that
leaves invalid IR is named (with --verify-each, at once, with the IR before and after).
Without --passes or -O no pass runs. Printed IR, BISECT lines, --stats and --time-passes go
to standard error. Passes of --load-pass modules are errors of their own: a pass that throws
or breaks the IR makes opt exit with status 1, naming it.

examples:
  luabpf opt f.ir --passes sccp,dce                      # IR after the passes
  luabpf opt prog.lua -O2 --print-changed               # what each -O2 pass changed
  luabpf opt f.ir --load-pass ./my-pass.js --passes my-pass --verify-each
  luabpf opt f.ir --passes sccp,gvn,dce --opt-bisect-limit 2   # run only the first 2 pass executions
  luabpf opt f.ir --passes licm --run f 3 4              # run @f(3, 4) after licm
  luabpf opt f.ir --run f -- -1 4                        # a negative ARG goes after --
  luabpf opt prog.lua -O2 --emit asm`,
  run: runOptCommand,
};

async function runOptCommand(ctx: CommandContext): Promise<number> {
  const { values, io } = ctx;
  const [file, ...args] = ctx.operands;
  const runFn = stringOption(values, "run");
  if (args.length > 0 && runFn === undefined) throw new UsageError(`unexpected argument '${args[0]}' (ARGs go with --run FN)`, "opt");
  const emit = stringOption(values, "emit") as (typeof EMIT)[number];
  if (runFn !== undefined && emit !== "ir") throw new UsageError(`--run prints the interpreter's outcome: it does not go with --emit ${emit}`, "opt");
  const pipeline = await pipelineChoice(values, "opt");
  const optLevel = stringOption(values, "O");
  const packetSpec = stringOption(values, "packet");
  const packet = packetSpec !== undefined ? (await import("../lazy/loader.js")).buildPacket(packetSpec) : undefined;
  const [input] = await readInputs([file!], io);
  const text = new TextDecoder().decode(input!.bytes);
  ctx.sources.set(input!.name, text);
  const { runOpt } = await import("../opt.js");
  const { timePasses, ...rest } = pipeline;
  const result = await runOpt({
    file: input!.name,
    text,
    pipeline: { ...rest, optLevel: optLevel === undefined ? undefined : (Number(optLevel) as 0 | 1 | 2) },
    emit,
    functions: listOption(values, "filter-function"),
    stats: values.stats === true,
    timePasses,
    ...(runFn !== undefined ? { run: { fn: runFn.replace(/^@/, ""), args, ...(packet ? { packet } : {}) } } : {}),
    log: io.stderr,
  });
  const output = stringOption(values, "o");
  writeOutput(output === undefined || output === "-" ? { kind: "stdout" } : { kind: "file", path: output }, result.output, io);
  return result.trapped ? 1 : 0;
}
