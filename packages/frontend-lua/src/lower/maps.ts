/**
 * Map elements in program bodies: lookups (a map value reference, a place in memory.ts),
 * updates with scalars, strings and whole structs, deletes, and `xadd`.
 *
 *   m[k]           store K k, %keyslot (or the key object's own address)
 *                  %m = mapref @m ; %p = call ptr.map_value_or_null helper map_lookup_elem (%m, %key)
 *                  → a reference to the value at %p; reading it as a number:
 *                    condbr (ne %p, 0) → load V %p, 0 (+ sext/zext) ; join with phis (tag 3/0, value/0)
 *   m[k] = v       store V v, %valslot (or the value object's address) ; call helper map_update_elem (%m, %key, %val, BPF_ANY)
 *   m[k] = nil     call helper map_delete_elem (%m, %key)
 *   xadd(r, n)     condbr (ne %p, 0) → atomic.add V %p, n, off   (nothing happens when the element is absent)
 *
 * Keys and values are truncated to the declared widths. Scalar keys and values go
 * through stack slots, one per (purpose, size), reused by every access: each is written
 * right before the helper call that reads it.
 */
import { BPF_FUNC, mapType, UpdateFlag } from "@luabpf/platform";
import { cResolve, cScalarInt, cSizeof, describeCType, intTypeOfSize, ptrType, type CType, type Value } from "@luabpf/ir";
import type * as lua from "luaparse";
import { constantValue, TAG_NIL } from "../runtime.js";
import type { MapInfo } from "../values.js";
import type { BodyLowering } from "./body.js";
import { copyBytes, describeRValue, isAggregate, placeAddress, probeRead, requireAddress, scalarValue } from "./memory.js";
import { stringBytesInto, stringAsInteger } from "./strings.js";
import type { Place, RValue } from "./values.js";

/** Whether programs can look elements of `map` up (perf event arrays and ring buffers cannot). */
function checkLookup(L: BodyLowering, map: MapInfo, node: lua.Node, what: string): void {
  if (!mapType(map.decl.kind).canLookup()) {
    const hint = map.kind === "perf_event_array" ? "; send data with perf_submit(map, data)" : map.kind === "ringbuf" ? "; send data with perf_submit(map, data) (ringbuf_output)" : map.kind === "stack_trace" ? "; store stack ids with stack_id(map, flags)" : "";
    L.fail(node, `programs cannot ${what} elements of ${map.kind} map '${map.decl.name}'${hint}`);
  }
}

/** `m[k]`: a reference to the element's value, null when the key is absent. */
export function mapElement(L: BodyLowering, map: MapInfo, key: RValue, keyNode: lua.Node, node: lua.Node): RValue {
  checkLookup(L, map, node, "read");
  const keyPtr = keyAddress(L, map, key, keyNode);
  const m = L.b.mapRef(map.decl.name);
  const p = L.at(node, () => L.b.callHelper(BPF_FUNC.map_lookup_elem, [m, keyPtr], ptrType("map_value_or_null")));
  const place: Place = { region: "map_value", base: p, offset: 0, type: scalarView(map.value), nonNull: L.b.const(0), whole: true, map: map.decl.name };
  return { kind: "place", place };
}

/**
 * A one-element array of a scalar (`uint64_t [1]`, how bcc's own tests declare keys and
 * values) stands for its element: `m[k]` reads and `xadd`s it as a number.
 */
function scalarView(t: CType): CType {
  const r = cResolve(t);
  if (r.kind === "array" && r.count === 1 && cScalarInt(r.element)) return r.element;
  return t;
}

/** A pointer to the key bytes of `map` for `key`. */
export function keyAddress(L: BodyLowering, map: MapInfo, key: RValue, node: lua.Node): Value {
  const b = L.b;
  const size = cSizeof(map.key);
  if (key.kind === "place" && isAggregate(key.place.type)) {
    const ks = cSizeof(key.place.type);
    if (ks !== size) return L.fail(node, `the key is '${describeCType(key.place.type)}' (${ks} bytes), but map '${map.decl.name}' has ${size}-byte keys ('${describeCType(map.key)}')`);
    if (key.place.region === "stack" || key.place.region === "map_value") return requireAddress(L, key.place);
    const slot = L.slot("key", size);
    if (key.place.region === "memory" || key.place.region === "btf") probeRead(L, slot, b.const(size), requireAddress(L, key.place), key.place.region === "btf" ? "kernel" : (key.place.space ?? L.unit.addressSpace(L.program)), false);
    else copyBytes(L, slot, 0, requireAddress(L, key.place), key.place.offset, size);
    return slot;
  }
  if (key.kind === "static" && key.value.kind === "string") {
    const slot = L.slot("key", size);
    if (isAggregate(map.key)) stringBytesInto(L, slot, size, key.value.value, node);
    else storeScalar(L, slot, size, b.const(stringAsInteger(L, key.value.value, node, size)));
    return slot;
  }
  if (isAggregate(scalarView(map.key))) return L.fail(node, `map '${map.decl.name}' has '${describeCType(map.key)}' keys: build one with ffi.new and use it as the key, not ${describeRValue(L, key)}`);
  const slot = L.slot("key", size);
  storeScalar(L, slot, size, L.number(key, node, "use as a map key"));
  return slot;
}

function storeScalar(L: BodyLowering, slot: Value, size: number, v: Value): void {
  const it = intTypeOfSize(size);
  L.b.store(size === 8 ? v : L.b.cast("trunc", v, it), slot, 0);
}

/** A pointer to value bytes of `map` holding `value`. */
function valueAddress(L: BodyLowering, map: MapInfo, value: RValue, node: lua.Node): Value {
  const b = L.b;
  const size = cSizeof(map.value);
  if (value.kind === "place" && isAggregate(value.place.type)) {
    const vs = cSizeof(value.place.type);
    if (vs !== size) return L.fail(node, `the value is '${describeCType(value.place.type)}' (${vs} bytes), but map '${map.decl.name}' holds ${size}-byte values ('${describeCType(map.value)}')`);
    if (value.place.region === "stack" || value.place.region === "map_value") return requireAddress(L, value.place);
    const slot = L.slot("value", size);
    if (value.place.region === "memory" || value.place.region === "btf") probeRead(L, slot, b.const(size), requireAddress(L, value.place), value.place.region === "btf" ? "kernel" : (value.place.space ?? L.unit.addressSpace(L.program)), false);
    else copyBytes(L, slot, 0, requireAddress(L, value.place), value.place.offset, size);
    return slot;
  }
  if (value.kind === "static" && value.value.kind === "string" && isAggregate(map.value)) {
    const slot = L.slot("value", size);
    stringBytesInto(L, slot, size, value.value.value, node);
    return slot;
  }
  if (isAggregate(scalarView(map.value))) return L.fail(node, `map '${map.decl.name}' holds '${describeCType(map.value)}' values: store one built with ffi.new (or another map's value), not ${describeRValue(L, value)}`);
  const slot = L.slot("value", size);
  storeScalar(L, slot, size, scalarValue(L, value, node));
  return slot;
}

/** `m[k] = v`: update, or delete when the value is nil (decided at run time if need be). */
export function storeElement(L: BodyLowering, map: MapInfo, key: RValue, keyNode: lua.Node, valueIn: RValue, node: lua.Node): void {
  checkLookup(L, map, node, "write");
  // Another map's element read as a number is nil when absent: `m[k] = other[j]` then deletes.
  const value: RValue = valueIn.kind === "place" && valueIn.place.whole && !isAggregate(valueIn.place.type) ? { kind: "dyn", ...L.toDyn(valueIn, node) } : valueIn;
  const isNilConst = value.kind === "static" && value.value.kind === "nil";
  const mayBeNil = value.kind === "dyn" && constantValue(value.tag) === undefined;
  const update = () => {
    const k = keyAddress(L, map, key, keyNode);
    const v = valueAddress(L, map, value, node);
    const m = L.b.mapRef(map.decl.name);
    L.b.callHelper(BPF_FUNC.map_update_elem, [m, k, v, L.b.const(UpdateFlag.ANY)]);
  };
  const remove = () => {
    if (mapType(map.decl.kind).isArrayLike()) {
      // bcc emitted a delete, which the kernel refuses (EINVAL) without effect: nothing to do.
      L.unit.warn(node, `assigning nil to an element of ${map.kind} map '${map.decl.name}' does nothing: array elements always exist (store 0 to clear it)`);
      return;
    }
    const k = keyAddress(L, map, key, keyNode);
    const m = L.b.mapRef(map.decl.name);
    L.b.callHelper(BPF_FUNC.map_delete_elem, [m, k]);
  };
  if (isNilConst || (value.kind === "dyn" && constantValue(value.tag) === TAG_NIL)) return L.at(node, remove);
  if (!mayBeNil) return L.at(node, update);
  // Array elements always exist: a value that turns out nil leaves the element as it is.
  const arrayLike = mapType(map.decl.kind).isArrayLike();
  const d = value as Extract<RValue, { kind: "dyn" }>;
  L.at(node, () => {
    const isNil = L.b.compare("eq", d.tag, L.b.const(TAG_NIL));
    const del = L.newBlock();
    const upd = L.newBlock();
    const join = L.newBlock();
    L.condBranch(isNil, del, upd);
    L.seal(del);
    L.seal(upd);
    L.setCurrent(del);
    if (!arrayLike) remove();
    L.branch(join);
    L.setCurrent(upd);
    update();
    L.branch(join);
    L.seal(join);
    L.setCurrent(join);
  });
}

/**
 * `xadd(r, n)`: atomically adds `n` to the 32- or 64-bit value `r` refers to (a map
 * element, a field of one, or C data on the stack). Nothing happens when a map element is
 * absent. Returns nothing.
 */
export function atomicAdd(L: BodyLowering, target: RValue, n: Value, targetNode: lua.Node, node: lua.Node): void {
  const usage = "xadd(map[key], n)";
  if (target.kind !== "place") return L.fail(targetNode, `xadd needs a map element as its first argument: ${usage}`);
  const place = target.place;
  const ct = cScalarInt(place.type);
  const r = cResolve(place.type);
  if (!ct || place.bit) return L.fail(targetNode, `xadd needs a number to add to, not ${describeRValue(L, target)}: ${usage}`);
  if (ct.size < 4) {
    if (place.map !== undefined) return L.fail(targetNode, `xadd needs a 32- or 64-bit map value, but map '${place.map}' holds ${ct.size * 8}-bit values`);
    return L.fail(targetNode, `xadd needs a 32- or 64-bit number, but '${describeCType(place.type)}' is ${ct.size * 8}-bit`);
  }
  void r;
  if (place.region === "ctx" || place.region === "memory" || place.region === "btf") return L.fail(targetNode, `xadd cannot change ${describeRValue(L, target)}`);
  const it = intTypeOfSize(ct.size);
  const narrow = ct.size === 8 ? n : L.b.cast("trunc", n, it);
  L.at(node, () => {
    if (place.region !== "map_value" || constantValue(place.nonNull) === 1n) {
      L.b.atomic("atomic.add", placeAddress(L, place, targetNode, "xadd"), narrow, 0);
      return;
    }
    const addBB = L.newBlock();
    const join = L.newBlock();
    L.condBranch(L.ops.compare("ne", place.base, L.fn.constant(place.base.type, 0)), addBB, join);
    L.seal(addBB);
    L.setCurrent(addBB);
    const checkedPlace = { ...place, nonNull: L.b.const(1) };
    L.b.atomic("atomic.add", requireAddress(L, checkedPlace), narrow, 0);
    L.branch(join);
    L.seal(join);
    L.setCurrent(join);
  });
}
