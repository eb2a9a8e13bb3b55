// Tests of whole-object loading: relocation binding (pure), section-name inference (pure),
// and on the kernel a counter program whose map is bound through a relocation, run with
// repeat = 5 against each counter map type.
import { catchError } from "@luabpf/test-support";
import { KNOWN_SECTIONS, MapType, ProgramType, programTypeForSection } from "@luabpf/platform";
import { type BpfObject, type ObjectMap } from "@luabpf/elf";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BpfError,
  LoaderError,
  VerifierError,
  bindMapRelocations,
  buildPacket,
  kernelOrSkip,
  loadObject,
} from "../src/index.js";
import {
  BPF_FUNC_map_lookup_elem,
  R0,
  R1,
  R2,
  R10,
  addImm,
  atomicAdd64,
  call,
  exit,
  jeqImm,
  lddw,
  movImm,
  movReg,
  program,
  readU64,
  stw,
  u32,
  u64,
} from "./asm.js";

const kernel = kernelOrSkip();

/**
 * counts[key] += 1 (atomically), return 0:
 *   *(u32 *)(r10 - 4) = key; r2 = r10 - 4; r1 = map counts (lddw, relocated at byte 16)
 *   r0 = map_lookup_elem(r1, r2); if r0 == 0 goto out; r1 = 1; lock *(u64 *)(r0 + 0) += r1
 *   out: r0 = 0; exit
 */
function counterProgram(key: number): Uint8Array {
  return program(
    stw(R10, -4, key),
    movReg(R2, R10),
    addImm(R2, -4),
    lddw(R1, 0n),
    call(BPF_FUNC_map_lookup_elem),
    jeqImm(R0, 0, 2),
    movImm(R1, 1),
    atomicAdd64(R0, R1, 0),
    movImm(R0, 0),
    exit(),
  );
}
const COUNTER_LDDW_OFFSET = 3 * 8;

function counterObject(mapType: number, key = 1, section = "socket"): BpfObject {
  return {
    license: "GPL",
    maps: [{ name: "counts", type: mapType, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 }],
    programs: [
      { name: "count", section, code: counterProgram(key), relocations: [{ offset: COUNTER_LDDW_OFFSET, symbol: "counts" }] },
    ],
  };
}

describe("section names", () => {
  it.each([
    ["socket", ProgramType.socket_filter],
    ["socket/filter", ProgramType.socket_filter],
    ["xdp", ProgramType.xdp],
    ["tc", ProgramType.sched_cls],
    ["tc/ingress", ProgramType.sched_cls],
    ["classifier", ProgramType.sched_cls],
    ["kprobe/do_nanosleep", ProgramType.kprobe],
    ["kretprobe/do_nanosleep", ProgramType.kprobe],
    ["tracepoint/syscalls/sys_enter_write", ProgramType.tracepoint],
    ["tp/sched/sched_switch", ProgramType.tracepoint],
    ["raw_tp/sys_enter", ProgramType.raw_tracepoint],
  ])("%s is program type %i", (section, type) => {
    expect(programTypeForSection(section)?.type).toBe(type);
  });

  it.each(["kprobe", "tracepoint", "text", ".text", "sockets", "xdpx", "perf_event/x", ""])("%j has no program type", (section) => {
    expect(programTypeForSection(section)).toBeUndefined();
  });

  it("xdp programs declare the XDP attach type, as libbpf does", () => {
    expect(programTypeForSection("xdp")).toEqual({ type: ProgramType.xdp, expectedAttachType: 37 });
  });
});

describe("relocation binding", () => {
  const maps = new Map([["counts", { fd: 0x1234 }]]);
  const prog = { name: "count", section: "socket", code: counterProgram(1), relocations: [{ offset: COUNTER_LDDW_OFFSET, symbol: "counts" }] };

  it("sets src_reg = BPF_PSEUDO_MAP_FD and imm = the map fd, keeping dst_reg", () => {
    const code = bindMapRelocations(prog, maps);
    const at = COUNTER_LDDW_OFFSET;
    expect(code[at]).toBe(0x18);
    expect(code[at + 1]).toBe(0x11); // dst r1, src 1
    expect(new DataView(code.buffer).getInt32(at + 4, true)).toBe(0x1234);
    expect(new DataView(code.buffer).getInt32(at + 12, true)).toBe(0);
    expect(prog.code[at + 1]).toBe(0x01); // the input is not modified
    expect([...code.subarray(0, at)]).toEqual([...prog.code.subarray(0, at)]);
  });

  it.each([
    [{ offset: 8, symbol: "counts" }, /opcode is 0xbf, not lddw/],
    [{ offset: 20, symbol: "counts" }, /not at an instruction boundary/],
    [{ offset: 80, symbol: "counts" }, /outside the 88-byte code/],
    [{ offset: COUNTER_LDDW_OFFSET, symbol: "nope" }, /no map named nope/],
  ])("rejects %j", (relocation, message) => {
    const error = catchError(() => bindMapRelocations({ ...prog, relocations: [relocation] }, maps));
    expect(error).toBeInstanceOf(LoaderError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^program count: relocation 0/);
  });
});

describe.skipIf(!kernel)("objects on the kernel", () => {
  const packet = buildPacket("udp,sport=53,dport=1000");

  it.each([
    ["array", MapType.array, false],
    ["hash", MapType.hash, true],
    ["lru_hash", MapType.lru_hash, true],
  ])("counter in a %s map reaches 5 after repeat = 5", (_, type, needsKey) => {
    const loaded = loadObject(counterObject(type));
    try {
      const counts = loaded.maps.get("counts")!;
      if (counts.perCpu) throw new Error("expected a plain map");
      if (needsKey) counts.set(u32(1), u64(0));
      const result = loaded.programs.get("count")!.testRun(packet, { repeat: 5 });
      expect(result.retval).toBe(0);
      expect(readU64(counts.get(u32(1))!)).toBe(5n);
      if (!needsKey) expect(readU64(counts.get(u32(0))!)).toBe(0n);
      loaded.programs.get("count")!.testRun(packet);
      expect(readU64(counts.get(u32(1))!)).toBe(6n);
    } finally {
      loaded.close();
    }
  });

  it.each([
    ["percpu_array", MapType.percpu_array, false],
    ["percpu_hash", MapType.percpu_hash, true],
  ])("counter in a %s map sums to 5 over CPUs after repeat = 5", (_, type, needsKey) => {
    const loaded = loadObject(counterObject(type, 2, "tc"));
    try {
      const counts = loaded.maps.get("counts")!;
      if (!counts.perCpu) throw new Error("expected a per-CPU map");
      if (needsKey) counts.set(u32(2), u64(0));
      loaded.programs.get("count")!.testRun(packet, { repeat: 5 });
      const perCpu = counts.get(u32(2))!.map(readU64);
      expect(perCpu).toHaveLength(counts.cpuCount);
      expect(perCpu.reduce((a, b) => a + b, 0n)).toBe(5n);
      // All repetitions of one test run happen on one CPU.
      expect(perCpu.filter((n) => n !== 0n)).toEqual([5n]);
    } finally {
      loaded.close();
    }
  });

  it("loads several programs of different types sharing one map", () => {
    const object: BpfObject = {
      license: "GPL",
      maps: [{ name: "counts", type: MapType.array, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 }],
      programs: [
        { name: "on_socket", section: "socket", code: counterProgram(0), relocations: [{ offset: COUNTER_LDDW_OFFSET, symbol: "counts" }] },
        { name: "on_xdp", section: "xdp", code: counterProgram(1), relocations: [{ offset: COUNTER_LDDW_OFFSET, symbol: "counts" }] },
        { name: "on_tc", section: "tc", code: counterProgram(2), relocations: [{ offset: COUNTER_LDDW_OFFSET, symbol: "counts" }] },
        { name: "on_kprobe", section: "kprobe/do_nanosleep", code: counterProgram(3), relocations: [{ offset: COUNTER_LDDW_OFFSET, symbol: "counts" }] },
      ],
    };
    const loaded = loadObject(object);
    try {
      expect([...loaded.programs.values()].map((p) => [p.name, p.type])).toEqual([
        ["on_socket", ProgramType.socket_filter],
        ["on_xdp", ProgramType.xdp],
        ["on_tc", ProgramType.sched_cls],
        ["on_kprobe", ProgramType.kprobe],
      ]);
      loaded.programs.get("on_socket")!.testRun(packet, { repeat: 1 });
      loaded.programs.get("on_xdp")!.testRun(packet, { repeat: 2 });
      loaded.programs.get("on_tc")!.testRun(packet, { repeat: 3 });
      const counts = loaded.maps.get("counts")!;
      if (counts.perCpu) throw new Error("expected a plain map");
      expect([...counts.entries()].map(([, v]) => readU64(v))).toEqual([1n, 2n, 3n, 0n]);
    } finally {
      loaded.close();
    }
  });

  it("a verifier rejection names the program and section, and closes what was created", () => {
    const before = openFdCount();
    const object: BpfObject = {
      license: "GPL",
      maps: [{ name: "counts", type: MapType.hash, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 }],
      programs: [
        { name: "good", section: "xdp", code: program(movImm(R0, 2), exit()), relocations: [] },
        { name: "bad", section: "socket", code: exit(), relocations: [] },
      ],
    };
    const error = catchError(() => loadObject(object));
    expect(error).toBeInstanceOf(VerifierError);
    expect((error as Error).message).toMatch(/^program bad \(section socket\): BPF_PROG_LOAD failed: EACCES/);
    expect((error as VerifierError).log).toContain("R0 !read_ok");
    expect(openFdCount()).toBe(before);
  });

  it("a map the kernel refuses is a BpfError naming the map", () => {
    const bad: ObjectMap = { name: "huge_key", type: MapType.array, keySize: 8, valueSize: 8, maxEntries: 1, flags: 0 };
    const error = catchError(() => loadObject({ license: "GPL", maps: [bad], programs: [] }));
    expect(error).toBeInstanceOf(BpfError);
    expect((error as Error).message).toMatch(/^map huge_key: BPF_MAP_CREATE failed: EINVAL/);
  });

  it("an unknown section is a LoaderError listing the known ones", () => {
    const error = catchError(() => loadObject(counterObject(MapType.array, 1, "mysection")));
    expect(error).toBeInstanceOf(LoaderError);
    expect((error as Error).message).toContain("program count (section mysection): cannot infer the program type");
    expect((error as Error).message).toContain(KNOWN_SECTIONS.join(", "));
  });

  it("programTypes overrides inference from the section name", () => {
    const loaded = loadObject(counterObject(MapType.array, 1, "mysection"), {
      programTypes: { count: { type: ProgramType.sched_cls } },
    });
    try {
      expect(loaded.programs.get("count")!.type).toBe(ProgramType.sched_cls);
    } finally {
      loaded.close();
    }
  });

  it("close() releases every descriptor and is idempotent", () => {
    const before = openFdCount();
    const loaded = loadObject(counterObject(MapType.hash));
    expect(openFdCount()).toBe(before + 2);
    loaded.close();
    loaded.close();
    expect(openFdCount()).toBe(before);
  });
});

function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

