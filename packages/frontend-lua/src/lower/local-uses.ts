/**
 * Which locals of a body are used after their declaration as references (`name[i]`,
 * `name.f`, `xadd(name, n)`) or assigned (`name = ...`): body.ts binds a scalar map
 * element as a reference, and a packet position as a run-time offset, only then.
 *
 * For each statement list, its statements are walked from the last, collecting the names
 * the later ones use; a `local` declaring one of them is marked. The names a list uses
 * (its nested lists' included) are what its enclosing statement uses, so one walk over
 * the tree of a body answers every list in it: a nested list is scanned when the walk
 * reaches it, and its names are added to the enclosing list's. A list without a `local`
 * of its own adds its names to the enclosing list's sets directly (no sets of its own);
 * only the marks and which lists were scanned are kept (a Lua function lowered for
 * several programs is scanned once). Names, not bindings: a shadowing local counts as a
 * use of the outer one, as it always has.
 */
import type * as lua from "luaparse";
import { childKeysOf, isNode } from "../syntax.js";

/** Names a statement list uses as references and assigns. */
interface NameUses {
  readonly references: Set<string>;
  readonly assigned: Set<string>;
}

export class LocalUses {
  /** The statement lists scanned so far (nested ones included). */
  private readonly scanned = new Set<readonly lua.Statement[]>();
  private readonly references = new Set<lua.Identifier>();
  private readonly assigned = new Set<lua.Identifier>();

  /** Scans `stmts`, and the lists nested in them, unless done before. */
  scan(stmts: readonly lua.Statement[]): void {
    if (!this.scanned.has(stmts)) this.usesOf(stmts, { references: new Set(), assigned: new Set() });
  }

  /** Whether the local declared by `id` (in a scanned list) is used as a reference by a later statement of its list. */
  isReference(id: lua.Identifier): boolean {
    return this.references.has(id);
  }

  /** Whether the local declared by `id` (in a scanned list) is assigned by a later statement of its list. */
  isAssigned(id: lua.Identifier): boolean {
    return this.assigned.has(id);
  }

  /** Adds the names `stmts` uses to `uses`, marking the locals it declares on the way. */
  private usesOf(stmts: readonly lua.Statement[], uses: NameUses): void {
    this.scanned.add(stmts);
    // The names used after each statement of this list: `uses` itself when the list
    // declares no local (nothing asks), else sets of its own, added to `uses` at the end.
    const later: NameUses = stmts.some((s) => s.type === "LocalStatement") ? { references: new Set(), assigned: new Set() } : uses;
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
    if (later === uses) return;
    for (const name of later.references) uses.references.add(name);
    for (const name of later.assigned) uses.assigned.add(name);
  }

  /** Adds the names `n` and its children use to `uses`; a nested statement list is scanned on the way. */
  private collect(n: lua.Node, uses: NameUses): void {
    if ((n.type === "IndexExpression" || n.type === "MemberExpression") && n.base.type === "Identifier") uses.references.add(n.base.name);
    if (n.type === "CallExpression" && n.base.type === "Identifier" && n.base.name === "xadd" && n.arguments[0]?.type === "Identifier") uses.references.add(n.arguments[0].name);
    if (n.type === "AssignmentStatement") for (const v of n.variables) if (v.type === "Identifier") uses.assigned.add(v.name);
    for (const key of childKeysOf(n)) {
      const v = (n as unknown as Record<string, unknown>)[key];
      if (key === "body" && Array.isArray(v)) this.usesOf(v as lua.Statement[], uses);
      else if (Array.isArray(v)) {
        for (const x of v) if (isNode(x)) this.collect(x, uses);
      } else if (isNode(v)) this.collect(v, uses);
    }
  }
}
