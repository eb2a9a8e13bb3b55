/**
 * Parsing: luaparse with Lua 5.3 syntax (integer division and bitwise operators), node
 * locations and ranges. luaparse's SyntaxError becomes a located {@link CompileError}.
 */
import { CompileError, InternalError } from "@luabpf/ir";
import luaparse from "luaparse";
import type * as lua from "luaparse";

/** Parses `source`; throws a CompileError on a syntax error. */
export function parseLua(source: string, file: string): lua.Chunk {
  try {
    return luaparse.parse(source, {
      locations: true,
      ranges: true,
      luaVersion: "5.3",
      // Decode string literals into JS strings whose code units are the source bytes.
      encodingMode: "pseudo-latin1",
    });
  } catch (e) {
    if (e instanceof SyntaxError && typeof (e as LuaSyntaxError).line === "number") {
      const se = e as LuaSyntaxError;
      // The message starts with "[line:column] "; the location carries that already.
      const message = se.message.replace(/^\[\d+:\d+\]\s*/, "");
      throw new CompileError(
        { severity: "error", message: `syntax error: ${message}`, location: { file, line: se.line, column: se.column + 1 } },
        { cause: e },
      );
    }
    throw new InternalError(`luaparse failed unexpectedly: ${String(e)}`, { cause: e });
  }
}

/** The extra fields luaparse puts on its SyntaxError (column is 0-based). */
interface LuaSyntaxError extends SyntaxError {
  line: number;
  column: number;
  index: number;
}
