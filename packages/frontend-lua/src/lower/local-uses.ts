/**
 * Which locals of a body are used after their declaration as references (`name[i]`,
 * `name.f`, `xadd(name, n)`) or assigned (`name = ...`): body.ts binds a scalar map
 * element as a reference, and a packet position as a run-time offset, only then.
 *
 * A `local` statement's name counts as used when a later statement of its list, or
 * anything nested in one, uses it. Those statements are exactly the text from the end of
 * the `local` statement to the end of the list's last statement, so the question is
 * positional: is there a use of the name at an offset in that span? The parser reports
 * each node as it makes it (parse.ts calls {@link LocalUses.record} from luaparse's
 * `onCreateNode`, while the node is fresh), and the uses are kept per name as sorted
 * offsets, searched by bisection — no walk over the tree. Names, not bindings: a
 * shadowing local counts as a use of the outer one, as it always has.
 */
import type * as lua from "luaparse";
import type { Span } from "../parse.js";

/** A span of the source: offsets `from` (inclusive) to `to` (exclusive). */
export interface Later {
  readonly from: number;
  readonly to: number;
}

export class LocalUses {
  /** By name: the offsets where it is used as a reference. */
  private readonly references = new Map<string, number[]>();
  /** By name: the offsets where it is assigned. */
  private readonly assigned = new Map<string, number[]>();
  /** Whether every offset list is sorted (they are recorded in the order the parser makes the nodes). */
  private sorted = true;

  /** Records the uses `node` makes itself (its children were recorded before it). */
  record(node: lua.Node): void {
    const at = (node as Span).rangeStart;
    if (at === undefined) return;
    switch (node.type) {
      case "IndexExpression":
      case "MemberExpression":
        if (node.base.type === "Identifier") this.add(this.references, node.base.name, at);
        return;
      case "CallExpression":
        if (node.base.type === "Identifier" && node.base.name === "xadd" && node.arguments[0]?.type === "Identifier") this.add(this.references, node.arguments[0].name, at);
        return;
      case "AssignmentStatement":
        for (const v of node.variables) if (v.type === "Identifier") this.add(this.assigned, v.name, at);
        return;
    }
  }

  /** Whether `name` is used as a reference in `later` (the statements after its `local`). */
  isReference(name: string, later: Later): boolean {
    return this.usedIn(this.references, name, later);
  }

  /** Whether `name` is assigned in `later` (the statements after its `local`). */
  isAssigned(name: string, later: Later): boolean {
    return this.usedIn(this.assigned, name, later);
  }

  private add(uses: Map<string, number[]>, name: string, at: number): void {
    const list = uses.get(name);
    if (list === undefined) uses.set(name, [at]);
    else {
      if (at < list[list.length - 1]!) this.sorted = false;
      list.push(at);
    }
  }

  private usedIn(uses: Map<string, number[]>, name: string, later: Later): boolean {
    if (!this.sorted) {
      for (const list of this.references.values()) list.sort((a, b) => a - b);
      for (const list of this.assigned.values()) list.sort((a, b) => a - b);
      this.sorted = true;
    }
    const list = uses.get(name);
    if (list === undefined) return false;
    // The first offset at or after `later.from`.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]! < later.from) lo = mid + 1;
      else hi = mid;
    }
    return lo < list.length && list[lo]! < later.to;
  }
}
