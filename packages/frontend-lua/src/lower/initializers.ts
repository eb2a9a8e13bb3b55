/**
 * `ffi.new(T, init...)`: LuaJIT's initializer rules (its `lj_cconv_ct_init` /
 * `lj_cconv_ct_tv`), applied to a zero-filled stack object at compile time — every store
 * goes to a constant offset, values may be run-time values.
 *
 * A *flat list* (the arguments after the type):
 * - a scalar takes exactly one value, converted to its C type;
 * - an aggregate given one table, one C object of its own type (a copy) or, for a char
 *   array, one string (its bytes and a NUL, cut at the array's size) takes it as below;
 * - otherwise an array takes its elements from index 0 (one value is repeated over all of
 *   them), a struct its fields in declaration order (anonymous members flattened), a union
 *   its first field.
 *
 * A *table* `{...}`: positional when it has `[0]` (zero-based) or `[1]` (one-based), the
 * values taken in order up to the first nil — an array's elements (exactly one is
 * repeated over all), a struct's fields; otherwise a struct or union takes each field by
 * name (through anonymous members). A nested aggregate takes one initializer: a table, a
 * C object of its type, or a string for a char array.
 *
 * Members not given stay zero. Differences from LuaJIT, which ignores them silently:
 * excess values, names the type does not have, tables mixing positional and named
 * entries and a union given two members are located errors here, as is a value of the
 * wrong kind (a table for a number, a number for a struct member).
 */
import { cFindMember, cResolve, cScalarInt, cSizeof, describeCType, intTypeOfSize, type CMember, type CRecord, type CType } from "@luabpf/ir";
import type * as lua from "luaparse";
import { constantValue } from "../runtime.js";
import type { StaticValue } from "../values.js";
import type { BodyLowering } from "./body.js";
import { copyPlace, describeRValue, fieldPlace, requireAddress, storeToPlace } from "./memory.js";
import { stringBytes } from "./strings.js";
import { staticValue, type Place, type RValue } from "./values.js";

/** One initializer: a table (its entries not yet applied) or a value. */
export type Initializer =
  | { readonly kind: "table"; readonly node: lua.Node; readonly positional: ReadonlyMap<number, Initializer>; readonly named: ReadonlyMap<string, Initializer> }
  | { readonly kind: "value"; readonly node: lua.Node; readonly value: RValue };

/** The initializer an argument of `ffi.new` stands for: table constructors stay unevaluated tables. */
export function initializerOf(L: BodyLowering, node: lua.Expression): Initializer {
  if (node.type === "TableConstructorExpression") {
    const positional = new Map<number, Initializer>();
    const named = new Map<string, Initializer>();
    let next = 1;
    for (const f of node.fields) {
      let key: number | string;
      if (f.type === "TableValue") key = next++;
      else if (f.type === "TableKeyString") key = f.key.name;
      else {
        const k = L.expression(f.key);
        if (k.kind === "static" && k.value.kind === "string") key = k.value.value;
        else if (k.kind === "static" && k.value.kind === "integer") key = Number(k.value.value);
        else {
          const c = k.kind === "dyn" || k.kind === "cond" ? constantKey(L, k, f.key) : undefined;
          if (c === undefined) return L.fail(f.key, "an initializer's keys must be constant member names or indices");
          key = c;
        }
      }
      if (f.value.type === "NilLiteral") continue; // nil makes no entry, as in a Lua table
      const init = initializerOf(L, f.value);
      const into: Map<number | string, Initializer> = (typeof key === "number" ? positional : named) as Map<number | string, Initializer>;
      if (into.has(key)) return L.fail(f.type === "TableValue" ? f.value : f.key, `the initializer gives ${typeof key === "number" ? `[${key}]` : `'${key}'`} twice`);
      into.set(key, init);
    }
    return { kind: "table", node, positional, named };
  }
  const value = L.expression(node);
  if (value.kind === "static" && value.value.kind === "table") return fromStatic(value.value, node);
  return { kind: "value", node, value };
}

function constantKey(L: BodyLowering, k: RValue, node: lua.Node): number | undefined {
  const c = constantValue(L.number(k, node, "use as an initializer key"));
  return c === undefined ? undefined : Number(c);
}

/** A top-level table (a compile-time value) as an initializer. */
function fromStatic(v: StaticValue, node: lua.Node): Initializer {
  if (v.kind !== "table") return { kind: "value", node, value: staticValue(v) };
  const positional = new Map<number, Initializer>();
  const named = new Map<string, Initializer>();
  for (const { key, value } of v.table.entries.values()) {
    if (key.kind === "integer") positional.set(Number(key.value), fromStatic(value, node));
    else if (key.kind === "string") named.set(key.value, fromStatic(value, node));
  }
  return { kind: "table", node, positional, named };
}

/** Applies `ffi.new`'s flat list of initializers to the zero-filled stack object `place`. */
export function initializeNew(L: BodyLowering, place: Place, inits: readonly Initializer[]): void {
  const r = cResolve(place.type);
  if (r.kind !== "struct" && r.kind !== "union" && r.kind !== "array") {
    if (inits.length > 1) return L.fail(inits[1]!.node, `too many initializers for '${describeCType(place.type)}' (a scalar takes one value)`);
    return convert(L, place, inits[0]!, undefined);
  }
  if (inits.length === 1 && takesWhole(place.type, inits[0]!)) return convert(L, place, inits[0]!, undefined);
  if (r.kind === "array") {
    const count = r.count ?? 0;
    if (inits.length > count) return L.fail(inits[count]!.node, `too many initializers for '${describeCType(place.type)}' (${count} element${count === 1 ? "" : "s"})`);
    const elems = elementPlaces(place, r.element, count);
    if (inits.length === 1) for (const e of elems) convert(L, e, inits[0]!, undefined);
    else inits.forEach((init, i) => convert(L, elems[i]!, init, undefined));
    return;
  }
  const fields = flatFields(L, place, inits[0]!.node);
  if (inits.length > fields.length) return L.fail(inits[fields.length]!.node, `too many initializers for '${describeCType(place.type)}' (${fields.length === 1 ? "one member takes" : `${fields.length} members take`} values in order)`);
  inits.forEach((init, i) => convert(L, fields[i]!.place, init, fields[i]!.name));
}

/** An aggregate that takes one initializer whole: a table, a C object of its type, a string for a char array. */
function takesWhole(t: CType, init: Initializer): boolean {
  if (init.kind === "table") return true;
  const v = init.value;
  if (v.kind === "place" && sameType(v.place.type, t)) return true;
  return v.kind === "static" && v.value.kind === "string" && isCharArray(t);
}

function sameType(a: CType, b: CType): boolean {
  const ra = cResolve(a);
  const rb = cResolve(b);
  return ra === rb || (describeCType(ra) === describeCType(rb) && cSizeof(ra) === cSizeof(rb) && ra.kind === rb.kind);
}

function isCharArray(t: CType): boolean {
  const r = cResolve(t);
  return r.kind === "array" && cScalarInt(r.element)?.size === 1;
}

/** One member or element given one initializer (LuaJIT's conversion of a single value). */
function convert(L: BodyLowering, place: Place, init: Initializer, member: string | undefined): void {
  const r = cResolve(place.type);
  const what = `'${describeCType(place.type)}'${member !== undefined ? ` (member '${member}')` : ""}`;
  const aggregate = r.kind === "struct" || r.kind === "union" || r.kind === "array";
  if (init.kind === "table") {
    if (!aggregate) return L.fail(init.node, `cannot initialize ${what} with a table: it takes one value`);
    return table(L, place, init);
  }
  const v = init.value;
  if (aggregate) {
    if (v.kind === "place" && sameType(v.place.type, place.type)) return copyPlace(L, place, v.place, cSizeof(place.type), init.node);
    if (v.kind === "static" && v.value.kind === "string" && isCharArray(place.type)) return storeString(L, place, v.value.value);
    return L.fail(init.node, `cannot initialize ${what} with ${describeRValue(L, v)}: use a table {...} or C data of the same type`);
  }
  if (v.kind === "static" && v.value.kind === "nil") return; // stays zero
  if (v.kind === "pointer") {
    if (r.kind !== "pointer") return L.fail(init.node, `cannot initialize ${what} with ${describeRValue(L, v)}`);
    return storeToPlace(L, place, L.ops.number(v.pointer.addr), init.node);
  }
  storeToPlace(L, place, v, init.node);
}

/** A table initializer of an aggregate (see the file comment). */
function table(L: BodyLowering, place: Place, init: Extract<Initializer, { kind: "table" }>): void {
  const r = cResolve(place.type);
  const base = init.positional.has(0) ? 0 : 1;
  const isPositional = init.positional.has(0) || init.positional.has(1);
  // The values in order up to the first gap; any entry after it is an error.
  const ordered: Initializer[] = [];
  if (isPositional) while (init.positional.has(base + ordered.length)) ordered.push(init.positional.get(base + ordered.length)!);
  for (const [k, v] of init.positional) {
    if (!isPositional || k < base || k >= base + ordered.length) {
      return L.fail(v.node, isPositional ? `initializer [${k}] is not used: positional initializers run from [${base}] up to the first nil` : `initializer [${k}] is not used: a table initializer is positional from [0] or [1]`);
    }
  }
  if (r.kind === "array") {
    const first = init.named.keys().next();
    if (!first.done) return L.fail(init.named.get(first.value)!.node, `an array initializer takes values in order, not a member name ('${first.value}')`);
    const count = r.count ?? 0;
    if (ordered.length > count) return L.fail(ordered[count]!.node, `too many initializers for '${describeCType(place.type)}' (${count} element${count === 1 ? "" : "s"})`);
    const elems = elementPlaces(place, r.element, count);
    if (ordered.length === 1) for (const e of elems) convert(L, e, ordered[0]!, undefined);
    else ordered.forEach((v, i) => convert(L, elems[i]!, v, undefined));
    return;
  }
  if (r.kind !== "struct" && r.kind !== "union") throw new Error("table initializer of a scalar");
  if (isPositional) {
    if (init.named.size > 0) {
      const name = init.named.keys().next().value as string;
      return L.fail(init.named.get(name)!.node, `the initializer of '${describeCType(place.type)}' mixes values in order and by name ('${name}'); use one or the other`);
    }
    const fields = flatFields(L, place, init.node);
    if (ordered.length > fields.length) return L.fail(ordered[fields.length]!.node, `too many initializers for '${describeCType(place.type)}' (${fields.length === 1 ? "one member takes" : `${fields.length} members take`} values in order)`);
    ordered.forEach((v, i) => convert(L, fields[i]!.place, v, fields[i]!.name));
    return;
  }
  // A union (this one, or an anonymous one inside) takes one member.
  const unionTaken = new Map<CRecord, string>();
  for (const [name, v] of init.named) {
    const field = fieldPlace(L, place, name, v.node); // a located error for a name the type does not have
    if (field.kind !== "place") throw new Error("field of a stack object is not a place");
    for (const u of unionsOf(r, name)) {
      const other = unionTaken.get(u);
      if (other !== undefined) return L.fail(v.node, `a union is initialized through one member: '${other}' and '${name}' are both given`);
      unionTaken.set(u, name);
    }
    convert(L, field.place, v, name);
  }
}

/** The unions member `name` of `r` lies in: `r` itself and the anonymous ones on the way. */
function unionsOf(r: CRecord, name: string): CRecord[] {
  const here = r.kind === "union" ? [r] : [];
  for (const m of r.members ?? []) {
    if (m.name === name) return here;
    if (m.name === undefined && m.bitSize === undefined) {
      const inner = cResolve(m.type);
      if ((inner.kind === "struct" || inner.kind === "union") && cFindMember(inner, name)) return [...here, ...unionsOf(inner, name)];
    }
  }
  return here;
}

/** The places of an array's elements. */
function elementPlaces(place: Place, element: CType, count: number): Place[] {
  const size = cSizeof(element);
  return Array.from({ length: count }, (_, i) => ({ ...place, whole: false, type: element, offset: place.offset + i * size }));
}

/** A record's members in declaration order as positional initializers see them (anonymous ones flattened, a union's first). */
function flatFields(L: BodyLowering, place: Place, node: lua.Node): { name: string | undefined; place: Place }[] {
  const r = cResolve(place.type);
  if (r.kind !== "struct" && r.kind !== "union") return [];
  const out: { name: string | undefined; place: Place }[] = [];
  for (const m of r.members ?? []) {
    if (m.bitSize !== undefined && m.name === undefined) continue; // padding bit-field
    const p = memberPlace(L, place, m, node);
    if (m.name === undefined) {
      const inner = cResolve(m.type);
      if (inner.kind === "struct" || inner.kind === "union") out.push(...flatFields(L, p, node));
      else out.push({ name: undefined, place: p });
    } else out.push({ name: m.name, place: p });
    if (r.kind === "union") break;
  }
  return out;
}

function memberPlace(L: BodyLowering, place: Place, m: CMember, node: lua.Node): Place {
  if (m.name !== undefined) {
    const f = fieldPlace(L, place, m.name, node);
    if (f.kind !== "place") throw new Error("field of a stack object is not a place");
    return f.place;
  }
  return { ...place, whole: false, type: m.type, offset: place.offset + m.offset };
}

/** A string into a char array: its bytes and a NUL, cut at the array's size (the rest is already zero). */
function storeString(L: BodyLowering, place: Place, s: string): void {
  const bytes = [...stringBytes(s), 0].slice(0, cSizeof(place.type));
  const addr = requireAddress(L, place);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) L.b.store(L.b.const(bytes[i]!, intTypeOfSize(1)), addr, 0 + i);
}
