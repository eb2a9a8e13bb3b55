// The platform tables against the kernel's own header: every enumerator of the installed
// include/uapi/linux/bpf.h (map types, program types, attach and link types, commands,
// helpers with their documented prototypes, flags) must have the same number here. The
// installed header may be older than the tables (which follow the newest uapi); it must
// never disagree with them.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  CORE_RELO_CLASS,
  CoreReloKind,
  coreReloKindsOf,
  type CoreReloKindName,
  AttachType,
  BpfCommand,
  BPF_FUNC,
  HELPERS,
  HelperFlag,
  LinkType,
  MAP_TYPES,
  MapFlag,
  PROGRAM_TYPES,
  ProgFlag,
  PseudoSrc,
  RingbufQuery,
  UpdateFlag,
  XdpFlag,
  helperById,
  helperSignature,
  isHelperName,
  isMapTypeName,
  isProgramTypeName,
} from "../src/index.js";

const HEADER = "/usr/include/linux/bpf.h";
const header = existsSync(HEADER) ? readFileSync(HEADER, "utf8") : undefined;

/** Enumerators of `enum name` with their values (implicit values counted, aliases and `__MAX` skipped). */
function enumerators(name: string): Map<string, number> {
  const start = header!.indexOf(`enum ${name} {`);
  expect(start, `enum ${name} in ${HEADER}`).toBeGreaterThanOrEqual(0);
  const body = header!.slice(header!.indexOf("{", start) + 1, header!.indexOf("\n};", start));
  const out = new Map<string, number>();
  let next = 0;
  for (const line of body.split("\n")) {
    const m = /^\s*([A-Z][A-Z0-9_]*)\s*(?:=\s*([^,/]+?))?\s*,?\s*(?:\/\*.*)?$/.exec(line);
    if (!m || m[1]!.startsWith("__") || m[1]!.startsWith("MAX_")) continue;
    if (m[2] !== undefined) {
      if (!/^\d+$/.test(m[2])) continue; // an alias of another enumerator
      next = Number(m[2]);
    }
    out.set(m[1]!, next++);
  }
  return out;
}

/** `#define`d or enum constants `NAME = value` / `#define NAME value` of the header. */
function constant(name: string): number {
  const m = new RegExp(`(?:#define\\s+${name}\\s+\\(?([0-9a-fxUL< ]+)\\)?|\\b${name}\\s*=\\s*\\(?([0-9a-fxUL< ]+|[A-Z_]+)\\)?)`).exec(header!);
  expect(m, `${name} in ${HEADER}`).not.toBeNull();
  const text = (m![1] ?? m![2]!).replace(/U?L*\b/g, "").trim();
  if (/^[A-Z_]+$/.test(text)) return constant(text);
  const shift = /^(\d+)\s*<<\s*(\d+)$/.exec(text);
  return shift ? Number(shift[1]) << Number(shift[2]) : Number(text);
}

describe.skipIf(header === undefined)(`platform tables agree with ${HEADER}`, () => {
  test("map types", () => {
    const names = enumerators("bpf_map_type");
    expect(names.size).toBeGreaterThan(25);
    for (const [enumerator, value] of names) {
      const name = enumerator.replace(/^BPF_MAP_TYPE_/, "").replace(/_DEPRECATED$/, "").toLowerCase();
      expect(isMapTypeName(name), enumerator).toBe(true);
      if (isMapTypeName(name)) expect(MAP_TYPES[name].id, enumerator).toBe(value);
    }
  });

  test("program types", () => {
    const names = enumerators("bpf_prog_type");
    expect(names.size).toBeGreaterThan(25);
    for (const [enumerator, value] of names) {
      const name = enumerator.replace(/^BPF_PROG_TYPE_/, "").toLowerCase();
      expect(isProgramTypeName(name), enumerator).toBe(true);
      if (isProgramTypeName(name)) expect(PROGRAM_TYPES[name].id, enumerator).toBe(value);
    }
  });

  test("attach types, link types and commands", () => {
    for (const [enumerator, value] of enumerators("bpf_attach_type"))
      expect((AttachType as Record<string, number>)[enumerator.replace(/^BPF_/, "").toLowerCase()], enumerator).toBe(value);
    for (const [enumerator, value] of enumerators("bpf_link_type"))
      expect((LinkType as Record<string, number>)[enumerator.replace(/^BPF_LINK_TYPE_/, "").toLowerCase()], enumerator).toBe(value);
    for (const [enumerator, value] of enumerators("bpf_cmd")) expect((BpfCommand as Record<string, number>)[enumerator.replace(/^BPF_/, "")], enumerator).toBe(value);
  });

  test("CO-RE relocation kinds", () => {
    const kinds = enumerators("bpf_core_relo_kind");
    expect(kinds.size).toBe(Object.keys(CoreReloKind).length);
    for (const [enumerator, value] of kinds)
      expect((CoreReloKind as Record<string, number>)[enumerator.replace(/^BPF_CORE_/, "").toLowerCase()], enumerator).toBe(value);
    // Each kind's class is the word after BPF_CORE_ (FIELD, TYPE, ENUMVAL), as libbpf's core_relo_is_*_based.
    for (const enumerator of kinds.keys()) {
      const name = enumerator.replace(/^BPF_CORE_/, "").toLowerCase() as CoreReloKindName;
      expect(CORE_RELO_CLASS[name], enumerator).toBe(name.split("_")[0]);
    }
    expect([...coreReloKindsOf("enumval")].sort()).toEqual(["enumval_exists", "enumval_value"]);
  });

  test("helpers: ids, names and documented prototypes", () => {
    const mapper = header!.slice(header!.search(/#define _{2,3}BPF_FUNC_MAPPER\(/));
    const names = [...mapper.slice(0, mapper.indexOf("/* */") >= 0 ? mapper.indexOf("/* */") : mapper.indexOf("This helper list")).matchAll(/\bFN\(([a-z0-9_]+)(?:,\s*(\d+))?/g)];
    expect(names.length).toBeGreaterThan(200);
    names.forEach((m, index) => {
      const name = m[1]!;
      const id = m[2] !== undefined ? Number(m[2]) : index;
      expect(isHelperName(name), name).toBe(true);
      if (!isHelperName(name)) return;
      expect(BPF_FUNC[name], name).toBe(id);
      const doc = new RegExp(`^ \\* (.+?)(\\**)bpf_${name}\\((.*)\\)\\s*$`, "m").exec(header!);
      if (!doc) return; // unspec has no documentation
      // The parameter count; names and C types follow the newest uapi (older headers had
      // other ones in a few places, e.g. redirect_map's u32 key, kptr_xchg's map_value).
      const params = doc[3] === "void" ? [] : doc[3]!.split(",").map((s) => /([A-Za-z_][A-Za-z0-9_]*|\.\.\.)$/.exec(s.trim())![1]);
      expect(helperSignature(helperById(id)!)!.params.length, name).toBe(params.length);
    });
  });

  test("flags and pseudo sources", () => {
    expect(UpdateFlag.ANY).toBe(constant("BPF_ANY"));
    expect(UpdateFlag.NOEXIST).toBe(constant("BPF_NOEXIST"));
    expect(UpdateFlag.EXIST).toBe(constant("BPF_EXIST"));
    expect(UpdateFlag.F_LOCK).toBe(constant("BPF_F_LOCK"));
    expect(MapFlag.noPrealloc).toBe(constant("BPF_F_NO_PREALLOC"));
    expect(MapFlag.noCommonLru).toBe(constant("BPF_F_NO_COMMON_LRU"));
    expect(MapFlag.rdonlyProg).toBe(constant("BPF_F_RDONLY_PROG"));
    expect(MapFlag.mmapable).toBe(constant("BPF_F_MMAPABLE"));
    expect(ProgFlag.strictAlignment).toBe(constant("BPF_F_STRICT_ALIGNMENT"));
    expect(ProgFlag.anyAlignment).toBe(constant("BPF_F_ANY_ALIGNMENT"));
    expect(PseudoSrc.MAP_FD).toBe(constant("BPF_PSEUDO_MAP_FD"));
    expect(PseudoSrc.MAP_VALUE).toBe(constant("BPF_PSEUDO_MAP_VALUE"));
    expect(PseudoSrc.FUNC).toBe(constant("BPF_PSEUDO_FUNC"));
    for (const [name, value] of Object.entries(HelperFlag)) expect(value, name).toBe(constant(name.startsWith("RB_") ? `BPF_${name}` : `BPF_F_${name}`));
    for (const [name, value] of Object.entries(RingbufQuery)) expect(value, name).toBe(constant(`BPF_RB_${name}`));
  });
});

describe("the tables themselves", () => {
  test("helper rows are indexed by id and have unique names", () => {
    HELPERS.forEach((h, i) => expect(h.id).toBe(i));
    expect(new Set(HELPERS.map((h) => h.name)).size).toBe(HELPERS.length);
  });

  test("map and program type ids are unique", () => {
    const mapIds = Object.values(MAP_TYPES).map((t) => t.id);
    expect(new Set(mapIds).size).toBe(mapIds.length);
    const progIds = Object.values(PROGRAM_TYPES).map((t) => t.id);
    expect(new Set(progIds).size).toBe(progIds.length);
  });

  test("prototypes split into C types", () => {
    expect(helperSignature(helperById(BPF_FUNC.map_update_elem)!)).toEqual({
      result: "long",
      params: [
        { type: "struct bpf_map *", name: "map" },
        { type: "const void *", name: "key" },
        { type: "const void *", name: "value" },
        { type: "u64", name: "flags" },
      ],
    });
    expect(helperSignature(helperById(BPF_FUNC.ktime_get_ns)!)).toEqual({ result: "u64", params: [] });
    expect(helperSignature(helperById(BPF_FUNC.trace_printk)!)!.params.at(-1)).toEqual({ type: "...", name: "..." });
    expect(helperSignature(helperById(0)!)).toBeUndefined();
  });
});

const IF_LINK = "/usr/include/linux/if_link.h";
describe.skipIf(!existsSync(IF_LINK))(`XDP flags agree with ${IF_LINK}`, () => {
  test.each(Object.entries(XdpFlag))("XDP_FLAGS_%s", (name, value) => {
    const m = new RegExp(`#define\\s+XDP_FLAGS_${name}\\s+\\(1U << (\\d+)\\)`).exec(readFileSync(IF_LINK, "utf8"));
    expect(m, `XDP_FLAGS_${name}`).not.toBeNull();
    expect(value).toBe(1 << Number(m![1]));
  });
});
