/**
 * The IR parser: text (grammar in docs/ir.md) to a {@link Module}.
 *
 * Two phases per function, so that forward references need no fix-ups:
 *   1. syntax: each line becomes a record (label, or instruction with its operand tokens);
 *   2. construction: all blocks are created first (branches may name later blocks), then
 *      every instruction without operands, keeping its printed id (phis and uses before
 *      definitions in layout order may name later values), then the operands, resolved
 *      and type-checked against the operand rules of opcodes.ts.
 * The instruction syntax is chosen by the opcode table's `shape`, as in the printer.
 *
 * Ids: printed value and block ids are kept. Before anything else is created, the
 * function's id counter is moved past the largest printed id, so that constants and
 * instructions without a result (whose ids are not printed) get fresh ids that cannot
 * collide with a later printed one.
 *
 * Errors are reported as {@link CompileError} with the file, line and column of the
 * offending token. Cost: linear in the size of the text.
 */
import { BasicBlock, Function, type Instruction, type InstructionAttrs, type Value } from "./core.js";
import { CompileError, type SourceLocation } from "./errors.js";
import { arrayOf, defineStruct, MAP_KINDS, Module, type CoreAccessStep, type DataType, type MapKind, type StructType } from "./module.js";
import { C_INTS, C_VOID, cTypedefOf, type CType } from "./ctypes.js";
import { CoreReloKind, type CoreReloKindName } from "@luabpf/platform";
import { isOpcode, OPCODES, type Opcode } from "./opcodes.js";
import { constantTypeAt, printName } from "./print.js";
import { bitsOf, i64, isInt, parseType, ptrType, typeToString, voidType, type Type } from "./types.js";
import { acceptsOperand, describeOperandRule, operandRule, resultPresence, resultTypeOf } from "./typing.js";

/** Options of {@link parseModule} and {@link parseFunction}. */
export interface ParseOptions {
  /** File name used in error locations (default `<ir>`). */
  file?: string;
}

// ---------------------------------------------------------------------------------------
// Lexer

type TokenKind = "ident" | "value" | "global" | "int" | "string" | "punct" | "newline" | "eof";

interface Token {
  readonly kind: TokenKind;
  /** Source text of the token (for `global`, `string`: the decoded name or contents). */
  readonly text: string;
  /** `global` tokens: written as `@"..."`. */
  readonly quoted?: boolean;
  readonly line: number;
  readonly column: number;
}

const PUNCT = ["->", "=", ",", "(", ")", "[", "]", "{", "}", ":"];

function isIdentStart(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_";
}
function isIdentChar(c: string): boolean {
  return isIdentStart(c) || (c >= "0" && c <= "9") || c === ".";
}
function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

function lex(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let i = 0;
  const fail = (at: number, message: string): never => {
    throw new CompileError({ severity: "error", message, location: { file, line, column: at - lineStart + 1 } });
  };
  const readString = (start: number): { value: string; end: number } => {
    let j = start + 1;
    while (j < text.length && text[j] !== '"') {
      if (text[j] === "\n") fail(start, "unterminated string");
      j += text[j] === "\\" ? 2 : 1;
    }
    if (j >= text.length) fail(start, "unterminated string");
    try {
      return { value: JSON.parse(text.slice(start, j + 1)) as string, end: j + 1 };
    } catch {
      return fail(start, "invalid escape sequence in string");
    }
  };
  while (i < text.length) {
    const c = text[i]!;
    const column = i - lineStart + 1;
    const push = (kind: TokenKind, t: string, end: number, quoted?: boolean): void => {
      tokens.push(quoted ? { kind, text: t, quoted, line, column } : { kind, text: t, line, column });
      i = end;
    };
    if (c === "\n") {
      push("newline", "\n", i + 1);
      line++;
      lineStart = i;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === ";") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < text.length && isIdentChar(text[j]!)) j++;
      push("ident", text.slice(i, j), j);
      continue;
    }
    if (isDigit(c) || (c === "-" && isDigit(text[i + 1]))) {
      let j = i + 1;
      while (j < text.length && (isIdentChar(text[j]!) || isDigit(text[j]))) j++;
      const t = text.slice(i, j);
      if (!/^-?(?:0x[0-9a-fA-F]+|[0-9]+)$/.test(t)) fail(i, `invalid number \`${t}\``);
      push("int", t, j);
      continue;
    }
    if (c === "%") {
      let j = i + 1;
      while (j < text.length && isDigit(text[j])) j++;
      if (j === i + 1 || (j < text.length && isIdentChar(text[j]!))) fail(i, "a value name is `%` followed by a decimal id, e.g. `%3`");
      push("value", text.slice(i + 1, j), j);
      continue;
    }
    if (c === "@") {
      if (text[i + 1] === '"') {
        const s = readString(i + 1);
        push("global", s.value, s.end, true);
        continue;
      }
      let j = i + 1;
      while (j < text.length && isIdentChar(text[j]!)) j++;
      if (j === i + 1) fail(i, "expected a name after `@`");
      push("global", text.slice(i + 1, j), j);
      continue;
    }
    if (c === '"') {
      const s = readString(i);
      push("string", s.value, s.end);
      continue;
    }
    const p = PUNCT.find((q) => text.startsWith(q, i));
    if (p) {
      push("punct", p, i + p.length);
      continue;
    }
    fail(i, `unexpected character \`${c}\``);
  }
  tokens.push({ kind: "eof", text: "", line, column: i - lineStart + 1 });
  return tokens;
}

/** The value of an `int` token (`BigInt` does not take a sign with hexadecimal). */
function intValue(text: string): bigint {
  return text.startsWith("-") ? -BigInt(text.slice(1)) : BigInt(text);
}

function describe(t: Token): string {
  switch (t.kind) {
    case "newline":
      return "end of line";
    case "eof":
      return "end of input";
    case "value":
      return `\`%${t.text}\``;
    case "global":
      return t.quoted ? `\`@${JSON.stringify(t.text)}\`` : `\`@${t.text}\``;
    case "string":
      return `\`${JSON.stringify(t.text)}\``;
    default:
      return `\`${t.text}\``;
  }
}

// ---------------------------------------------------------------------------------------
// Syntax records of a function body

type SynOperand =
  | { readonly kind: "value"; readonly id: number; readonly tok: Token }
  | { readonly kind: "const"; readonly type: Type | undefined; readonly value: bigint; readonly tok: Token };

interface SynBlockRef {
  readonly id: number;
  readonly tok: Token;
}

interface SynInst {
  readonly opcode: Opcode;
  readonly opTok: Token;
  readonly result: { readonly id: number; readonly tok: Token } | undefined;
  readonly typeParam: Type;
  /** Cast shape: the type after `to`. */
  readonly toType: Type | undefined;
  readonly operands: SynOperand[];
  readonly targets: SynBlockRef[];
  readonly incoming: SynBlockRef[];
  readonly attrs: InstructionAttrs;
  readonly mapTok: Token | undefined;
  readonly coreTok: Token | undefined;
  readonly calleeTok: Token | undefined;
}

interface SynBlock {
  readonly id: number;
  readonly tok: Token;
  readonly insts: SynInst[];
}

// ---------------------------------------------------------------------------------------
// Parser

interface PendingRef {
  readonly name: string;
  readonly tok: Token;
}

class Parser {
  private pos = 0;
  /** References to check once the whole module is known. */
  readonly mapRefs: PendingRef[] = [];
  readonly calleeRefs: PendingRef[] = [];
  readonly coreRefs: PendingRef[] = [];
  private sawLicense = false;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly file: string,
    readonly module: Module,
  ) {}

  // ---- token helpers ----

  private peek(k = 0): Token {
    return this.tokens[Math.min(this.pos + k, this.tokens.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== "eof") this.pos++;
    return t;
  }
  loc(t: Token): SourceLocation {
    return { file: this.file, line: t.line, column: t.column };
  }
  fail(t: Token, message: string): never {
    throw new CompileError({ severity: "error", message, location: this.loc(t) });
  }
  private isPunct(p: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === "punct" && t.text === p;
  }
  private expectPunct(p: string): Token {
    const t = this.peek();
    if (t.kind !== "punct" || t.text !== p) this.fail(t, `expected \`${p}\`, found ${describe(t)}`);
    return this.next();
  }
  private isKeyword(k: string): boolean {
    const t = this.peek();
    return t.kind === "ident" && t.text === k;
  }
  private expectKeyword(k: string): Token {
    const t = this.peek();
    if (t.kind !== "ident" || t.text !== k) this.fail(t, `expected \`${k}\`, found ${describe(t)}`);
    return this.next();
  }
  private expectKind(kind: TokenKind, what: string): Token {
    const t = this.peek();
    if (t.kind !== kind) this.fail(t, `expected ${what}, found ${describe(t)}`);
    return this.next();
  }
  private expectEndOfLine(): void {
    const t = this.peek();
    if (t.kind === "newline") this.next();
    else if (t.kind !== "eof") this.fail(t, `expected end of line, found ${describe(t)}`);
  }
  private skipNewlines(): void {
    while (this.peek().kind === "newline") this.next();
  }

  /** A non-negative (or, with `signed`, any) integer that fits a JS number. */
  private integer(what: string, signed = false): number {
    const t = this.expectKind("int", what);
    const v = intValue(t.text);
    if ((!signed && v < 0n) || v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
      this.fail(t, `${what} out of range: ${t.text}`);
    }
    return Number(v);
  }

  private type(what = "a type"): Type {
    const t = this.peek();
    const ty = t.kind === "ident" ? parseType(t.text) : undefined;
    if (!ty) this.fail(t, `expected ${what}, found ${describe(t)}`);
    this.next();
    return ty;
  }

  private name(what: string): Token {
    return this.expectKind("global", what);
  }

  private blockRef(): SynBlockRef {
    const t = this.peek();
    const m = t.kind === "global" && !t.quoted ? /^bb(0|[1-9][0-9]*)$/.exec(t.text) : null;
    if (!m) this.fail(t, `expected a block label \`@bbN\`, found ${describe(t)}`);
    this.next();
    return { id: Number(m[1]), tok: t };
  }

  // ---- module level ----

  parseModule(): void {
    for (;;) {
      this.skipNewlines();
      const t = this.peek();
      if (t.kind === "eof") return;
      if (t.kind === "ident" && t.text === "license") this.license();
      else if (t.kind === "ident" && t.text === "struct") this.struct();
      else if (t.kind === "ident" && t.text === "map") this.map();
      else if (t.kind === "ident" && t.text === "core") this.core();
      else if (t.kind === "ident" && t.text === "func") this.func();
      else this.fail(t, `expected \`license\`, \`struct\`, \`map\`, \`core\` or \`func\`, found ${describe(t)}`);
    }
  }

  private license(): void {
    const kw = this.next();
    if (this.sawLicense) this.fail(kw, "duplicate license");
    this.sawLicense = true;
    this.module.license = this.expectKind("string", "a license string").text;
    this.expectEndOfLine();
  }

  private struct(): void {
    this.next();
    const nameTok = this.name("a struct name");
    if (this.module.getStruct(nameTok.text)) this.fail(nameTok, `duplicate definition of struct ${describe(nameTok)}`);
    this.module.addStruct(this.structBody(nameTok));
    this.expectEndOfLine();
  }

  private structBody(nameTok: Token): StructType {
    this.expectPunct("{");
    const fields: { name: string; type: DataType }[] = [];
    while (!this.isPunct("}")) {
      if (fields.length > 0) this.expectPunct(",");
      const type = this.dataType();
      const ft = this.peek();
      if (ft.kind !== "ident" && ft.kind !== "string") this.fail(ft, `expected a field name, found ${describe(ft)}`);
      this.next();
      if (fields.some((f) => f.name === ft.text)) this.fail(ft, `duplicate field \`${ft.text}\` in struct ${describe(nameTok)}`);
      fields.push({ name: ft.text, type });
    }
    this.next();
    return defineStruct(nameTok.text, fields);
  }

  /** `i8`..`i64`, `[N x T]`, `@struct` or an inline `@struct { fields }`. */
  private dataType(): DataType {
    const t = this.peek();
    if (this.isPunct("[")) {
      this.next();
      const count = this.integer("an array length");
      this.expectKeyword("x");
      const element = this.dataType();
      this.expectPunct("]");
      return arrayOf(element, count);
    }
    if (t.kind === "global") {
      this.next();
      if (this.isPunct("{")) return this.structBody(t);
      const s = this.module.getStruct(t.text);
      if (!s) this.fail(t, `undefined struct ${describe(t)}`);
      return s;
    }
    const ty = t.kind === "ident" ? parseType(t.text) : undefined;
    if (!ty || !isInt(ty)) {
      this.fail(t, `expected a data type (integer, \`[N x T]\` or \`@struct\`), found ${describe(t)}`);
    }
    this.next();
    return ty;
  }

  private map(): void {
    this.next();
    const nameTok = this.name("a map name");
    if (this.module.getMap(nameTok.text)) this.fail(nameTok, `duplicate definition of map ${describe(nameTok)}`);
    this.expectPunct(":");
    const kindTok = this.expectKind("ident", "a map kind");
    if (!(MAP_KINDS as readonly string[]).includes(kindTok.text)) {
      this.fail(kindTok, `unknown map kind \`${kindTok.text}\` (expected one of ${MAP_KINDS.join(", ")})`);
    }
    this.expectPunct(",");
    this.expectKeyword("key");
    const key = this.dataType();
    this.expectPunct(",");
    this.expectKeyword("value");
    const value = this.dataType();
    this.expectPunct(",");
    this.expectKeyword("max_entries");
    const maxEntries = this.integer("max_entries");
    this.expectPunct(",");
    this.expectKeyword("flags");
    const flags = this.integer("flags");
    this.expectEndOfLine();
    this.module.addMap({ name: nameTok.text, kind: kindTok.text as MapKind, key, value, maxEntries, flags });
  }

  /**
   * `core @name : KIND, type "struct x", access a.b[2], value N`. The C type is known here
   * only by its spelling: a struct, union or enum becomes an incomplete type of that tag,
   * any other name a typedef of void (enough to print, verify and interpret the module;
   * generating code needs the complete type, which only the front end has).
   */
  private core(): void {
    this.next();
    const nameTok = this.name("a CO-RE relocation name");
    if (this.module.getCoreRelocation(nameTok.text)) this.fail(nameTok, `duplicate definition of CO-RE relocation ${describe(nameTok)}`);
    this.expectPunct(":");
    const kindTok = this.expectKind("ident", "a CO-RE relocation kind");
    if (!Object.hasOwn(CoreReloKind, kindTok.text)) {
      this.fail(kindTok, `unknown CO-RE relocation kind \`${kindTok.text}\` (expected one of ${Object.keys(CoreReloKind).join(", ")})`);
    }
    this.expectPunct(",");
    this.expectKeyword("type");
    const typeTok = this.expectKind("string", "a C type name in quotes");
    const type = placeholderCType(typeTok.text);
    if (!type) this.fail(typeTok, `expected a C type name such as "struct task_struct", found ${describe(typeTok)}`);
    this.expectPunct(",");
    const path: CoreAccessStep[] = [];
    if (this.isKeyword("access")) {
      this.next();
      const pathTok = this.expectKind("string", "an access path in quotes");
      const steps = parseCorePath(pathTok.text);
      if (!steps) this.fail(pathTok, `expected an access path such as "real_parent.comm[2]", found ${describe(pathTok)}`);
      path.push(...steps);
      this.expectPunct(",");
    }
    this.expectKeyword("value");
    const valueTok = this.expectKind("int", "the compiled value");
    const value = intValue(valueTok.text);
    this.expectEndOfLine();
    this.module.addCoreRelocation({ name: nameTok.text, kind: kindTok.text as CoreReloKindName, type, path, value });
  }

  // ---- functions ----

  func(): Function {
    this.expectKeyword("func");
    const nameTok = this.name("a function name");
    if (this.module.getFunction(nameTok.text)) this.fail(nameTok, `duplicate definition of function ${describe(nameTok)}`);
    this.expectPunct("(");
    const paramTypes: Type[] = [];
    const paramToks: Token[] = [];
    while (!this.isPunct(")")) {
      if (paramTypes.length > 0) this.expectPunct(",");
      const ty = this.type("a parameter type");
      if (ty.kind === "void") this.fail(this.tokens[this.pos - 1]!, "a parameter cannot have type void");
      const v = this.expectKind("value", "a parameter name `%N`");
      if (Number(v.text) !== paramTypes.length) {
        this.fail(v, `parameter ${paramTypes.length} must be named %${paramTypes.length}, found ${describe(v)}`);
      }
      paramTypes.push(ty);
      paramToks.push(v);
    }
    this.next();
    this.expectPunct("->");
    const returnType = this.type("a return type");
    let program: { section: string; type: string } | undefined;
    if (this.isKeyword("section")) {
      this.next();
      const section = this.expectKind("string", "a section name string").text;
      this.expectKeyword("type");
      const tt = this.peek();
      if (tt.kind !== "ident" && tt.kind !== "string") this.fail(tt, `expected a program type, found ${describe(tt)}`);
      this.next();
      program = { section, type: tt.text };
    }
    this.expectPunct("{");
    this.expectEndOfLine();
    const blocks = this.body();
    const fn = this.module.addFunction(nameTok.text, paramTypes, returnType);
    if (program) fn.program = program;
    new FunctionBuilder(this, fn, blocks).build();
    return fn;
  }

  /** Lines up to and including the closing `}`. */
  private body(): SynBlock[] {
    const blocks: SynBlock[] = [];
    for (;;) {
      this.skipNewlines();
      const t = this.peek();
      if (t.kind === "eof") this.fail(t, "expected `}` to close the function, found end of input");
      if (this.isPunct("}")) {
        this.next();
        this.expectEndOfLine();
        return blocks;
      }
      if (t.kind === "global" && this.isPunct(":", 1)) {
        const ref = this.blockRef();
        if (blocks.some((b) => b.id === ref.id)) this.fail(t, `duplicate definition of block @bb${ref.id}`);
        this.next();
        this.expectEndOfLine();
        blocks.push({ id: ref.id, tok: t, insts: [] });
        continue;
      }
      const inst = this.instruction();
      const bb = blocks[blocks.length - 1];
      if (!bb) this.fail(inst.result?.tok ?? inst.opTok, "instruction outside a block (expected a label `@bbN:` first)");
      bb.insts.push(inst);
      this.expectEndOfLine();
    }
  }

  private operand(): SynOperand {
    const t = this.peek();
    if (t.kind === "value") {
      this.next();
      return { kind: "value", id: Number(t.text), tok: t };
    }
    if (t.kind === "int") {
      this.next();
      return { kind: "const", type: undefined, value: intValue(t.text), tok: t };
    }
    if (t.kind === "ident" && parseType(t.text)) {
      const type = this.type();
      const v = this.expectKind("int", `a constant of type ${typeToString(type)}`);
      return { kind: "const", type, value: intValue(v.text), tok: t };
    }
    return this.fail(t, `expected an operand (\`%N\` or a constant), found ${describe(t)}`);
  }

  private instruction(): SynInst {
    let result: SynInst["result"];
    if (this.peek().kind === "value") {
      const t = this.next();
      result = { id: Number(t.text), tok: t };
      this.expectPunct("=");
    }
    const opTok = this.peek();
    if (opTok.kind !== "ident") this.fail(opTok, `expected an instruction, found ${describe(opTok)}`);
    if (!isOpcode(opTok.text)) this.fail(opTok, `unknown opcode \`${opTok.text}\``);
    this.next();
    const opcode = opTok.text;
    const shape = OPCODES[opcode].shape;
    const presence = resultPresence(opcode);
    const needsResult = (): never => this.fail(opTok, `\`${opcode}\` produces a value: write \`%N = ${opcode} ...\``);
    if (presence === "required" && !result) needsResult();
    if (presence === "none" && result) this.fail(result.tok, `\`${opcode}\` produces no value and cannot be assigned to ${describe(result.tok)}`);

    let typeParam: Type = voidType;
    let toType: Type | undefined;
    const operands: SynOperand[] = [];
    const targets: SynBlockRef[] = [];
    const incoming: SynBlockRef[] = [];
    const attrs: InstructionAttrs = {};
    let mapTok: Token | undefined;
    let coreTok: Token | undefined;
    let calleeTok: Token | undefined;
    const operandList = (n: number): void => {
      for (let i = 0; i < n; i++) {
        if (i > 0) this.expectPunct(",");
        operands.push(this.operand());
      }
    };
    const offset = (): void => {
      this.expectPunct(",");
      attrs.offset = this.integer("an offset", true);
    };
    switch (shape) {
      case "binary":
      case "compare":
      case "ptradd":
        typeParam = this.type();
        operandList(2);
        break;
      case "unary":
      case "copy":
        typeParam = this.type();
        operandList(1);
        break;
      case "cast":
        typeParam = this.type();
        operandList(1);
        this.expectKeyword("to");
        toType = this.type("the result type");
        break;
      case "select":
        typeParam = this.type();
        operandList(3);
        break;
      case "load":
        typeParam = this.type();
        operandList(1);
        offset();
        break;
      case "store":
      case "atomic":
      case "pktload":
        typeParam = this.type();
        operandList(2);
        offset();
        break;
      case "alloca":
        typeParam = ptrType("stack");
        attrs.size = this.integer("an alloca size");
        this.expectPunct(",");
        this.expectKeyword("align");
        attrs.align = this.integer("an alignment");
        break;
      case "call": {
        typeParam = this.type("the return type");
        if (this.isKeyword("helper")) {
          this.next();
          attrs.helper = this.integer("a helper id");
        } else {
          calleeTok = this.name("`helper N` or a function name `@f`");
          attrs.callee = calleeTok.text;
        }
        this.expectPunct("(");
        while (!this.isPunct(")")) {
          if (operands.length > 0) this.expectPunct(",");
          operands.push(this.operand());
        }
        this.next();
        break;
      }
      case "mapref":
        typeParam = ptrType("map");
        mapTok = this.name("a map name");
        attrs.map = mapTok.text;
        break;
      case "coreval":
        typeParam = i64;
        coreTok = this.name("a CO-RE relocation name");
        attrs.core = coreTok.text;
        break;
      case "phi":
        typeParam = this.type();
        if (this.isPunct("[")) {
          for (;;) {
            this.expectPunct("[");
            operands.push(this.operand());
            this.expectPunct(",");
            incoming.push(this.blockRef());
            this.expectPunct("]");
            if (!this.isPunct(",")) break;
            this.next();
          }
        }
        break;
      case "br":
        targets.push(this.blockRef());
        break;
      case "condbr":
        operandList(1);
        this.expectPunct(",");
        targets.push(this.blockRef());
        this.expectPunct(",");
        targets.push(this.blockRef());
        break;
      case "ret": {
        const t = this.peek();
        if (t.kind !== "newline" && t.kind !== "eof") {
          operands.push(this.operand());
          while (this.isPunct(",")) {
            this.next();
            operands.push(this.operand());
          }
        }
        break;
      }
      case "unreachable":
        break;
    }
    if (presence === "by-type") {
      if (result && typeParam.kind === "void") this.fail(result.tok, `\`${opcode}\` of type void produces no value and cannot be assigned to ${describe(result.tok)}`);
      if (!result && typeParam.kind !== "void") needsResult();
    }
    return { opcode, opTok, result, typeParam, toType, operands, targets, incoming, attrs, mapTok, coreTok, calleeTok };
  }
}

/** Phase 2 of a function: creates blocks, instructions and operands from the syntax records. */
class FunctionBuilder {
  private readonly values = new Map<number, Value>();
  private readonly blocks = new Map<number, BasicBlock>();

  constructor(
    private readonly p: Parser,
    private readonly fn: Function,
    private readonly syn: readonly SynBlock[],
  ) {}

  build(): void {
    const { fn, syn } = this;
    for (const param of fn.params) this.values.set(param.id, param);
    // Move the id counter past every printed id before any constant or void instruction
    // takes a fresh one.
    let maxId = -1;
    for (const sb of syn) for (const si of sb.insts) if (si.result) maxId = Math.max(maxId, si.result.id);
    if (maxId >= 0) fn.newValueId(maxId);
    for (const sb of syn) this.blocks.set(sb.id, fn.createBlock({ id: sb.id }));

    const created: [SynInst, Instruction][] = [];
    for (const sb of syn) {
      const bb = this.blocks.get(sb.id)!;
      for (const si of sb.insts) {
        if (si.result && this.values.has(si.result.id)) this.p.fail(si.result.tok, `duplicate definition of %${si.result.id}`);
        const inst = fn.createInstruction(si.opcode, this.resultType(si), this.typeParam(si), [], si.attrs, si.result?.id);
        inst.loc = this.p.loc(si.result?.tok ?? si.opTok);
        if (si.targets.length > 0) inst.initTargets(si.targets.map((t) => this.block(t)));
        bb.append(inst);
        if (si.result) this.values.set(si.result.id, inst);
        created.push([si, inst]);
      }
    }
    for (const [si, inst] of created) this.fillOperands(si, inst);
  }

  /** The type parameter: written after the opcode, except for `ret` (the function's return type). */
  private typeParam(si: SynInst): Type {
    return OPCODES[si.opcode].shape === "ret" ? this.fn.returnType : si.typeParam;
  }

  private resultType(si: SynInst): Type {
    return resultTypeOf(si.opcode, si.typeParam, si.toType);
  }

  private block(ref: SynBlockRef): BasicBlock {
    const bb = this.blocks.get(ref.id);
    if (!bb) this.p.fail(ref.tok, `undefined block @bb${ref.id}`);
    return bb;
  }

  private fillOperands(si: SynInst, inst: Instruction): void {
    const shape = OPCODES[si.opcode].shape;
    const T = this.typeParam(si);
    si.operands.forEach((o, i) => {
      const rule = operandRule(si.opcode, i) ?? "scalar";
      const v = this.operand(o, constantTypeAt(si.opcode, T, i));
      if (!acceptsOperand(rule, T, v.type)) {
        const what = o.kind === "value" ? `%${o.id}` : "constant";
        this.p.fail(o.tok, `type mismatch: operand ${i + 1} of \`${si.opcode}\` must have ${describeOperandRule(rule, T)}, but ${what} has type ${typeToString(v.type)}`);
      }
      if (shape === "phi") inst.addIncoming(v, this.block(si.incoming[i]!));
      else inst.appendOperand(v);
    });
    if (shape === "condbr") inst.typeParam = inst.operand(0).type;
    if (si.mapTok) this.p.mapRefs.push({ name: si.mapTok.text, tok: si.mapTok });
    if (si.coreTok) this.p.coreRefs.push({ name: si.coreTok.text, tok: si.coreTok });
    if (si.calleeTok) this.p.calleeRefs.push({ name: si.calleeTok.text, tok: si.calleeTok });
  }

  private operand(o: SynOperand, implied: Type): Value {
    if (o.kind === "value") {
      const v = this.values.get(o.id);
      if (!v) this.p.fail(o.tok, `undefined value %${o.id}`);
      return v;
    }
    const type = o.type ?? implied;
    if (type.kind === "void") this.p.fail(o.tok, "a constant cannot have type void");
    const bits = BigInt(bitsOf(type));
    if (o.value < -(1n << (bits - 1n)) || o.value >= 1n << bits) {
      this.p.fail(o.tok, `constant ${o.value} does not fit in ${typeToString(type)}`);
    }
    return this.fn.constant(type, o.value);
  }
}

function run(text: string, options: ParseOptions | undefined, checkReferences: boolean): Module {
  const file = options?.file ?? "<ir>";
  const p = new Parser(lex(text, file), file, new Module());
  p.parseModule();
  if (checkReferences) {
    for (const r of p.mapRefs) if (!p.module.getMap(r.name)) p.fail(r.tok, `undefined map ${printName(r.name)}`);
    for (const r of p.calleeRefs) if (!p.module.getFunction(r.name)) p.fail(r.tok, `call to undefined function ${printName(r.name)}`);
    for (const r of p.coreRefs) if (!p.module.getCoreRelocation(r.name)) p.fail(r.tok, `undefined CO-RE relocation ${printName(r.name)}`);
  }
  return p.module;
}

/**
 * Parses a module. Throws a {@link CompileError} whose diagnostic points at the offending
 * token: syntax errors, unknown opcodes, types and map kinds, undefined values, blocks,
 * maps, structs and callees, duplicate definitions, operand type mismatches, constants
 * that do not fit their type.
 */
export function parseModule(text: string, options?: ParseOptions): Module {
  return run(text, options, true);
}

/**
 * Parses text holding exactly one function (maps, structs and a license may come with it).
 * Map and callee names are not checked, so a function can be parsed on its own.
 */
export function parseFunction(text: string, options?: ParseOptions): Function {
  const m = run(text, options, false);
  if (m.functions.length !== 1) {
    throw new CompileError({
      severity: "error",
      message: `expected exactly one function, found ${m.functions.length}`,
      location: { file: options?.file ?? "<ir>", line: 1, column: 1 },
    });
  }
  return m.functions[0]!;
}

/** Parses a C-like access path (`a.b[2].c`, `[1]`) into steps; undefined when malformed. */
function parseCorePath(text: string): CoreAccessStep[] | undefined {
  const steps: CoreAccessStep[] = [];
  let at = 0;
  while (at < text.length) {
    const index = /^\[(\d+)\]/.exec(text.slice(at));
    if (index) {
      steps.push(Number(index[1]));
      at += index[0].length;
      continue;
    }
    const member = (steps.length === 0 ? /^([A-Za-z_][A-Za-z0-9_]*)/ : /^\.([A-Za-z_][A-Za-z0-9_]*)/).exec(text.slice(at));
    if (!member) return undefined;
    steps.push(member[1]!);
    at += member[0].length;
  }
  return steps.length > 0 ? steps : undefined;
}

/** The C type a CO-RE relocation names in IR text, known only by its spelling. */
function placeholderCType(spelling: string): CType | undefined {
  const m = /^(struct|union|enum)\s+([A-Za-z_][A-Za-z0-9_]*)$/.exec(spelling.trim());
  if (m) {
    if (m[1] === "enum") return { kind: "enum", tag: m[2], underlying: C_INTS.int, values: undefined };
    return { kind: m[1] as "struct" | "union", tag: m[2], members: undefined, size: 0, align: 1, constants: new Map() };
  }
  if (Object.hasOwn(C_INTS, spelling)) return C_INTS[spelling as keyof typeof C_INTS];
  if (spelling === "struct" || spelling === "union" || spelling === "enum") return undefined;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(spelling) ? cTypedefOf(spelling, C_VOID) : undefined;
}
