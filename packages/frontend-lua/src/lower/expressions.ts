/**
 * Expressions of program bodies: literals, names, fields and indexing (of the context,
 * packet dissectors, maps, C data, compile-time tables and libraries), calls, and the
 * operators — Lua 5.4 integer arithmetic (runtime.ts), bcc's `/` (eBPF's unsigned
 * division), comparisons, equality (with strings and C data: strings.ts), `and`/`or`/`not`.
 */
import { BasicBlock, i32, i64, Instruction, type Value } from "@luabpf/ir";
import type * as lua from "luaparse";
import { silentError } from "../diagnostics.js";
import { contextField } from "../dissectors.js";
import { ARITH_OPERATORS, parseNumericLiteral, wrap, type ArithOperator } from "../integer.js";
import { constantValue, TAG_FALSE, TAG_NUMBER, type Dyn } from "../runtime.js";
import { describeStatic, StaticTable, type StaticValue } from "../values.js";
import type { BodyLowering } from "./body.js";
import { callLuaFunction } from "./calls.js";
import { callLibrary, libraryMember } from "./library.js";
import { mapElement } from "./maps.js";
import { derefPointer, describeRValue, elementPlace, fieldPlace } from "./memory.js";
import { contextPacketPointer, packetAdvance, packetCompare, packetIndex, packetMember, packetSlice } from "./packet.js";
import { compareWithString, isStringValue } from "./strings.js";
import { NIL_VALUE, staticValue, type RValue } from "./values.js";

const COMPARE_OPS = { "<": "slt", "<=": "sle", ">": "sgt", ">=": "sge" } as const;

/** Compile-time values that are plain data (they become run-time values in locals). */
export function isDataStatic(v: StaticValue): boolean {
  return v.kind === "integer" || v.kind === "boolean" || v.kind === "nil";
}

/** The run-time form of a compile-time value. */
export function staticToDyn(L: BodyLowering, v: StaticValue, node: lua.Node): Dyn {
  switch (v.kind) {
    case "integer":
      return { tag: L.b.const(TAG_NUMBER), payload: L.b.const(v.value) };
    case "boolean":
      return L.ops.boolDyn(L.b.const(v.value ? 1 : 0));
    case "nil":
      return L.nilDyn();
    case "string":
      return L.fail(node, "a string cannot be stored or used as a number here (strings can be compared, used as map keys, copied into C buffers and printed)");
    case "poisoned":
      throw silentError();
    case "map":
      return L.fail(node, "a map cannot be used as a value; read an element with map[key]");
    default:
      return L.fail(node, `${describeStatic(v)} cannot be used as a value`);
  }
}

export function expression(L: BodyLowering, e: lua.Expression): RValue {
  switch (e.type) {
    case "NumericLiteral": {
      const lit = parseNumericLiteral(e.raw);
      const suffix = L.unit.parsed.cdataSuffix(e);
      if (lit.kind === "float") return L.fail(e, "floating point numbers are not supported");
      if (lit.kind === "overflow") {
        // 18446744073709551615ULL: a uint64_t literal wraps like the cdata it is.
        if (suffix) return L.ops.number(L.b.const(wrap(BigInt(e.raw.trim()))));
        return L.fail(e, `integer literal ${e.raw} does not fit in 64 bits`);
      }
      return L.ops.number(L.b.const(lit.value));
    }
    case "StringLiteral":
      return staticValue({ kind: "string", value: e.value });
    case "BooleanLiteral":
      return { kind: "cond", cond: L.b.const(e.value ? 1 : 0) };
    case "NilLiteral":
      return NIL_VALUE;
    case "VarargLiteral":
      return L.fail(e, "varargs are not supported");
    case "TableConstructorExpression":
    case "TableCallExpression":
      return L.fail(e, "tables are not supported in program bodies (use a map, or ffi.new for a C struct)");
    case "FunctionDeclaration":
      return L.fail(e, "closures are not supported inside program bodies (declare the function at the top level)");
    case "Identifier":
      return identifier(L, e);
    case "MemberExpression":
      return member(L, e);
    case "IndexExpression":
      return index(L, e);
    case "CallExpression":
      return call(L, e, e.base, e.arguments);
    case "StringCallExpression":
      return call(L, e, e.base, [e.argument]);
    case "UnaryExpression":
      return unary(L, e);
    case "BinaryExpression":
      return binary(L, e);
    case "LogicalExpression":
      return logical(L, e);
  }
}

function identifier(L: BodyLowering, e: lua.Identifier): RValue {
  const binding = L.resolve(e);
  switch (binding.kind) {
    case "var":
      return { kind: "dyn", ...L.readVar(binding) };
    case "place":
      return { kind: "place", place: L.readPlace(binding) };
    case "pointer":
      return { kind: "pointer", pointer: { addr: L.ssa.read(binding.addr, L.current), target: binding.target, space: binding.space } };
    case "packet":
      return staticValue({ kind: "packet", position: { header: binding.header, offset: 0, index: L.ssa.read(binding.offset, L.current) } });
    case "static":
      return staticValue(binding.value);
  }
}

function member(L: BodyLowering, e: lua.MemberExpression): RValue {
  if (e.indexer === ":") return L.fail(e, "a method needs a call: obj:method(...)");
  const base = L.expression(e.base);
  const name = e.identifier.name;
  switch (base.kind) {
    case "place":
      return fieldPlace(L, base.place, name, e.identifier);
    case "pointer":
      return fieldPlace(L, derefPointer(L, base.pointer), name, e.identifier);
    case "dyn":
    case "cond":
      return L.fail(e.identifier, `attempt to index ${describeRValue(L, base)} (field '${name}')`);
    case "static":
      break;
  }
  const v = base.value;
  switch (v.kind) {
    case "context": {
      const layout = L.program.kind.context;
      const field = contextField(layout, name);
      if (!field) return L.fail(e.identifier, `unknown field '${name}' of the ${L.program.kindName} program context (struct ${layout.struct})`);
      if (field.pointer) return contextPacketPointer(L, field.pointer, name, e.identifier);
      return contextRead(L, field);
    }
    case "packet":
      return packetMember(L, v.position, name, e.identifier);
    case "library":
    case "ctype":
    case "cnamespace":
      return libraryMember(L, v, name, e.identifier);
    case "table":
      return tableValue(L, v.table.get({ kind: "string", value: name }), e);
    case "poisoned":
      throw silentError();
    default:
      return L.fail(e.identifier, `attempt to index ${describeStatic(v)} (field '${name}')`);
  }
}

/** A context field as a number (4-byte fields zero-extended). */
function contextRead(L: BodyLowering, field: { offset: number; size: 4 | 8 }): RValue {
  const b = L.b;
  if (field.size === 8) return L.ops.number(b.load(i64, L.ctx, field.offset));
  return L.ops.number(b.cast("zext", b.load(i32, L.ctx, field.offset), i64));
}

/** A value read from a compile-time table at run time. */
function tableValue(L: BodyLowering, v: StaticValue, node: lua.Node): RValue {
  if (v.kind === "poisoned") throw silentError();
  void L;
  void node;
  return staticValue(v);
}

function index(L: BodyLowering, e: lua.IndexExpression): RValue {
  const base = L.expression(e.base);
  if (base.kind === "static") {
    const v = base.value;
    if (v.kind === "map") return mapElement(L, v.map, L.expression(e.index), e.index, e);
    if (v.kind === "poisoned") throw silentError();
    if (v.kind === "packet") return packetIndex(L, v.position, L.expression(e.index), e);
    if (v.kind === "table") {
      const k = L.expression(e.index);
      if (k.kind === "static" && StaticTable.keyOf(k.value) !== undefined) return tableValue(L, v.table.get(k.value), e);
      const kc = k.kind === "dyn" ? constantValue(k.payload) : undefined;
      if (kc !== undefined && L.ops.knownType(k as Dyn) === "number") return tableValue(L, v.table.get({ kind: "integer", value: kc }), e);
      return L.fail(e.index, "a table of the top level can only be indexed with constants in program bodies");
    }
  }
  if (base.kind === "place") return elementPlace(L, base.place, L.expression(e.index), e.index, e);
  if (base.kind === "pointer") return elementPlace(L, derefPointer(L, base.pointer), L.expression(e.index), e.index, e, true);
  return L.fail(e, `attempt to index ${describeRValue(L, base)}; only maps, C arrays and C pointers can be indexed with []`);
}

function call(L: BodyLowering, e: lua.Expression, callee: lua.Expression, args: readonly lua.Expression[]): RValue {
  if (callee.type === "MemberExpression" && callee.indexer === ":") return L.fail(callee, "method calls are not supported");
  const f = L.expression(callee);
  if (f.kind === "static") {
    const v = f.value;
    switch (v.kind) {
      case "library":
        return callLibrary(L, v.name, e, callee, args);
      case "function":
        return callLuaFunction(L, v, e, args);
      case "packet":
        // bcc: `data(0, 4)` reads bytes of the packet at the dissector's position.
        return packetSlice(L, v.position, args, e);
      case "poisoned":
        throw silentError();
      default:
        return L.fail(callee, `attempt to call ${describeStatic(v)}`);
    }
  }
  return L.fail(callee, `attempt to call ${describeRValue(L, f)}`);
}

function unary(L: BodyLowering, e: lua.UnaryExpression): RValue {
  const v = L.expression(e.argument);
  switch (e.operator) {
    case "not":
      return { kind: "cond", cond: L.ops.not01(L.truthy(v, e.argument)) };
    case "-":
      return L.ops.number(L.ops.neg(L.number(v, e.argument, "perform arithmetic on")));
    case "~":
      return L.ops.number(L.ops.bnot(L.number(v, e.argument, "perform bitwise operation on")));
    case "#":
      if (v.kind === "static" && v.value.kind === "string") return L.ops.number(L.b.const(v.value.value.length));
      if (v.kind === "place" && v.place.type.kind === "array") return L.ops.number(L.b.const(v.place.type.count ?? 0));
      return L.fail(e, "the length operator '#' works on strings and C arrays only");
  }
}

function binary(L: BodyLowering, e: lua.BinaryExpression): RValue {
  const op = e.operator;
  if (op === "^") return L.fail(e, "exponentiation '^' is not supported (it works on floating point numbers)");
  if (op === "..") return L.fail(e, "string concatenation '..' is not supported in program bodies");
  const left = L.expression(e.left);
  const right = L.expression(e.right);
  if ((op === "+" || op === "-") && left.kind === "static" && left.value.kind === "packet") {
    // bcc: a dissector plus a number is a position further into the packet.
    return packetAdvance(L, left.value.position, L.number(right, e.right, "perform arithmetic on"), op === "-");
  }
  if (op === "/") {
    // bcc compiles `/` to eBPF's division: unsigned 64-bit, x / 0 == 0.
    const a = L.number(left, e.left, "perform arithmetic on");
    const b = L.number(right, e.right, "perform arithmetic on");
    const ka = constantValue(a);
    const kb = constantValue(b);
    if (ka !== undefined && kb !== undefined) return L.ops.number(L.b.const(kb === 0n ? 0n : wrap(BigInt.asUintN(64, ka) / BigInt.asUintN(64, kb))));
    if (kb === 1n) return L.ops.number(a);
    return L.ops.number(L.b.binary("udiv", a, b));
  }
  if (ARITH_OPERATORS.has(op)) {
    const verb = op === "+" || op === "-" || op === "*" || op === "//" || op === "%" ? "perform arithmetic on" : "perform bitwise operation on";
    const a = L.number(left, e.left, verb);
    const b = L.number(right, e.right, verb);
    return L.ops.number(L.ops.arith(op as ArithOperator, a, b));
  }
  // A position compared with the packet's end (`ptr < skb.data_end`): a bounds check.
  const bounds = packetCompare(L, op, left, right, e);
  if (bounds) return { kind: "cond", cond: bounds };
  if (op === "==" || op === "~=") {
    const eq = equal(L, left, right, e);
    return { kind: "cond", cond: op === "==" ? eq : L.ops.not01(eq) };
  }
  if (isStringValue(left) && isStringValue(right)) {
    const x = (left as { value: { value: string } }).value.value;
    const y = (right as { value: { value: string } }).value.value;
    const r = op === "<" ? x < y : op === "<=" ? x <= y : op === ">" ? x > y : x >= y;
    return { kind: "cond", cond: L.b.const(r ? 1 : 0) };
  }
  const cmp = COMPARE_OPS[op as keyof typeof COMPARE_OPS];
  const a = L.number(left, e.left, "compare");
  const b = L.number(right, e.right, "compare");
  return { kind: "cond", cond: L.ops.compare(cmp, a, b) };
}

/** Lua raw equality: same type and same value; strings against C data compare bytes. */
function equal(L: BodyLowering, left: RValue, right: RValue, node: lua.BinaryExpression): Value {
  if (isStringValue(left) || isStringValue(right)) return compareWithString(L, left, right, node);
  if (left.kind === "cond" && right.kind === "cond") return L.ops.compare("eq", left.cond, right.cond);
  const isNil = (v: RValue) => v.kind === "static" && v.value.kind === "nil";
  // A C reference or pointer compared with nil: is it NULL? (LuaJIT: a NULL pointer == nil.)
  for (const [x, y] of [
    [left, right],
    [right, left],
  ] as const) {
    if (isNil(y) && x.kind === "place") {
      if (x.place.whole && x.place.region === "map_value") return L.ops.compare("eq", x.place.base, L.fn.constant(x.place.base.type, 0));
      if (x.place.type.kind === "struct" || x.place.type.kind === "union" || x.place.type.kind === "array") return L.b.const(0);
    }
    if (isNil(y) && x.kind === "pointer") return L.ops.compare("eq", x.pointer.addr, L.b.const(0));
  }
  for (const x of [left, right]) {
    if (x.kind === "place" && (x.place.type.kind === "struct" || x.place.type.kind === "union" || x.place.type.kind === "array")) {
      return L.fail(node, `cannot compare ${describeRValue(L, x)} with ==; compare its fields (or a string with a char array)`);
    }
  }
  const a = L.toDyn(left, node.left);
  const b = L.toDyn(right, node.right);
  if (L.ops.knownType(a) === "number" && L.ops.knownType(b) === "number") return L.ops.compare("eq", a.payload, b.payload);
  return L.ops.equalDyn(a, b);
}

/** `a and b`, `a or b` as values: the operand that decides, with short-circuit evaluation. */
/**
 * `d` on an edge where its truthiness is known: when its tag is a complete phi of constant
 * tags (what `c and x` leaves behind), the tags of the other truthiness are impossible
 * there, and if one tag remains the value's type is known. So `c and 1 or 2` is a number,
 * not a value that may be false (which a call would pass as a tag and a payload).
 */
function narrowed(L: BodyLowering, d: Dyn, truthy: boolean): Dyn {
  const tag = d.tag;
  if (!(tag instanceof Instruction) || !tag.isPhi || !tag.block || !L.ssa.isSealed(tag.block)) return d;
  if (tag.operands.length !== tag.block.preds.length) return d;
  const kept = new Set<bigint>();
  for (const op of tag.operands) {
    const k = constantValue(op);
    if (k === undefined) return d;
    if (k > TAG_FALSE === truthy) kept.add(k);
  }
  return kept.size === 1 ? { tag: L.b.const([...kept][0]!), payload: d.payload } : d;
}

function logical(L: BodyLowering, e: lua.LogicalExpression): RValue {
  const isAnd = e.operator === "and";
  const left = L.expression(e.left);
  const t = L.truthy(left, e.left);
  const k = constantValue(t);
  if (k !== undefined) {
    const leftDecides = isAnd ? k === 0n : k !== 0n;
    if (!leftDecides) return L.expression(e.right);
    // The right operand is never evaluated; lower it in a dead block for its errors.
    const live = L.current;
    L.setCurrent(L.deadBlock());
    L.expression(e.right);
    L.setCurrent(live);
    return left;
  }
  const rightBB = L.newBlock();
  const join = L.newBlock();
  // On the edge that skips the right operand, the left one decides: for `and` it is
  // falsy, for `or` truthy. A boolean is then known exactly.
  const leftValue: Dyn = left.kind === "cond" ? L.ops.boolDyn(L.b.const(isAnd ? 0 : 1)) : narrowed(L, L.toDyn(left, e.left), !isAnd);
  const leftEnd = L.current;
  L.at(e, () => (isAnd ? L.condBranch(t, rightBB, join) : L.condBranch(t, join, rightBB)));
  L.seal(rightBB);
  L.setCurrent(rightBB);
  const right = L.expression(e.right);
  if (left.kind === "cond" && right.kind === "cond") {
    const rightEnd = L.current;
    L.branch(join);
    L.seal(join);
    L.setCurrent(join);
    const merged = L.mergeOne(
      [
        [leftEnd, L.b.const(isAnd ? 0 : 1)] as [BasicBlock, Value],
        [rightEnd, right.cond] as [BasicBlock, Value],
      ].filter(([bb]) => join.preds.includes(bb)),
    );
    return { kind: "cond", cond: merged };
  }
  const rightValue = L.at(e.right, () => L.toDyn(right, e.right));
  const rightEnd = L.current;
  L.branch(join);
  L.seal(join);
  L.setCurrent(join);
  return {
    kind: "dyn",
    ...L.merge([
      { block: leftEnd, value: leftValue },
      { block: rightEnd, value: rightValue },
    ]),
  };
}
