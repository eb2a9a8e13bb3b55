/**
 * `luabpf experiment`: compares two pass pipelines over a corpus of programs (see
 * ../experiment.ts for what is measured and how).
 */
import { UsageError } from "../errors.js";
import { readInputs } from "../io.js";
import { DIAGNOSTIC_OPTIONS, HELP_OPTIONS } from "../options.js";
import { listOption, stringOption, type Command, type CommandContext } from "./command.js";

export const experimentCommand: Command = {
  name: "experiment",
  summary: "Compare two pass pipelines over programs: eBPF slots, verifier work, compile time, interpreter steps, with geometric means.",
  operands: "FILE.lua|FILE.ir...",
  minOperands: 1,
  maxOperands: Infinity,
  options: {
    passes: { type: "string", valueName: "A", description: "the baseline pipeline, e.g. O2 (-O2) or sccp,dce; O0/O1/O2 stand for the levels" },
    vs: { type: "string", valueName: "B", description: "the pipeline compared with it, e.g. O2,licm" },
    "load-pass": { type: "string", multiple: true, valueName: "FILE", description: "load the passes an ES module exports (repeatable)" },
    repeat: { type: "string", valueName: "N", default: "3", description: "compile each file N times per pipeline and report the median time" },
    kernel: { type: "boolean", negatable: true, default: true, description: "load each object into the kernel to count the verifier's processed instructions (--no-kernel: skip)" },
    packet: { type: "string", valueName: "SPEC", default: "tcp,dport=80", description: "the packet the interpreter runs packet programs on" },
    json: { type: "boolean", description: "print the measurements as JSON instead of a table" },
    ...DIAGNOSTIC_OPTIONS,
    ...HELP_OPTIONS,
  },
  details: `Each program of each file is measured under A and under B: its eBPF instruction slots,
the instructions the kernel's verifier processed to accept it (a load with log level 4; 'n/a'
without bpf(2), 'rejected' if refused), the median compile time of its file, and the IR
instructions the interpreter executed running it once (a packet program on --packet). The
last row is the geometric mean of the B/A ratios of each measure. A program that traps in
the interpreter, or a file the kernel refuses, is listed in a note.

examples:
  luabpf experiment --passes O2 --vs O2,licm examples/*.lua
  luabpf experiment --passes O1 --vs O2 --no-kernel --json prog.lua`,
  run: runExperimentCommand,
};

async function runExperimentCommand(ctx: CommandContext): Promise<number> {
  const { values, io } = ctx;
  const baseline = stringOption(values, "passes");
  const candidate = stringOption(values, "vs");
  if (baseline === undefined || candidate === undefined) throw new UsageError("experiment needs both pipelines: --passes A --vs B", "experiment");
  const repeat = Number(stringOption(values, "repeat"));
  if (!Number.isInteger(repeat) || repeat < 1) throw new UsageError("--repeat takes a positive integer", "experiment");
  const { pipelineText, runExperiment, formatExperiment } = await import("../experiment.js");
  const { defaultRegistry, PipelineError } = await import("../lazy/passes.js");
  let registry = defaultRegistry;
  const modules = listOption(values, "load-pass");
  if (modules.length > 0) {
    const { loadPasses } = await import("../load-pass.js");
    registry = registry.clone();
    for (const path of modules) await loadPasses(path, registry);
  }
  for (const [option, text] of [["--passes", baseline], ["--vs", candidate]] as const) {
    try {
      registry.parse(pipelineText(text));
    } catch (e) {
      if (e instanceof PipelineError) throw new UsageError(`${option}: ${e.message}`, "experiment");
      throw e;
    }
  }
  const packet = (await import("../lazy/loader.js")).buildPacket(stringOption(values, "packet")!);
  const inputs = await readInputs(ctx.operands, io);
  const decoder = new TextDecoder();
  const files = inputs.map((i) => {
    const text = decoder.decode(i.bytes);
    ctx.sources.set(i.name, text);
    return { name: i.name, text };
  });
  const result = await runExperiment({ files, baseline, candidate, registry, kernel: values.kernel !== false, repeat, packet });
  io.stdout(values.json ? JSON.stringify(result, null, 2) + "\n" : formatExperiment(result));
  return 0;
}
