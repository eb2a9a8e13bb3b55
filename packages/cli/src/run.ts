/**
 * `luabpf run --packet`: loads an object into the kernel, test-runs each program that the
 * kernel can run on a packet (`BPF_PROG_TEST_RUN`), and prints verdicts and the maps'
 * contents (as live runs print them: map-view.ts). What to feed a program and what its
 * return value means follow from the type it was loaded as (the platform's program type
 * table).
 */
import type { BpfObject } from "@luabpf/elf";
import { bpfAvailable, buildPacket, loadObject } from "@luabpf/loader";
import { programTypeById, TC_ACTIONS, XDP_ACTIONS, type ProgramResult } from "@luabpf/platform";
import { KernelUnavailableError } from "./errors.js";
import type { CliIo } from "./io.js";
import { renderMap } from "./map-view.js";

/** The verdict a return value means for a program whose results mean `result`. */
export function verdict(result: ProgramResult, retval: number): string {
  switch (result) {
    case "xdp_action":
      return XDP_ACTIONS[retval] ?? `unknown XDP action ${retval}`;
    case "tc_action":
      return TC_ACTIONS[retval | 0] ?? `tc action ${retval | 0}`;
    case "socket_filter":
      return retval === 0 ? "drop" : `accept (keep ${retval} bytes)`;
    case "cgroup_verdict":
    case "integer":
      return `return ${retval}`;
  }
}

/**
 * A packet socket's filter sees the frame from its Ethernet header, but
 * `BPF_PROG_TEST_RUN` hands socket filters the packet from the network header (it
 * consumes an Ethernet header first). Prefixing a copy of the Ethernet header makes the
 * program see exactly `frame`, as it would on a packet socket.
 */
export function asSeenByPacketSocket(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame.length + 14);
  out.set(frame.subarray(0, 14), 0);
  out.set(frame, 14);
  return out;
}

export interface RunOptions {
  /** Packet specs (loader's `parsePacketSpec`): every program runs on each, in order. */
  packets: readonly string[];
  repeat: number;
}

/** Loads `object`, runs its programs, prints the results. Returns the exit status. */
export function runObject(object: BpfObject, options: RunOptions, io: CliIo): number {
  const available = bpfAvailable();
  if (!available.ok) {
    throw new KernelUnavailableError(`cannot use bpf(2) here: ${available.reason}`);
  }
  const packets = options.packets.map((spec) => ({ spec, frame: buildPacket(spec) }));
  const loaded = loadObject(object);
  try {
    for (const [i, { spec, frame }] of packets.entries()) {
      if (packets.length > 1) io.stdout(`packet ${spec} (${frame.length} bytes):\n`);
      for (const prog of loaded.programs.values()) {
        const type = programTypeById(prog.type);
        const input = type?.testRun;
        if (input !== "packet_l2" && input !== "packet_l3") {
          if (i === 0) io.stdout(`program ${prog.name} (${prog.section}): loaded; the kernel cannot test-run this program type\n`);
          continue;
        }
        // A socket filter sees frames from their Ethernet header on a packet socket.
        const r = prog.testRun(type!.name === "socket_filter" ? asSeenByPacketSocket(frame) : frame, { repeat: options.repeat });
        io.stdout(`program ${prog.name} (${prog.section}): ${verdict(type!.result, r.retval)}, return value ${r.retval}` +
          `${options.repeat > 1 ? ` (${options.repeat} runs, ${r.duration} ns each)` : ""}\n`);
      }
    }
    for (const handle of loaded.maps.values()) io.stdout(renderMap(handle));
  } finally {
    loaded.close();
  }
  return 0;
}
