/**
 * Running IR text in the interpreter, for the interpreter's tests: `run` and `value` parse
 * a module and interpret one of its functions; `trap` expects an InterpError.
 */
import { expect } from "vitest";
import { InternalError } from "../src/errors.js";
import { interpret, InterpError, type InterpArg, type InterpOptions } from "../src/interp.js";
import { parseModule } from "../src/parse.js";

/** Interprets `fn` of the module `text` on `args`. */
export function run(text: string, fn: string, args: readonly InterpArg[] = [], options?: InterpOptions) {
  return interpret(parseModule(text), fn, args, options);
}

/** The value `fn` of the module `text` returns on `args`. */
export function value(text: string, fn: string, args: readonly InterpArg[] = [], options?: InterpOptions) {
  return run(text, fn, args, options).value;
}

/** The InterpError thrown by `f` (fails the test if it throws anything else or nothing). */
export function trap(f: () => unknown): InterpError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InterpError);
    expect(e).not.toBeInstanceOf(InternalError);
    return e as InterpError;
  }
  throw new Error("expected an InterpError");
}
