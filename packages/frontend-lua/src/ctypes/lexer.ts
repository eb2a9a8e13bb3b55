/**
 * The tokens of C declarations (`ffi.cdef` text and type names): identifiers and
 * keywords, integer and character literals, string literals, punctuators, and `$` (a
 * parameter of LuaJIT's `ffi.typeof('$ [1]', ct)`). Comments are skipped; preprocessor
 * lines are reported, since `ffi.cdef` has no preprocessor.
 *
 * Every token records its offset in the text, so that errors can point into the Lua
 * string that held the declarations.
 */
import { LuabpfError } from "@luabpf/platform/errors";
import { classOf, DIGIT, isClass, NAME_PART, NAME_START, NUMBER_PART } from "../char-classes.js";

export type CTokenKind = "ident" | "number" | "string" | "punct" | "dollar" | "eof";

export interface CToken {
  readonly kind: CTokenKind;
  readonly text: string;
  /** Offset of the first character in the declaration text. */
  readonly offset: number;
  /** The value of a number or character literal. */
  readonly value?: bigint;
}

/**
 * A syntax error in C declarations, at an offset of the text: the user's (bad input). The
 * front end locates it in the Lua file (`locatedCError`: the offset inside the string
 * literal that holds the declarations); thrown elsewhere, it is reported as it is.
 */
export class CDeclError extends LuabpfError {
  readonly kind = "user" as const;
  readonly category = "compile" as const;
  override readonly name = "CDeclError";
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const PUNCTUATORS = ["...", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "{", "}", "(", ")", "[", "]", ";", ",", "*", "=", ":", "+", "-", "~", "!", "/", "%", "&", "|", "^", "<", ">", "?", "."];

/** The punctuators by their first character, longest first (as {@link PUNCTUATORS} lists them). */
const PUNCTUATORS_BY_START = new Map<string, string[]>();
for (const p of PUNCTUATORS) {
  const list = PUNCTUATORS_BY_START.get(p[0]!);
  if (list) list.push(p);
  else PUNCTUATORS_BY_START.set(p[0]!, [p]);
}


/** Splits `text` into tokens (the last one is `eof`). */
export function tokenizeC(text: string): CToken[] {
  const tokens: CToken[] = [];
  let i = 0;
  const n = text.length;
  let lineStart = true;
  while (i < n) {
    const code = text.charCodeAt(i);
    if (code === 0x0a) {
      lineStart = true;
      i++;
      continue;
    }
    if (code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0c || code === 0x0b) {
      i++;
      continue;
    }
    const c = text[i]!;
    if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new CDeclError("unterminated comment", i);
      i = end + 2;
      continue;
    }
    if (c === "/" && text[i + 1] === "/") {
      while (i < n && text.charCodeAt(i) !== 0x0a) i++;
      continue;
    }
    if (c === "#" && lineStart) throw new CDeclError("preprocessor directives (#define, #include, ...) are not supported in C declarations", i);
    lineStart = false;
    const start = i;
    const cls = classOf(code);
    if (cls & NAME_START) {
      while (isClass(text, i, NAME_PART)) i++;
      tokens.push({ kind: "ident", text: text.slice(start, i), offset: start });
      continue;
    }
    if (cls & DIGIT) {
      while (isClass(text, i, NUMBER_PART)) i++;
      const raw = text.slice(start, i);
      tokens.push({ kind: "number", text: raw, offset: start, value: parseCInteger(raw, start) });
      continue;
    }
    if (c === "'") {
      const { value, end } = characterLiteral(text, i);
      tokens.push({ kind: "number", text: text.slice(start, end), offset: start, value });
      i = end;
      continue;
    }
    if (c === '"') {
      i++;
      while (i < n && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      if (i >= n) throw new CDeclError("unterminated string literal", start);
      i++;
      tokens.push({ kind: "string", text: text.slice(start, i), offset: start });
      continue;
    }
    if (c === "$") {
      tokens.push({ kind: "dollar", text: "$", offset: start });
      i++;
      continue;
    }
    const p = PUNCTUATORS_BY_START.get(c)?.find((q) => q.length === 1 || text.startsWith(q, i));
    if (!p) throw new CDeclError(`unexpected character '${c}'`, i);
    tokens.push({ kind: "punct", text: p, offset: start });
    i += p.length;
  }
  tokens.push({ kind: "eof", text: "end of input", offset: n });
  return tokens;
}

/** A C integer constant: decimal, octal or hexadecimal, with optional u/l/ll suffixes. */
function parseCInteger(raw: string, offset: number): bigint {
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([uU](?:ll|LL|l|L)?|(?:ll|LL|l|L)[uU]?)?$/.exec(raw);
  if (!m) {
    if (/[.eEpP]/.test(raw) && !/^0[xX]/.test(raw)) throw new CDeclError(`floating-point constant '${raw}' is not supported`, offset);
    throw new CDeclError(`invalid integer constant '${raw}'`, offset);
  }
  const digits = m[1]!;
  const v = /^0[0-7]+$/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  if (v >= 1n << 64n) throw new CDeclError(`integer constant '${raw}' does not fit in 64 bits`, offset);
  return v;
}

const ESCAPES: Readonly<Record<string, number>> = { n: 10, t: 9, r: 13, "0": 0, "\\": 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11 };

function characterLiteral(text: string, start: number): { value: bigint; end: number } {
  let i = start + 1;
  let value: number;
  if (text[i] === "\\") {
    const e = text[i + 1];
    if (e === "x") {
      const m = /^[0-9a-fA-F]+/.exec(text.slice(i + 2));
      if (!m) throw new CDeclError("invalid \\x escape", i);
      value = parseInt(m[0], 16) & 0xff;
      i += 2 + m[0].length;
    } else if (e !== undefined && /[0-7]/.test(e)) {
      const m = /^[0-7]{1,3}/.exec(text.slice(i + 1))!;
      value = parseInt(m[0], 8) & 0xff;
      i += 1 + m[0].length;
    } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
      value = ESCAPES[e]!;
      i += 2;
    } else throw new CDeclError("invalid escape in character constant", i);
  } else {
    value = text.charCodeAt(i) & 0xff;
    i++;
  }
  if (text[i] !== "'") throw new CDeclError("unterminated character constant", start);
  // A plain `char` is signed on the BPF target.
  return { value: BigInt(value >= 0x80 ? value - 0x100 : value), end: i + 1 };
}
