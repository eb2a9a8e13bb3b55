/**
 * The state shared by every function lowered from one file: the module, the file's
 * compile-time results, the compatibility mode and warnings, the instances of Lua
 * functions called from bodies (calls.ts), and each function's stack use.
 */
import { CompileError, i64, ptrType, type CType, type Function, type Module } from "@luabpf/ir";
import { MAX_STACK } from "@luabpf/platform";
import type * as lua from "luaparse";
import type { CDeclError } from "../ctypes/index.js";
import { errorAt, fail, locateInString, locationOf, type DiagnosticBag } from "../diagnostics.js";
import type { ParsedChunk, Span } from "../parse.js";
import type { KernelTypes } from "../kernel/index.js";
import type { TopLevel } from "../toplevel/interpreter.js";
import type { ProgramDecl, StaticValue } from "../values.js";
import { BodyLowering } from "./body.js";
import type { FunctionInstance } from "./calls.js";
import { ARGUMENT_PROGRAMS, tracingParameters } from "./tracing.js";
import type { AddressSpace } from "./values.js";

/** How numbers in conditions are read: Lua's way (always true) or bcc's C-style one (`~= 0`). */
export type Compat = "lua" | "bcc";

export class ModuleLowering {
  /** Lowered instances of Lua functions, by specialisation key. */
  readonly instances = new Map<string, FunctionInstance>();
  /** The Lua functions being lowered, outermost first (a call of one of them is recursion). */
  readonly activeCalls: lua.FunctionDeclaration[] = [];
  private readonly nodeIds = new WeakMap<object, number>();
  private readonly functionNames: Set<string>;
  private readonly stackUse = new Map<Function, number>();
  private readonly warned = new Set<string>();
  /** CO-RE relocations made so far, by record and member (tracing.ts). */
  readonly coreNames = new Map<string, string>();

  constructor(
    readonly module: Module,
    readonly file: string,
    readonly source: string,
    readonly parsed: ParsedChunk,
    readonly top: TopLevel,
    readonly compat: Compat,
    private readonly bag: DiagnosticBag,
    /** The kernel's types (tracing contexts, CO-RE), when known. */
    readonly kernel?: KernelTypes,
  ) {
    this.functionNames = new Set(module.functions.map((f) => f.name));
  }

  /** Lowers program `decl` into a new function `name` of the module. */
  lowerProgram(decl: ProgramDecl, name: string): Function {
    this.functionNames.add(name);
    const fn = this.module.addFunction(name, [ptrType("ctx")], i64);
    fn.program = { section: decl.section, type: decl.kind.type };
    if (Object.keys(decl.attach).length > 0) fn.program.attach = { ...decl.attach };
    const ctx = fn.params[0]!;
    const node = decl.fn.node;
    const params = node.parameters;
    const vararg = params.find((p) => p.type === "VarargLiteral");
    if (vararg) fail(this.file, vararg, "varargs are not supported");
    if (params.length > 1 && !ARGUMENT_PROGRAMS.has(decl.kindName)) fail(this.file, params[1]!, `a ${decl.kindName} program takes one parameter (its context), not ${params.length}`);
    if (params[0]?.type === "Identifier") ctx.name = params[0].name;
    const body = new BodyLowering(this, fn, decl, decl.fn.closure ?? { env: decl.fn.env, time: Number.MAX_SAFE_INTEGER }, ctx, { kind: "program" });
    body.lowerBody(node, tracingParameters(body, decl, node) ?? [{ kind: "static", value: { kind: "context" } }], this.loweredOnce(decl));
    body.finish();
    return fn;
  }

  /**
   * Whether `decl`'s function is lowered this once, so that its statements can be dropped
   * as they are lowered: it is a `function` expression written as an argument of the
   * declaring call (`bpf.socket(function (skb) ... end)`: no name holds it, so no body can
   * call it), and no other program is that function (a declaration in a loop, or
   * `bpf.socket('lo', prog)` of a program already attached).
   */
  private loweredOnce(decl: ProgramDecl): boolean {
    const fn = decl.fn.node;
    const call = decl.node;
    if (call.type !== "CallExpression" || !call.arguments.includes(fn)) return false;
    let programs = 0;
    for (const p of this.top.programs) if (p.fn.node === fn) programs++;
    return programs === 1;
  }

  /** A function name not yet used in the module (`f`, `f_2`, ...). */
  uniqueFunctionName(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_]/g, "_") || "fn";
    let name = clean;
    for (let n = 2; this.functionNames.has(name) || this.module.getFunction(name); n++) name = `${clean}_${n}`;
    this.functionNames.add(name);
    return name;
  }

  warn(node: lua.Node, message: string): void {
    const d = { ...errorAt(this.file, node, message), severity: "warning" as const };
    const key = `${d.location?.line}:${d.location?.column}:${message}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.bag.add(d);
  }

  /** The warning for a number tested as a condition (Lua: always true; bcc: `~= 0`). */
  truthinessWarning(node: lua.Node, what: string): void {
    const text = this.sourceOf(node);
    const expr = text && text.length <= 40 && !text.includes("\n") ? `'${text}'` : "this expression";
    const fix = text && text.length <= 40 && !text.includes("\n") ? `'${text} ~= 0'` : "'... ~= 0'";
    this.warn(node, `${expr} is ${what}, which Lua treats as true in a condition even when it is 0 (bcc tested it against 0): write ${fix} for bcc's meaning, or compile with --compat bcc`);
  }

  /** The source text of `node`, if known. */
  sourceOf(node: lua.Node): string | undefined {
    const { rangeStart, rangeEnd } = node as Span;
    return rangeStart === undefined || rangeEnd === undefined ? undefined : this.source.slice(rangeStart, rangeEnd);
  }

  /**
   * Records `size` more bytes of stack objects in `fn`; more than eBPF's 512 bytes per
   * frame is an error at `node` (when the objects come from the program, not the compiler).
   */
  useStack(fn: Function, size: number, node?: lua.Node): void {
    const total = (this.stackUse.get(fn) ?? 0) + size;
    this.stackUse.set(fn, total);
    if (node && total > MAX_STACK) {
      fail(this.file, node, `this needs ${size} bytes of stack, and with what the function already uses that makes ${total}: eBPF allows ${MAX_STACK} bytes (keep large data in a map value, e.g. a per-CPU array)`);
    }
  }

  /** Kernel or user memory: what a C pointer of this program points into. */
  addressSpace(program: ProgramDecl): AddressSpace {
    return program.kindName === "uprobe" || program.kindName === "uretprobe" ? "user" : "kernel";
  }

  /** A dense id per AST node (function identity in specialisation keys). */
  nodeId(node: object): number {
    let id = this.nodeIds.get(node);
    if (id === undefined) {
      id = this.nodeIds.get(this) ?? 0;
      this.nodeIds.set(this, id + 1);
      this.nodeIds.set(node, id);
    }
    return id;
  }

  /** A key identifying a compile-time value in specialisation keys. */
  staticKey(v: StaticValue): string {
    switch (v.kind) {
      case "integer":
        return `i${v.value}`;
      case "string":
        return `s${JSON.stringify(v.value)}`;
      case "boolean":
        return `b${v.value}`;
      case "nil":
        return "nil";
      case "map":
        return `m${v.map.decl.name}`;
      case "library":
        return `l${v.name}`;
      case "packet":
        return `p${v.position.header}@${v.position.offset}`;
      case "function":
        return `f${this.nodeId(v.node)}`;
      case "table":
        return `t${this.nodeId(v.table)}`;
      case "ctype":
        return `c${this.typeKey(v.type)}`;
      default:
        return v.kind;
    }
  }

  /** A key identifying a C type. */
  typeKey(t: CType): string {
    return `${this.nodeId(t)}`;
  }

  /** A C declaration error at an offset of the string `node` holds, located in the file. */
  locatedCError(e: CDeclError, node: lua.Node): CompileError {
    return new CompileError({ severity: "error", message: `C declaration: ${e.message}`, location: locateInString(this.file, node, e.offset) ?? locationOf(this.file, node) });
  }
}
