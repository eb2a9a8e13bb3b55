// C declarations and layout against clang-16 -target bpf: for each group of declarations,
// clang compiles the same text with probes of sizeof/_Alignof/offsetof of every type and
// member and, for bit-fields, an object with only that field set to all ones (its set
// bits give the field's bit offset and width); the values must equal ours.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cAlignof, builtinCScope, CScope, parseCDeclarations, parseCTypeName, cResolve, cSizeof, cScalarInt, type CRecord, type CType } from "../src/ctypes/index.js";

const haveClang = spawnSync("sh", ["-c", "command -v clang-16 && command -v llvm-objcopy-16"]).status === 0;
if (!haveClang && process.env.CI) throw new Error("clang-16 and llvm-objcopy-16 are required in CI");

interface Probe {
  /** A C expression whose value clang computes. */
  readonly expr: string;
  readonly ours: number;
}
interface BitProbe {
  readonly type: string;
  readonly path: string;
  readonly size: number;
  readonly bitOffset: number;
  readonly bitSize: number;
}

/** Probes for a record type spelled `spelling`: its size, alignment, and every member, recursively. */
function recordProbes(spelling: string, r: CRecord, prefix: string, base: number, bitBase: number, probes: Probe[], bits: BitProbe[], outer: { spelling: string; size: number }): void {
  for (const m of r.members ?? []) {
    if (m.bitSize !== undefined) {
      if (m.name !== undefined) bits.push({ type: outer.spelling, path: prefix + m.name, size: outer.size, bitOffset: bitBase + m.bitOffset!, bitSize: m.bitSize });
      continue;
    }
    const inner = cResolve(m.type);
    if (m.name !== undefined) probes.push({ expr: `__builtin_offsetof(${outer.spelling}, ${prefix}${m.name})`, ours: base + m.offset });
    if (inner.kind === "struct" || inner.kind === "union") {
      const nextPrefix = m.name !== undefined ? `${prefix}${m.name}.` : prefix;
      recordProbes(spelling, inner, nextPrefix, base + m.offset, bitBase + m.offset * 8, probes, bits, outer);
    }
  }
}

function probesFor(spelling: string, t: CType): { probes: Probe[]; bits: BitProbe[] } {
  const probes: Probe[] = [
    { expr: `sizeof(${spelling})`, ours: cSizeof(t) },
    { expr: `_Alignof(${spelling})`, ours: cAlignof(t) },
  ];
  const bits: BitProbe[] = [];
  const r = cResolve(t);
  if (r.kind === "struct" || r.kind === "union") recordProbes(spelling, r, "", 0, 0, probes, bits, { spelling, size: cSizeof(t) });
  const si = cScalarInt(t);
  if (si) probes.push({ expr: `((${spelling})-1 < 0)`, ours: si.signed ? 1 : 0 });
  return { probes, bits };
}

/** Compiles `decls` plus probes with clang and returns the probe values and bit-probe bytes. */
function clangValues(decls: string, probes: readonly Probe[], bits: readonly BitProbe[]): { values: bigint[]; bitBytes: Uint8Array[] } {
  const dir = mkdtempSync(join(tmpdir(), "luabpf-ctypes-"));
  try {
    let c = `${decls}\nconst unsigned long long __probes[] = {\n${probes.map((p) => `  (unsigned long long)(${p.expr}),`).join("\n")}\n};\n`;
    bits.forEach((b, i) => (c += `const ${b.type} __bit${i} = { .${b.path} = -1 };\n`));
    writeFileSync(join(dir, "t.c"), c);
    const cc = spawnSync("clang-16", ["-target", "bpf", "-w", "-c", "t.c", "-o", "t.o"], { cwd: dir, encoding: "utf8" });
    if (cc.status !== 0) throw new Error(`clang failed:\n${cc.stderr}\n${c}`);
    const oc = spawnSync("llvm-objcopy-16", ["-O", "binary", "--only-section=.rodata", "t.o", "t.bin"], { cwd: dir, encoding: "utf8" });
    if (oc.status !== 0) throw new Error(`llvm-objcopy failed: ${oc.stderr}`);
    const bytes = readFileSync(join(dir, "t.bin"));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const values = probes.map((_, i) => view.getBigUint64(i * 8, true));
    // Each bit probe object follows, aligned to its type's alignment.
    const bitBytes: Uint8Array[] = [];
    let off = probes.length * 8;
    for (const b of bits) {
      const t = parseAlign(b);
      off = Math.ceil(off / t) * t;
      bitBytes.push(bytes.subarray(off, off + b.size));
      off += b.size;
    }
    return { values, bitBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let currentScope: CScope;
function parseAlign(b: BitProbe): number {
  return cAlignof(parseCTypeName(b.type, currentScope));
}

function setBits(bytes: Uint8Array): { offset: number; size: number } {
  let first = -1;
  let count = 0;
  bytes.forEach((byte, i) => {
    for (let k = 0; k < 8; k++) {
      if (byte & (1 << k)) {
        if (first < 0) first = i * 8 + k;
        count++;
      }
    }
  });
  return { offset: first, size: count };
}

/** Declarations, and the type names to check (every struct/union/typedef they declare). */
const CASES: { name: string; decls: string; types: string[] }[] = [
  {
    name: "scalars, fixed-width and kernel integer types, pointers",
    decls: "typedef unsigned long long u64_t; typedef int *intp; typedef char (*arrp)[7];",
    types: ["char", "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned", "long", "unsigned long", "long long", "unsigned long long", "_Bool", "u64_t", "intp", "arrp", "void *", "char *[3]"],
  },
  {
    name: "bcc-style event and key structs",
    decls: "struct ev { uint64_t pid; char str[80]; }; struct key_t { char name[16]; int32_t stack_id; }; struct kv { uint64_t a; uint64_t b; };",
    types: ["struct ev", "struct key_t", "struct kv"],
  },
  {
    name: "padding and tail padding",
    decls: "struct a { char c; int i; char d; }; struct b { char c; long long l; short s; }; struct c { short s; char c; }; struct d { int i; char c[5]; };",
    types: ["struct a", "struct b", "struct c", "struct d"],
  },
  {
    name: "nested, anonymous and tagged inner records",
    decls: `struct outer {
      int x;
      struct inner { char a; long b; } in;
      union { int u32; char bytes[4]; };
      struct { short p, q; };
      struct inner again[2];
      union { struct { char lo, hi; }; unsigned short both; } w;
    };`,
    types: ["struct outer", "struct inner"],
  },
  {
    name: "unions",
    decls: "union u { char c; int i; long long l; char buf[9]; }; union v { short s; char c[3]; };",
    types: ["union u", "union v"],
  },
  {
    name: "bit-fields: packing, straddling, widths, signed and unsigned",
    decls: `struct bf {
      unsigned a:3, b:5, c:1;
      int d:20;
      int e:13;
      unsigned char f:7, g:2;
      long long h:40, i:30;
      unsigned short j:9;
    };
    struct bf2 { char c; int a:3; unsigned b:30; long long z:5; };
    struct bf3 { unsigned :4; unsigned x:4; unsigned :0; unsigned y:1; char z; };
    struct bf4 { char a; unsigned short :0; char b; int c:1; };`,
    types: ["struct bf", "struct bf2", "struct bf3", "struct bf4"],
  },
  {
    name: "packed and aligned attributes",
    decls: `struct p1 { char a; int b; short c; } __attribute__((packed));
    struct __attribute__((packed)) p2 { char a; long long b; };
    struct p3 { char a; int b __attribute__((aligned(16))); };
    struct p4 { char a; } __attribute__((aligned(8)));
    struct p5 { char a; int :0; char b; } __attribute__((packed));
    struct p6 { unsigned char a:3; unsigned int b:30; } __attribute__((packed));
    struct p7 { char a; int x __attribute__((aligned)); };
    struct p8 { char c; struct p1 inner; };`,
    types: ["struct p1", "struct p2", "struct p3", "struct p4", "struct p5", "struct p6", "struct p7", "struct p8"],
  },
  {
    name: "arrays, multi-dimensional arrays, flexible array members, function pointers",
    decls: `struct arr { int m[2][3]; char *names[4]; int (*fp)(int, char *); void (*cb)(void); short tail[]; };
    struct ptrs { struct ptrs *next; const volatile char *s; unsigned long (*table)[8]; };`,
    types: ["struct arr", "struct ptrs"],
  },
  {
    name: "typedefs, enums and constant expressions",
    decls: `enum color { RED, GREEN = 5, BLUE };
    enum neg { MINUS = -1, PLUS = 1 };
    enum big { SMALL = 1, HUGE = 0x100000000ULL };
    static const int LEN = 4 * 4;
    typedef struct { enum color c; char name[LEN]; unsigned v[sizeof(long) / 2 + BLUE - GREEN]; } item_t;
    typedef item_t items_t[3];
    typedef enum { OFF, ON = 'x' } switch_t;`,
    types: ["enum color", "enum neg", "enum big", "item_t", "items_t", "switch_t"],
  },
];

describe.skipIf(!haveClang)("C layout matches clang-16 -target bpf", () => {
  for (const c of CASES) {
    it(c.name, () => {
      const scope = new CScope(builtinCScope());
      currentScope = scope;
      parseCDeclarations(c.decls, scope);
      const probes: Probe[] = [];
      const bits: BitProbe[] = [];
      for (const name of c.types) {
        const t = parseCTypeName(name, scope);
        const p = probesFor(name, t);
        probes.push(...p.probes);
        bits.push(...p.bits);
      }
      // The fixed-width names are typedefs clang does not know without headers.
      const prelude = "typedef unsigned char uint8_t; typedef unsigned short uint16_t; typedef unsigned int uint32_t; typedef unsigned long long uint64_t; typedef int int32_t;\n";
      const { values, bitBytes } = clangValues(prelude + c.decls, probes, bits);
      const mismatches = probes.filter((p, i) => BigInt(p.ours) !== values[i]).map((p) => `${p.expr}: ours ${p.ours}, clang ${values[probes.indexOf(p)]}`);
      bits.forEach((b, i) => {
        const got = setBits(bitBytes[i]!);
        if (got.offset !== b.bitOffset || got.size !== b.bitSize) mismatches.push(`${b.type} .${b.path}: ours bits ${b.bitOffset}+${b.bitSize}, clang ${got.offset}+${got.size}`);
      });
      expect(mismatches).toEqual([]);
      expect(probes.length + bits.length).toBeGreaterThan(c.types.length);
    });
  }
});
