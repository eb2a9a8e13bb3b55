/**
 * `luabpf compile`: Lua source → ELF object (or IR, assembly, CFG or interference graph
 * as text), one output per input or, with `--link`, one for all of them; `--verify`
 * also loads the object into the kernel's verifier and reports a rejection at its Lua line.
 */
import type { Module } from "@luabpf/ir";
import type { RegAllocKind } from "@luabpf/passes";
import { UsageError } from "../errors.js";
import { planOutputs, readInputs, writeOutput, type Input } from "../io.js";
import { DIAGNOSTIC_OPTIONS, HELP_OPTIONS, PIPELINE_OPTIONS } from "../options.js";
import { stringOption, type Command, type CommandContext } from "./command.js";
import { pipelineChoice } from "./pipeline.js";

/** What `--emit` can produce, with the extension of its files under `-o DIR`. */
const EMIT_KINDS = {
  obj: ".o",
  asm: ".s",
  ir: ".ir",
  dot: ".dot",
  "dot=cfg": ".dot",
  "dot=interference": ".dot",
} as const;
type EmitKind = keyof typeof EMIT_KINDS;

export const compileCommand: Command = {
  name: "compile",
  summary: "Compile Lua programs to eBPF ELF objects (or print their IR, assembly or control-flow graphs).",
  operands: "FILE.lua...",
  minOperands: 1,
  maxOperands: Infinity,
  options: {
    o: {
      type: "string",
      short: "o",
      valueName: "PATH",
      description: "write to PATH ('-': standard output); with several inputs, PATH is a directory",
    },
    emit: {
      type: "string",
      valueName: "KIND",
      choices: Object.keys(EMIT_KINDS),
      default: "obj",
      description: "obj (ELF object, default), asm (llvm-objdump -d syntax), ir, dot (CFG per function), dot=interference",
    },
    source: {
      type: "boolean",
      negatable: true,
      default: true,
      description: "--emit asm: interleave the Lua source lines as llvm-objdump -S does (--no-source: off)",
    },
    link: { type: "boolean", description: "link every input into one object; maps of the same name become one map" },
    verify: {
      type: "boolean",
      description: "load the object into the kernel's verifier (without running it); a rejection is an error at its Lua line",
    },
    mcpu: {
      type: "string",
      short: "m",
      valueName: "vN",
      // `-mcpu=v4` (clang's spelling) reaches the parser as -m with the value `cpu=v4`.
      choices: ["v1", "v2", "v3", "v4", "cpu="],
      default: "v3",
      description: "eBPF ISA version, as clang's -mcpu=v1..v4 (default v3); v4 adds gotol for long jumps, sign-extending moves and signed division",
    },
    regalloc: {
      type: "string",
      valueName: "KIND",
      // passes' REGALLOC_KINDS and LINEAR_SCAN_THRESHOLD (not imported: `compile --help` loads no
      // compiler package; test/regalloc.test.ts checks that these words agree with them).
      choices: ["auto", "irc", "linear"],
      default: "auto",
      description: "register allocator, as llc's -regalloc: irc (iterated register coalescing), linear (linear scan), auto (default: irc, linear for a function of more than 50,000 machine instructions)",
    },
    ...PIPELINE_OPTIONS,
    ...DIAGNOSTIC_OPTIONS,
    ...HELP_OPTIONS,
  },
  details: `Without -o, an object goes next to its input (prog.lua -> prog.o) and text goes to
standard output. '-' as an input reads standard input. --emit dot prints the CFG of each
function after the pipeline (with --passes, after those passes); dot=interference prints
each function's register interference graph. Exit status: 0 success, 1 bad input (compile
error, verifier rejection, unreadable file), 2 bad usage, 70 internal error.

examples:
  luabpf compile prog.lua                      # writes prog.o
  luabpf compile prog.lua -o - | llvm-objdump -S -
  luabpf compile a.lua b.lua -o out/           # out/a.o, out/b.o
  luabpf compile --link a.lua b.lua -o ab.o    # one object, shared maps
  luabpf compile prog.lua --emit dot | dot -Tsvg > cfg.svg
  luabpf compile prog.lua --verify --passes sccp,dce`,
  run: runCompile,
};

/** One output: the inputs it is compiled from. */
interface Unit {
  path: string;
  inputs: Input[];
}

async function runCompile(ctx: CommandContext): Promise<number> {
  const { values, io } = ctx;
  const emit = stringOption(values, "emit") as EmitKind;
  const output = stringOption(values, "o");
  const link = values.link === true;
  const pipeline = await pipelineChoice(values, "compile");
  const mcpu = (stringOption(values, "mcpu") ?? "v3").replace(/^cpu=/, "");
  if (!/^v[1-4]$/.test(mcpu)) throw new UsageError(`-mcpu takes v1, v2, v3 or v4, not '${mcpu}'`, "compile");
  const cpu = Number(mcpu[1]) as 1 | 2 | 3 | 4;
  const regalloc = (stringOption(values, "regalloc") ?? "auto") as RegAllocKind;
  if (link && emit === "obj" && output === undefined) throw new UsageError("--link writes one object: name it with -o FILE", "compile");
  if (values.verify && emit !== "obj" && emit !== "asm") throw new UsageError(`--verify needs code: it does not go with --emit ${emit}`, "compile");

  const inputs = await readInputs(ctx.operands, io);
  const decoder = new TextDecoder();
  const texts = new Map<Input, string>();
  for (const input of inputs) {
    const text = decoder.decode(input.bytes);
    texts.set(input, text);
    ctx.sources.set(input.name, text);
  }
  const units: Unit[] = link ? [{ path: inputs[0]!.path, inputs }] : inputs.map((i) => ({ path: i.path, inputs: [i] }));
  const destinations = planOutputs(units, output, EMIT_KINDS[emit], emit === "obj");

  const driver = await import("../driver.js");
  let status = 0;
  const printWarning = (d: import("@luabpf/ir").Diagnostic): void => ctx.diagnostics.print({ ...d, category: "compile" });
  let onWarning: typeof printWarning | undefined;
  for (const [k, unit] of units.entries()) {
    try {
      const link = unit.inputs.length === 1 ? undefined : (await import("../link.js")).linkModules;
      const front = (): Module => {
        const modules = unit.inputs.map((input) => ({ file: input.name, module: driver.frontend(texts.get(input)!, input.name, { ...pipeline, onWarning }) }));
        return link ? link(modules) : modules[0]!.module;
      };
      onWarning = printWarning;
      const module = front();
      // A repeated front end (to name a stage that broke the IR) warns no more.
      onWarning = undefined;
      const report = driver.optimize(module, { ...pipeline, log: io.stderr, passTimes: pipeline.timePasses || values.stats === true });
      if (pipeline.timePasses) io.stderr((await import("../lazy/passes.js")).formatPassTimes(report));
      let data: string | Uint8Array;
      if (emit === "ir" || emit === "dot" || emit === "dot=cfg") {
        if (values.stats) io.stderr(driver.formatPassStats(report));
        data = emit === "ir" ? (await import("../lazy/ir.js")).printModule(module) : await driver.formatCfgDot(module);
      } else if (emit === "dot=interference") {
        if (values.stats) io.stderr(driver.formatPassStats(report));
        data = await driver.formatInterferenceDot(module);
      } else {
        // Verified first; if broken, the compile is repeated with verification after every pass to name the culprit.
        // Only the code is wanted from here: the IR of each function is freed once it is selected.
        const { programs, object } = driver.codegen(module, () => driver.optimize(front(), driver.quietVerifyEach(pipeline)), { cpu, regalloc, discardIr: true });
        if (values.stats) io.stderr(driver.formatStats({ report, programs }));
        if (values.verify) await (await import("../verify.js")).verifyObject(object);
        if (emit === "asm") {
          // The banner names the object the listing is of, as llvm-objdump does: the input's .o.
          const objectName = unit.path === "-" ? "stdin.o" : unit.path.replace(/^.*\//, "").replace(/\.lua$/, "") + ".o";
          data = driver.formatAssembly(objectName, programs, values.source === false ? undefined : ctx.sources);
        } else data = (await import("../lazy/elf.js")).writeObject(object);
      }
      writeOutput(destinations[k]!, data, io);
    } catch (e) {
      // Usage errors concern the whole command line; anything else concerns this input only.
      if (e instanceof UsageError) throw e;
      status = Math.max(status, await ctx.report(e));
    }
  }
  return status;
}
