/**
 * Compile-time values: what the top level of a program file evaluates to, and what names
 * in program bodies refer to besides run-time locals (maps, the context, packet
 * dissectors, library functions, C types, constants, Lua functions).
 *
 * The top level is a Lua program run by the compiler (toplevel/); its variables are
 * {@link Cell}s with a history of values stamped by a global clock, so that a program
 * declared at one point sees the values its upvalues had at that point (bcc compiles a
 * function when it is declared, reading its upvalues then), and the effects of a
 * top-level statement that turned out to be user-space code can be undone.
 */
import type { MapDecl, Value } from "@luabpf/ir";
import type * as lua from "luaparse";
import type { CScope, CType } from "./ctypes/index.js";
import type { HeaderName } from "./dissectors.js";
import type { ProgramKind } from "./builtins.js";

/** A map declared with `bpf.map`. Its IR name is assigned once the top level is done. */
export interface MapInfo {
  /** The declaration added to the module (its `name` is final before bodies are lowered). */
  readonly decl: MapDecl;
  /** The map kind's table name (`hash`, `perf_event_array`, ...). */
  readonly kind: string;
  readonly key: CType;
  readonly value: CType;
  /** The local it was first bound to, which names it. */
  localName: string | undefined;
  /** Where `bpf.map` was called. */
  readonly node: lua.Node;
}

/** The location-free part of a position in a packet: a header at `index + offset`. */
export interface PacketPosition {
  readonly header: HeaderName;
  /** The constant part of the header's start. */
  readonly offset: number;
  /**
   * The variable part (an IR value, i64), or undefined when the header is at a constant
   * offset. Only meaningful inside the function that computed it.
   */
  readonly index: Value | undefined;
}

/** A variable of the top level: its values over (compile) time. */
export class Cell {
  private readonly stamps: number[];
  private readonly values: StaticValue[];

  /** A cell set to `value` now (the clock's next tick), or at time `clock` when it is a number. */
  constructor(
    readonly name: string,
    value: StaticValue,
    clock: Clock | number,
  ) {
    // Arrays of one (most cells are never written again), not empty ones grown by push.
    this.stamps = [typeof clock === "number" ? clock : clock.tick()];
    this.values = [value];
  }

  set(value: StaticValue, clock: Clock): void {
    this.stamps.push(clock.tick());
    this.values.push(value);
  }

  /** The value now. */
  get current(): StaticValue {
    return this.values[this.values.length - 1]!;
  }

  /** The value at time `t` (the last one set at or before `t`), or undefined if none yet. */
  at(t: number): StaticValue | undefined {
    for (let i = this.stamps.length - 1; i >= 0; i--) if (this.stamps[i]! <= t) return this.values[i];
    return undefined;
  }

  /** Forgets the values set after time `t` (a skipped statement's effects). */
  rollback(t: number): void {
    while (this.stamps.length > 1 && this.stamps[this.stamps.length - 1]! > t) {
      this.stamps.pop();
      this.values.pop();
    }
  }
}

/** The compile-time clock: every variable write gets the next tick. */
export class Clock {
  constructor(private t = 0) {}
  tick(): number {
    return ++this.t;
  }
  get now(): number {
    return this.t;
  }
}

/** A lexical environment of the top level: a frame of cells and its parent. */
export class Env {
  readonly cells = new Map<string, Cell>();
  constructor(readonly parent: Env | undefined) {}

  /** The cell of `name` in this frame (not its parents), if any. */
  own(name: string): Cell | undefined {
    return this.cells.get(name);
  }

  lookup(name: string): Cell | undefined {
    for (let e: Env | undefined = this; e; e = e.parent) {
      const c = e.own(name);
      if (c) return c;
    }
    return undefined;
  }
}

/**
 * The frame of the top level's globals: starts with the library's, each of which gets its
 * cell when first looked up (most compiles use a few of ~40), stamped as if every one had been
 * made at the start, in `initial`'s order (times 1 to n; the clock starts at n).
 */
export class GlobalEnv extends Env {
  constructor(
    private readonly initial: ReadonlyMap<string, { readonly index: number; value(file: string): StaticValue }>,
    private readonly file: string,
  ) {
    super(undefined);
  }

  override own(name: string): Cell | undefined {
    const c = this.cells.get(name);
    if (c !== undefined) return c;
    const g = this.initial.get(name);
    if (g === undefined) return undefined;
    const cell = new Cell(name, g.value(this.file), g.index + 1);
    this.cells.set(name, cell);
    return cell;
  }
}

/**
 * What a Lua function sees of its surroundings when a program is compiled: its
 * environment, read at time `time` (the program's declaration).
 */
export interface Closure {
  readonly env: Env;
  readonly time: number;
}

/** Resolves `name` in a closure: its value at the closure's time, if declared by then. */
export function lookupClosure(c: Closure, name: string): StaticValue | undefined {
  for (let e: Env | undefined = c.env; e; e = e.parent) {
    const cell = e.own(name);
    if (cell) {
      const v = cell.at(c.time);
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

/** A compile-time Lua table. Keys are integers (as strings `#n`), strings, or booleans. */
export class StaticTable {
  private map: Map<string, { key: StaticValue; value: StaticValue }>;
  /** Whether `map` is a template's, shared with other tables until this one is first written. */
  private shared: boolean;

  /** An empty table, or one holding the entries of `template` (copied on the first write). */
  constructor(template?: ReadonlyMap<string, { key: StaticValue; value: StaticValue }>) {
    this.map = (template as Map<string, { key: StaticValue; value: StaticValue }> | undefined) ?? new Map();
    this.shared = template !== undefined;
  }

  /** The entries, by {@link StaticTable.keyOf} key, in insertion order. */
  get entries(): ReadonlyMap<string, { key: StaticValue; value: StaticValue }> {
    return this.map;
  }

  static keyOf(k: StaticValue): string | undefined {
    switch (k.kind) {
      case "integer":
        return `#${k.value}`;
      case "string":
        return `$${k.value}`;
      case "boolean":
        return `?${k.value}`;
      default:
        return undefined;
    }
  }
  get(k: StaticValue): StaticValue {
    const key = StaticTable.keyOf(k);
    return (key !== undefined ? this.map.get(key)?.value : undefined) ?? NIL;
  }
  set(k: StaticValue, v: StaticValue): void {
    const key = StaticTable.keyOf(k)!;
    if (this.shared) {
      this.map = new Map(this.map);
      this.shared = false;
    }
    if (v.kind === "nil") this.map.delete(key);
    else this.map.set(key, { key: k, value: v });
  }
  /** The border `#t`: the largest n with t[1..n] all non-nil. */
  length(): bigint {
    let n = 0n;
    while (this.map.has(`#${n + 1n}`)) n++;
    return n;
  }
}

/** A program declaration of the top level (`bpf.socket(fn)`, `bpf(fn)`, ...). */
export interface ProgramDecl {
  /** `socket`, `xdp`, `kprobe`, ...; `bpf(fn)` not attached anywhere is a socket filter. */
  kindName: string;
  kind: ProgramKind;
  /** ELF section name (`kprobe/do_sys_open`). */
  section: string;
  readonly fn: FunctionValue;
  /** The declaring call. */
  node: lua.Node;
  /** What the attach call said (interface, probe name, target, pid, cpu), for the loader. */
  attach: Record<string, string | number | boolean>;
  /** Set by an attach call that took a `bpf(fn)` result. */
  attached: boolean;
}

export type FunctionValue = Extract<StaticValue, { kind: "function" }>;

/** Library functions and namespaces, by qualified name (`bpf.map`, `ffi.new`, `print`). */
export interface LibraryRef {
  readonly kind: "library";
  readonly name: string;
}

/** A value known at compile time. */
export type StaticValue =
  | { readonly kind: "integer"; readonly value: bigint; readonly cdata?: "ULL" | "LL" }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "boolean"; readonly value: boolean }
  | { readonly kind: "nil" }
  | { readonly kind: "table"; readonly table: StaticTable }
  /** A library module or function (`bpf`, `bpf.map`, `ffi.new`, `bit.band`, `print`). */
  | LibraryRef
  | { readonly kind: "map"; readonly map: MapInfo }
  /** A Lua function with the environment it closes over. */
  | { readonly kind: "function"; readonly node: lua.FunctionDeclaration; readonly env: Env; readonly name: string | undefined; closure?: Closure }
  /** A compiled program (`bpf(fn)`, or what `bpf.socket(...)` returns). */
  | { readonly kind: "program"; readonly program: ProgramDecl }
  /** A C type (`ffi.typeof('uint64_t')`, or a type-name string where bcc takes one). */
  | { readonly kind: "ctype"; readonly type: CType }
  /** The C declarations of the file (`ffi.C`): its constants. */
  | { readonly kind: "cnamespace"; readonly scope: CScope }
  /** The program's context parameter (`skb`, `ctx`). */
  | { readonly kind: "context" }
  /** A packet dissector (`pkt`, `pkt.ip`, `pkt.ip.tcp`). */
  | { readonly kind: "packet"; readonly position: PacketPosition }
  /** The packet's end (`skb.data_end`, `ctx.data_end`): compared with a packet position. */
  | { readonly kind: "packetEnd" }
  /** A value only user-space code has (the syscall library, an open file, a map read at the top level). */
  | { readonly kind: "opaque"; readonly what: string }
  /** A name whose declaration failed (already reported): uses of it stay silent. */
  | { readonly kind: "poisoned" };

export const NIL: StaticValue = { kind: "nil" };
export const POISONED: StaticValue = { kind: "poisoned" };

/** How a compile-time value is described in messages ("a map", "a string"). */
export function describeStatic(v: StaticValue): string {
  switch (v.kind) {
    case "integer":
      return "a number";
    case "string":
      return "a string";
    case "boolean":
      return "a boolean";
    case "nil":
      return "nil";
    case "table":
      return "a table";
    case "library":
      return v.name.includes(".") || LIBRARY_FUNCTIONS.has(v.name) ? `'${v.name}'` : `the ${v.name} module`;
    case "map":
      return "a map";
    case "function":
      return "a function";
    case "program":
      return "a program";
    case "ctype":
      return "a C type";
    case "cnamespace":
      return "ffi.C";
    case "context":
      return "the program context";
    case "packet":
      return "a packet dissector";
    case "packetEnd":
      return "the packet's end (data_end)";
    case "opaque":
      return v.what;
    case "poisoned":
      return "an erroneous value";
  }
}

/** Library names that are functions rather than modules (for messages). */
const LIBRARY_FUNCTIONS = new Set(["require", "print", "assert", "pcall", "error", "type", "tostring", "tonumber", "ipairs", "pairs", "select", "unpack", "xadd", "time", "cpu", "pid_tgid", "uid_gid", "comm", "perf_submit", "stack_id", "probe_read", "load_bytes", "ntoh", "hton"]);
