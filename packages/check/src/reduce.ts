/**
 * A test-case reducer for Lua programs: greedy, syntax-aware delta debugging (in the spirit
 * of C-Reduce and Perses): it repeatedly tries smaller variants of the program — a statement
 * removed, a loop or `if` replaced by one of its bodies, an expression replaced by one of
 * its operands or by a small literal — and keeps a variant whenever `test` says it still
 * shows the failure. Variants are made by splicing the source along luaparse's ranges, so
 * the program keeps its layout. Stops at a fixpoint, after `maxTests` tests or at `deadline`.
 *
 * Cost: each round parses once and tries candidates largest first; a kept candidate starts
 * a new round. Programs of the generator's size reduce in tens to a few hundred tests.
 */
import luaparse from "luaparse";
import type * as lua from "luaparse";

type Ranged = lua.Node & { range: [number, number] };

/** One way to make the program smaller: replace `[start, end)` by `text`. */
interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export interface ReduceOptions {
  /** Give up after this many calls of `test` (default 2,000). */
  readonly maxTests?: number;
  /** Give up when `Date.now()` passes this (default: no time limit); a test started before it finishes. */
  readonly deadline?: number;
}

export interface ReduceResult {
  readonly source: string;
  /** Calls of `test`. */
  readonly tests: number;
  /** Whether the reduction stopped on its test or time budget before a fixpoint. */
  readonly stopped: boolean;
}

/**
 * Shrinks `source` while `test(candidate)` holds (`test(source)` must hold). The result is
 * 1-minimal with respect to the edits above when the budget allows.
 */
export async function reduceProgram(source: string, test: (candidate: string) => boolean | Promise<boolean>, options: ReduceOptions = {}): Promise<ReduceResult> {
  const maxTests = options.maxTests ?? 2000;
  const deadline = options.deadline ?? Infinity;
  const outOfBudget = (): boolean => tests >= maxTests || Date.now() > deadline;
  let current = source;
  let tests = 0;
  let progress = true;
  const seen = new Set<string>([current]);
  while (progress && !outOfBudget()) {
    progress = false;
    const edits = candidateEdits(current);
    for (const e of edits) {
      const candidate = current.slice(0, e.start) + e.text + current.slice(e.end);
      if (candidate.length >= current.length || seen.has(candidate)) continue;
      seen.add(candidate);
      tests++;
      if (await test(candidate)) {
        current = candidate;
        progress = true;
        break;
      }
      if (outOfBudget()) break;
    }
  }
  const stopped = progress && outOfBudget();
  return { source: stopped ? current : await tidy(current, test), tests, stopped };
}

/** Drops blank lines if the failure survives (cosmetic). */
async function tidy(source: string, test: (candidate: string) => boolean | Promise<boolean>): Promise<string> {
  const compact = source.replace(/\n\s*\n/g, "\n");
  return compact !== source && (await test(compact)) ? compact : source;
}

function isRanged(v: unknown): v is Ranged {
  return typeof v === "object" && v !== null && typeof (v as { type?: unknown }).type === "string" && Array.isArray((v as { range?: unknown }).range);
}

/** Every edit of `source`, the ones removing the most text first. */
export function candidateEdits(source: string): Edit[] {
  let chunk: Ranged;
  try {
    chunk = luaparse.parse(source, { ranges: true, luaVersion: "5.3", encodingMode: "pseudo-latin1" }) as unknown as Ranged;
  } catch {
    return [];
  }
  const edits: Edit[] = [];
  const text = (n: lua.Node): string => source.slice((n as Ranged).range[0], (n as Ranged).range[1]);
  const bodyText = (body: readonly lua.Statement[]): string => (body.length === 0 ? "" : source.slice((body[0] as Ranged).range[0], (body[body.length - 1] as Ranged).range[1]));
  const stack: Ranged[] = [chunk];
  /** Calls used as statements (`xadd(...)`): they cannot become `0`, which is no statement. */
  const statementCalls = new Set<lua.Node>();
  while (stack.length > 0) {
    const node = stack.pop()!;
    const [start, end] = node.range;
    // Statements of a block can go.
    for (const key of ["body"] as const) {
      const body = (node as unknown as Record<string, unknown>)[key];
      if (Array.isArray(body)) for (const s of body) if (isRanged(s)) edits.push({ start: s.range[0], end: s.range[1], text: "" });
    }
    switch (node.type) {
      case "CallStatement":
        statementCalls.add(node.expression);
        break;
      case "IfStatement":
        for (const clause of node.clauses) edits.push({ start, end, text: `do ${bodyText(clause.body)} end` });
        if (node.clauses.length > 1) {
          const last = node.clauses[node.clauses.length - 1] as Ranged;
          edits.push({ start: last.range[0], end: last.range[1], text: "" });
        }
        break;
      case "WhileStatement":
      case "RepeatStatement":
      case "ForNumericStatement":
        edits.push({ start, end, text: `do ${bodyText(node.body)} end` });
        break;
      case "BinaryExpression":
      case "LogicalExpression":
        edits.push({ start, end, text: `(${text(node.left)})` }, { start, end, text: `(${text(node.right)})` });
        break;
      case "UnaryExpression":
        edits.push({ start, end, text: `(${text(node.argument)})` });
        break;
      case "NumericLiteral":
        if (node.raw !== "0" && node.raw !== "1") edits.push({ start, end, text: "0" }, { start, end, text: "1" });
        break;
      case "MemberExpression":
      case "IndexExpression":
      case "CallExpression":
        if (!statementCalls.has(node)) edits.push({ start, end, text: "0" });
        break;
      default:
        break;
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === "range" || key === "loc") continue;
      if (Array.isArray(value)) {
        for (const v of value) if (isRanged(v)) stack.push(v);
      } else if (isRanged(value)) stack.push(value);
    }
  }
  return edits.sort((a, b) => b.end - b.start - (a.end - a.start) || a.start - b.start);
}
