// The positional answer of lower/local-uses.ts (a use of the name between the end of the
// `local` statement and the end of its list's last statement) against the definition it
// replaces: a walk over each statement list from its last statement, collecting the names
// the later statements (and the lists nested in them) use as references or assign.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import type * as lua from "luaparse";
import { describe, expect, test } from "vitest";
import { parseLua, type Span } from "../src/parse.js";
import { CHILD_KEYS, isNode } from "../src/syntax.js";

const EXAMPLES = join(import.meta.dirname, "../../../examples");

type Marks = Map<lua.Identifier, [reference: boolean, assigned: boolean]>;

/** Every `local` statement's names, marked by walking each list from its last statement. */
function walkedMarks(chunk: lua.Chunk): Marks {
  const marks: Marks = new Map();
  const usesOf = (stmts: lua.Statement[]): { references: Set<string>; assigned: Set<string> } => {
    const later = { references: new Set<string>(), assigned: new Set<string>() };
    for (let i = stmts.length - 1; i >= 0; i--) {
      const s = stmts[i]!;
      if (s.type === "LocalStatement") for (const id of s.variables) marks.set(id, [later.references.has(id.name), later.assigned.has(id.name)]);
      collect(s, later);
    }
    return later;
  };
  const collect = (n: lua.Node, uses: { references: Set<string>; assigned: Set<string> }): void => {
    if ((n.type === "IndexExpression" || n.type === "MemberExpression") && n.base.type === "Identifier") uses.references.add(n.base.name);
    if (n.type === "CallExpression" && n.base.type === "Identifier" && n.base.name === "xadd" && n.arguments[0]?.type === "Identifier") uses.references.add(n.arguments[0].name);
    if (n.type === "AssignmentStatement") for (const v of n.variables) if (v.type === "Identifier") uses.assigned.add(v.name);
    for (const key of CHILD_KEYS.get(n.type)!) {
      const v = (n as unknown as Record<string, unknown>)[key];
      if (key === "body" && Array.isArray(v)) {
        const inner = usesOf(v as lua.Statement[]);
        for (const name of inner.references) uses.references.add(name);
        for (const name of inner.assigned) uses.assigned.add(name);
      } else for (const x of Array.isArray(v) ? v : [v]) if (isNode(x)) collect(x, uses);
    }
  };
  usesOf(chunk.body);
  return marks;
}

/** The same marks from what the parser recorded, as body.ts asks for them. */
function recordedMarks(text: string): { chunk: lua.Chunk; marks: Marks } {
  const { chunk, localUses } = parseLua(text, "t.lua");
  const marks: Marks = new Map();
  const visitList = (stmts: lua.Statement[]): void => {
    const to = (stmts[stmts.length - 1] as Span | undefined)?.rangeEnd;
    for (const s of stmts) {
      if (s.type === "LocalStatement") {
        const later = { from: (s as Span).rangeEnd!, to: to! };
        for (const id of s.variables) marks.set(id, [localUses.isReference(id.name, later), localUses.isAssigned(id.name, later)]);
      }
      visit(s);
    }
  };
  const visit = (n: lua.Node): void => {
    for (const key of CHILD_KEYS.get(n.type)!) {
      const v = (n as unknown as Record<string, unknown>)[key];
      if (key === "body" && Array.isArray(v)) visitList(v as lua.Statement[]);
      else for (const x of Array.isArray(v) ? v : [v]) if (isNode(x)) visit(x);
    }
  };
  visitList(chunk.body);
  return { chunk, marks };
}

function expectSameMarks(text: string, name: string): number {
  const { chunk, marks } = recordedMarks(text);
  const walked = walkedMarks(chunk);
  expect(marks.size, name).toBe(walked.size);
  for (const [id, m] of walked) expect(marks.get(id), `${name}: local '${id.name}' at ${(id as Span).rangeStart}`).toEqual(m);
  return [...walked.values()].filter(([r, a]) => r || a).length;
}

/** Random bodies over three names: locals, assignments, references, xadd, nested blocks of every kind. */
const NAMES = ["a", "b", "c"];
const name = fc.constantFrom(...NAMES);
const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    name,
    fc.nat(300).map(String),
    name.map((n) => `${n}.f`),
    fc.tuple(name, tie("e")).map(([n, e]) => `${n}[${e}]`),
    fc.tuple(tie("e"), tie("e")).map(([l, r]) => `(${l} + ${r})`),
  ),
})).e;
const block: fc.Arbitrary<string> = fc.letrec<{ block: string; stmt: string }>((tie) => ({
  block: fc.array(tie("stmt"), { maxLength: 5 }).map((ss) => ss.join("\n")),
  stmt: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.tuple(fc.array(name, { minLength: 1, maxLength: 2 }), expr).map(([ns, e]) => `local ${ns.join(", ")} = ${e}`),
    fc.tuple(name, expr).map(([n, e]) => `${n} = ${e}`),
    fc.tuple(name, expr, expr).map(([n, k, e]) => `${n}[${k}] = ${e}`),
    name.map((n) => `xadd(${n}, 1)`),
    fc.tuple(expr, tie("block"), tie("block")).map(([c, t, f]) => `if ${c} then\n${t}\nelse\n${f}\nend`),
    fc.tuple(expr, tie("block")).map(([c, b]) => `while ${c} do\n${b}\nend`),
    fc.tuple(tie("block"), expr).map(([b, c]) => `repeat\n${b}\nuntil ${c}`),
    tie("block").map((b) => `do\n${b}\nend`),
    tie("block").map((b) => `for i = 1, 3 do\n${b}\nend`),
    tie("block").map((b) => `g(function ()\n${b}\nend)`),
  ),
})).block;

describe("local uses", () => {
  test("the recorded offsets mark the locals the walk marks, in the examples", () => {
    let marked = 0;
    for (const f of readdirSync(EXAMPLES).filter((n) => n.endsWith(".lua"))) marked += expectSameMarks(readFileSync(join(EXAMPLES, f), "utf8"), f);
    expect(marked).toBeGreaterThan(5); // the examples do use locals as references
  });

  test("uses recorded out of offset order are found (an index whose key holds a function body)", () => {
    // The outer `a[...]` is made after the uses inside the function: its offset comes later in the list.
    const body = "local a = 1\nlocal x = a[g(function ()\n  local a = 2\n  a[1] = 3\nend)]\nreturn x";
    expect(expectSameMarks(`bpf.socket(function (skb)\n${body}\nend)\n`, body)).toBe(2);
  });

  test("the recorded offsets mark the locals the walk marks, in random bodies", () => {
    fc.assert(
      fc.property(block, (body) => {
        expectSameMarks(`local m = 1\nbpf.socket(function (skb)\n${body}\nend)\n`, body);
      }),
      { numRuns: 500 },
    );
  });
});
