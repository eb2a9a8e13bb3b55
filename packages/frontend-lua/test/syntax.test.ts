// The table of child-holding properties per syntax node type (src/syntax.ts) against the
// trees luaparse builds: every property of a node that holds a node or an array of nodes
// is in its type's row, in luaparse's order, so a walk through the table visits what a
// walk over every property would, in the same order.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import luaparse from "luaparse";
import type * as lua from "luaparse";
import { describe, expect, it } from "vitest";
import { parseLua, type Span } from "../src/parse.js";
import { CHILD_KEYS, isNode } from "../src/syntax.js";

const EXAMPLES = join(import.meta.dirname, "../../../examples");

/** Source that uses every statement and expression form of Lua 5.3's grammar. */
const EVERY_FORM = `
local a, b = 1, "s"
local function f(x, ...) return x, ... end
function t.m(self) return self end
function t:n() end
::top::
do local c = {1, k = 2, [3] = 4; f} end
while a < 2 do a = a + 1 break end
repeat a = a - 1 until a == 0
if a then b = nil elseif not b then b = true else b = false end
for i = 1, 10, 2 do goto top end
for k, v in pairs(t) do print(k, v) end
f{1} f"s" t:m() t.x[1] = #b .. -a ~ 1 // 2 ^ 3
return (a and b or f(...))
`;

/** Walks `root` through the table; returns what a node holds that its row does not say (and the node count). */
function checkTree(root: unknown): { problems: string[]; nodes: number } {
  const problems: string[] = [];
  let nodes = 0;
  const visit = (node: lua.Node): void => {
    nodes++;
    const row = CHILD_KEYS.get(node.type);
    if (!row) {
      problems.push(`no row for ${node.type}`);
      return;
    }
    const holding = Object.keys(node).filter((k) => {
      const v = (node as unknown as Record<string, unknown>)[k];
      return k !== "range" && k !== "loc" && (isNode(v) || (Array.isArray(v) && v.some(isNode)));
    });
    // Every child-holding property is in the row, in the row's order.
    const inRow = row.filter((k) => holding.includes(k));
    if (inRow.length !== holding.length || inRow.some((k, i) => holding[i] !== k)) problems.push(`${node.type} holds ${holding.join(", ")}; its row is ${row.join(", ")}`);
    for (const k of row) {
      const v = (node as unknown as Record<string, unknown>)[k];
      for (const child of Array.isArray(v) ? v : [v]) if (isNode(child)) visit(child);
    }
  };
  visit(root as lua.Node);
  return { problems, nodes };
}

describe("syntax node table", () => {
  it("lists the child-holding properties of every node of a file using every form", () => {
    const { chunk } = parseLua(EVERY_FORM, "forms.lua");
    const seen = new Set<string>();
    const walk = (n: lua.Node): void => {
      seen.add(n.type);
      for (const k of CHILD_KEYS.get(n.type)!) {
        const v = (n as unknown as Record<string, unknown>)[k];
        for (const c of Array.isArray(v) ? v : [v]) if (isNode(c)) walk(c);
      }
    };
    expect(checkTree(chunk).problems).toEqual([]);
    walk(chunk as unknown as lua.Node);
    // Every type of the table but comments (not kept) occurs in the file.
    expect([...CHILD_KEYS.keys()].filter((t) => !seen.has(t))).toEqual(["Comment"]);
  });

  it("lists the child-holding properties of every node of the examples", () => {
    for (const f of readdirSync(EXAMPLES).filter((name) => name.endsWith(".lua"))) {
      const { chunk } = parseLua(readFileSync(join(EXAMPLES, f), "utf8"), f);
      const { problems, nodes } = checkTree(chunk);
      expect(problems, f).toEqual([]);
      expect(nodes).toBeGreaterThan(10);
    }
  });
});

describe("node spans", () => {
  /** Every node of `root`, in the table's walk order. */
  const nodesOf = (root: unknown): lua.Node[] => {
    const out: lua.Node[] = [];
    const visit = (node: lua.Node): void => {
      out.push(node);
      for (const k of CHILD_KEYS.get(node.type) ?? []) {
        const v = (node as unknown as Record<string, unknown>)[k];
        for (const child of Array.isArray(v) ? v : [v]) if (isNode(child)) visit(child);
      }
    };
    visit(root as lua.Node);
    return out;
  };

  it("are luaparse's ranges, node by node, with no range array kept", () => {
    const texts: [string, string][] = [["forms.lua", EVERY_FORM]];
    for (const f of readdirSync(EXAMPLES).filter((name) => name.endsWith(".lua"))) texts.push([f, readFileSync(join(EXAMPLES, f), "utf8")]);
    for (const [name, text] of texts) {
      const ours = nodesOf(parseLua(text, name).chunk);
      // luaparse itself, with its range arrays (the examples have no LuaJIT literal suffix to blank).
      const theirs = nodesOf(luaparse.parse(text, { locations: false, ranges: true, comments: false, luaVersion: "5.3", encodingMode: "pseudo-latin1" }));
      expect(ours.length, name).toBe(theirs.length);
      ours.forEach((node, i) => {
        const { rangeStart, rangeEnd } = node as Span;
        expect([node.type, rangeStart, rangeEnd], name).toEqual([theirs[i]!.type, ...(theirs[i] as unknown as { range: [number, number] }).range]);
        expect((node as { range?: unknown }).range, name).toBeUndefined();
      });
    }
  });
});

describe("node factories (nodes.ts)", () => {
  /** What parse.ts adds to luaparse's nodes. */
  const ADDED = new Set(["range", "rangeStart", "rangeEnd", "height"]);

  /** Compares `ours` with luaparse's `theirs`, property by property; returns the differences. */
  const compare = (ours: unknown, theirs: unknown, path: string, out: string[]): number => {
    if (Array.isArray(theirs)) {
      if (!Array.isArray(ours) || ours.length !== theirs.length) {
        out.push(`${path}: list of ${Array.isArray(ours) ? ours.length : "none"}, not ${theirs.length}`);
        return 0;
      }
      let h = 0;
      theirs.forEach((t, i) => (h = Math.max(h, compare(ours[i], t, `${path}[${i}]`, out))));
      return h;
    }
    if (!isNode(theirs)) {
      if (ours !== theirs) out.push(`${path}: ${String(ours)}, not ${String(theirs)}`);
      return 0;
    }
    const o = ours as unknown as Record<string, unknown>;
    const t = theirs as unknown as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => !ADDED.has(k));
    const theirKeys = Object.keys(t).filter((k) => k !== "range");
    if (keys.join() !== theirKeys.join()) out.push(`${path} (${theirs.type}): properties ${keys.join()}, not ${theirKeys.join()}`);
    let below = 0;
    for (const k of theirKeys) below = Math.max(below, compare(o[k], t[k], `${path}.${k}`, out));
    // The height: the nodes on the longest path down (1 without children: no property).
    const height = 1 + below;
    if ((o.height ?? 1) !== height) out.push(`${path} (${theirs.type}): height ${String(o.height)}, not ${height}`);
    if (height === 1 && "height" in o) out.push(`${path} (${theirs.type}): a height property without children`);
    return height;
  };

  it("make luaparse's trees (same types, properties in the same order, values), with each node's height", () => {
    const texts: [string, string][] = [["forms.lua", EVERY_FORM]];
    for (const f of readdirSync(EXAMPLES).filter((name) => name.endsWith(".lua"))) texts.push([f, readFileSync(join(EXAMPLES, f), "utf8")]);
    for (const [name, text] of texts) {
      const theirs = luaparse.parse(text, { locations: false, ranges: true, comments: false, luaVersion: "5.3", encodingMode: "pseudo-latin1" });
      const out: string[] = [];
      compare(parseLua(text, name).chunk, theirs, "chunk", out);
      expect(out, name).toEqual([]);
    }
  });

  it("are luaparse's own again after a parse (another user of luaparse gets its usual trees)", () => {
    parseLua(EVERY_FORM, "forms.lua");
    const chunk = luaparse.parse("local x = f(1)", { ranges: true });
    const statement = chunk.body[0] as unknown as Record<string, unknown>;
    expect(Object.keys(statement)).toEqual(["type", "variables", "init", "range"]);
  });
});
