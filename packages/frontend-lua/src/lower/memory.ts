/**
 * C data in memory (places, lower/values.ts): stack objects, fields and elements, loads
 * and stores per region, bit-fields, struct copies and zero-filling, and the null checks
 * of map value references.
 *
 *   ffi.new(T)        %o = alloca sizeof(T), alignof(T)   (entry block)
 *                     store i64 0, %o, 0 ; store i64 0, %o, 8 ; ...   (zero-fill at the call)
 *   e.pid             load/store T %o, offsetof(pid)      (sext/zext to i64 per the C type)
 *   buf[i]            bounds check: condbr (ult i, N) → else the program stops (returns 0)
 *                     %a = ptradd %o, i * sizeof(elem) ; load/store %a, 0
 *   v.f (map value)   condbr (ne %v, 0) once per reference (else stop) ; load/store %v, off
 *   p.f (C pointer)   call helper probe_read_kernel|user (%tmp, size, p + off) ; load %tmp
 *   p.f (BTF-typed)   load T %p, off (PTR_TO_BTF_ID: tp_btf/fentry/fexit arguments; a
 *                     pointer member read from one is BTF-typed too)
 *                     (a kernel struct's field: off, and a bit-field's size and shifts, are
 *                     CO-RE relocated values: tracing.ts)
 *   bit-field         load the storage unit ; lshr shift ; and mask (sign-extended if signed)
 *
 * Stack accesses must be aligned (the verifier checks stack alignment strictly), so
 * copies and zero-fills use the widest access both offsets allow.
 */
import { BPF_FUNC } from "@luabpf/platform";
import { cAlignof, cFindMember, cMemberNames, cResolve, cScalarInt, cSizeof, describeCType, i64, intTypeOfSize, isInt, ptrType, type CInt, type CType, type Type, type Value } from "@luabpf/ir";
import type * as lua from "luaparse";
import { constantValue, TAG_NUMBER, type Dyn } from "../runtime.js";
import { describeStatic } from "../values.js";
import type { BodyLowering } from "./body.js";
import { storeStringBytes } from "./strings.js";
import { coreBitField, coreFieldOffset, hiddenContextField } from "./tracing.js";
import type { AddressSpace, CPointerValue, Place, Region, RValue } from "./values.js";

/** What a local bound to a place keeps: its region, type and pointer type. */
export interface PlaceShape {
  readonly region: Region;
  readonly type: CType;
  readonly ptrType: Type;
  readonly whole: boolean;
  readonly space?: AddressSpace;
  readonly exactString?: boolean;
}

export function pointerTypeOf(region: Region): Type {
  switch (region) {
    case "stack":
      return ptrType("stack");
    case "map_value":
      return ptrType("map_value_or_null");
    case "ctx":
      return ptrType("ctx");
    case "memory":
      return i64;
    case "ringbuf":
    case "btf":
      return ptrType();
  }
}

export function placeBindingShape(L: BodyLowering, place: Place): PlaceShape {
  void L;
  const whole = place.whole === true && place.offset === 0 && place.index === undefined;
  return { region: place.region, type: place.type, ptrType: pointerTypeOf(place.region), whole, ...(place.space ? { space: place.space } : {}), ...(place.exactString ? { exactString: true } : {}) };
}

/** How a value is described in messages. */
export function describeRValue(L: BodyLowering, rv: RValue): string {
  switch (rv.kind) {
    case "static":
      return describeStatic(rv.value);
    case "cond":
      return "a boolean";
    case "place": {
      const t = rv.place.type;
      const what = rv.place.region === "map_value" ? "a map value" : rv.place.region === "stack" ? "C data" : rv.place.region === "memory" ? "C data in memory" : rv.place.region === "ringbuf" ? "a ring buffer record" : rv.place.region === "btf" ? "kernel data" : "context data";
      return `${what} of type '${describeCType(t)}'`;
    }
    case "pointer":
      return `a C pointer ('${describeCType(rv.pointer.target)} *')`;
    case "dyn": {
      const t = L.ops.knownType(rv);
      return t === undefined ? "a value" : t === "nil" ? "nil" : `a ${t}`;
    }
  }
}

const isAggregate = (t: CType): boolean => {
  const r = cResolve(t);
  return r.kind === "struct" || r.kind === "union" || r.kind === "array";
};

/**
 * The address of `place` as a value: for a map value, after checking (once per
 * reference) that it is not null — the program stops if it is; for memory, an i64 address.
 */
export function requireAddress(L: BodyLowering, place: Place): Value {
  if (place.region === "map_value" && constantValue(place.nonNull) !== 1n) {
    L.abortUnless(L.ops.compare("ne", place.base, L.fn.constant(place.base.type, 0)));
    L.markNonNull(place);
  }
  return addressOf(L, place);
}

/**
 * The pointer and constant offset of `place` for a load or store (`load T %p, off`): the
 * dynamic index, if any, is added to the pointer; the offset stays in the instruction.
 * Checks a map value for null once per reference, like {@link requireAddress}.
 */
export function requireBase(L: BodyLowering, place: Place): { ptr: Value; offset: number } {
  if (place.region === "map_value" && constantValue(place.nonNull) !== 1n) {
    L.abortUnless(L.ops.compare("ne", place.base, L.fn.constant(place.base.type, 0)));
    L.markNonNull(place);
  }
  if (place.region === "memory") return { ptr: addressOf(L, place), offset: 0 };
  const ptr = place.index ? L.b.ptrAdd(place.base, place.index) : place.base;
  return { ptr, offset: place.offset };
}

/** `base + offset + index`, without a null check. */
function addressOf(L: BodyLowering, place: Place): Value {
  let off: Value | undefined = place.offset !== 0 ? L.b.const(place.offset) : undefined;
  if (place.index) off = off ? L.b.add(off, place.index) : place.index;
  if (!off) return place.base;
  if (place.region === "memory") return L.b.add(place.base, off);
  return L.b.ptrAdd(place.base, off);
}

/** A place whose base is known non-null, with the rest of `place`. */
function checked(place: Place, L: BodyLowering): Place {
  return { ...place, nonNull: L.b.const(1) };
}

/** `place.name`: a struct or union member (through a struct pointer too, as LuaJIT does). */
export function fieldPlace(L: BodyLowering, place: Place, name: string, node: lua.Node): RValue {
  const r = cResolve(place.type);
  if (r.kind === "pointer") {
    const direct = btfTarget(L, place);
    if (direct) return fieldPlace(L, direct, name, node);
    const p = loadPointer(L, place, node);
    return fieldPlace(L, derefPointer(L, p), name, node);
  }
  if (r.kind !== "struct" && r.kind !== "union") return L.fail(node, `attempt to index C data of type '${describeCType(place.type)}' (field '${name}')`);
  const found = cFindMember(r, name);
  if (!found) {
    const known = cMemberNames(r);
    return L.fail(node, `'${describeCType(place.type)}' has no member '${name}'${known.length > 0 ? ` (it has ${known.join(", ")})` : ""}`);
  }
  const m = found.member;
  const base: Place = { ...place, whole: false } as Place;
  if (m.bitSize !== undefined) {
    if (place.region === "memory" || place.region === "btf") {
      // A kernel struct's bit-field: where it is and how to extract it are relocated (CO-RE).
      const core = coreBitField(L, r, name, found.bitOffset!, m.bitSize, m.type, node);
      if (core) return { kind: "place", place: { ...base, type: m.type, coreBit: core } };
    }
    const unit = cSizeof(m.type);
    const absolute = found.bitOffset!;
    const unitStart = Math.floor(absolute / (unit * 8)) * unit;
    const shift = absolute - unitStart * 8;
    if (shift + m.bitSize > unit * 8) return L.fail(node, `bit-field '${name}' straddles its ${unit}-byte storage unit (a packed struct); it cannot be accessed`);
    return { kind: "place", place: { ...base, offset: place.offset + unitStart, type: m.type, bit: { shift, size: m.bitSize } } };
  }
  if (place.region === "memory" || place.region === "btf") {
    // A kernel struct: the member's offset is relocated (CO-RE) to the running kernel's layout.
    const core = coreFieldOffset(L, r, name, found.offset);
    if (core) return { kind: "place", place: { ...base, type: m.type, index: place.index ? L.b.add(place.index, core) : core } };
  }
  return { kind: "place", place: { ...base, offset: place.offset + found.offset, type: m.type } };
}

/** `place[i]`: an array element, an element through a pointer, or `[0]` of a reference. */
export function elementPlace(L: BodyLowering, place: Place, idx: RValue, idxNode: lua.Node, node: lua.Node, throughPointer = false): RValue {
  const r = cResolve(place.type);
  if (r.kind === "pointer" && !throughPointer) {
    const direct = btfTarget(L, place);
    if (direct) return elementPlace(L, direct, idx, idxNode, node, true);
    const p = loadPointer(L, place, node);
    return elementPlace(L, derefPointer(L, p), idx, idxNode, node, true);
  }
  const i = L.number(idx, idxNode, "index C data with");
  const ki = constantValue(i);
  if ((throughPointer || r.kind !== "array") && place.region === "btf" && ki !== 0n) {
    return L.fail(idxNode, "a BTF-typed pointer can only be indexed with [0]");
  }
  if (throughPointer || r.kind !== "array") {
    // A reference (or pointer) indexed like a one-element array: v[0] is the value itself (bcc).
    const size = cSizeof(place.type);
    if (ki === 0n) return { kind: "place", place: { ...place, whole: false } as Place };
    if (!throughPointer) return L.fail(idxNode, `C data of type '${describeCType(place.type)}' can only be indexed with [0]`);
    if (ki !== undefined) return { kind: "place", place: { ...place, whole: false, offset: place.offset + Number(ki) * size } as Place };
    return { kind: "place", place: { ...place, whole: false, index: scaled(L, i, size, place.index) } as Place };
  }
  const elem = r.element;
  const size = cSizeof(elem);
  if (ki !== undefined) {
    if (ki < 0n || (r.count !== undefined && ki >= BigInt(r.count))) return L.fail(idxNode, `index ${ki} is out of bounds of '${describeCType(place.type)}'`);
    return { kind: "place", place: { ...place, whole: false, type: elem, offset: place.offset + Number(ki) * size } as Place };
  }
  if (r.count === undefined) return L.fail(idxNode, `a flexible array member can only be indexed with constants`);
  if (place.region === "btf") return L.fail(idxNode, "kernel data read directly (through a BTF-typed pointer) can only be indexed with constants: the verifier refuses variable offsets (ffi.copy the array into a buffer first)");
  // The verifier needs a bound on the index: past the end, the program stops (Lua would raise an error).
  L.at(idxNode, () => L.abortUnless(L.ops.compare("ult" as never, i, L.b.const(r.count!))));
  return { kind: "place", place: { ...place, whole: false, type: elem, index: scaled(L, i, size, place.index) } as Place };
}

function scaled(L: BodyLowering, i: Value, size: number, prior: Value | undefined): Value {
  let v = i;
  if (size > 1) v = (size & (size - 1)) === 0 ? L.b.shl(i, L.b.const(Math.log2(size))) : L.b.mul(i, L.b.const(size));
  return prior ? L.b.add(prior, v) : v;
}

/** The object a C pointer points at. */
export function derefPointer(L: BodyLowering, p: CPointerValue): Place {
  return { region: "memory", base: p.addr, offset: 0, type: p.target, nonNull: L.b.const(1), space: p.space };
}

/**
 * The struct or union a pointer-typed place of kernel data points at, as kernel data read
 * directly: a pointer member of a BTF-typed struct is itself BTF-typed (the verifier gives
 * the load PTR_TO_BTF_ID). Undefined for any other place.
 */
export function btfTarget(L: BodyLowering, place: Place): Place | undefined {
  const r = cResolve(place.type);
  if (place.region !== "btf" || r.kind !== "pointer" || place.bit || place.coreBit) return undefined;
  const target = cResolve(r.target);
  if ((target.kind !== "struct" && target.kind !== "union") || target.members === undefined) return undefined;
  const { ptr, offset } = requireBase(L, place);
  return { region: "btf", base: L.b.load(ptrType(), ptr, offset), offset: 0, type: r.target, nonNull: L.b.const(1) };
}

/** Reads a pointer-typed place as a C pointer value (into kernel or user memory). */
export function loadPointer(L: BodyLowering, place: Place, node: lua.Node): CPointerValue {
  const r = cResolve(place.type);
  if (r.kind !== "pointer") throw new Error("loadPointer on a non-pointer");
  const d = loadScalar(L, place, node, "abort");
  return { addr: d.payload, target: r.target, space: place.space ?? L.unit.addressSpace(L.program) };
}

/**
 * Loads a scalar place as a tagged Lua number. `value-or-nil`: a map value that is absent
 * reads as nil (a whole `m[k]`); `abort`: the program stops if it is absent (a field).
 */
export function loadScalar(L: BodyLowering, place: Place, node: lua.Node, mode: "value-or-nil" | "abort"): Dyn {
  const t = cResolve(place.type);
  if (t.kind === "struct" || t.kind === "union" || t.kind === "array") {
    return L.fail(node, `C data of type '${describeCType(place.type)}' is not a number; read one of its ${t.kind === "array" ? "elements" : "fields"}`);
  }
  if (t.kind === "void" || t.kind === "function") return L.fail(node, `cannot read a value of type '${describeCType(place.type)}'`);
  const number = (v: Value): Dyn => ({ tag: L.b.const(TAG_NUMBER), payload: v });
  if (mode === "value-or-nil" && place.region === "map_value" && constantValue(place.nonNull) !== 1n) {
    const b = L.b;
    const from = L.current;
    const loadBB = L.newBlock();
    const join = L.newBlock();
    L.condBranch(L.ops.compare("ne", place.base, L.fn.constant(place.base.type, 0)), loadBB, join);
    L.seal(loadBB);
    L.setCurrent(loadBB);
    const loaded = rawLoad(L, checked(place, L), node);
    L.branch(join);
    L.seal(join);
    L.setCurrent(join);
    return L.merge([
      { block: loadBB, value: number(loaded) },
      { block: from, value: { tag: b.const(0n), payload: b.const(0) } },
    ]);
  }
  return number(rawLoad(L, place, node));
}

/** The scalar at `place` as an i64 (extended per its C type), stopping if a map value is null. */
function rawLoad(L: BodyLowering, place: Place, node: lua.Node): Value {
  const b = L.b;
  const hidden = hiddenContextField(L, place, node);
  if (hidden) return hidden;
  const ct = scalarOf(L, place, node);
  if (place.coreBit) {
    // BPF_CORE_READ_BITFIELD_PROBED: the relocated bytes into a zeroed u64, shifted up, then down.
    const bits = place.coreBit;
    const tmp = L.slot("probe", 8, 8);
    b.store(b.const(0), tmp, 0);
    const at = addressOf(L, place);
    const from = place.region === "btf" ? b.ptrAdd(at, bits.byteOffset) : b.add(at, bits.byteOffset);
    probeRead(L, tmp, bits.byteSize, from, place.region === "btf" ? "kernel" : (place.space ?? L.unit.addressSpace(L.program)), false);
    const up = b.shl(b.load(i64, tmp, 0), bits.lshift);
    return b.binary(ct.signed ? "ashr" : "lshr", up, bits.rshift);
  }
  const size = ct.size;
  const it = intTypeOfSize(size);
  let v: Value;
  if (place.region === "memory") {
    const tmp = L.slot("probe", 8, 8);
    const addr = requireAddress(L, place);
    probeRead(L, tmp, b.const(size), addr, place.space ?? L.unit.addressSpace(L.program), false);
    v = b.load(it, tmp, 0);
  } else {
    const { ptr, offset } = requireBase(L, place);
    v = b.load(it, ptr, offset);
  }
  if (place.bit) {
    // Extract the bit-field: shift it to the top, then back down (arithmetically if signed).
    let w: Value = size === 8 ? v : b.cast("zext", v, i64);
    const up = 64 - place.bit.shift - place.bit.size;
    if (up > 0) w = b.shl(w, b.const(up));
    const down = 64 - place.bit.size;
    return b.binary(ct.signed ? "ashr" : "lshr", w, b.const(down));
  }
  if (size === 8) return v;
  return b.cast(ct.signed && !ct.bool ? "sext" : "zext", v, i64);
}

/** The C integer a scalar place holds (pointers read as unsigned 64-bit addresses). */
function scalarOf(L: BodyLowering, place: Place, node: lua.Node): CInt {
  const r = cResolve(place.type);
  if (r.kind === "pointer") return { kind: "int", name: "unsigned long", size: 8, signed: false, char: false, bool: false };
  const ct = cScalarInt(place.type);
  if (!ct) return L.fail(node, `C data of type '${describeCType(place.type)}' is not a number`);
  return ct;
}

/** `bpf_probe_read_{kernel,user}[_str](dst, size, src)`. */
export function probeRead(L: BodyLowering, dst: Value, size: Value, src: Value, space: AddressSpace, str: boolean): Value {
  const name = space === "user" ? (str ? "probe_read_user_str" : "probe_read_user") : str ? "probe_read_kernel_str" : "probe_read_kernel";
  return L.b.callHelper(BPF_FUNC[name], [dst, size, src]);
}

/** `place = value`: a scalar (truncated to its width), a bit-field, a struct copy, or a string into a char array. */
export function storeToPlace(L: BodyLowering, place: Place, value: RValue, node: lua.Node): void {
  if (place.region === "ctx") return L.fail(node, "context fields are read-only");
  if (place.region === "memory" || place.region === "btf") return L.fail(node, "kernel and user memory behind a C pointer is read-only (copy it into a buffer with ffi.copy)");
  const b = L.b;
  if (isAggregate(place.type)) {
    if (value.kind === "static" && value.value.kind === "string") return storeStringBytes(L, place, value.value.value, node);
    if (value.kind === "place" && isAggregate(value.place.type)) {
      if (cSizeof(value.place.type) !== cSizeof(place.type)) {
        return L.fail(node, `cannot assign '${describeCType(value.place.type)}' (${cSizeof(value.place.type)} bytes) to '${describeCType(place.type)}' (${cSizeof(place.type)} bytes)`);
      }
      return copyPlace(L, place, value.place, cSizeof(place.type), node);
    }
    return L.fail(node, `cannot assign ${describeRValue(L, value)} to C data of type '${describeCType(place.type)}'`);
  }
  const ct = scalarOf(L, place, node);
  const v = scalarValue(L, value, node);
  const it = intTypeOfSize(ct.size);
  const { ptr: addr, offset } = requireBase(L, place);
  if (place.bit) {
    const { shift, size } = place.bit;
    const mask = ((1n << BigInt(size)) - 1n) << BigInt(shift);
    const old = b.load(it, addr, offset);
    const old64 = ct.size === 8 ? old : b.cast("zext", old, i64);
    const cleared = b.and(old64, b.const(~mask));
    const field = b.and(b.shl(v, b.const(shift)), b.const(mask));
    const merged = b.or(cleared, field);
    b.store(ct.size === 8 ? merged : b.cast("trunc", merged, it), addr, offset);
    return;
  }
  b.store(ct.size === 8 ? v : b.cast("trunc", v, it), addr, offset);
}

/** A value stored into a C scalar: numbers as they are, booleans 1/0, nil 0 (its integer view). */
export function scalarValue(L: BodyLowering, value: RValue, node: lua.Node): Value {
  if (value.kind === "cond") return value.cond;
  if (value.kind === "static" && value.value.kind === "string") {
    return L.fail(node, "a string cannot be stored in a C number (compare it, or ffi.copy it into a char array)");
  }
  if (value.kind === "place" && isAggregate(value.place.type)) return L.fail(node, `cannot store ${describeRValue(L, value)} in a C number`);
  return L.toDyn(value, node).payload;
}

/** Copies `size` bytes from `src` to `dst` (both places), with aligned accesses. */
export function copyPlace(L: BodyLowering, dst: Place, src: Place, size: number, node: lua.Node): void {
  const to = requireAddress(L, dst);
  if (src.region === "memory" || src.region === "btf") {
    probeRead(L, to, L.b.const(size), requireAddress(L, src), src.region === "btf" ? "kernel" : (src.space ?? L.unit.addressSpace(L.program)), false);
    return;
  }
  void node;
  const from = requireAddress(L, src);
  copyBytes(L, to, dst.offset, from, src.offset, size);
}

/**
 * Copies `size` bytes between two addresses, in the widest accesses that keep both
 * `dstAlign`/`srcAlign` (their offsets from 8-byte-aligned objects) aligned.
 */
export function copyBytes(L: BodyLowering, to: Value, dstAlign: number, from: Value, srcAlign: number, size: number): void {
  const b = L.b;
  let off = 0;
  while (off < size) {
    const w = widest(size - off, dstAlign + off, srcAlign + off);
    const it = intTypeOfSize(w);
    b.store(b.load(it, from, off), to, off);
    off += w;
  }
}

/** Stores zeros over `size` bytes at `to` (an object aligned to 8 plus `align`). */
export function zeroFill(L: BodyLowering, to: Value, align: number, size: number): void {
  const b = L.b;
  let off = 0;
  while (off < size) {
    const w = widest(size - off, align + off, align + off);
    b.store(b.const(0, intTypeOfSize(w)), to, off);
    off += w;
  }
}

function widest(remaining: number, a: number, c: number): number {
  for (const w of [8, 4, 2, 1]) if (remaining >= w && a % w === 0 && c % w === 0) return w;
  return 1;
}

/**
 * `ffi.new(T)`: a zero-filled stack object, one per call site (the site's slot is
 * re-zeroed each time the call runs).
 */
export function newStackObject(L: BodyLowering, type: CType, node: lua.Node): Place {
  const size = cSizeof(type);
  if (size === 0) return L.fail(node, `ffi.new needs a type with a size, not '${describeCType(type)}'`);
  const obj = L.at(node, () => L.allocateObject(size, cAlignof(type), node));
  zeroFill(L, obj, 0, size);
  return { region: "stack", base: obj, offset: 0, type, nonNull: L.b.const(1) };
}

/** The address of a place as a helper argument (stack, map value), checked non-null. */
export function placeAddress(L: BodyLowering, place: Place, node: lua.Node, what: string): Value {
  if (place.region === "ctx" || place.region === "memory" || place.region === "btf") {
    return L.fail(node, `${what} needs a buffer on the stack or in a map value, not ${place.region === "ctx" ? "the context" : "memory behind a pointer"}`);
  }
  return requireAddress(L, place);
}

export { isAggregate, isInt };
