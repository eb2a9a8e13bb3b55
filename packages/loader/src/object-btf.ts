// The BTF a loaded object gives the kernel and its readers:
//
//  - Map BTF. Maps whose key and value types are known are created with a BTF object holding
//    just those types (built with @luabpf/elf's BtfBuilder and loaded with BPF_BTF_LOAD), so that
//    the kernel keeps the types with the map: `bpftool map dump` prints typed values and
//    `luabpf maps DIR` can decode a pinned map without the object file. The object's own .BTF is
//    not handed over as is: clang leaves DATASEC sizes and offsets for the loader to patch
//    (libbpf's btf_fixup_datasec), and only the key/value types matter to maps.
//
//  - Record types. Ring buffers and perf event arrays carry records whose C type the map
//    definition cannot state (the kernel rejects a value type on them). luabpf's convention,
//    in order:
//      1. a BTF decl tag `luabpf.record=<type>` on the map's variable, e.g. in C
//         `struct { ... } events SEC(".maps") __attribute__((btf_decl_tag("luabpf.record=struct event")));`
//      2. a global `__luabpf_record_<map>` whose type is a pointer to the record type, e.g.
//         `struct event *__luabpf_record_events __attribute__((unused));`
//    In both, the record type itself must be in the object's BTF; clang emits a type only when
//    a global or a function signature uses it, which is why form 2 exists (it does both jobs).
import { BtfBuilder, RECORD_TAG_PREFIX, skipModifiers, type BtfType } from "@luabpf/elf";

/** The key and value types of a map, when known. */
export interface TypedMapSpec {
  name: string;
  key?: BtfType;
  value?: BtfType;
}

/** One BTF blob with the key and value types of `maps`, and each map's type ids. */
export function buildMapBtf(maps: readonly TypedMapSpec[]): { bytes: Uint8Array; ids: Map<string, { key: number; value: number }> } | undefined {
  const builder = new BtfBuilder();
  const ids = new Map<string, { key: number; value: number }>();
  for (const map of maps) {
    if (!map.key || !map.value) continue;
    ids.set(map.name, { key: builder.add(map.key), value: builder.add(map.value) });
  }
  if (ids.size === 0) return undefined;
  return { bytes: builder.finish(), ids };
}

/** Prefix of the decl tag that names a ring buffer's or perf array's record type (the elf writer's). */
export { RECORD_TAG_PREFIX };
/** Prefix of the global whose pointee type is the record type of the map named after it. */
export const RECORD_VAR_PREFIX = "__luabpf_record_";

/**
 * Finds a type by its C spelling: `struct foo`, `union foo`, `enum foo`, or a typedef/int name.
 */
export function findTypeByName(types: readonly BtfType[], spelling: string): BtfType | undefined {
  const match = /^(struct|union|enum)\s+(\w+)$/.exec(spelling.trim());
  const kind = match?.[1];
  const name = match ? match[2] : spelling.trim();
  return types.find((type) => {
    if (!("name" in type) || type.name !== name) return false;
    if (kind === "enum") return type.kind === "enum" || type.kind === "enum64";
    if (kind) return type.kind === kind;
    return type.kind === "typedef" || type.kind === "int" || type.kind === "float";
  });
}

/** The record type of map `mapName` by the conventions above, or undefined. */
export function recordTypeOf(types: readonly BtfType[], mapName: string): BtfType | undefined {
  for (const type of types) {
    if (type.kind !== "decl_tag" || type.componentIdx !== -1 || !type.name.startsWith(RECORD_TAG_PREFIX)) continue;
    const target = type.target;
    if (target.kind !== "var" || target.name !== mapName) continue;
    const found = findTypeByName(types, type.name.slice(RECORD_TAG_PREFIX.length));
    if (found) return found;
  }
  for (const type of types) {
    if (type.kind !== "var" || type.name !== RECORD_VAR_PREFIX + mapName) continue;
    const pointer = skipModifiers(type.type);
    if (pointer.kind === "ptr") return pointer.target;
  }
  return undefined;
}
