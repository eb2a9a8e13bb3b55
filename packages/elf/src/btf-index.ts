// A lazily decoded BTF blob, for big type graphs such as the kernel's
// (/sys/kernel/btf/vmlinux: ~130,000 types, 5 MB; decoding it whole with decodeBtf
// takes about a second, while a compiler resolving `struct task_struct` or a loader
// relocating a dozen fields touches a few hundred types).
//
// Construction makes one pass over the type section, recording each record's offset
// (a Uint32Array indexed by id) and checking that the records tile the section. A type
// object is created on first request; its references (a pointer's target, a member's
// type, ...) are getters that ask the index in turn, so reaching one struct decodes
// that struct and not the graph behind it. Objects are cached per id, so identity holds
// (`index.type(7) === index.type(7)`) and cycles need no special care. The name index
// (name → ids) is built on the first lookup by name.
//
// The objects are the BtfType model of btf-types.ts and can be handed to the encoder
// (which reads them like any other) — but they are views: do not mutate them.

import { ByteReader, utf8 } from "./bytes.js";
import { BTF_HEADER_SIZE, BTF_MAGIC, BtfIntEncoding, BtfKind, btfRecordExtraSize } from "./constants.js";
import { ElfError, withContext } from "./errors.js";
import { parseElf } from "./elf-file.js";
import {
  btfVoid,
  type BtfDatasecEntry,
  type BtfLinkage,
  type BtfMember,
  type BtfParam,
  type BtfType,
} from "./btf-types.js";

const linkages: readonly BtfLinkage[] = ["static", "global", "extern"];

/** BTF_KIND_* number → the model's `kind`. */
const KIND_NAMES: Readonly<Record<number, BtfType["kind"]>> = {
  [BtfKind.int]: "int",
  [BtfKind.ptr]: "ptr",
  [BtfKind.array]: "array",
  [BtfKind.struct]: "struct",
  [BtfKind.union]: "union",
  [BtfKind.enum]: "enum",
  [BtfKind.fwd]: "fwd",
  [BtfKind.typedef]: "typedef",
  [BtfKind.volatile]: "volatile",
  [BtfKind.const]: "const",
  [BtfKind.restrict]: "restrict",
  [BtfKind.func]: "func",
  [BtfKind.func_proto]: "func_proto",
  [BtfKind.var]: "var",
  [BtfKind.datasec]: "datasec",
  [BtfKind.float]: "float",
  [BtfKind.decl_tag]: "decl_tag",
  [BtfKind.type_tag]: "type_tag",
  [BtfKind.enum64]: "enum64",
};

/** `btfRecordExtraSize` as two tables indexed by kind (fixed part, bytes per vlen entry; -1: unknown kind), for the scan loop. */
const FIXED_BYTES = new Int32Array(32);
const MEMBER_BYTES = new Int32Array(32).fill(-1);
for (let kind = 1; kind < 32; kind++) {
  const fixed = btfRecordExtraSize(kind, 0);
  if (fixed === undefined) continue;
  FIXED_BYTES[kind] = fixed;
  MEMBER_BYTES[kind] = btfRecordExtraSize(kind, 1)! - fixed;
}

/** A type found by name: its id in the index and the type. */
export interface BtfEntry<T extends BtfType = BtfType> {
  readonly id: number;
  readonly type: T;
}

/** The variant of BtfType whose `kind` admits K (struct and union share BtfComposite). */
type KindOf<K extends BtfType["kind"], T extends BtfType = BtfType> = T extends BtfType ? (K extends T["kind"] ? T : never) : never;

/** A BTF blob decoded on demand. */
export class BtfIndex {
  /** Number of type ids, void (id 0) included: valid ids are 0 .. count-1. */
  readonly count: number;
  private readonly reader: ByteReader;
  private readonly strings: ByteReader;
  private readonly stringLength: number;
  /** offsets[id] = byte offset of the record of type `id` (offsets[0] unused). */
  private readonly offsets: Uint32Array;
  private readonly cache: (BtfType | undefined)[];
  /** nameOffsets[id] = string offset of the name of type `id`. */
  private readonly nameOffsets: Uint32Array;
  private readonly idsOf = new Map<BtfType, number>();

  /**
   * Indexes a `.BTF` blob (a raw BTF file such as /sys/kernel/btf/vmlinux, or the
   * contents of an object's `.BTF` section). Throws ElfError on a malformed header or a
   * record that runs past the type section; records are otherwise checked when decoded.
   */
  constructor(bytes: Uint8Array) {
    const reader = new ByteReader(bytes, ".BTF");
    if (reader.length < BTF_HEADER_SIZE || reader.u16(0) !== BTF_MAGIC) {
      throw new ElfError(`.BTF: bad magic${reader.length >= 2 ? ` 0x${reader.u16(0).toString(16)}` : ""}`);
    }
    const headerLength = reader.u32(4);
    if (headerLength < BTF_HEADER_SIZE) throw new ElfError(`.BTF: header length ${headerLength} too small`);
    const typeStart = headerLength + reader.u32(8);
    const typeLength = reader.u32(12);
    const stringStart = headerLength + reader.u32(16);
    this.stringLength = reader.u32(20);
    reader.check(typeStart, typeLength);
    reader.check(stringStart, this.stringLength);
    this.reader = reader;
    this.strings = new ByteReader(bytes.subarray(stringStart, stringStart + this.stringLength), ".BTF strings");
    // One pass over the records with a word view (records are multiples of 4 bytes; the
    // section is copied when it is not 4-byte aligned in memory).
    const typeBytes = bytes.subarray(typeStart, typeStart + typeLength);
    const aligned = typeBytes.byteOffset % 4 === 0 ? typeBytes : typeBytes.slice();
    const words = new Uint32Array(aligned.buffer, aligned.byteOffset, Math.floor(typeLength / 4));
    const capacity = Math.floor(typeLength / 12) + 1;
    const offsets = new Uint32Array(capacity);
    const nameOffsets = new Uint32Array(capacity);
    let count = 1;
    for (let word = 0; word * 4 < typeLength; count++) {
      if (word * 4 + 12 > typeLength) throw new ElfError(`.BTF: type ${count}: record runs past the type section`);
      const info = words[word + 1]!;
      const kind = (info >>> 24) & 0x1f;
      const perMember = MEMBER_BYTES[kind]!;
      if (perMember < 0) throw new ElfError(`.BTF: type ${count}: unknown BTF kind ${kind}`);
      const size = 12 + FIXED_BYTES[kind]! + perMember * (info & 0xffff);
      if (word * 4 + size > typeLength) throw new ElfError(`.BTF: type ${count}: record runs past the type section`);
      offsets[count] = typeStart + word * 4;
      nameOffsets[count] = words[word]!;
      word += size / 4;
    }
    if (typeLength % 4 !== 0) throw new ElfError(`.BTF: type section length ${typeLength} is not a multiple of 4`);
    this.offsets = offsets.subarray(0, count);
    this.nameOffsets = nameOffsets.subarray(0, count);
    this.count = count;
    this.cache = new Array<BtfType | undefined>(this.count);
    this.cache[0] = btfVoid;
  }

  /** The string at `offset` of the string section ("" for 0). */
  stringAt(offset: number): string {
    if (offset === 0) return "";
    if (offset >= this.stringLength) {
      throw new ElfError(`string offset ${offset} outside string section (${this.stringLength})`);
    }
    return this.strings.cString(offset);
  }

  /** The kind of type `id`, without decoding it. */
  kindAt(id: number): BtfType["kind"] {
    if (id === 0) return "void";
    const kind = (this.reader.u32(this.recordOffset(id) + 4) >>> 24) & 0x1f;
    return KIND_NAMES[kind]!;
  }

  /** The name of type `id` ("" for anonymous types), without decoding it. */
  nameAt(id: number): string {
    if (id === 0) return "";
    this.recordOffset(id);
    return this.stringAt(this.nameOffsets[id]!);
  }

  /** Type `id` (0 is void). Throws ElfError for an id out of range or a malformed record. */
  type(id: number): BtfType {
    const cached = this.cache[id];
    if (cached !== undefined) return cached;
    const type = withContext(`.BTF: type ${id}`, () => this.decode(id));
    this.cache[id] = type;
    this.idsOf.set(type, id);
    return type;
  }

  /** The id of a type this index returned, or undefined for any other object. */
  idOf(type: BtfType): number | undefined {
    if (type.kind === "void") return 0;
    return this.idsOf.get(type);
  }

  /** Every type named `name` of kind `kind` (a name may be used by several types: `struct x` and `typedef x`). */
  findAll<K extends BtfType["kind"]>(kind: K, name: string): BtfEntry<KindOf<K>>[] {
    return this.idsNamed(name)
      .filter((id) => this.kindAt(id) === kind)
      .map((id) => ({ id, type: this.type(id) as KindOf<K> }));
  }

  /** The first type named `name` of kind `kind`, or undefined. */
  find<K extends BtfType["kind"]>(kind: K, name: string): BtfEntry<KindOf<K>> | undefined {
    for (const id of this.idsNamed(name)) {
      if (this.kindAt(id) === kind) return { id, type: this.type(id) as KindOf<K> };
    }
    return undefined;
  }

  /**
   * Ids of every type whose name is `name`, any kind, in id order. Cost: a search of the
   * string section for the name's bytes and a scan of the ids' name offsets (a few
   * milliseconds on vmlinux), so no name table is ever built; the answer is remembered per
   * name (an index kept for a process — the kernel's, by the command's driver — is asked for
   * the same few names by every compile).
   */
  idsNamed(name: string): number[] {
    if (name === "") return [];
    let ids = this.named.get(name);
    if (ids === undefined) this.named.set(name, (ids = this.searchName(name)));
    return ids.slice();
  }
  private readonly named = new Map<string, readonly number[]>();

  private searchName(name: string): number[] {
    const wanted = new Set<number>();
    const needle = utf8(name);
    const haystack = this.stringBuffer();
    for (let at = indexOfBytes(haystack, needle, 1); at >= 0; at = indexOfBytes(haystack, needle, at + 1)) {
      if (haystack[at - 1] === 0 && haystack[at + needle.length] === 0) wanted.add(at);
    }
    return this.idsWithNameOffsets(wanted);
  }

  private idsWithNameOffsets(offsets: ReadonlySet<number>): number[] {
    const ids: number[] = [];
    const nameOffsets = this.nameOffsets;
    for (const offset of offsets) {
      for (let id = nameOffsets.indexOf(offset, 1); id >= 0; id = nameOffsets.indexOf(offset, id + 1)) ids.push(id);
    }
    return ids.sort((a, b) => a - b);
  }

  /**
   * Ids of every type whose *essential* name is `essential`: the name itself or the name
   * followed by a `___flavour` suffix (`task_struct___v2`), as libbpf's CO-RE candidate
   * search compares names. In id order.
   */
  idsWithEssentialName(essential: string): number[] {
    if (essential === "") return [];
    const wanted = new Set<number>();
    const needle = utf8(essential);
    const haystack = this.stringBuffer();
    const end = needle.length;
    for (let at = indexOfBytes(haystack, needle, 1); at >= 0; at = indexOfBytes(haystack, needle, at + 1)) {
      if (haystack[at - 1] !== 0) continue;
      const after = haystack[at + end];
      const flavoured = after === 0x5f && haystack[at + end + 1] === 0x5f && haystack[at + end + 2] === 0x5f;
      if (after === 0 || flavoured) wanted.add(at);
    }
    return this.idsWithNameOffsets(wanted);
  }

  /** Ids of every type of kind `kind`, in id order (reads each record's kind, decodes nothing). */
  idsOfKind(kind: BtfType["kind"]): number[] {
    const ids: number[] = [];
    for (let id = 1; id < this.count; id++) if (this.kindAt(id) === kind) ids.push(id);
    return ids;
  }

  /** The names of every type of kind `kind` (for "did you mean" messages; decodes every such name). */
  namesOfKind(kind: BtfType["kind"]): string[] {
    const out = new Set<string>();
    for (let id = 1; id < this.count; id++) {
      if (this.nameOffsets[id] !== 0 && this.kindAt(id) === kind) out.add(this.nameAt(id));
    }
    return [...out];
  }

  private stringBuffer(): Uint8Array {
    const bytes = this.strings.bytes;
    return typeof Buffer !== "undefined" ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes;
  }

  private recordOffset(id: number): number {
    if (!Number.isInteger(id) || id <= 0 || id >= this.count) {
      throw new ElfError(`reference to type ${id}, but there are ${this.count - 1} types`);
    }
    return this.offsets[id]!;
  }

  /** Creates the object of type `id`; references are getters that decode on first use. */
  private decode(id: number): BtfType {
    const reader = this.reader;
    const at = this.recordOffset(id);
    const name = this.stringAt(reader.u32(at));
    const info = reader.u32(at + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kindFlag = info >>> 31 === 1;
    const sizeOrType = reader.u32(at + 8);
    const extra = at + 12;
    const ref = (target: number): (() => BtfType) => {
      this.recordOffsetOrVoid(target);
      return () => this.type(target);
    };
    switch (kind) {
      case BtfKind.int: {
        const encoding = reader.u32(extra) >>> 24;
        return {
          kind: "int",
          name,
          size: sizeOrType,
          signed: (encoding & BtfIntEncoding.signed) !== 0,
          ...((encoding & BtfIntEncoding.char) !== 0 ? { char: true } : {}),
          ...((encoding & BtfIntEncoding.bool) !== 0 ? { bool: true } : {}),
        };
      }
      case BtfKind.float:
        return { kind: "float", name, size: sizeOrType };
      case BtfKind.ptr:
        return lazy({ kind: "ptr" }, "target", ref(sizeOrType)) as BtfType;
      case BtfKind.typedef:
        return lazy({ kind: "typedef", name }, "target", ref(sizeOrType)) as BtfType;
      case BtfKind.type_tag:
        return lazy({ kind: "type_tag", name }, "target", ref(sizeOrType)) as BtfType;
      case BtfKind.const:
      case BtfKind.volatile:
      case BtfKind.restrict:
        return lazy({ kind: KIND_NAMES[kind] }, "target", ref(sizeOrType)) as BtfType;
      case BtfKind.array: {
        ref(reader.u32(extra + 4)); // index type: validated, not kept
        return lazy({ kind: "array", count: reader.u32(extra + 8) }, "elem", ref(reader.u32(extra))) as BtfType;
      }
      case BtfKind.struct:
      case BtfKind.union: {
        const members: BtfMember[] = [];
        for (let index = 0; index < vlen; index++) {
          const base = extra + 12 * index;
          const offset = reader.u32(base + 8);
          const bitSize = kindFlag ? offset >>> 24 : 0;
          const member = { name: this.stringAt(reader.u32(base)), bitOffset: kindFlag ? offset & 0xffffff : offset };
          members.push(lazy(bitSize !== 0 ? { ...member, bitSize } : member, "type", ref(reader.u32(base + 4))) as BtfMember);
        }
        return { kind: kind === BtfKind.struct ? "struct" : "union", name, size: sizeOrType, members };
      }
      case BtfKind.enum: {
        const values: { name: string; value: number }[] = [];
        for (let index = 0; index < vlen; index++) {
          const base = extra + 8 * index;
          values.push({ name: this.stringAt(reader.u32(base)), value: kindFlag ? reader.i32(base + 4) : reader.u32(base + 4) });
        }
        return { kind: "enum", name, size: sizeOrType, signed: kindFlag, values };
      }
      case BtfKind.enum64: {
        const values: { name: string; value: bigint }[] = [];
        for (let index = 0; index < vlen; index++) {
          const base = extra + 12 * index;
          const bits = (BigInt(reader.u32(base + 8)) << 32n) | BigInt(reader.u32(base + 4));
          values.push({ name: this.stringAt(reader.u32(base)), value: kindFlag ? BigInt.asIntN(64, bits) : bits });
        }
        return { kind: "enum64", name, size: sizeOrType, signed: kindFlag, values };
      }
      case BtfKind.fwd:
        return { kind: "fwd", name, union: kindFlag };
      case BtfKind.func_proto: {
        const params: BtfParam[] = [];
        for (let index = 0; index < vlen; index++) {
          const base = extra + 8 * index;
          params.push(lazy({ name: this.stringAt(reader.u32(base)) }, "type", ref(reader.u32(base + 4))) as BtfParam);
        }
        return lazy({ kind: "func_proto", params }, "ret", ref(sizeOrType)) as BtfType;
      }
      case BtfKind.func: {
        if (this.kindAt(sizeOrType) !== "func_proto") {
          throw new ElfError(`func ${name}: prototype is a ${this.kindAt(sizeOrType)}`);
        }
        return lazy({ kind: "func", name, linkage: linkageOf(vlen) }, "proto", ref(sizeOrType)) as BtfType;
      }
      case BtfKind.var:
        return lazy({ kind: "var", name, linkage: linkageOf(reader.u32(extra)) }, "type", ref(sizeOrType)) as BtfType;
      case BtfKind.datasec: {
        const vars: BtfDatasecEntry[] = [];
        for (let index = 0; index < vlen; index++) {
          const base = extra + 12 * index;
          vars.push(lazy({ offset: reader.u32(base + 4), size: reader.u32(base + 8) }, "var", ref(reader.u32(base))) as BtfDatasecEntry);
        }
        return { kind: "datasec", name, size: sizeOrType, vars };
      }
      case BtfKind.decl_tag:
        return lazy({ kind: "decl_tag", name, componentIdx: reader.i32(extra) }, "target", ref(sizeOrType)) as BtfType;
      default:
        throw new ElfError(`unknown BTF kind ${kind}`);
    }
  }

  private recordOffsetOrVoid(id: number): void {
    if (id !== 0) this.recordOffset(id);
  }
}

/** Defines `object[key]` as a getter computing `get()` once (then a plain, enumerable value). */
function lazy<T extends object>(object: T, key: string, get: () => BtfType): T {
  Object.defineProperty(object, key, {
    configurable: true,
    enumerable: true,
    get() {
      const value = get();
      Object.defineProperty(object, key, { value, enumerable: true, writable: false, configurable: false });
      return value;
    },
  });
  return object;
}

function linkageOf(code: number): BtfLinkage {
  const value = linkages[code];
  if (value === undefined) throw new ElfError(`unknown linkage ${code}`);
  return value;
}

/**
 * Indexes the BTF of a file's contents: a raw BTF blob (what /sys/kernel/btf/vmlinux
 * holds, or `bpftool btf dump file X format raw` writes), or an ELF file with a `.BTF`
 * section (a vmlinux image, or an object compiled with `clang -g`).
 *
 * @throws ElfError when the bytes are neither, or the BTF is malformed
 */
export function readBtfFile(bytes: Uint8Array, what = "BTF file"): BtfIndex {
  return withContext(what, () => {
    if (bytes.length >= 2 && bytes[0] === (BTF_MAGIC & 0xff) && bytes[1] === BTF_MAGIC >>> 8) return new BtfIndex(bytes);
    if (bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
      const section = parseElf(bytes).sections.find((candidate) => candidate.name === ".BTF");
      if (!section) throw new ElfError("ELF file has no .BTF section (compile with -g)");
      return new BtfIndex(section.data);
    }
    throw new ElfError("neither raw BTF (magic 0xeb9f) nor an ELF file");
  });
}

/** The first index >= `from` where `needle` occurs in `haystack`, or -1 (Node's native search for a Buffer). */
function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  if (typeof Buffer !== "undefined" && Buffer.isBuffer(haystack)) return haystack.indexOf(needle, from);
  outer: for (let at = from; at + needle.length <= haystack.length; at++) {
    for (let k = 0; k < needle.length; k++) if (haystack[at + k] !== needle[k]) continue outer;
    return at;
  }
  return -1;
}
