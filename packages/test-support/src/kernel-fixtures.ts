// Fixtures of the kernel attach and event tests (loader, cli): C programs compiled with clang-16
// (BPF objects from the caller's test/c/ directory, host binaries with cc), network namespaces
// with a veth pair (never the host's interfaces), UDP traffic, tracefs, descriptor counting,
// and the "nothing left attached" checks through bpftool.
//
// Namespaces are named after the process id and a counter so that concurrent test runs on one
// machine (several packages, several engineers) never share one; every namespace created is
// deleted in `dispose()`, which deletes its veth end with it.
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ATTACH_SECTION, Os, bind, recvNonBlocking, sendTo, setns, socket } from "@luabpf/loader";

/** Whether an external tool is on PATH. */
export function hasTool(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

/** Runs a command, throwing with its stderr when it fails. */
export function sh(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

let buildDir: string | undefined;

/** A scratch directory for the whole test file, removed at process exit. */
export function scratchDir(): string {
  if (!buildDir) {
    const dir = mkdtempSync(join(tmpdir(), "luabpf-attach-"));
    buildDir = dir;
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return buildDir;
}

/**
 * Compiles `<dir>/<name>.bpf.c` with clang-16 -O2 -g -target bpf -mcpu=v3 (and the
 * architecture's `__TARGET_ARCH_*` for bpf_tracing.h); returns the object's path. `dir` is a
 * URL or path of the directory holding the source (tests pass `new URL("./c/", import.meta.url)`).
 */
export function compileBpfC(dir: URL | string, name: string): string {
  const source = join(typeof dir === "string" ? dir : fileURLToPath(dir), `${name}.bpf.c`);
  const output = join(scratchDir(), `${name}.bpf.o`);
  if (existsSync(output)) return output;
  const machine = sh("uname", ["-m"]).trim();
  const arch = ({ x86_64: "x86", aarch64: "arm64", riscv64: "riscv", s390x: "s390", loongarch64: "loongarch" } as Record<string, string>)[machine] ?? machine;
  sh("clang-16", [
    "-O2",
    "-g",
    "-target",
    "bpf",
    "-mcpu=v3",
    `-D__TARGET_ARCH_${arch}`,
    `-I/usr/include/${machine}-linux-gnu`,
    "-c",
    source,
    "-o",
    output,
  ]);
  return output;
}

/** Compiles a host C program with `cc -O0 -g`; returns the executable's path. */
export function compileHostC(name: string, source: string): string {
  const dir = scratchDir();
  const file = join(dir, `${name}.c`);
  execFileSync("sh", ["-c", `cat > ${JSON.stringify(file)}`], { input: source });
  const output = join(dir, name);
  sh("cc", ["-O0", "-g", "-o", output, file]);
  return output;
}

/** Mounts tracefs at /sys/kernel/tracing when it is not mounted (tracepoint ids live there). */
export function mountTracefs(): void {
  if (existsSync("/sys/kernel/tracing/events")) return;
  sh("mount", ["-t", "tracefs", "nodev", "/sys/kernel/tracing"]);
}

/** The number of open descriptors of this process. */
export function openDescriptorCount(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Ids of the links `bpftool link` lists now. */
export function bpftoolLinkIds(): number[] {
  const links = JSON.parse(sh("bpftool", ["-j", "link", "show"]) || "[]") as Array<{ id: number }>;
  return links.map((link) => link.id);
}

let namespaceCounter = 0;

/** Two network namespaces joined by a veth pair with IPv4 addresses and static neighbours. */
export class VethPair {
  readonly nsA: string;
  readonly nsB: string;
  readonly ifA: string;
  readonly ifB: string;
  readonly ipA: string;
  readonly ipB: string;
  private readonly original: number;

  constructor() {
    const tag = `${process.pid}${String.fromCharCode(97 + (namespaceCounter++ % 26))}`;
    this.nsA = `lbpf${tag}a`;
    this.nsB = `lbpf${tag}b`;
    this.ifA = `lbA${tag}`.slice(0, 15);
    this.ifB = `lbB${tag}`.slice(0, 15);
    this.ipA = "10.77.0.1";
    this.ipB = "10.77.0.2";
    this.original = openSync("/proc/thread-self/ns/net", "r");
    try {
      sh("ip", ["netns", "add", this.nsA]);
      sh("ip", ["netns", "add", this.nsB]);
      sh("ip", ["link", "add", this.ifA, "netns", this.nsA, "type", "veth", "peer", "name", this.ifB, "netns", this.nsB]);
      for (const [ns, iface, ip] of [
        [this.nsA, this.ifA, this.ipA],
        [this.nsB, this.ifB, this.ipB],
      ] as const) {
        sh("ip", ["-n", ns, "addr", "add", `${ip}/24`, "dev", iface]);
        sh("ip", ["-n", ns, "link", "set", iface, "up"]);
        sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
      }
      // Static neighbours: no ARP exchange that could delay or drop the first test packets.
      sh("ip", ["-n", this.nsA, "neigh", "add", this.ipB, "lladdr", this.mac(this.nsB, this.ifB), "dev", this.ifA, "nud", "permanent"]);
      sh("ip", ["-n", this.nsB, "neigh", "add", this.ipA, "lladdr", this.mac(this.nsA, this.ifA), "dev", this.ifB, "nud", "permanent"]);
    } catch (error) {
      this.dispose();
      throw error;
    }
  }

  private mac(ns: string, iface: string): string {
    const info = JSON.parse(sh("ip", ["-j", "-n", ns, "link", "show", iface])) as Array<{ address: string }>;
    return info[0]!.address;
  }

  /** Runs `body` with this thread in namespace `ns` (sockets and interfaces resolved there). */
  within<T>(ns: string, body: () => T): T {
    const target = openSync(`/run/netns/${ns}`, "r");
    try {
      setns(target, Os.CLONE_NEWNET, `enter ${ns}`);
      try {
        return body();
      } finally {
        setns(this.original, Os.CLONE_NEWNET, "leave the test namespace");
      }
    } finally {
      closeSync(target);
    }
  }

  /** `bpftool net` inside namespace `ns`, as JSON. */
  bpftoolNet(ns: string): Array<{ xdp: unknown[]; tc: unknown[]; flow_dissector?: unknown[]; netfilter?: unknown[] }> {
    return JSON.parse(sh("ip", ["netns", "exec", ns, "bpftool", "-j", "net", "show"])) as never;
  }

  /** Deletes both namespaces (and with them the veth pair). */
  dispose(): void {
    for (const ns of [this.nsA, this.nsB]) spawnSync("ip", ["netns", "del", ns]);
    try {
      closeSync(this.original);
    } catch {
      // closed already
    }
  }
}

/** `struct sockaddr_in` (16 bytes): family u16 | port be16 | address[4] | zero[8]. */
export function sockaddrIn(ip: string, port: number): Uint8Array {
  const address = new Uint8Array(16);
  const view = new DataView(address.buffer);
  view.setUint16(0, Os.AF_INET, true);
  view.setUint16(2, port, false);
  address.set(ip.split(".").map(Number), 4);
  return address;
}

/** A non-blocking UDP socket bound to `ip:port` (in the calling thread's namespace). */
export function udpReceiver(ip: string, port: number): number {
  const fd = socket(Os.AF_INET, Os.SOCK_DGRAM | Os.SOCK_NONBLOCK, 0, "udp receiver");
  bind(fd, sockaddrIn(ip, port), `bind ${ip}:${port}`);
  return fd;
}

/** Sends `count` datagrams to `ip:port` from a fresh UDP socket (in the calling thread's namespace). */
export function sendUdp(ip: string, port: number, count: number, payload = new TextEncoder().encode("luabpf")): void {
  const fd = socket(Os.AF_INET, Os.SOCK_DGRAM, 0, "udp sender");
  try {
    for (let i = 0; i < count; i++) sendTo(fd, payload, sockaddrIn(ip, port));
  } finally {
    closeSync(fd);
  }
}

/** Every datagram or frame queued on a non-blocking socket now. */
export function drainSocket(fd: number, size = 2048): Uint8Array[] {
  const received: Uint8Array[] = [];
  for (let data = recvNonBlocking(fd, size); data; data = recvNonBlocking(fd, size)) received.push(data);
  return received;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The stderr of a libbpf tool (bpftool) without libbpf's info line saying it skips our
 * attach-data section — which is the point of that section: libbpf ignores it.
 */
export function withoutAttachNotice(stderr: string): string {
  const name = ATTACH_SECTION.replace(/[.]/g, "\\.");
  return stderr.replace(new RegExp(`^libbpf: elf: skipping unrecognized data section\\(\\d+\\) ${name}\\n`, "m"), "");
}
