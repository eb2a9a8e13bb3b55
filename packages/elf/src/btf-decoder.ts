// BTF decoder: `.BTF` bytes → the object graph of btf-types.ts, indexed by type id
// (types[0] is void). Two passes: the first reads every record into a raw form and
// creates one object per id, the second links references (ids) to those objects,
// so forward references and cycles need no special handling. Every id and string
// offset is bounds-checked; errors name the type id.

import { ByteReader } from "./bytes.js";
import { BTF_HEADER_SIZE, BTF_MAGIC, BtfIntEncoding, BtfKind, btfRecordExtraSize } from "./constants.js";
import { ElfError, assertNever, withContext } from "./errors.js";
import { btfVoid, type BtfLinkage, type BtfType } from "./btf-types.js";

/** Decoded `.BTF`: the types by id and the raw string section. */
export interface BtfTable {
  /** types[id]; types[0] is `void`. */
  types: BtfType[];
  /** String at an offset of the BTF string section. */
  stringAt(offset: number): string;
}

const linkages: readonly BtfLinkage[] = ["static", "global", "extern"];

interface RawType {
  kind: number;
  name: string;
  vlen: number;
  kindFlag: boolean;
  sizeOrType: number;
  /** Offset of the kind-specific data following the 12-byte common header. */
  extra: number;
}

/** Parses a `.BTF` blob. Throws ElfError (with the type id in the message) on malformed input. */
export function decodeBtf(bytes: Uint8Array): BtfTable {
  const reader = new ByteReader(bytes, ".BTF");
  if (reader.u16(0) !== BTF_MAGIC) throw new ElfError(`.BTF: bad magic 0x${reader.u16(0).toString(16)}`);
  const headerLength = reader.u32(4);
  if (headerLength < BTF_HEADER_SIZE) throw new ElfError(`.BTF: header length ${headerLength} too small`);
  const typeStart = headerLength + reader.u32(8);
  const typeLength = reader.u32(12);
  const stringStart = headerLength + reader.u32(16);
  const stringLength = reader.u32(20);
  reader.check(typeStart, typeLength);
  reader.check(stringStart, stringLength);
  const strings = new ByteReader(reader.slice(stringStart, stringLength), ".BTF strings");
  const stringAt = (offset: number): string => {
    if (offset === 0) return "";
    if (offset >= stringLength) throw new ElfError(`string offset ${offset} outside string section (${stringLength})`);
    return strings.cString(offset);
  };

  const raws: RawType[] = [];
  let offset = typeStart;
  const typeEnd = typeStart + typeLength;
  while (offset < typeEnd) {
    const id = raws.length + 1;
    const raw = withContext(`.BTF: type ${id}`, () => {
      const info = reader.u32(offset + 4);
      const entry: RawType = {
        kind: (info >>> 24) & 0x1f,
        vlen: info & 0xffff,
        kindFlag: info >>> 31 === 1,
        name: stringAt(reader.u32(offset)),
        sizeOrType: reader.u32(offset + 8),
        extra: offset + 12,
      };
      const size = 12 + extraSize(entry);
      if (offset + size > typeEnd) throw new ElfError("record runs past the type section");
      reader.check(offset, size);
      offset += size;
      return entry;
    });
    raws.push(raw);
  }

  const types: BtfType[] = [btfVoid, ...raws.map((raw) => shell(raw))];
  const ref = (id: number): BtfType => {
    const type = types[id];
    if (type === undefined) throw new ElfError(`reference to type ${id}, but there are ${raws.length} types`);
    return type;
  };
  raws.forEach((raw, index) =>
    withContext(`.BTF: type ${index + 1}`, () => link(types[index + 1]!, raw, reader, ref, stringAt)),
  );
  return { types, stringAt };
}

function extraSize(raw: RawType): number {
  const size = btfRecordExtraSize(raw.kind, raw.vlen);
  if (size === undefined) throw new ElfError(`unknown BTF kind ${raw.kind}`);
  return size;
}

/** Creates the object for one record with placeholder references (filled by `link`). */
function shell(raw: RawType): BtfType {
  switch (raw.kind) {
    case BtfKind.int:
      return { kind: "int", name: raw.name, size: raw.sizeOrType, signed: false };
    case BtfKind.float:
      return { kind: "float", name: raw.name, size: raw.sizeOrType };
    case BtfKind.ptr:
      return { kind: "ptr", target: btfVoid };
    case BtfKind.array:
      return { kind: "array", elem: btfVoid, count: 0 };
    case BtfKind.struct:
    case BtfKind.union:
      return {
        kind: raw.kind === BtfKind.struct ? "struct" : "union",
        name: raw.name,
        size: raw.sizeOrType,
        members: [],
      };
    case BtfKind.enum:
      return { kind: "enum", name: raw.name, size: raw.sizeOrType, signed: raw.kindFlag, values: [] };
    case BtfKind.enum64:
      return { kind: "enum64", name: raw.name, size: raw.sizeOrType, signed: raw.kindFlag, values: [] };
    case BtfKind.fwd:
      return { kind: "fwd", name: raw.name, union: raw.kindFlag };
    case BtfKind.typedef:
      return { kind: "typedef", name: raw.name, target: btfVoid };
    case BtfKind.type_tag:
      return { kind: "type_tag", name: raw.name, target: btfVoid };
    case BtfKind.const:
      return { kind: "const", target: btfVoid };
    case BtfKind.volatile:
      return { kind: "volatile", target: btfVoid };
    case BtfKind.restrict:
      return { kind: "restrict", target: btfVoid };
    case BtfKind.func_proto:
      return { kind: "func_proto", ret: btfVoid, params: [] };
    case BtfKind.func:
      return { kind: "func", name: raw.name, proto: btfVoid, linkage: "static" };
    case BtfKind.var:
      return { kind: "var", name: raw.name, type: btfVoid, linkage: "static" };
    case BtfKind.datasec:
      return { kind: "datasec", name: raw.name, size: raw.sizeOrType, vars: [] };
    case BtfKind.decl_tag:
      return { kind: "decl_tag", name: raw.name, target: btfVoid, componentIdx: -1 };
    default:
      throw new ElfError(`unknown BTF kind ${raw.kind}`);
  }
}

function linkage(code: number): BtfLinkage {
  const value = linkages[code];
  if (value === undefined) throw new ElfError(`unknown linkage ${code}`);
  return value;
}

/** Fills in the references and the variable-length parts of `type`. */
function link(
  type: BtfType,
  raw: RawType,
  reader: ByteReader,
  ref: (id: number) => BtfType,
  stringAt: (offset: number) => string,
): void {
  const at = raw.extra;
  switch (type.kind) {
    case "int": {
      const word = reader.u32(at);
      const encoding = word >>> 24;
      type.signed = (encoding & BtfIntEncoding.signed) !== 0;
      if (encoding & BtfIntEncoding.char) type.char = true;
      if (encoding & BtfIntEncoding.bool) type.bool = true;
      return;
    }
    case "ptr":
    case "const":
    case "volatile":
    case "restrict":
    case "typedef":
    case "type_tag":
      type.target = ref(raw.sizeOrType);
      return;
    case "array":
      type.elem = ref(reader.u32(at));
      ref(reader.u32(at + 4)); // index type: validated, not kept
      type.count = reader.u32(at + 8);
      return;
    case "struct":
    case "union":
      for (let index = 0; index < raw.vlen; index++) {
        const base = at + 12 * index;
        const offset = reader.u32(base + 8);
        const member = {
          name: stringAt(reader.u32(base)),
          type: ref(reader.u32(base + 4)),
          bitOffset: raw.kindFlag ? offset & 0xffffff : offset,
        };
        const bitSize = raw.kindFlag ? offset >>> 24 : 0;
        type.members.push(bitSize !== 0 ? { ...member, bitSize } : member);
      }
      return;
    case "enum":
      for (let index = 0; index < raw.vlen; index++) {
        const base = at + 8 * index;
        const value = raw.kindFlag ? reader.i32(base + 4) : reader.u32(base + 4);
        type.values.push({ name: stringAt(reader.u32(base)), value });
      }
      return;
    case "enum64":
      for (let index = 0; index < raw.vlen; index++) {
        const base = at + 12 * index;
        const bits = (BigInt(reader.u32(base + 8)) << 32n) | BigInt(reader.u32(base + 4));
        type.values.push({ name: stringAt(reader.u32(base)), value: raw.kindFlag ? BigInt.asIntN(64, bits) : bits });
      }
      return;
    case "func_proto":
      type.ret = ref(raw.sizeOrType);
      for (let index = 0; index < raw.vlen; index++) {
        const base = at + 8 * index;
        type.params.push({ name: stringAt(reader.u32(base)), type: ref(reader.u32(base + 4)) });
      }
      return;
    case "func":
      type.proto = ref(raw.sizeOrType);
      type.linkage = linkage(raw.vlen);
      if (type.proto.kind !== "func_proto") throw new ElfError(`func ${type.name}: prototype is a ${type.proto.kind}`);
      return;
    case "var":
      type.type = ref(raw.sizeOrType);
      type.linkage = linkage(reader.u32(at));
      return;
    case "datasec":
      for (let index = 0; index < raw.vlen; index++) {
        const base = at + 12 * index;
        type.vars.push({ var: ref(reader.u32(base)), offset: reader.u32(base + 4), size: reader.u32(base + 8) });
      }
      return;
    case "decl_tag":
      type.target = ref(raw.sizeOrType);
      type.componentIdx = reader.i32(at);
      return;
    case "void":
    case "float":
    case "fwd":
      return;
    default:
      assertNever(type, "BTF kind");
  }
}
