/**
 * `luabpf run`: loads an object into the kernel, test-runs each program that the kernel
 * can run (`BPF_PROG_TEST_RUN`) on a packet, and prints verdicts and the maps' contents.
 */
import { MapType, type BpfObject } from "@luabpf/elf";
import { bpfAvailable, buildPacket, loadObject, type MapHandle } from "@luabpf/loader";
import { KernelUnavailableError } from "./errors.js";
import type { CliIo } from "./io.js";

const XDP_VERDICTS = ["XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"];
const TC_VERDICTS: Record<number, string> = { [-1]: "TC_ACT_UNSPEC", 0: "TC_ACT_OK", 1: "TC_ACT_RECLASSIFY", 2: "TC_ACT_SHOT", 3: "TC_ACT_PIPE", 4: "TC_ACT_STOLEN", 5: "TC_ACT_QUEUED", 6: "TC_ACT_REPEAT", 7: "TC_ACT_REDIRECT" };

/** The verdict a return value means for a program section. */
export function verdict(section: string, retval: number): string {
  if (section === "xdp" || section.startsWith("xdp/")) return XDP_VERDICTS[retval] ?? `unknown XDP action ${retval}`;
  if (section === "tc" || section.startsWith("tc/") || section.startsWith("classifier")) return TC_VERDICTS[retval | 0] ?? `tc action ${retval | 0}`;
  if (section === "socket" || section.startsWith("socket/")) return retval === 0 ? "drop" : `accept (keep ${retval} bytes)`;
  return `return ${retval}`;
}

/** Little-endian unsigned integer of up to 8 bytes, as decimal; longer values in hex. */
function formatBytes(b: Uint8Array): string {
  if (b.length > 8) return "0x" + [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v.toString();
}

function isZero(b: Uint8Array | Uint8Array[]): boolean {
  return Array.isArray(b) ? b.every(isZero) : b.every((x) => x === 0);
}

function formatMap(name: string, handle: MapHandle, arrayLike: boolean): string[] {
  const lines: string[] = [];
  let omitted = 0;
  for (const [key, value] of handle.entries() as Iterable<[Uint8Array, Uint8Array | Uint8Array[]]>) {
    if (arrayLike && isZero(value)) {
      omitted++;
      continue;
    }
    const v = Array.isArray(value) ? `[${value.map(formatBytes).join(", ")}]` : formatBytes(value);
    lines.push(`  ${formatBytes(key)}: ${v}`);
  }
  return [`map ${name}:${lines.length === 0 ? " (empty)" : ""}`, ...lines, ...(omitted > 0 ? [`  (${omitted} zero entries not shown)`] : [])];
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
  packet: string;
  repeat: number;
}

/** Loads `object`, runs its programs, prints the results. Returns the exit status. */
export function runObject(object: BpfObject, options: RunOptions, io: CliIo): number {
  const available = bpfAvailable();
  if (!available.ok) {
    throw new KernelUnavailableError(`cannot use bpf(2) here: ${available.reason}`);
  }
  const packet = buildPacket(options.packet);
  const loaded = loadObject(object);
  try {
    for (const prog of loaded.programs.values()) {
      if (prog.section.startsWith("kprobe/") || prog.section.startsWith("kretprobe/") || prog.section.startsWith("tracepoint/")) {
        io.stdout(`program ${prog.name} (${prog.section}): loaded; the kernel cannot test-run this program type\n`);
        continue;
      }
      const r = prog.testRun(prog.section === "socket" ? asSeenByPacketSocket(packet) : packet, { repeat: options.repeat });
      io.stdout(`program ${prog.name} (${prog.section}): ${verdict(prog.section, r.retval)}, return value ${r.retval}` +
        `${options.repeat > 1 ? ` (${options.repeat} runs, ${r.duration} ns each)` : ""}\n`);
    }
    const kinds = new Map(object.maps.map((m) => [m.name, m.type]));
    for (const [name, handle] of loaded.maps) {
      const t = kinds.get(name);
      io.stdout(formatMap(name, handle, t === MapType.array || t === MapType.percpu_array).join("\n") + "\n");
    }
  } finally {
    loaded.close();
  }
  return 0;
}
