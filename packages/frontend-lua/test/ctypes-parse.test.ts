// The C declaration parser: type names as bcc programs write them, declarations, and the
// errors bad declarations get (with the offset of the token at fault).
import { describe, expect, it } from "vitest";
import { builtinCScope, CDeclError, CScope, describeCType, evaluateCConstant, cFindMember, parseCDeclarations, parseCTypeName, cResolve, cSizeof, type CRecord } from "../src/ctypes/index.js";

const fresh = () => new CScope(builtinCScope());

function errorOf(f: () => unknown): { message: string; offset: number } {
  try {
    f();
  } catch (e) {
    if (e instanceof CDeclError) return { message: e.message, offset: e.offset };
    throw e;
  }
  throw new Error("expected a CDeclError");
}

describe("type names", () => {
  it("reads the spellings bcc programs use", () => {
    const s = fresh();
    const cases: [string, string, number][] = [
      ["uint64_t", "uint64_t", 8],
      ["uint8_t [16]", "uint8_t [16]", 16],
      ["char [40]", "char [40]", 40],
      ["char *", "char *", 8],
      ["unsigned long long", "unsigned long long", 8],
      ["const char * const", "char *", 8],
      ["int (*)[4]", "int (*)[4]", 8],
      ["struct { uint64_t pid; char str[80]; }", "struct {...}", 88],
      ["struct { char name[16]; int32_t stack_id; }", "struct {...}", 20],
    ];
    for (const [text, spelled, size] of cases) {
      const t = parseCTypeName(text, s);
      expect(describeCType(t), text).toBe(spelled);
      expect(cSizeof(t), text).toBe(size);
    }
  });

  it("substitutes $ with type arguments (ffi.typeof('$ [1]', ct))", () => {
    const s = fresh();
    const u64 = parseCTypeName("uint64_t", s);
    const t = parseCTypeName("$ [1]", s, [u64]);
    expect(describeCType(t)).toBe("uint64_t [1]");
    expect(errorOf(() => parseCTypeName("$ *", s)).message).toMatch(/no corresponding type argument/);
  });

  it("finds members through anonymous records", () => {
    const s = fresh();
    const t = cResolve(parseCTypeName("struct { int a; union { int b; struct { char c, d; }; }; }", s)) as CRecord;
    expect(cFindMember(t, "b")?.offset).toBe(4);
    expect(cFindMember(t, "d")?.offset).toBe(5);
    expect(cFindMember(t, "zz")).toBeUndefined();
  });
});

describe("declarations", () => {
  it("declares tags, typedefs and constants, including forward and self references", () => {
    const s = fresh();
    parseCDeclarations(
      `struct node; typedef struct node node_t;
       struct node { node_t *next; int v; };
       enum { A = 3, B };
       static const int N = B * 2;
       int some_function(int, char *);
       struct bpf { static const int LD = 0x00; static const int F_FAST_STACK_CMP = 1 << 9; };`,
      s,
    );
    expect(cSizeof(parseCTypeName("node_t", s))).toBe(16);
    expect(s.lookupConstant("N")?.value).toBe(8n);
    expect(evaluateCConstant("N + A", s)).toBe(11n);
    const bpf = cResolve(parseCTypeName("struct bpf", s)) as CRecord;
    expect(bpf.constants.get("F_FAST_STACK_CMP")).toBe(512n);
    expect(cSizeof(bpf)).toBe(0);
  });

  it("allows an identical typedef again but not a conflicting one", () => {
    const s = fresh();
    parseCDeclarations("typedef int myint; typedef int myint;", s);
    expect(errorOf(() => parseCDeclarations("typedef long myint;", s)).message).toMatch(/conflicting types for typedef 'myint'/);
  });

  const bad: [string, RegExp, string][] = [
    ["struct a { foo_t x; };", /unknown type name 'foo_t'/, "foo_t"],
    ["struct a { struct b x; };", /member 'x' has incomplete type 'struct b'/, "x;"],
    ["struct a { char c:9; };", /exceeds its type \(8 bits\)/, "c:9"],
    ["struct a { int x; }; struct a { int y; };", /redefinition of 'struct a'/, "a { int y"],
    ["struct a { char d[]; int x; };", /flexible array member 'd' must be the last member/, "x; }"],
    ["#define X 1\nstruct a { int x; };", /preprocessor directives/, "#define"],
    ["struct a { double d; };", /'double' is not supported/, "double"],
    ["struct a { int x; int x; };", /duplicate member 'x'/, "x; }"],
    ["struct a { int x[N]; };", /'N' is not a constant/, "N]"],
    ["struct a { int x }", /expected ';'/, "}"],
    ["struct a { int x[1/0]; };", /division by zero/, "/0"],
    ["union u { char d[]; };", /flexible array member 'd' in a union/, "d[]"],
    ["int;", /does not declare anything/, "int;"],
    ["struct a { float f; }", /'float' is not supported/, "float"],
    ["struct a { int x[?]; };", /variable-length arrays/, "?"],
  ];
  for (const [text, message, at] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const e = errorOf(() => parseCDeclarations(text, fresh()));
      expect(e.message).toMatch(message);
      expect(e.offset).toBe(text.indexOf(at));
    });
  }
});
