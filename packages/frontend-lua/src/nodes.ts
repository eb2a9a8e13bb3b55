/**
 * The syntax nodes parse.ts has luaparse make: luaparse's own node factories
 * (`luaparse.ast`, which luaparse documents as replaceable), rewritten for a tree that is
 * held while the program bodies are lowered — the largest live set of a huge compile:
 *
 * - Each node's object literal already has the properties parse.ts sets on it afterwards
 *   (`range`, which luaparse sets and parse.ts clears, `rangeStart`, `rangeEnd`): a property
 *   added to an object literal after it is made moves V8 to an out-of-line property array.
 * - Node lists (a block's statements, a call's arguments, an assignment's targets and
 *   values) are copied to arrays of their exact length: luaparse builds them by `push`
 *   from `[]`, which leaves room for 17 elements (~150 bytes for a one-element list).
 * - Every node with children has its `height`, the number of nodes on the longest path
 *   down from it (a node without children, whose height is 1, has no such property): the
 *   depth check of nesting.ts reads the root's instead of walking the tree after parsing.
 *
 * Same types, properties (in luaparse's order) and values as luaparse's factories
 * otherwise; test/syntax.test.ts compares the trees.
 */
import luaparse from "luaparse";

type Factories = Record<string, unknown>;

/** The property of nodes with children: the number of nodes on the longest path down from the node. */
export type Height = { height?: number };

/** The height of a child: 0 for none (`null`), 1 for a node without children. */
function heightOf(node: unknown): number {
  return node === null || node === undefined ? 0 : ((node as Height).height ?? 1);
}

function heightOfList(nodes: readonly unknown[]): number {
  let h = 0;
  for (let i = 0; i < nodes.length; i++) {
    const c = heightOf(nodes[i]);
    if (c > h) h = c;
  }
  return h;
}

/** `list` copied to an array of its exact length (luaparse's have room for more). */
function exact<T>(list: readonly T[]): T[] {
  return list.slice();
}

/** What @types/luaparse does not declare of luaparse's exports. */
const luaparseExports = luaparse as unknown as { ast: Factories; tokenTypes: Record<string, number> };

const { StringLiteral, NumericLiteral, BooleanLiteral, NilLiteral } = luaparseExports.tokenTypes;

/** The factories, by luaparse's names (luaparse.ast). */
const FACTORIES = {
  labelStatement: (label: unknown) => ({ type: "LabelStatement", label, range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + heightOf(label) }),
  breakStatement: () => ({ type: "BreakStatement", range: undefined, rangeStart: 0, rangeEnd: 0 }),
  gotoStatement: (label: unknown) => ({ type: "GotoStatement", label, range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + heightOf(label) }),
  returnStatement: (args: unknown[]) => ({ type: "ReturnStatement", arguments: exact(args), range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + heightOfList(args) }),
  ifStatement: (clauses: unknown[]) => ({ type: "IfStatement", clauses: exact(clauses), range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + heightOfList(clauses) }),
  ifClause: (condition: unknown, body: unknown[]) => ({ type: "IfClause", condition, body: exact(body), range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + Math.max(heightOf(condition), heightOfList(body)) }),
  elseifClause: (condition: unknown, body: unknown[]) => ({ type: "ElseifClause", condition, body: exact(body), range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + Math.max(heightOf(condition), heightOfList(body)) }),
  elseClause: (body: unknown[]) => ({ type: "ElseClause", body: exact(body), range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + heightOfList(body) }),
  whileStatement: (condition: unknown, body: unknown[]) => ({ type: "WhileStatement", condition, body: exact(body), range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + Math.max(heightOf(condition), heightOfList(body)) }),
  doStatement: (body: unknown[]) => ({ type: "DoStatement", body: exact(body), range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + heightOfList(body) }),
  repeatStatement: (condition: unknown, body: unknown[]) => ({ type: "RepeatStatement", condition, body: exact(body), range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + Math.max(heightOf(condition), heightOfList(body)) }),
  localStatement: (variables: unknown[], init: unknown[]) => ({ type: "LocalStatement", variables: exact(variables), init: exact(init), range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + Math.max(heightOfList(variables), heightOfList(init)) }),
  assignmentStatement: (variables: unknown[], init: unknown[]) => ({ type: "AssignmentStatement", variables: exact(variables), init: exact(init), range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + Math.max(heightOfList(variables), heightOfList(init)) }),
  callStatement: (expression: unknown) => ({ type: "CallStatement", expression, range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + heightOf(expression) }),
  functionStatement: (identifier: unknown, parameters: unknown[], isLocal: boolean, body: unknown[]) => ({
    type: "FunctionDeclaration",
    identifier,
    isLocal,
    parameters: exact(parameters),
    body: exact(body),
    range: undefined,
    rangeStart: 0,
    rangeEnd: 0,
    height: 1 + Math.max(heightOf(identifier), heightOfList(parameters), heightOfList(body)),
  }),
  forNumericStatement: (variable: unknown, start: unknown, end: unknown, step: unknown, body: unknown[]) => ({
    type: "ForNumericStatement",
    variable,
    start,
    end,
    step,
    body: exact(body),
    range: undefined,
    rangeStart: 0,
    rangeEnd: 0,
    height: 1 + Math.max(heightOf(variable), heightOf(start), heightOf(end), heightOf(step), heightOfList(body)),
  }),
  forGenericStatement: (variables: unknown[], iterators: unknown[], body: unknown[]) => ({
    type: "ForGenericStatement",
    variables: exact(variables),
    iterators: exact(iterators),
    body: exact(body),
    range: undefined,
    rangeStart: 0,
    rangeEnd: 0,
    height: 1 + Math.max(heightOfList(variables), heightOfList(iterators), heightOfList(body)),
  }),
  chunk: (body: unknown[]) => ({ type: "Chunk", body: exact(body), range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + heightOfList(body) }),
  identifier: (name: string) => ({ type: "Identifier", name, range: undefined, rangeStart: 0, rangeEnd: 0 }),
  literal: (type: number, value: unknown, raw: string) => ({
    type: type === StringLiteral ? "StringLiteral" : type === NumericLiteral ? "NumericLiteral" : type === BooleanLiteral ? "BooleanLiteral" : type === NilLiteral ? "NilLiteral" : "VarargLiteral",
    value,
    raw,
    range: undefined,
    rangeStart: 0,
    rangeEnd: 0,
  }),
  tableKey: (key: unknown, value: unknown) => ({ type: "TableKey", key, value, range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + Math.max(heightOf(key), heightOf(value)) }),
  tableKeyString: (key: unknown, value: unknown) => ({ type: "TableKeyString", key, value, range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + Math.max(heightOf(key), heightOf(value)) }),
  tableValue: (value: unknown) => ({ type: "TableValue", value, range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + heightOf(value) }),
  tableConstructorExpression: (fields: unknown[]) => ({ type: "TableConstructorExpression", fields: exact(fields), range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + heightOfList(fields) }),
  binaryExpression: (operator: string, left: unknown, right: unknown) => ({
    type: operator === "and" || operator === "or" ? "LogicalExpression" : "BinaryExpression",
    operator,
    left,
    right,
    range: undefined,
    rangeStart: 0,
    rangeEnd: 0,
    height: 1 + Math.max(heightOf(left), heightOf(right)),
  }),
  unaryExpression: (operator: string, argument: unknown) => ({ type: "UnaryExpression", operator, argument, range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + heightOf(argument) }),
  memberExpression: (base: unknown, indexer: string, identifier: unknown) => ({
    type: "MemberExpression",
    indexer,
    identifier,
    base,
    range: undefined,
    rangeStart: 0,
    rangeEnd: 0,
    height: 1 + Math.max(heightOf(identifier), heightOf(base)),
  }),
  indexExpression: (base: unknown, index: unknown) => ({ type: "IndexExpression", base, index, range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + Math.max(heightOf(base), heightOf(index)) }),
  callExpression: (base: unknown, args: unknown[]) => ({ type: "CallExpression", base, arguments: exact(args), range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + Math.max(heightOf(base), heightOfList(args)) }),
  tableCallExpression: (base: unknown, args: unknown) => ({ type: "TableCallExpression", base, arguments: args, range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + Math.max(heightOf(base), heightOf(args)) }),
  stringCallExpression: (base: unknown, argument: unknown) => ({ type: "StringCallExpression", base, argument, range: undefined, rangeStart: 0, rangeEnd: 0, height: 1 + Math.max(heightOf(base), heightOf(argument)) }),
  comment: (value: string, raw: string) => ({ type: "Comment", value, raw, range: undefined, rangeStart: 0, rangeEnd: 0 }),
};

/** Whether luaparse's factories make this module's nodes (during {@link withCompactNodes}). */
let compact = false;

// Installed once: each of luaparse's factories makes this module's node while `compact` is
// set and luaparse's own otherwise. (Swapping the functions in and out per parse would
// make V8 throw away luaparse's optimised code, which treats them as constants.)
{
  const ast = luaparseExports.ast;
  type Factory = (a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown) => unknown;
  // Five parameters: the most a factory takes (forNumericStatement); no rest array per node.
  for (const [name, ours] of Object.entries(FACTORIES) as [string, Factory][]) {
    const theirs = ast[name] as Factory;
    ast[name] = (a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown) => (compact ? ours(a, b, c, d, e) : theirs(a, b, c, d, e));
  }
}

/**
 * Runs `parse` with luaparse making its nodes through this module's factories (another
 * user of luaparse in the process, such as the check package, gets luaparse's own trees).
 */
export function withCompactNodes<T>(parse: () => T): T {
  compact = true;
  try {
    return parse();
  } finally {
    compact = false;
  }
}
