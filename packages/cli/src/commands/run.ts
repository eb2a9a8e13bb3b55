/**
 * `luabpf run`: compiles a Lua file (or reads an object), loads it into the kernel, test-runs
 * each program on a packet (`BPF_PROG_TEST_RUN`) and prints verdicts and the maps. A
 * verifier rejection is reported at the Lua line of the rejected instruction.
 */
import { IoError, UsageError } from "../errors.js";
import { readInputs } from "../io.js";
import { DIAGNOSTIC_OPTIONS, HELP_OPTIONS, PIPELINE_OPTIONS } from "../options.js";
import { stringOption, type Command, type CommandContext } from "./command.js";
import { pipelineChoice } from "./pipeline.js";

export const runCommand: Command = {
  name: "run",
  summary: "Load a program into the kernel and test-run it on a packet (BPF_PROG_TEST_RUN); print verdicts and maps.",
  operands: "FILE.lua|FILE.o",
  minOperands: 1,
  maxOperands: 1,
  options: {
    packet: {
      type: "string",
      valueName: "SPEC",
      default: "tcp,dport=80",
      description: "test packet, e.g. tcp,dport=80  udp,sport=53  icmp  tcp,src=10.0.0.1,len=200",
    },
    repeat: { type: "string", valueName: "N", default: "1", description: "run each program N times (BPF_PROG_TEST_RUN repeat)" },
    ...PIPELINE_OPTIONS,
    ...DIAGNOSTIC_OPTIONS,
    ...HELP_OPTIONS,
  },
  details: `Needs bpf(2) (root or CAP_BPF). Socket filters see the packet from its Ethernet
header, as on a packet socket. A .o input is loaded as it is ('-' reads Lua from standard
input).

examples:
  luabpf run examples/proto-count.lua --packet udp,dport=53 --repeat 3
  luabpf run prog.o --packet tcp,dport=80,len=120`,
  run: runRun,
};

async function runRun(ctx: CommandContext): Promise<number> {
  const { values, io } = ctx;
  const repeat = Number(stringOption(values, "repeat"));
  if (!Number.isInteger(repeat) || repeat < 1) throw new UsageError("--repeat takes a positive integer", "run");
  const pipeline = await pipelineChoice(values, "run");
  const [input] = await readInputs(ctx.operands, io);
  const run = await import("../run.js");
  let object;
  if (input!.path.endsWith(".o")) {
    const { readObject } = await import("@luabpf/elf");
    object = readObject(input!.bytes);
  } else {
    if (input!.bytes.length >= 4 && input!.bytes[0] === 0x7f && input!.bytes[1] === 0x45) {
      throw new IoError(input!.path, "read", undefined, "this is an ELF file: name it FILE.o to run it as an object");
    }
    const source = new TextDecoder().decode(input!.bytes);
    ctx.sources.set(input!.name, source);
    const driver = await import("../driver.js");
    const result = driver.compileSource(source, { file: input!.name, ...pipeline, log: io.stderr });
    if (values.stats) io.stderr(driver.formatStats(result));
    object = result.object;
  }
  const { explainRejection } = await import("../verify.js");
  try {
    return run.runObject(object, { packet: stringOption(values, "packet")!, repeat }, io);
  } catch (e) {
    throw explainRejection(e, object);
  }
}
