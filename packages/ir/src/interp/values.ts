/**
 * Runtime values of the IR interpreter: integers (bigint, held normalized to the signed
 * range of their type, like `Constant.value`), pointers as `(memory object, byte offset)`
 * pairs, the memory objects themselves, and the interpreter's error type.
 *
 * A pointer never carries a numeric address: comparing or subtracting pointers into
 * different objects is meaningless, as it is for the eBPF verifier. A pointer-typed value
 * may still be a plain bigint (the null result of `map_lookup_elem`, or an integer loaded
 * as `ptr`); dereferencing one is an {@link InterpError}.
 */
import { LuabpfError } from "@luabpf/platform/errors";
import type { Instruction } from "../core.js";
import { printInstruction } from "../print.js";
import type { MapInstance } from "./maps.js";

/** What a memory object is: a stack slot, the context, the packet, a map value, a map. */
export type MemoryKind = "stack" | "ctx" | "packet" | "map_value" | "map";

/**
 * A byte-addressed memory object. Stack objects track initialisation per byte (reading an
 * uninitialised byte is an error, as the verifier refuses it) and keep pointers spilled to
 * 8-byte aligned slots in a side table. Objects die when their frame returns (stack) or
 * their map entry is deleted; using a pointer into a dead object is an error.
 */
export class MemoryObject {
  /** DataView over `bytes` for little-endian integer access. */
  readonly view: DataView;
  /** Stack only: 1 where the byte has been written. */
  readonly init: Uint8Array | undefined;
  /** Stack only: pointers stored at 8-byte aligned offsets (offset → pointer). */
  slots: Map<number, InterpPointer> | undefined;
  live = true;
  /** For `map` objects (map handles) and `map_value` objects: the map. */
  map: MapInstance | undefined;

  constructor(
    readonly kind: MemoryKind,
    /** Used in error messages: `stack %3`, `ctx`, `packet`, `map counts value`. */
    readonly name: string,
    readonly bytes: Uint8Array,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.init = kind === "stack" ? new Uint8Array(bytes.length) : undefined;
  }
}

/** A pointer: an object and a byte offset into it (may be out of bounds until used). */
export class InterpPointer {
  constructor(
    readonly object: MemoryObject,
    /** Byte offset, wrapped to 64 bits. */
    readonly offset: bigint,
  ) {}

  toString(): string {
    return `<${this.object.name}${this.offset === 0n ? "" : this.offset > 0n ? `+${this.offset}` : this.offset}>`;
  }
}

/** A runtime value: an integer or a pointer. */
export type InterpValue = bigint | InterpPointer;

/** Formats a value for messages. */
export function formatValue(v: InterpValue | undefined): string {
  if (v === undefined) return "undefined";
  return typeof v === "bigint" ? v.toString() : v.toString();
}

/** Placeholder object behind {@link ctxPointer}: `interpret` swaps in the run's context. */
export const CTX_PLACEHOLDER = new MemoryObject("ctx", "ctx", new Uint8Array(0));

/**
 * A pointer to the context at `offset`, to pass as an argument to `interpret` (the string
 * `"ctx"` means the same with offset 0).
 */
export function ctxPointer(offset = 0): InterpPointer {
  return new InterpPointer(CTX_PLACEHOLDER, BigInt(offset));
}

/** Where an {@link InterpError} happened. */
export interface InterpLocation {
  readonly function: string;
  readonly block?: number;
  readonly instruction?: Instruction;
}

/**
 * A trap in the interpreted program: out-of-bounds access, uninitialised stack read,
 * `unreachable`, step limit, unknown helper. Not a compiler bug (that is `InternalError`).
 * The message starts with the location: `@fn @bb2: %7 = load i32 %3, 4: ...`.
 */
export class InterpError extends LuabpfError {
  /** A trap of the interpreted program: the program's fault, not luabpf's. */
  readonly kind = "user" as const;
  readonly category = "compile" as const;
  /** The bare message, without location. */
  readonly reason: string;
  location: InterpLocation | undefined;

  constructor(reason: string, location?: InterpLocation, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = "InterpError";
    this.reason = reason;
    if (location) this.locate(location);
  }

  /** Attaches a location (once: the innermost frame wins) and rewrites the message. */
  locate(location: InterpLocation): this {
    if (this.location) return this;
    this.location = location;
    const parts = [`@${location.function}`];
    if (location.block !== undefined) parts.push(`@bb${location.block}`);
    const where = parts.join(" ");
    this.message = location.instruction ? `${where}: ${describeInstruction(location.instruction)}: ${this.reason}` : `${where}: ${this.reason}`;
    return this;
  }
}

/** The instruction as printed in the textual IR, for error messages. */
export function describeInstruction(inst: Instruction): string {
  try {
    return printInstruction(inst);
  } catch {
    // Malformed instructions may not print; the id and opcode still locate them.
    return `%${inst.id} (${inst.opcode})`;
  }
}
