// Tracing programs in differential testing: the generator writes raw tracepoint programs
// that read the current task (CO-RE relocated fields, helpers) in the program and in
// top-level functions; the oracle knows the task the kernel's test run happens in, and the
// kernel runner runs them on their arguments. (Neither existed before the seventh session:
// an internal error on CO-RE reads in inlined functions went unseen by both tools.)
import { kernelOrSkip } from "@luabpf/loader";
import { describe, expect, test } from "vitest";
import { difftest } from "../src/difftest.js";
import { defaultGenerator } from "../src/generate.js";
import { runOracle, type TaskIdentity } from "../src/oracle.js";

const kernel = kernelOrSkip();

/** The shape of the sixth session's bug: a local function reading kernel structs, inlined at -O2, a BPF-to-BPF call at -O0. */
const PARENT_IN_A_FUNCTION = `local out = bpf.map("array", 4, "uint32_t", "uint64_t")
local function parent_plus(n)
  return task().real_parent.tgid + n
end
bpf.raw_tracepoint('sys_enter', function (args)
  out[0] = parent_plus(args[0] & 7)
  out[1] = pid_tgid() >> 32
  out[2] = args[1]
  return task().tgid - task().pid
end)
`;
const ARGS = [{ packet: new Uint8Array(0), args: ["5", "18446744073709551615"] }];

describe("the generator's tracing programs", () => {
  test("one seed in five is a raw tracepoint; the others are the packet programs the seed always gave", () => {
    const g = defaultGenerator();
    let tracing = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const p = g.generate(seed);
      if (p.source.includes("bpf.raw_tracepoint('sys_enter', function (args)")) {
        tracing++;
        expect(p.source).not.toMatch(/skb\.|pkt\./);
        expect(p.inputs.every((i) => i.packet.length === 0 && i.args?.length === 2)).toBe(true);
      } else {
        expect(p.source).toBe(g.generate(seed, { hook: "packet" }).source);
      }
    }
    expect(tracing).toBeGreaterThan(20);
    expect(tracing).toBeLessThan(70);
  });

  test("read the task in top-level functions too", () => {
    const g = defaultGenerator();
    const inFunction = /local function f\d+\([^)]*\)\n(?:  .*\n)*?  .*(task\(\)|pid_tgid\(\)|uid_gid\(\))/;
    const seeds = Array.from({ length: 300 }, (_, k) => k + 1).filter((seed) => inFunction.test(g.generate(seed, { hook: "tracing" }).source));
    expect(seeds.length).toBeGreaterThan(10);
  });
});

describe("the oracle on a raw tracepoint", () => {
  test("computes with the task it is given and the arguments as 64-bit integers", () => {
    const task: TaskIdentity = { tgid: 4242, pid: 4243, parentTgid: 17, uid: 1000, gid: 100 };
    const r = runOracle(`${PARENT_IN_A_FUNCTION.replace("return task().tgid - task().pid", "out[3] = uid_gid()\n  return task().tgid - task().pid")}`, ARGS, 10_000, task);
    expect(r).toEqual({ kind: "ok", returns: [4294967295], maps: [{ "0": "22", "1": "4242", "2": "18446744073709551615", "3": String((100n << 32n) | 1000n) }] });
  });

  test("refuses an argument the test run does not pass", () => {
    const r = runOracle("bpf.raw_tracepoint('sys_enter', function (args) return args[2] end)", ARGS);
    expect(r.kind === "lua-error" && r.message).toMatch(/argument 2 has no given value/);
  });
});

describe.skipIf(!kernel)("raw tracepoints in the kernel's test run", () => {
  test("a local function reading the parent through CO-RE agrees with Lua at -O0 (a call) and -O2 (inlined)", () => {
    expect(difftest(PARENT_IN_A_FUNCTION, ARGS)).toEqual({ kind: "match", detail: "" });
  });

  test("generated tracing programs agree with Lua at -O0 and -O2", () => {
    const g = defaultGenerator();
    const failures: string[] = [];
    for (let seed = 1; seed <= 6; seed++) {
      const p = g.generate(seed, { hook: "tracing", statements: 12 });
      const r = difftest(p.source, p.inputs);
      if (r.kind !== "match") failures.push(`seed ${seed}: ${r.kind} ${r.detail.slice(0, 400)}\n${p.source}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
