// `luabpf run` attached, through the real command (`node bin/luabpf.js` processes): events
// printed as they arrive and decoded from their C type, --json parsed, histograms drawn,
// --duration, `-- CMD`, SIGINT and SIGTERM detaching cleanly, --pin with `luabpf maps DIR`
// while running; and Lua programs (socket filter, tc, XDP) attached to one end of a veth pair
// in namespaces the test creates, with traffic sent from the other end. After every run no
// program of the test is left in the kernel and no link in `bpftool link`.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kernelOrSkip } from "@luabpf/loader";
import { VethPair, compileBpfC, drainSocket, mountTracefs, sendUdp, sleep, udpReceiver } from "@luabpf/test-support";
import { BIN, ROOT, example, haveTool, luabpf } from "./helpers.js";
import { closeSync } from "node:fs";

const kernel = kernelOrSkip();
const tools = kernel && haveTool("clang-16") && haveTool("bpftool") && haveTool("ip") && haveTool("llvm-objcopy-16");
const dir = mkdtempSync(join(tmpdir(), "luabpf-live-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of cat named so that the fixture program reports its opens (it matches the name). */
const OPENER = join(dir, "lbpf_opener");

/** Names of the BPF programs loaded in the kernel now. */
function loadedProgramNames(): string[] {
  const r = spawnSync("bpftool", ["-j", "prog", "show"], { encoding: "utf8" });
  return (JSON.parse(r.stdout || "[]") as Array<{ name?: string }>).map((p) => p.name ?? "");
}

/** Link ids whose program has `name`. */
function linksOfProgram(name: string): number[] {
  const progs = JSON.parse(spawnSync("bpftool", ["-j", "prog", "show"], { encoding: "utf8" }).stdout || "[]") as Array<{ id: number; name?: string }>;
  const ids = new Set(progs.filter((p) => p.name === name).map((p) => p.id));
  const links = JSON.parse(spawnSync("bpftool", ["-j", "link", "show"], { encoding: "utf8" }).stdout || "[]") as Array<{ id: number; prog_id: number }>;
  return links.filter((l) => ids.has(l.prog_id)).map((l) => l.id);
}

/** A `luabpf` process running in the background, with its output collected. */
class Background {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: readonly string[], netns?: string) {
    const command = netns ? ["ip", "netns", "exec", netns, process.execPath, BIN, ...args] : [process.execPath, BIN, ...args];
    this.child = spawn(command[0]!, command.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.on("data", (d: Buffer) => (this.stdout += d.toString("utf8")));
    this.child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString("utf8")));
    this.exited = new Promise((resolve) => this.child.on("exit", (code, signal) => resolve({ code, signal })));
  }

  /** Waits until `pattern` appears on a stream (at most `ms`). */
  async waitFor(stream: "stdout" | "stderr", pattern: RegExp, ms = 15000): Promise<void> {
    for (let waited = 0; !pattern.test(this[stream]); waited += 25) {
      if (waited > ms) throw new Error(`timed out waiting for ${pattern} on ${stream}; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await sleep(25);
    }
  }
}

describe.skipIf(!tools)("luabpf run attached (tracepoint fixture in C)", () => {
  let object: string;
  beforeAll(() => {
    mountTracefs();
    object = compileBpfC(new URL("./c/", import.meta.url), "opens");
    copyFileSync("/bin/cat", OPENER);
  });

  it("-- CMD: prints each event decoded field by field, then the maps with a log2 histogram", () => {
    const r = luabpf(["run", object, "--", OPENER, "/etc/hostname", "/luabpf/none"]);
    expect(r.stderr).toMatch(/^luabpf: attached trace_opens to tracepoint syscalls:sys_enter_openat$/m);
    expect(r.code).toBe(0);
    const events = r.stdout.split("\n").filter((line) => line.startsWith("pid="));
    const pid = /^pid=(\d+) /.exec(events[0] ?? "")?.[1];
    expect(pid).toBeDefined();
    expect(events).toContain(`pid=${pid} comm=lbpf_opener path=/etc/hostname`);
    expect(events).toContain(`pid=${pid} comm=lbpf_opener path=/luabpf/none`);
    expect(r.stdout).toMatch(new RegExp(`^@counts\\[${pid}\\]: ${events.length}$`, "m"));
    // "/etc/hostname" (13 characters) is in [8, 16), "/luabpf/none" (12) too; bars are bpftrace's.
    const hist = /^@length_hist:\n((?:\[.*\n)+)/m.exec(r.stdout)?.[1] ?? "";
    expect(hist).toMatch(/^\[8, 16\)\s+2 \|@+ *\|$/m);
    const rows = hist.trimEnd().split("\n");
    expect(rows.every((row) => /^\[\d+[KM]?(, \d+[KM]?\))?\]?\s+\d+ \|@* *\|$/.test(row) && row.length === rows[0]!.length)).toBe(true);
    expect(rows.reduce((sum, row) => sum + Number(/\s(\d+) \|/.exec(row)![1]), 0)).toBeLessThanOrEqual(events.length);
    expect(loadedProgramNames()).not.toContain("trace_opens");
  });

  it("--json: one object per event and per map, parsed", () => {
    const r = luabpf(["run", object, "--json", "--", OPENER, "/etc/hostname"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    const events = lines.filter((l) => l.type === "event") as Array<{ map: string; value: { pid: number; comm: string; path: string } }>;
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.map === "events" && e.value.comm === "lbpf_opener")).toBe(true);
    expect(events.map((e) => e.value.path)).toContain("/etc/hostname");
    const counts = lines.find((l) => l.type === "map" && l.map === "counts") as { entries: Array<{ key: number; value: number }> };
    expect(counts.entries).toEqual([{ key: events[0]!.value.pid, value: events.length }]);
    const hist = lines.find((l) => l.type === "hist") as { map: string; scale: string; buckets: Array<{ low: number; high: number; count: number }> };
    expect(hist).toMatchObject({ map: "length_hist", scale: "log2" });
    expect(hist.buckets.find((b) => b.low === 8)).toEqual({ low: 8, high: 16, count: expect.any(Number) });
    expect(lines.some((l) => l.type === "lost")).toBe(false);
  });

  it("--duration stops the run by itself and detaches", () => {
    const started = Date.now();
    const r = luabpf(["run", object, "--duration", "0.5"]);
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(r.stderr).toMatch(/running for 0\.5 s/);
    expect(r.stdout).toMatch(/^@counts: \(empty\)$/m);
    expect(loadedProgramNames()).not.toContain("trace_opens");
  });

  it("--interval prints the maps while running, then once more at exit", () => {
    const r = luabpf(["run", object, "--interval", "0.4", "--duration", "1.5", "--json"]);
    expect(r.code).toBe(0);
    const dumps = r.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; map?: string })
      .filter((line) => line.map === "counts");
    // Three interval dumps at 0.4, 0.8, 1.2 s and the final one (a loaded machine may lose one).
    expect(dumps.length).toBeGreaterThanOrEqual(3);
    expect(dumps.length).toBeLessThanOrEqual(4);
  });

  it.each(["SIGINT", "SIGTERM"] as const)("%s detaches cleanly and still prints the final maps", async (signal) => {
    const run = new Background(["run", object]);
    await run.waitFor("stderr", /running/);
    const linked = linksOfProgram("trace_opens");
    expect(linked.length).toBeGreaterThan(0);
    spawnSync(OPENER, ["/etc/hostname"]);
    await run.waitFor("stdout", /path=\/etc\/hostname/);
    run.child.kill(signal);
    const exit = await run.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(run.stdout).toMatch(/^@counts\[\d+\]: \d+$/m);
    expect(linksOfProgram("trace_opens")).toEqual([]);
    expect(loadedProgramNames()).not.toContain("trace_opens");
  });

  it("--pin DIR pins maps and links while running; luabpf maps DIR dumps them with their BTF types; exit unpins", async () => {
    const pins = `/sys/fs/bpf/luabpf-live-${process.pid}`;
    const run = new Background(["run", object, "--pin", pins]);
    try {
      await run.waitFor("stderr", /running/);
      spawnSync(OPENER, ["/etc/hostname"]);
      await run.waitFor("stdout", /path=\/etc\/hostname/);
      const dump = luabpf(["maps", pins]);
      expect(dump.code).toBe(0);
      expect(dump.stdout).toMatch(new RegExp(`^# ${pins}/counts: counts: hash, key __u32, value __u64, 1/64 entries\\n@counts\\[\\d+\\]: \\d+$`, "m"));
      expect(dump.stdout).toMatch(new RegExp(`^# ${pins}/length_hist: length_hist: array, key __u32, value __u64, 64/64 entries\\n@length_hist:\\n\\[`, "m"));
      expect(dump.stdout).toMatch(new RegExp(`^# ${pins}/link_trace_opens: link \\(not a map\\)$`, "m"));
      // The fixture's .bss (a global naming the ring buffer's record type): pinned without the dot
      // bpffs refuses, typed by its DATASEC, and that marker variable is not shown.
      expect(dump.stdout).toMatch(new RegExp(`^# ${pins}/_bss: \\.bss: array, key \\w+, value datasec \\.bss, 1/1 entries$`, "m"));
      expect(dump.stdout).not.toMatch(/__luabpf_record_/);
      const json = luabpf(["maps", "--json", join(pins, "counts")]);
      expect(JSON.parse(json.stdout)).toMatchObject({ type: "map", map: "counts", kind: "hash", keyType: "__u32", valueType: "__u64" });
    } finally {
      run.child.kill("SIGINT");
      await run.exited;
    }
    expect(existsSync(pins)).toBe(false);
    expect(linksOfProgram("trace_opens")).toEqual([]);
  });

  it("a command that cannot be run is an error, and everything is detached", () => {
    const r = luabpf(["run", object, "--", "/luabpf/no-such-command"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot run \/luabpf\/no-such-command: No such file or directory/);
    expect(loadedProgramNames()).not.toContain("trace_opens");
  });
});

describe.skipIf(!tools)("luabpf run attached: Lua socket, tc and XDP programs on a veth pair", () => {
  let pair: VethPair;
  beforeAll(() => {
    pair = new VethPair();
    return () => pair.dispose();
  });

  /** Runs `luabpf run` in namespace B, sends UDP from A while it runs, returns its JSON lines. */
  async function runWhileSending(args: readonly string[], port: number, count: number): Promise<{ lines: Array<Record<string, unknown>>; received: number; stderr: string }> {
    const receiver = pair.within(pair.nsB, () => udpReceiver(pair.ipB, port));
    try {
      const run = new Background(["run", ...args, "--iface", pair.ifB, "--json"], pair.nsB);
      await run.waitFor("stderr", /running/);
      pair.within(pair.nsA, () => sendUdp(pair.ipB, port, count));
      await sleep(200);
      run.child.kill("SIGINT");
      const exit = await run.exited;
      expect(exit, run.stderr).toEqual({ code: 0, signal: null });
      expect(pair.bpftoolNet(pair.nsB)[0]!.xdp).toEqual([]);
      const lines = run.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      return { lines, received: drainSocket(receiver).length, stderr: run.stderr };
    } finally {
      closeSync(receiver);
    }
  }

  it("a socket filter (examples/proto-count.lua) counts the UDP datagrams arriving on the interface", async () => {
    const { lines, received, stderr } = await runWhileSending([example("proto-count.lua")], 9001, 6);
    expect(stderr).toMatch(new RegExp(`attached socket to socket filter on ${pair.ifB}`));
    expect(received).toBe(6);
    const counts = lines.find((l) => l.map === "counts") as { entries: Array<{ key: number; value: number }> };
    expect(counts.entries.find((e) => e.key === 17)?.value).toBeGreaterThanOrEqual(6);
  });

  it("a tc classifier (examples/tc-drop-udp.lua) shoots UDP to port 53 and counts it", async () => {
    const { lines, received } = await runWhileSending([example("tc-drop-udp.lua")], 53, 4);
    expect(received).toBe(0);
    expect(lines.find((l) => l.map === "dropped")).toEqual({ type: "map", map: "dropped", value: 4 });
  });

  it("an XDP program in generic mode drops everything and counts it", async () => {
    const source = join(dir, "xdp-drop-all.lua");
    writeFileSync(
      source,
      ["local bpf = require('bpf')", "local dropped = bpf.map('array', 1, 'uint32_t', 'uint64_t')", "bpf.xdp(function (ctx)", "  xadd(dropped[0], 1)", "  return 1 -- XDP_DROP", "end)", ""].join("\n"),
    );
    const { lines, received, stderr } = await runWhileSending([source, "--xdp-mode", "generic"], 9002, 5);
    expect(stderr).toMatch(/attached xdp to xdp on .* \(generic\)/);
    expect(received).toBe(0);
    expect((lines.find((l) => l.map === "dropped") as { value: number }).value).toBeGreaterThanOrEqual(5);
  });

  it("the interface recorded in the object (.luabpf.attach) is used without --iface", async () => {
    const object = join(dir, "proto-count.o");
    expect(luabpf(["compile", example("proto-count.lua"), "-o", object]).code).toBe(0);
    const notes = join(dir, "attach.jsonl");
    writeFileSync(notes, `${JSON.stringify({ program: "socket", interface: pair.ifB })}\n`);
    expect(spawnSync("llvm-objcopy-16", ["--add-section", `.luabpf.attach=${notes}`, object]).status).toBe(0);
    const receiver = pair.within(pair.nsB, () => udpReceiver(pair.ipB, 9003));
    try {
      const run = new Background(["run", object, "--json"], pair.nsB);
      await run.waitFor("stderr", /running/);
      expect(run.stderr).toMatch(new RegExp(`attached socket to socket filter on ${pair.ifB}`));
      pair.within(pair.nsA, () => sendUdp(pair.ipB, 9003, 3));
      await sleep(200);
      run.child.kill("SIGINT");
      expect((await run.exited).code).toBe(0);
      const counts = run.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { map?: string; entries?: Array<{ key: number; value: number }> })
        .find((l) => l.map === "counts");
      expect(counts?.entries?.find((e) => e.key === 17)?.value).toBeGreaterThanOrEqual(3);
    } finally {
      closeSync(receiver);
    }
  });

  it("a socket program without --iface is a usage-level error naming what is missing", () => {
    const r = luabpf(["run", example("proto-count.lua"), "--duration", "1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a socket program needs an interface/);
  });
});
