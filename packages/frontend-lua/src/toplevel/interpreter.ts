/**
 * The top level of a program file, run at compile time.
 *
 * bcc runs a whole Lua script: its top level declares maps and programs (the kernel
 * part) and then usually reads the maps in a loop, prints, sleeps (the user-space part).
 * luabpf compiles the kernel part ahead of time, so it runs the top level with a small
 * Lua interpreter over compile-time values (values.ts): locals, assignments, tables,
 * `if`, loops, functions, strings and integers all work, and every `bpf.*` and `ffi.*`
 * declaration has its effect. What cannot run at compile time — I/O, the syscall
 * library, sleeping, reading or writing map elements — is *user-space code*: evaluating
 * it raises {@link UserSpace}, and the whole top-level statement it belongs to is
 * skipped, its variable writes undone (a write log of cells). A local whose value only
 * user-space code knows is bound to an `opaque` value, which a program body cannot use.
 * Writing map elements at the top level gets a warning, since the kernel programs would
 * otherwise see maps the script meant to initialise.
 *
 * The interpreter counts steps; a top level that does not finish within the budget (an
 * endless loop without I/O) is an error rather than a hang.
 */
import type * as lua from "luaparse";
import { CompileError, type Diagnostic } from "@luabpf/ir";
import { builtinCScope, CDeclError, CScope } from "../ctypes/index.js";
import { DiagnosticBag, errorAt, fail, locateInString, locationOf, silentError } from "../diagnostics.js";
import { evalBinary, parseNumericLiteral, wrap, ARITH_OPERATORS, type ArithOperator } from "../integer.js";
import type { ParsedChunk } from "../parse.js";
import { LOCATION_KEYS } from "../syntax.js";
import { Cell, Clock, describeStatic, Env, GlobalEnv, NIL, POISONED, StaticTable, type MapInfo, type ProgramDecl, type StaticValue } from "../values.js";
import { callLibrary, indexLibrary, LIBRARY_GLOBALS } from "./library.js";

/** Raised when evaluation reaches code that only user space can run. */
export class UserSpace extends Error {
  constructor(readonly what: string) {
    super(`user-space code: ${what}`);
  }
}

/** A Lua `error(...)` raised at compile time (pcall can catch it). */
export class LuaError extends Error {
  constructor(
    readonly value: StaticValue,
    readonly node: lua.Node,
  ) {
    super("lua error");
  }
}

class BreakSignal {}
class ReturnSignal {
  constructor(readonly values: StaticValue[]) {}
}

/** What the top level declared, in source order. */
export interface TopLevel {
  readonly maps: MapInfo[];
  readonly programs: ProgramDecl[];
  /** The file's C declarations (`ffi.cdef`). */
  readonly cscope: CScope;
}

/** How many statements and expressions one top-level statement may evaluate. */
const STEP_BUDGET = 2_000_000;
/** How deep compile-time function calls may nest. */
const CALL_DEPTH = 200;

/** Runs the top level of `parsed`, recording errors and warnings in `bag`. */
export function evaluateTopLevel(parsed: ParsedChunk, file: string, bag: DiagnosticBag, outerScope?: CScope): TopLevel {
  const t = new TopLevelInterpreter(file, parsed, bag, outerScope);
  t.run(parsed.chunk);
  assignMapNames(t.maps);
  return { maps: t.maps, programs: t.programs, cscope: t.cscope };
}

/** Names maps after the locals they were first bound to (uniquely), and unbound maps `map_N`. */
function assignMapNames(maps: readonly MapInfo[]): void {
  const taken = new Set<string>();
  const unique = (base: string): string => {
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
    taken.add(name);
    return name;
  };
  for (const m of maps) if (m.localName !== undefined) m.decl.name = unique(m.localName);
  maps.forEach((m, i) => {
    if (m.localName === undefined) m.decl.name = unique(`map_${i + 1}`);
  });
}

/** Mutable state of the statement being executed: its environment (a `local` may open a new frame). */
interface Frame {
  env: Env;
}

export class TopLevelInterpreter {
  readonly maps: MapInfo[] = [];
  readonly programs: ProgramDecl[] = [];
  readonly cscope: CScope;
  readonly clock: Clock;
  private readonly globals: Env;
  private readonly writeLog: Cell[] = [];
  private steps = 0;
  private depth = 0;

  constructor(
    readonly file: string,
    readonly parsed: ParsedChunk,
    readonly bag: DiagnosticBag,
    /** Where C names the file does not declare are looked up (the kernel's types, then the builtins). */
    outerScope: CScope = builtinCScope(),
  ) {
    this.cscope = new CScope(outerScope);
    const library = LIBRARY_GLOBALS();
    this.globals = new GlobalEnv(library.map, file);
    this.clock = new Clock(library.count);
  }

  fail(node: lua.Node, message: string): never {
    return fail(this.file, node, message);
  }

  warn(node: lua.Node, message: string): void {
    this.bag.add({ ...errorAt(this.file, node, message), severity: "warning" });
  }

  // ---- driver ----

  run(chunk: lua.Chunk): void {
    const frame: Frame = { env: new Env(this.globals) };
    for (const stmt of chunk.body) {
      // Each top-level statement gets the whole budget.
      this.steps = 0;
      const start = this.clock.now;
      const logStart = this.writeLog.length;
      try {
        this.statement(stmt, frame);
      } catch (e) {
        if (e instanceof UserSpace) {
          this.undo(start, logStart);
          this.skipped(stmt, e, frame);
          continue;
        }
        if (e instanceof ReturnSignal) return;
        if (e instanceof BreakSignal) continue;
        if (e instanceof LuaError) {
          this.bag.add(errorAt(this.file, e.node, `error at the top level: ${luaToString(e.value)}`));
          continue;
        }
        if (e instanceof CompileError) {
          // Later uses of the names this statement declares stay silent.
          if (stmt.type === "LocalStatement") for (const id of stmt.variables) this.declare(frame, id.name, POISONED);
          if (stmt.type === "FunctionDeclaration" && stmt.isLocal && stmt.identifier?.type === "Identifier") this.declare(frame, stmt.identifier.name, POISONED);
          for (const d of e.diagnostics) this.bag.add(d);
          continue;
        }
        throw e;
      }
    }
  }

  /** A skipped statement: its locals hold opaque values; map writes and program declarations inside get a warning. */
  private skipped(stmt: lua.Statement, e: UserSpace, frame: Frame): void {
    if (stmt.type === "LocalStatement") {
      for (const id of stmt.variables) this.declare(frame, id.name, { kind: "opaque", what: `a value computed by user-space code (it ${e.what})` });
    }
    const isMap = (name: string) => frame.env.lookup(name)?.current.kind === "map";
    if (writesMapElement(stmt, isMap)) {
      this.warn(stmt, "map elements written at the top level are user-space code, which luabpf does not compile: the kernel programs start with the map as the kernel creates it (empty or zero-filled); initialise it from user space or in a program");
    }
    const decl = findDeclarationCall(stmt);
    if (decl) this.warn(decl, "this declaration is inside user-space code (it depends on I/O or run-time state), so it is not compiled");
  }

  private undo(start: number, logStart: number): void {
    const cells = this.writeLog.splice(logStart);
    for (const c of cells) c.rollback(start);
  }

  private tick(node: lua.Node): void {
    if (++this.steps > STEP_BUDGET) this.fail(node, "the top level does not finish at compile time (an endless loop?); loops that run forever belong in user space, reading maps or waiting for events");
  }

  // ---- variables ----

  /** Declares local `name` in `frame`, opening a new frame when it shadows one of the same frame. */
  private declare(frame: Frame, name: string, value: StaticValue): void {
    if (frame.env.cells.has(name)) frame.env = new Env(frame.env);
    frame.env.cells.set(name, new Cell(name, value, this.clock));
  }

  private write(cell: Cell, value: StaticValue): void {
    cell.set(value, this.clock);
    this.writeLog.push(cell);
  }

  // ---- statements ----

  private block(stmts: readonly lua.Statement[], parent: Env): void {
    const frame: Frame = { env: new Env(parent) };
    for (const s of stmts) this.statement(s, frame);
  }

  statement(s: lua.Statement, frame: Frame): void {
    this.tick(s);
    switch (s.type) {
      case "LocalStatement": {
        const values = this.expressionList(s.init, frame.env);
        s.variables.forEach((id, i) => {
          const v = values[i] ?? NIL;
          if (v.kind === "map" && v.map.localName === undefined) v.map.localName = id.name;
          this.declare(frame, id.name, v);
        });
        return;
      }
      case "AssignmentStatement": {
        const values = this.expressionList(s.init, frame.env);
        s.variables.forEach((target, i) => this.assign(target, values[i] ?? NIL, frame.env));
        return;
      }
      case "CallStatement":
        this.call(s.expression, frame.env);
        return;
      case "FunctionDeclaration":
        return this.functionDeclaration(s, frame);
      case "IfStatement": {
        for (const clause of s.clauses) {
          if (clause.type === "ElseClause" || this.truthy(this.expression(clause.condition, frame.env), clause.condition)) {
            this.block(clause.body, frame.env);
            return;
          }
        }
        return;
      }
      case "WhileStatement":
        try {
          while (this.truthy(this.expression(s.condition, frame.env), s.condition)) {
            this.tick(s);
            this.block(s.body, frame.env);
          }
        } catch (e) {
          if (!(e instanceof BreakSignal)) throw e;
        }
        return;
      case "RepeatStatement":
        try {
          for (;;) {
            this.tick(s);
            const inner: Frame = { env: new Env(frame.env) };
            for (const st of s.body) this.statement(st, inner);
            if (this.truthy(this.expression(s.condition, inner.env), s.condition)) break;
          }
        } catch (e) {
          if (!(e instanceof BreakSignal)) throw e;
        }
        return;
      case "ForNumericStatement":
        return this.forNumeric(s, frame.env);
      case "ForGenericStatement":
        return this.forGeneric(s, frame.env);
      case "DoStatement":
        return this.block(s.body, frame.env);
      case "ReturnStatement":
        throw new ReturnSignal(this.expressionList(s.arguments, frame.env));
      case "BreakStatement":
        throw new BreakSignal();
      case "GotoStatement":
      case "LabelStatement":
        return this.fail(s, "goto and labels are not supported");
    }
  }

  private functionDeclaration(s: lua.FunctionDeclaration, frame: Frame): void {
    const id = s.identifier;
    if (s.isLocal && id?.type === "Identifier") {
      // `local function f` sees itself.
      this.declare(frame, id.name, NIL);
      const cell = frame.env.cells.get(id.name)!;
      this.write(cell, { kind: "function", node: s, env: frame.env, name: id.name });
      return;
    }
    if (!id) return;
    const fn: StaticValue = { kind: "function", node: s, env: frame.env, name: id.type === "Identifier" ? id.name : id.identifier.name };
    this.assign(id, fn, frame.env);
  }

  private assign(target: lua.Expression, value: StaticValue, env: Env): void {
    switch (target.type) {
      case "Identifier": {
        const cell = env.lookup(target.name);
        if (cell) {
          if (cell.current.kind === "poisoned") throw silentError();
          return this.write(cell, value);
        }
        // A new global.
        return this.globals.cells.set(target.name, new Cell(target.name, value, this.clock)), undefined;
      }
      case "MemberExpression":
      case "IndexExpression": {
        const base = this.expression(target.base, env);
        const key: StaticValue = target.type === "MemberExpression" ? { kind: "string", value: target.identifier.name } : this.expression(target.index, env);
        if (base.kind === "table") {
          if (StaticTable.keyOf(key) === undefined) {
            if (key.kind === "nil") this.fail(target, "table index is nil");
            throw new UserSpace("uses a table key known only at run time");
          }
          base.table.set(key, value);
          return;
        }
        if (base.kind === "map") throw new UserSpace(`writes elements of map '${base.map.localName ?? "?"}'`);
        if (base.kind === "opaque") throw new UserSpace(`changes ${base.what}`);
        if (base.kind === "poisoned") throw silentError();
        return this.fail(target, `attempt to index ${describeStatic(base)}`);
      }
      default:
        return this.fail(target, "cannot assign to this expression");
    }
  }

  private forNumeric(s: lua.ForNumericStatement, env: Env): void {
    const start = this.integer(s.start, env, "'for' initial value");
    const limit = this.integer(s.end, env, "'for' limit");
    const step = s.step ? this.integer(s.step, env, "'for' step") : 1n;
    if (step === 0n) this.fail(s.step ?? s, "'for' step is zero");
    try {
      for (let i = start; step > 0n ? i <= limit : i >= limit; i += step) {
        this.tick(s);
        const frame: Frame = { env: new Env(env) };
        this.declare(frame, s.variable.name, { kind: "integer", value: i });
        for (const st of s.body) this.statement(st, frame);
      }
    } catch (e) {
      if (!(e instanceof BreakSignal)) throw e;
    }
  }

  /** `for k, v in pairs(t)` / `ipairs(t)` over compile-time tables; anything else is user space. */
  private forGeneric(s: lua.ForGenericStatement, env: Env): void {
    const iter = s.iterators[0];
    const values = this.expressionList(s.iterators, env);
    const f = values[0] ?? NIL;
    const state = values[1] ?? NIL;
    if (f.kind !== "library" || (f.name !== "pairs@" && f.name !== "ipairs@") || state.kind !== "table") {
      if (f.kind === "opaque" || f.kind === "map" || state.kind === "map" || state.kind === "opaque") throw new UserSpace("iterates over run-time data");
      return this.fail(iter ?? s, "generic 'for' at the top level works on pairs(t) and ipairs(t) of tables");
    }
    const pairs: [StaticValue, StaticValue][] = [];
    if (f.name === "ipairs@") {
      for (let i = 1n; ; i++) {
        const v = state.table.get({ kind: "integer", value: i });
        if (v.kind === "nil") break;
        pairs.push([{ kind: "integer", value: i }, v]);
      }
    } else for (const { key, value } of state.table.entries.values()) pairs.push([key, value]);
    try {
      for (const [k, v] of pairs) {
        this.tick(s);
        const frame: Frame = { env: new Env(env) };
        s.variables.forEach((id, i) => this.declare(frame, id.name, i === 0 ? k : i === 1 ? v : NIL));
        for (const st of s.body) this.statement(st, frame);
      }
    } catch (e) {
      if (!(e instanceof BreakSignal)) throw e;
    }
  }

  // ---- expressions ----

  /** Evaluates expressions left to right; the last one contributes all its values. */
  expressionList(es: readonly lua.Expression[], env: Env): StaticValue[] {
    const out: StaticValue[] = [];
    es.forEach((e, i) => {
      if (i === es.length - 1) out.push(...this.multi(e, env));
      else out.push(this.expression(e, env));
    });
    return out;
  }

  /** All values of an expression (calls may return several). */
  private multi(e: lua.Expression, env: Env): StaticValue[] {
    if (e.type === "CallExpression" || e.type === "StringCallExpression" || e.type === "TableCallExpression") return this.call(e, env);
    if (e.type === "VarargLiteral") return this.fail(e, "varargs are not supported");
    return [this.expression(e, env)];
  }

  expression(e: lua.Expression, env: Env): StaticValue {
    this.tick(e);
    switch (e.type) {
      case "NumericLiteral": {
        const lit = parseNumericLiteral(e.raw);
        const suffix = this.parsed.cdataSuffix(e);
        if (lit.kind === "integer") return suffix ? { kind: "integer", value: lit.value, cdata: suffix } : { kind: "integer", value: lit.value };
        if (lit.kind === "overflow" && suffix) return { kind: "integer", value: wrap(BigInt(e.raw.trim())), cdata: suffix };
        if (lit.kind === "overflow") return this.fail(e, `integer literal ${e.raw} does not fit in 64 bits`);
        return { kind: "opaque", what: "a floating point number" };
      }
      case "StringLiteral":
        return { kind: "string", value: e.value };
      case "BooleanLiteral":
        return { kind: "boolean", value: e.value };
      case "NilLiteral":
        return NIL;
      case "VarargLiteral":
        return this.fail(e, "varargs are not supported");
      case "Identifier":
        return this.lookup(e, env);
      case "FunctionDeclaration":
        return { kind: "function", node: e, env, name: undefined };
      case "TableConstructorExpression":
        return this.table(e, env);
      case "MemberExpression":
        if (e.indexer === ":") return this.fail(e, "a method needs a call: obj:method(...)");
        return this.index(this.expression(e.base, env), { kind: "string", value: e.identifier.name }, e.identifier);
      case "IndexExpression":
        return this.index(this.expression(e.base, env), this.expression(e.index, env), e);
      case "CallExpression":
      case "StringCallExpression":
      case "TableCallExpression":
        return this.call(e, env)[0] ?? NIL;
      case "UnaryExpression":
        return this.unary(e, env);
      case "BinaryExpression":
        return this.binary(e, env);
      case "LogicalExpression": {
        const left = this.expression(e.left, env);
        const t = this.truthy(left, e.left);
        if (e.operator === "and" ? !t : t) return left;
        return this.expression(e.right, env);
      }
    }
  }

  private lookup(id: lua.Identifier, env: Env): StaticValue {
    const cell = env.lookup(id.name);
    if (!cell) return this.fail(id, `unknown global '${id.name}'`);
    const v = cell.current;
    if (v.kind === "poisoned") throw silentError();
    return v;
  }

  private table(e: lua.TableConstructorExpression, env: Env): StaticValue {
    const t = new StaticTable();
    let n = 1n;
    e.fields.forEach((f, i) => {
      if (f.type === "TableValue") {
        if (i === e.fields.length - 1) {
          for (const v of this.multi(f.value, env)) t.set({ kind: "integer", value: n++ }, v);
        } else t.set({ kind: "integer", value: n++ }, this.expression(f.value, env));
        return;
      }
      const key: StaticValue = f.type === "TableKeyString" ? { kind: "string", value: f.key.name } : this.expression(f.key, env);
      if (StaticTable.keyOf(key) === undefined) {
        if (key.kind === "nil") this.fail(f, "table index is nil");
        throw new UserSpace("uses a table key known only at run time");
      }
      t.set(key, this.expression(f.value, env));
    });
    return { kind: "table", table: t };
  }

  /** `base[key]` (also `base.name`). */
  index(base: StaticValue, key: StaticValue, node: lua.Node): StaticValue {
    switch (base.kind) {
      case "table":
        return base.table.get(key);
      case "library":
      case "ctype":
      case "cnamespace":
      case "string":
        return indexLibrary(this, base, key, node);
      case "map":
        throw new UserSpace(`reads elements of map '${base.map.localName ?? "?"}'`);
      case "opaque":
        return { kind: "opaque", what: base.what };
      case "poisoned":
        throw silentError();
      default: {
        const field = key.kind === "string" ? ` (field '${key.value}')` : "";
        return this.fail(node, `attempt to index ${describeStatic(base)}${field}`);
      }
    }
  }

  /** A call; returns all its results. */
  call(e: lua.CallExpression | lua.StringCallExpression | lua.TableCallExpression, env: Env): StaticValue[] {
    const args: lua.Expression[] = e.type === "CallExpression" ? e.arguments : e.type === "StringCallExpression" ? [e.argument] : [e.arguments];
    let f: StaticValue;
    let self: StaticValue | undefined;
    if (e.base.type === "MemberExpression" && e.base.indexer === ":") {
      self = this.expression(e.base.base, env);
      if (self.kind === "opaque" || self.kind === "map" || self.kind === "program") throw new UserSpace(`calls method '${e.base.identifier.name}' of ${describeStatic(self)}`);
      f = this.index(self, { kind: "string", value: e.base.identifier.name }, e.base);
    } else f = this.expression(e.base, env);
    const values = this.expressionList(args, env);
    if (self) values.unshift(self);
    return this.apply(f, values, e, args);
  }

  /** Calls `f` with `args` (`argNodes` locate them, when known). */
  apply(f: StaticValue, args: StaticValue[], node: lua.Node, argNodes: readonly lua.Expression[] = []): StaticValue[] {
    switch (f.kind) {
      case "function":
        return this.callFunction(f, args, node);
      case "library":
        return callLibrary(this, f.name, args, node, argNodes);
      case "opaque":
        throw new UserSpace(`calls ${f.what}`);
      case "poisoned":
        throw silentError();
      default:
        return this.fail(node, `attempt to call ${describeStatic(f)}`);
    }
  }

  callFunction(f: Extract<StaticValue, { kind: "function" }>, args: StaticValue[], node: lua.Node): StaticValue[] {
    if (++this.depth > CALL_DEPTH) {
      this.depth = 0;
      this.fail(node, "compile-time calls nest too deeply (endless recursion?)");
    }
    try {
      const frame: Frame = { env: new Env(f.env) };
      f.node.parameters.forEach((p, i) => {
        if (p.type === "Identifier") this.declare(frame, p.name, args[i] ?? NIL);
      });
      try {
        for (const s of f.node.body) this.statement(s, frame);
      } catch (e) {
        if (e instanceof ReturnSignal) return e.values;
        if (e instanceof BreakSignal) return [];
        throw e;
      }
      return [];
    } finally {
      this.depth--;
    }
  }

  private unary(e: lua.UnaryExpression, env: Env): StaticValue {
    const v = this.expression(e.argument, env);
    switch (e.operator) {
      case "not":
        return { kind: "boolean", value: !this.truthy(v, e.argument) };
      case "-":
        return { kind: "integer", value: wrap(-this.asInteger(v, e.argument, "perform arithmetic on")) };
      case "~":
        return { kind: "integer", value: ~this.asInteger(v, e.argument, "perform bitwise operation on") };
      case "#":
        if (v.kind === "string") return { kind: "integer", value: BigInt(v.value.length) };
        if (v.kind === "table") return { kind: "integer", value: v.table.length() };
        if (v.kind === "opaque" || v.kind === "map") throw new UserSpace("takes the length of run-time data");
        return this.fail(e, `attempt to get length of ${describeStatic(v)}`);
    }
  }

  private binary(e: lua.BinaryExpression, env: Env): StaticValue {
    const a = this.expression(e.left, env);
    const b = this.expression(e.right, env);
    const op = e.operator;
    if (op === "==" || op === "~=") {
      const eq = rawEqual(a, b);
      return { kind: "boolean", value: op === "==" ? eq : !eq };
    }
    if (op === "..") {
      const s = (v: StaticValue, n: lua.Node) => {
        if (v.kind === "string") return v.value;
        if (v.kind === "integer") return v.value.toString();
        if (v.kind === "opaque") throw new UserSpace("concatenates run-time data");
        return this.fail(n, `attempt to concatenate ${describeStatic(v)}`);
      };
      return { kind: "string", value: s(a, e.left) + s(b, e.right) };
    }
    if (op === "<" || op === "<=" || op === ">" || op === ">=") {
      if (a.kind === "string" && b.kind === "string") {
        const c = a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
        return { kind: "boolean", value: op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : c >= 0 };
      }
      const x = this.asInteger(a, e.left, "compare");
      const y = this.asInteger(b, e.right, "compare");
      return { kind: "boolean", value: op === "<" ? x < y : op === "<=" ? x <= y : op === ">" ? x > y : x >= y };
    }
    if (op === "/" || op === "^") {
      const x = this.asInteger(a, e.left, "perform arithmetic on");
      const y = this.asInteger(b, e.right, "perform arithmetic on");
      // Lua computes these in floating point; an exact integer result is kept.
      if (op === "/" && y !== 0n && x % y === 0n) return { kind: "integer", value: wrap(x / y) };
      if (op === "^" && y >= 0n && y < 64n) return { kind: "integer", value: wrap(x ** y) };
      throw new UserSpace("computes with floating point numbers");
    }
    if (ARITH_OPERATORS.has(op)) {
      const verb = "+-*//%".includes(op) ? "perform arithmetic on" : "perform bitwise operation on";
      return { kind: "integer", value: evalBinary(op as ArithOperator, this.asInteger(a, e.left, verb), this.asInteger(b, e.right, verb)) };
    }
    return this.fail(e, `operator '${op}' is not supported`);
  }

  /** `v` as an integer for `verb`; strings convert as in Lua. */
  asInteger(v: StaticValue, node: lua.Node, verb: string): bigint {
    if (v.kind === "integer") return v.value;
    if (v.kind === "string" && /^\s*-?(0[xX][0-9a-fA-F]+|[0-9]+)\s*$/.test(v.value)) return wrap(BigInt(v.value.trim().replace(/^-(0[xX])/, "-$1")));
    if (v.kind === "opaque") throw new UserSpace(`computes with ${v.what}`);
    if (v.kind === "map") throw new UserSpace("uses a map as a number");
    if (v.kind === "poisoned") throw silentError();
    return this.fail(node, `attempt to ${verb} ${describeStatic(v)}${nameHint(node)}`);
  }

  /** An expression that must be an integer. */
  integer(e: lua.Expression, env: Env, what: string): bigint {
    const v = this.expression(e, env);
    if (v.kind !== "integer") {
      if (v.kind === "opaque") throw new UserSpace(`uses ${v.what}`);
      return this.fail(e, `${what} must be an integer, not ${describeStatic(v)}`);
    }
    return v.value;
  }

  truthy(v: StaticValue, node: lua.Node): boolean {
    switch (v.kind) {
      case "nil":
        return false;
      case "boolean":
        return v.value;
      case "opaque":
        throw new UserSpace(`tests ${v.what}`);
      case "poisoned":
        throw silentError();
      default:
        void node;
        return true;
    }
  }

  /** Adds a diagnostic (used by the library for warnings). */
  report(d: Diagnostic): void {
    this.bag.add(d);
  }

  /**
   * A C declaration error at offset `e.offset` of the string `node` holds, located in the
   * Lua source: exactly for long strings (`[[ ... ]]`) and plain quoted strings, at the
   * string otherwise.
   */
  locatedCError(e: CDeclError, node: lua.Node): CompileError {
    return new CompileError({ severity: "error", message: `C declaration: ${e.message}`, location: locateInString(this.file, node, e.offset) ?? locationOf(this.file, node) });
  }

  /** The source location of `node`. */
  where(node: lua.Node) {
    return locationOf(this.file, node);
  }
}

function nameHint(node: lua.Node): string {
  return node.type === "Identifier" ? ` ('${node.name}')` : "";
}

/** Lua's raw equality on compile-time values. */
export function rawEqual(a: StaticValue, b: StaticValue): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case "integer":
      return a.value === (b as typeof a).value;
    case "string":
      return a.value === (b as typeof a).value;
    case "boolean":
      return a.value === (b as typeof a).value;
    case "nil":
      return true;
    case "table":
      return a.table === (b as typeof a).table;
    case "library":
      return a.name === (b as typeof a).name;
    case "map":
      return a.map === (b as typeof a).map;
    case "function":
      return a.node === (b as typeof a).node && a.env === (b as typeof a).env;
    case "ctype":
      return a.type === (b as typeof a).type;
    default:
      return a === b;
  }
}

/** `tostring` of a compile-time value. */
export function luaToString(v: StaticValue): string {
  switch (v.kind) {
    case "string":
      return v.value;
    case "integer":
      return v.value.toString() + (v.cdata ?? "");
    case "boolean":
      return String(v.value);
    case "nil":
      return "nil";
    default:
      return describeStatic(v);
  }
}

/** Does `stmt` assign to an element of a map (`m[k] = v` where `m` names a map)? */
function writesMapElement(stmt: lua.Statement, isMap: (name: string) => boolean): boolean {
  let found = false;
  walk(stmt, (n) => {
    if (n.type === "AssignmentStatement") {
      for (const t of n.variables) if (t.type === "IndexExpression" && t.base.type === "Identifier" && isMap(t.base.name)) found = true;
    }
  });
  return found;
}

/** The first `bpf.<program>(...)` or `bpf(...)` call inside `stmt`, if any. */
function findDeclarationCall(stmt: lua.Statement): lua.Node | undefined {
  let found: lua.Node | undefined;
  walk(stmt, (n) => {
    if (found || n.type !== "CallExpression") return;
    const b = n.base;
    if (b.type === "Identifier" && b.name === "bpf") found = n;
    if (b.type === "MemberExpression" && b.base.type === "Identifier" && b.base.name === "bpf" && /^(socket|tc|xdp|kprobe|kretprobe|uprobe|uretprobe|tracepoint|map)$/.test(b.identifier.name)) found = n;
  });
  return found;
}

function walk(node: unknown, visit: (n: lua.Node) => void): void {
  if (!node || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const x of node) walk(x, visit);
    return;
  }
  const n = node as lua.Node;
  if (typeof n.type === "string") visit(n);
  for (const [k, v] of Object.entries(n)) if (!LOCATION_KEYS.has(k)) walk(v, visit);
}

export { ARITH_OPERATORS };
