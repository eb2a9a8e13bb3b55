/**
 * Lowering of a program body (a Lua function) to an IR function `(ptr.ctx) -> i64`.
 *
 * A structured, single pass over the AST: statements become blocks and branches, and
 * expressions become values in the run-time model of runtime.ts. Local variables are
 * SSA variables of the Braun et al. builder (ssa.ts) — two per Lua local, its tag and its
 * payload — so no stack slots or copies are emitted for them. Blocks are sealed as soon as
 * their predecessors are known: join blocks after the branches into them, loop headers
 * after the back edge.
 *
 * Code after `return` or `break` is still lowered (so that its errors are reported) into
 * blocks without predecessors; branches out of such dead blocks are not emitted, and the
 * dead blocks are removed at the end.
 *
 * Every instruction carries the location of the expression or statement it came from.
 */
import { BasicBlock, Builder, type Function, type Module, removeUnreachableBlocks, i64, ptrType, type Value } from "@luabpf/ir";
import { BPF_FUNC } from "@luabpf/platform";
import type * as lua from "luaparse";
import { Accesses, type Emitter } from "./access.js";
import { HELPER_BUILTINS } from "./builtins.js";
import type { ProgramDecl } from "./compile-time.js";
import { fail, locationOf, silentError } from "./diagnostics.js";
import { contextField, HEADERS } from "./dissectors.js";
import { ARITH_OPERATORS, parseNumericLiteral, type ArithOperator } from "./integer.js";
import { constantValue, Operators, TAG_NIL, TAG_NUMBER, type Dyn, type RValue } from "./runtime.js";
import { removeTrivialPhis, SsaBuilder, type SsaVariable } from "./ssa.js";
import { describeStatic, type MapInfo, type StaticValue } from "./values.js";

/** What a name in a body refers to. */
type Binding =
  | { readonly kind: "var"; readonly tag: SsaVariable; readonly payload: SsaVariable }
  | { readonly kind: "static"; readonly value: StaticValue };

/** Builtins of program bodies (besides the top-level scope). */
const BODY_GLOBALS: ReadonlySet<string> = new Set(["pkt", "xadd", ...Object.keys(HELPER_BUILTINS)]);

const COMPARE_OPS = { "<": "slt", "<=": "sle", ">": "sgt", ">=": "sge" } as const;

const MIN_INTEGER = -(1n << 63n);
const MAX_INTEGER = (1n << 63n) - 1n;

/** The tests of a numeric `for` loop (see `forNumeric`). */
interface ForTests {
  /** Ends the current block: into the loop (`body`) or past it (`exit`). */
  enter(body: BasicBlock, exit: BasicBlock): void;
  /** Ends the current block after the iteration with counter `i`: to `exit` if it was the last, else to `next`. */
  latch(i: Value, exit: BasicBlock, next: BasicBlock): void;
}

/** Lowers program `decl` into a new function `name` of `module`. */
export function lowerProgram(module: Module, decl: ProgramDecl, name: string, file: string): Function {
  const fn = module.addFunction(name, [ptrType("ctx")], i64);
  fn.program = { section: decl.section, type: decl.kind.type };
  new BodyLowering(file, fn, decl).run();
  return fn;
}

class BodyLowering implements Emitter {
  readonly b: Builder;
  private readonly ssa: SsaBuilder;
  private readonly ops: Operators;
  private readonly access: Accesses;
  private cur: BasicBlock;
  private readonly scopes: Map<string, Binding>[] = [];
  private readonly loops: { exit: BasicBlock }[] = [];
  private readonly tagUndefined: Value;

  constructor(
    private readonly file: string,
    readonly fn: Function,
    private readonly decl: ProgramDecl,
  ) {
    this.b = new Builder(fn);
    this.ssa = new SsaBuilder(fn);
    this.ops = new Operators(this.b);
    this.cur = fn.createBlock();
    this.ssa.seal(this.cur);
    this.b.atEnd(this.cur);
    this.access = new Accesses(this, fn.params[0]!);
    // Unreachable code reads variables as numbers, so it reports no spurious type errors.
    this.tagUndefined = fn.constant(i64, TAG_NUMBER);
  }

  // ---- driver ----

  run(): void {
    const node = this.decl.fn.node;
    const params = node.parameters;
    this.b.loc = locationOf(this.file, node);
    const top = new Map<string, Binding>();
    this.scopes.push(top);
    const vararg = params.find((p) => p.type === "VarargLiteral");
    if (vararg) this.fail(vararg, "varargs are not supported");
    if (params.length > 1) this.fail(params[1]!, `a ${this.decl.kindName} program takes one parameter (its context), not ${params.length}`);
    const param = params[0];
    if (param && param.type === "Identifier") {
      this.fn.params[0]!.name = param.name;
      top.set(param.name, { kind: "static", value: { kind: "context" } });
    }
    this.block(node.body);
    if (!this.isDead(this.cur)) {
      this.b.loc = node.loc ? { file: this.file, line: node.loc.end.line, column: node.loc.end.column + 1 } : this.b.loc;
      this.b.ret(this.b.const(0));
    }
    removeUnreachableBlocks(this.fn);
    removeTrivialPhis(this.fn);
    layoutBlocks(this.fn);
  }

  private fail(node: lua.Node, message: string): never {
    return fail(this.file, node, message);
  }

  /** Runs `f` with the builder's location set to `node`. */
  private at<T>(node: lua.Node, f: () => T): T {
    const saved = this.b.loc;
    this.b.loc = locationOf(this.file, node);
    try {
      return f();
    } finally {
      this.b.loc = saved;
    }
  }

  // ---- blocks (Emitter) ----

  get current(): BasicBlock {
    return this.cur;
  }

  newBlock(): BasicBlock {
    return this.fn.createBlock();
  }

  setCurrent(bb: BasicBlock): void {
    this.cur = bb;
    this.b.atEnd(bb);
  }

  seal(bb: BasicBlock): void {
    this.ssa.seal(bb);
  }

  /** A block no branch reaches: code after return/break goes there and is removed later. */
  private deadBlock(): BasicBlock {
    const bb = this.newBlock();
    this.ssa.seal(bb);
    return bb;
  }

  private isDead(bb: BasicBlock): boolean {
    return bb !== this.fn.entry && this.ssa.isSealed(bb) && bb.preds.length === 0;
  }

  branch(target: BasicBlock): void {
    if (!this.isDead(this.cur)) this.b.br(target);
  }

  condBranch(cond: Value, ifTrue: BasicBlock, ifFalse: BasicBlock): void {
    if (this.isDead(this.cur)) return;
    const k = constantValue(cond);
    if (k !== undefined) this.b.br(k !== 0n ? ifTrue : ifFalse);
    else this.b.condBr(cond, ifTrue, ifFalse);
  }

  merge(incoming: readonly { block: BasicBlock; value: Dyn }[]): Dyn {
    const live = incoming.filter((x) => this.cur.preds.includes(x.block));
    // In code that cannot run any value will do; a number reports no spurious type error.
    if (live.length === 0) return { tag: this.tagUndefined, payload: this.b.const(0) };
    return { tag: this.mergeOne(live.map((x) => [x.block, x.value.tag])), payload: this.mergeOne(live.map((x) => [x.block, x.value.payload])) };
  }

  /** A phi of the current block over its predecessors, or the common value. */
  private mergeOne(incoming: [BasicBlock, Value][]): Value {
    if (incoming.length === 0) return this.b.const(0);
    const first = incoming[0]![1];
    if (incoming.every(([, v]) => v === first)) return first;
    const phi = this.b.phi(i64, this.cur);
    // One pair per predecessor edge, in predecessor order.
    for (const pred of this.cur.preds) {
      const entry = incoming.find(([bb]) => bb === pred);
      phi.addIncoming(entry ? entry[1] : this.b.const(0), pred);
    }
    return phi;
  }

  // ---- scopes and variables ----

  private withScope(f: () => void): void {
    this.scopes.push(new Map());
    try {
      f();
    } finally {
      this.scopes.pop();
    }
  }

  private lookupLocal(name: string): Binding | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const b = this.scopes[i]!.get(name);
      if (b) return b;
    }
    return undefined;
  }

  /** Resolves a name used in a body. */
  private resolve(id: lua.Identifier): Binding {
    const local = this.lookupLocal(id.name);
    if (local) return local;
    const captured = this.decl.fn.scope.get(id.name);
    if (captured) {
      if (captured.kind === "poisoned") throw silentError();
      return { kind: "static", value: captured };
    }
    if (BODY_GLOBALS.has(id.name)) {
      if (id.name === "pkt") {
        if (!this.decl.kind.packetAccess) this.fail(id, `'pkt' (packet access) is only available in socket and tc programs, not in ${this.decl.kindName} programs`);
        return { kind: "static", value: { kind: "packet", position: { header: "eth", offset: 0, index: undefined } } };
      }
      return { kind: "static", value: { kind: "builtin", name: id.name } };
    }
    if (id.name === "bpf") return { kind: "static", value: { kind: "module" } };
    return this.fail(id, `unknown global '${id.name}'`);
  }

  /** Declares a local bound to `value` in the innermost scope. */
  private declareLocal(id: lua.Identifier, value: RValue): void {
    const scope = this.scopes[this.scopes.length - 1]!;
    if (value.kind === "static" && !isData(value.value)) {
      scope.set(id.name, { kind: "static", value: value.value });
      return;
    }
    const binding: Binding = {
      kind: "var",
      tag: this.ssa.newVariable(i64, `${id.name}.tag`, this.tagUndefined),
      payload: this.ssa.newVariable(i64, id.name),
    };
    this.writeVar(binding, this.toDyn(value, id));
    scope.set(id.name, binding);
  }

  private writeVar(binding: Extract<Binding, { kind: "var" }>, d: Dyn): void {
    this.ssa.write(binding.tag, this.cur, d.tag);
    this.ssa.write(binding.payload, this.cur, d.payload);
  }

  private readVar(binding: Extract<Binding, { kind: "var" }>): Dyn {
    return { tag: this.ssa.read(binding.tag, this.cur), payload: this.ssa.read(binding.payload, this.cur) };
  }

  // ---- statements ----

  private block(stmts: readonly lua.Statement[]): void {
    for (const s of stmts) this.at(s, () => this.statement(s));
  }

  private statement(s: lua.Statement): void {
    switch (s.type) {
      case "LocalStatement": {
        const values = this.expressionList(s.init);
        s.variables.forEach((id, i) => this.declareLocal(id, values[i] ?? NIL_VALUE));
        return;
      }
      case "AssignmentStatement":
        return this.assignment(s);
      case "CallStatement":
        this.expression(s.expression);
        return;
      case "IfStatement":
        return this.ifStatement(s);
      case "ReturnStatement":
        return this.returnStatement(s);
      case "WhileStatement":
        return this.whileStatement(s);
      case "RepeatStatement":
        return this.repeatStatement(s);
      case "ForNumericStatement":
        return this.forNumeric(s);
      case "DoStatement":
        return this.withScope(() => this.block(s.body));
      case "BreakStatement": {
        const loop = this.loops[this.loops.length - 1];
        if (!loop) this.fail(s, "break outside a loop");
        this.branch(loop.exit);
        this.setCurrent(this.deadBlock());
        return;
      }
      case "ForGenericStatement":
        return this.fail(s, "generic for loops (for ... in) are not supported; use a numeric for loop");
      case "GotoStatement":
      case "LabelStatement":
        return this.fail(s, "goto and labels are not supported");
      case "FunctionDeclaration":
        return this.fail(s, "closures are not supported inside program bodies");
    }
  }

  /** Evaluates expressions left to right (for multiple assignment). */
  private expressionList(es: readonly lua.Expression[]): RValue[] {
    return es.map((e) => this.expression(e));
  }

  private assignment(s: lua.AssignmentStatement): void {
    // Lua evaluates every right-hand side before assigning.
    const values = this.expressionList(s.init);
    s.variables.forEach((target, i) => this.at(target, () => this.assign(target, values[i] ?? NIL_VALUE)));
  }

  private assign(target: lua.Identifier | lua.MemberExpression | lua.IndexExpression, value: RValue): void {
    switch (target.type) {
      case "Identifier": {
        const local = this.lookupLocal(target.name);
        if (local?.kind === "var") return this.writeVar(local, this.toDyn(value, target));
        if (local) return this.fail(target, `cannot assign to '${target.name}': it refers to ${describeStatic(local.value)}, which cannot change`);
        if (this.decl.fn.scope.has(target.name)) {
          return this.fail(target, `cannot assign to '${target.name}': top-level locals are compile-time constants (keep state in a map)`);
        }
        return this.fail(target, `assignment to global '${target.name}' is not supported (declare it with 'local')`);
      }
      case "IndexExpression": {
        const base = this.expression(target.base);
        if (base.kind !== "static" || base.value.kind !== "map") return this.fail(target, `cannot assign to an element of ${this.describe(base)}; only map elements can be assigned`);
        const map = base.value.map;
        const key = this.number(this.expression(target.index), target.index, "use as a map key");
        this.storeElement(map, key, value, target);
        return;
      }
      case "MemberExpression": {
        const base = this.expression(target.base);
        if (base.kind === "static" && base.value.kind === "context") return this.fail(target, `context fields are read-only ('${target.identifier.name}')`);
        return this.fail(target, `cannot assign to a field of ${this.describe(base)}`);
      }
    }
  }

  /** `map[key] = value`: update, or delete when the value is nil (decided at run time if need be). */
  private storeElement(map: MapInfo, key: Value, value: RValue, node: lua.Node): void {
    const d = this.toDyn(value, node);
    const tag = constantValue(d.tag);
    if (tag === TAG_NIL) return this.access.delete(map, key);
    if (tag !== undefined) return this.access.update(map, key, d.payload);
    const isNil = this.b.compare("eq", d.tag, this.b.const(TAG_NIL));
    const del = this.newBlock();
    const upd = this.newBlock();
    const join = this.newBlock();
    this.condBranch(isNil, del, upd);
    this.seal(del);
    this.seal(upd);
    this.setCurrent(del);
    this.access.delete(map, key);
    this.branch(join);
    this.setCurrent(upd);
    this.access.update(map, key, d.payload);
    this.branch(join);
    this.seal(join);
    this.setCurrent(join);
  }

  private ifStatement(s: lua.IfStatement): void {
    const end = this.newBlock();
    for (const clause of s.clauses) {
      if (clause.type === "ElseClause") {
        this.withScope(() => this.block(clause.body));
        this.branch(end);
        break;
      }
      const then = this.newBlock();
      const next = this.newBlock();
      this.at(clause.condition, () => this.condition(clause.condition, then, next));
      this.seal(then);
      this.seal(next);
      this.setCurrent(then);
      this.withScope(() => this.block(clause.body));
      this.branch(end);
      this.setCurrent(next);
    }
    if (s.clauses[s.clauses.length - 1]?.type !== "ElseClause") this.branch(end);
    this.seal(end);
    this.setCurrent(end);
  }

  private returnStatement(s: lua.ReturnStatement): void {
    if (s.arguments.length > 1) this.fail(s.arguments[1]!, "returning several values is not supported");
    const arg = s.arguments[0];
    let v: Value = this.b.const(0);
    if (arg) {
      const rv = this.expression(arg);
      v = this.at(arg, () => this.returnValue(rv, arg));
    }
    if (!this.isDead(this.cur)) this.b.ret(v);
    this.setCurrent(this.deadBlock());
  }

  /** The program's return value: numbers as they are, true/false as 1/0, nil as 0. */
  private returnValue(rv: RValue, node: lua.Node): Value {
    if (rv.kind === "cond") return rv.cond;
    return this.toDyn(rv, node).payload;
  }

  private loop(exit: BasicBlock, body: () => void): void {
    this.loops.push({ exit });
    try {
      body();
    } finally {
      this.loops.pop();
    }
  }

  private whileStatement(s: lua.WhileStatement): void {
    const header = this.newBlock();
    const body = this.newBlock();
    const exit = this.newBlock();
    this.branch(header);
    this.setCurrent(header);
    this.at(s.condition, () => this.condition(s.condition, body, exit));
    this.seal(body);
    this.setCurrent(body);
    this.loop(exit, () => this.withScope(() => this.block(s.body)));
    this.branch(header);
    this.seal(header);
    this.seal(exit);
    this.setCurrent(exit);
  }

  private repeatStatement(s: lua.RepeatStatement): void {
    const body = this.newBlock();
    const exit = this.newBlock();
    this.branch(body);
    this.setCurrent(body);
    // The condition sees the body's locals.
    this.loop(exit, () =>
      this.withScope(() => {
        this.block(s.body);
        this.at(s.condition, () => this.condition(s.condition, exit, body));
      }),
    );
    this.seal(body);
    this.seal(exit);
    this.setCurrent(exit);
  }

  /**
   * `for v = start, limit, step`, with Lua 5.4's meaning: the bounds and step are
   * evaluated once, and the loop runs while the next value would not pass the limit,
   * without overflowing (Lua precomputes an iteration count for that).
   *
   * The shape is the one clang gives a C loop, which the kernel verifier bounds cheaply:
   * a test on entry, then at the bottom of each iteration the counter itself is compared
   * with a loop-invariant bound, so that the verifier narrows the counter's range on the
   * branch it follows (no trip count, no division, no second induction variable):
   *
   *   step = 1:   exit when v >= limit        step = -1:  exit when v <= limit
   *   step = k:   exit when v > limit - k     (k < 0: when v < limit - k)
   *
   * `limit - k` is folded when the limit is a constant; at run time a separate test
   * catches its overflow (the next value would pass the limit, whatever `v`). A run-time
   * step picks the direction by its sign; a zero step (a Lua error) runs no iteration,
   * and a constant zero step is rejected.
   */
  private forNumeric(s: lua.ForNumericStatement): void {
    const start = this.number(this.expression(s.start), s.start, "use as a 'for' initial value");
    const limit = this.number(this.expression(s.end), s.end, "use as a 'for' limit");
    const step = s.step ? this.number(this.expression(s.step), s.step, "use as a 'for' step") : this.b.const(1);
    const k = constantValue(step);
    if (k === 0n) this.fail(s.step!, "'for' step is zero");
    const index = this.ssa.newVariable(i64, "for.index");
    const header = this.newBlock();
    const exit = this.newBlock();
    const tests = this.at(s, () => this.forTests(start, limit, step));
    this.ssa.write(index, this.cur, start);
    this.at(s, () => tests.enter(header, exit));
    // A loop that cannot run: its body is dead code, like code after `return`.
    const neverRuns = header.preds.length === 0;
    if (neverRuns) this.seal(header);
    this.setCurrent(header);
    this.loop(exit, () =>
      this.withScope(() => {
        // A fresh local per iteration: assignments to it do not affect the loop.
        this.declareLocal(s.variable, this.ops.number(this.ssa.read(index, this.cur)));
        this.block(s.body);
      }),
    );
    this.at(s, () => {
      const i = this.ssa.read(index, this.cur);
      const next = this.newBlock();
      tests.latch(i, exit, next);
      this.seal(next);
      this.setCurrent(next);
      this.ssa.write(index, this.cur, this.ops.arith("+", i, step));
      this.branch(header);
    });
    if (!neverRuns) this.seal(header);
    this.seal(exit);
    this.setCurrent(exit);
  }

  /**
   * The entry and bottom tests of a numeric `for` (see {@link forNumeric}); loop-invariant
   * values are computed now, in the block before the loop.
   */
  private forTests(start: Value, limit: Value, step: Value): ForTests {
    const b = this.b;
    const k = constantValue(step);
    if (k !== undefined) {
      const up = k > 0n;
      const beyond = up ? "sgt" : "slt";
      const enter = (body: BasicBlock, exit: BasicBlock): void => this.condBranch(this.ops.compare(up ? "sle" : "sge", start, limit), body, exit);
      if (k === 1n || k === -1n) {
        return { enter, latch: (i, exit, next) => this.condBranch(this.ops.compare(up ? "sge" : "sle", i, limit), exit, next) };
      }
      const kl = constantValue(limit);
      if (kl !== undefined) {
        // limit - k outside the 64-bit range: after the first value the next one always passes the limit.
        const bound = kl - k;
        if (bound < MIN_INTEGER || bound > MAX_INTEGER) return { enter, latch: (_i, exit) => this.branch(exit) };
        return { enter, latch: (i, exit, next) => this.condBranch(this.ops.compare(beyond, i, b.const(bound)), exit, next) };
      }
      const bound = b.sub(limit, step);
      // limit - k overflows exactly when the limit is within |k| of the end of the range.
      const overflow = up ? this.ops.compare("slt", limit, b.const(MIN_INTEGER + k)) : this.ops.compare("sgt", limit, b.const(MAX_INTEGER + k));
      return { enter, latch: (i, exit, next) => this.branchAny([overflow, () => this.ops.compare(beyond, i, bound)], exit, next) };
    }
    // Run-time step: its sign picks the direction at run time.
    const zero = b.const(0);
    const up = b.compare("sgt", step, zero);
    const bound = b.sub(limit, step);
    return {
      enter: (body, exit) => {
        const ifUp = this.newBlock();
        const ifNotUp = this.newBlock();
        this.condBranch(up, ifUp, ifNotUp);
        this.seal(ifUp);
        this.seal(ifNotUp);
        this.setCurrent(ifUp);
        this.condBranch(b.compare("sle", start, limit), body, exit);
        this.setCurrent(ifNotUp);
        // A zero step runs no iteration.
        this.branchAny([() => b.compare("eq", step, zero), () => b.compare("slt", start, limit)], exit, body);
      },
      latch: (i, exit, next) => {
        const ifUp = this.newBlock();
        const ifDown = this.newBlock();
        this.condBranch(up, ifUp, ifDown);
        this.seal(ifUp);
        this.seal(ifDown);
        // limit - step wrapped around iff it moved the wrong way.
        this.setCurrent(ifUp);
        this.branchAny([() => b.compare("sgt", bound, limit), () => b.compare("sgt", i, bound)], exit, next);
        this.setCurrent(ifDown);
        this.branchAny([() => b.compare("slt", bound, limit), () => b.compare("slt", i, bound)], exit, next);
      },
    };
  }

  /**
   * Branches to `ifAny` if any condition holds (tested in order, each in its own block,
   * so that every test is a branch the verifier learns from), else to `otherwise`.
   * A condition given as a function is computed in the block that tests it.
   */
  private branchAny(conds: readonly (Value | (() => Value))[], ifAny: BasicBlock, otherwise: BasicBlock): void {
    conds.forEach((c, n) => {
      const cond = typeof c === "function" ? c() : c;
      if (n === conds.length - 1) return this.condBranch(cond, ifAny, otherwise);
      const more = this.newBlock();
      this.condBranch(cond, ifAny, more);
      this.seal(more);
      this.setCurrent(more);
    });
  }

  // ---- conditions ----

  /** Branches to `ifTrue` or `ifFalse` on the truth of `e`, short-circuiting and/or/not. */
  private condition(e: lua.Expression, ifTrue: BasicBlock, ifFalse: BasicBlock): void {
    if (e.type === "UnaryExpression" && e.operator === "not") return this.condition(e.argument, ifFalse, ifTrue);
    if (e.type === "LogicalExpression") {
      const mid = this.newBlock();
      if (e.operator === "and") this.condition(e.left, mid, ifFalse);
      else this.condition(e.left, ifTrue, mid);
      this.seal(mid);
      this.setCurrent(mid);
      return this.condition(e.right, ifTrue, ifFalse);
    }
    const v = this.expression(e);
    this.at(e, () => this.condBranch(this.truthy(v), ifTrue, ifFalse));
  }

  // ---- values ----

  private describe(rv: RValue): string {
    if (rv.kind === "static") return describeStatic(rv.value);
    if (rv.kind === "cond") return "a boolean";
    const t = this.ops.knownType(rv);
    return t === undefined ? "a value" : t === "nil" ? "nil" : `a ${t}`;
  }

  /** The tagged run-time form of `rv`; compile-time objects cannot be run-time values. */
  private toDyn(rv: RValue, node: lua.Node): Dyn {
    switch (rv.kind) {
      case "dyn":
        return rv;
      case "cond":
        return this.ops.boolDyn(rv.cond);
      case "static": {
        const v = rv.value;
        switch (v.kind) {
          case "integer":
            return { tag: this.b.const(TAG_NUMBER), payload: this.b.const(v.value) };
          case "boolean":
            return this.ops.boolDyn(this.b.const(v.value ? 1 : 0));
          case "nil":
            return NIL_DYN(this.b);
          case "string":
            return this.fail(node, "strings are not supported in program bodies");
          case "poisoned":
            throw silentError();
          case "map":
            return this.fail(node, "a map cannot be used as a value; read an element with map[key]");
          default:
            return this.fail(node, `${describeStatic(v)} cannot be used as a value`);
        }
      }
    }
  }

  private truthy(rv: RValue): Value {
    if (rv.kind === "cond") return rv.cond;
    if (rv.kind === "static") {
      const v = rv.value;
      if (v.kind === "poisoned") throw silentError();
      return this.b.const(v.kind === "nil" || (v.kind === "boolean" && !v.value) ? 0 : 1);
    }
    return this.ops.truthyOfDyn(rv);
  }

  /**
   * `rv` as a number for `verb` ("perform arithmetic on", ...). Values known to be nil or
   * boolean are errors, like in Lua; values whose type is only known at run time are used
   * through their integer view (nil and false are 0, true is 1).
   */
  private number(rv: RValue, node: lua.Node, verb: string): Value {
    const what = (t: string): string => `attempt to ${verb} ${t}${this.nameHint(node)}`;
    if (rv.kind === "cond") return this.fail(node, what("a boolean value"));
    if (rv.kind === "static") {
      const v = rv.value;
      if (v.kind === "integer") return this.b.const(v.value);
      if (v.kind === "poisoned") throw silentError();
      if (v.kind === "string") return this.fail(node, "strings are not supported in program bodies");
      if (v.kind === "nil" || v.kind === "boolean") return this.fail(node, what(`a ${v.kind} value`));
      return this.fail(node, what(describeStatic(v)));
    }
    const t = this.ops.knownType(rv);
    if (t === "nil" || t === "boolean") return this.fail(node, what(`a ${t} value`));
    return rv.payload;
  }

  /** Lua's "(local 'x')" / "(upvalue 'x')" suffix of error messages about a named value. */
  private nameHint(node: lua.Node): string {
    if (node.type !== "Identifier") return "";
    const kind = this.lookupLocal(node.name) ? "local" : this.decl.fn.scope.has(node.name) ? "upvalue" : "global";
    return ` (${kind} '${node.name}')`;
  }

  // ---- expressions ----

  private expression(e: lua.Expression): RValue {
    return this.at(e, () => this.expressionAt(e));
  }

  private expressionAt(e: lua.Expression): RValue {
    switch (e.type) {
      case "NumericLiteral": {
        const lit = parseNumericLiteral(e.raw);
        if (lit.kind === "float") return this.fail(e, "floating point numbers are not supported");
        if (lit.kind === "overflow") return this.fail(e, `integer literal ${e.raw} does not fit in 64 bits`);
        return this.ops.number(this.b.const(lit.value));
      }
      case "StringLiteral":
        return this.fail(e, "strings are not supported in program bodies");
      case "BooleanLiteral":
        return { kind: "cond", cond: this.b.const(e.value ? 1 : 0) };
      case "NilLiteral":
        return NIL_VALUE;
      case "VarargLiteral":
        return this.fail(e, "varargs are not supported");
      case "TableConstructorExpression":
      case "TableCallExpression":
        return this.fail(e, "tables are not supported");
      case "FunctionDeclaration":
        return this.fail(e, "closures are not supported inside program bodies");
      case "Identifier": {
        const binding = this.resolve(e);
        if (binding.kind === "var") return { kind: "dyn", ...this.readVar(binding) };
        const v = binding.value;
        if (v.kind === "string") return this.fail(e, "strings are not supported in program bodies");
        return { kind: "static", value: v };
      }
      case "MemberExpression":
        return this.member(e);
      case "IndexExpression":
        return this.index(e);
      case "CallExpression":
        return this.call(e, e.base, e.arguments);
      case "StringCallExpression":
        return this.fail(e.argument, "strings are not supported in program bodies");
      case "UnaryExpression":
        return this.unary(e);
      case "BinaryExpression":
        return this.binary(e);
      case "LogicalExpression":
        return this.logical(e);
    }
  }

  private member(e: lua.MemberExpression): RValue {
    if (e.indexer === ":") return this.fail(e, "method calls are not supported");
    const base = this.expression(e.base);
    const name = e.identifier.name;
    if (base.kind !== "static") return this.fail(e.identifier, `attempt to index ${this.describe(base)} (field '${name}')`);
    const v = base.value;
    switch (v.kind) {
      case "context": {
        const layout = this.decl.kind.context;
        const field = contextField(layout, name);
        if (!field) return this.fail(e.identifier, `unknown field '${name}' of the ${this.decl.kindName} program context (struct ${layout.struct})`);
        return this.ops.number(this.access.contextField(field));
      }
      case "packet": {
        const header = HEADERS[v.position.header];
        if (Object.hasOwn(header.next, name)) {
          return { kind: "static", value: { kind: "packet", position: this.access.nextHeader(v.position, name as keyof typeof HEADERS) } };
        }
        if (Object.hasOwn(header.fields, name)) return this.ops.number(this.access.packetField(v.position, header.fields[name]!));
        const known = [...Object.keys(header.fields), ...Object.keys(header.next)].join(", ");
        return this.fail(e.identifier, `unknown field '${name}' of the ${header.title} (known: ${known})`);
      }
      case "module":
        if (name === "map") return { kind: "static", value: { kind: "library", name: "map" } };
        return this.fail(e.identifier, `bpf.${name} is not available inside program bodies`);
      case "poisoned":
        throw silentError();
      default:
        return this.fail(e.identifier, `attempt to index ${describeStatic(v)} (field '${name}')`);
    }
  }

  private index(e: lua.IndexExpression): RValue {
    const base = this.expression(e.base);
    if (base.kind === "static" && base.value.kind === "map") {
      const map = base.value.map;
      const key = this.number(this.expression(e.index), e.index, "use as a map key");
      return { kind: "dyn", ...this.access.read(map, key) };
    }
    if (base.kind === "static" && base.value.kind === "poisoned") throw silentError();
    return this.fail(e, `attempt to index ${this.describe(base)}; only maps can be indexed with []`);
  }

  private call(e: lua.Expression, callee: lua.Expression, args: readonly lua.Expression[]): RValue {
    if (callee.type === "MemberExpression" && callee.indexer === ":") return this.fail(callee, "method calls are not supported");
    const f = this.expression(callee);
    if (f.kind !== "static") return this.fail(callee, `attempt to call ${this.describe(f)}`);
    const v = f.value;
    switch (v.kind) {
      case "builtin":
        if (v.name === "xadd") return this.xadd(e, args);
        if (args.length > 0) return this.fail(args[0]!, `${v.name}() takes no arguments`);
        return this.ops.number(this.b.callHelper(BPF_FUNC[HELPER_BUILTINS[v.name]!.helper], []));
      case "library":
        return this.fail(callee, `${describeStatic(v)} can only be called at the top level of the file`);
      case "function":
        return this.fail(callee, "calling Lua functions from a program body is not supported");
      case "poisoned":
        throw silentError();
      default:
        return this.fail(callee, `attempt to call ${describeStatic(v)}`);
    }
  }

  /** `xadd(map[key], n)`: atomic add to an existing element; returns nothing (nil). */
  private xadd(e: lua.Expression, args: readonly lua.Expression[]): RValue {
    const usage = "xadd(map[key], n)";
    if (args.length !== 2) return this.fail(args[2] ?? e, `xadd takes two arguments: ${usage}`);
    const target = args[0]!;
    if (target.type !== "IndexExpression") return this.fail(target, `xadd needs a map element as its first argument: ${usage}`);
    const base = this.expression(target.base);
    if (base.kind !== "static" || base.value.kind !== "map") {
      if (base.kind === "static" && base.value.kind === "poisoned") throw silentError();
      return this.fail(target.base, `xadd needs a map element as its first argument: ${usage}`);
    }
    const map = base.value.map;
    if (map.value.type.bits < 32) {
      return this.fail(target, `xadd needs a 32- or 64-bit map value, but map '${map.decl.name}' holds ${map.value.type.bits}-bit values`);
    }
    const key = this.number(this.expression(target.index), target.index, "use as a map key");
    const n = this.number(this.expression(args[1]!), args[1]!, "perform arithmetic on");
    this.at(e, () => this.access.atomicAdd(map, key, n));
    return NIL_VALUE;
  }

  private unary(e: lua.UnaryExpression): RValue {
    const v = this.expression(e.argument);
    switch (e.operator) {
      case "not":
        return { kind: "cond", cond: this.ops.not01(this.truthy(v)) };
      case "-":
        return this.ops.number(this.ops.neg(this.number(v, e.argument, "perform arithmetic on")));
      case "~":
        return this.ops.number(this.ops.bnot(this.number(v, e.argument, "perform bitwise operation on")));
      case "#":
        return this.fail(e, "the length operator '#' is not supported");
    }
  }

  private binary(e: lua.BinaryExpression): RValue {
    const op = e.operator;
    if (op === "/") return this.fail(e, "float division '/' is not supported; use floor division '//'");
    if (op === "^") return this.fail(e, "exponentiation '^' is not supported (it works on floating point numbers)");
    if (op === "..") return this.fail(e, "string concatenation '..' is not supported (strings are not supported in program bodies)");
    const left = this.expression(e.left);
    const right = this.expression(e.right);
    if (ARITH_OPERATORS.has(op)) {
      const verb = op === "+" || op === "-" || op === "*" || op === "//" || op === "%" ? "perform arithmetic on" : "perform bitwise operation on";
      const a = this.number(left, e.left, verb);
      const b = this.number(right, e.right, verb);
      return this.ops.number(this.ops.arith(op as ArithOperator, a, b));
    }
    if (op === "==" || op === "~=") {
      const eq = this.equal(left, right, e);
      return { kind: "cond", cond: op === "==" ? eq : this.ops.not01(eq) };
    }
    const cmp = COMPARE_OPS[op as keyof typeof COMPARE_OPS];
    const a = this.number(left, e.left, "compare");
    const b = this.number(right, e.right, "compare");
    return { kind: "cond", cond: this.ops.compare(cmp, a, b) };
  }

  /** Lua raw equality: same type and same value. */
  private equal(left: RValue, right: RValue, node: lua.BinaryExpression): Value {
    if (left.kind === "cond" && right.kind === "cond") return this.ops.compare("eq", left.cond, right.cond);
    const a = this.toDyn(left, node.left);
    const b = this.toDyn(right, node.right);
    if (this.ops.knownType(a) === "number" && this.ops.knownType(b) === "number") return this.ops.compare("eq", a.payload, b.payload);
    return this.ops.equalDyn(a, b);
  }

  /** `a and b`, `a or b` as values: the operand that decides, with short-circuit evaluation. */
  private logical(e: lua.LogicalExpression): RValue {
    const isAnd = e.operator === "and";
    const left = this.expression(e.left);
    const t = this.truthy(left);
    const k = constantValue(t);
    if (k !== undefined) {
      const leftDecides = isAnd ? k === 0n : k !== 0n;
      if (!leftDecides) return this.expression(e.right);
      // The right operand is never evaluated; lower it in a dead block for its errors.
      const live = this.cur;
      this.setCurrent(this.deadBlock());
      this.expression(e.right);
      this.setCurrent(live);
      return left;
    }
    const rightBB = this.newBlock();
    const join = this.newBlock();
    // On the edge that skips the right operand, the left one decides: for `and` it is
    // falsy, for `or` truthy. A boolean is then known exactly.
    const leftValue: Dyn = left.kind === "cond" ? this.ops.boolDyn(this.b.const(isAnd ? 0 : 1)) : this.toDyn(left, e.left);
    const leftEnd = this.cur;
    this.at(e, () => (isAnd ? this.condBranch(t, rightBB, join) : this.condBranch(t, join, rightBB)));
    this.seal(rightBB);
    this.setCurrent(rightBB);
    const right = this.expression(e.right);
    if (left.kind === "cond" && right.kind === "cond") {
      const rightEnd = this.cur;
      this.branch(join);
      this.seal(join);
      this.setCurrent(join);
      const merged = this.mergeOne(
        [
          [leftEnd, this.b.const(isAnd ? 0 : 1)] as [BasicBlock, Value],
          [rightEnd, right.cond] as [BasicBlock, Value],
        ].filter(([bb]) => join.preds.includes(bb)),
      );
      return { kind: "cond", cond: merged };
    }
    const rightValue = this.at(e.right, () => this.toDyn(right, e.right));
    const rightEnd = this.cur;
    this.branch(join);
    this.seal(join);
    this.setCurrent(join);
    return {
      kind: "dyn",
      ...this.merge([
        { block: leftEnd, value: leftValue },
        { block: rightEnd, value: rightValue },
      ]),
    };
  }
}

/**
 * Orders the blocks in a reverse postorder that visits a branch's true target last, so
 * that it comes right after the branch: the layout follows the source (condition, then
 * the `then` part, then what follows) and the backend can fall through into it.
 */
function layoutBlocks(fn: Function): void {
  const post: BasicBlock[] = [];
  const seen = new Set<BasicBlock>([fn.entry]);
  const stack: { bb: BasicBlock; next: number }[] = [{ bb: fn.entry, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const succs = top.bb.succs;
    if (top.next < succs.length) {
      const s = succs[succs.length - 1 - top.next++]!;
      if (!seen.has(s)) {
        seen.add(s);
        stack.push({ bb: s, next: 0 });
      }
    } else {
      post.push(top.bb);
      stack.pop();
    }
  }
  fn.blocks.length = 0;
  for (let k = post.length - 1; k >= 0; k--) fn.blocks.push(post[k]!); // not push(...): huge functions overflow the stack
}

/** Compile-time values that are plain data (they become run-time values in locals). */
function isData(v: StaticValue): boolean {
  return v.kind === "integer" || v.kind === "boolean" || v.kind === "nil" || v.kind === "string";
}

const NIL_VALUE: RValue = { kind: "static", value: { kind: "nil" } };

function NIL_DYN(b: Builder): Dyn {
  return { tag: b.const(TAG_NIL), payload: b.const(0) };
}
