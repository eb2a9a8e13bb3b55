/**
 * A recursive-descent parser for the C declarations eBPF programs write in `ffi.cdef`
 * and for C type names (`'struct { uint64_t pid; char str[80]; }'`, `'char [16]'`,
 * `'$ [1]'`), following the declaration grammar of C11 §6.7 restricted to what LuaJIT's
 * FFI accepts: declaration specifiers, struct/union/enum specifiers (nested, anonymous,
 * bit-fields, flexible array members), typedefs, declarators with pointers, arrays and
 * function parameters (inside-out, as in the standard), `static const` integer constants
 * (also inside records, a LuaJIT extension), integer constant expressions with `sizeof`,
 * and the `packed` / `aligned(N)` attributes. Function and variable declarations are
 * accepted and ignored (they have no meaning in an eBPF program).
 *
 * Errors are {@link CDeclError}s carrying the offset of the token at fault.
 */
import { bitFieldCapable, layoutRecord, type DeclaredMember } from "./layout.js";
import { CDeclError, tokenizeC, type CToken } from "./lexer.js";
import type { CScope } from "./scope.js";
import {
  cArrayOf,
  C_INTS,
  C_VOID,
  describeCType,
  cIsComplete,
  cPointerTo,
  cResolve,
  cScalarInt,
  cSizeof,
  cAlignof,
  cTypedefOf,
  type CEnum,
  type CInt,
  type CRecord,
  type CType,
} from "@luabpf/ir";

/** Parses `text` as a sequence of declarations into `scope`. */
export function parseCDeclarations(text: string, scope: CScope): void {
  const p = new CParser(text, scope, []);
  while (!p.atEnd()) p.declaration();
}

/**
 * Parses a type name (`uint64_t`, `struct x *`, `char [16]`); `$` stands for the next of
 * `args`. New tags declared by the name (`struct { ... }`) go into `scope`.
 */
export function parseCTypeName(text: string, scope: CScope, args: readonly CType[] = []): CType {
  const p = new CParser(text, scope, args);
  const t = p.typeName();
  p.expectEnd();
  return t;
}

/** Evaluates an integer constant expression (`4 * TASK_COMM_LEN`) in `scope`. */
export function evaluateCConstant(text: string, scope: CScope): bigint {
  const p = new CParser(text, scope, []);
  const v = p.constantExpression();
  p.expectEnd();
  return v;
}

const QUALIFIERS = new Set(["const", "volatile", "restrict", "__restrict", "__restrict__", "__const", "__const__", "__volatile__", "__volatile", "__extension__", "inline", "__inline", "__inline__", "register", "auto", "_Noreturn", "__signed__"]);
const INT_WORDS = new Set(["char", "short", "int", "long", "signed", "unsigned", "_Bool", "__signed"]);
const FLOAT_WORDS = new Set(["float", "double", "_Complex", "__int128", "__float128"]);
const STORAGE = new Set(["typedef", "static", "extern"]);
/** The default of `aligned` without an argument: the target's largest alignment. */
const BIGGEST_ALIGNMENT = 16;
/** Sizes beyond this are certainly mistakes (and would overflow size arithmetic). */
const MAX_OBJECT_SIZE = 1 << 30;

interface Attributes {
  packed: boolean;
  aligned: number | undefined;
}

interface Specifiers {
  type: CType;
  storage: "typedef" | "static" | "extern" | undefined;
  attrs: Attributes;
  /** The specifiers declared a struct/union without a tag (a candidate anonymous member). */
  anonymousRecord: boolean;
  /** Only a tag was declared (`struct x;`, `struct x { ... };`): no cDeclarator needed. */
  declaresTag: boolean;
}

interface Declarator {
  name: string | undefined;
  nameToken: CToken | undefined;
  apply(base: CType): CType;
}

class CParser {
  private readonly tokens: CToken[];
  private pos = 0;
  private argIndex = 0;

  constructor(
    text: string,
    private readonly scope: CScope,
    private readonly args: readonly CType[],
  ) {
    this.tokens = tokenizeC(text);
  }

  // ---- token helpers ----

  private peek(k = 0): CToken {
    return this.tokens[Math.min(this.pos + k, this.tokens.length - 1)]!;
  }
  private next(): CToken {
    const t = this.peek();
    if (t.kind !== "eof") this.pos++;
    return t;
  }
  private isPunct(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === "punct" && t.text === text;
  }
  private isIdent(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === "ident" && t.text === text;
  }
  private accept(text: string): boolean {
    if (this.isPunct(text)) {
      this.pos++;
      return true;
    }
    return false;
  }
  private expect(text: string, what?: string): CToken {
    if (!this.isPunct(text)) this.fail(this.peek(), `expected '${text}'${what ? ` ${what}` : ""}, found ${describeToken(this.peek())}`);
    return this.next();
  }
  private fail(t: CToken, message: string): never {
    throw new CDeclError(message, t.offset);
  }
  atEnd(): boolean {
    return this.peek().kind === "eof";
  }
  expectEnd(): void {
    if (!this.atEnd()) this.fail(this.peek(), `unexpected ${describeToken(this.peek())} after the type`);
  }

  // ---- declarations ----

  /** One top-level declaration, ending with `;`. */
  declaration(): void {
    if (this.accept(";")) return;
    const start = this.peek();
    const spec = this.specifiers(true);
    if (this.accept(";")) {
      if (!spec.declaresTag && spec.storage !== "typedef") this.fail(start, "declaration does not declare anything");
      return;
    }
    do {
      const d = this.declarator(false);
      const type = d.apply(spec.type);
      this.attributes();
      if (this.accept("=")) {
        const valueTok = this.peek();
        const value = this.constantExpression();
        this.declareConstant(spec, d, type, value, valueTok);
        continue;
      }
      if (spec.storage === "typedef") this.declareTypedef(d, type);
      else if (spec.storage === "static" && isConstInt(type)) this.fail(d.nameToken ?? start, `static constant '${d.name}' needs a value`);
      // Function and variable declarations describe C symbols (ffi.C), not eBPF data.
    } while (this.accept(","));
    this.expect(";", "after the declaration");
  }

  private declareTypedef(d: Declarator, type: CType): void {
    const name = d.name!;
    const prior = this.scope.ownTypedef(name);
    if (prior && !sameType(resolveTypedef(prior), type)) {
      this.fail(d.nameToken!, `conflicting types for typedef '${name}' (was '${describeCType(resolveTypedef(prior))}')`);
    }
    this.scope.defineTypedef(name, cTypedefOf(name, type));
  }

  private declareConstant(spec: Specifiers, d: Declarator, type: CType, value: bigint, at: CToken): void {
    if (spec.storage !== "static" || !cScalarInt(type)) this.fail(at, "only 'static const' integer declarations can have a value");
    const name = d.name!;
    if (this.scope.ownConstant(name)) this.fail(d.nameToken!, `redefinition of constant '${name}'`);
    this.scope.defineConstant(name, { value: convert(value, cScalarInt(type)!), type });
  }

  /** Declaration specifiers: storage class, qualifiers, type specifiers and attributes. */
  private specifiers(allowStorage: boolean): Specifiers {
    const attrs: Attributes = { packed: false, aligned: undefined };
    let storage: Specifiers["storage"];
    let base: CType | undefined;
    let anonymousRecord = false;
    let declaresTag = false;
    const words: CToken[] = [];
    const first = this.peek();
    for (;;) {
      const t = this.peek();
      if (t.kind === "dollar") {
        if (base || words.length > 0) break;
        this.next();
        const arg = this.args[this.argIndex++];
        if (!arg) this.fail(t, "'$' has no corresponding type argument");
        base = arg;
        continue;
      }
      if (t.kind !== "ident") break;
      const w = t.text;
      if (QUALIFIERS.has(w)) {
        this.next();
        continue;
      }
      if (w === "__attribute__" || w === "__attribute") {
        this.attributeList(attrs);
        continue;
      }
      if (STORAGE.has(w)) {
        if (!allowStorage) this.fail(t, `'${w}' is not allowed here`);
        if (storage) this.fail(t, `more than one storage class ('${storage}' and '${w}')`);
        storage = w as Specifiers["storage"];
        this.next();
        continue;
      }
      if (FLOAT_WORDS.has(w)) this.fail(t, `'${w}' is not supported: eBPF has no floating-point or 128-bit types`);
      if (w === "void") {
        if (base || words.length > 0) this.fail(t, "'void' cannot be combined with other type specifiers");
        this.next();
        base = C_VOID;
        continue;
      }
      if (INT_WORDS.has(w)) {
        if (base) this.fail(t, `'${w}' cannot be combined with '${describeCType(base)}'`);
        words.push(this.next());
        continue;
      }
      if (w === "struct" || w === "union") {
        if (base || words.length > 0) this.fail(t, `'${w}' cannot be combined with other type specifiers`);
        const r = this.recordSpecifier(w);
        base = r.type;
        anonymousRecord = r.anonymous;
        declaresTag = true;
        continue;
      }
      if (w === "enum") {
        if (base || words.length > 0) this.fail(t, "'enum' cannot be combined with other type specifiers");
        base = this.enumSpecifier();
        declaresTag = true;
        continue;
      }
      if (!base && words.length === 0) {
        const td = this.scope.lookupTypedef(w);
        if (td) {
          this.next();
          base = td;
          continue;
        }
      }
      break;
    }
    if (words.length > 0) base = this.integerType(words);
    if (!base) {
      const t = this.peek();
      if (t.kind === "ident" && t === first) this.fail(t, `unknown type name '${t.text}'`);
      this.fail(t, `expected a type, found ${describeToken(t)}`);
    }
    return { type: base, storage, attrs, anonymousRecord, declaresTag };
  }

  /** The integer type named by a combination of `char short int long signed unsigned`. */
  private integerType(words: readonly CToken[]): CInt {
    const count = (w: string) => words.filter((t) => t.text === w).length;
    const signed = count("signed") + count("__signed");
    const unsigned = count("unsigned");
    const longs = count("long");
    const at = words[0]!;
    if (signed + unsigned > 1) this.fail(at, "conflicting 'signed'/'unsigned' specifiers");
    if (count("_Bool") > 0) {
      if (words.length > 1) this.fail(at, "'_Bool' cannot be combined with other type specifiers");
      return C_INTS._Bool;
    }
    if (count("char") > 1 || count("short") > 1 || count("int") > 1 || longs > 2) this.fail(at, "invalid combination of type specifiers");
    if (count("char") === 1) {
      if (count("short") + longs + count("int") > 0) this.fail(at, "invalid combination of type specifiers");
      return unsigned ? C_INTS["unsigned char"] : signed ? C_INTS["signed char"] : C_INTS.char;
    }
    if (count("short") === 1) {
      if (longs > 0) this.fail(at, "'short' and 'long' cannot be combined");
      return unsigned ? C_INTS["unsigned short"] : C_INTS.short;
    }
    if (longs === 2) return unsigned ? C_INTS["unsigned long long"] : C_INTS["long long"];
    if (longs === 1) return unsigned ? C_INTS["unsigned long"] : C_INTS.long;
    return unsigned ? C_INTS["unsigned int"] : C_INTS.int;
  }

  /** `__attribute__((a, b(1)))`, merged into `attrs`. */
  private attributeList(attrs: Attributes): void {
    this.next();
    this.expect("(", "after __attribute__");
    this.expect("(", "after __attribute__(");
    while (!this.isPunct(")")) {
      const t = this.next();
      if (t.kind !== "ident") this.fail(t, `expected an attribute name, found ${describeToken(t)}`);
      const name = t.text.replace(/^__(.*)__$/, "$1");
      if (name === "packed") attrs.packed = true;
      else if (name === "aligned") {
        let a = BIGGEST_ALIGNMENT;
        if (this.accept("(")) {
          const at = this.peek();
          const v = this.constantExpression();
          if (v <= 0n || v > 1n << 29n || (v & (v - 1n)) !== 0n) this.fail(at, "the alignment must be a power of two");
          a = Number(v);
          this.expect(")");
        }
        attrs.aligned = Math.max(attrs.aligned ?? 1, a);
      } else if (this.isPunct("(")) this.skipBalanced();
      if (!this.accept(",")) break;
    }
    this.expect(")", "closing the attribute list");
    this.expect(")", "closing __attribute__");
  }

  /** Attributes after a cDeclarator or record body. */
  private attributes(): Attributes {
    const attrs: Attributes = { packed: false, aligned: undefined };
    while (this.isIdent("__attribute__") || this.isIdent("__attribute")) this.attributeList(attrs);
    return attrs;
  }

  private skipBalanced(): void {
    let depth = 0;
    do {
      const t = this.next();
      if (t.kind === "eof") this.fail(t, "unbalanced parentheses");
      if (t.kind === "punct" && t.text === "(") depth++;
      if (t.kind === "punct" && t.text === ")") depth--;
    } while (depth > 0);
  }

  // ---- struct, union, enum ----

  private recordSpecifier(kind: "struct" | "union"): { type: CRecord; anonymous: boolean } {
    this.next();
    const attrs = this.attributes();
    const tagTok = this.peek().kind === "ident" ? this.next() : undefined;
    const tag = tagTok?.text;
    if (!this.isPunct("{")) {
      if (!tagTok) this.fail(this.peek(), `expected a ${kind} tag or '{', found ${describeToken(this.peek())}`);
      return { type: this.recordByTag(kind, tagTok), anonymous: false };
    }
    let record: CRecord;
    if (tagTok) {
      const prior = this.scope.ownTag(tagTok.text);
      if (prior && prior.kind !== kind) this.fail(tagTok, `'${tagTok.text}' was declared as ${prior.kind === "enum" ? "an enum" : `a ${prior.kind}`}, not a ${kind}`);
      if (prior && (prior as CRecord).members !== undefined) this.fail(tagTok, `redefinition of '${kind} ${tagTok.text}'`);
      record = (prior as CRecord | undefined) ?? newRecord(kind, tag);
      this.scope.defineTag(tagTok.text, record);
    } else record = newRecord(kind, undefined);
    this.next(); // {
    const declared: DeclaredMember[] = [];
    const constants = new Map<string, bigint>();
    while (!this.accept("}")) {
      if (this.atEnd()) this.fail(this.peek(), `expected '}' to end the ${kind} body`);
      this.memberDeclaration(record, declared, constants);
    }
    const after = this.attributes();
    const packed = attrs.packed || after.packed;
    const aligned = Math.max(attrs.aligned ?? 1, after.aligned ?? 1);
    const layout = layoutRecord(kind, declared, { packed, aligned });
    if (layout.size > MAX_OBJECT_SIZE) this.fail(tagTok ?? this.peek(), `${kind} is too large (${layout.size} bytes)`);
    record.members = layout.members;
    record.size = layout.size;
    record.align = layout.align;
    record.constants = constants;
    return { type: record, anonymous: tagTok === undefined };
  }

  private recordByTag(kind: "struct" | "union", tagTok: CToken): CRecord {
    const found = this.scope.lookupTag(tagTok.text);
    if (found) {
      if (found.kind !== kind) this.fail(tagTok, `'${tagTok.text}' was declared as ${found.kind === "enum" ? "an enum" : `a ${found.kind}`}, not a ${kind}`);
      return found as CRecord;
    }
    const r = newRecord(kind, tagTok.text);
    this.scope.defineTag(tagTok.text, r);
    return r;
  }

  private memberDeclaration(record: CRecord, out: DeclaredMember[], constants: Map<string, bigint>): void {
    if (this.accept(";")) return;
    const start = this.peek();
    const spec = this.specifiers(true);
    if (spec.storage === "static") {
      // LuaJIT: `static const int NAME = value;` inside a struct is a named constant.
      do {
        const d = this.declarator(false);
        const t = d.apply(spec.type);
        this.expect("=", `after static member '${d.name}'`);
        const v = this.constantExpression();
        if (!cScalarInt(t)) this.fail(d.nameToken!, "static members must be integer constants");
        constants.set(d.name!, convert(v, cScalarInt(t)!));
      } while (this.accept(","));
      this.expect(";");
      return;
    }
    if (spec.storage) this.fail(start, `'${spec.storage}' is not allowed in a ${record.kind} member`);
    if (this.isPunct(";")) {
      this.next();
      // `struct { ... };` without a name: an anonymous member (C11); `struct tag;` alone declares the tag.
      if (spec.anonymousRecord) this.addMember(record, out, { name: undefined, type: spec.type }, start);
      else if (!spec.declaresTag) this.fail(start, "member declaration does not declare anything");
      return;
    }
    do {
      if (this.isPunct(":")) {
        // An unnamed bit-field (padding).
        const colon = this.next();
        const width = this.bitWidth(colon);
        this.addMember(record, out, { name: undefined, type: spec.type, bitWidth: width }, colon);
        continue;
      }
      const d = this.declarator(false);
      const type = d.apply(spec.type);
      let bitWidth: number | undefined;
      if (this.isPunct(":")) bitWidth = this.bitWidth(this.next());
      const attrs = this.attributes();
      this.addMember(
        record,
        out,
        {
          name: d.name,
          type,
          ...(bitWidth !== undefined ? { bitWidth } : {}),
          ...(attrs.aligned !== undefined || spec.attrs.aligned !== undefined ? { aligned: Math.max(attrs.aligned ?? 1, spec.attrs.aligned ?? 1) } : {}),
          ...(attrs.packed || spec.attrs.packed ? { packed: true } : {}),
        },
        d.nameToken ?? start,
      );
    } while (this.accept(","));
    this.expect(";", `after the ${record.kind} member`);
  }

  private bitWidth(at: CToken): number {
    const tok = this.peek();
    const w = this.constantExpression();
    if (w < 0n || w > 64n) this.fail(tok, `bit-field width ${w} is out of range`);
    void at;
    return Number(w);
  }

  private addMember(record: CRecord, out: DeclaredMember[], m: DeclaredMember, at: CToken): void {
    const what = m.name !== undefined ? `member '${m.name}'` : "anonymous member";
    const r = cResolve(m.type);
    if (m.bitWidth !== undefined) {
      if (!bitFieldCapable(m.type)) this.fail(at, `bit-field ${what} has non-integer type '${describeCType(m.type)}'`);
      if (m.bitWidth > cSizeof(m.type) * 8) this.fail(at, `width of bit-field ${what} (${m.bitWidth} bits) exceeds its type (${cSizeof(m.type) * 8} bits)`);
      if (m.bitWidth === 0 && m.name !== undefined) this.fail(at, `named bit-field '${m.name}' has zero width`);
    } else if (r.kind === "function") this.fail(at, `${what} has function type; use a function pointer`);
    else if (r.kind === "array" && r.count === undefined) {
      if (record.kind === "union") this.fail(at, `flexible array ${what} in a union`);
      // A flexible array member must be last; checked when the next member arrives.
    } else if (!cIsComplete(m.type)) this.fail(at, `${what} has incomplete type '${describeCType(m.type)}'`);
    const prev = out[out.length - 1];
    if (prev) {
      const pr = cResolve(prev.type);
      if (pr.kind === "array" && pr.count === undefined) this.fail(at, `flexible array member '${prev.name}' must be the last member`);
    }
    if (m.name !== undefined && out.some((o) => o.name === m.name)) this.fail(at, `duplicate member '${m.name}'`);
    out.push(m);
  }

  private enumSpecifier(): CEnum {
    this.next();
    this.attributes();
    const tagTok = this.peek().kind === "ident" ? this.next() : undefined;
    if (!this.isPunct("{")) {
      if (!tagTok) this.fail(this.peek(), `expected an enum tag or '{', found ${describeToken(this.peek())}`);
      const found = this.scope.lookupTag(tagTok.text);
      if (found) {
        if (found.kind !== "enum") this.fail(tagTok, `'${tagTok.text}' was declared as a ${found.kind}, not an enum`);
        return found;
      }
      const e = newEnum(tagTok.text);
      this.scope.defineTag(tagTok.text, e);
      return e;
    }
    let e: CEnum;
    if (tagTok) {
      const prior = this.scope.ownTag(tagTok.text);
      if (prior && prior.kind !== "enum") this.fail(tagTok, `'${tagTok.text}' was declared as a ${prior.kind}, not an enum`);
      if (prior && (prior as CEnum).values !== undefined) this.fail(tagTok, `redefinition of 'enum ${tagTok.text}'`);
      e = (prior as CEnum | undefined) ?? newEnum(tagTok.text);
      this.scope.defineTag(tagTok.text, e);
    } else e = newEnum(undefined);
    this.next(); // {
    const values = new Map<string, bigint>();
    let next = 0n;
    while (!this.accept("}")) {
      const t = this.next();
      if (t.kind !== "ident") this.fail(t, `expected an enumerator name, found ${describeToken(t)}`);
      if (this.accept("=")) next = this.constantExpression();
      if (this.scope.ownConstant(t.text)) this.fail(t, `redefinition of enumerator '${t.text}'`);
      values.set(t.text, next);
      this.scope.defineConstant(t.text, { value: next, type: C_INTS.int });
      next++;
      if (!this.accept(",")) {
        this.expect("}", "to end the enum");
        break;
      }
    }
    this.attributes();
    if (values.size === 0) this.fail(tagTok ?? this.peek(), "an enum needs at least one enumerator");
    e.values = values;
    e.underlying = enumUnderlying([...values.values()]);
    for (const name of values.keys()) this.scope.defineConstant(name, { value: values.get(name)!, type: e });
    return e;
  }

  // ---- declarators ----

  /**
   * A cDeclarator; the result applies it to a base type (inside-out: `*a[4]` is an array
   * of pointers, `(*a)[4]` a pointer to an array). `abstract` allows (and then requires)
   * the name to be absent.
   */
  private declarator(abstract: boolean): Declarator {
    let pointers = 0;
    while (this.isPunct("*")) {
      this.next();
      while (this.peek().kind === "ident" && (QUALIFIERS.has(this.peek().text) || this.isIdent("__attribute__"))) {
        if (this.isIdent("__attribute__")) this.attributes();
        else this.next();
      }
      pointers++;
    }
    let inner: Declarator | undefined;
    let name: string | undefined;
    let nameToken: CToken | undefined;
    if (this.isPunct("(") && this.isGrouping(abstract)) {
      this.next();
      inner = this.declarator(abstract);
      this.expect(")", "closing the declarator");
    } else if (this.peek().kind === "ident" && !abstract) {
      nameToken = this.next();
      name = nameToken.text;
    } else if (!abstract) {
      this.fail(this.peek(), `expected a name, found ${describeToken(this.peek())}`);
    }
    const suffixes: ((t: CType) => CType)[] = [];
    for (;;) {
      if (this.isPunct("[")) {
        const open = this.next();
        let count: number | undefined;
        if (this.isPunct("?")) this.fail(this.peek(), "variable-length arrays ('[?]') are not supported: eBPF stack objects have a fixed size");
        if (!this.isPunct("]")) {
          const at = this.peek();
          const v = this.constantExpression();
          if (v < 0n) this.fail(at, `array size is negative (${v})`);
          if (v > BigInt(MAX_OBJECT_SIZE)) this.fail(at, `array size ${v} is too large`);
          count = Number(v);
        }
        this.expect("]", "closing the array size");
        suffixes.push((t) => {
          if (!cIsComplete(t)) this.fail(open, `array has incomplete element type '${describeCType(t)}'`);
          return cArrayOf(t, count);
        });
        continue;
      }
      if (this.isPunct("(")) {
        this.next();
        const { params, variadic } = this.parameters();
        suffixes.push((t) => ({ kind: "function", result: t, params, variadic }));
        continue;
      }
      break;
    }
    const innerName = inner?.name;
    return {
      name: name ?? innerName,
      nameToken: nameToken ?? inner?.nameToken,
      apply: (base) => {
        let t = base;
        for (let i = 0; i < pointers; i++) t = cPointerTo(t);
        for (let k = suffixes.length - 1; k >= 0; k--) t = suffixes[k]!(t);
        return inner ? inner.apply(t) : t;
      },
    };
  }

  /** After `(` in a declarator: a nested declarator (true) or a parameter list (false)? */
  private isGrouping(abstract: boolean): boolean {
    const t = this.peek(1);
    if (t.kind === "punct") return t.text === "*" || t.text === "(" || t.text === "[";
    if (t.kind === "ident" && !abstract) return !this.startsType(t);
    return false;
  }

  private startsType(t: CToken): boolean {
    if (t.kind === "dollar") return true;
    if (t.kind !== "ident") return false;
    const w = t.text;
    return QUALIFIERS.has(w) || INT_WORDS.has(w) || FLOAT_WORDS.has(w) || w === "void" || w === "struct" || w === "union" || w === "enum" || w === "__attribute__" || this.scope.lookupTypedef(w) !== undefined;
  }

  private parameters(): { params: CType[]; variadic: boolean } {
    const params: CType[] = [];
    let variadic = false;
    if (this.accept(")")) return { params, variadic };
    if (this.isIdent("void") && this.isPunct(")", 1)) {
      this.next();
      this.next();
      return { params, variadic };
    }
    do {
      if (this.accept("...")) {
        variadic = true;
        break;
      }
      const spec = this.specifiers(false);
      const d = this.isPunct(",") || this.isPunct(")") ? undefined : this.parameterDeclarator();
      let t = d ? d.apply(spec.type) : spec.type;
      const r = cResolve(t);
      if (r.kind === "array") t = cPointerTo(r.element);
      else if (r.kind === "function") t = cPointerTo(t);
      params.push(t);
    } while (this.accept(","));
    this.expect(")", "closing the parameter list");
    return { params, variadic };
  }

  /** A parameter's declarator: named or abstract. */
  private parameterDeclarator(): Declarator {
    // Look ahead for a name among the declarator's tokens (before the first top-level `[`/`)`).
    let depth = 0;
    for (let k = 0; ; k++) {
      const t = this.peek(k);
      if (t.kind === "eof") break;
      if (t.kind === "punct" && (t.text === "(" || t.text === "[")) depth++;
      if (t.kind === "punct" && (t.text === ")" || t.text === "]")) {
        if (depth === 0) break;
        depth--;
      }
      if (t.kind === "punct" && t.text === "," && depth === 0) break;
      if (t.kind === "ident" && !QUALIFIERS.has(t.text) && !this.startsType(t)) return this.declarator(false);
    }
    return this.declarator(true);
  }

  /** A type name: specifiers and an abstract declarator. */
  typeName(): CType {
    const spec = this.specifiers(false);
    if (this.atEnd() || this.isPunct(")") || this.isPunct(",")) return spec.type;
    const d = this.declarator(true);
    this.attributes();
    return d.apply(spec.type);
  }

  // ---- integer constant expressions (C11 §6.6) ----

  constantExpression(): bigint {
    return this.conditional();
  }

  private conditional(): bigint {
    const c = this.binary(0);
    if (!this.accept("?")) return c;
    const a = this.constantExpression();
    this.expect(":", "in the conditional expression");
    const b = this.conditional();
    return c !== 0n ? a : b;
  }

  private binary(minPrec: number): bigint {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      const prec = t.kind === "punct" ? BINARY_PRECEDENCE[t.text] : undefined;
      if (prec === undefined || prec < minPrec) return left;
      this.next();
      const right = this.binary(prec + 1);
      left = this.applyBinary(t, left, right);
    }
  }

  private applyBinary(op: CToken, a: bigint, b: bigint): bigint {
    const wrap = (x: bigint) => BigInt.asIntN(64, x);
    switch (op.text) {
      case "*":
        return wrap(a * b);
      case "/":
      case "%":
        if (b === 0n) this.fail(op, "division by zero in a constant expression");
        return wrap(op.text === "/" ? a / b : a % b);
      case "+":
        return wrap(a + b);
      case "-":
        return wrap(a - b);
      case "<<":
        return wrap(a << (b & 63n));
      case ">>":
        return a >> (b & 63n);
      case "<":
        return a < b ? 1n : 0n;
      case ">":
        return a > b ? 1n : 0n;
      case "<=":
        return a <= b ? 1n : 0n;
      case ">=":
        return a >= b ? 1n : 0n;
      case "==":
        return a === b ? 1n : 0n;
      case "!=":
        return a !== b ? 1n : 0n;
      case "&":
        return a & b;
      case "^":
        return a ^ b;
      case "|":
        return a | b;
      case "&&":
        return a !== 0n && b !== 0n ? 1n : 0n;
      case "||":
        return a !== 0n || b !== 0n ? 1n : 0n;
      default:
        return this.fail(op, `unexpected operator '${op.text}'`);
    }
  }

  private unary(): bigint {
    const t = this.peek();
    if (t.kind === "punct") {
      switch (t.text) {
        case "-":
          this.next();
          return BigInt.asIntN(64, -this.unary());
        case "+":
          this.next();
          return this.unary();
        case "~":
          this.next();
          return ~this.unary();
        case "!":
          this.next();
          return this.unary() === 0n ? 1n : 0n;
        case "(": {
          if (this.startsType(this.peek(1))) {
            // A cast: `(unsigned char)300`.
            this.next();
            const type = this.typeName();
            this.expect(")", "closing the cast");
            const v = this.unary();
            const it = cScalarInt(type);
            if (!it) this.fail(t, `cannot cast to '${describeCType(type)}' in a constant expression`);
            return convert(v, it);
          }
          this.next();
          const v = this.constantExpression();
          this.expect(")");
          return v;
        }
      }
    }
    if (t.kind === "number") {
      this.next();
      return BigInt.asIntN(64, t.value!);
    }
    if (t.kind === "ident") {
      if (t.text === "sizeof" || t.text === "_Alignof" || t.text === "__alignof__" || t.text === "alignof") {
        this.next();
        this.expect("(", `after ${t.text}`);
        if (!this.startsType(this.peek())) this.fail(this.peek(), `${t.text} needs a type name here`);
        const type = this.typeName();
        this.expect(")");
        if (!cIsComplete(type)) this.fail(t, `${t.text} of incomplete type '${describeCType(type)}'`);
        return BigInt(t.text === "sizeof" ? cSizeof(type) : cAlignof(type));
      }
      const c = this.scope.lookupConstant(t.text);
      if (!c) this.fail(t, `'${t.text}' is not a constant`);
      this.next();
      return c.value;
    }
    return this.fail(t, `expected a constant expression, found ${describeToken(t)}`);
  }
}

const BINARY_PRECEDENCE: Readonly<Record<string, number>> = {
  "||": 1,
  "&&": 2,
  "|": 3,
  "^": 4,
  "&": 5,
  "==": 6,
  "!=": 6,
  "<": 7,
  ">": 7,
  "<=": 7,
  ">=": 7,
  "<<": 8,
  ">>": 8,
  "+": 9,
  "-": 9,
  "*": 10,
  "/": 10,
  "%": 10,
};

function describeToken(t: CToken): string {
  switch (t.kind) {
    case "eof":
      return "the end of the declarations";
    case "ident":
      return `'${t.text}'`;
    default:
      return `'${t.text}'`;
  }
}

function newRecord(kind: "struct" | "union", tag: string | undefined): CRecord {
  return { kind, tag, members: undefined, size: 0, align: 1, constants: new Map() };
}

function newEnum(tag: string | undefined): CEnum {
  return { kind: "enum", tag, underlying: C_INTS["unsigned int"], values: undefined };
}

/**
 * The integer type of an enum (as clang and GCC choose it): `unsigned int` when no value
 * is negative and all fit, `int` when some are negative and all fit, otherwise the
 * 64-bit type of the same signedness.
 */
function enumUnderlying(values: readonly bigint[]): CInt {
  const negative = values.some((v) => v < 0n);
  if (!negative) return values.every((v) => v <= 0xffff_ffffn) ? C_INTS["unsigned int"] : C_INTS["unsigned long"];
  return values.every((v) => v >= -(1n << 31n) && v < 1n << 31n) ? C_INTS.int : C_INTS.long;
}

/** `v` converted to integer type `t` (truncated to its width, sign per its signedness). */
function convert(v: bigint, t: CInt): bigint {
  if (t.bool) return v !== 0n ? 1n : 0n;
  return t.signed ? BigInt.asIntN(t.size * 8, v) : BigInt.asUintN(t.size * 8, v);
}

function isConstInt(t: CType): boolean {
  return cScalarInt(t) !== undefined;
}

function resolveTypedef(t: CType): CType {
  return t.kind === "typedef" ? t.target : t;
}

/** Structural type identity (records and enums by identity). */
function sameType(a: CType, b: CType): boolean {
  const x = cResolve(a);
  const y = cResolve(b);
  if (x === y) return true;
  if (x.kind !== y.kind) return false;
  switch (x.kind) {
    case "int":
      return x.name === (y as CInt).name;
    case "void":
      return true;
    case "pointer":
      return sameType(x.target, (y as typeof x).target);
    case "array":
      return x.count === (y as typeof x).count && sameType(x.element, (y as typeof x).element);
    case "function": {
      const f = y as typeof x;
      return x.variadic === f.variadic && x.params.length === f.params.length && sameType(x.result, f.result) && x.params.every((p, i) => sameType(p, f.params[i]!));
    }
    default:
      return false;
  }
}
