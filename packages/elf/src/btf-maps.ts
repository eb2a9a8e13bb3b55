// BTF-defined maps, the convention of libbpf (since 5.x; see libbpf's
// bpf_object__init_user_btf_maps and bpf_helpers.h `__uint`/`__type`). A map is a
// global variable in section `.maps` whose type is an anonymous struct of pointers:
//   __uint(type, BPF_MAP_TYPE_ARRAY)  →  int (*type)[BPF_MAP_TYPE_ARRAY];
//   __type(key, __u32)                →  __u32 *key;
//   __uint(max_entries, 16)           →  int (*max_entries)[16];
// Integer attributes are carried by the element count of the pointed-to array, types
// by the pointee. Every member is a pointer, so the struct is 8 bytes per member and
// the `.maps` storage is zero-filled. This file builds and parses that layout.

import { ElfError, withContext } from "./errors.js";
import { btfSizeof, describeBtfType, skipModifiers, type BtfMember, type BtfType } from "./btf-types.js";
import type { ObjectMap } from "./object.js";

const intType: BtfType = { kind: "int", name: "int", size: 4, signed: true };

/** Integer-valued attributes libbpf understands (member name → ObjectMap field). */
const integerAttributes = ["type", "max_entries", "map_flags", "key_size", "value_size"] as const;

/**
 * Builds the anonymous struct describing `map`: `type`, then `key` (or `key_size`),
 * `value` (or `value_size`), `max_entries` and, when non-zero, `map_flags`. A size of
 * 0 without a type (ring buffers, perf event arrays) emits no member at all. Fresh
 * array/pointer objects are fine: the encoder deduplicates them structurally.
 */
export function mapDefinitionType(map: ObjectMap): BtfType & { kind: "struct" } {
  const members: BtfMember[] = [];
  const add = (name: string, type: BtfType) => members.push({ name, type, bitOffset: members.length * 64 });
  const integer = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new ElfError(`map ${map.name}: ${name} ${value} is not a u32`);
    }
    add(name, { kind: "ptr", target: { kind: "array", elem: intType, count: value } });
  };
  integer("type", map.type);
  if (map.key !== undefined) {
    const size = withContext(() => `map ${map.name}: key`, () => btfSizeof(map.key!));
    if (size !== map.keySize) {
      throw new ElfError(`map ${map.name}: key type ${describeBtfType(map.key)} has size ${size}, keySize is ${map.keySize}`);
    }
    add("key", { kind: "ptr", target: map.key });
  } else if (map.keySize !== 0) {
    integer("key_size", map.keySize);
  }
  if (map.value !== undefined) {
    const size = withContext(() => `map ${map.name}: value`, () => btfSizeof(map.value!));
    if (size !== map.valueSize) {
      throw new ElfError(
        `map ${map.name}: value type ${describeBtfType(map.value)} has size ${size}, valueSize is ${map.valueSize}`,
      );
    }
    add("value", { kind: "ptr", target: map.value });
  } else if (map.valueSize !== 0) {
    integer("value_size", map.valueSize);
  }
  integer("max_entries", map.maxEntries);
  if (map.flags !== 0) integer("map_flags", map.flags);
  return { kind: "struct", name: "", size: members.length * 8, members };
}

/**
 * Reads a map definition struct back into an ObjectMap, the way libbpf does:
 * unknown members are ignored, `key`/`value` give sizes through their pointee, and
 * an explicit `key_size`/`value_size` must agree with them.
 */
export function parseMapDefinition(name: string, definition: BtfType): ObjectMap {
  return withContext(() => `map ${name}`, () => {
    const struct = skipModifiers(definition);
    if (struct.kind !== "struct") throw new ElfError(`definition is a ${struct.kind}, not a struct`);
    const map: ObjectMap = { name, type: 0, keySize: 0, valueSize: 0, maxEntries: 0, flags: 0 };
    const sizes: { key_size?: number; value_size?: number } = {};
    for (const member of struct.members) {
      withContext(() => `member ${member.name}`, () => {
        const pointer = skipModifiers(member.type);
        if ((integerAttributes as readonly string[]).includes(member.name)) {
          const array = pointer.kind === "ptr" ? skipModifiers(pointer.target) : pointer;
          if (pointer.kind !== "ptr" || array.kind !== "array") {
            throw new ElfError(`expected a pointer to an array, found ${describeBtfType(member.type)}`);
          }
          const value = array.count;
          switch (member.name as (typeof integerAttributes)[number]) {
            case "type":
              map.type = value;
              break;
            case "max_entries":
              map.maxEntries = value;
              break;
            case "map_flags":
              map.flags = value;
              break;
            case "key_size":
              sizes.key_size = value;
              break;
            case "value_size":
              sizes.value_size = value;
              break;
          }
        } else if (member.name === "key" || member.name === "value") {
          if (pointer.kind !== "ptr") throw new ElfError(`expected a pointer, found ${describeBtfType(member.type)}`);
          map[member.name] = pointer.target;
          map[member.name === "key" ? "keySize" : "valueSize"] = btfSizeof(pointer.target);
        }
      });
    }
    for (const [field, sizeField] of [
      ["key_size", "keySize"],
      ["value_size", "valueSize"],
    ] as const) {
      const explicit = sizes[field];
      if (explicit === undefined) continue;
      if (map[sizeField] !== 0 && map[sizeField] !== explicit) {
        throw new ElfError(`${field} ${explicit} disagrees with the type's size ${map[sizeField]}`);
      }
      map[sizeField] = explicit;
    }
    return map;
  });
}
