/**
 * C types for the `ffi` module: the type model (types.ts), record layout as clang lays
 * out records for `-target bpf` (layout.ts), the declaration and type-name parser
 * (lexer.ts, parser.ts) and scopes of C names (scope.ts).
 */
export * from "./types.js";
export { layoutRecord, type DeclaredMember, type RecordAttributes, type RecordLayout } from "./layout.js";
export { CDeclError } from "./lexer.js";
export { evaluateCConstant, parseCDeclarations, parseCTypeName } from "./parser.js";
export { builtinCScope, CScope, type CConstant, type CTagged } from "./scope.js";
