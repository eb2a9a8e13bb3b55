/**
 * Calls of Lua functions from program bodies: each call site's function, specialised on
 * what is known at compile time about its arguments, becomes an IR function (a BPF
 * function in `.text`, called with `call @f`); the `inline` pass later inlines the small
 * ones. A function is lowered once per distinct specialisation and reused.
 *
 * Arguments: a number is an i64 parameter; a value that may be nil or boolean at run
 * time, a tag and a payload; a comparison, an i64 0/1; C data on the stack or in a map
 * value, its address (a map value that may be absent also passes its null state); a C
 * pointer, its address. Everything known at compile time — maps, the context, library
 * functions, strings, nil, C types, other Lua functions, packet positions — is not
 * passed: the function is specialised on it. The program context is passed as a
 * trailing parameter when the function needs it (helpers such as perf_submit, packet
 * loads), and the tag of a result that may be nil or boolean is returned through a
 * caller stack slot passed last; both are dropped when unused.
 *
 * eBPF passes at most five arguments in registers (r1–r5). When a specialisation needs
 * more, the last integer values travel in a block of the caller's stack instead: the
 * caller stores them there and passes the block's address (before the context and the
 * tag slot); the callee loads them in its entry block. The verifier allows a callee to
 * read its caller's stack through such a pointer.
 *
 * Results: a number, a boolean (0/1), nil, or a tagged value (payload returned, tag
 * stored through the last parameter). C data cannot be returned (it would outlive the
 * callee's stack frame, or be a map value whose null state the caller cannot see).
 *
 * Recursion — a call of a function that is being lowered, directly or through others —
 * is a cycle in the call graph of the file's functions, which eBPF cannot run: a located
 * error naming the cycle.
 */
import { C_INTS, C_VOID, cPointerTo, cResolve, i64, Param, ptrType, type CType, type Function, type Type, type Value } from "@luabpf/ir";
import { MAX_CALL_ARGS } from "@luabpf/platform";
import type * as lua from "luaparse";
import { locationOf, type Located } from "../diagnostics.js";
import { constantValue, TAG_NUMBER, type Dyn } from "../runtime.js";
import type { FunctionValue, StaticValue } from "../values.js";
import { BodyLowering, type Binding } from "./body.js";
import { isAggregate, loadPointer, loadScalar, pointerTypeOf, requireAddress as requireAddressOf } from "./memory.js";
import { NIL_VALUE, staticValue, type Place, type RValue } from "./values.js";

/** How one argument is passed. */
type ArgPlan =
  | { readonly kind: "static"; readonly value: StaticValue; readonly key: string }
  | { readonly kind: "number"; readonly value: Value }
  | { readonly kind: "dyn"; readonly tag: Value; readonly payload: Value }
  | { readonly kind: "cond"; readonly value: Value }
  | { readonly kind: "place"; readonly place: Place; readonly ptr: Value; readonly nonNull: Value | undefined; readonly key: string }
  | { readonly kind: "pointer"; readonly addr: Value; readonly target: RValue & { kind: "pointer" } };

/** The result shape of a function instance. */
export type ResultKind = "nil" | "bool" | "number" | "dyn";

/** A lowered instance of a Lua function. */
export interface FunctionInstance {
  readonly fn: Function;
  readonly result: ResultKind;
  /** Whether the trailing context and result-tag parameters were kept. */
  readonly takesContext: boolean;
  readonly takesTagSlot: boolean;
  /** Indexes (among the values before the context) passed in a caller stack block, in block order. */
  readonly packed: readonly number[];
}

/** `f(args)` in a body. */
export function callLuaFunction(L: BodyLowering, f: FunctionValue, e: lua.Expression, argNodes: readonly lua.Expression[]): RValue {
  const node = f.node;
  if (node.parameters.some((p) => p.type === "VarargLiteral")) return L.fail(e, `function ${functionTitle(f, L.file)} takes varargs, which are not supported`);
  const values = argNodes.map((a) => L.expression(a));
  const plans = node.parameters.map((_p, i) => plan(L, values[i] ?? NIL_VALUE, argNodes[i] ?? e));
  const key = [L.unit.nodeId(node), L.closure.time, L.program.kindName, ...plans.map(planKey)].join("|");
  let inst = L.unit.instances.get(key);
  if (!inst) {
    const cycle = L.unit.activeCalls.indexOf(node);
    if (cycle >= 0) {
      const names = [...L.unit.activeCalls.slice(cycle), node].map((n) => functionTitle({ node: n } as FunctionValue, L.file));
      return L.fail(e, `recursive call: ${names.join(" → ")} (eBPF programs cannot recurse; use a loop)`);
    }
    inst = instantiate(L, f, plans, e);
    L.unit.instances.set(key, inst);
  }
  return L.at(e, () => emitCall(L, inst, plans));
}

function functionTitle(f: Pick<FunctionValue, "node"> & { name?: string | undefined }, file: string): string {
  const id = f.node.identifier;
  const name = f.name ?? (id?.type === "Identifier" ? id.name : id?.type === "MemberExpression" ? id.identifier.name : undefined);
  return name ? `'${name}'` : `(function at line ${f.node.loc || (f.node as Located).rangeStart !== undefined ? locationOf(file, f.node).line : "?"})`;
}

function plan(L: BodyLowering, v: RValue, node: lua.Node): ArgPlan {
  switch (v.kind) {
    case "static": {
      const s = v.value;
      if (s.kind === "integer") return { kind: "number", value: L.b.const(s.value) };
      if (s.kind === "packet" && s.position.index !== undefined) {
        return L.fail(node, "a packet position at a run-time offset cannot be passed to a function (pass the header fields you need)");
      }
      return { kind: "static", value: s, key: L.unit.staticKey(s) };
    }
    case "cond": {
      const k = constantValue(v.cond);
      if (k !== undefined) return { kind: "static", value: { kind: "boolean", value: k !== 0n }, key: `b${k}` };
      return { kind: "cond", value: v.cond };
    }
    case "dyn": {
      const tag = constantValue(v.tag);
      if (tag === TAG_NUMBER) return { kind: "number", value: v.payload };
      if (tag === 0n) return { kind: "static", value: { kind: "nil" }, key: "nil" };
      if (tag !== undefined) return { kind: "static", value: { kind: "boolean", value: tag === 2n }, key: `b${tag}` };
      return { kind: "dyn", tag: v.tag, payload: v.payload };
    }
    case "place": {
      const p = v.place;
      if (p.region === "ctx") {
        // A field of the context is passed as its value (`f(args[1])`, a pointer field as the
        // pointer); the context itself, or a struct or array in it, cannot be passed.
        if (isAggregate(p.type)) return L.fail(node, "context data cannot be passed to a function");
        if (cResolve(p.type).kind === "pointer") return plan(L, { kind: "pointer", pointer: loadPointer(L, p, node) }, node);
        return plan(L, { kind: "dyn", ...loadScalar(L, p, node, "abort") }, node);
      }
      const known = constantValue(p.nonNull) === 1n;
      const maybeNull = p.region === "map_value" && !known && p.offset === 0 && !p.index;
      const ptr = maybeNull ? p.base : requireAddressOf(L, p);
      const key = `P${p.region}:${L.unit.typeKey(p.type)}:${p.whole ? "w" : ""}${maybeNull ? "?" : ""}:${p.space ?? ""}`;
      return { kind: "place", place: p, ptr, nonNull: maybeNull ? p.nonNull : undefined, key };
    }
    case "pointer":
      return { kind: "pointer", addr: v.pointer.addr, target: v };
  }
}


function planKey(p: ArgPlan): string {
  switch (p.kind) {
    case "static":
      return `S${p.key}`;
    case "number":
    case "dyn":
    case "cond":
      return p.kind;
    case "place":
      return p.key;
    case "pointer":
      return `*${p.target.pointer.space}`;
  }
}

/** The IR parameter types of a plan. */
function paramTypes(p: ArgPlan): Type[] {
  switch (p.kind) {
    case "static":
      return [];
    case "number":
    case "cond":
    case "pointer":
      return [i64];
    case "dyn":
      return [i64, i64];
    case "place":
      return p.nonNull ? [pointerTypeOf(p.place.region), i64] : [pointerTypeOf(p.place.region)];
  }
}

function instantiate(L: BodyLowering, f: FunctionValue, plans: readonly ArgPlan[], e: lua.Expression): FunctionInstance {
  const unit = L.unit;
  const node = f.node;
  const base = f.name ?? (node.identifier?.type === "Identifier" ? node.identifier.name : "fn");
  const types = [...plans.flatMap(paramTypes), ptrType("ctx"), ptrType("stack")];
  const fn = unit.module.addFunction(unit.uniqueFunctionName(base), types, i64);
  const returns: { block: import("@luabpf/ir").BasicBlock; value: RValue; node: lua.Node }[] = [];
  const ctx = fn.params[types.length - 2]!;
  const tagSlot = fn.params[types.length - 1]!;
  ctx.name = "ctx";
  tagSlot.name = "result.tag";
  tagSlot.ctype = cPointerTo(TAG);
  const callee = new BodyLowering(unit, fn, L.program, { env: f.env, time: L.closure.time }, ctx, { kind: "function", returns });
  // Parameters become bindings of the callee's locals.
  const bindings: Binding[] = [];
  let k = 0;
  plans.forEach((p, i) => {
    const param = node.parameters[i];
    const name = param?.type === "Identifier" ? param.name : `arg${i}`;
    switch (p.kind) {
      case "static":
        bindings.push({ kind: "static", value: p.value });
        return;
      case "number":
      case "cond": {
        const v = fn.params[k++]!;
        v.name = name;
        v.ctype = p.kind === "number" ? LUA_NUMBER : C_INTS._Bool;
        bindings.push(callee.bindValue(name, p.kind === "number" ? callee.ops.number(v) : { kind: "cond", cond: v }));
        return;
      }
      case "dyn": {
        const tag = fn.params[k++]!;
        const payload = fn.params[k++]!;
        tag.name = `${name}.tag`;
        payload.name = name;
        tag.ctype = TAG;
        payload.ctype = LUA_NUMBER;
        bindings.push(callee.bindValue(name, { kind: "dyn", tag, payload }));
        return;
      }
      case "place": {
        const ptr = fn.params[k++]!;
        ptr.name = name;
        ptr.ctype = cPointerTo(p.place.type);
        const nonNull = p.nonNull ? fn.params[k++]! : callee.b.const(1);
        if (p.nonNull) {
          fn.params[k - 1]!.name = `${name}.nonnull`;
          fn.params[k - 1]!.ctype = C_INTS._Bool;
        }
        const place: Place = { ...p.place, base: ptr, offset: 0, nonNull, ...(p.nonNull ? {} : { index: undefined }) } as Place;
        bindings.push(callee.bindValue(name, { kind: "place", place: stripIndex(place) }, true));
        return;
      }
      case "pointer": {
        const addr = fn.params[k++]!;
        addr.name = name;
        addr.ctype = cPointerTo(p.target.pointer.target);
        bindings.push(callee.bindValue(name, { kind: "pointer", pointer: { ...p.target.pointer, addr } }));
        return;
      }
    }
  });
  unit.activeCalls.push(node);
  try {
    callee.lowerBody(node, bindings);
  } finally {
    unit.activeCalls.pop();
  }
  const result = finishReturns(callee, returns, tagSlot);
  fn.cReturnType = RESULT_CTYPES[result];
  callee.finish();
  // Drop the trailing parameters the body did not use (the tag slot first, then the context).
  const takesTagSlot = tagSlot.hasUses;
  if (!takesTagSlot) fn.params.pop();
  const takesContext = takesTagSlot || ctx.hasUses;
  if (!takesContext) fn.params.pop();
  let packed: number[] = [];
  if (fn.params.length > MAX_CALL_ARGS) {
    const values = fn.params.length - (takesContext ? 1 : 0) - (takesTagSlot ? 1 : 0);
    // Enough integer values, the last ones first, to leave room for the block's address.
    const need = fn.params.length - MAX_CALL_ARGS + 1;
    const integers = fn.params.slice(0, values).flatMap((p, i) => (p.type.kind === "int" ? [i] : []));
    if (integers.length < need) {
      return L.fail(e, `function ${functionTitle(f, L.file)} would take ${fn.params.length} values, ${fn.params.length - integers.length} of them addresses; eBPF functions take at most ${MAX_CALL_ARGS} (pass fewer C data values)`);
    }
    packed = integers.slice(-need);
    packParameters(callee, fn, packed, values);
  }
  return { fn, result, takesContext, takesTagSlot, packed };
}

/**
 * Moves the parameters at `packed` (indexes among the first `values`) into a stack block
 * whose address becomes a parameter after the remaining values: fresh parameters replace
 * the old ones (their positions change), and the entry block loads the packed values.
 */
function packParameters(L: BodyLowering, fn: Function, packed: readonly number[], values: number): void {
  const old = fn.params.slice();
  fn.params.length = 0;
  const fresh = (p: Param): Param => {
    const q = new Param(fn.newValueId(), p.type, fn.params.length, p.name);
    if (p.ctype) q.ctype = p.ctype;
    fn.params.push(q);
    p.replaceAllUsesWith(q);
    return q;
  };
  old.slice(0, values).forEach((p, i) => {
    if (!packed.includes(i)) fresh(p);
  });
  const block = new Param(fn.newValueId(), ptrType("stack"), fn.params.length, "args");
  block.ctype = cPointerTo(TAG);
  fn.params.push(block);
  old.slice(values).forEach(fresh);
  const entry = fn.entry;
  const first = entry.firstNonPhi();
  if (first) L.b.before(first);
  else L.b.atEnd(entry);
  packed.forEach((i, slot) => old[i]!.replaceAllUsesWith(L.b.load(i64, block, slot * 8)));
}

/**
 * The C types of values passed between functions, for the BTF prototype of a function
 * (`Param.ctype`): a Lua number is a 64-bit signed integer, a boolean `_Bool`, the tag of a
 * value that may be nil or boolean a 64-bit unsigned integer (the context's pointer type
 * comes from the calling program's type, in the backend).
 */
const LUA_NUMBER: CType = C_INTS["long long"];
const TAG: CType = C_INTS["unsigned long long"];
const RESULT_CTYPES: Readonly<Record<ResultKind, CType>> = { nil: C_VOID, bool: C_INTS._Bool, number: LUA_NUMBER, dyn: LUA_NUMBER };

function stripIndex(p: Place): Place {
  const { index: _index, ...rest } = p;
  return rest as Place;
}

/** Emits the `ret` of every collected return, once the result kind is known. */
function finishReturns(L: BodyLowering, collected: readonly { block: import("@luabpf/ir").BasicBlock; value: RValue; node: lua.Node }[], tagSlot: Value): ResultKind {
  // The collected values are not operands of any instruction yet: a phi among them that the
  // SSA builder found trivial since (a loop whose body always returns) was replaced, so
  // look each one up in the builder's replacement table.
  const resolve = (v: Value): Value => L.ssa.resolve(v);
  const returns = collected.map((r) => ({ ...r, value: resolvedRValue(r.value, resolve) }));
  const shapes = returns.map((r) => shapeOf(L, r.value));
  const all = (k: string) => shapes.every((s) => s === k);
  const result: ResultKind = shapes.length === 0 || all("nil") ? "nil" : all("bool") ? "bool" : all("number") ? "number" : "dyn";
  for (const r of returns) {
    L.b.atEnd(r.block);
    const v = r.value;
    if (result === "nil") {
      L.b.ret(L.b.const(0));
      continue;
    }
    if (result === "bool") {
      L.b.ret(v.kind === "cond" ? v.cond : L.b.const(v.kind === "static" && v.value.kind === "boolean" && v.value.value ? 1 : 0));
      continue;
    }
    const d: Dyn = L.toDyn(v, r.node);
    if (result === "dyn") L.b.store(d.tag, tagSlot, 0);
    L.b.ret(d.payload);
  }
  return result;
}

function resolvedRValue(v: RValue, resolve: (v: Value) => Value): RValue {
  switch (v.kind) {
    case "cond":
      return { kind: "cond", cond: resolve(v.cond) };
    case "dyn":
      return { kind: "dyn", tag: resolve(v.tag), payload: resolve(v.payload) };
    default:
      return v;
  }
}

function shapeOf(L: BodyLowering, v: RValue): "nil" | "bool" | "number" | "other" {
  if (v.kind === "cond") return "bool";
  if (v.kind === "static") return v.value.kind === "nil" ? "nil" : v.value.kind === "boolean" ? "bool" : v.value.kind === "integer" ? "number" : "other";
  if (v.kind === "dyn") {
    const t = L.ops.knownType(v);
    return t === "number" ? "number" : t === "nil" ? "nil" : t === "boolean" ? "other" : "other";
  }
  return "other";
}

/** The call of an instance with the caller's argument values. */
function emitCall(L: BodyLowering, inst: FunctionInstance, plans: readonly ArgPlan[]): RValue {
  const args: Value[] = [];
  for (const p of plans) {
    switch (p.kind) {
      case "static":
        break;
      case "number":
      case "cond":
        args.push(p.value);
        break;
      case "dyn":
        args.push(p.tag, p.payload);
        break;
      case "place":
        args.push(p.ptr);
        if (p.nonNull) args.push(p.nonNull);
        break;
      case "pointer":
        args.push(p.addr);
        break;
    }
  }
  if (inst.packed.length > 0) {
    const block = L.slot("call-args", inst.packed.length * 8);
    inst.packed.forEach((i, slot) => L.b.store(args[i]!, block, slot * 8));
    const kept = args.filter((_, i) => !inst.packed.includes(i));
    args.length = 0;
    args.push(...kept, block);
  }
  let slot: Value | undefined;
  if (inst.takesContext) args.push(L.ctx);
  if (inst.takesTagSlot) {
    slot = L.slot("result-tag", 8);
    args.push(slot);
  }
  const r = L.b.callFunction(inst.fn.name, args, i64);
  switch (inst.result) {
    case "nil":
      return NIL_VALUE;
    case "bool":
      return { kind: "cond", cond: r };
    case "number":
      return L.ops.number(r);
    case "dyn":
      return { kind: "dyn", tag: L.b.load(i64, slot!, 0), payload: r };
  }
}

export { staticValue };
