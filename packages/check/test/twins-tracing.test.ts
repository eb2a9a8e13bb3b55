/**
 * The C twins of the tracing examples record what their Lua programs record: both objects
 * (luabpf -O2, clang-16 -O2) are loaded and attached to the real hook, a child process the
 * test spawns triggers it, and what each recorded about that child (filtered by its pid) must
 * agree — and match what the test knows about the child (stack ids are each object's own:
 * they are compared as the addresses they resolve to). Raw tracepoints and tracepoints are
 * attached together (each program sees the same events); the uretprobe twins print with
 * bpf_trace_printk, so they are attached one after the other, each for its own bash, and the
 * lines are read back from the trace buffer (not consumed: /sys/kernel/tracing/trace).
 * kprobe twins are only loaded: this kernel has no kprobe PMU (they cannot be attached) and
 * BPF_PROG_TEST_RUN does not run kprobes.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readObject, type BpfObject } from "@luabpf/elf";
import { attach, kernelOrSkip, loadObject, PerfBufferReader, RingBufferReader, targetForProgram, typedMap, type Attachment, type LoadedObject } from "@luabpf/loader";
import { mountTracefs } from "@luabpf/test-support";
import { compileSource } from "luabpf";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { compileTwin, twinNames } from "../src/twins.js";
import { ATTACHED_TWINS, KPROBE_TWINS, PACKET_TWINS } from "./twin-kinds.js";

const ROOT = join(import.meta.dirname, "../../..");
const kernel = kernelOrSkip();
const dir = mkdtempSync(join(tmpdir(), "luabpf-twins-tracing-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The two objects of a twin pair: luabpf's and clang's. */
function objects(name: string): { lua: BpfObject; c: BpfObject } {
  const source = readFileSync(join(ROOT, "examples", `${name}.lua`), "utf8");
  return {
    lua: compileSource(source, { file: `${name}.lua`, optLevel: 2 }).object,
    c: readObject(readFileSync(compileTwin(name, dir))),
  };
}

/** Attaches every program of each object to its section's hook, runs `trigger`, detaches. */
function whileAttached<T>(loaded: readonly LoadedObject[], trigger: () => T): T {
  const attachments: Attachment[] = [];
  try {
    for (const object of loaded) for (const program of object.programs.values()) attachments.push(attach(program, targetForProgram(program)!));
    return trigger();
  } finally {
    for (const a of attachments) a.close();
  }
}

/** Runs `command` as a child process; its pid. */
function child(command: string, args: string[], input?: string): number {
  const r = spawnSync(command, args, { encoding: "utf8", ...(input === undefined ? {} : { input }) });
  expect(r.error).toBeUndefined();
  expect(r.pid).toBeGreaterThan(0);
  return r.pid;
}

const cString = (bytes: Uint8Array): string => new TextDecoder().decode(bytes).replace(/\0.*$/s, "");

test("every C twin in bench/size is compared with its Lua program on the kernel, in exactly one way", () => {
  const listed = [...Object.keys(PACKET_TWINS), ...ATTACHED_TWINS, ...KPROBE_TWINS];
  expect([...listed].sort()).toEqual(twinNames());
  expect(new Set(listed).size).toBe(listed.length);
});

describe.skipIf(!kernel)("tracing twins record what their Lua programs record, attached for real", () => {
  beforeAll(() => mountTracefs());

  test("exec-events (raw tracepoint sched_switch, perf event array, struct hash value): the same events of a child that sleeps", async () => {
    const { lua, c } = objects("exec-events");
    const loaded = [loadObject(lua), loadObject(c)];
    const readers = loaded.map((o) => new PerfBufferReader(o.maps.get("events")!));
    try {
      const pid = whileAttached(loaded, () => child("sh", ["-c", "exec sleep 0.05"]));
      const events = readers.map((reader) =>
        reader
          .readAvailable()
          .map(({ data }) => {
            const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
            return {
              pidTgid: view.getBigUint64(0, true),
              uid: view.getUint32(8, true),
              gid: view.getUint32(12, true),
              time: view.getBigUint64(16, true),
              comm: cString(data.subarray(24, 40)),
              sent: view.getBigInt64(40, true),
            };
          })
          .filter((e) => e.pidTgid >> 32n === BigInt(pid))
          .sort((a, b) => (a.time < b.time ? -1 : 1)),
      );
      for (const reader of readers) expect(reader.lost).toBe(0);
      const [ours, theirs] = events as [typeof events[0], typeof events[0]];
      // The child was switched out at least when it slept, as `sleep`, with our ids.
      expect(ours.map((e) => e.comm)).toContain("sleep");
      for (const e of ours) expect([e.pidTgid & 0xffffffffn, e.uid, e.gid, e.sent]).toEqual([BigInt(pid), process.getuid!(), process.getgid!(), 0n]);
      const untimed = (list: typeof ours) => list.map(({ time: _time, ...rest }) => rest);
      expect(untimed(ours)).toEqual(untimed(theirs));
      // Both read the clock at the same switch.
      ours.forEach((e, i) => expect(Number(e.time - theirs[i]!.time)).toBeLessThan(1e6));
      ours.forEach((e, i) => expect(Number(theirs[i]!.time - e.time)).toBeLessThan(1e6));
      // `last` holds one event, sent without error, in both.
      for (const object of loaded) {
        const last = [...(object.maps.get("last")!.entries() as Iterable<[Uint8Array, Uint8Array]>)];
        expect(last).toHaveLength(1);
        const value = last[0]![1];
        expect(new DataView(value.buffer, value.byteOffset, value.byteLength).getBigInt64(40, true)).toBe(0n);
      }
    } finally {
      for (const reader of readers) await reader.close();
      for (const object of loaded) object.close();
    }
  });

  test("exec-parents (raw tracepoint sched_process_exec, ring buffer, CO-RE task fields): one record per exec of the child", async () => {
    const { lua, c } = objects("exec-parents");
    const loaded = [loadObject(lua), loadObject(c)];
    const readers = loaded.map((o) => new RingBufferReader(o.maps.get("events")!));
    try {
      const pid = whileAttached(loaded, () => child("sh", ["-c", "exec true"]));
      const records = readers.map((reader) =>
        reader
          .readAvailable()
          .map(({ data }) => {
            const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
            return { pid: view.getUint32(0, true), ppid: view.getUint32(4, true), comm: cString(data.subarray(8, 24)) };
          })
          .filter((r) => r.pid === pid),
      );
      const expected = [
        { pid, ppid: process.pid, comm: "sh" },
        { pid, ppid: process.pid, comm: "true" },
      ];
      expect(records).toEqual([expected, expected]);
    } finally {
      for (const reader of readers) await reader.close();
      for (const object of loaded) object.close();
    }
  });

  test("opens-by-pid (tracepoint syscalls/sys_enter_openat, hash): the same count of the child's openat calls", () => {
    const { lua, c } = objects("opens-by-pid");
    const loaded = [loadObject(lua), loadObject(c)];
    try {
      const pid = whileAttached(loaded, () => child("sh", ["-c", "exec cat /etc/hostname /etc/hostname /etc/hostname /etc/hostname"]));
      const counts = loaded.map((o) => typedMap(o.maps.get("opens")!).get(pid));
      expect(counts[0]).toEqual(counts[1]);
      // cat opens the four files, besides what the loader and libc open.
      expect(Number(counts[0])).toBeGreaterThanOrEqual(4);
    } finally {
      for (const object of loaded) object.close();
    }
  });

  test("open-stacks (tracepoint, struct key, stack_trace map): the same counts per name and user stack for the child's openat calls", () => {
    const { lua, c } = objects("open-stacks");
    const loaded = [loadObject(lua), loadObject(c)];
    try {
      // The key holds only the process name, so the child runs `cat` under a name no other
      // process has (comm is the name execve was given: a symlink's): another `cat` on the
      // machine between the two attachments would otherwise be counted by one object only.
      const name = `lbcat${process.pid}`.slice(0, 15);
      const cat = spawnSync("sh", ["-c", "command -v cat"], { encoding: "utf8" }).stdout.trim();
      symlinkSync(cat, join(dir, name));
      whileAttached(loaded, () => child("sh", ["-c", `exec ${join(dir, name)} /etc/hostname /etc/hostname /etc/hostname`]));
      // Each object's own stack ids, resolved to the return addresses its stack map holds.
      const seen = loaded.map((object) => {
        const stacks = object.maps.get("stacks")!;
        const counts: string[] = [];
        let total = 0n;
        for (const [key, value] of object.maps.get("opens")!.entries() as Iterable<[Uint8Array, Uint8Array]>) {
          if (cString(key.subarray(0, 16)) !== name) continue;
          const id = new DataView(key.buffer, key.byteOffset, key.byteLength).getInt32(16, true);
          const stack = id < 0 ? undefined : (stacks.get(new Uint8Array(new Int32Array([id]).buffer)) as Uint8Array);
          const frames = stack ? [...new BigUint64Array(stack.slice().buffer)].filter((a) => a !== 0n).map((a) => a.toString(16)).join(" ") : `error ${id}`;
          const n = new DataView(value.buffer, value.byteOffset, value.byteLength).getBigUint64(0, true);
          total += n;
          counts.push(`${frames}: ${n}`);
        }
        return { counts: counts.sort(), total };
      });
      // cat opens its three files, besides what the loader and libc open.
      expect(seen[0]!.total).toBeGreaterThanOrEqual(3n);
      expect(seen[0]!.counts.some((line) => /^[0-9a-f]+( [0-9a-f]+)*: \d+$/.test(line))).toBe(true);
      expect(seen[1]!.total).toBe(seen[0]!.total);
      // A stack map is a hash table without chaining: a stack whose bucket holds another stack
      // gets -EEXIST (`error -17`). Both maps also hold every other process's stacks, each
      // between its own attachment and detachment, so a call can collide in one map and not in
      // the other (a fresh-clone run: 2 of 33 calls). Without collisions the counts are equal
      // stack by stack; with them, a stack's counts differ by at most the calls that collided.
      const collided = seen.map(({ counts }) => counts.filter((line) => line.startsWith("error -17:")).reduce((sum, line) => sum + BigInt(line.slice(line.lastIndexOf(":") + 2)), 0n));
      if (collided[0] === 0n && collided[1] === 0n) expect(seen[0]).toEqual(seen[1]);
      else {
        const byStack = seen.map(({ counts }) => new Map(counts.map((line) => [line.slice(0, line.lastIndexOf(":")), BigInt(line.slice(line.lastIndexOf(":") + 2))] as const)));
        const slack = collided[0]! > collided[1]! ? collided[0]! : collided[1]!;
        for (const stack of new Set([...byStack[0]!.keys(), ...byStack[1]!.keys()])) {
          if (stack === "error -17") continue;
          const d = (byStack[0]!.get(stack) ?? 0n) - (byStack[1]!.get(stack) ?? 0n);
          expect(d <= slack && -d <= slack, `${stack}: ${byStack[0]!.get(stack) ?? 0n} against ${byStack[1]!.get(stack) ?? 0n}, ${slack} collided`).toBe(true);
        }
      }
    } finally {
      for (const object of loaded) object.close();
    }
  });

  test("readline-trace (uretprobe on bash's readline, bpf_trace_printk): the same lines, empty lines and `clear` left out", () => {
    const { lua, c } = objects("readline-trace");
    const input = "echo luabpf-twin\n\nclear\nls /nonexistent-luabpf-twin\nexit\n";
    // The trace buffer keeps earlier runs' lines, and a pid can come round again: only the
    // lines after this run's own marker count.
    const marker = `luabpf-twins-tracing-${process.pid}-${Date.now()}`;
    writeFileSync("/sys/kernel/tracing/trace_marker", marker);
    const pids = [lua, c].map((object) => {
      const loaded = loadObject(object);
      try {
        return whileAttached([loaded], () => child("bash", ["--norc", "--noprofile", "-i"], input));
      } finally {
        loaded.close();
      }
    });
    const whole = readFileSync("/sys/kernel/tracing/trace", "utf8");
    expect(whole).toContain(marker);
    const trace = whole.slice(whole.lastIndexOf(marker));
    const printed = pids.map((pid) =>
      [...trace.matchAll(/bpf_trace_printk: (\d+): (.*)$/gm)].filter((m) => Number(m[1]) === pid).map((m) => m[2]),
    );
    expect(printed[0]).toEqual(["echo luabpf-twin", "ls /nonexistent-luabpf-twin", "exit"]);
    expect(printed[1]).toEqual(printed[0]);
  });
});

describe.skipIf(!kernel)("kprobe twins: both load (not compared attached: this kernel has no kprobe PMU, and there is no test run for kprobes)", () => {
  test.each(KPROBE_TWINS)("%s", (name) => {
    const { lua, c } = objects(name);
    for (const object of [lua, c]) {
      expect(object.programs.filter((p) => !p.subprogram).every((p) => /^k(ret)?probe\//.test(p.section))).toBe(true);
      loadObject(object).close();
    }
  });
});
