/**
 * Compile-time evaluation of the top level of a program file.
 *
 * The top level runs when the file is compiled, not in the kernel: it may only declare
 * things — `require('bpf')`, maps (`bpf.map`), programs (`bpf.socket(fn)`, ...), integer,
 * string and boolean constants, and local functions. Each statement is evaluated by a
 * small interpreter over compile-time values (values.ts); function expressions capture a
 * snapshot of the scope they close over, so a program body sees exactly the locals
 * declared before it.
 *
 * Errors of independent statements are collected together.
 */
import type * as lua from "luaparse";
import { C_TYPES, MAP_DEFAULTS, MAP_TYPES, PROGRAM_KINDS, type CType, type ProgramKind } from "./builtins.js";
import { DiagnosticBag, fail, silentError } from "./diagnostics.js";
import { ARITH_OPERATORS, evalBinary, parseNumericLiteral, wrap, type ArithOperator } from "./integer.js";
import { describeStatic, type MapInfo, type StaticValue } from "./values.js";
import type { CType as IrCType, MapKind } from "@luabpf/ir";
import { builtinCScope, parseCTypeName } from "./ctypes/index.js";
import { MAP_TYPES as PLATFORM_MAP_TYPES } from "@luabpf/platform";

/** A program declared at the top level. */
export interface ProgramDecl {
  /** `socket`, `xdp`, `kprobe`, ... */
  readonly kindName: string;
  readonly kind: ProgramKind;
  /** ELF section name (`kprobe/do_sys_open`). */
  readonly section: string;
  readonly fn: FunctionValue;
  /** The declaring call. */
  readonly node: lua.Node;
}

export type FunctionValue = Extract<StaticValue, { kind: "function" }>;

/** What the top level declared, in source order. */
export interface TopLevel {
  readonly maps: MapInfo[];
  readonly programs: ProgramDecl[];
}

const MAP_ARGUMENTS = ["map type", "max_entries", "key type", "value type"];

const NIL: StaticValue = { kind: "nil" };
const POISONED: StaticValue = { kind: "poisoned" };

/** Evaluates the top-level statements of `chunk`, recording errors in `bag`. */
export function evaluateTopLevel(chunk: lua.Chunk, file: string, bag: DiagnosticBag): TopLevel {
  const ev = new TopLevelEvaluator(file);
  for (const stmt of chunk.body) bag.attempt(() => ev.statement(stmt));
  assignMapNames(ev.maps);
  return { maps: ev.maps, programs: ev.programs };
}

class TopLevelEvaluator {
  readonly maps: MapInfo[] = [];
  readonly programs: ProgramDecl[] = [];
  private readonly scope = new Map<string, StaticValue>();

  constructor(private readonly file: string) {}

  private fail(node: lua.Node, message: string): never {
    return fail(this.file, node, message);
  }

  statement(stmt: lua.Statement): void {
    switch (stmt.type) {
      case "LocalStatement": {
        let values: StaticValue[];
        try {
          values = stmt.init.map((e) => this.expression(e));
        } catch (e) {
          // Later uses of these names stay silent instead of reporting unknown globals.
          for (const id of stmt.variables) this.scope.set(id.name, POISONED);
          throw e;
        }
        stmt.variables.forEach((id, i) => {
          const v = values[i] ?? NIL;
          if (v.kind === "map" && v.map.localName === undefined) v.map.localName = id.name;
          this.scope.set(id.name, v);
        });
        return;
      }
      case "CallStatement":
        this.expression(stmt.expression);
        return;
      case "FunctionDeclaration": {
        if (!stmt.isLocal || stmt.identifier?.type !== "Identifier") {
          this.fail(stmt, "global functions are not supported: declare it with 'local function'");
        }
        const name = stmt.identifier.name;
        // The function sees itself (and everything before it).
        const scope = new Map(this.scope);
        const fn: StaticValue = { kind: "function", node: stmt, scope, name };
        scope.set(name, fn);
        this.scope.set(name, fn);
        return;
      }
      case "AssignmentStatement":
        return this.fail(stmt, "only declarations are allowed at the top level: assignments must be 'local' declarations");
      default:
        this.fail(stmt, `only declarations are allowed at the top level (maps, programs, constants and local functions), not ${statementName(stmt)}`);
    }
  }

  expression(e: lua.Expression): StaticValue {
    switch (e.type) {
      case "NumericLiteral":
        return { kind: "integer", value: this.integerLiteral(e) };
      case "StringLiteral":
        return { kind: "string", value: e.value };
      case "BooleanLiteral":
        return { kind: "boolean", value: e.value };
      case "NilLiteral":
        return NIL;
      case "Identifier":
        return this.lookup(e);
      case "MemberExpression":
        return this.member(e);
      case "FunctionDeclaration":
        return { kind: "function", node: e, scope: new Map(this.scope), name: undefined };
      case "CallExpression":
        return this.call(e, e.base, e.arguments);
      case "StringCallExpression":
        return this.call(e, e.base, [e.argument]);
      case "TableCallExpression":
      case "TableConstructorExpression":
        return this.fail(e, "tables are not supported");
      case "VarargLiteral":
        return this.fail(e, "varargs are not supported");
      case "UnaryExpression": {
        if (e.operator === "-" || e.operator === "~") {
          const a = this.integer(e.argument, `the operand of unary '${e.operator}'`);
          return { kind: "integer", value: e.operator === "-" ? wrap(-a) : ~a };
        }
        return this.fail(e, `operator '${e.operator}' is not supported in compile-time constants`);
      }
      case "BinaryExpression": {
        if (!ARITH_OPERATORS.has(e.operator)) return this.fail(e, `operator '${e.operator}' is not supported in compile-time constants`);
        const a = this.integer(e.left, `the left operand of '${e.operator}'`);
        const b = this.integer(e.right, `the right operand of '${e.operator}'`);
        return { kind: "integer", value: evalBinary(e.operator as ArithOperator, a, b) };
      }
      case "LogicalExpression":
      case "IndexExpression":
        return this.fail(e, `${expressionName(e)} is not supported at the top level`);
    }
  }

  private integerLiteral(e: lua.NumericLiteral): bigint {
    const lit = parseNumericLiteral(e.raw);
    if (lit.kind === "float") return this.fail(e, "floating point numbers are not supported");
    if (lit.kind === "overflow") return this.fail(e, `integer literal ${e.raw} does not fit in 64 bits`);
    return lit.value;
  }

  private integer(e: lua.Expression, what: string): bigint {
    const v = this.expression(e);
    if (v.kind !== "integer") return this.fail(e, `${what} must be an integer, not ${describeStatic(v)}`);
    return v.value;
  }

  private lookup(id: lua.Identifier): StaticValue {
    const v = this.scope.get(id.name);
    if (v?.kind === "poisoned") throw silentError();
    if (v) return v;
    if (id.name === "bpf") return { kind: "module" };
    if (id.name === "require") return { kind: "library", name: "require" };
    return this.fail(id, `unknown global '${id.name}'`);
  }

  private member(e: lua.MemberExpression): StaticValue {
    const base = this.expression(e.base);
    const name = e.identifier.name;
    if (e.indexer === ":") return this.fail(e, "method calls are not supported");
    if (base.kind !== "module") return this.fail(e.identifier, `cannot read field '${name}' of ${describeStatic(base)} at compile time`);
    if (name === "map") return { kind: "library", name: "map" };
    const info = Object.hasOwn(PROGRAM_KINDS, name) ? PROGRAM_KINDS[name] : undefined;
    if (info) return { kind: "library", name: "program", program: name, info };
    return this.fail(e.identifier, `the bpf module has no member '${name}' (it has map, ${Object.keys(PROGRAM_KINDS).join(", ")})`);
  }

  private call(e: lua.Expression, callee: lua.Expression, args: lua.Expression[]): StaticValue {
    if (callee.type === "MemberExpression" && callee.indexer === ":") return this.fail(callee, "method calls are not supported");
    const f = this.expression(callee);
    if (f.kind !== "library") return this.fail(callee, `${describeStatic(f)} cannot be called at the top level; only require and bpf.* declarations can`);
    switch (f.name) {
      case "require":
        return this.require(e, args);
      case "map":
        return this.declareMap(e, args);
      case "program":
        this.declareProgram(e, f.program, f.info, args);
        return NIL;
    }
  }

  private require(e: lua.Expression, args: lua.Expression[]): StaticValue {
    const arg = args[0];
    if (!arg) return this.fail(e, "require needs a module name");
    const name = this.expression(arg);
    if (name.kind !== "string") return this.fail(arg, "require needs a module name string");
    if (name.value !== "bpf") return this.fail(arg, `unknown module '${name.value}' (only 'bpf' is available)`);
    if (args.length > 1) return this.fail(args[1]!, "too many arguments to require");
    return { kind: "module" };
  }

  private declareMap(e: lua.Expression, args: lua.Expression[]): StaticValue {
    if (args.length > MAP_ARGUMENTS.length) {
      return this.fail(args[MAP_ARGUMENTS.length]!, `too many arguments to bpf.map (expected at most ${MAP_ARGUMENTS.length}: map type, max_entries, key type, value type)`);
    }
    const typeArg = args[0];
    if (!typeArg) return this.fail(e, "bpf.map needs a map type, e.g. bpf.map('hash', 1024, 'uint32_t', 'uint64_t')");
    const type = this.expression(typeArg);
    const known = [...MAP_TYPES].join(", ");
    if (type.kind !== "string") return this.fail(typeArg, `the map type must be a string (one of ${known})`);
    if (!MAP_TYPES.has(type.value as MapKind)) return this.fail(typeArg, `unknown map type '${type.value}' (expected one of ${known})`);
    const kind = type.value as MapKind;

    let maxEntries: number = MAP_DEFAULTS.maxEntries;
    const maxArg = args[1];
    if (maxArg) {
      const isFloat = maxArg.type === "NumericLiteral" && parseNumericLiteral(maxArg.raw).kind === "float";
      const v = isFloat ? undefined : this.expression(maxArg);
      if (v?.kind === "integer" && v.value > 0n && v.value <= 0xffff_ffffn) maxEntries = Number(v.value);
      else if (v?.kind !== "nil") return this.fail(maxArg, "max_entries must be a positive integer (below 2^32)");
      const limit = PLATFORM_MAP_TYPES[kind].maxEntries;
      if (limit !== undefined && maxEntries > limit) {
        return this.fail(maxArg, `${kind} maps hold at most ${limit} (2^${Math.log2(limit)}) entries: the kernel refuses larger hash tables`);
      }
    }
    const [key, keyName] = this.cType(args[2], "key");
    const [value, valueName] = this.cType(args[3], "value");
    const keySize = PLATFORM_MAP_TYPES[kind].requiredKeySize();
    if (keySize !== undefined && key.type.size !== keySize) {
      return this.fail(args[2] ?? e, `${kind} maps need a ${keySize}-byte key type such as uint32_t`);
    }
    const info: MapInfo = {
      // The C types go to the object's BTF (signed stays signed, `uint32_t` stays a typedef).
      decl: { name: "", kind, key: key.type, value: value.type, maxEntries, flags: 0, keyType: cTypeNamed(keyName), valueType: cTypeNamed(valueName) },
      key,
      value,
      localName: undefined,
      node: e,
    };
    this.maps.push(info);
    return { kind: "map", map: info };
  }

  /** A map's key or value type and its C name. */
  private cType(arg: lua.Expression | undefined, what: "key" | "value"): [CType, string] {
    const v = arg ? this.expression(arg) : NIL;
    if (v.kind === "nil") {
      const name = what === "key" ? MAP_DEFAULTS.key : MAP_DEFAULTS.value;
      return [C_TYPES[name]!, name];
    }
    if (v.kind !== "string") return this.fail(arg!, `the map ${what} type must be a C type name such as 'uint32_t'`);
    const t = Object.hasOwn(C_TYPES, v.value) ? C_TYPES[v.value] : undefined;
    if (!t) return this.fail(arg!, `unknown C type '${v.value}' for the map ${what} (expected an integer type such as uint8_t, uint32_t, int64_t)`);
    return [t, v.value];
  }

  private declareProgram(e: lua.Expression, name: string, info: ProgramKind, args: lua.Expression[]): void {
    const usage = info.needsSymbol ? `bpf.${name}('symbol', function (ctx) ... end)` : `bpf.${name}(function (ctx) ... end)`;
    const maxArgs = info.needsSymbol || info.optionalName ? 2 : 1;
    if (args.length > maxArgs) this.fail(args[maxArgs]!, `too many arguments to bpf.${name} (usage: ${usage})`);
    let symbol = "";
    let fnArg: lua.Expression | undefined;
    if (info.needsSymbol) {
      const symArg = args[0];
      const sym = symArg ? this.expression(symArg) : NIL;
      if (sym.kind !== "string" || sym.value === "") {
        return this.fail(symArg ?? e, `bpf.${name} needs the kernel symbol to probe as a string first argument (usage: ${usage})`);
      }
      symbol = sym.value;
      fnArg = args[1];
    } else if (args.length === 2) {
      // bpf.socket('eth0', fn): the interface name is for the loader; it is ignored here.
      const iface = this.expression(args[0]!);
      if (iface.kind !== "string") return this.fail(args[0]!, `the first of two arguments to bpf.${name} must be an interface name string`);
      fnArg = args[1];
    } else fnArg = args[0];
    if (!fnArg) return this.fail(e, `bpf.${name} needs a function (usage: ${usage})`);
    const fn = this.expression(fnArg);
    if (fn.kind !== "function") return this.fail(fnArg, `bpf.${name} needs a function, not ${describeStatic(fn)} (usage: ${usage})`);
    this.programs.push({ kindName: name, kind: info, section: info.section(symbol), fn, node: e });
  }
}

/** Names maps after their locals (uniquely), and unbound maps `map_N`. */
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

function statementName(s: lua.Statement): string {
  switch (s.type) {
    case "IfStatement":
      return "an if statement";
    case "WhileStatement":
    case "RepeatStatement":
    case "ForNumericStatement":
    case "ForGenericStatement":
      return "a loop";
    case "ReturnStatement":
      return "a return statement";
    case "DoStatement":
      return "a do block";
    case "GotoStatement":
    case "LabelStatement":
      return "goto";
    case "BreakStatement":
      return "break";
    default:
      return "this statement";
  }
}

function expressionName(e: lua.Expression): string {
  switch (e.type) {
    case "LogicalExpression":
      return `operator '${e.operator}'`;
    case "IndexExpression":
      return "indexing";
    default:
      return e.type;
  }
}

/** The C type a map type name (one of `C_TYPES`) stands for, as the C parser reads it. */
function cTypeNamed(name: string): IrCType {
  return parseCTypeName(name, builtinCScope());
}
