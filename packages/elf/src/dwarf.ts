// DWARF 4 debug information for eBPF objects: `.debug_line` (the line table, from the
// programs' line records) and `.debug_info` + `.debug_abbrev` + `.debug_str` (one
// compile unit per code section, a subprogram per program with its parameters, and the
// types they mention, translated from the BTF type model so BTF and DWARF cannot
// disagree). This is what `llvm-objdump -S`/`-l`, `llvm-dwarfdump` and `llvm-symbolizer`
// read; libbpf and the kernel ignore it (they read `.BTF` and `.BTF.ext`).
//
// Layout choices, for the simplest tables that every DWARF reader accepts:
// - DWARF 4, 32-bit format, 8-byte addresses.
// - One compile unit for the object, as clang emits for one source file, with one
//   line-number program holding one sequence per code section. Every code section starts
//   at address 0 in a relocatable object and only relocations tell the sections apart,
//   so one unit per section would not do: tools find the unit of an address from unit
//   address ranges without looking at sections (llvm-objdump -S then shows the first
//   section's lines only). With several code sections the unit's ranges are a
//   `.debug_ranges` list (DW_AT_low_pc 0 as the base); with one, DW_AT_low_pc/high_pc.
// - Addresses (DW_AT_low_pc, DW_LNE_set_address) hold the section offset and carry an
//   R_BPF_64_ABS64 relocation against the code section's symbol; section offsets into
//   .debug_abbrev/.debug_str/.debug_line carry R_BPF_64_ABS32 against theirs (as clang
//   emits them; the implicit addend is the value in place).
// - The line program uses only standard opcodes (advance_pc, advance_line, set_column,
//   set_file, copy): larger than special opcodes, trivially correct.
// - No DW_AT_language: DWARF has no code for Lua, and claiming C would be false.
//
// References: DWARF Debugging Information Format Version 4 (2010), sections 6.2 (line
// number information) and 7 (data representation).

import { ByteWriter, StringTable } from "./bytes.js";
import { skipModifiers, type BtfType } from "./btf-types.js";
import { assertNever, ElfError } from "./errors.js";
import type { BpfObject, ObjectProgram } from "./object.js";

/** DWARF constants used here (DWARF 4, section 7). */
export const Dwarf = {
  version: 4,
  tag: {
    arrayType: 0x01,
    enumerationType: 0x04,
    formalParameter: 0x05,
    member: 0x0d,
    pointerType: 0x0f,
    compileUnit: 0x11,
    structureType: 0x13,
    subroutineType: 0x15,
    typedef: 0x16,
    unionType: 0x17,
    unspecifiedParameters: 0x18,
    subrangeType: 0x21,
    baseType: 0x24,
    constType: 0x26,
    enumerator: 0x28,
    subprogram: 0x2e,
    volatileType: 0x35,
    restrictType: 0x37,
  },
  at: {
    name: 0x03,
    byteSize: 0x0b,
    bitSize: 0x0d,
    stmtList: 0x10,
    lowPc: 0x11,
    highPc: 0x12,
    compDir: 0x1b,
    constValue: 0x1c,
    producer: 0x25,
    prototyped: 0x27,
    lowerBound: 0x22,
    count: 0x37,
    dataMemberLocation: 0x38,
    declColumn: 0x39,
    declFile: 0x3a,
    declLine: 0x3b,
    declaration: 0x3c,
    encoding: 0x3e,
    external: 0x3f,
    type: 0x49,
    ranges: 0x55,
    dataBitOffset: 0x6b,
  },
  form: {
    addr: 0x01,
    data1: 0x0b,
    data4: 0x06,
    sdata: 0x0d,
    strp: 0x0e,
    udata: 0x0f,
    ref4: 0x13,
    secOffset: 0x17,
    flagPresent: 0x19,
  },
  encoding: { boolean: 0x02, float: 0x04, signed: 0x05, signedChar: 0x06, unsigned: 0x07, unsignedChar: 0x08 },
  lns: { copy: 1, advancePc: 2, advanceLine: 3, setFile: 4, setColumn: 5 },
  lne: { endSequence: 1, setAddress: 2 },
} as const;

/** Standard opcode operand counts for opcode_base 13 (DWARF 4, 6.2.5.2). */
const STANDARD_OPCODE_LENGTHS = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];
const LINE_BASE = -5;
const LINE_RANGE = 14;
const OPCODE_BASE = 13;

/** A relocation inside a debug section: `offset` holds a value relative to `section`'s start. */
export interface DebugRelocation {
  offset: number;
  /** 32-bit section offset or 64-bit address. */
  size: 4 | 8;
  /** The section whose symbol the relocation names. */
  section: string;
}

/** One generated debug section. */
export interface DebugSection {
  name: (typeof DEBUG_SECTIONS)[number];
  data: Uint8Array;
  relocations: DebugRelocation[];
}

/** Options of {@link encodeDwarf}. */
export interface DwarfOptions {
  /** DW_AT_producer (default `"luabpf"`). */
  producer?: string;
  /** DW_AT_comp_dir: the directory relative file names are relative to. */
  compDir?: string;
}

/** A program placed in its code section. */
export interface PlacedProgram {
  program: ObjectProgram;
  /** Byte offset of its first instruction in the section. */
  start: number;
  /** The BTF prototype the writer emits for it (DWARF describes the same). */
  proto: BtfType;
}

// ---- LEB128 ----

function uleb(w: ByteWriter, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new ElfError(`DWARF: ULEB128 of ${value}`);
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    w.u8(byte);
  } while (v !== 0);
}

/** The length of `value` in ULEB128 (as {@link uleb} writes it). */
function ulebSize(value: number): number {
  let n = 1;
  for (let v = Math.floor(value / 128); v !== 0; v = Math.floor(v / 128)) n++;
  return n;
}

/** The length of `value` in SLEB128 (as {@link sleb} writes it). */
function slebSize(value: number | bigint): number {
  if (typeof value === "number" && Number.isSafeInteger(value)) {
    // Numbers (line advances, sizes) without BigInt: the same bytes for a safe integer.
    let v = value;
    for (let n = 1; ; n++) {
      const byte = v - Math.floor(v / 128) * 128;
      v = Math.floor(v / 128);
      if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) return n;
    }
  }
  let v = BigInt(value);
  for (let n = 1; ; n++) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0)) return n;
  }
}

function sleb(w: ByteWriter, value: number | bigint): void {
  if (typeof value === "number" && Number.isSafeInteger(value)) {
    // As below with floor division: v & 0x7f is v - 128·⌊v/128⌋ and v >> 7 is ⌊v/128⌋ for any integer.
    let v = value;
    for (;;) {
      const byte = v - Math.floor(v / 128) * 128;
      v = Math.floor(v / 128);
      const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
      w.u8(done ? byte : byte | 0x80);
      if (done) return;
    }
  }
  let v = BigInt(value);
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    w.u8(done ? byte : byte | 0x80);
    if (done) return;
  }
}

// ---- DIE trees ----

type AttrValue =
  | { form: "strp"; text: string }
  | { form: "udata" | "data1" | "data4"; value: number }
  | { form: "sdata"; value: number | bigint }
  | { form: "addr"; section: string; value: number }
  /** An address that needs no relocation (a unit's base address 0). */
  | { form: "data_addr"; value: number }
  | { form: "ref4"; die: Die }
  | { form: "sec_offset"; section: string; value: number }
  | { form: "flag_present" };

interface Die {
  tag: number;
  attrs: [number, AttrValue][];
  children: Die[];
  /** Offset from the unit's start, set when laid out. */
  offset?: number;
  /** Its abbreviation code, set when laid out. */
  abbrev?: number;
  /** This entry stands for a run of shared type DIEs (its other fields unused but `offset`). */
  block?: DieBlock;
  /** The abbreviation code of each of the block template's shapes, set when laid out from the template. */
  blockCodes?: number[];
}

/**
 * The type DIEs of a frozen struct or union and of every type it reaches, as one translation
 * made them — the context structs the backend shares between objects (`struct __sk_buff`: 35
 * members, a third of a small object's writing time). Kept per process ({@link sharedBlocks}):
 * a later unit in which that type and all it reaches are still untranslated, where translating
 * them would make this same run of DIEs, takes the run as it is, and writes it from a byte
 * template with the unit's abbreviation codes, string offsets and DIE offsets filled in.
 */
interface DieBlock {
  /** The types the run translates, the root first. */
  readonly types: readonly BtfType[];
  /** The DIE of each of {@link types}. */
  readonly typeDies: readonly Die[];
  /** Whether one of {@link types} is an array (whose DIE refers to the unit's array index type). */
  readonly arrays: boolean;
  /** The run: the unit's type list entries from the root's DIE on (the array index type's among them when made there). */
  readonly dies: readonly Die[];
  /** The array index type's DIE when the run made it. */
  readonly arrayIndex: Die | undefined;
  /** Built when the run is first written from a block: null when it has a form the template does not take. */
  template?: DieTemplate | null;
}

/** A run's bytes as {@link writeUnit} writes them, but for the values that depend on the unit (placeholders). */
interface DieTemplate {
  readonly bytes: Uint8Array;
  /** The run's top-level DIEs and their offsets from its start. */
  readonly top: readonly Die[];
  readonly topOffsets: readonly number[];
  /** A DIE of each distinct abbreviation in the run, in the order of first use. */
  readonly shapes: readonly Die[];
  /** Where each DIE's abbreviation code goes (one byte: codes up to 127) and which shape it is. */
  readonly codeAt: readonly number[];
  readonly codeShape: readonly number[];
  /** Where each string offset goes, and its string, in writing order. */
  readonly strpAt: readonly number[];
  readonly strpText: readonly string[];
  /** Where each reference goes, and its target's offset from the run's start. */
  readonly refAt: readonly number[];
  readonly refTo: readonly number[];
}

/**
 * The runs of shared type DIEs, by root type; null for a frozen root that reaches a type not
 * frozen (only a type that cannot change may keep its DIEs across objects).
 */
const sharedBlocks = new WeakMap<BtfType, DieBlock | null>();

const FORM_CODE: Record<AttrValue["form"], number> = {
  strp: Dwarf.form.strp,
  udata: Dwarf.form.udata,
  data1: Dwarf.form.data1,
  data4: Dwarf.form.data4,
  sdata: Dwarf.form.sdata,
  addr: Dwarf.form.addr,
  data_addr: Dwarf.form.addr,
  ref4: Dwarf.form.ref4,
  sec_offset: Dwarf.form.secOffset,
  flag_present: Dwarf.form.flagPresent,
};

const die = (tag: number, attrs: [number, AttrValue][] = [], children: Die[] = []): Die => ({ tag, attrs, children });
const strp = (text: string): AttrValue => ({ form: "strp", text });
const udata = (value: number): AttrValue => ({ form: "udata", value });
const ref = (target: Die): AttrValue => ({ form: "ref4", die: target });
const flag: AttrValue = { form: "flag_present" };

/** A node of the abbreviation trie: children by key, and its code under key -1 once assigned. */
type AbbrevNode = Map<number, AbbrevNode | number>;

/** Abbreviations, one per distinct (tag, children, attribute/form list), numbered from 1 in first use. */
class AbbrevTable {
  /** A trie over (tag, children flag, attribute/form pairs) with numeric keys: no key strings per DIE. */
  private readonly root: AbbrevNode = new Map();
  private count = 0;
  private readonly writer = new ByteWriter();

  codeOf(d: Die): number {
    let node = this.step(this.step(this.root, d.tag), d.children.length > 0 ? 1 : 0);
    const attrs = d.attrs;
    // Index loops, not `for (const [attr, value] of ...)`: destructuring a tuple runs the iterator protocol.
    for (let k = 0; k < attrs.length; k++) node = this.step(node, attrs[k]![0] * 256 + FORM_CODE[attrs[k]![1].form]);
    const known = node.get(-1);
    if (known !== undefined) return known as number;
    const code = ++this.count;
    node.set(-1, code);
    uleb(this.writer, code);
    uleb(this.writer, d.tag);
    this.writer.u8(d.children.length > 0 ? 1 : 0);
    for (let k = 0; k < attrs.length; k++) {
      uleb(this.writer, attrs[k]![0]);
      uleb(this.writer, FORM_CODE[attrs[k]![1].form]);
    }
    this.writer.u8(0).u8(0);
    return code;
  }

  private step(node: AbbrevNode, key: number): AbbrevNode {
    let next = node.get(key) as AbbrevNode | undefined;
    if (next === undefined) {
      next = new Map();
      node.set(key, next);
    }
    return next;
  }

  /** The table (with its terminating 0); called once, after the last {@link codeOf}. */
  finish(): Uint8Array {
    return this.writer.u8(0).finish();
  }
}

/** Translates BTF types into DIEs (each BTF type object once; cycles through structs are fine). */
class TypeDies {
  private readonly dies = new Map<BtfType, Die | null>();
  readonly list: Die[] = [];
  private arrayIndex: Die | undefined;

  /** The DIE of `type`, or undefined for void (DWARF's absent DW_AT_type). */
  of(type: BtfType): Die | undefined {
    if (type.kind === "void") return undefined;
    const known = this.dies.get(type);
    if (known !== undefined) return known ?? undefined;
    if ((type.kind === "struct" || type.kind === "union") && Object.isFrozen(type)) return this.shared(type);
    return this.translate(type);
  }

  private translate(type: BtfType): Die {
    const d = die(0);
    this.dies.set(type, d);
    this.list.push(d);
    this.fill(d, type);
    return d;
  }

  /** The DIE of a frozen struct or union: its run of DIEs as a block when one is kept and fits this unit, else translated (and the run kept). */
  private shared(type: BtfType): Die {
    const block = sharedBlocks.get(type);
    if (block === undefined) {
      const reached = frozenReach(type);
      if (!reached) {
        sharedBlocks.set(type, null);
        return this.translate(type);
      }
      if (!this.untranslated(reached.types, reached.arrays)) return this.translate(type);
      const start = this.list.length;
      const arrayIndex = this.arrayIndex;
      const d = this.translate(type);
      const typeDies = reached.types.map((t) => this.dies.get(t)!);
      sharedBlocks.set(type, { ...reached, typeDies, dies: this.list.slice(start), arrayIndex: this.arrayIndex !== arrayIndex ? this.arrayIndex : undefined });
      return d;
    }
    if (block === null || !this.untranslated(block.types, block.arrays)) return this.translate(type);
    for (let i = 0; i < block.types.length; i++) this.dies.set(block.types[i]!, block.typeDies[i]!);
    if (block.arrayIndex) this.arrayIndex = block.arrayIndex;
    this.list.push({ tag: 0, attrs: [], children: [], block });
    return block.typeDies[0]!;
  }

  /** Whether translating `types` here would make new DIEs only, as when their run was kept. */
  private untranslated(types: readonly BtfType[], arrays: boolean): boolean {
    for (let i = 0; i < types.length; i++) if (this.dies.has(types[i]!)) return false;
    return !arrays || this.arrayIndex === undefined;
  }

  private typed(d: Die, target: BtfType): void {
    const t = this.of(target);
    if (t) d.attrs.push([Dwarf.at.type, ref(t)]);
  }

  private fill(d: Die, type: BtfType): void {
    switch (type.kind) {
      case "int": {
        d.tag = Dwarf.tag.baseType;
        const encoding = type.bool ? Dwarf.encoding.boolean : type.char ? (type.signed ? Dwarf.encoding.signedChar : Dwarf.encoding.unsignedChar) : type.signed ? Dwarf.encoding.signed : Dwarf.encoding.unsigned;
        d.attrs.push([Dwarf.at.name, strp(type.name)], [Dwarf.at.encoding, { form: "data1", value: encoding }], [Dwarf.at.byteSize, { form: "data1", value: type.size }]);
        return;
      }
      case "float":
        d.tag = Dwarf.tag.baseType;
        d.attrs.push([Dwarf.at.name, strp(type.name)], [Dwarf.at.encoding, { form: "data1", value: Dwarf.encoding.float }], [Dwarf.at.byteSize, { form: "data1", value: type.size }]);
        return;
      case "ptr":
        d.tag = Dwarf.tag.pointerType;
        this.typed(d, type.target);
        return;
      case "array": {
        d.tag = Dwarf.tag.arrayType;
        this.typed(d, type.elem);
        this.arrayIndex ??= this.indexType();
        // Lower bound 0 explicitly: without a DW_AT_language there is no default bound.
        d.children.push(die(Dwarf.tag.subrangeType, [[Dwarf.at.type, ref(this.arrayIndex)], [Dwarf.at.lowerBound, udata(0)], [Dwarf.at.count, udata(type.count)]]));
        return;
      }
      case "struct":
      case "union":
        d.tag = type.kind === "struct" ? Dwarf.tag.structureType : Dwarf.tag.unionType;
        if (type.name) d.attrs.push([Dwarf.at.name, strp(type.name)]);
        d.attrs.push([Dwarf.at.byteSize, udata(type.size)]);
        for (const m of type.members) {
          const member = die(Dwarf.tag.member);
          if (m.name) member.attrs.push([Dwarf.at.name, strp(m.name)]);
          const t = this.of(m.type);
          if (t) member.attrs.push([Dwarf.at.type, ref(t)]);
          if (m.bitSize !== undefined) member.attrs.push([Dwarf.at.bitSize, udata(m.bitSize)], [Dwarf.at.dataBitOffset, udata(m.bitOffset)]);
          else member.attrs.push([Dwarf.at.dataMemberLocation, udata(m.bitOffset / 8)]);
          d.children.push(member);
        }
        return;
      case "enum":
      case "enum64":
        d.tag = Dwarf.tag.enumerationType;
        if (type.name) d.attrs.push([Dwarf.at.name, strp(type.name)]);
        d.attrs.push([Dwarf.at.byteSize, udata(type.size)]);
        for (const v of type.values) d.children.push(die(Dwarf.tag.enumerator, [[Dwarf.at.name, strp(v.name)], [Dwarf.at.constValue, { form: "sdata", value: v.value }]]));
        return;
      case "fwd":
        d.tag = type.union ? Dwarf.tag.unionType : Dwarf.tag.structureType;
        d.attrs.push([Dwarf.at.name, strp(type.name)], [Dwarf.at.declaration, flag]);
        return;
      case "typedef":
        d.tag = Dwarf.tag.typedef;
        d.attrs.push([Dwarf.at.name, strp(type.name)]);
        this.typed(d, type.target);
        return;
      case "const":
      case "volatile":
      case "restrict":
        d.tag = type.kind === "const" ? Dwarf.tag.constType : type.kind === "volatile" ? Dwarf.tag.volatileType : Dwarf.tag.restrictType;
        this.typed(d, type.target);
        return;
      case "type_tag":
        // DWARF 4 has no type tags: describe the tagged type itself.
        d.tag = Dwarf.tag.typedef;
        d.attrs.push([Dwarf.at.name, strp(type.name)]);
        this.typed(d, type.target);
        return;
      case "func_proto":
        d.tag = Dwarf.tag.subroutineType;
        d.attrs.push([Dwarf.at.prototyped, flag]);
        this.typed(d, type.ret);
        for (const p of type.params) {
          if (p.name === "" && p.type.kind === "void") d.children.push(die(Dwarf.tag.unspecifiedParameters));
          else {
            const param = die(Dwarf.tag.formalParameter);
            const t = this.of(p.type);
            if (t) param.attrs.push([Dwarf.at.type, ref(t)]);
            d.children.push(param);
          }
        }
        return;
      case "void":
      case "func":
      case "var":
      case "datasec":
      case "decl_tag":
        throw new ElfError(`DWARF: BTF ${type.kind} is not a type of a value`);
      default:
        return assertNever(type, "BTF kind");
    }
  }

  /** clang's index type of arrays. */
  private indexType(): Die {
    const d = die(Dwarf.tag.baseType, [
      [Dwarf.at.name, strp("__ARRAY_SIZE_TYPE__")],
      [Dwarf.at.byteSize, { form: "data1", value: 8 }],
      [Dwarf.at.encoding, { form: "data1", value: Dwarf.encoding.unsigned }],
    ]);
    this.list.push(d);
    return d;
  }
}

/** For tests: whether a run of DIEs is kept for `root`, and whether it is written from a template. */
export function sharedDieRun(root: BtfType): "none" | "kept" | "template" {
  const block = sharedBlocks.get(root);
  return !block ? "none" : block.template ? "template" : "kept";
}

/**
 * The types {@link TypeDies} translates for `root` (root first, void left out), each frozen with
 * what it holds, and whether one is an array; undefined when one is not frozen.
 */
function frozenReach(root: BtfType): { types: BtfType[]; arrays: boolean } | undefined {
  const types: BtfType[] = [];
  const seen = new Set<BtfType>();
  let arrays = false;
  let frozen = true;
  const visit = (t: BtfType): void => {
    if (t.kind === "void" || seen.has(t)) return;
    seen.add(t);
    types.push(t);
    if (!Object.isFrozen(t)) frozen = false;
    switch (t.kind) {
      case "struct":
      case "union":
        if (!Object.isFrozen(t.members)) frozen = false;
        for (const m of t.members) {
          if (!Object.isFrozen(m)) frozen = false;
          visit(m.type);
        }
        return;
      case "enum":
      case "enum64":
        if (!Object.isFrozen(t.values) || !t.values.every((v) => Object.isFrozen(v))) frozen = false;
        return;
      case "ptr":
      case "typedef":
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        visit(t.target);
        return;
      case "array":
        arrays = true;
        visit(t.elem);
        return;
      case "func_proto":
        if (!Object.isFrozen(t.params)) frozen = false;
        visit(t.ret);
        for (const p of t.params) {
          if (!Object.isFrozen(p)) frozen = false;
          visit(p.type);
        }
        return;
      default:
        return;
    }
  };
  visit(root);
  return frozen ? { types, arrays } : undefined;
}

/**
 * The template of a run of DIEs (see {@link DieTemplate}), laid out and written as
 * {@link writeUnit} does with one-byte abbreviation codes; null when a DIE in it has an address
 * or a section offset, or refers outside the run.
 */
function dieTemplate(block: DieBlock): DieTemplate | null {
  const top: Die[] = [];
  const flatten = (dies: readonly Die[]): void => {
    for (const d of dies) {
      if (d.block) flatten(d.block.dies);
      else top.push(d);
    }
  };
  flatten(block.dies);
  const offsets = new Map<Die, number>();
  let plain = true;
  const lay = (d: Die, at: number): number => {
    offsets.set(d, at);
    at += 1;
    for (let k = 0; k < d.attrs.length; k++) {
      const v = d.attrs[k]![1];
      if (v.form === "addr" || v.form === "data_addr" || v.form === "sec_offset") plain = false;
      at += valueSize(v);
    }
    if (d.children.length > 0) {
      for (const c of d.children) at = lay(c, at);
      at += 1;
    }
    return at;
  };
  let size = 0;
  const topOffsets = top.map((d) => {
    const at = size;
    size = lay(d, at);
    return at;
  });
  if (!plain) return null;
  // Shapes are numbered as a fresh abbreviation table numbers them: in the order of first use.
  const shapeCodes = new AbbrevTable();
  const shapes: Die[] = [];
  const out = new ByteWriter(size);
  const t = { codeAt: [] as number[], codeShape: [] as number[], strpAt: [] as number[], strpText: [] as string[], refAt: [] as number[], refTo: [] as number[] };
  let closed = true;
  const write = (d: Die): void => {
    const shape = shapeCodes.codeOf(d) - 1;
    if (shape === shapes.length) shapes.push(d);
    t.codeAt.push(out.size);
    t.codeShape.push(shape);
    out.u8(0);
    for (let k = 0; k < d.attrs.length; k++) {
      const v = d.attrs[k]![1];
      if (v.form === "strp") {
        t.strpAt.push(out.size);
        t.strpText.push(v.text);
        out.u32(0);
      } else if (v.form === "ref4") {
        const to = offsets.get(v.die);
        if (to === undefined) closed = false;
        t.refAt.push(out.size);
        t.refTo.push(to ?? 0);
        out.u32(0);
      } else if (v.form === "addr" || v.form === "sec_offset") throw new ElfError("internal: DWARF template of a DIE with a relocated value");
      else writeConstant(out, v);
    }
    if (d.children.length > 0) {
      for (const c of d.children) write(c);
      out.u8(0);
    }
  };
  for (const d of top) write(d);
  if (!closed) return null;
  if (out.size !== size) throw new ElfError(`DWARF: template laid out as ${size} bytes, written as ${out.size}`);
  return { bytes: out.finish().slice(), top, topOffsets, shapes, ...t };
}

// ---- the encoder ----

/** The files of a unit's line table, numbered from 1 in first-appearance order. */
function fileTable(programs: Iterable<PlacedProgram>): string[] {
  const files: string[] = [];
  for (const { program } of programs) for (const l of program.lines ?? []) if (l.file !== "" && !files.includes(l.file)) files.push(l.file);
  return files;
}

/** The line-number program of the object (DWARF 4, 6.2): one sequence per code section. */
function lineProgram(
  out: ByteWriter,
  relocations: DebugRelocation[],
  sections: ReadonlyMap<string, { programs: readonly PlacedProgram[]; size: number }>,
  files: readonly string[],
): void {
  const start = out.size;
  out.u32(0); // unit_length, patched below
  out.u16(Dwarf.version);
  const headerLengthAt = out.size;
  out.u32(0); // header_length, patched below
  const headerStart = out.size;
  out.u8(1); // minimum_instruction_length: addresses advance in bytes
  out.u8(1); // maximum_operations_per_instruction
  out.u8(1); // default_is_stmt
  out.u8(LINE_BASE & 0xff);
  out.u8(LINE_RANGE);
  out.u8(OPCODE_BASE);
  for (const n of STANDARD_OPCODE_LENGTHS) out.u8(n);
  out.u8(0); // include_directories: none beyond the compilation directory
  for (const f of files) {
    out.utf8(f).u8(0);
    uleb(out, 0); // directory 0: the compilation directory (or an absolute name)
    uleb(out, 0); // modification time unknown
    uleb(out, 0); // length unknown
  }
  out.u8(0);
  out.patchU32(headerLengthAt, out.size - headerStart);

  for (const [section, { programs, size }] of sections) {
    // Each sequence starts the state machine afresh: address 0, file 1, line 1, column 0.
    out.u8(0).u8(9).u8(Dwarf.lne.setAddress);
    relocations.push({ offset: out.size, size: 8, section });
    out.u64(0);
    let address = 0;
    let file = 1;
    let line = 1;
    let column = 0;
    for (const { program, start: programStart } of programs) {
      for (const l of program.lines ?? []) {
        const at = programStart + l.offset;
        const f = l.file === "" ? file : files.indexOf(l.file) + 1;
        if (at > address) {
          out.u8(Dwarf.lns.advancePc);
          uleb(out, at - address);
          address = at;
        }
        if (f !== file) {
          out.u8(Dwarf.lns.setFile);
          uleb(out, f);
          file = f;
        }
        if (l.line !== line) {
          out.u8(Dwarf.lns.advanceLine);
          sleb(out, l.line - line);
          line = l.line;
        }
        if (l.column !== column) {
          out.u8(Dwarf.lns.setColumn);
          uleb(out, l.column);
          column = l.column;
        }
        out.u8(Dwarf.lns.copy);
      }
    }
    if (size > address) {
      out.u8(Dwarf.lns.advancePc);
      uleb(out, size - address);
    }
    out.u8(0).u8(1).u8(Dwarf.lne.endSequence);
  }
  out.patchU32(start, out.size - start - 4);
}

/** Serialises one unit's DIE tree (offsets relative to the unit's start, which is at `unitStart` in .debug_info). */
function writeUnit(out: ByteWriter, relocations: DebugRelocation[], root: Die, abbrevs: AbbrevTable, strings: StringTable): void {
  const unitStart = out.size;
  // Lay out: header is 11 bytes (length 4, version 2, abbrev offset 4, address size 1).
  const place = (d: Die, offset: number): number => {
    d.offset = offset;
    if (d.block) return placeBlock(d, d.block, offset);
    d.abbrev = abbrevs.codeOf(d);
    let at = offset + ulebSize(d.abbrev);
    const attrs = d.attrs;
    for (let k = 0; k < attrs.length; k++) at += valueSize(attrs[k]![1]);
    if (d.children.length > 0) {
      for (const c of d.children) at = place(c, at);
      at += 1;
    }
    return at;
  };
  /** A block from its template when its codes fit a byte (else each of its DIEs): its DIEs' offsets and its codes. */
  const placeBlock = (d: Die, block: DieBlock, offset: number): number => {
    d.blockCodes = undefined;
    if (block.template === undefined) block.template = dieTemplate(block);
    const t = block.template;
    if (t) {
      const codes = t.shapes.map((shape) => abbrevs.codeOf(shape));
      if (codes.every((code) => code < 128)) {
        d.blockCodes = codes;
        for (let k = 0; k < t.top.length; k++) t.top[k]!.offset = offset + t.topOffsets[k]!;
        return offset + t.bytes.length;
      }
    }
    for (const c of block.dies) offset = place(c, offset);
    return offset;
  };
  const end = place(root, 11);
  out.u32(end - 4);
  out.u16(Dwarf.version);
  relocations.push({ offset: out.size, size: 4, section: ".debug_abbrev" });
  out.u32(0);
  out.u8(8);
  const write = (d: Die): void => {
    if (d.block) return writeBlock(d, d.block);
    uleb(out, d.abbrev!);
    const attrs = d.attrs;
    for (let k = 0; k < attrs.length; k++) {
      const v = attrs[k]![1];
      switch (v.form) {
        case "strp":
          relocations.push({ offset: out.size, size: 4, section: ".debug_str" });
          out.u32(strings.add(v.text));
          break;
        case "addr":
          relocations.push({ offset: out.size, size: 8, section: v.section });
          out.u64(v.value);
          break;
        case "ref4":
          if (v.die.offset === undefined) throw new ElfError("DWARF: reference to a DIE outside the unit");
          out.u32(v.die.offset);
          break;
        case "sec_offset":
          relocations.push({ offset: out.size, size: 4, section: v.section });
          out.u32(v.value);
          break;
        default:
          writeConstant(out, v);
      }
    }
    if (d.children.length > 0) {
      for (const c of d.children) write(c);
      out.u8(0);
    }
  };
  const writeBlock = (d: Die, block: DieBlock): void => {
    const codes = d.blockCodes;
    if (!codes) {
      for (const c of block.dies) write(c);
      return;
    }
    const t = block.template!;
    const at = out.size;
    out.bytes(t.bytes);
    for (let k = 0; k < t.codeAt.length; k++) out.patchU8(at + t.codeAt[k]!, codes[t.codeShape[k]!]!);
    for (let k = 0; k < t.strpAt.length; k++) {
      relocations.push({ offset: at + t.strpAt[k]!, size: 4, section: ".debug_str" });
      out.patchU32(at + t.strpAt[k]!, strings.add(t.strpText[k]!));
    }
    for (let k = 0; k < t.refAt.length; k++) out.patchU32(at + t.refAt[k]!, d.offset! + t.refTo[k]!);
  };
  write(root);
  if (out.size - unitStart !== end) throw new ElfError(`DWARF: unit laid out as ${end} bytes, written as ${out.size - unitStart}`);
}

/** A value that needs neither a string, a relocation nor a DIE offset. */
function writeConstant(out: ByteWriter, v: Extract<AttrValue, { form: "udata" | "data1" | "data4" | "sdata" | "data_addr" | "flag_present" }>): void {
  switch (v.form) {
    case "udata":
      uleb(out, v.value);
      return;
    case "data1":
      out.u8(v.value);
      return;
    case "data4":
      out.u32(v.value);
      return;
    case "sdata":
      sleb(out, v.value);
      return;
    case "data_addr":
      out.u64(v.value);
      return;
    case "flag_present":
      return;
    default:
      assertNever(v, "DWARF form");
  }
}

function valueSize(v: AttrValue): number {
  switch (v.form) {
    case "strp":
    case "data4":
    case "ref4":
    case "sec_offset":
      return 4;
    case "data1":
      return 1;
    case "addr":
    case "data_addr":
      return 8;
    case "flag_present":
      return 0;
    case "udata":
      return ulebSize(v.value);
    case "sdata":
      return slebSize(v.value);
    default:
      return assertNever(v, "DWARF form");
  }
}

/**
 * Encodes the debug sections for the code sections of `object` (`sections` maps each
 * code section's name to its programs in layout order and its size). Returns no
 * sections when no program has line records.
 */
export function encodeDwarf(
  sections: ReadonlyMap<string, { programs: readonly PlacedProgram[]; size: number }>,
  options: DwarfOptions = {},
): DebugSection[] {
  const hasLines = [...sections.values()].some((s) => s.programs.some((p) => (p.program.lines ?? []).some((l) => l.line > 0)));
  if (!hasLines) return [];
  const abbrevs = new AbbrevTable();
  const strings = new StringTable();
  const info = new ByteWriter(1024);
  const infoRelocations: DebugRelocation[] = [];
  const line = new ByteWriter(256);
  const lineRelocations: DebugRelocation[] = [];
  const ranges = new ByteWriter();
  const rangeRelocations: DebugRelocation[] = [];
  const all: PlacedProgram[] = [];
  for (const s of sections.values()) for (const p of s.programs) all.push(p);
  const files = fileTable(all);
  lineProgram(line, lineRelocations, sections, files);

  const unit = die(Dwarf.tag.compileUnit, [
    [Dwarf.at.producer, strp(options.producer ?? "luabpf")],
    [Dwarf.at.name, strp(files[0] ?? "")],
    ...(options.compDir !== undefined ? [[Dwarf.at.compDir, strp(options.compDir)] as [number, AttrValue]] : []),
    [Dwarf.at.stmtList, { form: "sec_offset", section: ".debug_line", value: 0 }],
  ]);
  if (sections.size === 1) {
    const [name, { size }] = sections.entries().next().value!;
    unit.attrs.push([Dwarf.at.lowPc, { form: "addr", section: name, value: 0 }], [Dwarf.at.highPc, { form: "data4", value: size }]);
  } else {
    // Base address 0 (no relocation); each range is relocated against its section.
    unit.attrs.push([Dwarf.at.lowPc, { form: "data_addr", value: 0 }], [Dwarf.at.ranges, { form: "sec_offset", section: ".debug_ranges", value: 0 }]);
    for (const [name, { size }] of sections) {
      rangeRelocations.push({ offset: ranges.size, size: 8, section: name });
      ranges.u64(0);
      rangeRelocations.push({ offset: ranges.size, size: 8, section: name });
      ranges.u64(size);
    }
    ranges.u64(0).u64(0);
  }
  const types = new TypeDies();
  for (const [name, { programs }] of sections) {
    for (const { program, start, proto } of programs) {
      const first = (program.lines ?? []).find((l) => l.line > 0);
      const fn = die(Dwarf.tag.subprogram, [
        [Dwarf.at.name, strp(program.name)],
        [Dwarf.at.lowPc, { form: "addr", section: name, value: start }],
        [Dwarf.at.highPc, { form: "data4", value: program.code.length }],
      ]);
      if (first) fn.attrs.push([Dwarf.at.declFile, udata(files.indexOf(first.file) + 1)], [Dwarf.at.declLine, udata(first.line)]);
      fn.attrs.push([Dwarf.at.prototyped, flag]);
      const p = skipModifiers(proto);
      if (p.kind === "func_proto") {
        const ret = types.of(p.ret);
        if (ret) fn.attrs.push([Dwarf.at.type, ref(ret)]);
        for (const param of p.params) {
          const d = die(Dwarf.tag.formalParameter);
          if (param.name) d.attrs.push([Dwarf.at.name, strp(param.name)]);
          const t = types.of(param.type);
          if (t) d.attrs.push([Dwarf.at.type, ref(t)]);
          fn.children.push(d);
        }
      }
      // Programs are global symbols; BPF-to-BPF functions in .text are static (as their BTF FUNC linkage).
      if (!program.subprogram) fn.attrs.push([Dwarf.at.external, flag]);
      unit.children.push(fn);
    }
  }
  unit.children.push(...types.list);
  writeUnit(info, infoRelocations, unit, abbrevs, strings);
  const out: DebugSection[] = [
    { name: ".debug_abbrev", data: abbrevs.finish(), relocations: [] },
    { name: ".debug_info", data: info.finish(), relocations: infoRelocations },
    { name: ".debug_str", data: strings.finish(), relocations: [] },
    { name: ".debug_line", data: line.finish(), relocations: lineRelocations },
  ];
  if (ranges.size > 0) out.push({ name: ".debug_ranges", data: ranges.finish(), relocations: rangeRelocations });
  return out;
}

/** The section names {@link encodeDwarf} can produce, in the order the writer places them. */
export const DEBUG_SECTIONS = [".debug_abbrev", ".debug_info", ".debug_str", ".debug_line", ".debug_ranges"] as const;

/** Whether an object gets DWARF sections: some program has a line record. */
export function wantsDwarf(object: BpfObject): boolean {
  return object.programs.some((p) => (p.lines ?? []).some((l) => l.line > 0));
}
