// Questions readers ask the tables: section rules, map type properties.
import { describe, expect, test } from "vitest";
import { AttachType, BPF_FUNC, HELPERS, helper, helperResultMax, isHelperName, KNOWN_SECTIONS, MAP_TYPES, MapType, PROGRAM_TYPES, ProgramType, SECTION_RULES, helperAllowed, mapTypeById, programHelpers, programTypeById, programTypeForSection, sectionRule } from "../src/index.js";

describe("section rules", () => {
  test.each([
    ["socket", "socket_filter", "socket"],
    ["socket/filter", "socket_filter", "socket"],
    ["xdp", "xdp", "xdp"],
    ["tc", "sched_cls", "tc"],
    ["tc/ingress", "sched_cls", "tc"],
    ["classifier", "sched_cls", "tc"],
    ["action", "sched_act", "tc"],
    ["kprobe/do_nanosleep", "kprobe", "kprobe"],
    ["kretprobe/do_nanosleep", "kprobe", "kretprobe"],
    ["uprobe/bin:fn", "kprobe", "uprobe"],
    ["uprobe", "kprobe", "uprobe"],
    ["tcx/egress", "sched_cls", "tc"],
    ["fentry/do_sys_openat2", "tracing", "tracing"],
    ["fexit/do_sys_openat2", "tracing", "tracing"],
    ["tp_btf/sched_switch", "tracing", "tracing"],
    ["tracepoint/syscalls/sys_enter_write", "tracepoint", "tracepoint"],
    ["tp/sched/sched_switch", "tracepoint", "tracepoint"],
    ["raw_tp/sys_enter", "raw_tracepoint", "raw_tracepoint"],
    ["perf_event", "perf_event", "perf_event"],
    ["fentry/do_nanosleep", "tracing", "tracing"],
    ["tp_btf/sched_switch", "tracing", "tracing"],
    ["tcx/ingress", "sched_cls", "tc"],
  ])("%s is a %s program on the %s hook", (section, type, hook) => {
    expect(sectionRule(section)).toMatchObject({ type, hook });
    expect(programTypeForSection(section)?.type).toBe(PROGRAM_TYPES[type as keyof typeof PROGRAM_TYPES].id);
  });

  test.each(["kprobe", "kprobe/", "perf_event/x", "mysection", "xdpfoo", ""])("%j follows no rule", (section) => {
    expect(sectionRule(section)).toBeUndefined();
    expect(programTypeForSection(section)).toBeUndefined();
  });

  test("tracing programs name their attach type and the vmlinux BTF type they are verified against", () => {
    expect(programTypeForSection("fentry/f")).toEqual({ type: ProgramType.tracing, expectedAttachType: AttachType.trace_fentry });
    expect(sectionRule("fexit/f")?.kernelBtf).toEqual({ kind: "func", namePrefix: "" });
    expect(sectionRule("tp_btf/sys_enter")).toMatchObject({ expectedAttachType: "trace_raw_tp", kernelBtf: { kind: "typedef", namePrefix: "btf_trace_" } });
  });

  test("xdp programs name their expected attach type at load time", () => {
    expect(programTypeForSection("xdp")).toEqual({ type: ProgramType.xdp, expectedAttachType: AttachType.xdp });
    expect(programTypeForSection("socket")).toEqual({ type: ProgramType.socket_filter });
  });

  test("tracing sections load against kernel BTF", () => {
    expect(programTypeForSection("fentry/do_nanosleep")).toEqual({ type: ProgramType.tracing, expectedAttachType: AttachType.trace_fentry });
    expect(sectionRule("fentry/x")?.kernelBtf).toEqual({ kind: "func", namePrefix: "" });
    expect(sectionRule("kprobe/x")?.kernelBtf).toBeUndefined();
  });

  test("known sections, for messages", () => {
    expect(KNOWN_SECTIONS).toContain("socket");
    expect(KNOWN_SECTIONS).toContain("kprobe/…");
    expect(KNOWN_SECTIONS).not.toContain("kprobe");
  });
});

describe("map types", () => {
  test("numbers by name and back", () => {
    expect(MapType.hash).toBe(1);
    expect(MapType.ringbuf).toBe(27);
    for (const t of Object.values(MAP_TYPES)) expect(mapTypeById(t.id)).toBe(t);
    expect(mapTypeById(9999)).toBeUndefined();
    expect(MAP_TYPES.percpu_array.kernelName).toBe("BPF_MAP_TYPE_PERCPU_ARRAY");
  });

  test("properties", () => {
    const arrays = Object.values(MAP_TYPES).filter((t) => t.isArrayLike()).map((t) => t.name);
    expect(arrays).toEqual(["array", "percpu_array", "array_of_maps"]);
    expect(Object.values(MAP_TYPES).filter((t) => t.hasPerCpuValue()).map((t) => t.name)).toEqual([
      "percpu_hash", "percpu_array", "lru_percpu_hash", "percpu_cgroup_storage",
    ]);
    expect(Object.values(MAP_TYPES).filter((t) => t.lru).map((t) => t.name)).toEqual(["lru_hash", "lru_percpu_hash"]);
    expect(MAP_TYPES.hash.lookupMayBeNull()).toBe(true);
    expect(MAP_TYPES.array.lookupMayBeNull()).toBe(false);
    expect(MAP_TYPES.ringbuf.canLookup()).toBe(false);
    expect(MAP_TYPES.array.requiredKeySize()).toBe(4);
    expect(MAP_TYPES.ringbuf.requiredKeySize()).toBe(0);
    expect(MAP_TYPES.ringbuf.requiredValueSize()).toBe(0);
    expect(MAP_TYPES.hash.requiredKeySize()).toBeUndefined();
  });

  test("how user space lists a map: by index, by key, as events or not at all", () => {
    const by = (listing: string) => Object.values(MAP_TYPES).filter((t) => t.listing === listing).map((t) => t.name);
    // Array-like for programs is not the same as listed by index: an array of maps holds map references.
    expect(MAP_TYPES.array_of_maps.isArrayLike()).toBe(true);
    expect(MAP_TYPES.array_of_maps.isListable()).toBe(false);
    expect(by("index")).toEqual(["array", "percpu_array"]);
    expect(Object.values(MAP_TYPES).filter((t) => t.isListedByIndex()).map((t) => t.name)).toEqual(["array", "percpu_array"]);
    // Only filled slots exist: stack traces (index keys), devmaps and cpumaps (ifindex / queue-size values).
    expect(by("keys")).toEqual([
      "hash", "percpu_hash", "stack_trace", "lru_hash", "lru_percpu_hash", "lpm_trie", "devmap", "cpumap",
      "cgroup_storage", "percpu_cgroup_storage", "devmap_hash", "rhash",
    ]);
    expect(Object.values(MAP_TYPES).filter((t) => t.carriesEvents()).map((t) => t.name)).toEqual(["perf_event_array", "ringbuf"]);
    for (const name of ["prog_array", "cgroup_array", "array_of_maps", "hash_of_maps", "sockmap", "sockhash", "xskmap", "queue", "stack", "bloom_filter", "user_ringbuf", "sk_storage", "arena"] as const) {
      expect(MAP_TYPES[name].listing, name).toBe("none");
      expect(MAP_TYPES[name].isListable(), name).toBe(false);
    }
  });

  test("program types by number", () => {
    expect(programTypeById(ProgramType.sched_cls)).toMatchObject({ name: "sched_cls", context: "__sk_buff", legacyPacketLoads: true, testRun: "packet_l2" });
    expect(programTypeById(1234)).toBeUndefined();
  });
});

describe("helpers per program type", () => {
  test("rows answer by program type and, for tracing programs, by attach type", () => {
    expect(helperAllowed("socket_filter", "skb_load_bytes")).toBe(true);
    expect(helperAllowed("socket_filter", "probe_read_str")).toBe(false);
    expect(helperAllowed("kprobe", "probe_read_str")).toBe(true);
    expect(helperAllowed("xdp", "get_stackid")).toBe(false);
    expect(helperAllowed("tracepoint", "get_stackid")).toBe(true);
    expect(helperAllowed("tracing", "get_func_ret", "trace_fexit")).toBe(true);
    expect(helperAllowed("tracing", "get_func_ret", "trace_fentry")).toBe(false);
    expect(helperAllowed("tracing", "get_func_arg", "trace_raw_tp")).toBe(false);
    // no row: not checked
    expect(programHelpers("lsm")).toBeUndefined();
    expect(helperAllowed("lsm", "get_func_ret")).toBe(true);
    expect(programHelpers("tracing")).toBeUndefined();
  });

  test("every program type a section rule produces has a row, and base helpers are everywhere", () => {
    for (const r of SECTION_RULES) {
      if (r.type === "tracing") continue;
      expect(programHelpers(r.type), r.prefix).toBeDefined();
      expect(programHelpers(r.type)!.has("map_lookup_elem"), r.prefix).toBe(true);
    }
  });
});

describe("helpers by name", () => {
  test("every helper by its name, and nothing else is a helper name", () => {
    for (const h of HELPERS) {
      expect(isHelperName(h.name)).toBe(true);
      expect(helper(h.name)).toBe(h);
    }
    for (const name of ["toString", "__proto__", "constructor", "hasOwnProperty", "bpf_map_lookup_elem", ""]) expect(isHelperName(name), name).toBe(false);
  });

  test("a row's set is made once and then the same", () => {
    const row = programHelpers("socket_filter")!;
    expect(programHelpers("socket_filter")).toBe(row);
    expect(programHelpers("tracing", "trace_fexit")).toBe(programHelpers("tracing", "trace_fexit"));
    expect(programHelpers("tracing", "trace_fexit")).not.toBe(programHelpers("tracing", "trace_fentry"));
  });
});

describe("helper result bounds", () => {
  test("the clocks stay below 2^63, a u32 result below 2^32, other results are unbounded", () => {
    expect(helperResultMax(BPF_FUNC.ktime_get_ns)).toBe((1n << 63n) - 1n);
    expect(helperResultMax(BPF_FUNC.ktime_get_boot_ns)).toBe((1n << 63n) - 1n);
    expect(helperResultMax(BPF_FUNC.get_smp_processor_id)).toBe(0xffffffffn);
    expect(helperResultMax(BPF_FUNC.get_prandom_u32)).toBe(0xffffffffn);
    expect(helperResultMax(BPF_FUNC.get_current_pid_tgid)).toBeUndefined();
    expect(helperResultMax(BPF_FUNC.map_lookup_elem)).toBeUndefined();
    expect(helperResultMax(undefined)).toBeUndefined();
    expect(helperResultMax(100000)).toBeUndefined();
  });
});
