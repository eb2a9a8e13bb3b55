/**
 * A generator of random luabpf programs for differential testing: well-typed in Lua 5.4
 * (no operation Lua would refuse at run time besides the documented deviations), bounded
 * (every loop has a known small trip count, so the program terminates and the kernel
 * verifier can bound it), and reproducible from a seed.
 *
 * The language is a table of *constructs*, so that it grows with the dialect: a construct
 * is `{ name, weight, applies?, emit }` and adding one is `gen.addStatement(...)` or
 * `gen.addExpression(type, ...)` (see {@link STATEMENTS} and {@link EXPRESSIONS} for the
 * built-in ones and docs/testing.md for how to add one). Expressions are typed by what Lua
 * may see at run time:
 *
 * - `int`: always an integer (arithmetic, comparisons, keys, shift counts);
 * - `bool`: always a boolean (comparisons, `not`);
 * - `opt`: an integer or nil (a map read; only tested for truth, compared with `==`,
 *   defaulted with `or`, stored);
 * - `any`: nil, a boolean or an integer (conditions, `and`/`or`, stores, equality).
 *
 * Values favour the boundaries where integer code breaks: 0, ±1, the 8/16/32/64-bit
 * limits, shift counts around 63/64, the extremes of the 64-bit range.
 *
 * Besides the program, a generated file may declare Lua functions at the top level
 * (`local function f0(a, b) ... end`) that the program (and later functions) call: -O0
 * compiles them as BPF-to-BPF calls, -O2 inlines the small ones. Inside a function the
 * context and the packet are out of reach (they belong to the program's body).
 *
 * The program is a socket filter or tc classifier run on packets (the *packet* hook) or,
 * for one seed in five, a raw tracepoint run on two arguments (the *tracing* hook): there
 * the context's fields give way to `args[0]`, `args[1]` and the current task's fields read
 * through CO-RE relocations (`task().real_parent.tgid`) and helpers (`pid_tgid()`), in the
 * program and in the top-level functions alike.
 */
import { buildPacket } from "@luabpf/loader";
import type { ProgramInput } from "./kernel.js";
import { Random } from "./random.js";

/** Run-time types of generated expressions (see the file comment). */
export type ExprType = "int" | "bool" | "opt" | "any";

/** A local variable in scope: its name and what it may hold. Loop counters are not assignable. */
export interface Variable {
  readonly name: string;
  readonly type: "int" | "opt" | "any";
  readonly assignable: boolean;
}

/** A map the program declares. */
export interface MapSpec {
  readonly name: string;
  readonly kind: "array" | "hash";
  readonly maxEntries: number;
  readonly key: string;
  readonly value: string;
  /** Width of the value in bits (xadd needs 32 or 64). */
  readonly valueBits: number;
}

/** A construct that writes a statement (or several) at the current point. */
export interface StatementConstruct {
  readonly name: string;
  readonly weight: number;
  /** Whether it can be used here (default: always). */
  applies?(g: ProgramBuilder): boolean;
  /** The statement's text (may declare variables through `g.declare`). */
  emit(g: ProgramBuilder): string;
}

/** A construct that writes an expression of one type. */
export interface ExpressionConstruct {
  readonly name: string;
  readonly weight: number;
  /** Leaves (no sub-expressions) are used when the depth budget is spent. */
  readonly leaf?: boolean;
  applies?(g: ProgramBuilder): boolean;
  emit(g: ProgramBuilder): string;
}

/** Size limits of a generated program. */
export interface GenerateOptions {
  /** Statements in the program body, roughly (default 6–24). */
  readonly statements?: number;
  /** Nesting depth of expressions (default 4). */
  readonly expressionDepth?: number;
  /** Nesting depth of loops (default 2). */
  readonly loopDepth?: number;
  /** Runs per program (default 3). */
  readonly runs?: number;
  /** Iterations of nested loops multiplied, at most (default 16: cheap to verify). */
  readonly maxTrips?: number;
  /** What the program runs on (default: chosen by the seed, `tracing` for one in five; see the file comment). */
  readonly hook?: Hook;
}

/** What a generated program runs on: packets (socket/tc) or a raw tracepoint's arguments. */
export type Hook = "packet" | "tracing";

/** A generated program with its inputs. */
export interface GeneratedProgram {
  readonly seed: number;
  readonly source: string;
  readonly inputs: ProgramInput[];
}

/** Interesting 64-bit values, as Lua source (a decimal literal past 2^63 would be a float in Lua). */
const BOUNDARY_LITERALS: readonly string[] = [
  "0", "1", "2", "3", "5", "7", "8", "15", "16", "31", "32", "33", "63", "64", "65", "100", "127", "128", "255", "256",
  "0x7fff", "0x8000", "0xffff", "0x10000", "0x7fffffff", "0x80000000", "0xffffffff", "0x100000000",
  "0x7fffffffffffffff", "0x8000000000000000", "0xffffffffffffffff", "(-0x7fffffffffffffff - 1)",
];

/** The `bit` library's functions as docs/language.md defines them (all 64-bit); `count`: the second argument is a shift/rotate count. */
const BIT_FUNCTIONS: readonly { name: string; arity: [number, number]; count?: boolean }[] = [
  { name: "band", arity: [1, 3] }, { name: "bor", arity: [1, 3] }, { name: "bxor", arity: [1, 3] }, { name: "bnot", arity: [1, 1] },
  { name: "lshift", arity: [2, 2], count: true }, { name: "rshift", arity: [2, 2], count: true }, { name: "arshift", arity: [2, 2], count: true },
  { name: "rol", arity: [2, 2], count: true }, { name: "ror", arity: [2, 2], count: true }, { name: "bswap", arity: [1, 1] }, { name: "tobit", arity: [1, 1] },
];

const ARITH = ["+", "-", "*", "//", "%", "&", "|", "~", "<<", ">>"] as const;
const COMPARE = ["<", "<=", ">", ">=", "==", "~="] as const;
const CONTEXT_FIELDS = ["skb.mark", "skb.priority", "skb.len"] as const;
/** A raw tracepoint's arguments (the test run passes two). */
const TRACEPOINT_ARGS = ["args[0]", "args[1]"] as const;
/**
 * What a tracing program reads of the current task: fields through CO-RE relocations and
 * helpers (the oracle knows them as the test run's task; oracle.ts `TaskIdentity`).
 */
const TASK_VALUES = ["task().tgid", "task().pid", "task().real_parent.tgid", "pid_tgid()", "uid_gid()"] as const;
const PACKET_FIELDS = [
  "pkt.type", "pkt.ip.ver", "pkt.ip.hlen", "pkt.ip.tos", "pkt.ip.len", "pkt.ip.id", "pkt.ip.df", "pkt.ip.foffset", "pkt.ip.ttl",
  "pkt.ip.proto", "pkt.ip.src", "pkt.ip.dst", "pkt.ip.tcp.src_port", "pkt.ip.tcp.dst_port", "pkt.ip.tcp.flags", "pkt.ip.tcp.flag_syn",
  "pkt.ip.tcp.seq", "pkt.ip.tcp.offset", "pkt.ip.udp.dst_port", "pkt.ip.udp.length", "pkt.ip.icmp.type",
] as const;
const VALUE_TYPES: readonly [string, number][] = [
  ["uint8_t", 8], ["int8_t", 8], ["uint16_t", 16], ["int16_t", 16], ["uint32_t", 32], ["int32_t", 32], ["uint64_t", 64], ["int64_t", 64],
];
const KEY_TYPES = ["uint8_t", "uint16_t", "uint32_t", "uint64_t", "int32_t"] as const;

/** The state of one program being written; constructs read and extend it. */
export class ProgramBuilder {
  readonly maps: MapSpec[] = [];
  /** What the program runs on. */
  readonly hook: Hook;
  private readonly scopes: Variable[][] = [[]];
  private counter = 0;
  /** Loops enclosing the current point. */
  loopDepth = 0;
  /** Expression nesting left. */
  depth: number;
  /** Statements left to write. */
  budget: number;
  /** Iterations of the enclosing loops multiplied (to keep programs cheap to verify). */
  tripProduct = 1;
  /** Top-level functions declared so far (callable from here on). */
  readonly functions: { readonly name: string; readonly arity: number }[] = [];
  /** Whether the text being written is a top-level function's body (no context, no packet). */
  inFunction = false;

  constructor(
    readonly rng: Random,
    readonly generator: Generator,
    readonly options: Required<GenerateOptions>,
  ) {
    this.hook = options.hook;
    this.depth = options.expressionDepth;
    this.budget = options.statements;
  }

  /** A fresh name with `prefix`. */
  fresh(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  declare(v: Variable): void {
    this.scopes[this.scopes.length - 1]!.push(v);
  }

  /** The visible variables: a shadowed local is left out (its name means the innermost one). */
  variables(filter: (v: Variable) => boolean = () => true): Variable[] {
    const visible = new Map<string, Variable>();
    for (const v of this.scopes.flat()) visible.set(v.name, v);
    return [...visible.values()].filter(filter);
  }

  /** Runs `f` in a new block scope. */
  scoped<T>(f: () => T): T {
    this.scopes.push([]);
    try {
      return f();
    } finally {
      this.scopes.pop();
    }
  }

  /** An expression of `type`, built from the registered constructs. */
  expr(type: ExprType): string {
    const all = this.generator.expressions[type].filter((c) => c.applies?.(this) ?? true);
    const usable = this.depth <= 0 ? all.filter((c) => c.leaf) : all;
    const c = this.rng.weighted(usable.length > 0 ? usable : all, (x) => x.weight);
    this.depth--;
    try {
      return c.emit(this);
    } finally {
      this.depth++;
    }
  }

  /** A map key: usually in a small range so that keys meet again. */
  key(): string {
    const r = this.rng.below(10);
    if (r < 4) return String(this.rng.int(0, 7));
    if (r < 8) return `(${this.expr("int")} & ${this.rng.pick(["3", "7", "15"])})`;
    return this.expr("int");
  }

  /** Statements until the budget or `max` is spent. */
  block(max: number): string[] {
    const out: string[] = [];
    const n = Math.min(max, this.budget);
    for (let k = 0; k < n && this.budget > 0; k++) {
      this.budget--;
      const c = this.rng.weighted(
        this.generator.statements.filter((s) => s.applies?.(this) ?? true),
        (s) => s.weight,
      );
      out.push(c.emit(this));
    }
    return out;
  }

  /** A block as indented text, optionally ending with `return` (Lua allows it only last). */
  body(max: number, indent: string): string {
    return this.scoped(() => {
      const lines = this.block(max);
      if (this.rng.chance(0.1)) lines.push(`return ${this.expr("int")}`);
      return lines.map((l) => indent + l.replace(/\n/g, `\n${indent}`)).join("\n");
    });
  }
}

const nameOf = (vs: Variable[], rng: Random): string => rng.pick(vs).name;

/** The built-in expressions, by type. */
export const EXPRESSIONS: Readonly<Record<ExprType, readonly ExpressionConstruct[]>> = {
  int: [
    { name: "literal", weight: 4, leaf: true, emit: (g) => (g.rng.chance(0.7) ? g.rng.pick(BOUNDARY_LITERALS) : g.rng.chance(0.5) ? `(${g.rng.int(-1000, 1000)})` : `0x${g.rng.u64().toString(16)}`) },
    { name: "variable", weight: 6, leaf: true, applies: (g) => g.variables((v) => v.type === "int").length > 0, emit: (g) => nameOf(g.variables((v) => v.type === "int"), g.rng) },
    { name: "context field", weight: 2, leaf: true, applies: (g) => g.hook === "packet" && !g.inFunction, emit: (g) => g.rng.pick(CONTEXT_FIELDS) },
    { name: "packet field", weight: 1, leaf: true, applies: (g) => g.hook === "packet" && !g.inFunction, emit: (g) => g.rng.pick(PACKET_FIELDS) },
    { name: "tracepoint argument", weight: 2, leaf: true, applies: (g) => g.hook === "tracing" && !g.inFunction, emit: (g) => g.rng.pick(TRACEPOINT_ARGS) },
    { name: "current task", weight: 1.5, leaf: true, applies: (g) => g.hook === "tracing", emit: (g) => g.rng.pick(TASK_VALUES) },
    { name: "map read or default", weight: 2, applies: (g) => g.maps.length > 0, emit: (g) => `(${g.rng.pick(g.maps).name}[${g.key()}] or ${g.expr("int")})` },
    { name: "optional or default", weight: 1, emit: (g) => `(${g.expr("opt")} or ${g.expr("int")})` },
    { name: "binary operator", weight: 6, emit: (g) => `(${g.expr("int")} ${g.rng.pick(ARITH)} ${g.expr("int")})` },
    { name: "shift by a boundary count", weight: 1, emit: (g) => `(${g.expr("int")} ${g.rng.pick(["<<", ">>"])} ${g.rng.pick(["0", "1", "31", "32", "63", "64", "65", "-1", "-63", "-64"])})` },
    // A space after the operator: "--" would start a comment.
    { name: "unary operator", weight: 1, emit: (g) => `(${g.rng.pick(["-", "~"])} ${g.expr("int")})` },
    { name: "conditional", weight: 1, emit: (g) => `(${g.expr("bool")} and ${g.expr("int")} or ${g.expr("int")})` },
    { name: "unsigned division", weight: 0.7, emit: (g) => `(${g.expr("int")} / ${g.rng.chance(0.5) ? g.rng.pick(BOUNDARY_LITERALS) : g.expr("int")})` },
    {
      name: "bit library",
      weight: 1.5,
      emit(g) {
        const f = g.rng.pick(BIT_FUNCTIONS);
        const [min, max] = f.arity;
        const args = Array.from({ length: g.rng.int(min, max) }, (_, k) =>
          k === 1 && f.count ? (g.rng.chance(0.6) ? g.rng.pick(["0", "1", "8", "31", "32", "63", "64", "65", "-1", "127"]) : g.expr("int")) : g.expr("int"),
        );
        return `bit.${f.name}(${args.join(", ")})`;
      },
    },
    {
      name: "math library",
      weight: 1,
      emit(g) {
        const f = g.rng.pick(["log2", "log2", "min", "max", "abs"] as const);
        if (f === "log2" || f === "abs") return `math.${f}(${g.expr("int")})`;
        return `math.${f}(${Array.from({ length: g.rng.int(2, 3) }, () => g.expr("int")).join(", ")})`;
      },
    },
    {
      name: "call of a top-level function",
      weight: 1.5,
      applies: (g) => g.functions.length > 0,
      emit(g) {
        const f = g.rng.pick(g.functions);
        return `${f.name}(${Array.from({ length: f.arity }, () => g.expr("int")).join(", ")})`;
      },
    },
  ],
  bool: [
    { name: "comparison", weight: 6, emit: (g) => `(${g.expr("int")} ${g.rng.pick(COMPARE)} ${g.expr("int")})` },
    { name: "equality of any values", weight: 1, emit: (g) => `(${g.expr("any")} ${g.rng.pick(["==", "~="])} ${g.expr("any")})` },
    { name: "nil test", weight: 1, emit: (g) => `(${g.expr("opt")} ${g.rng.pick(["==", "~="])} nil)` },
    { name: "not", weight: 1, emit: (g) => `(not ${g.expr("any")})` },
    { name: "and/or", weight: 2, emit: (g) => `(${g.expr("bool")} ${g.rng.pick(["and", "or"])} ${g.expr("bool")})` },
    { name: "literal", weight: 0.5, leaf: true, emit: (g) => g.rng.pick(["true", "false"]) },
  ],
  opt: [
    { name: "map read", weight: 4, leaf: true, applies: (g) => g.maps.length > 0, emit: (g) => `${g.rng.pick(g.maps).name}[${g.rng.int(0, 7)}]` },
    { name: "map read at a computed key", weight: 2, applies: (g) => g.maps.length > 0, emit: (g) => `${g.rng.pick(g.maps).name}[${g.key()}]` },
    { name: "variable", weight: 3, leaf: true, applies: (g) => g.variables((v) => v.type === "opt").length > 0, emit: (g) => nameOf(g.variables((v) => v.type === "opt"), g.rng) },
    { name: "integer", weight: 1, emit: (g) => g.expr("int") },
    { name: "nil", weight: 0.5, leaf: true, emit: () => "nil" },
    { name: "integer or nil", weight: 1, emit: (g) => `(${g.expr("bool")} and ${g.expr("int")} or nil)` },
    { name: "or", weight: 1, emit: (g) => `(${g.expr("opt")} or ${g.expr("opt")})` },
  ],
  any: [
    { name: "integer", weight: 2, emit: (g) => g.expr("int") },
    { name: "boolean", weight: 2, emit: (g) => g.expr("bool") },
    { name: "optional", weight: 2, emit: (g) => g.expr("opt") },
    { name: "variable", weight: 3, leaf: true, applies: (g) => g.variables((v) => v.type === "any").length > 0, emit: (g) => nameOf(g.variables((v) => v.type === "any"), g.rng) },
    { name: "and/or", weight: 2, emit: (g) => `(${g.expr("any")} ${g.rng.pick(["and", "or"])} ${g.expr("any")})` },
    { name: "nil", weight: 0.3, leaf: true, emit: () => "nil" },
  ],
};

/** A numeric `for` header with a small trip count: constant, run-time or boundary bounds. */
function forHeader(g: ProgramBuilder, variable: string): { header: string; trips: number } {
  const rng = g.rng;
  // A value known only at run time (masked below to keep the trip count small).
  const runtime = (): string => (g.inFunction ? g.expr("int") : rng.pick(g.hook === "packet" ? CONTEXT_FIELDS : TRACEPOINT_ARGS));
  const step = rng.pick([1, 1, 1, 2, 3, -1, -2]);
  const trips = rng.int(0, 5);
  switch (rng.below(6)) {
    case 0: {
      // Run-time start counting towards a constant limit (bounded by the mask).
      const limit = rng.int(0, 6);
      return step > 0
        ? { header: `for ${variable} = (${runtime()} & 7), ${limit}, ${step} do`, trips: 8 }
        : { header: `for ${variable} = ${limit}, (${runtime()} & 7), ${step} do`, trips: 8 };
    }
    case 1: {
      const start = rng.int(-3, 3);
      return step > 0
        ? { header: `for ${variable} = ${start}, ${start} + (${runtime()} & 3), ${step} do`, trips: 4 }
        : { header: `for ${variable} = ${start}, ${start} - (${runtime()} & 3), ${step} do`, trips: 4 };
    }
    case 2: {
      // At the ends of the 64-bit range: the loop must stop without overflowing.
      const top = rng.chance(0.5);
      const s = top ? Math.abs(step) : -Math.abs(step);
      return top
        ? { header: `for ${variable} = 0x7fffffffffffff${rng.pick(["f0", "f8", "fc"])}, 0x7fffffffffffffff, ${s} do`, trips: 16 }
        : { header: `for ${variable} = -0x7fffffffffffff${rng.pick(["f0", "f8", "fc"])}, -0x7fffffffffffffff - 1, ${s} do`, trips: 17 };
    }
    case 3:
      // A run-time step with a known range.
      return { header: `for ${variable} = 0, ${rng.int(0, 8)}, (${runtime()} & 3) + 1 do`, trips: 9 };
    default: {
      const start = rng.int(-5, 5);
      const limit = start + step * trips + (rng.chance(0.3) ? Math.sign(step) * rng.int(0, Math.abs(step) - 1) : 0);
      return { header: `for ${variable} = ${start}, ${limit}${step === 1 && rng.chance(0.5) ? "" : `, ${step}`} do`, trips: Math.max(trips + 1, 1) };
    }
  }
}

/** Whether another loop nested here stays cheap to run and to verify. */
const loopAllowed = (g: ProgramBuilder): boolean => g.loopDepth < g.options.loopDepth && g.tripProduct <= g.options.maxTrips && g.budget > 2;

function loop(g: ProgramBuilder, trips: number, f: () => string): string {
  g.loopDepth++;
  const saved = g.tripProduct;
  g.tripProduct *= Math.max(1, trips);
  try {
    return f();
  } finally {
    g.loopDepth--;
    g.tripProduct = saved;
  }
}

/** The built-in statements. */
export const STATEMENTS: readonly StatementConstruct[] = [
  {
    name: "local integer",
    weight: 5,
    emit(g) {
      const name = g.fresh("v");
      const text = `local ${name} = ${g.expr("int")}`;
      g.declare({ name, type: "int", assignable: true });
      return text;
    },
  },
  {
    name: "local value that may be nil or boolean",
    weight: 2,
    emit(g) {
      const name = g.fresh("v");
      const type = g.rng.chance(0.5) ? "opt" : "any";
      const text = `local ${name} = ${g.expr(type)}`;
      g.declare({ name, type, assignable: true });
      return text;
    },
  },
  {
    name: "local list with missing values",
    weight: 0.5,
    emit(g) {
      // `local a, b = e`: b is nil.
      const a = g.fresh("v");
      const b = g.fresh("v");
      const text = `local ${a}, ${b} = ${g.expr("int")}`;
      g.declare({ name: a, type: "int", assignable: true });
      g.declare({ name: b, type: "opt", assignable: true });
      return text;
    },
  },
  {
    name: "shadowing local",
    weight: 0.7,
    applies: (g) => g.variables((v) => v.assignable).length > 0,
    emit(g) {
      // Same name, same type: a later use means the innermost one, in Lua as here.
      const v = g.rng.pick(g.variables((x) => x.assignable));
      const text = `local ${v.name} = ${g.expr(v.type)}`;
      g.declare({ name: v.name, type: v.type, assignable: true });
      return text;
    },
  },
  {
    name: "assignment",
    weight: 4,
    applies: (g) => g.variables((v) => v.assignable).length > 0,
    emit(g) {
      const v = g.rng.pick(g.variables((x) => x.assignable));
      return `${v.name} = ${g.expr(v.type)}`;
    },
  },
  {
    name: "multiple assignment",
    weight: 1,
    applies: (g) => g.variables((v) => v.assignable).length > 1,
    emit(g) {
      const vs = g.variables((x) => x.assignable);
      const a = g.rng.pick(vs);
      const b = g.rng.pick(vs.filter((x) => x !== a));
      // Sometimes a swap: every right-hand side is evaluated first.
      if (a.type === b.type && g.rng.chance(0.5)) return `${a.name}, ${b.name} = ${b.name}, ${a.name}`;
      return `${a.name}, ${b.name} = ${g.expr(a.type)}, ${g.expr(b.type)}`;
    },
  },
  {
    name: "map store",
    weight: 4,
    applies: (g) => g.maps.length > 0,
    emit: (g) => `${g.rng.pick(g.maps).name}[${g.key()}] = ${g.expr(g.rng.pick(["int", "int", "int", "bool", "opt", "any"] as const))}`,
  },
  {
    name: "map delete",
    weight: 0.5,
    applies: (g) => g.maps.length > 0,
    emit: (g) => `${g.rng.pick(g.maps).name}[${g.key()}] = nil`,
  },
  {
    name: "xadd",
    weight: 2,
    applies: (g) => g.maps.some((m) => m.valueBits >= 32),
    emit: (g) => `xadd(${g.rng.pick(g.maps.filter((m) => m.valueBits >= 32)).name}[${g.key()}], ${g.expr("int")})`,
  },
  {
    name: "if",
    weight: 4,
    applies: (g) => g.budget > 1,
    emit(g) {
      let text = `if ${g.expr("any")} then\n${g.body(3, "  ")}`;
      for (let k = g.rng.below(3); k > 0; k--) {
        if (g.rng.chance(0.5)) text += `\nelseif ${g.expr("any")} then\n${g.body(2, "  ")}`;
      }
      if (g.rng.chance(0.5)) text += `\nelse\n${g.body(2, "  ")}`;
      return `${text}\nend`;
    },
  },
  {
    name: "numeric for",
    weight: 3,
    applies: loopAllowed,
    emit(g) {
      const i = g.fresh("i");
      const { header, trips } = forHeader(g, i);
      return loop(g, trips, () =>
        g.scoped(() => {
          g.declare({ name: i, type: "int", assignable: g.rng.chance(0.2) });
          return `${header}\n${g.body(4, "  ")}\nend`;
        }),
      );
    },
  },
  {
    name: "while with a counter",
    weight: 2,
    applies: loopAllowed,
    emit(g) {
      const c = g.fresh("c");
      const n = g.rng.int(0, 5);
      const cond = g.rng.chance(0.5) ? `${c} < ${n}` : `${c} < ${n} and ${g.expr("any")}`;
      return loop(g, n, () =>
        g.scoped(() => {
          g.declare({ name: c, type: "int", assignable: false });
          return `local ${c} = 0\nwhile ${cond} do\n  ${c} = ${c} + 1\n${g.body(3, "  ")}\nend`;
        }),
      );
    },
  },
  {
    name: "repeat with a counter",
    weight: 2,
    applies: loopAllowed,
    emit(g) {
      const c = g.fresh("c");
      const n = g.rng.int(1, 5);
      return loop(g, n, () =>
        g.scoped(() => {
          g.declare({ name: c, type: "int", assignable: false });
          return g.scoped(() => {
            // The condition sees the body's locals (Lua's rule): `r` is declared in the body.
            const r = g.fresh("r");
            const first = `local ${r} = ${g.expr("int")}`;
            g.declare({ name: r, type: "int", assignable: true });
            const body = g.block(3).map((l) => "  " + l.replace(/\n/g, "\n  ")).join("\n");
            const until = g.rng.chance(0.5) ? `${c} >= ${n}` : `${c} >= ${n} or ${g.expr("any")}`;
            return `local ${c} = 0\nrepeat\n  ${c} = ${c} + 1\n  ${first}\n${body}\nuntil ${until}`;
          });
        }),
      );
    },
  },
  {
    name: "break",
    weight: 1.5,
    applies: (g) => g.loopDepth > 0,
    emit: (g) => (g.rng.chance(0.8) ? `if ${g.expr("any")} then break end` : "do break end"),
  },
  {
    name: "return from a branch",
    weight: 0.7,
    emit: (g) => `if ${g.expr("any")} then return ${g.expr("int")} end`,
  },
  {
    name: "do block",
    weight: 0.5,
    applies: (g) => g.budget > 1,
    emit: (g) => `do\n${g.body(3, "  ")}\nend`,
  },
  {
    name: "code that cannot run",
    weight: 0.7,
    applies: (g) => g.budget > 1,
    emit(g) {
      const head = g.rng.pick(["if false then", "while false do", "for z = 3, 1 do", "if nil then"]);
      // `break` is allowed in the dead loops only.
      if (head.startsWith("if")) return `${head}\n${g.body(2, "  ")}\nend`;
      return loop(g, 1, () => `${head}\n${g.body(2, "  ")}\nend`);
    },
  },
];

/** The generator: the construct tables (copied, so that adding constructs affects one generator only). */
export class Generator {
  readonly statements: StatementConstruct[] = [...STATEMENTS];
  readonly expressions: Record<ExprType, ExpressionConstruct[]> = {
    int: [...EXPRESSIONS.int],
    bool: [...EXPRESSIONS.bool],
    opt: [...EXPRESSIONS.opt],
    any: [...EXPRESSIONS.any],
  };

  /** Adds a statement construct (e.g. for a new dialect feature). */
  addStatement(c: StatementConstruct): this {
    this.statements.push(c);
    return this;
  }

  /** Adds an expression construct of `type`. */
  addExpression(type: ExprType, c: ExpressionConstruct): this {
    this.expressions[type].push(c);
    return this;
  }

  /** The program of `seed`. */
  generate(seed: number, options: GenerateOptions = {}): GeneratedProgram {
    const rng = new Random(seed);
    const opts: Required<GenerateOptions> = {
      statements: options.statements ?? rng.int(6, 24),
      expressionDepth: options.expressionDepth ?? 4,
      loopDepth: options.loopDepth ?? 2,
      runs: options.runs ?? 3,
      maxTrips: options.maxTrips ?? 16,
      // From a stream of its own, so that the packet programs of earlier seeds stay as they were.
      hook: options.hook ?? (new Random(seed ^ 0x7ac1).below(5) === 0 ? "tracing" : "packet"),
    };
    const g = new ProgramBuilder(rng, this, opts);
    const top: string[] = [];
    // An array of results (written at the end) and up to two more maps of random shapes.
    g.maps.push({ name: "out", kind: "array", maxEntries: 8, key: "uint32_t", value: "uint64_t", valueBits: 64 });
    top.push(`local out = bpf.map("array", 8, "uint32_t", "uint64_t")`);
    for (let k = rng.below(3); k > 0; k--) {
      const [value, bits] = rng.pick(VALUE_TYPES);
      const kind = rng.chance(0.5) ? "hash" : "array";
      const key = kind === "array" ? "uint32_t" : rng.pick(KEY_TYPES);
      const maxEntries = rng.pick([1, 2, 4, 8, 16, 64]);
      const name = g.fresh("m");
      g.maps.push({ name, kind, maxEntries, key, value, valueBits: bits });
      top.push(`local ${name} = bpf.map("${kind}", ${maxEntries}, "${key}", "${value}")`);
    }
    for (let k = rng.below(3); k > 0; k--) {
      // Compile-time constants: integer expressions evaluated by the compiler, not the kernel.
      const name = g.fresh("K");
      const operand = (): string => rng.pick([...BOUNDARY_LITERALS, ...g.variables((v) => v.name.startsWith("K")).map((v) => v.name)]);
      const text = rng.chance(0.4) ? operand() : `${operand()} ${rng.pick(ARITH)} ${rng.chance(0.3) ? `(${rng.pick(["-", "~"])} ${operand()})` : operand()}`;
      top.push(`local ${name} = ${text}`);
      g.declare({ name, type: "int", assignable: false });
    }
    if (rng.chance(0.5)) top.push(`local bit = require("bit")`);
    for (let k = rng.chance(0.35) ? rng.int(1, 2) : 0; k > 0; k--) top.push(topLevelFunction(g));
    const kind = opts.hook === "tracing" ? "raw_tracepoint" : rng.chance(0.7) ? "socket" : "tc";
    const lines = g.scoped(() => {
      const body = g.block(opts.statements);
      // Results: some integer locals in full 64 bits, then the return value (32 bits survive).
      const ints = g.variables((v) => v.type === "int" && v.name.startsWith("v"));
      ints.slice(-6).forEach((v, k) => body.push(`out[${k}] = ${v.name}`));
      body.push(`return ${g.expr("int")}`);
      return body;
    });
    const indented = lines.map((l) => "  " + l.replace(/\n/g, "\n  ")).join("\n");
    if (kind === "raw_tracepoint") {
      return { seed, source: `${top.join("\n")}\nbpf.raw_tracepoint('sys_enter', function (args)\n${indented}\nend)\n`, inputs: randomArguments(rng, opts.runs) };
    }
    return { seed, source: `${top.join("\n")}\nbpf.${kind}(function (skb)\n${indented}\nend)\n`, inputs: randomInputs(rng, opts.runs) };
  }
}

/**
 * `local function fN(a, b, ...)`: 1–3 integer parameters, a few statements (loops, maps and
 * calls of earlier functions included), and an integer result on every path.
 */
function topLevelFunction(g: ProgramBuilder): string {
  const name = g.fresh("f");
  const arity = g.rng.int(1, 3);
  const params = Array.from({ length: arity }, () => g.fresh("a"));
  const saved = { budget: g.budget, depth: g.depth };
  g.inFunction = true;
  g.budget = g.rng.int(1, 6);
  try {
    const text = g.scoped(() => {
      for (const p of params) g.declare({ name: p, type: "int", assignable: g.rng.chance(0.5) });
      const lines = g.block(g.budget);
      lines.push(`return ${g.expr("int")}`);
      return `local function ${name}(${params.join(", ")})\n${lines.map((l) => "  " + l.replace(/\n/g, "\n  ")).join("\n")}\nend`;
    });
    g.functions.push({ name, arity });
    return text;
  } finally {
    g.inFunction = false;
    g.budget = saved.budget;
    g.depth = saved.depth;
  }
}

/** `runs` inputs: TCP, UDP and ICMP frames with random fields, now and then a truncated one. */
export function randomInputs(rng: Random, runs: number): ProgramInput[] {
  const inputs: ProgramInput[] = [];
  const ip = (): string => `${rng.int(1, 254)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  for (let k = 0; k < runs; k++) {
    const proto = rng.pick(["tcp", "tcp", "udp", "icmp"]);
    const ports = proto === "icmp" ? "" : `,sport=${rng.pick([0, 53, 80, 443, rng.int(1, 65535)])},dport=${rng.pick([0, 22, 80, 8080, rng.int(1, 65535)])}`;
    const flags = proto === "tcp" ? `,flags=${rng.pick(["S", "SA", "A", "FA", "R", "PA"])}` : "";
    let packet = buildPacket(`${proto},src=${ip()},dst=${ip()},ttl=${rng.int(0, 255)}${ports}${flags}${rng.chance(0.3) ? `,len=${rng.int(64, 300)}` : ""}`);
    // Truncated frames make transport-header loads fail (the program stops with 0). A test
    // run refuses an IPv4 frame without a whole IPv4 header (EINVAL), hence at least 34 bytes.
    if (rng.chance(0.1)) packet = packet.subarray(0, rng.int(34, packet.length - 1));
    const mark = rng.pick([0, 1, 3, 7, 8, 255, 0x7fffffff, 0x80000000, 0xffffffff, rng.u32()]);
    const priority = rng.pick([0, 1, 6, rng.u32()]);
    inputs.push({ packet, mark, priority });
  }
  return inputs;
}

/** `runs` inputs of a raw tracepoint: two 64-bit arguments each, boundary values now and then. */
export function randomArguments(rng: Random, runs: number): ProgramInput[] {
  const arg = (): string => (rng.chance(0.4) ? rng.pick(["0", "1", "2147483648", "4294967295", "9223372036854775808", "18446744073709551615"]) : rng.u64().toString());
  return Array.from({ length: runs }, () => ({ packet: new Uint8Array(0), args: [arg(), arg()] }));
}

/** A generator with the built-in constructs. */
export function defaultGenerator(): Generator {
  return new Generator();
}
