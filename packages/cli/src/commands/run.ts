/**
 * `luabpf run`: compiles a Lua file (or reads an object) and loads it into the kernel. With
 * `--packet`, test-runs each program on that packet (`BPF_PROG_TEST_RUN`) and prints verdicts
 * and maps (run.ts). Without it, attaches every program to its hook and runs live until
 * Ctrl-C, `--duration` or the end of the command after `--`, printing events and maps
 * (live.ts). A verifier rejection is reported at the Lua line of the rejected instruction.
 *
 * A Lua input is compiled, written as an ELF object in memory and read back, so that a .lua
 * and its .o run the same way (record types and attach data are read from the object).
 */
import { IoError, UsageError } from "../errors.js";
import { readInputs } from "../io.js";
import { DIAGNOSTIC_OPTIONS, HELP_OPTIONS, PIPELINE_OPTIONS } from "../options.js";
import { listOption, stringOption, type Command, type CommandContext } from "./command.js";
import { pipelineChoice } from "./pipeline.js";

export const runCommand: Command = {
  name: "run",
  summary: "Load programs into the kernel and attach them (events and maps shown live), or test-run them on a packet.",
  operands: "FILE.lua|FILE.o",
  trailing: "[-- COMMAND [ARG...]]",
  minOperands: 1,
  maxOperands: 1,
  options: {
    packet: {
      type: "string",
      multiple: true,
      valueName: "SPEC",
      description: "test-run each program on this packet instead of attaching (repeatable: the packets in order), e.g. tcp,dport=80  udp6,vlan=7,dport=53  tcp,payload=GET /",
    },
    repeat: { type: "string", valueName: "N", default: "1", description: "with --packet: run each program N times (BPF_PROG_TEST_RUN repeat)" },
    iface: { type: "string", valueName: "NAME", description: "the interface socket, tc and XDP programs attach to" },
    "xdp-mode": {
      type: "string",
      valueName: "MODE",
      choices: ["native", "generic"],
      description: "XDP in the driver (native) or after the skb is built (generic); default: native where supported",
    },
    duration: { type: "string", valueName: "SECONDS", description: "stop after this many seconds" },
    interval: { type: "string", valueName: "SECONDS", description: "also print the maps every this many seconds" },
    json: { type: "boolean", description: "print one JSON object per line: events, lost counts, maps" },
    pin: { type: "string", valueName: "DIR", description: "pin maps and links in this bpffs directory while running (removed at exit)" },
    pid: { type: "string", valueName: "PID", description: "limit uprobes to this process" },
    ...PIPELINE_OPTIONS,
    ...DIAGNOSTIC_OPTIONS,
    ...HELP_OPTIONS,
  },
  details: `Needs bpf(2) (root or CAP_BPF). Without --packet every program is attached to the hook
its section names: tracepoint/CAT/NAME, raw_tp/NAME, tp_btf/NAME, fentry/FN, fexit/FN,
kprobe/SYM, uprobe/PATH:FUNC, and socket, tc, xdp on --iface. Events of ring buffers and
perf event arrays print as they arrive, decoded by their record type (a luabpf.record BTF
tag on the map); at exit, and every --interval, each map prints: scalars, tables sorted by
value, and maps named hist / *_hist (log2) or lhist / *_lhist (linear) as histograms.
Ctrl-C, SIGTERM, --duration or the end of COMMAND stop the run; every program is detached
and every pin removed on the way out. With --packet, socket filters see the packet from
its Ethernet header, as on a packet socket; several --packet options run every program on
each packet in turn (maps print once, after the last). A packet SPEC is a protocol (tcp,
udp, icmp; tcp6, udp6, icmp6 over IPv6) then key=value items: src, dst, sport, dport, ttl,
flags (TCP: letters of FSRPAU), vlan (an 802.1Q tag), prio, len (pad to this length), cut
(truncate to this length), hex (payload bytes) or payload (text; the last item, commas
included). A .o input is loaded as it is ('-' reads Lua from standard input).

examples:
  luabpf run opens.lua --duration 5
  luabpf run opens.o --json -- ls /
  luabpf run xdp-drop.lua --iface eth0 --xdp-mode generic --interval 1
  luabpf run examples/proto-count.lua --packet udp,dport=53 --repeat 3
  luabpf run examples/http-methods.lua --packet 'tcp,payload=GET / HTTP/1.0' --packet tcp6,cut=40`,
  run: runRun,
};

function seconds(values: CommandContext["values"], name: string): number | undefined {
  const text = stringOption(values, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} takes a positive number of seconds, not '${text}'`, "run");
  return n;
}

async function runRun(ctx: CommandContext): Promise<number> {
  const { values, io } = ctx;
  const repeat = Number(stringOption(values, "repeat"));
  if (!Number.isInteger(repeat) || repeat < 1) throw new UsageError("--repeat takes a positive integer", "run");
  const packets = listOption(values, "packet");
  const live = packets.length === 0;
  if (!live && ctx.trailing) throw new UsageError("'-- COMMAND' runs a command while programs are attached; it cannot be combined with --packet", "run");
  const duration = seconds(values, "duration");
  const interval = seconds(values, "interval");
  const pidText = stringOption(values, "pid");
  const pid = pidText === undefined ? undefined : Number(pidText);
  if (pid !== undefined && (!Number.isInteger(pid) || pid <= 0)) throw new UsageError(`--pid takes a process id, not '${pidText}'`, "run");
  const pipeline = await pipelineChoice(values, "run");
  const [input] = await readInputs(ctx.operands, io);

  const elf = await import("../lazy/elf.js");
  let bytes: Uint8Array;
  let object;
  if (input!.path.endsWith(".o")) {
    bytes = input!.bytes;
    object = elf.readObject(bytes);
  } else {
    if (input!.bytes.length >= 4 && input!.bytes[0] === 0x7f && input!.bytes[1] === 0x45) {
      throw new IoError(input!.path, "read", undefined, "this is an ELF file: name it FILE.o to run it as an object");
    }
    const source = new TextDecoder().decode(input!.bytes);
    ctx.sources.set(input!.name, source);
    const driver = await import("../driver.js");
    const result = driver.compileSource(source, { file: input!.name, ...pipeline, discardIr: true, passTimes: pipeline.timePasses || values.stats === true, log: io.stderr, onWarning: (d) => ctx.diagnostics.print({ ...d, category: "compile" }) });
    if (values.stats) io.stderr(driver.formatStats(result));
    if (pipeline.timePasses) io.stderr((await import("../lazy/passes.js")).formatPassTimes(result.report));
    object = result.object;
    bytes = elf.writeObject(object);
  }
  const { explainRejection } = await import("../verify.js");
  try {
    if (!live) {
      const run = await import("../run.js");
      return run.runObject(object, { packets, repeat }, io);
    }
    const btf = elf.readObjectBtf(bytes);
    const loaded = elf.readObject(bytes);
    const { runLive } = await import("../live.js");
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      const iface = stringOption(values, "iface");
      const xdpMode = stringOption(values, "xdp-mode") as "native" | "generic" | undefined;
      const pinDir = stringOption(values, "pin");
      return await runLive(
        loaded,
        {
          ...(iface !== undefined ? { iface } : {}),
          ...(xdpMode ? { xdpMode } : {}),
          ...(pid !== undefined ? { pid } : {}),
          ...(duration !== undefined ? { duration } : {}),
          ...(interval !== undefined ? { interval } : {}),
          ...(values.json ? { json: true } : {}),
          ...(pinDir !== undefined ? { pin: pinDir } : {}),
          ...(ctx.trailing ? { command: ctx.trailing } : {}),
          ...(btf ? { btfTypes: btf.types } : {}),
          signal: controller.signal,
        },
        io,
      );
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
  } catch (e) {
    throw explainRejection(e, object);
  }
}
