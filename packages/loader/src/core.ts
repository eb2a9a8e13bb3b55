// CO-RE ("compile once, run everywhere"): applying an object's `.BTF.ext` CO-RE
// relocations against a target kernel's BTF before loading, as libbpf does
// (tools/lib/bpf/relo_core.c: bpf_core_parse_spec, bpf_core_spec_match,
// bpf_core_calc_relo, bpf_core_patch_insn). For each relocation:
//
//  1. parse the local spec: walk the access string ("0:2:1") through the local type
//     (members by index, array elements by index), collecting the named members on the
//     way and the local bit offset;
//  2. candidates: every target type of the same kind whose essential name (the name
//     without a `___flavour` suffix) equals the local one's;
//  3. match each candidate: find each named local member by name in the target (looking
//     inside anonymous members), check array bounds, and check the final field is
//     compatible (both integers, both pointers, both aggregates, enums of one name...);
//  4. compute the value (byte offset, size, existence, signedness, bit-field shifts, type
//     size or existence, enumerator value) for the local spec and for the matches; all
//     matches must agree;
//  5. patch the instruction: the immediate of an ALU instruction or an `lddw`, or the
//     offset (and, when the field's size changed, the access size) of a load or store —
//     after checking it holds the local value, so a wrongly described object is refused.
//
// When nothing matches, *_exists and type kinds become 0; other kinds "poison" the
// instruction: it becomes a call to the invalid helper 0xbad2310, which the verifier
// rejects only if the instruction is reachable (code guarded by `field_exists` is not).
//
// Cost: candidate search reads names straight from the target's string section
// (BtfIndex.idsWithEssentialName), and only the types on the access paths are decoded.
import { readFileSync } from "node:fs";
import { BtfIndex, btfSizeof, ElfError, readBtfFile, skipModifiers, type BtfComposite, type BtfType, type ObjectCoreRelocation } from "@luabpf/elf";
import { ACCESS_SIZES, coreReloKindsOf, InsnClass, INSN_SIZE, JmpOpCode, LDDW_OPCODE, OpcodeField, Source } from "@luabpf/platform";
import { LoaderError } from "./errors.js";

/** The immediate of the call that poisons an unrelocatable instruction (libbpf's "bad relo"). */
export const CORE_POISON_HELPER = 0xbad2310;

/** Where the running kernel's BTF lives. */
export const VMLINUX_BTF_PATH = "/sys/kernel/btf/vmlinux";

let runningKernel: BtfIndex | undefined;

/**
 * The running kernel's BTF, indexed lazily and cached for the life of the process.
 *
 * @throws LoaderError when /sys/kernel/btf/vmlinux cannot be read (a kernel without
 *   CONFIG_DEBUG_INFO_BTF)
 */
export function runningKernelBtf(): BtfIndex {
  if (runningKernel) return runningKernel;
  runningKernel = loadBtfFile(VMLINUX_BTF_PATH, "(a kernel built with CONFIG_DEBUG_INFO_BTF is needed for CO-RE and BTF-typed programs)");
  return runningKernel;
}

/**
 * Reads a BTF file (raw BTF, or an ELF file with a `.BTF` section) for use as a CO-RE
 * target.
 *
 * @throws LoaderError when it cannot be read or is not BTF
 */
export function loadBtfFile(path: string, hint = ""): BtfIndex {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new LoaderError(`cannot read ${path}${hint ? ` ${hint}` : ""}`, { cause: error });
  }
  try {
    return readBtfFile(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
  } catch (error) {
    throw new LoaderError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** What a relocation resolved to. */
export interface CoreRelocationResult {
  readonly relocation: ObjectCoreRelocation;
  /** The value computed for the object's own (local) types, which the instruction held. */
  readonly localValue: bigint;
  /** The value written, or undefined when the instruction was poisoned. */
  readonly targetValue: bigint | undefined;
  /** Human-readable description: `struct task_struct.real_parent (0:2) → byte offset 1280`. */
  readonly description: string;
}

/**
 * A copy of `program.code` with every CO-RE relocation applied against `target`, and
 * what each relocation resolved to.
 *
 * @throws LoaderError (naming the program and the relocation) for a malformed relocation,
 *   an instruction that does not hold the local value, or an ambiguous match
 */
export function applyCoreRelocations(
  program: { readonly name: string; readonly code: Uint8Array; readonly coreRelocations?: readonly ObjectCoreRelocation[] },
  target: BtfIndex,
): { code: Uint8Array; results: CoreRelocationResult[] } {
  const code = new Uint8Array(program.code);
  const results: CoreRelocationResult[] = [];
  const candidates = new Map<string, number[]>();
  (program.coreRelocations ?? []).forEach((relocation, index) => {
    const where = `program ${program.name}: CO-RE relocation ${index} (${relocation.kind} ${describeRoot(relocation.type)} ${relocation.access})`;
    try {
      const resolved = resolve(relocation, target, candidates);
      patchInstruction(code, relocation.offset, resolved);
      results.push({
        relocation,
        localValue: resolved.local.value,
        targetValue: resolved.poison ? undefined : resolved.target.value,
        description: `${resolved.path} → ${resolved.poison ? "not found (instruction poisoned)" : `${relocation.kind} ${resolved.target.value}`}`,
      });
    } catch (error) {
      // The relocation's own failures and the BTF reader's (a type without a size) are the
      // object's or the target BTF's fault: said once more with the relocation they concern.
      if (error instanceof CoreError || error instanceof ElfError) throw new CoreError(`${where}: ${error.message}`, { cause: error });
      throw error;
    }
  });
  return { code, results };
}

/**
 * A CO-RE relocation that cannot be applied (the object describes an access the target BTF
 * cannot resolve, or an instruction that does not hold what the relocation says): the
 * object's fault, a user error of the `kernel` category like every {@link LoaderError}.
 * Its message names the program and the relocation.
 */
export class CoreError extends LoaderError {
  override name = "CoreError";
}

// ---------------------------------------------------------------------------------------
// Specs: an access path resolved in one BTF.

const FIELD_KINDS: ReadonlySet<string> = coreReloKindsOf("field");
const TYPE_KINDS: ReadonlySet<string> = coreReloKindsOf("type");
const ENUM_KINDS: ReadonlySet<string> = coreReloKindsOf("enumval");

/** One step of a spec: a named member of `parent`, or an array element / the root object (no name). */
interface Accessor {
  /** The aggregate holding the member, or (no name) the element type. */
  readonly type: BtfType;
  readonly index: number;
  readonly name?: string;
}

interface Spec {
  readonly root: BtfType;
  /** Named member steps and array/root steps (anonymous members are folded into the offset). */
  readonly accessors: Accessor[];
  /** Indices as in an access string (anonymous members included). */
  readonly raw: number[];
  bitOffset: number;
}

function isComposite(type: BtfType): type is BtfComposite {
  return type.kind === "struct" || type.kind === "union";
}

/** The name without a `___flavour` suffix. */
export function essentialName(name: string): string {
  const at = name.indexOf("___");
  return at < 0 ? name : name.slice(0, at);
}

function describeRoot(type: BtfType): string {
  const base = type;
  switch (base.kind) {
    case "struct":
    case "union":
    case "enum":
    case "enum64":
      return `${base.kind === "enum64" ? "enum" : base.kind} ${base.name || "(anon)"}`;
    case "typedef":
    case "int":
    case "float":
      return base.name;
    case "fwd":
      return `${base.union ? "union" : "struct"} ${base.name}`;
    default:
      return base.kind;
  }
}

function parseAccess(access: string): number[] {
  if (!/^\d+(:\d+)*$/.test(access)) throw new CoreError(`malformed access string ${JSON.stringify(access)}`);
  return access.split(":").map(Number);
}

/** bpf_core_parse_spec: the local spec of a relocation. */
function parseLocalSpec(relocation: ObjectCoreRelocation): Spec {
  const raw = parseAccess(relocation.access);
  const spec: Spec = { root: relocation.type, accessors: [], raw, bitOffset: 0 };
  if (TYPE_KINDS.has(relocation.kind)) {
    if (relocation.access !== "0") throw new CoreError(`a type relocation's access string must be "0"`);
    return spec;
  }
  if (ENUM_KINDS.has(relocation.kind)) {
    const base = skipModifiers(relocation.type);
    if (base.kind !== "enum" && base.kind !== "enum64") throw new CoreError(`an enum value relocation on a ${base.kind}`);
    if (raw.length !== 1 || raw[0]! >= base.values.length) throw new CoreError(`no enumerator ${relocation.access}`);
    spec.accessors.push({ type: base, index: raw[0]!, name: base.values[raw[0]!]!.name });
    return spec;
  }
  if (!FIELD_KINDS.has(relocation.kind)) throw new CoreError(`unknown kind ${relocation.kind}`);
  let type = skipModifiers(relocation.type);
  spec.bitOffset = raw[0]! * btfSizeof(type) * 8;
  spec.accessors.push({ type, index: raw[0]! });
  for (const index of raw.slice(1)) {
    if (isComposite(type)) {
      const member = type.members[index];
      if (!member) throw new CoreError(`${describeRoot(type)} has no member #${index}`);
      spec.bitOffset += member.bitOffset;
      if (member.name !== "") spec.accessors.push({ type, index, name: member.name });
      type = skipModifiers(member.type);
    } else if (type.kind === "array") {
      const flexible = type.count === 0;
      const element = skipModifiers(type.elem);
      if (!flexible && index >= type.count) throw new CoreError(`index ${index} is past the end of a ${type.count}-element array`);
      spec.accessors.push({ type: element, index });
      spec.bitOffset += index * btfSizeof(element) * 8;
      type = element;
    } else {
      throw new CoreError(`the access path reaches a ${type.kind}, which has no members or elements`);
    }
  }
  return spec;
}

/** bpf_core_fields_are_compat. */
function fieldsCompatible(local: BtfType, target: BtfType): boolean {
  for (let depth = 0; depth < 32; depth++) {
    const a = skipModifiers(local);
    const b = skipModifiers(target);
    if (isComposite(a) && isComposite(b)) return true;
    const anyEnum = (t: BtfType) => t.kind === "enum" || t.kind === "enum64";
    if (a.kind !== b.kind && !(anyEnum(a) && anyEnum(b))) return false;
    switch (a.kind) {
      case "ptr":
      case "float":
        return true;
      case "fwd":
      case "enum":
      case "enum64":
        return essentialName(a.name) === essentialName((b as { name: string }).name);
      case "int":
        return true; // clang emits no bit offsets in ints; both are plain integers
      case "array":
        local = a.elem;
        target = (b as typeof a).elem;
        continue;
      default:
        return false;
    }
  }
  return false;
}

/** __bpf_core_types_are_compat (for type-based relocations). */
function typesCompatible(local: BtfType, target: BtfType, depth = 0): boolean {
  if (depth > 32) return false;
  const a = skipModifiers(local);
  const b = skipModifiers(target);
  const anyEnum = (t: BtfType) => t.kind === "enum" || t.kind === "enum64";
  if (a.kind !== b.kind && !(anyEnum(a) && anyEnum(b))) return false;
  switch (a.kind) {
    case "void":
    case "struct":
    case "union":
    case "enum":
    case "enum64":
    case "fwd":
    case "float":
      return true;
    case "int":
      return true;
    case "ptr":
      return typesCompatible(a.target, (b as typeof a).target, depth + 1);
    case "array":
      return typesCompatible(a.elem, (b as typeof a).elem, depth + 1);
    case "func_proto": {
      const other = b as typeof a;
      if (a.params.length !== other.params.length) return false;
      if (!a.params.every((param, index) => typesCompatible(param.type, other.params[index]!.type, depth + 1))) return false;
      return typesCompatible(a.ret, other.ret, depth + 1);
    }
    default:
      return false;
  }
}

/**
 * bpf_core_match_member: finds the member `name` in `target`, looking inside anonymous
 * members, and appends its steps to `spec`; undefined when there is no compatible one.
 */
function matchMember(localMember: BtfType, name: string, target: BtfType, spec: Spec): BtfType | undefined {
  const aggregate = skipModifiers(target);
  if (!isComposite(aggregate)) return undefined;
  for (const [index, member] of aggregate.members.entries()) {
    spec.bitOffset += member.bitOffset;
    spec.raw.push(index);
    if (member.name === "") {
      const found = matchMember(localMember, name, member.type, spec);
      if (found !== undefined) return found;
    } else if (member.name === name && fieldsCompatible(localMember, member.type)) {
      spec.accessors.push({ type: aggregate, index, name });
      return member.type;
    }
    spec.bitOffset -= member.bitOffset;
    spec.raw.pop();
  }
  return undefined;
}

/** bpf_core_spec_match: the target spec for candidate `candidate`, or undefined when it does not match. */
function matchSpec(local: Spec, kind: string, candidate: BtfType): Spec | undefined {
  const spec: Spec = { root: candidate, accessors: [], raw: [], bitOffset: 0 };
  if (TYPE_KINDS.has(kind)) return typesCompatible(local.root, candidate) ? spec : undefined;
  if (ENUM_KINDS.has(kind)) {
    const base = skipModifiers(candidate);
    if (base.kind !== "enum" && base.kind !== "enum64") return undefined;
    const wanted = essentialName(local.accessors[0]!.name!);
    const index = base.values.findIndex((value) => essentialName(value.name) === wanted);
    if (index < 0) return undefined;
    spec.accessors.push({ type: base, index, name: base.values[index]!.name });
    spec.raw.push(index);
    return spec;
  }
  let target = candidate;
  for (const [position, accessor] of local.accessors.entries()) {
    const targetType = skipModifiers(target);
    if (accessor.name !== undefined) {
      const localMember = (accessor.type as BtfComposite).members[accessor.index]!.type;
      const found = matchMember(localMember, accessor.name, targetType, spec);
      if (found === undefined) return undefined;
      target = found;
      continue;
    }
    let element = targetType;
    if (position > 0) {
      if (targetType.kind !== "array") return undefined;
      const flexible = targetType.count === 0;
      if (!flexible && accessor.index >= targetType.count) return undefined;
      element = skipModifiers(targetType.elem);
    }
    spec.accessors.push({ type: element, index: accessor.index });
    spec.raw.push(accessor.index);
    spec.bitOffset += accessor.index * btfSizeof(element) * 8;
    target = element;
  }
  return spec;
}

// ---------------------------------------------------------------------------------------
// Values.

interface Computed {
  value: bigint;
  /** Load/store size of the field (field_byte_offset of a non-bit-field), for size adjustment. */
  memorySize?: number;
  memoryType?: BtfType;
  validate: boolean;
}

/** bpf_core_calc_field_relo; undefined spec = no match. Throws "poison" via the return. */
function fieldValue(kind: string, spec: Spec | undefined): Computed | "poison" {
  if (kind === "field_exists") return { value: spec ? 1n : 0n, validate: true };
  if (!spec) return "poison";
  const last = spec.accessors[spec.accessors.length - 1]!;
  if (last.name === undefined) {
    const size = btfSizeof(last.type);
    if (kind === "field_byte_offset") return { value: BigInt(spec.bitOffset / 8), memorySize: size, memoryType: last.type, validate: true };
    if (kind === "field_byte_size") return { value: BigInt(size), validate: true };
    throw new CoreError(`${kind} cannot be applied to an array element`);
  }
  const aggregate = last.type as BtfComposite;
  const member = aggregate.members[last.index]!;
  const memberType = skipModifiers(member.type);
  const bitOffset = spec.bitOffset;
  let bitSize = member.bitSize ?? 0;
  const bitfield = bitSize > 0;
  let byteSize: number;
  let byteOffset: number;
  if (bitfield) {
    byteSize = btfSizeof(memberType);
    byteOffset = Math.floor(bitOffset / 8 / byteSize) * byteSize;
    while (bitOffset + bitSize - byteOffset * 8 > byteSize * 8) {
      if (byteSize >= 8) throw new CoreError("the bit-field cannot be read with a 64-bit load");
      byteSize *= 2;
      byteOffset = Math.floor(bitOffset / 8 / byteSize) * byteSize;
    }
  } else {
    byteSize = btfSizeof(memberType);
    byteOffset = bitOffset / 8;
    bitSize = byteSize * 8;
  }
  switch (kind) {
    case "field_byte_offset":
      return bitfield
        ? { value: BigInt(byteOffset), validate: false }
        : { value: BigInt(byteOffset), memorySize: byteSize, memoryType: member.type, validate: true };
    case "field_byte_size":
      return { value: BigInt(byteSize), validate: !bitfield };
    case "field_signed": {
      const signed = ((memberType.kind === "enum" || memberType.kind === "enum64") && memberType.signed) || (memberType.kind === "int" && memberType.signed);
      return { value: signed ? 1n : 0n, validate: true };
    }
    case "field_lshift_u64":
      return { value: BigInt(64 - (bitOffset + bitSize - byteOffset * 8)), validate: !bitfield };
    case "field_rshift_u64":
      return { value: BigInt(64 - bitSize), validate: true };
    default:
      throw new CoreError(`unknown field kind ${kind}`);
  }
}

function typeValue(kind: string, spec: Spec | undefined, target: BtfIndex | undefined): Computed {
  if (!spec) return { value: 0n, validate: true };
  switch (kind) {
    case "type_id_target": {
      const id = target?.idOf(spec.root);
      return { value: BigInt(id ?? 0), validate: false };
    }
    case "type_exists":
    case "type_matches":
      return { value: 1n, validate: true };
    case "type_size":
      return { value: BigInt(btfSizeof(spec.root)), validate: true };
    default:
      throw new CoreError(`${kind} is not supported (the object's BTF is not loaded with its programs)`);
  }
}

function enumValue(kind: string, spec: Spec | undefined): Computed | "poison" {
  if (kind === "enumval_exists") return { value: spec ? 1n : 0n, validate: true };
  if (!spec) return "poison";
  const accessor = spec.accessors[0]!;
  const base = accessor.type as Extract<BtfType, { kind: "enum" | "enum64" }>;
  return { value: BigInt.asUintN(64, BigInt(base.values[accessor.index]!.value)), validate: true };
}

function compute(kind: string, spec: Spec | undefined, target: BtfIndex | undefined): Computed | "poison" {
  if (FIELD_KINDS.has(kind)) return fieldValue(kind, spec);
  if (TYPE_KINDS.has(kind)) return typeValue(kind, spec, target);
  return enumValue(kind, spec);
}

interface Resolved {
  local: Computed;
  target: Computed;
  poison: boolean;
  /** A load/store whose field changed size in a way a different access size cannot express. */
  failMemorySizeAdjust: boolean;
  path: string;
}

function describePath(relocation: ObjectCoreRelocation, spec: Spec): string {
  const names = spec.accessors.slice(1).map((accessor) => (accessor.name !== undefined ? `.${accessor.name}` : `[${accessor.index}]`));
  if (ENUM_KINDS.has(relocation.kind)) return `${describeRoot(relocation.type)}::${spec.accessors[0]!.name}`;
  return `${describeRoot(relocation.type)}${names.join("")} (${relocation.access})`;
}

/** bpf_core_calc_relo_insn. */
function resolve(relocation: ObjectCoreRelocation, target: BtfIndex, cache: Map<string, number[]>): Resolved {
  const local = parseLocalSpec(relocation);
  const path = describePath(relocation, local);
  if (relocation.kind === "type_id_local") {
    throw new CoreError("type_id_local is not supported (the object's BTF is not loaded with its programs)");
  }
  const root = relocation.type;
  const rootName = "name" in root ? root.name : "";
  if (rootName === "") throw new CoreError("CO-RE relocations against anonymous types are not supported");
  const localValue = compute(relocation.kind, local, undefined);
  if (localValue === "poison") throw new CoreError("the local type does not have the accessed field");
  const essential = essentialName(rootName);
  const key = `${root.kind} ${essential}`;
  let candidates = cache.get(key);
  if (!candidates) {
    const wantKind = (kind: string) => kind === root.kind || ((root.kind === "enum" || root.kind === "enum64") && (kind === "enum" || kind === "enum64"));
    candidates = target.idsWithEssentialName(essential).filter((id) => wantKind(target.kindAt(id)));
    cache.set(key, candidates);
  }
  let chosen: { spec: Spec; value: Computed | "poison" } | undefined;
  for (const id of candidates) {
    const spec = matchSpec(local, relocation.kind, target.type(id));
    if (!spec) continue;
    const value = compute(relocation.kind, spec, target);
    if (!chosen) {
      chosen = { spec, value };
      continue;
    }
    if (FIELD_KINDS.has(relocation.kind) && spec.bitOffset !== chosen.spec.bitOffset) {
      throw new CoreError(`ambiguous: candidates put the field at bit ${chosen.spec.bitOffset} and at bit ${spec.bitOffset}`);
    }
    const same = value === "poison" ? chosen.value === "poison" : chosen.value !== "poison" && chosen.value.value === value.value;
    if (!same) throw new CoreError("ambiguous: candidate types give different values");
  }
  const targetValue = chosen ? chosen.value : compute(relocation.kind, undefined, target);
  if (targetValue === "poison") return { local: localValue, target: localValue, poison: true, failMemorySizeAdjust: false, path };
  let failMemorySizeAdjust = false;
  if (localValue.memorySize !== undefined && targetValue.memorySize !== undefined && localValue.memorySize !== targetValue.memorySize) {
    const a = skipModifiers(localValue.memoryType!);
    const b = skipModifiers(targetValue.memoryType!);
    const bothPointers = a.kind === "ptr" && b.kind === "ptr";
    const bothUnsigned = a.kind === "int" && b.kind === "int" && !a.signed && !b.signed;
    failMemorySizeAdjust = !(bothPointers || bothUnsigned);
  }
  return { local: localValue, target: targetValue, poison: false, failMemorySizeAdjust, path };
}

// ---------------------------------------------------------------------------------------
// Patching (bpf_core_patch_insn).

/** BPF_SIZE field: bytes → size bits, and back. */
const SIZE_BITS: Readonly<Record<number, number>> = Object.fromEntries(Object.values(ACCESS_SIZES).map((s) => [s.bytes, s.code]));
const SIZE_BYTES: Readonly<Record<number, number>> = Object.fromEntries(Object.values(ACCESS_SIZES).map((s) => [s.code, s.bytes]));

function poison(view: DataView, code: Uint8Array, offset: number): void {
  code[offset] = InsnClass.JMP | JmpOpCode.call;
  code[offset + 1] = 0;
  view.setInt16(offset + 2, 0, true);
  view.setInt32(offset + 4, CORE_POISON_HELPER, true);
}

function patchInstruction(code: Uint8Array, offset: number, resolved: Resolved): void {
  if (!Number.isInteger(offset) || offset % INSN_SIZE !== 0 || offset < 0 || offset + INSN_SIZE > code.length) {
    throw new CoreError(`offset ${offset} is not an instruction of the program`);
  }
  const view = new DataView(code.buffer, code.byteOffset, code.byteLength);
  const opcode = code[offset]!;
  const isLddw = opcode === LDDW_OPCODE;
  if (resolved.poison) {
    if (isLddw && offset + 2 * INSN_SIZE <= code.length) {
      // the second half becomes a `ja +0` so the verifier does not report "unknown opcode 00"
      code.fill(0, offset + INSN_SIZE, offset + 2 * INSN_SIZE);
      code[offset + INSN_SIZE] = InsnClass.JMP | JmpOpCode.ja;
    }
    poison(view, code, offset);
    return;
  }
  const expected = resolved.local.value;
  const next = resolved.target.value;
  const validate = resolved.local.validate;
  switch (opcode & OpcodeField.CLASS) {
    case InsnClass.ALU:
    case InsnClass.ALU64: {
      if ((opcode & Source.X) !== 0) throw new CoreError(`instruction at ${offset} is a register ALU operation, not one with an immediate`);
      const held = view.getUint32(offset + 4, true);
      if (validate && BigInt(held) !== BigInt.asUintN(32, expected)) {
        throw new CoreError(`the instruction at ${offset} holds ${held}, not the local value ${expected}`);
      }
      view.setUint32(offset + 4, Number(BigInt.asUintN(32, next)), true);
      return;
    }
    case InsnClass.LDX:
    case InsnClass.ST:
    case InsnClass.STX: {
      const held = view.getInt16(offset + 2, true);
      if (validate && BigInt(held) !== expected) throw new CoreError(`the access at ${offset} has offset ${held}, not the local value ${expected}`);
      if (next > 0x7fffn) throw new CoreError(`the relocated offset ${next} does not fit an instruction's 16-bit offset`);
      if (resolved.failMemorySizeAdjust) {
        poison(view, code, offset);
        return;
      }
      view.setInt16(offset + 2, Number(next), true);
      const localSize = resolved.local.memorySize;
      const targetSize = resolved.target.memorySize;
      if (localSize !== undefined && targetSize !== undefined && localSize !== targetSize) {
        const accessBytes = SIZE_BYTES[opcode & OpcodeField.SIZE]!;
        if (accessBytes !== localSize) throw new CoreError(`the access at ${offset} is ${accessBytes} bytes wide, the field ${localSize}`);
        const bits = SIZE_BITS[targetSize];
        if (bits === undefined) throw new CoreError(`the field is ${targetSize} bytes in the target, no single load reads that`);
        code[offset] = (opcode & ~OpcodeField.SIZE) | bits;
      }
      return;
    }
    case InsnClass.LD: {
      if (!isLddw || offset + 2 * INSN_SIZE > code.length || code[offset + 1]! >> 4 !== 0 || view.getInt16(offset + 2, true) !== 0) {
        throw new CoreError(`instruction at ${offset} is not a plain lddw`);
      }
      const held = BigInt(view.getUint32(offset + 4, true)) | (BigInt(view.getUint32(offset + 12, true)) << 32n);
      if (validate && held !== BigInt.asUintN(64, expected)) throw new CoreError(`the lddw at ${offset} holds ${held}, not the local value ${expected}`);
      const value = BigInt.asUintN(64, next);
      view.setUint32(offset + 4, Number(value & 0xffffffffn), true);
      view.setUint32(offset + 12, Number(value >> 32n), true);
      return;
    }
    default:
      throw new CoreError(`cannot relocate the instruction at ${offset} (opcode 0x${opcode.toString(16)})`);
  }
}
