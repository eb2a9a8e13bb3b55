/**
 * Limits on nesting, so that deep input is a located error instead of a stack overflow in
 * a recursive walker (luaparse's recursive-descent parser, the top-level evaluator, the
 * body lowering).
 *
 * Two checks:
 *
 * - {@link scanNesting}, before parsing: a scan over the tokens (strings and comments
 *   skipped) that tracks what makes luaparse recurse — brackets, blocks, runs of unary
 *   operators and of the right-associative `..` and `^` — and stops at
 *   {@link MAX_SYNTAX_NESTING} levels. Lua itself refuses about 200 nested syntax levels
 *   ("C stack overflow" in Lua 5.4), so this is the same limit with a better message.
 * - {@link checkAstDepth}, after parsing: an iterative walk of the syntax tree that stops
 *   at {@link MAX_TREE_DEPTH} levels, whatever nests (a chain of 10,000 `+` is a left-deep
 *   tree the scan does not see as nesting; Lua accepts it, luabpf reports it).
 *
 * Both are linear in the input and use no recursion themselves.
 */
import { CompileError } from "@luabpf/ir";
import type * as lua from "luaparse";
import { locationOf } from "./diagnostics.js";

/** Nested brackets, blocks and operator runs, as Lua counts its syntax levels. */
export const MAX_SYNTAX_NESTING = 200;
/** Depth of the syntax tree (every node counts, including each operand of a chain). */
export const MAX_TREE_DEPTH = 500;

/** What opened a level, for the message. */
type Opener = "(" | "[" | "{" | "block" | "function";

const OPENER_NAMES: Record<Opener | "unary" | "concat", string> = {
  "(": "parentheses",
  "[": "brackets",
  "{": "braces",
  block: "blocks",
  function: "functions",
  unary: "unary operators",
  concat: "'..' or '^' operators",
};

/** Keywords after which an operator is unary (an expression starts there). */
const EXPRESSION_START_KEYWORDS = new Set(["return", "and", "or", "not", "if", "elseif", "while", "until", "then", "do", "else", "in", "local", "repeat"]);

/**
 * Throws a located {@link CompileError} when `text` nests deeper than
 * {@link MAX_SYNTAX_NESTING} levels. Unbalanced or malformed input is left to the parser.
 */
export function scanNesting(text: string, file: string): void {
  const stack: { opener: Opener; pendingDo: boolean }[] = [];
  let unaryRun = 0;
  let concatRun = 0;
  /** Whether the previous token ends an operand (so that `-` is binary). */
  let afterOperand = false;
  let line = 1;
  let lineStart = 0;
  const n = text.length;
  let i = 0;

  const fail = (at: number, what: keyof typeof OPENER_NAMES): never => {
    throw new CompileError({
      severity: "error",
      message: `syntax error: too many nested ${OPENER_NAMES[what]} (the limit is ${MAX_SYNTAX_NESTING} levels)`,
      location: { file, line, column: at - lineStart + 1 },
    });
  };
  const check = (at: number, what: keyof typeof OPENER_NAMES): void => {
    if (stack.length + unaryRun + concatRun > MAX_SYNTAX_NESTING) fail(at, what);
  };
  const open = (at: number, opener: Opener): void => {
    stack.push({ opener, pendingDo: false });
    unaryRun = 0;
    concatRun = 0;
    check(at, opener);
  };
  const close = (): void => {
    stack.pop();
    unaryRun = 0;
    concatRun = 0;
  };
  const newline = (at: number): void => {
    // \r\n and \n\r count as one line break, as in luaparse and Lua.
    const c = text[at]!;
    const next = text[at + 1];
    line++;
    lineStart = (next === "\n" || next === "\r") && next !== c ? at + 2 : at + 1;
  };
  /** Skips to after the closing long bracket of `level` from `from`, counting lines. */
  const skipLong = (from: number, level: number): number => {
    const close = `]${"=".repeat(level)}]`;
    const end = text.indexOf(close, from);
    const stop = end < 0 ? n : end + close.length;
    for (let k = from; k < stop; k++) {
      const c = text[k];
      if (c === "\n" || c === "\r") {
        newline(k);
        if (lineStart === k + 2) k++;
      }
    }
    return stop;
  };
  const longLevel = (at: number): number | undefined => {
    if (text[at] !== "[") return undefined;
    let k = at + 1;
    while (text[k] === "=") k++;
    return text[k] === "[" ? k - at - 1 : undefined;
  };

  while (i < n) {
    const c = text[i]!;
    if (c === "\n" || c === "\r") {
      newline(i);
      i = lineStart;
      continue;
    }
    if (c === " " || c === "\t" || c === "\f" || c === "\v") {
      i++;
      continue;
    }
    if (c === "-" && text[i + 1] === "-") {
      const level = longLevel(i + 2);
      if (level !== undefined) i = skipLong(i + 4 + level, level);
      else while (i < n && text[i] !== "\n" && text[i] !== "\r") i++;
      continue;
    }
    const level = longLevel(i);
    if (level !== undefined) {
      i = skipLong(i + 2 + level, level);
      afterOperand = true;
      continue;
    }
    if (c === '"' || c === "'") {
      i++;
      while (i < n && text[i] !== c && text[i] !== "\n" && text[i] !== "\r") i += text[i] === "\\" ? 2 : 1;
      i++;
      afterOperand = true;
      unaryRun = 0;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < n && /[A-Za-z0-9_]/.test(text[i]!)) i++;
      const word = text.slice(start, i);
      switch (word) {
        case "function":
          open(start, "function");
          afterOperand = false;
          continue;
        case "while":
        case "for":
          // Its `do` then opens no second level.
          open(start, "block");
          stack[stack.length - 1]!.pendingDo = true;
          afterOperand = false;
          continue;
        case "do": {
          const top = stack[stack.length - 1];
          if (top?.pendingDo) top.pendingDo = false;
          else open(start, "block");
          afterOperand = false;
          continue;
        }
        case "if":
        case "repeat":
          open(start, "block");
          afterOperand = false;
          continue;
        case "end":
        case "until":
          close();
          afterOperand = word === "end";
          continue;
        case "not":
          unaryRun++;
          check(start, "unary");
          afterOperand = false;
          continue;
        default:
          if (EXPRESSION_START_KEYWORDS.has(word)) {
            afterOperand = false;
            unaryRun = 0;
          } else {
            afterOperand = word !== "local" && word !== "else";
            unaryRun = 0;
          }
          continue;
      }
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(text[i + 1] ?? ""))) {
      while (i < n && /[0-9A-Za-z_.]/.test(text[i]!)) {
        // Exponent signs belong to the number (1e-5, 0x1p+4).
        if (/[eEpP]/.test(text[i]!) && (text[i + 1] === "+" || text[i + 1] === "-")) i++;
        i++;
      }
      afterOperand = true;
      unaryRun = 0;
      continue;
    }
    switch (c) {
      case "(":
      case "[":
      case "{":
        open(i, c);
        afterOperand = false;
        i++;
        continue;
      case ")":
      case "]":
      case "}":
        close();
        afterOperand = true;
        i++;
        continue;
    }
    if ((c === "-" || c === "~" || c === "#") && !afterOperand && text[i + 1] !== "=") {
      unaryRun++;
      check(i, "unary");
      i++;
      continue;
    }
    if (c === "^" || (c === "." && text[i + 1] === "." && text[i + 2] !== ".")) {
      concatRun++;
      check(i, "concat");
      afterOperand = false;
      i += c === "^" ? 1 : 2;
      continue;
    }
    // Any other operator or separator: a binary operator keeps the current runs of
    // right-associative operators only if it binds tighter; resetting is a safe bound here
    // because each run is counted from its own start.
    if (c === "," || c === ";" || c === "=") concatRun = 0;
    if (c === "." && text[i + 1] === "." && text[i + 2] === ".") {
      afterOperand = true;
      i += 3;
      continue;
    }
    afterOperand = false;
    i++;
  }
}

/**
 * Throws a located {@link CompileError} at the first node of `chunk` deeper than
 * {@link MAX_TREE_DEPTH} levels. Iterative; visits every node once.
 */
export function checkAstDepth(chunk: lua.Chunk, file: string): void {
  const stack: { node: object; depth: number }[] = [{ node: chunk, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (depth > MAX_TREE_DEPTH) {
      const n = node as lua.Node;
      const what = /Statement$|Clause$/.test(n.type) ? "blocks are nested too deeply" : "expression is nested too deeply";
      throw new CompileError({ severity: "error", message: `${what} (the limit is ${MAX_TREE_DEPTH} levels)`, location: locationOf(file, n) });
    }
    for (const key in node) {
      if (key === "loc" || key === "range") continue;
      const value = (node as Record<string, unknown>)[key];
      if (Array.isArray(value)) {
        for (let k = value.length - 1; k >= 0; k--) if (isNode(value[k])) stack.push({ node: value[k], depth: depth + 1 });
      } else if (isNode(value)) stack.push({ node: value, depth: depth + 1 });
    }
  }
}

function isNode(v: unknown): v is object {
  return typeof v === "object" && v !== null && typeof (v as { type?: unknown }).type === "string";
}
