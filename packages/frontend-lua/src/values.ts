/**
 * Compile-time values: what the top level of a program file evaluates to, and what names
 * in program bodies refer to besides runtime locals (maps, the context, packet
 * dissectors, builtins, constants).
 */
import type { MapDecl, Value } from "@luabpf/ir";
import type * as lua from "luaparse";
import type { CType, ProgramKind } from "./builtins.js";
import type { HeaderName } from "./dissectors.js";

/** A map declared with `bpf.map`. Its IR name is assigned once the top level is done. */
export interface MapInfo {
  /** The declaration added to the module (its `name` is final before bodies are lowered). */
  readonly decl: MapDecl;
  readonly key: CType;
  readonly value: CType;
  /** The local it was first bound to, which names it. */
  localName: string | undefined;
  /** Where `bpf.map` was called. */
  readonly node: lua.Node;
}

/** A lexical scope of compile-time bindings (immutable: closures capture a snapshot). */
export type StaticScope = ReadonlyMap<string, StaticValue>;

/** The library functions of the `bpf` module, plus `require`. */
export type LibraryFunction = { readonly kind: "library"; readonly name: "require" } | { readonly kind: "library"; readonly name: "map" } | { readonly kind: "library"; readonly name: "program"; readonly program: string; readonly info: ProgramKind };

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

/** A value known at compile time. */
export type StaticValue =
  | { readonly kind: "integer"; readonly value: bigint }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "boolean"; readonly value: boolean }
  | { readonly kind: "nil" }
  /** The `bpf` module (`require('bpf')` or the global `bpf`). */
  | { readonly kind: "module" }
  | LibraryFunction
  | { readonly kind: "map"; readonly map: MapInfo }
  /** A Lua function: a program body, with the top-level scope it closes over. */
  | { readonly kind: "function"; readonly node: lua.FunctionDeclaration; readonly scope: StaticScope; readonly name: string | undefined }
  /** The program's context parameter (`skb`, `ctx`). */
  | { readonly kind: "context" }
  /** A packet dissector (`pkt`, `pkt.ip`, `pkt.ip.tcp`). */
  | { readonly kind: "packet"; readonly position: PacketPosition }
  /** A builtin of program bodies (`xadd`, `time`, ...). */
  | { readonly kind: "builtin"; readonly name: string }
  /** A name whose declaration failed (already reported): uses of it stay silent. */
  | { readonly kind: "poisoned" };

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
    case "module":
      return "the bpf module";
    case "library":
      return v.name === "require" ? "require" : v.name === "map" ? "bpf.map" : `bpf.${v.program}`;
    case "map":
      return "a map";
    case "function":
      return "a function";
    case "context":
      return "the program context";
    case "packet":
      return "a packet dissector";
    case "builtin":
      return `the builtin '${v.name}'`;
    case "poisoned":
      return "an erroneous value";
  }
}
