// BTF encoder: turns the object graph of btf-types.ts into the `.BTF` section
// (header, type records, string table). Type ids are assigned in depth-first order
// of `add` calls, so the same sequence of calls always yields the same bytes.
//
// Deduplication: leaf and derived types (int, float, fwd, ptr, array, qualifiers,
// typedefs, func_proto) are deduplicated structurally by their fields and their
// children's ids (maps nested per field, no key strings), so `u32 *` built twice is one record. Aggregates
// (struct/union/enum) and the named entities (func, var, datasec, decl_tag) are
// deduplicated by object identity only and reserve their id before visiting their
// members, which is what lets cycles through a struct terminate. A cycle that does
// not pass through a reserved type (only possible for malformed input) is reported.

import { ByteWriter, StringTable } from "./bytes.js";
import { BTF_HEADER_SIZE, BTF_MAGIC, BTF_VERSION, BtfIntEncoding, BtfKind } from "./constants.js";
import { ElfError, assertNever, rethrowIn, withContext } from "./errors.js";
import { describeBtfType, type BtfLinkage, type BtfType } from "./btf-types.js";

/** Index type clang uses for BTF arrays. */
const arrayIndexType: BtfType = { kind: "int", name: "__ARRAY_SIZE_TYPE__", size: 4, signed: false };

const linkageCode: Record<BtfLinkage, number> = { static: 0, global: 1, extern: 2 };

/** Incrementally builds one `.BTF` blob. */
export class BtfBuilder {
  readonly strings = new StringTable();
  /**
   * The u32 words of every type record, in id order. A record whose id is taken before the
   * types it refers to are added (an aggregate, a named entity) is written where its id was
   * given: its length is known then.
   */
  private readonly words: number[] = [];
  private count = 0;
  private readonly byIdentity = new Map<BtfType, number>();
  /**
   * Structural records by their fields, without a key string per lookup: per kind, maps
   * nested one level per field (names as the strings themselves, then numbers), the last
   * map giving the id.
   */
  private readonly byStructure: KeyMap[] = [];
  private readonly visiting = new Set<BtfType>();

  /** Number of types added (the largest id). */
  get typeCount(): number {
    return this.count;
  }

  /** Adds `type` (and everything it references) and returns its type id. */
  add(type: BtfType): number {
    if (type.kind === "void") return 0;
    const known = this.byIdentity.get(type);
    if (known !== undefined) return known;
    // Only the kinds that refer to other types before they have an id can meet themselves
    // again (an aggregate or a named entity is in byIdentity before its references are added).
    const guard = refersBeforeId(type.kind);
    if (guard) {
      if (this.visiting.has(type)) throw new ElfError(`BTF: cycle through ${describeBtfType(type)} without a struct or union`);
      this.visiting.add(type);
    }
    try {
      const id = this.encode(type);
      this.byIdentity.set(type, id);
      return id;
    } finally {
      if (guard) this.visiting.delete(type);
    }
  }

  /** Id of a type already added, for callers that need to refer to it (e.g. func info). */
  idOf(type: BtfType): number {
    if (type.kind === "void") return 0;
    const id = this.byIdentity.get(type);
    if (id === undefined) throw new ElfError(`BTF: ${describeBtfType(type)} was not added`);
    return id;
  }

  /** Serialises header, types and strings. */
  finish(): Uint8Array {
    const words = this.words;
    const typeLength = words.length * 4;
    const stringBytes = this.strings.finish();
    const out = new ByteWriter(BTF_HEADER_SIZE + typeLength + stringBytes.length)
      .u16(BTF_MAGIC)
      .u8(BTF_VERSION)
      .u8(0) // flags
      .u32(BTF_HEADER_SIZE)
      .u32(0) // type_off, relative to the end of the header
      .u32(typeLength)
      .u32(typeLength) // str_off
      .u32(stringBytes.length);
    for (let i = 0; i < words.length; i++) out.u32(words[i]!);
    return out.bytes(stringBytes).finish();
  }

  /** Gives the next id to a record of `length` words, zero until written; returns the offset of its words. */
  private reserve(length: number): number {
    const at = this.words.length;
    for (let i = 0; i < length; i++) this.words.push(0);
    this.count++;
    return at;
  }

  /** The outermost map of the structural records of `group`. */
  private group(group: (typeof Group)[keyof typeof Group]): KeyMap {
    return (this.byStructure[group] ??= new Map());
  }

  /** Takes the next id for the structural record that is `key` in `map`, whose words the caller appends next. */
  private structural(map: KeyMap, key: string | number): number {
    map.set(key, ++this.count);
    return this.count;
  }

  private name(text: string): number {
    return this.strings.add(text);
  }

  private encode(type: Exclude<BtfType, { kind: "void" }>): number {
    checkCount(type);
    const words = this.words;
    // Structural kinds: the id of an equal record already added, else the next id and the
    // record appended (its name added to the strings only then).
    switch (type.kind) {
      case "int": {
        const encoding =
          (type.signed ? BtfIntEncoding.signed : 0) |
          (type.char ? BtfIntEncoding.char : 0) |
          (type.bool ? BtfIntEncoding.bool : 0);
        if (![1, 2, 4, 8, 16].includes(type.size)) throw new ElfError(`BTF: int ${type.name} has size ${type.size}`);
        const map = inner(this.group(Group.int), type.name);
        const key = type.size * 8 + encoding;
        const known = map.get(key) as number | undefined;
        if (known !== undefined) return known;
        words.push(this.name(type.name), info(BtfKind.int), type.size, (encoding << 24) | (type.size * 8));
        return this.structural(map, key);
      }
      case "float": {
        const map = inner(this.group(Group.float), type.name);
        const key = type.size;
        const known = map.get(key) as number | undefined;
        if (known !== undefined) return known;
        words.push(this.name(type.name), info(BtfKind.float), type.size);
        return this.structural(map, key);
      }
      case "fwd": {
        const map = inner(this.group(Group.fwd), type.name);
        const key = type.union ? 1 : 0;
        const known = map.get(key) as number | undefined;
        if (known !== undefined) return known;
        words.push(this.name(type.name), info(BtfKind.fwd, 0, type.union), 0);
        return this.structural(map, key);
      }
      case "ptr":
      case "const":
      case "volatile":
      case "restrict": {
        const target = this.add(type.target);
        const map = this.group(GROUP_OF[type.kind]);
        const key = target;
        const known = map.get(key) as number | undefined;
        if (known !== undefined) return known;
        words.push(0, info(BtfKind[type.kind]), target);
        return this.structural(map, key);
      }
      case "typedef":
      case "type_tag": {
        const target = this.add(type.target);
        const map = inner(this.group(GROUP_OF[type.kind]), type.name);
        const key = target;
        const known = map.get(key) as number | undefined;
        if (known !== undefined) return known;
        words.push(this.name(type.name), info(BtfKind[type.kind]), target);
        return this.structural(map, key);
      }
      case "array": {
        const elem = this.add(type.elem);
        const index = this.add(arrayIndexType);
        const map = inner(this.group(Group.array), elem);
        const key = type.count;
        const known = map.get(key) as number | undefined;
        if (known !== undefined) return known;
        words.push(0, info(BtfKind.array), 0, elem, index, type.count);
        return this.structural(map, key);
      }
      case "func_proto": {
        const ret = this.add(type.ret);
        const params = type.params;
        const flat: number[] = new Array<number>(2 * params.length);
        for (let index = 0; index < params.length; index++) {
          const param = params[index]!;
          try {
            flat[2 * index] = this.name(param.name);
            flat[2 * index + 1] = this.add(param.type);
          } catch (error) {
            rethrowIn(`parameter ${index}`, error);
          }
        }
        // Fields: the result, the parameter count, then each parameter's name and type.
        let map = inner(this.group(Group.proto), ret);
        let key = params.length;
        for (let i = 0; i < flat.length; i++) {
          map = inner(map, key);
          key = flat[i]!;
        }
        const known = map.get(key) as number | undefined;
        if (known !== undefined) return known;
        words.push(0, info(BtfKind.func_proto, params.length), ret);
        for (const word of flat) words.push(word);
        return this.structural(map, key);
      }
      case "struct":
      case "union": {
        const members = type.members;
        const at = this.reserve(3 + 3 * members.length);
        const id = this.count;
        this.byIdentity.set(type, id);
        let bitfields = false;
        for (const member of members) if (member.bitSize !== undefined && member.bitSize !== 0) bitfields = true;
        words[at] = this.name(type.name);
        words[at + 1] = info(BtfKind[type.kind], members.length, bitfields);
        words[at + 2] = type.size;
        for (let index = 0; index < members.length; index++) {
          const member = members[index]!;
          try {
            if (bitfields && (member.bitOffset >= 1 << 24 || (member.bitSize ?? 0) > 255)) {
              throw new ElfError(`bitfield offset ${member.bitOffset} or size ${member.bitSize} out of range`);
            }
            const offset = bitfields ? (((member.bitSize ?? 0) << 24) | member.bitOffset) >>> 0 : member.bitOffset;
            const m = at + 3 + 3 * index;
            words[m] = this.name(member.name);
            words[m + 1] = this.add(member.type);
            words[m + 2] = offset;
          } catch (error) {
            rethrowIn(`${type.kind} ${type.name || "(anon)"}: member ${member.name || index}`, error);
          }
        }
        return id;
      }
      case "enum": {
        words.push(this.name(type.name), info(BtfKind.enum, type.values.length, type.signed), type.size);
        for (const entry of type.values) words.push(this.name(entry.name), entry.value >>> 0);
        return ++this.count;
      }
      case "enum64": {
        words.push(this.name(type.name), info(BtfKind.enum64, type.values.length, type.signed), type.size);
        for (const entry of type.values) {
          const bits = BigInt.asUintN(64, entry.value);
          words.push(this.name(entry.name), Number(bits & 0xffffffffn), Number(bits >> 32n));
        }
        return ++this.count;
      }
      case "func": {
        const at = this.reserve(3);
        const id = this.count;
        this.byIdentity.set(type, id);
        let proto: number;
        try {
          proto = this.add(type.proto);
        } catch (error) {
          rethrowIn(`func ${type.name}`, error);
        }
        words[at] = this.name(type.name);
        words[at + 1] = info(BtfKind.func, linkageCode[type.linkage]);
        words[at + 2] = proto;
        return id;
      }
      case "var": {
        const at = this.reserve(4);
        const id = this.count;
        this.byIdentity.set(type, id);
        let target: number;
        try {
          target = this.add(type.type);
        } catch (error) {
          rethrowIn(`var ${type.name}`, error);
        }
        words[at] = this.name(type.name);
        words[at + 1] = info(BtfKind.var);
        words[at + 2] = target;
        words[at + 3] = linkageCode[type.linkage];
        return id;
      }
      case "datasec": {
        const vars = type.vars;
        const at = this.reserve(3 + 3 * vars.length);
        const id = this.count;
        this.byIdentity.set(type, id);
        words[at] = this.name(type.name);
        words[at + 1] = info(BtfKind.datasec, vars.length);
        words[at + 2] = type.size;
        for (let index = 0; index < vars.length; index++) {
          const entry = vars[index]!;
          const v = at + 3 + 3 * index;
          try {
            words[v] = this.add(entry.var);
          } catch (error) {
            rethrowIn(`datasec ${type.name}`, error);
          }
          words[v + 1] = entry.offset;
          words[v + 2] = entry.size;
        }
        return id;
      }
      case "decl_tag": {
        const at = this.reserve(4);
        const id = this.count;
        this.byIdentity.set(type, id);
        const target = this.add(type.target);
        words[at] = this.name(type.name);
        words[at + 1] = info(BtfKind.decl_tag);
        words[at + 2] = target;
        words[at + 3] = type.componentIdx >>> 0;
        return id;
      }
      default:
        return assertNever(type, "BTF kind");
    }
  }
}

/** Structural records: a field's value to the map of the next field, or at the last field to the id. */
type KeyMap = Map<string | number, KeyMap | number>;

/** The map of the next field under `field` (made when first asked for). */
function inner(map: KeyMap, field: string | number): KeyMap {
  let next = map.get(field) as KeyMap | undefined;
  if (next === undefined) map.set(field, (next = new Map()));
  return next;
}

/** The structural tries: one per kind, a record's kind being its first field. */
const Group = { int: 0, float: 1, fwd: 2, ptr: 3, const: 4, volatile: 5, restrict: 6, typedef: 7, typeTag: 8, array: 9, proto: 10 } as const;
const GROUP_OF = { ptr: Group.ptr, const: Group.const, volatile: Group.volatile, restrict: Group.restrict, typedef: Group.typedef, type_tag: Group.typeTag } as const;

/** A type record's info word: kind flag, kind and vlen. */
function info(kind: number, vlen = 0, kindFlag = false): number {
  return ((kindFlag ? 1 : 0) << 31) | (kind << 24) | (vlen & 0xffff);
}

/** Whether a type of `kind` refers to other types before it has an id (derived and function prototype types). */
function refersBeforeId(kind: BtfType["kind"]): boolean {
  switch (kind) {
    case "ptr":
    case "const":
    case "volatile":
    case "restrict":
    case "typedef":
    case "type_tag":
    case "array":
    case "func_proto":
      return true;
    default:
      return false;
  }
}

/** vlen is 16 bits wide; reject lists that would silently wrap. */
function checkCount(type: BtfType): void {
  const count =
    type.kind === "struct" || type.kind === "union"
      ? type.members.length
      : type.kind === "enum" || type.kind === "enum64"
        ? type.values.length
        : type.kind === "func_proto"
          ? type.params.length
          : type.kind === "datasec"
            ? type.vars.length
            : 0;
  if (count > 0xffff) throw new ElfError(`BTF: ${describeBtfType(type)} has ${count} entries (max 65535)`);
}

/** Encodes a list of root types into a standalone `.BTF` blob; returns the blob and each root's id. */
export function encodeBtf(roots: readonly BtfType[]): { bytes: Uint8Array; ids: number[] } {
  const builder = new BtfBuilder();
  const ids = roots.map((root, index) => withContext(() => `BTF root ${index}`, () => builder.add(root)));
  return { bytes: builder.finish(), ids };
}
