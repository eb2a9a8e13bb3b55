/**
 * The library the top level sees: Lua's base functions and `string`, `table`, `math`,
 * LuaJIT's `bit` and `ffi` (type declarations, `typeof`, `sizeof`, `offsetof`), and the
 * `bpf` module of bcc (declarations.ts implements `bpf.map` and the program declarations).
 * Functions that only make sense in a running script — `print`, `io`, `os`, `ffi.new`,
 * `ffi.string` of C data, the syscall library — raise {@link UserSpace}: the statement
 * calling them is user-space code. (`ffi.string` of a string constant is computed: it is
 * cut at its first NUL or at the length given, as LuaJIT does.)
 *
 * Integer functions follow the semantics program bodies give them (builtins of the body
 * lowering), so that a constant computed at the top level equals the same expression
 * computed in the kernel: `bit.*` works on 64-bit integers (as LuaJIT's `bit` does on
 * `int64_t` cdata), `math.log2` is the floor of the base-2 logarithm.
 */
import type * as lua from "luaparse";
import { CDeclError, cFindMember, cResolve, cSizeof, cAlignof, cIsComplete, describeCType, parseCDeclarations, parseCTypeName, type CType } from "../ctypes/index.js";
import { errorAt } from "../diagnostics.js";
import { wrap } from "../integer.js";
import { bitOperation, BIT_FUNCTIONS, mathLog } from "../bitmath.js";
import { describeStatic, NIL, StaticTable, type StaticValue } from "../values.js";
import { declareMap, declareProgram, PROGRAM_DECLARATIONS } from "./declarations.js";
import { LuaError, luaToString, rawEqual, UserSpace, type TopLevelInterpreter } from "./interpreter.js";

const lib = (name: string): StaticValue => ({ kind: "library", name });
const int = (value: bigint): StaticValue => ({ kind: "integer", value });
const str = (value: string): StaticValue => ({ kind: "string", value });
const bool = (value: boolean): StaticValue => ({ kind: "boolean", value });

/** Members of each library module. */
const MODULE_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  bpf: ["map", ...Object.keys(PROGRAM_DECLARATIONS), "tracelog", "ntoh", "hton", "dump", "dump_string"],
  ffi: ["cdef", "typeof", "sizeof", "alignof", "offsetof", "istype", "abi", "new", "cast", "copy", "fill", "string", "metatype", "gc", "load", "errno", "tonumber", "tostring"],
  bit: [...BIT_FUNCTIONS, "tohex"],
  math: ["log2", "log10", "log", "floor", "ceil", "min", "max", "abs", "random", "randomseed", "sqrt", "exp", "fmod", "modf", "pow", "sin", "cos", "tan"],
  string: ["format", "rep", "sub", "len", "upper", "lower", "byte", "char", "reverse", "find", "match", "gmatch", "gsub", "dump"],
  table: ["insert", "concat", "unpack", "remove", "sort", "maxn"],
};

/** Functions callable at compile time whose work happens in user space. */
const USER_SPACE: Readonly<Record<string, string>> = {
  print: "prints",
  "bpf.tracelog": "reads the trace pipe",
  "bpf.dump": "prints",
  "bpf.dump_string": "disassembles a program",
  "ffi.new": "creates C data in user space",
  "ffi.cast": "converts C data in user space",
  "ffi.copy": "copies C data in user space",
  "ffi.fill": "fills C data in user space",
  "ffi.string": "reads C data in user space", // of a string constant: computed (ffiString)
  "ffi.metatype": "sets a C type's metatable",
  "ffi.gc": "attaches a finaliser",
  "ffi.load": "loads a shared library",
  "ffi.errno": "reads errno",
  "ffi.tonumber": "converts C data",
  "ffi.tostring": "converts C data",
  "math.random": "draws random numbers",
  "math.randomseed": "seeds random numbers",
  "string.find": "matches patterns",
  "string.match": "matches patterns",
  "string.gmatch": "matches patterns",
  "string.gsub": "matches patterns",
  "string.dump": "dumps a function",
  "table.sort": "sorts a table",
  setmetatable: "sets a metatable",
  getmetatable: "reads a metatable",
  next: "iterates a table",
  collectgarbage: "runs the garbage collector",
  dofile: "runs another file",
  loadfile: "loads a file",
  loadstring: "compiles code at run time",
  load: "compiles code at run time",
  xpcall: "handles errors",
};

/** A library global of the top level: its place in the list (which stamps its cell) and its value in a file. */
export interface LibraryGlobal {
  readonly index: number;
  value(file: string): StaticValue;
}

/** The top level's library globals (made on first use; the fixed values are never modified). */
let libraryGlobals: { readonly map: ReadonlyMap<string, LibraryGlobal>; readonly count: number } | undefined;

/**
 * The global names of the top level and their values, by name, and how many entries the list
 * has (`print` is listed twice: its later entry stands).
 */
export function LIBRARY_GLOBALS(): { readonly map: ReadonlyMap<string, LibraryGlobal>; readonly count: number } {
  if (libraryGlobals) return libraryGlobals;
  const fixed = (v: StaticValue) => () => v;
  const list: [string, (file: string) => StaticValue][] = [
    ...["bpf", "bit", "math", "string", "table", "ffi"].map((n): [string, () => StaticValue] => [n, fixed(lib(n))]),
    ...["require", "print", "assert", "pcall", "error", "type", "tostring", "tonumber", "ipairs", "pairs", "select", "unpack", "rawget", "rawset", "rawequal", "rawlen", ...Object.keys(USER_SPACE).filter((n) => !n.includes("."))].map(
      (n): [string, () => StaticValue] => [n, fixed(lib(n))],
    ),
    ["io", fixed({ kind: "opaque", what: "the io library" })],
    ["os", fixed({ kind: "opaque", what: "the os library" })],
    [
      "arg",
      (file) => {
        const arg = new StaticTable();
        arg.set(int(0n), str(file));
        return { kind: "table", table: arg };
      },
    ],
    ["_VERSION", () => str("Lua 5.1")],
  ];
  const map = new Map<string, LibraryGlobal>();
  list.forEach(([name, value], index) => map.set(name, { index, value }));
  libraryGlobals = { map, count: list.length };
  return libraryGlobals;
}

/** `base[key]` for library modules, C types, ffi.C and strings (their methods). */
export function indexLibrary(t: TopLevelInterpreter, base: StaticValue, key: StaticValue, node: lua.Node): StaticValue {
  const name = key.kind === "string" ? key.value : undefined;
  if (base.kind === "string") {
    if (name !== undefined && MODULE_MEMBERS.string!.includes(name)) return lib(`string.${name}`);
    return NIL;
  }
  if (base.kind === "ctype") {
    // `ffi.typeof('struct bpf').F_FAST_STACK_CMP`: a LuaJIT static const of a record.
    const r = cResolve(base.type);
    if (name !== undefined && (r.kind === "struct" || r.kind === "union") && r.constants.has(name)) return int(r.constants.get(name)!);
    return t.fail(node, `${describeCType(base.type)} has no constant '${name ?? luaToString(key)}'`);
  }
  if (base.kind === "cnamespace") {
    const c = name !== undefined ? base.scope.lookupConstant(name) : undefined;
    if (c) return int(c.value);
    return { kind: "opaque", what: `the C symbol '${name ?? "?"}'` };
  }
  if (base.kind !== "library" || name === undefined) return t.fail(node, `attempt to index ${describeStatic(base)}`);
  const members = MODULE_MEMBERS[base.name];
  if (!members) return t.fail(node, `attempt to index ${describeStatic(base)} (field '${name}')`);
  if (base.name === "ffi") {
    if (name === "C") return { kind: "cnamespace", scope: t.cscope };
    if (name === "os") return str("Linux");
    if (name === "arch") return str("x64");
  }
  if (base.name === "math") {
    if (name === "maxinteger") return int(0x7fff_ffff_ffff_ffffn);
    if (name === "mininteger") return int(-0x8000_0000_0000_0000n);
    if (name === "huge" || name === "pi") return { kind: "opaque", what: "a floating point number" };
  }
  if (members.includes(name)) return lib(`${base.name}.${name}`);
  if (base.name === "bpf") return t.fail(node, `the bpf module has no member '${name}' (it has ${members.join(", ")})`);
  return t.fail(node, `the ${base.name} library has no member '${name}'`);
}

/** Calls library function `name`. */
export function callLibrary(t: TopLevelInterpreter, name: string, args: StaticValue[], node: lua.Node, argNodes: readonly lua.Expression[]): StaticValue[] {
  const arg = (i: number) => args[i] ?? NIL;
  const at = (i: number): lua.Node => argNodes[i] ?? node;
  if (name === "ffi.string" && arg(0).kind === "string") return [ffiString(t, args, argNodes, node)];
  if (Object.hasOwn(USER_SPACE, name)) throw new UserSpace(USER_SPACE[name]!);
  if (name === "bpf") return [declareProgram(t, "bpf", args, node, argNodes)];
  if (name.startsWith("bpf.") && Object.hasOwn(PROGRAM_DECLARATIONS, name.slice(4))) return [declareProgram(t, name.slice(4), args, node, argNodes)];
  if (name.startsWith("bit.")) return [bitCall(t, name.slice(4), args, node, argNodes)];
  switch (name) {
    case "require":
      return [requireModule(t, arg(0), at(0))];
    case "bpf.map":
      return [declareMap(t, args, node, argNodes)];
    case "bpf.ntoh":
    case "bpf.hton": {
      const x = t.asInteger(arg(0), at(0), "convert");
      const bits = arg(1).kind === "nil" ? 64n : t.asInteger(arg(1), at(1), "convert");
      return [int(byteSwap(x, bits, t, at(1)))];
    }
    case "assert":
      if (!t.truthy(arg(0), at(0))) throw new LuaError(args.length > 1 ? arg(1) : str("assertion failed!"), node);
      return args;
    case "error":
      throw new LuaError(arg(0), node);
    case "pcall": {
      try {
        return [bool(true), ...t.apply(arg(0), args.slice(1), node)];
      } catch (e) {
        if (e instanceof LuaError) return [bool(false), e.value];
        throw e;
      }
    }
    case "type":
      return [str(luaType(arg(0)))];
    case "tostring":
      return [str(luaToString(arg(0)))];
    case "tonumber": {
      const v = arg(0);
      if (v.kind === "integer") return [v];
      if (v.kind !== "string") return [NIL];
      const base = arg(1).kind === "nil" ? 10 : Number(t.asInteger(arg(1), at(1), "use as a base"));
      const text = v.value.trim().toLowerCase();
      const digits = base === 16 ? text.replace(/^0x/, "") : text;
      if (!/^-?[0-9a-z]+$/.test(digits)) return [NIL];
      let n = 0n;
      for (const ch of digits.replace(/^-/, "")) {
        const d = parseInt(ch, 36);
        if (Number.isNaN(d) || d >= base) return [NIL];
        n = n * BigInt(base) + BigInt(d);
      }
      return [int(wrap(digits.startsWith("-") ? -n : n))];
    }
    case "ipairs":
    case "pairs": {
      const tbl = arg(0);
      if (tbl.kind === "map" || tbl.kind === "opaque") throw new UserSpace("iterates over run-time data");
      if (tbl.kind !== "table") return t.fail(at(0), `bad argument #1 to '${name}' (table expected, got ${luaType(tbl)})`);
      return [lib(`${name}@`), tbl, name === "ipairs" ? int(0n) : NIL];
    }
    case "select": {
      const n = arg(0);
      if (n.kind === "string" && n.value === "#") return [int(BigInt(args.length - 1))];
      const i = Number(t.asInteger(n, at(0), "use as an index"));
      return args.slice(i < 0 ? args.length + i : i);
    }
    case "unpack":
    case "table.unpack": {
      const tbl = arg(0);
      if (tbl.kind !== "table") return t.fail(at(0), `bad argument #1 to 'unpack' (table expected, got ${luaType(tbl)})`);
      const out: StaticValue[] = [];
      for (let i = 1n; i <= tbl.table.length(); i++) out.push(tbl.table.get(int(i)));
      return out;
    }
    case "rawget":
      return [arg(0).kind === "table" ? (arg(0) as Extract<StaticValue, { kind: "table" }>).table.get(arg(1)) : NIL];
    case "rawset":
      if (arg(0).kind === "table") (arg(0) as Extract<StaticValue, { kind: "table" }>).table.set(arg(1), arg(2));
      return [arg(0)];
    case "rawequal":
      return [bool(rawEqual(arg(0), arg(1)))];
    case "rawlen": {
      const v = arg(0);
      return [int(v.kind === "string" ? BigInt(v.value.length) : v.kind === "table" ? v.table.length() : 0n)];
    }
    case "table.insert": {
      const tbl = arg(0);
      if (tbl.kind === "map" || tbl.kind === "opaque") throw new UserSpace("inserts into run-time data");
      if (tbl.kind !== "table") return t.fail(at(0), "bad argument #1 to 'insert' (table expected)");
      if (args.length >= 3) {
        const pos = t.asInteger(arg(1), at(1), "use as a position");
        for (let i = tbl.table.length(); i >= pos; i--) tbl.table.set(int(i + 1n), tbl.table.get(int(i)));
        tbl.table.set(int(pos), arg(2));
      } else tbl.table.set(int(tbl.table.length() + 1n), arg(1));
      return [];
    }
    case "table.remove": {
      const tbl = arg(0);
      if (tbl.kind !== "table") throw new UserSpace("changes run-time data");
      const n = tbl.table.length();
      const pos = args.length >= 2 ? t.asInteger(arg(1), at(1), "use as a position") : n;
      const v = tbl.table.get(int(pos));
      for (let i = pos; i < n; i++) tbl.table.set(int(i), tbl.table.get(int(i + 1n)));
      tbl.table.set(int(n), NIL);
      return [v];
    }
    case "table.concat": {
      const tbl = arg(0);
      if (tbl.kind !== "table") throw new UserSpace("joins run-time data");
      const sep = arg(1).kind === "string" ? (arg(1) as { value: string }).value : "";
      const parts: string[] = [];
      for (let i = 1n; i <= tbl.table.length(); i++) parts.push(luaToString(tbl.table.get(int(i))));
      return [str(parts.join(sep))];
    }
    case "table.maxn":
      return [int(arg(0).kind === "table" ? (arg(0) as Extract<StaticValue, { kind: "table" }>).table.length() : 0n)];
    case "string.len":
      return [int(BigInt(stringArg(t, arg(0), at(0), "len").length))];
    case "string.upper":
      return [str(stringArg(t, arg(0), at(0), "upper").toUpperCase())];
    case "string.lower":
      return [str(stringArg(t, arg(0), at(0), "lower").toLowerCase())];
    case "string.reverse":
      return [str([...stringArg(t, arg(0), at(0), "reverse")].reverse().join(""))];
    case "string.rep": {
      const s = stringArg(t, arg(0), at(0), "rep");
      const n = Number(t.asInteger(arg(1), at(1), "repeat"));
      if (n * s.length > 1 << 20) return t.fail(node, "string.rep result is too large");
      const sep = arg(2).kind === "string" ? (arg(2) as { value: string }).value : "";
      return [str(n > 0 ? Array(n).fill(s).join(sep) : "")];
    }
    case "string.sub": {
      const s = stringArg(t, arg(0), at(0), "sub");
      const [i, j] = luaRange(s.length, arg(1).kind === "nil" ? 1n : t.asInteger(arg(1), at(1), "index"), arg(2).kind === "nil" ? -1n : t.asInteger(arg(2), at(2), "index"));
      return [str(s.slice(i - 1, Math.max(i - 1, j)))];
    }
    case "string.byte": {
      const s = stringArg(t, arg(0), at(0), "byte");
      const first = arg(1).kind === "nil" ? 1n : t.asInteger(arg(1), at(1), "index");
      const [i, j] = luaRange(s.length, first, arg(2).kind === "nil" ? first : t.asInteger(arg(2), at(2), "index"));
      const out: StaticValue[] = [];
      for (let k = i; k <= j; k++) out.push(int(BigInt(s.charCodeAt(k - 1))));
      return out;
    }
    case "string.char":
      return [str(args.map((a, i) => String.fromCharCode(Number(t.asInteger(a, at(i), "convert")) & 0xff)).join(""))];
    case "string.format":
      return [str(format(t, args, node, argNodes))];
    case "math.floor":
    case "math.ceil":
    case "math.abs": {
      const x = t.asInteger(arg(0), at(0), "perform arithmetic on");
      return [int(name === "math.abs" && x < 0n ? wrap(-x) : x)];
    }
    case "math.min":
    case "math.max": {
      if (args.length === 0) return t.fail(node, `bad argument #1 to '${name}' (number expected, got no value)`);
      const xs = args.map((a, i) => t.asInteger(a, at(i), "compare"));
      return [int(xs.reduce((m, x) => (name === "math.min" ? (x < m ? x : m) : x > m ? x : m)))];
    }
    case "math.log2":
    case "math.log10":
    case "math.log":
      return [int(mathLog(name.slice(5) as "log2" | "log10" | "log", t.asInteger(arg(0), at(0), "take the logarithm of")))];
    case "math.fmod":
    case "math.modf":
    case "math.pow":
    case "math.sqrt":
    case "math.exp":
    case "math.sin":
    case "math.cos":
    case "math.tan":
      throw new UserSpace("computes with floating point numbers");
    case "ffi.cdef":
      cdef(t, arg(0), at(0));
      return [];
    case "ffi.typeof":
      return [{ kind: "ctype", type: ctypeArg(t, arg(0), at(0), args.slice(1), argNodes.slice(1)) }];
    case "ffi.sizeof":
    case "ffi.alignof": {
      const ct = ctypeArg(t, arg(0), at(0));
      if (!cIsComplete(ct)) return t.fail(at(0), `${name}: incomplete type '${describeCType(ct)}'`);
      return [int(BigInt(name === "ffi.sizeof" ? cSizeof(ct) : cAlignof(ct)))];
    }
    case "ffi.offsetof": {
      const ct = cResolve(ctypeArg(t, arg(0), at(0)));
      const field = arg(1);
      if (field.kind !== "string") return t.fail(at(1), "ffi.offsetof needs a member name");
      if (ct.kind !== "struct" && ct.kind !== "union") return t.fail(at(0), `ffi.offsetof needs a struct or union type, not '${describeCType(ct)}'`);
      const m = cFindMember(ct, field.value);
      if (!m) return [NIL];
      return m.bitOffset !== undefined ? [int(BigInt(m.offset)), int(BigInt(m.bitOffset % 8)), int(BigInt(m.member.bitSize!))] : [int(BigInt(m.offset))];
    }
    case "ffi.istype": {
      const a = ctypeArg(t, arg(0), at(0));
      const b = arg(1);
      return [bool(b.kind === "ctype" && cResolve(b.type) === cResolve(a))];
    }
    case "ffi.abi": {
      const p = arg(0).kind === "string" ? (arg(0) as { value: string }).value : "";
      return [bool(["le", "64bit", "hardfp", "eabi"].includes(p) ? p === "le" || p === "64bit" : false)];
    }
    default:
      if (name.endsWith("@")) throw new UserSpace("iterates a table by hand");
      return t.fail(node, `'${name}' cannot be called at compile time`);
  }
}

/** `ffi.string(s[, len])` of a string constant: up to its first NUL, or its first `len` bytes. */
function ffiString(t: TopLevelInterpreter, args: StaticValue[], argNodes: readonly lua.Expression[], node: lua.Node): StaticValue {
  const s = (args[0] as { value: string }).value;
  if (args.length < 2 || args[1]!.kind === "nil") return str(s.split("\0")[0]!);
  const n = t.asInteger(args[1]!, argNodes[1] ?? node, "use as a length");
  if (n < 0n || n > BigInt(s.length)) return t.fail(argNodes[1] ?? node, `ffi.string of ${n} bytes reads past the end of the ${s.length}-byte string`);
  return str(s.slice(0, Number(n)));
}

function requireModule(t: TopLevelInterpreter, name: StaticValue, node: lua.Node): StaticValue {
  if (name.kind !== "string") return t.fail(node, "require needs a module name string");
  switch (name.value) {
    case "bpf":
    case "ffi":
    case "bit":
    case "math":
    case "string":
    case "table":
      return lib(name.value);
    case "syscall":
      return { kind: "opaque", what: "the syscall library (ljsyscall)" };
    default:
      // A library of the user-space part (posix, socket, ...): only user-space code can use it.
      return { kind: "opaque", what: `the module '${name.value}'` };
  }
}

function luaType(v: StaticValue): string {
  switch (v.kind) {
    case "integer":
      return v.cdata ? "cdata" : "number";
    case "string":
    case "boolean":
    case "nil":
    case "table":
    case "function":
      return v.kind;
    case "library":
      return MODULE_MEMBERS[v.name] ? "table" : "function";
    case "ctype":
      return "cdata";
    default:
      return "userdata";
  }
}

function stringArg(t: TopLevelInterpreter, v: StaticValue, node: lua.Node, fn: string): string {
  if (v.kind === "string") return v.value;
  if (v.kind === "integer") return v.value.toString();
  if (v.kind === "opaque") throw new UserSpace(`uses ${v.what}`);
  return t.fail(node, `bad argument #1 to '${fn}' (string expected, got ${luaType(v)})`);
}

/** Lua's string index range: negative indices count from the end; clamped to [1, len]. */
function luaRange(len: number, i: bigint, j: bigint): [number, number] {
  let a = Number(i < 0n ? BigInt(len) + i + 1n : i);
  let b = Number(j < 0n ? BigInt(len) + j + 1n : j);
  if (a < 1) a = 1;
  if (b > len) b = len;
  return [a, b];
}

function byteSwap(x: bigint, bits: bigint, t: TopLevelInterpreter, node: lua.Node): bigint {
  if (bits !== 16n && bits !== 32n && bits !== 64n) return t.fail(node, "the width must be 16, 32 or 64");
  let v = BigInt.asUintN(Number(bits), x);
  let r = 0n;
  for (let i = 0n; i < bits; i += 8n) {
    r = (r << 8n) | (v & 0xffn);
    v >>= 8n;
  }
  return wrap(r);
}

function bitCall(t: TopLevelInterpreter, fn: string, args: StaticValue[], node: lua.Node, argNodes: readonly lua.Expression[]): StaticValue {
  const xs = args.map((a, i) => t.asInteger(a, argNodes[i] ?? node, "perform bitwise operation on"));
  if (fn === "tohex") {
    const n = args.length > 1 ? Number(xs[1]) : 8;
    const digits = BigInt.asUintN(Math.min(64, Math.abs(n) * 4), xs[0] ?? 0n).toString(16).padStart(Math.abs(n), "0");
    return str(n < 0 ? digits.toUpperCase() : digits);
  }
  const r = bitOperation(fn, xs);
  if (typeof r === "string") return t.fail(node, r);
  return int(r);
}

/** `ffi.cdef [[ ... ]]`: declarations into the file's C scope; errors point into the string. */
function cdef(t: TopLevelInterpreter, text: StaticValue, node: lua.Node): void {
  if (text.kind !== "string") return t.fail(node, "ffi.cdef needs a string of C declarations");
  try {
    parseCDeclarations(text.value, t.cscope);
  } catch (e) {
    if (e instanceof CDeclError) throw t.locatedCError(e, node);
    throw e;
  }
}

/**
 * A C type from a ctype value or a type-name string (`'uint64_t'`, `'struct { ... }'`),
 * with `$` parameters taken from `params`.
 */
export function ctypeArg(t: TopLevelInterpreter, v: StaticValue, node: lua.Node, params: StaticValue[] = [], paramNodes: readonly lua.Node[] = []): CType {
  if (v.kind === "ctype") return v.type;
  if (v.kind === "string") {
    const types = params.map((p, i) => {
      if (p.kind !== "ctype") return t.fail(paramNodes[i] ?? node, `a '$' parameter of a C type must be a C type, not ${describeStatic(p)}`);
      return p.type;
    });
    try {
      return parseCTypeName(v.value, t.cscope, types);
    } catch (e) {
      if (e instanceof CDeclError) throw t.locatedCError(e, node);
      throw e;
    }
  }
  if (v.kind === "opaque") throw new UserSpace(`uses ${v.what}`);
  return t.fail(node, `expected a C type (ffi.typeof(...) or a type name string), not ${describeStatic(v)}`);
}

/** `string.format` with Lua's conversions on compile-time values. */
function format(t: TopLevelInterpreter, args: StaticValue[], node: lua.Node, argNodes: readonly lua.Expression[]): string {
  const fmt = stringArg(t, args[0] ?? NIL, argNodes[0] ?? node, "format");
  let k = 1;
  return fmt.replace(/%([-+ #0]*)(\d*)(?:\.(\d+))?([diouxXcsq%])/g, (_m, flags: string, width: string, precision: string | undefined, conv: string) => {
    if (conv === "%") return "%";
    const v = args[k] ?? NIL;
    const at = argNodes[k] ?? node;
    k++;
    let s: string;
    switch (conv) {
      case "d":
      case "i":
        s = t.asInteger(v, at, "format").toString();
        break;
      case "u":
        s = BigInt.asUintN(64, t.asInteger(v, at, "format")).toString();
        break;
      case "o":
        s = BigInt.asUintN(64, t.asInteger(v, at, "format")).toString(8);
        break;
      case "x":
      case "X":
        s = BigInt.asUintN(64, t.asInteger(v, at, "format")).toString(16);
        if (conv === "X") s = s.toUpperCase();
        break;
      case "c":
        s = String.fromCharCode(Number(t.asInteger(v, at, "format")) & 0xff);
        break;
      case "q":
        s = JSON.stringify(stringArg(t, v, at, "format"));
        break;
      default:
        s = v.kind === "opaque" ? stringArg(t, v, at, "format") : luaToString(v);
        if (precision !== undefined) s = s.slice(0, Number(precision));
    }
    const w = Number(width || 0);
    if (s.length < w) s = flags.includes("-") ? s.padEnd(w) : s.padStart(w, flags.includes("0") && conv !== "s" ? "0" : " ");
    return s;
  });
}

/** A warning at `node` (declarations use it). */
export function warnAt(t: TopLevelInterpreter, node: lua.Node, message: string): void {
  t.report({ ...errorAt(t.file, node, message), severity: "warning" });
}
