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
 * - {@link checkAstDepth}, after parsing: the syntax tree's depth, from the heights the
 *   parser records as it makes each node (nodes.ts), against {@link MAX_TREE_DEPTH} levels,
 *   whatever nests (a chain of 10,000 `+` is a left-deep tree the scan does not see as
 *   nesting; Lua accepts it, luabpf reports it).
 *
 * Neither uses recursion; the scan is linear in the input, the check constant unless it fails.
 */
import { CompileError, InternalError } from "@luabpf/ir";
import type * as lua from "luaparse";
import { locationOf } from "./diagnostics.js";
import { childKeysOf, isNode } from "./syntax.js";
import type { Height } from "./nodes.js";
import { classOf, DIGIT, isClass, NAME_PART, NAME_START, NUMBER_PART } from "./char-classes.js";

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

/** The longest keyword ("function"): a longer word is a name. */
const MAX_KEYWORD_LENGTH = 8;

/** The words {@link scanTokens} treats as more than a name (its `switch` and {@link EXPRESSION_START_KEYWORDS}). */
const SCAN_WORDS = ["function", "while", "for", "do", "if", "repeat", "end", "until", "not", ...EXPRESSION_START_KEYWORDS];

/**
 * By character code: 1 when a word of {@link SCAN_WORDS} starts with it. A word starting
 * otherwise (`sum`, `x1`, `_t`), or of one character, is a name: the scan makes no string
 * of it (most names of a huge generated program, whose scan is linear in its length).
 */
const WORD_INITIALS = (() => {
  const t = new Uint8Array(128);
  for (const w of SCAN_WORDS) t[w.charCodeAt(0)] = 1;
  return t;
})();


const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const DOT = 0x2e;
const EQUALS = 0x3d;
const LEFT_BRACKET = 0x5b;
const RIGHT_BRACKET = 0x5d;

/**
 * Every token that can add a level in {@link scanTokens} (a bracket, a block or function
 * keyword, a unary operator, `^`, `..`), and more (these characters and words in strings
 * and comments, `--`, `...` as one `..`): at most {@link MAX_SYNTAX_NESTING} of them, and
 * the text cannot nest too deeply. `\b` is a boundary of [A-Za-z0-9_], as the scan's names.
 */
const LEVEL_TOKENS = /[([{~#^-]|\.\.|\b(?:function|while|for|do|if|repeat|not)\b/g;

/**
 * Throws a located {@link CompileError} when `text` nests deeper than
 * {@link MAX_SYNTAX_NESTING} levels. Unbalanced or malformed input is left to the parser.
 * A text with at most that many {@link LEVEL_TOKENS} (every example) needs no scan.
 */
export function scanNesting(text: string, file: string): void {
  LEVEL_TOKENS.lastIndex = 0;
  let tokens = 0;
  while (LEVEL_TOKENS.test(text)) {
    if (++tokens > MAX_SYNTAX_NESTING) {
      scanTokens(text, file);
      return;
    }
  }
}

/**
 * {@link scanNesting}'s scan: one pass over the UTF-16 code units (a table of ASCII
 * character classes; no string is made except for words short enough to be keywords).
 */
export function scanTokens(text: string, file: string, options: { readonly everyWord?: boolean } = {}): void {
  /** `everyWord`: look every word of up to {@link MAX_KEYWORD_LENGTH} characters up (test/parse-robustness.test.ts compares the two). */
  const everyWord = options.everyWord ?? false;
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
    const c = text.charCodeAt(at);
    const next = text.charCodeAt(at + 1);
    line++;
    lineStart = (next === LF || next === CR) && next !== c ? at + 2 : at + 1;
  };
  /** Skips to after the closing long bracket of `level` from `from`, counting lines. */
  const skipLong = (from: number, level: number): number => {
    const close = `]${"=".repeat(level)}]`;
    const end = text.indexOf(close, from);
    const stop = end < 0 ? n : end + close.length;
    for (let k = from; k < stop; k++) {
      const c = text.charCodeAt(k);
      if (c === LF || c === CR) {
        newline(k);
        if (lineStart === k + 2) k++;
      }
    }
    return stop;
  };
  const longLevel = (at: number): number | undefined => {
    if (text.charCodeAt(at) !== LEFT_BRACKET) return undefined;
    let k = at + 1;
    while (text.charCodeAt(k) === EQUALS) k++;
    return text.charCodeAt(k) === LEFT_BRACKET ? k - at - 1 : undefined;
  };

  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === LF || c === CR) {
      newline(i);
      i = lineStart;
      continue;
    }
    if (c === 0x20 || c === 0x09 || c === 0x0c || c === 0x0b) {
      i++;
      continue;
    }
    if (c === MINUS && text.charCodeAt(i + 1) === MINUS) {
      const level = longLevel(i + 2);
      if (level !== undefined) i = skipLong(i + 4 + level, level);
      else {
        for (let d = text.charCodeAt(i); i < n && d !== LF && d !== CR; d = text.charCodeAt(++i));
      }
      continue;
    }
    if (c === LEFT_BRACKET) {
      const level = longLevel(i);
      if (level !== undefined) {
        i = skipLong(i + 2 + level, level);
        afterOperand = true;
        continue;
      }
    }
    if (c === QUOTE || c === APOSTROPHE) {
      i++;
      for (let d = text.charCodeAt(i); i < n && d !== c && d !== LF && d !== CR; d = text.charCodeAt(i)) i += d === BACKSLASH ? 2 : 1;
      i++;
      afterOperand = true;
      unaryRun = 0;
      continue;
    }
    const cls = classOf(c);
    if (cls & NAME_START) {
      const start = i;
      while (isClass(text, i, NAME_PART)) i++;
      const word = i - start <= MAX_KEYWORD_LENGTH && (everyWord || (i - start > 1 && WORD_INITIALS[c] === 1)) ? text.slice(start, i) : "";
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
          // After a keyword that starts an expression an operator is unary; after a name,
          // `nil`, `true`, `false`, `break` or `goto` it is not.
          afterOperand = !EXPRESSION_START_KEYWORDS.has(word);
          unaryRun = 0;
          continue;
      }
    }
    if (cls & DIGIT || (c === DOT && isClass(text, i + 1, DIGIT))) {
      while (isClass(text, i, NUMBER_PART)) {
        // Exponent signs belong to the number (1e-5, 0x1p+4).
        const d = text.charCodeAt(i) | 0x20; // lower case
        if (d === 0x65 /* e */ || d === 0x70 /* p */) {
          const sign = text.charCodeAt(i + 1);
          if (sign === 0x2b || sign === MINUS) i++;
        }
        i++;
      }
      afterOperand = true;
      unaryRun = 0;
      continue;
    }
    switch (c) {
      case 0x28: // (
        open(i, "(");
        afterOperand = false;
        i++;
        continue;
      case LEFT_BRACKET:
        open(i, "[");
        afterOperand = false;
        i++;
        continue;
      case 0x7b: // {
        open(i, "{");
        afterOperand = false;
        i++;
        continue;
      case 0x29: // )
      case RIGHT_BRACKET:
      case 0x7d: // }
        close();
        afterOperand = true;
        i++;
        continue;
    }
    if ((c === MINUS || c === 0x7e /* ~ */ || c === 0x23) /* # */ && !afterOperand && text.charCodeAt(i + 1) !== EQUALS) {
      unaryRun++;
      check(i, "unary");
      i++;
      continue;
    }
    const isDots = c === DOT && text.charCodeAt(i + 1) === DOT;
    if (c === 0x5e /* ^ */ || (isDots && text.charCodeAt(i + 2) !== DOT)) {
      concatRun++;
      check(i, "concat");
      afterOperand = false;
      i += c === 0x5e ? 1 : 2;
      continue;
    }
    // Any other operator or separator: a binary operator keeps the current runs of
    // right-associative operators only if it binds tighter; resetting is a safe bound here
    // because each run is counted from its own start.
    if (c === 0x2c /* , */ || c === 0x3b /* ; */ || c === EQUALS) concatRun = 0;
    if (isDots) {
      // `...` (the `..` case above took the others)
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
 * {@link MAX_TREE_DEPTH} levels (the root is at depth 0), in the order of a walk that
 * visits a node, then its children: the child-holding properties of syntax.ts last to
 * first, the nodes of a list first to last. The parser records each node's height as it
 * makes the node (nodes.ts), so the tree is too deep exactly when the root's height says
 * so, and the node to report is found by going down, at each level, into the first child
 * in that order whose subtree reaches the depth: at most {@link MAX_TREE_DEPTH} steps, no
 * walk over the tree.
 */
export function checkAstDepth(chunk: lua.Chunk, file: string): void {
  const heightOf = (n: lua.Node): number => (n as Height).height ?? 1;
  let node = chunk as unknown as lua.Node;
  // A node at depth d reaches depth d + height - 1.
  if (heightOf(node) - 1 <= MAX_TREE_DEPTH) return;
  for (let depth = 0; depth <= MAX_TREE_DEPTH; depth++) {
    const need = MAX_TREE_DEPTH + 1 - depth; // the height a child needs to reach MAX_TREE_DEPTH + 1
    node = deepChild(node, need) ?? fail("no child reaches the depth its parent's height says");
  }
  const what = /Statement$|Clause$/.test(node.type) ? "blocks are nested too deeply" : "expression is nested too deeply";
  throw new CompileError({ severity: "error", message: `${what} (the limit is ${MAX_TREE_DEPTH} levels)`, location: locationOf(file, node) });

  function deepChild(parent: lua.Node, need: number): lua.Node | undefined {
    const keys = childKeysOf(parent);
    for (let k = keys.length - 1; k >= 0; k--) {
      const value = (parent as unknown as Record<string, unknown>)[keys[k]!];
      for (const child of Array.isArray(value) ? value : [value]) if (isNode(child) && heightOf(child) >= need) return child;
    }
    return undefined;
  }
  function fail(message: string): never {
    throw new InternalError(`the depth check: ${message}`);
  }
}
