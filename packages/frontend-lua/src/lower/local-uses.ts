/**
 * Which locals of a body are used after their declaration as references (`name[i]`,
 * `name.f`, `xadd(name, n)`) or assigned (`name = ...`): body.ts binds a scalar map
 * element as a reference, and a packet position as a run-time offset, only then.
 *
 * For each statement list, its statements are walked from the last, collecting the names
 * the later ones use; a `local` declaring one of them is marked. The names a list uses
 * (its nested lists' included) are what its enclosing statement uses, so one walk over
 * the tree of a body answers every list in it: a nested list is scanned when the walk
 * reaches it, and its names are added to the enclosing list's. Results are kept per list
 * (a Lua function lowered for several programs is scanned once). Names, not bindings: a
 * shadowing local counts as a use of the outer one, as it always has.
 */
import type * as lua from "luaparse";
import { childKeysOf, isNode } from "../syntax.js";

/** Names a statement list uses as references and assigns. */
interface NameUses {
  readonly references: Set<string>;
  readonly assigned: Set<string>;
}

export class LocalUses {
  /** The names each scanned statement list uses. */
  private readonly lists = new WeakMap<readonly lua.Statement[], NameUses>();
  private readonly references = new WeakSet<lua.Identifier>();
  private readonly assigned = new WeakSet<lua.Identifier>();

  /** Scans `stmts`, and the lists nested in them, unless done before. */
  scan(stmts: readonly lua.Statement[]): void {
    this.usesOf(stmts);
  }

  /** Whether the local declared by `id` (in a scanned list) is used as a reference by a later statement of its list. */
  isReference(id: lua.Identifier): boolean {
    return this.references.has(id);
  }

  /** Whether the local declared by `id` (in a scanned list) is assigned by a later statement of its list. */
  isAssigned(id: lua.Identifier): boolean {
    return this.assigned.has(id);
  }

  private usesOf(stmts: readonly lua.Statement[]): NameUses {
    const known = this.lists.get(stmts);
    if (known) return known;
    const later: NameUses = { references: new Set(), assigned: new Set() };
    for (let i = stmts.length - 1; i >= 0; i--) {
      const s = stmts[i]!;
      if (s.type === "LocalStatement") {
        for (const id of s.variables) {
          if (later.references.has(id.name)) this.references.add(id);
          if (later.assigned.has(id.name)) this.assigned.add(id);
        }
      }
      this.collect(s, later);
    }
    this.lists.set(stmts, later);
    return later;
  }

  /** Adds the names `n` and its children use to `uses`; a nested statement list is scanned on the way. */
  private collect(n: lua.Node, uses: NameUses): void {
    if ((n.type === "IndexExpression" || n.type === "MemberExpression") && n.base.type === "Identifier") uses.references.add(n.base.name);
    if (n.type === "CallExpression" && n.base.type === "Identifier" && n.base.name === "xadd" && n.arguments[0]?.type === "Identifier") uses.references.add(n.arguments[0].name);
    if (n.type === "AssignmentStatement") for (const v of n.variables) if (v.type === "Identifier") uses.assigned.add(v.name);
    for (const key of childKeysOf(n)) {
      const v = (n as unknown as Record<string, unknown>)[key];
      if (key === "body" && Array.isArray(v)) {
        const inner = this.usesOf(v as lua.Statement[]);
        for (const name of inner.references) uses.references.add(name);
        for (const name of inner.assigned) uses.assigned.add(name);
      } else if (Array.isArray(v)) {
        for (const x of v) if (isNode(x)) this.collect(x, uses);
      } else if (isNode(v)) this.collect(v, uses);
    }
  }
}
