/**
 * Tracepoint record layouts: what a `tracepoint/<category>/<name>` program's context points
 * at. Two sources, as bcc and libbpf use them:
 *
 *  - tracefs' `events/<category>/<name>/format` (what bcc reads): every field with its C
 *    declaration, offset, size and signedness, the common fields first. Exact for every
 *    event, including the syscall tracepoints whose fields exist only there
 *    (`sys_enter_openat`: `dfd`, `filename`, ...). Declarations are parsed with the C
 *    type parser in a scope that knows the kernel's typedefs; where the declared type
 *    disagrees with the recorded size (syscall arguments are declared `int` but stored in
 *    8 bytes), the size and signedness win.
 *  - the kernel's BTF `struct trace_event_raw_<name>` (what libbpf programs include from
 *    vmlinux.h), when tracefs is not available: the common fields are the `ent` member
 *    (`struct trace_entry`: type, flags, preempt_count, pid), `__data_loc` fields are
 *    `u32 __data_loc_<field>`. Only events that have their own class are found this way.
 *
 * `__data_loc` fields hold a (length << 16 | offset) word locating variable-length data
 * (a string, usually) later in the record.
 */
import { LuabpfError } from "@luabpf/platform/errors";
import { C_INTS, cArrayOf, cResolve, cSizeof, describeCType, type CMember, type CRecord, type CType } from "@luabpf/ir";
import { parseCTypeName, type CScope } from "../ctypes/index.js";
import type { BtfCTypes } from "./btf-ctypes.js";

/** One field of a tracepoint record. */
export interface TracepointField {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly signed: boolean;
  /** The field's C type (for `__data_loc` fields: the u32 locator word). */
  readonly type: CType;
  /** `__data_loc T[]` fields: the element type of the data the locator points at. */
  readonly dataLoc?: CType;
  /** One of the fields every event starts with (`common_type`, `common_flags`, `common_preempt_count`, `common_pid`). */
  readonly common: boolean;
}

/** A tracepoint's record. */
export interface TracepointFormat {
  readonly category: string;
  readonly name: string;
  /** The event id (tracefs only). */
  readonly id?: number;
  readonly fields: readonly TracepointField[];
  /** The record as a C struct (`struct trace_event_raw_<name>` of the fields, as the format lists them). */
  readonly record: CRecord;
  /** Where the layout came from: `tracefs` or `btf`. */
  readonly source: "tracefs" | "btf";
}

/**
 * Thrown for a tracefs format file that cannot be read as one: the environment's fault (the
 * file comes from the running kernel), not luabpf's.
 */
export class TracepointFormatError extends LuabpfError {
  readonly kind = "user" as const;
  readonly category = "kernel" as const;
  override readonly name = "TracepointFormatError";
}

const UNSIGNED: Readonly<Record<number, CType>> = { 1: C_INTS["unsigned char"], 2: C_INTS["unsigned short"], 4: C_INTS["unsigned int"], 8: C_INTS["unsigned long long"] };
const SIGNED: Readonly<Record<number, CType>> = { 1: C_INTS["signed char"], 2: C_INTS.short, 4: C_INTS.int, 8: C_INTS["long long"] };

/** An integer of `size` bytes, or a byte array when no integer has that size. */
function sizedInt(size: number, signed: boolean): CType {
  return (signed ? SIGNED : UNSIGNED)[size] ?? cArrayOf(C_INTS["unsigned char"], size);
}

/** The type of one `field:` declaration, trusting the recorded size over the declaration. */
function fieldType(declaration: string, name: string, size: number, signed: boolean, scope: CScope): { type: CType; dataLoc?: CType } {
  let text = declaration.trim();
  if (text.startsWith("__data_loc ")) {
    text = text
      .slice("__data_loc ".length)
      .replace(new RegExp(`\\b${name}\\s*$`), "")
      .replace(/\[\s*\]\s*$/, "")
      .trim();
    let element: CType = C_INTS.char;
    try {
      element = parseCTypeName(text, scope);
    } catch {
      // an element type we cannot name: bytes
      element = C_INTS["unsigned char"];
    }
    return { type: C_INTS["unsigned int"], dataLoc: element };
  }
  // `char prev_comm[16]` → type name `char [16]`
  const m = new RegExp(`^(.*?)\\b${name}\\s*((?:\\[[^\\]]*\\])*)\\s*$`).exec(text);
  const typeName = m ? `${m[1]!.trim()} ${m[2] ?? ""}`.trim() : text;
  let type: CType | undefined;
  try {
    type = parseCTypeName(typeName, scope);
  } catch {
    type = undefined;
  }
  if (type === undefined || cSizeof(type) !== size) {
    const r = type ? cResolve(type) : undefined;
    // keep pointers and arrays whose size matches; otherwise the recorded integer
    if (type && r?.kind === "array" && cSizeof(r) === size) return { type };
    // A system call argument declared `int dfd` is stored in a `long` slot (size 8): its
    // value is the declared int in the slot's low bytes (little-endian), as C reads it.
    if (type && r?.kind === "int" && cSizeof(r) < size && size === 8) return { type };
    type = sizedInt(size, signed);
  }
  return { type };
}

/**
 * Parses a tracefs `format` file.
 *
 * @throws TracepointFormatError when the text has no `field:` lines in the expected form
 */
export function parseTracepointFormat(text: string, category: string, name: string, scope: CScope): TracepointFormat {
  const fields: TracepointField[] = [];
  let id: number | undefined;
  for (const line of text.split("\n")) {
    const idMatch = /^ID:\s*(\d+)/.exec(line);
    if (idMatch) id = Number(idMatch[1]);
    const m = /^\s*field:(.+?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/.exec(line);
    if (!m) continue;
    const declaration = m[1]!;
    const nameMatch = /([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[[^\]]*\])*\s*$/.exec(declaration);
    if (!nameMatch) throw new TracepointFormatError(`tracepoint ${category}/${name}: format file: cannot find the field name in \`${declaration}\``);
    const fieldName = nameMatch[1]!;
    const offset = Number(m[2]);
    const size = Number(m[3]);
    const signed = m[4] === "1";
    const { type, dataLoc } = fieldType(declaration, fieldName, size, signed, scope);
    fields.push({ name: fieldName, offset, size, signed, type, ...(dataLoc ? { dataLoc } : {}), common: fieldName.startsWith("common_") });
  }
  if (fields.length === 0) throw new TracepointFormatError(`tracepoint ${category}/${name}: format file: no \`field:\` lines`);
  return { category, name, ...(id !== undefined ? { id } : {}), fields, record: recordOf(name, fields), source: "tracefs" };
}

/** The record struct of a list of fields. */
function recordOf(name: string, fields: readonly TracepointField[]): CRecord {
  const members: CMember[] = fields.map((f) => ({ name: f.name, type: f.type, offset: f.offset }));
  const end = Math.max(0, ...fields.map((f) => f.offset + f.size));
  const size = Math.ceil(end / 8) * 8;
  return { kind: "struct", tag: `trace_event_raw_${name}`, members, size, align: 8, constants: new Map() };
}

/**
 * The layout of tracepoint `name` from the kernel's BTF `struct trace_event_raw_<name>`, or
 * undefined when BTF has no such struct (the event shares its class's struct, or there is
 * no BTF). Fields are named as in tracefs: `common_*` for the `ent` members, the field name
 * for `__data_loc_<field>`.
 */
export function tracepointFromBtf(kernel: BtfCTypes, category: string, name: string): TracepointFormat | undefined {
  const record = kernel.record(`trace_event_raw_${name}`);
  if (!record?.members) return undefined;
  const fields: TracepointField[] = [];
  for (const m of record.members) {
    if (m.name === undefined || m.name === "__data") continue;
    const size = cSizeof(m.type);
    const t = cResolve(m.type);
    if (m.name === "ent" && (t.kind === "struct" || t.kind === "union")) {
      for (const c of t.members ?? []) {
        if (c.name === undefined) continue;
        const int = cResolve(c.type);
        fields.push({ name: `common_${c.name}`, offset: m.offset + c.offset, size: cSizeof(c.type), signed: int.kind === "int" && int.signed, type: c.type, common: true });
      }
      continue;
    }
    if (m.name.startsWith("__data_loc_")) {
      fields.push({ name: m.name.slice("__data_loc_".length), offset: m.offset, size, signed: false, type: m.type, dataLoc: C_INTS.char, common: false });
      continue;
    }
    fields.push({ name: m.name, offset: m.offset, size, signed: t.kind === "int" && t.signed, type: m.type, common: false });
  }
  return { category, name, fields, record: recordOf(name, fields), source: "btf" };
}

/** `name type` of each field, for messages (`prev_pid (pid_t)`). */
export function describeFields(format: TracepointFormat): string {
  return format.fields.map((f) => `${f.name} (${f.dataLoc ? `__data_loc ${describeCType(f.dataLoc)}[]` : describeCType(f.type)})`).join(", ");
}
