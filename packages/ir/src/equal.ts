/**
 * Structural equality of modules and functions, reporting the first difference in words.
 *
 * Used by the `parse(print(m)) == m` property test and by pass tests. It compares the
 * in-memory structures directly, never printed text, so that a printer bug cannot hide
 * a difference.
 *
 * What is compared: the license; structs (name, size, alignment, fields with names,
 * offsets and types); maps; functions in order with names, parameter types and ids,
 * return types and program metadata; blocks in layout order with their ids; instructions
 * in order with opcode, result type, type parameter, every attribute (offset, size,
 * align, helper, callee, map), the id of those that produce a value, operands (params and
 * instructions by id, constants by type and value), branch targets and phi incoming
 * blocks by id.
 *
 * Not compared: ids of constants and of instructions without a result (the text does
 * not carry them), predecessor lists (derived from the terminators), source locations
 * and parameter names. Cost: linear in the size of the modules.
 */
import { isConstant, type BasicBlock, type Function, type Instruction, type Value } from "./core.js";
import type { DataType, MapDecl, Module, StructType } from "./module.js";
import { printBlockRef, printInstruction, printName, printValue } from "./print.js";
import { typeToString, type Type } from "./types.js";

/** The outcome of a structural comparison: equal, or the first difference in words. */
export type EqualityResult = { equal: true } | { equal: false; difference: string };

const EQUAL: EqualityResult = Object.freeze({ equal: true });

/** Thrown internally to stop at the first difference. */
class Difference {
  constructor(readonly message: string) {}
}

function differ(message: string): never {
  throw new Difference(message);
}

function run(compare: () => void): EqualityResult {
  try {
    compare();
    return EQUAL;
  } catch (e) {
    if (e instanceof Difference) return { equal: false, difference: e.message };
    throw e;
  }
}

function show(x: unknown): string {
  if (x === undefined) return "(none)";
  return typeof x === "string" ? JSON.stringify(x) : String(x);
}

function same<T>(where: string, what: string, x: T, y: T): void {
  if (x !== y) differ(`${where}${what} ${show(x)} vs ${show(y)}`);
}

function sameType(where: string, what: string, x: Type, y: Type): void {
  if (x !== y) differ(`${where}${what} ${typeToString(x)} vs ${typeToString(y)}`);
}

function dataTypeToString(t: DataType): string {
  switch (t.kind) {
    case "int":
      return typeToString(t);
    case "array":
      return `[${t.count} x ${dataTypeToString(t.element)}]`;
    case "struct":
      return printName(t.name);
  }
}

function compareDataTypes(where: string, x: DataType, y: DataType): void {
  if (x.kind !== y.kind) differ(`${where}${dataTypeToString(x)} vs ${dataTypeToString(y)}`);
  if (x.kind === "int" || y.kind === "int") {
    if (x !== y) differ(`${where}${dataTypeToString(x)} vs ${dataTypeToString(y)}`);
    return;
  }
  if (x.kind === "array" && y.kind === "array") {
    same(where, "array length", x.count, y.count);
    same(where, "array size", x.size, y.size);
    compareDataTypes(`${where}element: `, x.element, y.element);
    return;
  }
  if (x.kind === "struct" && y.kind === "struct") compareStructs(where, x, y);
}

function compareStructs(where: string, x: StructType, y: StructType): void {
  same(where, "struct name", x.name, y.name);
  const w = `${where}struct ${printName(x.name)}: `;
  same(w, "size", x.size, y.size);
  same(w, "alignment", x.align, y.align);
  same(w, "field count", x.fields.length, y.fields.length);
  x.fields.forEach((fx, i) => {
    const fy = y.fields[i]!;
    same(w, `field ${i} name`, fx.name, fy.name);
    same(w, `field ${fx.name} offset`, fx.offset, fy.offset);
    compareDataTypes(`${w}field ${fx.name} type: `, fx.type, fy.type);
  });
}

function compareMaps(x: MapDecl, y: MapDecl): void {
  same("", "map name", x.name, y.name);
  const w = `map ${printName(x.name)}: `;
  same(w, "kind", x.kind, y.kind);
  compareDataTypes(`${w}key: `, x.key, y.key);
  compareDataTypes(`${w}value: `, x.value, y.value);
  same(w, "max_entries", x.maxEntries, y.maxEntries);
  same(w, "flags", x.flags, y.flags);
}

/** An operand: constants by type and value, everything else by kind and id. */
function compareValues(where: string, x: Value | undefined, y: Value | undefined): void {
  if (!x || !y) {
    if (x !== y) differ(`${where}${x ? printValue(x) : "(missing)"} vs ${y ? printValue(y) : "(missing)"}`);
    return;
  }
  if (x.kind !== y.kind) differ(`${where}${x.kind} ${printValue(x)} vs ${y.kind} ${printValue(y)}`);
  if (isConstant(x) && isConstant(y)) {
    if (x.type !== y.type || x.value !== y.value) {
      differ(`${where}constant ${typeToString(x.type)} ${x.value} vs ${typeToString(y.type)} ${y.value}`);
    }
    return;
  }
  if (x.id !== y.id) differ(`${where}${printValue(x)} vs ${printValue(y)}`);
}

function compareBlockRefs(where: string, what: string, x: readonly BasicBlock[], y: readonly BasicBlock[]): void {
  same(where, `${what} count`, x.length, y.length);
  x.forEach((bx, i) => {
    const by = y[i]!;
    if (bx.id !== by.id) differ(`${where}${what} ${i}: ${printBlockRef(bx)} vs ${printBlockRef(by)}`);
  });
}

function compareInstructions(where: string, x: Instruction, y: Instruction): void {
  const w = `${where}\`${printInstruction(x)}\` vs \`${printInstruction(y)}\`: `;
  same(w, "opcode", x.opcode, y.opcode);
  sameType(w, "result type", x.type, y.type);
  sameType(w, "type parameter", x.typeParam, y.typeParam);
  if (x.type.kind !== "void") same(w, "result id", x.id, y.id);
  same(w, "offset", x.offset, y.offset);
  same(w, "size", x.size, y.size);
  same(w, "align", x.align, y.align);
  same(w, "helper", x.helper, y.helper);
  same(w, "callee", x.callee, y.callee);
  same(w, "map", x.map, y.map);
  same(w, "operand count", x.operands.length, y.operands.length);
  x.operands.forEach((ox, i) => compareValues(`${w}operand ${i}: `, ox, y.operands[i]));
  compareBlockRefs(w, "branch target", x.targets, y.targets);
  compareBlockRefs(w, "phi incoming block", x.incoming, y.incoming);
}

function compareBlocks(where: string, x: BasicBlock, y: BasicBlock): void {
  const w = `${where}${printBlockRef(x)}: `;
  let ix = x.first;
  let iy = y.first;
  for (let n = 0; ix || iy; n++, ix = ix?.next, iy = iy?.next) {
    if (!ix || !iy) {
      differ(`${w}instruction ${n}: ${ix ? `\`${printInstruction(ix)}\`` : "(end of block)"} vs ${iy ? `\`${printInstruction(iy)}\`` : "(end of block)"}`);
    }
    compareInstructions(`${w}instruction ${n} `, ix, iy);
  }
}

function compareFunctionBodies(x: Function, y: Function): void {
  same("", "function name", x.name, y.name);
  const w = `function ${printName(x.name)}: `;
  sameType(w, "return type", x.returnType, y.returnType);
  same(w, "parameter count", x.params.length, y.params.length);
  x.params.forEach((px, i) => {
    const py = y.params[i]!;
    sameType(w, `parameter ${i} type`, px.type, py.type);
    same(w, `parameter ${i} id`, px.id, py.id);
  });
  same(w, "program section", x.program?.section, y.program?.section);
  same(w, "program type", x.program?.type, y.program?.type);
  same(w, "block count", x.blocks.length, y.blocks.length);
  x.blocks.forEach((bx, i) => {
    const by = y.blocks[i]!;
    if (bx.id !== by.id) differ(`${w}block ${i}: ${printBlockRef(bx)} vs ${printBlockRef(by)}`);
    compareBlocks(w, bx, by);
  });
}

/** Compares two functions structurally (see the file comment for what is compared). */
export function functionsEqual(a: Function, b: Function): EqualityResult {
  return run(() => compareFunctionBodies(a, b));
}

/** Compares two data types (ints, arrays, structs with their fields) structurally. */
export function dataTypesEqual(a: DataType, b: DataType): EqualityResult {
  return run(() => compareDataTypes("", a, b));
}

/**
 * Compares two modules structurally and reports the first difference, e.g.
 * ``function @f: @bb1: instruction 0 `%3 = add i64 %1, 2` vs `%3 = sub i64 %1, 2`: opcode "add" vs "sub"``.
 */
export function modulesEqual(a: Module, b: Module): EqualityResult {
  return run(() => {
    same("", "license", a.license, b.license);
    same("", "struct count", a.structs.length, b.structs.length);
    a.structs.forEach((sx, i) => compareStructs(`struct ${i}: `, sx, b.structs[i]!));
    same("", "map count", a.maps.length, b.maps.length);
    a.maps.forEach((mx, i) => compareMaps(mx, b.maps[i]!));
    same("", "function count", a.functions.length, b.functions.length);
    a.functions.forEach((fx, i) => compareFunctionBodies(fx, b.functions[i]!));
  });
}
