// BTF encoder: turns the object graph of btf-types.ts into the `.BTF` section
// (header, type records, string table). Type ids are assigned in depth-first order
// of `add` calls, so the same sequence of calls always yields the same bytes.
//
// Deduplication: leaf and derived types (int, float, fwd, ptr, array, qualifiers,
// typedefs, func_proto) are deduplicated structurally by a key built from their
// fields and their children's ids, so `u32 *` built twice is one record. Aggregates
// (struct/union/enum) and the named entities (func, var, datasec, decl_tag) are
// deduplicated by object identity only and reserve their id before visiting their
// members, which is what lets cycles through a struct terminate. A cycle that does
// not pass through a reserved type (only possible for malformed input) is reported.

import { ByteWriter, StringTable } from "./bytes.js";
import { BTF_HEADER_SIZE, BTF_MAGIC, BTF_VERSION, BtfIntEncoding, BtfKind } from "./constants.js";
import { ElfError, assertNever, withContext } from "./errors.js";
import { describeBtfType, type BtfLinkage, type BtfType } from "./btf-types.js";

/** Index type clang uses for BTF arrays. */
const arrayIndexType: BtfType = { kind: "int", name: "__ARRAY_SIZE_TYPE__", size: 4, signed: false };

const linkageCode: Record<BtfLinkage, number> = { static: 0, global: 1, extern: 2 };

/** Incrementally builds one `.BTF` blob. */
export class BtfBuilder {
  readonly strings = new StringTable();
  /** records[id - 1] = the u32 words of type `id`. */
  private readonly records: number[][] = [];
  private readonly byIdentity = new Map<BtfType, number>();
  private readonly byStructure = new Map<string, number>();
  private readonly visiting = new Set<BtfType>();

  /** Number of types added (the largest id). */
  get typeCount(): number {
    return this.records.length;
  }

  /** Adds `type` (and everything it references) and returns its type id. */
  add(type: BtfType): number {
    if (type.kind === "void") return 0;
    const known = this.byIdentity.get(type);
    if (known !== undefined) return known;
    if (this.visiting.has(type)) {
      throw new ElfError(`BTF: cycle through ${describeBtfType(type)} without a struct or union`);
    }
    this.visiting.add(type);
    try {
      const id = this.encode(type);
      this.byIdentity.set(type, id);
      return id;
    } finally {
      this.visiting.delete(type);
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
    let words = 0;
    for (const record of this.records) words += record.length;
    const types = new ByteWriter(words * 4);
    for (const record of this.records) for (const word of record) types.u32(word);
    const typeBytes = types.finish();
    const stringBytes = this.strings.finish();
    return new ByteWriter(BTF_HEADER_SIZE + typeBytes.length + stringBytes.length)
      .u16(BTF_MAGIC)
      .u8(BTF_VERSION)
      .u8(0) // flags
      .u32(BTF_HEADER_SIZE)
      .u32(0) // type_off, relative to the end of the header
      .u32(typeBytes.length)
      .u32(typeBytes.length) // str_off
      .u32(stringBytes.length)
      .bytes(typeBytes)
      .bytes(stringBytes)
      .finish();
  }

  private reserve(): number {
    this.records.push([]);
    return this.records.length;
  }

  private structural(key: string, words: () => number[]): number {
    const known = this.byStructure.get(key);
    if (known !== undefined) return known;
    const record = words();
    this.records.push(record);
    const id = this.records.length;
    this.byStructure.set(key, id);
    return id;
  }

  private name(text: string): number {
    return this.strings.add(text);
  }

  private encode(type: Exclude<BtfType, { kind: "void" }>): number {
    const info = (kind: number, vlen = 0, kindFlag = false) =>
      ((kindFlag ? 1 : 0) << 31) | (kind << 24) | (vlen & 0xffff);
    checkCount(type);
    switch (type.kind) {
      case "int": {
        const encoding =
          (type.signed ? BtfIntEncoding.signed : 0) |
          (type.char ? BtfIntEncoding.char : 0) |
          (type.bool ? BtfIntEncoding.bool : 0);
        if (![1, 2, 4, 8, 16].includes(type.size)) throw new ElfError(`BTF: int ${type.name} has size ${type.size}`);
        return this.structural(`int:${type.name}:${type.size}:${encoding}`, () => [
          this.name(type.name),
          info(BtfKind.int),
          type.size,
          (encoding << 24) | (type.size * 8),
        ]);
      }
      case "float":
        return this.structural(`float:${type.name}:${type.size}`, () => [
          this.name(type.name),
          info(BtfKind.float),
          type.size,
        ]);
      case "fwd":
        return this.structural(`fwd:${type.name}:${type.union}`, () => [
          this.name(type.name),
          info(BtfKind.fwd, 0, type.union),
          0,
        ]);
      case "ptr": {
        const target = this.add(type.target);
        return this.structural(`ptr:${target}`, () => [0, info(BtfKind.ptr), target]);
      }
      case "const":
      case "volatile":
      case "restrict": {
        const target = this.add(type.target);
        return this.structural(`${type.kind}:${target}`, () => [0, info(BtfKind[type.kind]), target]);
      }
      case "typedef":
      case "type_tag": {
        const target = this.add(type.target);
        return this.structural(`${type.kind}:${type.name}:${target}`, () => [
          this.name(type.name),
          info(BtfKind[type.kind]),
          target,
        ]);
      }
      case "array": {
        const elem = this.add(type.elem);
        const index = this.add(arrayIndexType);
        return this.structural(`array:${elem}:${type.count}`, () => [
          0,
          info(BtfKind.array),
          0,
          elem,
          index,
          type.count,
        ]);
      }
      case "func_proto": {
        const ret = this.add(type.ret);
        const params = type.params.map((param, index) =>
          withContext(() => `parameter ${index}`, () => [this.name(param.name), this.add(param.type)]),
        );
        const flat = params.flat();
        return this.structural(`proto:${ret}:${flat.join(",")}`, () => [
          0,
          info(BtfKind.func_proto, params.length),
          ret,
          ...flat,
        ]);
      }
      case "struct":
      case "union": {
        const id = this.reserve();
        this.byIdentity.set(type, id);
        const bitfields = type.members.some((member) => member.bitSize !== undefined && member.bitSize !== 0);
        const words = [this.name(type.name), info(BtfKind[type.kind], type.members.length, bitfields), type.size];
        type.members.forEach((member, index) =>
          withContext(() => `${type.kind} ${type.name || "(anon)"}: member ${member.name || index}`, () => {
            if (bitfields && (member.bitOffset >= 1 << 24 || (member.bitSize ?? 0) > 255)) {
              throw new ElfError(`bitfield offset ${member.bitOffset} or size ${member.bitSize} out of range`);
            }
            const offset = bitfields ? (((member.bitSize ?? 0) << 24) | member.bitOffset) >>> 0 : member.bitOffset;
            words.push(this.name(member.name), this.add(member.type), offset);
          }),
        );
        this.records[id - 1] = words;
        return id;
      }
      case "enum": {
        const id = this.reserve();
        const words = [this.name(type.name), info(BtfKind.enum, type.values.length, type.signed), type.size];
        for (const entry of type.values) words.push(this.name(entry.name), entry.value >>> 0);
        this.records[id - 1] = words;
        return id;
      }
      case "enum64": {
        const id = this.reserve();
        const words = [this.name(type.name), info(BtfKind.enum64, type.values.length, type.signed), type.size];
        for (const entry of type.values) {
          const bits = BigInt.asUintN(64, entry.value);
          words.push(this.name(entry.name), Number(bits & 0xffffffffn), Number(bits >> 32n));
        }
        this.records[id - 1] = words;
        return id;
      }
      case "func": {
        const id = this.reserve();
        this.byIdentity.set(type, id);
        const proto = withContext(() => `func ${type.name}`, () => this.add(type.proto));
        this.records[id - 1] = [this.name(type.name), info(BtfKind.func, linkageCode[type.linkage]), proto];
        return id;
      }
      case "var": {
        const id = this.reserve();
        this.byIdentity.set(type, id);
        const target = withContext(() => `var ${type.name}`, () => this.add(type.type));
        this.records[id - 1] = [this.name(type.name), info(BtfKind.var), target, linkageCode[type.linkage]];
        return id;
      }
      case "datasec": {
        const id = this.reserve();
        this.byIdentity.set(type, id);
        const words = [this.name(type.name), info(BtfKind.datasec, type.vars.length), type.size];
        for (const entry of type.vars) {
          words.push(withContext(() => `datasec ${type.name}`, () => this.add(entry.var)), entry.offset, entry.size);
        }
        this.records[id - 1] = words;
        return id;
      }
      case "decl_tag": {
        const id = this.reserve();
        this.byIdentity.set(type, id);
        const target = this.add(type.target);
        this.records[id - 1] = [this.name(type.name), info(BtfKind.decl_tag), target, type.componentIdx >>> 0];
        return id;
      }
      default:
        return assertNever(type, "BTF kind");
    }
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
