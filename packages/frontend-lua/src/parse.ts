/**
 * Parsing: luaparse with Lua 5.3 syntax (integer division and bitwise operators) and node
 * ranges (lines and columns come from a line table: diagnostics.ts). luaparse's
 * SyntaxError becomes a located {@link CompileError}.
 *
 * Each node's range is kept as two numbers, {@link Span}'s `rangeStart` and `rangeEnd`:
 * luaparse gives every node a `[start, end]` array, which {@link compactRange} replaces as
 * the node is made (luaparse's `onCreateNode`). The tree is held while the program bodies
 * are lowered, and the arrays were ~30 % of its memory (two numbers take no object); the
 * nodes themselves are made by nodes.ts's factories (exact-length lists, every property in
 * the object literal, each node's height for the depth check). The
 * same hook records where names are used as references or assigned (lower/local-uses.ts),
 * while each node is fresh, instead of a walk over the tree.
 *
 * LuaJIT's 64-bit integer literals (`5ULL`, `5LL`, `0x1ULL`), which bcc programs use,
 * are not Lua 5.3 syntax: a small scan over the source (skipping strings and comments)
 * finds them first, records each suffix by the literal's offset, and blanks the suffix
 * out with spaces so that every line and column stays where it was. The lowering asks
 * {@link ParsedChunk.cdataSuffix} for a literal's suffix.
 *
 * Robustness: every parse is independent of the previous ones (luaparse keeps its lexer
 * state in module variables; a parse of the empty chunk resets them first, so an error at
 * the first token can neither crash on a missing lookahead nor quote the previous file);
 * a UTF-8 byte-order mark and a first line starting with `#` are skipped as Lua does;
 * nesting deeper than Lua's syntax limit is a located error before luaparse recurses
 * (nesting.ts); and every failure of luaparse is a located error with the column
 * computed from the error's offset (luaparse's own column is 0- or 1-based depending on
 * the path that raised it).
 */
import { CompileError, InternalError } from "@luabpf/ir";
import luaparse from "luaparse";
import type * as lua from "luaparse";
import { useSourceLines } from "./diagnostics.js";
import { LocalUses } from "./lower/local-uses.js";
import { checkAstDepth, scanNesting } from "./nesting.js";
import { withCompactNodes } from "./nodes.js";

const LUAPARSE_OPTIONS = {
  // Ranges only: lines and columns come from a line table when a message or the line
  // information needs them (diagnostics.ts), not from three objects per node.
  locations: false,
  ranges: true,
  onCreateNode: onNode,
  // Comments are not kept (luaparse would make a node and a string per comment).
  comments: false,
  luaVersion: "5.3",
  // Decode string literals into JS strings whose code units are the source bytes.
  encodingMode: "pseudo-latin1",
} as const;

/** A parsed file and what the pre-scan found. */
export interface ParsedChunk {
  readonly chunk: lua.Chunk;
  /** Where each name is used as a reference or assigned (lower/local-uses.ts), recorded while parsing. */
  readonly localUses: LocalUses;
  /** The LuaJIT cdata suffix of the numeric literal starting at `offset`, if any. */
  cdataSuffix(literal: lua.NumericLiteral): "ULL" | "LL" | undefined;
}

/** Parses `source`; throws a CompileError on a syntax error or a binary file. */
export function parseLua(source: string, file: string): ParsedChunk {
  const prepared = skipBomAndHashLine(source);
  const binary = binaryOffset(prepared);
  if (binary !== undefined) {
    const { line, column } = position(prepared, binary);
    throw new CompileError({ severity: "error", message: "this is not a Lua source file (it contains binary data)", location: { file, line, column } });
  }
  const { text, suffixes } = extractCdataSuffixes(prepared);
  scanNesting(text, file);
  let chunk: lua.Chunk;
  const localUses = new LocalUses();
  try {
    chunk = withCompactNodes(() => {
      luaparse.parse("", LUAPARSE_OPTIONS);
      recording = localUses;
      return luaparse.parse(text, LUAPARSE_OPTIONS);
    });
  } catch (e) {
    if (e instanceof SyntaxError && typeof (e as LuaSyntaxError).index === "number") throw syntaxError(e as LuaSyntaxError, text, file);
    throw new InternalError(`luaparse failed unexpectedly: ${String(e)}`, { cause: e });
  } finally {
    recording = undefined;
  }
  useSourceLines(file, text);
  checkAstDepth(chunk, file);
  return {
    chunk,
    localUses,
    cdataSuffix: (literal) => {
      const start = (literal as Span).rangeStart;
      return start === undefined ? undefined : suffixes.get(start);
    },
  };
}

/**
 * The source Lua would parse: without a UTF-8 byte-order mark, and with a first line that
 * starts with `#` (`#!/usr/bin/env lua`) blanked out (columns kept).
 */
function skipBomAndHashLine(source: string): string {
  let text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  if (text.startsWith("#")) {
    const end = text.search(/[\r\n]|$/);
    text = " ".repeat(end) + text.slice(end);
  }
  return text;
}

/** A luaparse SyntaxError as a located CompileError with Lua's wording where luaparse's is broken. */
function syntaxError(se: LuaSyntaxError, text: string, file: string): CompileError {
  let message = se.message.replace(/^\[\d+:\d+\]\s*/, "");
  const at = text[se.index];
  // An unknown character, reported by the lexer: luaparse adds a "near" of the token before it.
  const unknown = /^unexpected symbol '(.*)' near '.*'$/s.exec(message);
  if (unknown && at !== undefined && unknown[1] === at) message = `unexpected symbol near ${quoteChar(at)}`;
  // luaparse has no name for some token types (`...`): "unexpected undefined '...' near 'x'".
  message = message.replace(/^unexpected undefined '(.*)' near '.*'$/s, "unexpected symbol near '$1'");
  let index = se.index;
  const wide = /^code unit U\+([0-9A-F]+) is not allowed in the current encoding mode$/.exec(message);
  if (wide) {
    message = `character U+${wide[1]} in a string: only Latin-1 characters are supported in strings`;
    // luaparse stops after the string; point at the character itself.
    const found = text.lastIndexOf(String.fromCharCode(parseInt(wide[1]!, 16)), index);
    if (found >= 0 && !/[\r\n]/.test(text.slice(found, index))) index = found;
  }
  const lineStart = index === 0 ? 0 : Math.max(text.lastIndexOf("\n", index - 1), text.lastIndexOf("\r", index - 1)) + 1;
  return new CompileError(
    { severity: "error", message: `syntax error: ${message}`, location: { file, line: se.line, column: index - lineStart + 1 } },
    { cause: se },
  );
}

/** A character for a message: itself when printable, else its code point (`'<U+FEFF>'`). */
function quoteChar(c: string): string {
  return /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(c) ? `'${c}'` : `'<U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}>'`;
}

/**
 * Where a parsed node is in the text: the offsets of its first character and of the
 * character after its last (luaparse's `range`; nodes the compiler makes have none).
 */
export type Span = { rangeStart?: number; rangeEnd?: number };

/** Where the parse of a file records its names' uses (unset while luaparse resets on the empty chunk). */
let recording: LocalUses | undefined;

/** luaparse's hook for each node it makes (after the node's children). */
function onNode(node: lua.Node): void {
  compactRange(node);
  recording?.record(node);
}

/** luaparse's `range` array of a node just made, as the two numbers of {@link Span}. */
function compactRange(node: lua.Node): void {
  const n = node as lua.Node & Span & { range?: [number, number] };
  const range = n.range!;
  n.range = undefined;
  n.rangeStart = range[0];
  n.rangeEnd = range[1];
}

/** The extra fields luaparse puts on its SyntaxError (column is 0-based). */
interface LuaSyntaxError extends SyntaxError {
  line: number;
  column: number;
  index: number;
}

/** The offset of the first NUL or other control byte no text file holds, if any. */
function binaryOffset(source: string): number | undefined {
  // eslint-disable-next-line no-control-regex
  const m = /[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]/.exec(source);
  return m ? m.index : undefined;
}

function position(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/**
 * What every suffixed literal matches (and little else does): a digit, the rest of the
 * literal (digits, letters, `.`, an exponent's sign), the suffix, and no name character
 * after it. Most files have none, and skip the scan.
 */
const MAYBE_SUFFIXED = /[0-9][0-9A-Za-z_.+-]*?[lL][lL](?![A-Za-z0-9_])/;

/**
 * Finds numeric literals with a LuaJIT `ULL`/`LL` suffix outside strings and comments;
 * returns the source with those suffixes replaced by spaces, and the suffix by literal
 * start offset.
 */
export function extractCdataSuffixes(source: string): { text: string; suffixes: Map<number, "ULL" | "LL"> } {
  const suffixes = new Map<number, "ULL" | "LL">();
  if (!MAYBE_SUFFIXED.test(source)) return { text: source, suffixes }; // no suffix anywhere: nothing to scan for
  let out: string[] | undefined;
  const n = source.length;
  let i = 0;
  const longBracket = (at: number): number | undefined => {
    // `[` `=`* `[` → the level, or undefined.
    if (source[at] !== "[") return undefined;
    let k = at + 1;
    while (source[k] === "=") k++;
    return source[k] === "[" ? k - at - 1 : undefined;
  };
  while (i < n) {
    const c = source[i]!;
    if (c === "-" && source[i + 1] === "-") {
      const level = longBracket(i + 2);
      if (level !== undefined) {
        const close = source.indexOf(`]${"=".repeat(level)}]`, i + 4 + level);
        i = close < 0 ? n : close + level + 2;
      } else {
        while (i < n && source[i] !== "\n") i++;
      }
      continue;
    }
    if (c === "[") {
      const level = longBracket(i);
      if (level !== undefined) {
        const close = source.indexOf(`]${"=".repeat(level)}]`, i + 2 + level);
        i = close < 0 ? n : close + level + 2;
        continue;
      }
    }
    if (c === '"' || c === "'") {
      i++;
      while (i < n && source[i] !== c && source[i] !== "\n") i += source[i] === "\\" ? 2 : 1;
      i++;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      while (i < n && /[A-Za-z0-9_]/.test(source[i]!)) i++;
      continue;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(source[i + 1] ?? ""))) {
      const start = i;
      if (c === "0" && (source[i + 1] === "x" || source[i + 1] === "X")) {
        i += 2;
        while (i < n && /[0-9a-fA-F.]/.test(source[i]!)) i++;
        if (/[pP]/.test(source[i] ?? "")) {
          i++;
          if (/[+-]/.test(source[i] ?? "")) i++;
          while (i < n && /[0-9]/.test(source[i]!)) i++;
        }
      } else {
        while (i < n && /[0-9.]/.test(source[i]!)) i++;
        if (/[eE]/.test(source[i] ?? "")) {
          i++;
          if (/[+-]/.test(source[i] ?? "")) i++;
          while (i < n && /[0-9]/.test(source[i]!)) i++;
        }
      }
      const m = /^(?:[uU][lL][lL]|[lL][lL])(?![A-Za-z0-9_])/.exec(source.slice(i, i + 4));
      if (m) {
        suffixes.set(start, /^[uU]/.test(m[0]) ? "ULL" : "LL");
        out ??= source.split("");
        for (let k = 0; k < m[0].length; k++) out[i + k] = " ";
        i += m[0].length;
      }
      continue;
    }
    i++;
  }
  return { text: out ? out.join("") : source, suffixes };
}
