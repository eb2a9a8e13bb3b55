// ElfError: the one error class of @luabpf/elf. Messages carry their location as a
// path of contexts ("section socket: relocation 3: symbol 9 out of range"); callers
// wrap lower-level failures with `{ cause }` as they cross layers, so the chain says
// both where and why.

/** Error thrown by the ELF/BTF writer and reader; `message` starts with its context. */
import { LuabpfError } from "@luabpf/platform/errors";
export class ElfError extends LuabpfError {
  override readonly name = "ElfError";
  /** A malformed or unsupported object: the file's fault. (The writer validates its input the same way.) */
  readonly kind = "user" as const;
  readonly category = "kernel" as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Runs `body`, rewrapping any failure as an ElfError whose message is prefixed with
 * `context` and whose `cause` is the original error. Nested calls build the path.
 * A function as `context` is called only on failure (for per-record contexts on hot
 * paths, where building the text every time would cost more than the work).
 */
export function withContext<T>(context: string | (() => string), body: () => T): T {
  try {
    return body();
  } catch (error) {
    rethrowIn(typeof context === "string" ? context : context(), error);
  }
}

/**
 * Throws `error` rewrapped as {@link withContext} does, for loops that catch per record
 * themselves (no closures per record on hot paths).
 */
export function rethrowIn(context: string, error: unknown): never {
  const detail = error instanceof Error ? error.message : String(error);
  throw new ElfError(`${context}: ${detail}`, { cause: error });
}

/** Internal invariant: unreachable switch arm. */
export function assertNever(value: never, what: string): never {
  throw new ElfError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
