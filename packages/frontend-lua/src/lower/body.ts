/**
 * Lowering of a Lua function body — a program or a Lua function it calls — to an IR
 * function: the driver, blocks, scopes and variables, statements and conditions.
 * Expressions are in expressions.ts, C data in memory.ts, maps in maps.ts, the library in
 * library.ts, string comparisons in strings.ts and calls of Lua functions in calls.ts.
 *
 * A structured, single pass over the AST: statements become blocks and branches, and
 * expressions become values of lower/values.ts. Local variables are SSA variables of the
 * Braun et al. builder (ssa.ts) — two per Lua value local (tag and payload), a pointer and
 * a null-state flag per C reference — so no stack slots or copies are emitted for them.
 * Blocks are sealed as soon as their predecessors are known: join blocks after the
 * branches into them, loop headers after the back edge.
 *
 * Code after `return` or `break` is still lowered (so that its errors are reported) into
 * blocks without predecessors; branches out of such dead blocks are not emitted, and the
 * dead blocks are removed at the end.
 *
 * Every instruction carries the location of the expression or statement it came from.
 */
import { BasicBlock, Builder, CompileError, i64, ptrType, removeUnreachableBlocks, type CType, type SourceLocation, type Function, type Type, type Value } from "@luabpf/ir";
import type * as lua from "luaparse";
import { endLocationOf, fail, locationOf, silentError } from "../diagnostics.js";
import { constantValue, Operators, TAG_NIL, TAG_NUMBER, type Dyn } from "../runtime.js";
import type { Span } from "../parse.js";
import { removeTrivialPhis, SsaBuilder, type SsaVariable } from "../ssa.js";
import { describeStatic, lookupClosure, type Closure, type ProgramDecl, type StaticValue } from "../values.js";
import type { Later } from "./local-uses.js";
import type { ModuleLowering } from "./module.js";
import { expression, isDataStatic, staticToDyn } from "./expressions.js";
import { describeRValue, isAggregate, loadScalar, placeBindingShape, requireAddress, storeToPlace, type PlaceShape } from "./memory.js";
import { storeElement } from "./maps.js";
import { packetEndNumber, packetOffset } from "./packet.js";
import { packetByteStore, packetStore } from "./packet-write.js";
import type { HeaderName } from "../dissectors.js";
import { NIL_VALUE, type Place, type RValue } from "./values.js";
import { BODY_GLOBALS } from "./library.js";

/** What a name in a body refers to. */
export type Binding =
  | { readonly kind: "var"; readonly tag: SsaVariable; readonly payload: SsaVariable }
  /** A reference to C data (a stack object, a map value, ...): its address and null state. */
  | { readonly kind: "place"; readonly ptr: SsaVariable; readonly nonNull: SsaVariable; readonly shape: PlaceShape; readonly name: string }
  /** A C pointer into kernel or user memory. */
  | { readonly kind: "pointer"; readonly addr: SsaVariable; readonly target: CType; readonly space: "kernel" | "user"; readonly name: string }
  /** A packet position whose offset may change (`udp = udp + label + 1`): its header and byte offset. */
  | { readonly kind: "packet"; header: HeaderName; readonly offset: SsaVariable; readonly name: string }
  | { readonly kind: "static"; readonly value: StaticValue };

const MIN_INTEGER = -(1n << 63n);
const MAX_INTEGER = (1n << 63n) - 1n;

/** The tests of a numeric `for` loop (see `forNumeric`). */
interface ForTests {
  /** Ends the current block: into the loop (`body`) or past it (`exit`). */
  enter(body: BasicBlock, exit: BasicBlock): void;
  /** Ends the current block after the iteration with counter `i`: to `exit` if it was the last, else to `next`. */
  latch(i: Value, exit: BasicBlock, next: BasicBlock): void;
}

/** How a `return` is handled: programs return at once; Lua functions collect their returns. */
export type ReturnMode = { readonly kind: "program" } | { readonly kind: "function"; readonly returns: { block: BasicBlock; value: RValue; node: lua.Node }[] };

export class BodyLowering {
  readonly b: Builder;
  readonly ssa: SsaBuilder;
  readonly ops: Operators;
  private cur: BasicBlock;
  private readonly scopes: Map<string, Binding>[] = [];
  private readonly loops: { exit: BasicBlock }[] = [];
  readonly tagUndefined: Value;
  private readonly slotBuilder: Builder;
  private readonly slots = new Map<string, Value>();
  private abortBlock: BasicBlock | undefined;
  /** The end of the statement list being lowered (`block`), if known. */
  private listEnd: number | undefined;

  constructor(
    readonly unit: ModuleLowering,
    readonly fn: Function,
    /** The program this body belongs to (for a Lua function: the program that called it). */
    readonly program: ProgramDecl,
    /** Where the function's free names resolve (the top level at the program's declaration). */
    readonly closure: Closure,
    /** The program context (the program's parameter, passed on to called functions). */
    readonly ctx: Value,
    readonly returns: ReturnMode,
  ) {
    this.b = new Builder(fn);
    this.ssa = new SsaBuilder(fn);
    this.ops = new Operators(this.b);
    this.cur = fn.createBlock();
    this.ssa.seal(this.cur);
    this.b.atEnd(this.cur);
    this.slotBuilder = new Builder(fn).atStart(fn.entry);
    // Unreachable code reads variables as numbers, so it reports no spurious type errors.
    this.tagUndefined = fn.constant(i64, TAG_NUMBER);
  }

  get file(): string {
    return this.unit.file;
  }

  fail(node: lua.Node, message: string): never {
    return fail(this.file, node, message);
  }

  /** A warning at `node` (bad style or a meaning that differs from bcc). */
  warn(node: lua.Node, message: string): void {
    this.unit.warn(node, message);
  }

  /** Runs `f` with the builder's location set to `node`. */
  at<T>(node: lua.Node, f: () => T): T {
    const saved = this.b.loc;
    this.b.loc = locationOf(this.file, node);
    try {
      return f();
    } finally {
      this.b.loc = saved;
    }
  }

  // ---- driver ----

  /**
   * Lowers the body of `node` with its parameters bound to `params` (the program's context,
   * or a called function's arguments), then cleans the CFG up. With `release` (a body
   * nothing lowers again: ModuleLowering.loweredOnce), each statement of the body is
   * dropped from it once lowered, and the body is left empty: the syntax tree of a huge
   * program can then be collected while its IR is built, instead of being live with all
   * of it (the largest live set of a huge compile, which sets V8's heap limit).
   */
  lowerBody(node: lua.FunctionDeclaration, params: readonly Binding[], release = false): void {
    this.b.loc = locationOf(this.file, node);
    const top = new Map<string, Binding>();
    this.scopes.push(top);
    node.parameters.forEach((p, i) => {
      if (p.type === "Identifier") top.set(p.name, params[i] ?? { kind: "static", value: { kind: "nil" } });
    });
    this.block(node.body, release);
    if (!this.isDead(this.cur)) {
      this.b.loc = endLocationOf(this.file, node) ?? this.b.loc;
      this.returnValue(NIL_VALUE, node);
    }
  }

  /** Removes dead code, trivial and unused phis, and orders the blocks. */
  finish(): void {
    removeUnreachableBlocks(this.fn);
    checkEveryLoopExits(this.fn);
    removeTrivialPhis(this.fn);
    removeUnusedPhis(this.fn);
    layoutBlocks(this.fn);
  }

  // ---- blocks ----

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
  deadBlock(): BasicBlock {
    const bb = this.newBlock();
    this.ssa.seal(bb);
    return bb;
  }

  isDead(bb: BasicBlock): boolean {
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

  /**
   * Continues only where `cond` holds: elsewhere the program stops (returns 0; a called
   * Lua function returns nil). Lua raises an error in those cases (indexing nil, an array
   * index out of bounds), which cannot happen in the kernel.
   */
  abortUnless(cond: Value): void {
    const k = constantValue(cond);
    if (k !== undefined && k !== 0n) return;
    const cont = this.newBlock();
    this.abortBlock ??= this.newAbortBlock();
    this.condBranch(cond, cont, this.abortBlock);
    this.seal(cont);
    this.setCurrent(cont);
  }

  private newAbortBlock(): BasicBlock {
    const bb = this.newBlock();
    const saved = this.cur;
    this.cur = bb;
    this.b.atEnd(bb);
    if (this.returns.kind === "program") this.b.ret(this.b.const(0));
    else this.returns.returns.push({ block: bb, value: NIL_VALUE, node: { type: "NilLiteral" } as lua.Node });
    this.cur = saved;
    this.b.atEnd(saved);
    // Its predecessors arrive over time; it reads no variables, so sealing it now is safe.
    this.ssa.seal(bb);
    return bb;
  }

  /** Merges tagged values of the predecessors of the current block into phis. */
  merge(incoming: readonly { block: BasicBlock; value: Dyn }[]): Dyn {
    const live = incoming.filter((x) => this.cur.preds.includes(x.block));
    // In code that cannot run any value will do; a number reports no spurious type error.
    if (live.length === 0) return { tag: this.tagUndefined, payload: this.b.const(0) };
    return { tag: this.mergeOne(live.map((x) => [x.block, x.value.tag])), payload: this.mergeOne(live.map((x) => [x.block, x.value.payload])) };
  }

  /** A phi of the current block over its predecessors, or the common value. */
  mergeOne(incoming: [BasicBlock, Value][], type: Type = i64): Value {
    if (incoming.length === 0) return this.fn.constant(type, 0);
    const first = incoming[0]![1];
    if (incoming.every(([, v]) => v === first)) return first;
    const phi = this.b.phi(type, this.cur);
    // One pair per predecessor edge, in predecessor order.
    for (const pred of this.cur.preds) {
      const entry = incoming.find(([bb]) => bb === pred);
      phi.addIncoming(entry ? entry[1] : this.fn.constant(type, 0), pred);
    }
    return phi;
  }

  /**
   * A stack slot of `size` bytes for `purpose` (map keys and values, helper buffers),
   * allocated once in the entry block and reused by every access: each use writes it
   * right before the helper call that reads it.
   */
  slot(purpose: string, size: number, align = naturalAlign(size)): Value {
    const name = `${purpose}/${size}/${align}`;
    let s = this.slots.get(name);
    if (!s) {
      s = this.allocate(size, align);
      this.slots.set(name, s);
    }
    return s;
  }

  /**
   * A fresh stack slot of `size` bytes in the entry block, for the compiler's own use,
   * aligned to `align` (the widest access its users make). Not over-aligning matters: the
   * verifier prunes states worse when a 4-byte key sits in half of an 8-byte slot (a
   * loop before a map access took it ten times the work).
   */
  allocate(size: number, align: number): Value {
    this.unit.useStack(this.fn, size);
    return this.slotBuilder.alloca(Math.max(size, 1), Math.min(Math.max(align, 1), 8));
  }

  /** A stack object the program asked for (`ffi.new`, a format string): over 512 bytes is an error at `node`. */
  allocateObject(size: number, align: number, node: lua.Node): Value {
    void align;
    this.unit.useStack(this.fn, size, node);
    return this.slotBuilder.alloca(Math.max(size, 1), 8);
  }

  // ---- scopes and variables ----

  withScope(f: () => void): void {
    this.scopes.push(new Map());
    try {
      f();
    } finally {
      this.scopes.pop();
    }
  }

  lookupLocal(name: string): Binding | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const b = this.scopes[i]!.get(name);
      if (b) return b;
    }
    return undefined;
  }

  /** Resolves a name used in a body: locals, then the top level, then the body's globals. */
  resolve(id: lua.Identifier): Binding {
    const local = this.lookupLocal(id.name);
    if (local) return local;
    const captured = lookupClosure(this.closure, id.name);
    if (captured) {
      if (captured.kind === "poisoned") throw silentError();
      return { kind: "static", value: captured };
    }
    const global = BODY_GLOBALS(this, id);
    if (global) return { kind: "static", value: global };
    return this.fail(id, `unknown global '${id.name}'`);
  }

  /**
   * Declares a local bound to `value` in the innermost scope; `later` is the text of the
   * statements after a `local` statement's (local-uses.ts: how the local is used there).
   */
  declareLocal(id: lua.Identifier, value: RValue, later?: Later): void {
    const scope = this.scopes[this.scopes.length - 1]!;
    const uses = this.unit.parsed.localUses;
    const reference = later !== undefined && uses.isReference(id.name, later);
    const assigned = later !== undefined && value.kind === "static" && value.value.kind === "packet" && uses.isAssigned(id.name, later);
    scope.set(id.name, this.bindValue(id.name, value, reference || assigned));
  }

  /**
   * The binding a new local holding `value` gets (writing its initial value). C
   * aggregates and `ffi.new` objects are references; a scalar map element is a reference
   * only when the body uses it as one (`v[0] = ...`, `xadd(v, n)`: `asReference`), and
   * otherwise the number it holds (or nil), as in Lua; scalar fields are numbers.
   */
  bindValue(name: string, value: RValue, asReference = false): Binding {
    if (value.kind === "static" && value.value.kind === "packet" && (asReference || value.value.position.index !== undefined)) {
      const binding: Binding = { kind: "packet", header: value.value.position.header, offset: this.ssa.newVariable(i64, `${name}.offset`), name };
      this.ssa.write(binding.offset, this.cur, packetOffset(this, value.value.position));
      return binding;
    }
    if (value.kind === "static" && !isDataStatic(value.value)) return { kind: "static", value: value.value };
    if (value.kind === "place" && (isAggregate(value.place.type) || (value.place.whole && (value.place.region !== "map_value" || asReference)))) {
      const place = value.place;
      const shape = placeBindingShape(this, place);
      const binding: Binding = {
        kind: "place",
        ptr: this.ssa.newVariable(shape.ptrType, `${name}.ptr`),
        nonNull: this.ssa.newVariable(i64, `${name}.nonnull`, this.b.const(1)),
        shape,
        name,
      };
      this.writePlace(binding, place);
      return binding;
    }
    if (value.kind === "pointer") {
      const binding: Binding = { kind: "pointer", addr: this.ssa.newVariable(i64, `${name}.addr`), target: value.pointer.target, space: value.pointer.space, name };
      this.ssa.write(binding.addr, this.cur, value.pointer.addr);
      return binding;
    }
    const binding: Binding = {
      kind: "var",
      tag: this.ssa.newVariable(i64, `${name}.tag`, this.tagUndefined),
      payload: this.ssa.newVariable(i64, name),
    };
    this.writeVar(binding, this.toDyn(value, { type: "Identifier", name } as lua.Identifier));
    return binding;
  }

  writeVar(binding: Extract<Binding, { kind: "var" }>, d: Dyn): void {
    this.ssa.write(binding.tag, this.cur, d.tag);
    this.ssa.write(binding.payload, this.cur, d.payload);
  }

  readVar(binding: Extract<Binding, { kind: "var" }>): Dyn {
    return { tag: this.ssa.read(binding.tag, this.cur), payload: this.ssa.read(binding.payload, this.cur) };
  }

  /** Points a reference local at `place` (its address and null state). */
  writePlace(binding: Extract<Binding, { kind: "place" }>, place: Place): void {
    if (place.region === "map_value" && place.offset === 0 && !place.index) {
      // A map value may be absent: keep its address and null state; fields are addressed from it.
      this.ssa.write(binding.ptr, this.cur, place.base);
      this.ssa.write(binding.nonNull, this.cur, place.nonNull);
      return;
    }
    this.ssa.write(binding.ptr, this.cur, requireAddress(this, place));
    this.ssa.write(binding.nonNull, this.cur, this.b.const(1));
  }

  readPlace(binding: Extract<Binding, { kind: "place" }>): Place {
    const s = binding.shape;
    return {
      region: s.region,
      base: this.ssa.read(binding.ptr, this.cur),
      offset: 0,
      type: s.type,
      nonNull: this.ssa.read(binding.nonNull, this.cur),
      binding: { nonNull: binding.nonNull },
      ...(s.whole ? { whole: true } : {}),
      ...(s.space ? { space: s.space } : {}),
      ...(s.exactString ? { exactString: true } : {}),
    };
  }

  /** Records that `place`'s base is non-null from here on (in the current block). */
  markNonNull(place: Place): void {
    if (place.binding) this.ssa.write(place.binding.nonNull, this.cur, this.b.const(1));
  }

  // ---- statements ----

  /** Lowers `stmts`; with `release`, drops each from the list once lowered, and leaves the list empty. */
  block(stmts: readonly lua.Statement[], release = false): void {
    // As `at(s, ...)` for each statement, without a closure per statement (the hot path).
    const saved = this.b.loc;
    const savedEnd = this.listEnd;
    // Where the statements after a `local` end (declareLocal's `later`).
    this.listEnd = (stmts[stmts.length - 1] as Span | undefined)?.rangeEnd;
    const list = stmts as (lua.Statement | undefined)[];
    try {
      for (let i = 0; i < list.length; i++) {
        const s = list[i]!;
        if (release) list[i] = undefined;
        this.b.loc = locationOf(this.file, s);
        this.statement(s);
      }
    } finally {
      if (release) list.length = 0;
      this.b.loc = saved;
      this.listEnd = savedEnd;
    }
  }

  private statement(s: lua.Statement): void {
    switch (s.type) {
      case "LocalStatement": {
        const values = this.expressionList(s.init);
        const from = (s as Span).rangeEnd;
        const later = from === undefined || this.listEnd === undefined ? undefined : { from, to: this.listEnd };
        s.variables.forEach((id, i) => this.declareLocal(id, values[i] ?? NIL_VALUE, later));
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
        return this.fail(s, "closures are not supported inside program bodies (declare the function at the top level)");
    }
  }

  expression(e: lua.Expression): RValue {
    // As `at(e, ...)`, without a closure per expression (the hot path).
    const saved = this.b.loc;
    this.b.loc = locationOf(this.file, e);
    try {
      return expression(this, e);
    } finally {
      this.b.loc = saved;
    }
  }

  /** Evaluates expressions left to right (for multiple assignment). */
  expressionList(es: readonly lua.Expression[]): RValue[] {
    return es.map((e) => this.expression(e));
  }

  private assignment(s: lua.AssignmentStatement): void {
    // Lua 5.4 (and LuaJIT) evaluate the keys of the targets first, left to right, then
    // every right-hand side, then assign: in `m[f()] = g()`, f runs before g.
    const targets = s.variables.map((target) => this.at(target, () => this.assignmentTarget(target)));
    const values = this.expressionList(s.init);
    s.variables.forEach((target, i) => this.at(target, () => targets[i]!(values[i] ?? NIL_VALUE)));
  }

  /**
   * How to assign to `target`, its table and key evaluated now: an element's base and key
   * come before the right-hand sides (Lua's order), the store after them.
   */
  private assignmentTarget(target: lua.Identifier | lua.MemberExpression | lua.IndexExpression): (value: RValue) => void {
    if (target.type !== "IndexExpression") return (value) => this.assign(target, value);
    const base = this.expression(target.base);
    if (base.kind === "static" && base.value.kind === "map") {
      const map = base.value.map;
      const key = this.expression(target.index);
      return (value) => storeElement(this, map, key, target.index, value, target);
    }
    if (base.kind === "static" && base.value.kind === "packet") {
      const pos = base.value.position;
      const key = this.expression(target.index);
      return (value) => packetByteStore(this, pos, key, value, target);
    }
    return (value) => {
      const dest = this.expression(target);
      if (dest.kind === "place") return storeToPlace(this, dest.place, value, target);
      return this.fail(target, `cannot assign to an element of ${describeRValue(this, base)}; only map elements and C arrays can be assigned`);
    };
  }

  private assign(target: lua.Identifier | lua.MemberExpression, value: RValue): void {
    switch (target.type) {
      case "Identifier": {
        const local = this.lookupLocal(target.name);
        if (local) return this.assignLocal(target, local, value);
        if (lookupClosure(this.closure, target.name)) {
          return this.fail(target, `cannot assign to '${target.name}': top-level locals are compile-time constants (keep state in a map)`);
        }
        return this.fail(target, `assignment to global '${target.name}' is not supported (declare it with 'local')`);
      }
      case "MemberExpression": {
        const base = this.expression(target.base);
        if (base.kind === "static" && base.value.kind === "context") return this.fail(target, `context fields are read-only ('${target.identifier.name}')`);
        if (base.kind === "static" && base.value.kind === "packet") return packetStore(this, base.value.position, target.identifier.name, value, target);
        if (base.kind === "place" || base.kind === "pointer") {
          const dest = this.expression(target);
          if (dest.kind === "place") return storeToPlace(this, dest.place, value, target);
        }
        return this.fail(target, `cannot assign to a field of ${describeRValue(this, base)}`);
      }
    }
  }

  private assignLocal(target: lua.Identifier, local: Binding, value: RValue): void {
    switch (local.kind) {
      case "var":
        // A scalar field reads as the number it holds, as in a declaration (`local pid =
        // args.prev_pid` then `pid = args.next_pid`); a struct or an array cannot become a Lua value.
        if (value.kind === "place" && isAggregate(value.place.type)) {
          return this.fail(target, `cannot assign C data (${describeRValue(this, value)}) to '${target.name}', which holds a Lua value; declare a new local for it`);
        }
        return this.writeVar(local, this.toDyn(value, target));
      case "place": {
        if (value.kind === "static" && value.value.kind === "nil" && local.shape.region === "map_value") {
          this.ssa.write(local.ptr, this.cur, this.fn.constant(local.shape.ptrType, 0));
          this.ssa.write(local.nonNull, this.cur, this.b.const(0));
          return;
        }
        if (value.kind !== "place" || value.place.region !== local.shape.region || !sameShape(value.place.type, local.shape.type)) {
          return this.fail(target, `'${target.name}' refers to ${describeRValue(this, this.readPlaceRValue(local))}; it cannot be assigned ${describeRValue(this, value)}`);
        }
        return this.writePlace(local, value.place);
      }
      case "pointer":
        if (value.kind !== "pointer") return this.fail(target, `'${target.name}' holds a C pointer; it cannot be assigned ${describeRValue(this, value)}`);
        return this.ssa.write(local.addr, this.cur, value.pointer.addr);
      case "packet":
        if (value.kind !== "static" || value.value.kind !== "packet") {
          return this.fail(target, `'${target.name}' is a position in the packet; it cannot be assigned ${describeRValue(this, value)}`);
        }
        // As in bcc, the header the local is read as follows the assignments in source order.
        local.header = value.value.position.header;
        return this.ssa.write(local.offset, this.cur, packetOffset(this, value.value.position));
      case "static":
        return this.fail(target, `cannot assign to '${target.name}': it refers to ${describeStatic(local.value)}, which cannot change`);
    }
  }

  private readPlaceRValue(local: Extract<Binding, { kind: "place" }>): RValue {
    return { kind: "place", place: { region: local.shape.region, base: this.fn.constant(local.shape.ptrType, 0), offset: 0, type: local.shape.type, nonNull: this.b.const(1) } };
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
    const rv = arg ? this.expression(arg) : NIL_VALUE;
    this.at(arg ?? s, () => this.returnValue(rv, arg ?? s));
    this.setCurrent(this.deadBlock());
  }

  /**
   * Returns `rv` from the current block. A program returns numbers as they are,
   * true/false as 1/0 and nil as 0; a Lua function's returns are collected and finished
   * by calls.ts once all are known.
   */
  private returnValue(rv: RValue, node: lua.Node): void {
    if (this.isDead(this.cur)) return;
    if (this.returns.kind === "function") {
      this.returns.returns.push({ block: this.cur, value: this.canonicalReturn(rv, node), node });
      return;
    }
    let v: Value;
    if (rv.kind === "cond") v = rv.cond;
    else v = this.toDyn(rv, node).payload;
    this.b.ret(v);
  }

  /** A returned value in a form that needs no more code: Lua values stay, C data is loaded. */
  private canonicalReturn(rv: RValue, node: lua.Node): RValue {
    if (rv.kind === "cond" || rv.kind === "dyn") return rv;
    if (rv.kind === "static" && (rv.value.kind === "nil" || rv.value.kind === "boolean" || rv.value.kind === "integer")) return rv;
    return { kind: "dyn", ...this.toDyn(rv, node) };
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
  branchAny(conds: readonly (Value | (() => Value))[], ifAny: BasicBlock, otherwise: BasicBlock): void {
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

  /**
   * Branches to `ifTrue` or `ifFalse` on the truth of `e`, short-circuiting and/or/not.
   * A test of a reference (`if v then`, `if v ~= nil`, `if not v`) records that the
   * reference is non-null on the edge where it is: later uses there need no check.
   */
  condition(e: lua.Expression, ifTrue: BasicBlock, ifFalse: BasicBlock): void {
    if (e.type === "UnaryExpression" && e.operator === "not") return this.condition(e.argument, ifFalse, ifTrue);
    if (e.type === "LogicalExpression") {
      const mid = this.newBlock();
      if (e.operator === "and") this.condition(e.left, mid, ifFalse);
      else this.condition(e.left, ifTrue, mid);
      this.seal(mid);
      this.setCurrent(mid);
      return this.condition(e.right, ifTrue, ifFalse);
    }
    const nullTest = this.nullTest(e);
    if (nullTest) {
      const [ifNonNull, ifNull] = nullTest.nonNullWhen ? [ifTrue, ifFalse] : [ifFalse, ifTrue];
      const edge = this.newBlock();
      this.at(e, () => this.condBranch(nullTest.cond, nullTest.nonNullWhen ? edge : ifNull, nullTest.nonNullWhen ? ifNull : edge));
      this.seal(edge);
      this.setCurrent(edge);
      this.markNonNull(nullTest.place);
      this.branch(ifNonNull);
      return;
    }
    const v = this.expression(e);
    this.at(e, () => this.condBranch(this.truthy(v, e), ifTrue, ifFalse));
  }

  /** `v`, `v ~= nil`, `v == nil` where `v` is a map value reference: the pointer test. */
  private nullTest(e: lua.Expression): { cond: Value; place: Place; nonNullWhen: boolean } | undefined {
    let ref: lua.Expression | undefined;
    let nonNullWhen = true;
    if (e.type === "Identifier") ref = e;
    else if (e.type === "BinaryExpression" && (e.operator === "==" || e.operator === "~=")) {
      if (e.right.type === "NilLiteral") ref = e.left;
      else if (e.left.type === "NilLiteral") ref = e.right;
      nonNullWhen = e.operator === "~=";
    }
    if (ref?.type !== "Identifier") return undefined;
    const binding = this.lookupLocal(ref.name);
    if (binding?.kind !== "place" || binding.shape.region !== "map_value") return undefined;
    const place = this.readPlace(binding);
    const cond = this.ops.compare("ne", place.base, this.fn.constant(place.base.type, 0));
    return { cond, place, nonNullWhen };
  }

  // ---- values ----

  /** The tagged run-time form of `rv`; compile-time objects cannot be run-time values. */
  toDyn(rv: RValue, node: lua.Node): Dyn {
    switch (rv.kind) {
      case "dyn":
        return rv;
      case "cond":
        return this.ops.boolDyn(rv.cond);
      case "static":
        return staticToDyn(this, rv.value, node);
      case "place": {
        const p = rv.place;
        if (p.whole) return loadScalar(this, p, node, "value-or-nil");
        return loadScalar(this, p, node, "abort");
      }
      case "pointer":
        // A pointer as a number is its address (bcc passes them to helpers and maps as such).
        return { tag: this.b.const(TAG_NUMBER), payload: rv.pointer.addr };
    }
  }

  /**
   * Lua truthiness of `rv` as an i64 0/1. A value that is known to be a number is always
   * true in Lua (bcc tested it like C, `~= 0`): the file's compatibility mode decides, and
   * in Lua mode a warning shows where the two meanings differ.
   */
  truthy(rv: RValue, node: lua.Node): Value {
    if (rv.kind === "cond") return rv.cond;
    if (rv.kind === "static") {
      const v = rv.value;
      if (v.kind === "poisoned") throw silentError();
      if (v.kind === "integer") return this.numberCondition(this.b.const(v.value), node);
      return this.b.const(v.kind === "nil" || (v.kind === "boolean" && !v.value) ? 0 : 1);
    }
    if (rv.kind === "place") {
      const p = rv.place;
      if (p.whole && p.region === "map_value") {
        // bcc: a map element in a condition tests whether it exists.
        return this.ops.compare("ne", p.base, this.fn.constant(p.base.type, 0));
      }
      if (p.region === "stack" || p.type.kind === "struct" || p.type.kind === "union" || p.type.kind === "array") return this.b.const(1);
      return this.numberCondition(this.toDyn(rv, node).payload, node);
    }
    if (rv.kind === "pointer") return this.numberCondition(rv.pointer.addr, node, "a C pointer");
    if (this.ops.knownType(rv) === "number") return this.numberCondition(rv.payload, node);
    return this.ops.truthyOfDyn(rv);
  }

  /** The truth of a number in a condition: Lua's (always true) or bcc's C-style one. */
  private numberCondition(n: Value, node: lua.Node, what = "a number"): Value {
    if (this.unit.compat === "bcc") return this.ops.compare("ne", n, this.b.const(0));
    this.unit.truthinessWarning(node, what);
    return this.b.const(1);
  }

  /**
   * `rv` as a number for `verb` ("perform arithmetic on", ...). Values known to be nil or
   * boolean are errors, like in Lua; values whose type is only known at run time are used
   * through their integer view (nil and false are 0, true is 1).
   */
  number(rv: RValue, node: lua.Node, verb: string): Value {
    const what = (t: string): string => `attempt to ${verb} ${t}${this.nameHint(node)}`;
    if (rv.kind === "cond") return this.fail(node, what("a boolean value"));
    if (rv.kind === "static") {
      const v = rv.value;
      if (v.kind === "integer") return this.b.const(v.value);
      if (v.kind === "poisoned") throw silentError();
      if (v.kind === "nil" || v.kind === "boolean") return this.fail(node, what(`a ${v.kind} value`));
      if (v.kind === "string") return this.fail(node, `${what("a string value")} (strings can be compared, used as map keys, copied into C buffers and printed)`);
      // A packet position is its byte offset (bcc: `data + 7 > skb.len`).
      if (v.kind === "packet") return packetOffset(this, v.position);
      if (v.kind === "packetEnd") return packetEndNumber(this);
      return this.fail(node, what(describeStatic(v)));
    }
    if (rv.kind === "place") {
      const t = rv.place.type;
      if (t.kind === "struct" || t.kind === "union" || t.kind === "array") return this.fail(node, what(describeRValue(this, rv)));
      return this.toDyn(rv, node).payload;
    }
    if (rv.kind === "pointer") return rv.pointer.addr;
    const t = this.ops.knownType(rv);
    if (t === "nil" || t === "boolean") return this.fail(node, what(`a ${t} value`));
    return rv.payload;
  }

  /** Lua's "(local 'x')" / "(upvalue 'x')" suffix of error messages about a named value. */
  nameHint(node: lua.Node): string {
    if (node.type !== "Identifier") return "";
    const kind = this.lookupLocal(node.name) ? "local" : lookupClosure(this.closure, node.name) ? "upvalue" : "global";
    return ` (${kind} '${node.name}')`;
  }

  /** Where the tag of a value known to be nil is needed. */
  nilDyn(): Dyn {
    return { tag: this.b.const(TAG_NIL), payload: this.b.const(0) };
  }

  /** The pointer type of a region's IR values (for phis and constants). */
  static pointerType(region: "stack" | "map_value" | "ctx"): Type {
    return ptrType(region === "map_value" ? "map_value_or_null" : region);
  }
}

/**
 * Every block must reach a return: a block that cannot is in a loop no path leaves
 * (`while true do ... end` without break or return), which the verifier refuses as an
 * infinite loop. A located error at the loop's earliest instruction.
 */
function checkEveryLoopExits(fn: Function): void {
  // By block id: 1 when the block reaches a return.
  const exits = new Uint8Array(fn.blockIdBound);
  const work = fn.blocks.filter((bb) => bb.terminator?.opcode === "ret");
  for (const bb of work) exits[bb.id] = 1;
  while (work.length > 0) {
    for (const p of work.pop()!.preds) {
      if (exits[p.id] === 0) {
        exits[p.id] = 1;
        work.push(p);
      }
    }
  }
  if (fn.blocks.every((bb) => exits[bb.id] === 1)) return;
  const stuck = new Set(fn.blocks.filter((bb) => exits[bb.id] === 0));
  // Report the loop itself: the stuck blocks in a cycle nothing leaves (a sink of the stuck
  // blocks' strongly connected components; a loop whose exit leads only into it is stuck too).
  const reach = new Map<BasicBlock, Set<BasicBlock>>();
  for (const start of stuck) {
    const seen = new Set<BasicBlock>();
    const todo = [...start.succs];
    while (todo.length > 0) {
      const bb = todo.pop()!;
      if (seen.has(bb) || !stuck.has(bb)) continue;
      seen.add(bb);
      todo.push(...bb.succs);
    }
    reach.set(start, seen);
  }
  const loop = [...stuck].filter((bb) => {
    const r = reach.get(bb)!;
    return r.has(bb) && [...r].every((other) => reach.get(other)!.has(bb));
  });
  let where: SourceLocation | undefined;
  const blocks = loop.length > 0 ? loop : [...stuck];
  // The jump into the loop carries the loop statement's location.
  const entries = blocks.flatMap((bb) => bb.preds.filter((p) => !blocks.includes(p) && p.terminator?.opcode === "br"));
  for (const bb of [...blocks, ...entries]) {
    for (const inst of blocks.includes(bb) ? bb.instructions() : [bb.terminator!]) {
      const l = inst.loc;
      if (l && (!where || l.line < where.line || (l.line === where.line && l.column < where.column))) where = l;
    }
  }
  throw new CompileError({ severity: "error", message: "this loop never ends: no path leaves it (eBPF programs must terminate: add a condition, a break or a return)", ...(where ? { location: where } : {}) });
}

/** The largest power of two not above `size`, at most 8: the natural alignment of a slot of that size. */
function naturalAlign(size: number): number {
  let a = 1;
  while (a * 2 <= Math.min(size, 8)) a *= 2;
  return a;
}

/** Two C types that a reference local may hold in turn (the same type, or the same size and kind). */
function sameShape(a: CType, b: CType): boolean {
  return a === b || (a.kind === b.kind && JSON.stringify(describeShape(a)) === JSON.stringify(describeShape(b)));
}
function describeShape(t: CType): unknown {
  return t.kind === "typedef" ? describeShape(t.target) : t.kind === "struct" || t.kind === "union" ? [t.kind, t.tag, t.size] : t.kind === "array" ? ["array", t.count, describeShape(t.element)] : t.kind === "int" ? ["int", t.size] : t.kind;
}

/** Removes phis no instruction uses (a reference's null-state flag often ends up unused). */
function removeUnusedPhis(fn: Function): void {
  for (let changed = true; changed; ) {
    changed = false;
    for (const bb of fn.blocks) {
      for (let phi = bb.first; phi !== undefined && phi.opcode === "phi"; ) {
        const next = phi.next;
        if (!phi.hasUses || phi.uses.every((u) => u.user === phi)) {
          phi.replaceAllUsesWith(fn.constant(phi.type, 0));
          phi.erase();
          changed = true;
        }
        phi = next;
      }
    }
  }
}

/**
 * Orders the blocks in a reverse postorder that visits a branch's true target last, so
 * that it comes right after the branch: the layout follows the source (condition, then
 * the `then` part, then what follows) and the backend can fall through into it.
 */
function layoutBlocks(fn: Function): void {
  const post: BasicBlock[] = [];
  // By block id: 1 once visited.
  const seen = new Uint8Array(fn.blockIdBound);
  seen[fn.entry.id] = 1;
  // The walk's stack: each block with the number of its successors visited so far.
  const blocks: BasicBlock[] = [fn.entry];
  const visited: number[] = [0];
  while (blocks.length > 0) {
    const top = blocks.length - 1;
    const succs = blocks[top]!.succs;
    if (visited[top]! < succs.length) {
      const s = succs[succs.length - 1 - visited[top]!++]!;
      if (seen[s.id] === 0) {
        seen[s.id] = 1;
        blocks.push(s);
        visited.push(0);
      }
    } else {
      post.push(blocks.pop()!);
      visited.pop();
    }
  }
  fn.blocks.length = 0;
  for (let k = post.length - 1; k >= 0; k--) fn.blocks.push(post[k]!); // not push(...): huge functions overflow the stack
}
