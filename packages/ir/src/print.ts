/**
 * The IR printer: modules, functions and instructions as text (grammar in docs/ir.md).
 *
 * The instruction syntax is derived from the opcode table's `shape` field, so an opcode
 * added with an existing shape prints (and parses, see parse.ts) without touching this
 * file. Ids print as they are (`%12`, `@bb3`), so that `parse(print(m))` keeps them.
 *
 * Constants print as signed decimals. Their type is implied by the operand position
 * ({@link constantTypeAt}); a constant whose type differs from the implied one carries
 * its type in front (`i32 7`, `ptr.stack 0`), so that printing never loses information
 * about operands.
 *
 * The printer never throws on malformed IR (a missing operand prints as `<missing>`):
 * the verifier uses it to show the context of the errors it finds. Cost: linear in the
 * size of the output.
 */
import { isConstant, type BasicBlock, type Function, type Instruction, type Value } from "./core.js";
import { describeCType } from "./ctypes.js";
import type { CoreAccessStep, CoreRelocation, DataType, MapDecl, Module, StructType } from "./module.js";
import { OPCODES, type Opcode } from "./opcodes.js";
import { typeToString, type Type } from "./types.js";
import { impliedConstantType } from "./typing.js";

/**
 * The type a constant operand has when its type is not written: the rule of operand
 * `index` of opcode `op` with type parameter `typeParam` (the signature column of the
 * opcode table, typing.ts). Pointer positions imply the untagged `ptr`, integer conditions
 * and call arguments imply `i64`.
 */
export function constantTypeAt(op: Opcode, typeParam: Type, index: number): Type {
  return impliedConstantType(op, typeParam, index);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** A global name token: `@name`, or `@"..."` when the name is not an identifier. */
export function printName(name: string | undefined): string {
  if (name === undefined) return "@<missing>";
  return IDENTIFIER.test(name) ? `@${name}` : `@${JSON.stringify(name)}`;
}

/** A block reference: `@bb3`. */
export function printBlockRef(bb: BasicBlock | undefined): string {
  return bb ? `@bb${bb.id}` : "@<missing>";
}

/** The operand token of a value: `%id` for params and instructions, the decimal for constants. */
export function printValue(v: Value): string {
  return isConstant(v) ? String(v.value) : `%${v.id}`;
}

/** An operand in position `rule`: like {@link printValue}, typed when the constant's type is not the implied one. */
function printOperand(v: Value | undefined, rule: Type): string {
  if (!v) return "<missing>";
  if (v.kind !== "constant" || v.type === rule) return printValue(v);
  return `${typeToString(v.type)} ${printValue(v)}`;
}

/** One instruction on one line, without indentation: `%3 = add i64 %1, 5`. */
export function printInstruction(inst: Instruction): string {
  const shape = OPCODES[inst.opcode].shape;
  const T = typeToString(inst.typeParam);
  const opc = inst.opcode;
  const op = (i: number): string => printOperand(inst.operands[i], constantTypeAt(opc, inst.typeParam, i));
  const ops = (n: number): string => Array.from({ length: n }, (_, i) => op(i)).join(", ");
  let body: string;
  switch (shape) {
    case "binary":
    case "compare":
    case "ptradd":
      body = `${opc} ${T} ${ops(2)}`;
      break;
    case "unary":
    case "copy":
      body = `${opc} ${T} ${op(0)}`;
      break;
    case "cast":
      body = `${opc} ${T} ${op(0)} to ${typeToString(inst.type)}`;
      break;
    case "select":
      body = `${opc} ${T} ${ops(3)}`;
      break;
    case "load":
      body = `${opc} ${T} ${op(0)}, ${inst.offset}`;
      break;
    case "store":
    case "atomic":
    case "pktload":
      body = `${opc} ${T} ${ops(2)}, ${inst.offset}`;
      break;
    case "alloca":
      body = `${opc} ${inst.size}, align ${inst.align}`;
      break;
    case "call": {
      const target = inst.callee !== undefined ? printName(inst.callee) : `helper ${inst.helper ?? "<missing>"} `;
      body = `${opc} ${T} ${target}(${ops(inst.operands.length)})`;
      break;
    }
    case "mapref":
      body = `${opc} ${printName(inst.map)}`;
      break;
    case "coreval":
      body = `${opc} ${printName(inst.core)}`;
      break;
    case "phi": {
      const n = Math.max(inst.operands.length, inst.incoming.length);
      const pairs = Array.from({ length: n }, (_, i) => `[${op(i)}, ${printBlockRef(inst.incoming[i])}]`);
      body = n > 0 ? `${opc} ${T} ${pairs.join(", ")}` : `${opc} ${T}`;
      break;
    }
    case "br":
      body = `${opc} ${printBlockRef(inst.targets[0])}`;
      break;
    case "condbr":
      body = `${opc} ${op(0)}, ${printBlockRef(inst.targets[0])}, ${printBlockRef(inst.targets[1])}`;
      break;
    case "ret":
      body = inst.operands.length > 0 ? `${opc} ${ops(inst.operands.length)}` : opc;
      break;
    case "unreachable":
      body = opc;
      break;
  }
  return inst.type.kind === "void" ? body : `%${inst.id} = ${body}`;
}

/** The header line of a function, without the opening brace. */
export function printFunctionHeader(fn: Function): string {
  const params = fn.params.map((p) => `${typeToString(p.type)} %${p.id}`).join(", ");
  let s = `func ${printName(fn.name)}(${params}) -> ${typeToString(fn.returnType)}`;
  if (fn.program) {
    const t = fn.program.type;
    s += ` section ${JSON.stringify(fn.program.section)} type ${IDENTIFIER.test(t) ? t : JSON.stringify(t)}`;
  }
  return s;
}

/** A block: its label line and its instructions, indented by two spaces. */
export function printBlock(bb: BasicBlock): string {
  let s = `${printBlockRef(bb)}:\n`;
  for (let i = bb.first; i; i = i.next) s += `  ${printInstruction(i)}\n`;
  return s;
}

/** A function definition, ending with a newline. */
export function printFunction(fn: Function): string {
  let s = `${printFunctionHeader(fn)} {\n`;
  for (const bb of fn.blocks) s += printBlock(bb);
  return s + "}\n";
}

function printFieldName(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

/**
 * A data type. A struct prints as a reference `@name` when it is one of the module's
 * struct declarations already printed (`defined`), otherwise inline as `@name { ... }`.
 */
function printDataType(t: DataType, defined: ReadonlySet<StructType>): string {
  switch (t.kind) {
    case "int":
      return typeToString(t);
    case "array":
      return `[${t.count} x ${printDataType(t.element, defined)}]`;
    case "struct":
      return defined.has(t) ? printName(t.name) : `${printName(t.name)} ${printStructBody(t, defined)}`;
  }
}

function printStructBody(s: StructType, defined: ReadonlySet<StructType>): string {
  if (s.fields.length === 0) return "{ }";
  return `{ ${s.fields.map((f) => `${printDataType(f.type, defined)} ${printFieldName(f.name)}`).join(", ")} }`;
}

function printMap(m: MapDecl, defined: ReadonlySet<StructType>): string {
  return (
    `map ${printName(m.name)} : ${m.kind}, key ${printDataType(m.key, defined)}, value ${printDataType(m.value, defined)}, ` +
    `max_entries ${m.maxEntries}, flags ${m.flags}`
  );
}

/** A CO-RE access path as C writes it: `real_parent.tgid`, `comm[3]`. */
export function printCorePath(path: readonly CoreAccessStep[]): string {
  return path.map((step, i) => (typeof step === "number" ? `[${step}]` : i === 0 ? step : `.${step}`)).join("");
}

function printCoreRelocation(r: CoreRelocation): string {
  const path = r.path.length > 0 ? `, access ${JSON.stringify(printCorePath(r.path))}` : "";
  return `core ${printName(r.name)} : ${r.kind}, type ${JSON.stringify(describeCType(r.type))}${path}, value ${r.value}`;
}

/** A whole module: license, structs, maps, CO-RE relocations, then functions, separated by blank lines. */
export function printModule(m: Module): string {
  let s = `license ${JSON.stringify(m.license)}\n`;
  const defined = new Set<StructType>();
  if (m.structs.length > 0) {
    s += "\n";
    for (const st of m.structs) {
      s += `struct ${printName(st.name)} ${printStructBody(st, defined)}\n`;
      defined.add(st);
    }
  }
  if (m.maps.length > 0) {
    s += "\n";
    for (const map of m.maps) s += printMap(map, defined) + "\n";
  }
  if (m.coreRelocations.length > 0) {
    s += "\n";
    for (const r of m.coreRelocations) s += printCoreRelocation(r) + "\n";
  }
  for (const fn of m.functions) s += "\n" + printFunction(fn);
  return s;
}
