/**
 * The shape of luaparse's syntax tree, as a table: for each node type, the properties that
 * hold child nodes (a node, an array of nodes, or null), in the order luaparse's node
 * factories create them (`luaparse.ast`). Walks over the tree (the depth check's way down
 * to a node too deep, nesting.ts; the tests' walks) read it instead of enumerating every
 * property of every node, which also visits strings, numbers and ranges.
 * test/syntax.test.ts checks the table against the trees luaparse builds.
 */
import type * as lua from "luaparse";

/** Child-holding properties by node type. */
export const CHILD_KEYS: ReadonlyMap<string, readonly string[]> = new Map(
  Object.entries({
  Chunk: ["body"],
  LabelStatement: ["label"],
  BreakStatement: [],
  GotoStatement: ["label"],
  ReturnStatement: ["arguments"],
  IfStatement: ["clauses"],
  IfClause: ["condition", "body"],
  ElseifClause: ["condition", "body"],
  ElseClause: ["body"],
  WhileStatement: ["condition", "body"],
  DoStatement: ["body"],
  RepeatStatement: ["condition", "body"],
  LocalStatement: ["variables", "init"],
  AssignmentStatement: ["variables", "init"],
  CallStatement: ["expression"],
  FunctionDeclaration: ["identifier", "parameters", "body"],
  ForNumericStatement: ["variable", "start", "end", "step", "body"],
  ForGenericStatement: ["variables", "iterators", "body"],
  Identifier: [],
  StringLiteral: [],
  NumericLiteral: [],
  BooleanLiteral: [],
  NilLiteral: [],
  VarargLiteral: [],
  TableKey: ["key", "value"],
  TableKeyString: ["key", "value"],
  TableValue: ["value"],
  TableConstructorExpression: ["fields"],
  BinaryExpression: ["left", "right"],
  LogicalExpression: ["left", "right"],
  UnaryExpression: ["argument"],
  MemberExpression: ["identifier", "base"],
  IndexExpression: ["base", "index"],
  CallExpression: ["base", "arguments"],
  TableCallExpression: ["base", "arguments"],
  StringCallExpression: ["base", "argument"],
  Comment: [],
  }),
);

/** Properties of a node that say where it is (luaparse's, and parse.ts's Span). */
export const LOCATION_KEYS: ReadonlySet<string> = new Set(["loc", "range", "rangeStart", "rangeEnd"]);

/** Whether `v` is a syntax node (an object with a string `type`). */
export function isNode(v: unknown): v is lua.Node {
  return typeof v === "object" && v !== null && typeof (v as { type?: unknown }).type === "string";
}

/**
 * The child-holding properties of `node`: its type's row of {@link CHILD_KEYS}, or, for a
 * type the table does not know, every property but the location ones.
 */
export function childKeysOf(node: lua.Node): readonly string[] {
  return CHILD_KEYS.get(node.type) ?? Object.keys(node).filter((k) => !LOCATION_KEYS.has(k));
}
