/**
 * C types for the `ffi` module: the type model (types.ts), record layout as clang lays
 * out records for `-target bpf` (layout.ts), the declaration and type-name parser
 * (lexer.ts, parser.ts) and scopes of C names (scope.ts).
 */
export { C_INTS, C_VOID, cAlignof, cArrayOf, cDeclarator, cFindMember, cIsComplete, cMemberNames, cPointerTo, cResolve, cScalarInt, cSizeof, cTypedefOf, describeCType, type CArray, type CEnum, type CFunction, type CInt, type CMember, type CPointer, type CRecord, type CType, type CTypedef, type CVoid, type FoundMember } from "@luabpf/ir";
export { layoutRecord, type DeclaredMember, type RecordAttributes, type RecordLayout } from "./layout.js";
export { CDeclError } from "./lexer.js";
export { evaluateCConstant, parseCDeclarations, parseCTypeName } from "./parser.js";
export { builtinCScope, CScope, type CConstant, type CTagged } from "./scope.js";
