/**
 * A fast-check arbitrary of random, structurally well-formed modules, built through the
 * Builder API: several functions (calling each other and helpers), maps, structs (named,
 * inline, nested, arrays), random CFGs with diamonds, loops and duplicate edges, phis whose
 * incoming pairs match the block's predecessors exactly, every opcode, and constants at the
 * extremes of each width.
 *
 * The modules are type-correct instruction by instruction but neither executable nor
 * dominance-correct (an operand may be any value of the right type in the function, which
 * also exercises forward references in the parser).
 *
 * Generation reads a "choice tape" of random numbers: fast-check shrinks the tape (shorter,
 * smaller numbers), which shrinks the module; an exhausted tape reads as zeros, which
 * always yields the smallest choice, so every tape builds a module.
 */
import fc from "fast-check";
import {
  arrayOf, Builder, C_INTS, C_VOID, cTypedefOf, defineStruct, i16, i32, i64, i8, MAP_KINDS, Module, OPCODE_NAMES, OPCODES, printModule, ptr, ptrType, REGIONS, voidType,
  type AtomicOpcode, type BasicBlock, type BinaryOpcode, type CastOpcode, type CompareOpcode, type CType, type DataType, type Function, type Instruction,
  type IntType, type OpShape, type StructType, type Type, type UnaryOpcode, type Value,
} from "@luabpf/ir";
import { CoreReloKind, HELPERS, type CoreReloKindName } from "@luabpf/platform";
import { Tape } from "./tape.js";

/** Constants worth trying at every width (the constant pool wraps them to the type). */
export const EXTREME_CONSTANTS: readonly bigint[] = [
  0n, 1n, -1n, 2n, -128n, 127n, 128n, 255n, -32768n, 32767n, 65535n,
  -(2n ** 31n), 2n ** 31n - 1n, 2n ** 32n - 1n, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 64n - 1n,
];

const INT_TYPES: readonly IntType[] = [i8, i16, i32, i64];
const SCALAR_TYPES: readonly Type[] = [...INT_TYPES, ptr, ...REGIONS.map((r) => ptrType(r))];
const SECTIONS = ["socket", "xdp", "tc", "kprobe/do_sys_open", "tracepoint/syscalls/sys_enter_open"];
const PROGRAM_TYPES = ["socket_filter", "xdp", "sched_cls", "kprobe", "tracepoint", "not an identifier"];
const LICENSES = ["GPL", "Dual BSD/GPL", 'weird "license"\n\t\\ü'];

const opcodesOfShape = (shape: OpShape) => OPCODE_NAMES.filter((o) => OPCODES[o].shape === shape);
const BINARY = opcodesOfShape("binary") as BinaryOpcode[];
const UNARY = opcodesOfShape("unary") as UnaryOpcode[];
const COMPARE = opcodesOfShape("compare") as CompareOpcode[];
const ATOMIC = opcodesOfShape("atomic") as AtomicOpcode[];

/** A constant: an extreme, a small number, or one of the tape's large constants. */
function constant(t: Tape): bigint {
  switch (t.below(3)) {
    case 0:
      return t.pick(EXTREME_CONSTANTS);
    case 1:
      return BigInt(t.below(21) - 10);
    default:
      return t.big();
  }
}

function genDataType(t: Tape, structs: readonly StructType[], depth: number, counter: { n: number }): DataType {
  switch (depth > 2 ? 0 : t.below(6)) {
    case 0:
    case 1:
      return t.pick(INT_TYPES);
    case 2:
      return arrayOf(genDataType(t, structs, depth + 1, counter), 1 + t.below(8));
    case 3:
      if (structs.length > 0) return t.pick(structs);
      return t.pick(INT_TYPES);
    default:
      return genStruct(t, structs, depth + 1, counter, false);
  }
}

function genStruct(t: Tape, structs: readonly StructType[], depth: number, counter: { n: number }, named: boolean): StructType {
  const k = counter.n++;
  const name = t.chance(0.15) ? `struct no. ${k}` : named ? `s${k}` : `inline${k}`;
  const fields: { name: string; type: DataType }[] = [];
  const n = t.below(5);
  for (let j = 0; j < n; j++) fields.push({ name: t.chance(0.1) ? `field-${j}` : `f${j}`, type: genDataType(t, structs, depth, counter) });
  return defineStruct(name, fields);
}

interface Signature {
  name: string;
  params: Type[];
  ret: Type;
}

/** Builds one module from a tape. Exported for tests that want a specific tape. */
export function buildModule(numbers: readonly number[], bigs: readonly bigint[]): Module {
  const t = new Tape(numbers, bigs);
  const m = new Module();
  m.license = t.pick(LICENSES);
  const counter = { n: 0 };
  for (let i = t.below(4); i > 0; i--) m.addStruct(genStruct(t, m.structs, 0, counter, true));
  for (let i = 0, n = t.below(4); i < n; i++) {
    m.addMap({
      name: t.chance(0.15) ? `map #${i}` : `map${i}`,
      kind: t.pick(MAP_KINDS),
      key: genDataType(t, m.structs, 0, counter),
      value: genDataType(t, m.structs, 0, counter),
      maxEntries: t.below(100000),
      flags: t.below(16),
    });
  }
  for (let i = 0, n = t.below(3); i < n; i++) {
    // CO-RE relocations name C types only by spelling in IR text, as the parser recreates them.
    const tag = t.pick(["task_struct", "sk_buff", "x"]);
    const type: CType = t.pick([
      { kind: "struct", tag, members: undefined, size: 0, align: 1, constants: new Map() } as CType,
      { kind: "union", tag, members: undefined, size: 0, align: 1, constants: new Map() } as CType,
      { kind: "enum", tag, underlying: C_INTS.int, values: undefined } as CType,
      cTypedefOf("pid_t", C_VOID),
    ]);
    const path = Array.from({ length: t.below(4) }, (_, k) => (k > 0 && t.chance(0.3) ? t.below(40) : t.pick(["comm", "real_parent", "a_b"])));
    m.addCoreRelocation({ name: t.chance(0.15) ? `core #${i}` : `core${i}`, kind: t.pick(Object.keys(CoreReloKind) as CoreReloKindName[]), type, path, value: BigInt.asIntN(64, constant(t)) });
  }
  const sigs: Signature[] = [];
  for (let i = 0, n = 1 + t.below(4); i < n; i++) {
    const params = Array.from({ length: t.below(6) }, () => t.pick(SCALAR_TYPES));
    sigs.push({ name: t.chance(0.1) ? `fn ${i}` : `f${i}`, params, ret: t.chance(0.2) ? voidType : t.pick(SCALAR_TYPES) });
  }
  const fns = sigs.map((s) => m.addFunction(s.name, s.params, s.ret));
  for (const fn of fns) new FunctionGen(t, m, fn, sigs).run();
  return m;
}

/** Fills one function body. */
class FunctionGen {
  private readonly b: Builder;
  /** Values by type (interned types, so the key is the type object). */
  private readonly pool = new Map<Type, Value[]>();
  private readonly blocks: BasicBlock[] = [];

  constructor(
    private readonly t: Tape,
    private readonly m: Module,
    private readonly fn: Function,
    private readonly sigs: readonly Signature[],
  ) {
    this.b = new Builder(fn);
  }

  private add(v: Value): void {
    if (v.type.kind === "void") return;
    let list = this.pool.get(v.type);
    if (!list) this.pool.set(v.type, (list = []));
    list.push(v);
  }

  /** A value of type `type`: one from the pool, or a constant. */
  private value(type: Type): Value {
    const list = this.pool.get(type);
    if (list && list.length > 0 && !this.t.chance(0.3)) return this.t.pick(list);
    return this.fn.constant(type, constant(this.t));
  }
  /**
   * A value assignable to a slot of type `type`: for the untagged `ptr`, sometimes a
   * pointer into a region (the assignability rule every reader of the opcode signatures
   * must agree on), otherwise a value of `type` itself.
   */
  private slotValue(type: Type): Value {
    if (type === ptr && this.t.chance(0.4)) return this.pointer();
    return this.value(type);
  }
  private intValue(): Value {
    return this.value(this.t.pick(INT_TYPES));
  }
  /** A pointer of any region (mostly from the pool). */
  private pointer(): Value {
    const ptrs = [...this.pool.entries()].filter(([ty]) => ty.kind === "ptr").flatMap(([, vs]) => vs);
    if (ptrs.length > 0 && !this.t.chance(0.1)) return this.t.pick(ptrs);
    return this.fn.constant(this.t.pick(SCALAR_TYPES.filter((ty) => ty.kind === "ptr")), constant(this.t));
  }

  run(): void {
    const { t, fn } = this;
    if (t.chance(0.5)) fn.program = { section: t.pick(SECTIONS), type: t.pick(PROGRAM_TYPES) };
    for (const p of fn.params) this.add(p);
    const n = 1 + t.below(8);
    for (let i = 0; i < n; i++) {
      // Sometimes skip ids or place the block out of id order in the layout.
      const after = this.blocks.length > 0 && t.chance(0.15) ? t.pick(this.blocks) : undefined;
      const id = t.chance(0.1) ? fn.blockIdBound + 1 + t.below(5) : undefined;
      this.blocks.push(fn.createBlock({ ...(after ? { after } : {}), ...(id !== undefined ? { id } : {}) }));
    }
    const phis: Instruction[] = [];
    for (const bb of this.blocks) {
      this.b.atEnd(bb);
      if (bb !== fn.entry) {
        for (let k = t.below(3); k > 0; k--) {
          const phi = this.b.phi(t.pick(SCALAR_TYPES), bb);
          phis.push(phi);
          this.add(phi);
        }
      }
      for (let k = t.below(9); k > 0; k--) this.instruction();
      this.terminator();
    }
    for (const phi of phis) for (const pred of phi.block!.preds) phi.addIncoming(this.slotValue(phi.type), pred);
  }

  private instruction(): void {
    const { t, b } = this;
    const shape = t.pick(SHAPES);
    let inst: Instruction | undefined;
    switch (shape) {
      case "binary": {
        const ty = t.pick(INT_TYPES);
        inst = b.binary(t.pick(BINARY), this.value(ty), this.value(ty));
        break;
      }
      case "unary": {
        const op = t.pick(UNARY);
        inst = b.unary(op, this.value(op === "bswap" ? t.pick([i16, i32, i64]) : t.pick(INT_TYPES)));
        break;
      }
      case "cast": {
        const op: CastOpcode = t.pick(["zext", "sext", "trunc"] as const);
        const a = t.below(3);
        const c = a + 1 + t.below(3 - a);
        const [from, to] = op === "trunc" ? [INT_TYPES[c]!, INT_TYPES[a]!] : [INT_TYPES[a]!, INT_TYPES[c]!];
        inst = b.cast(op, this.value(from), to);
        break;
      }
      case "compare": {
        const op = t.pick(COMPARE);
        if (t.chance(0.2)) inst = b.compare(op, this.pointer(), this.pointer());
        else {
          const ty = t.pick(INT_TYPES);
          inst = b.compare(op, this.value(ty), this.value(ty));
        }
        break;
      }
      case "select": {
        const ty = t.pick(SCALAR_TYPES);
        if (ty === ptr) inst = b.create("select", ptr, ptr, [this.intValue(), this.slotValue(ptr), this.slotValue(ptr)]);
        else inst = b.select(this.intValue(), this.value(ty), this.value(ty));
        break;
      }
      case "ptradd":
        inst = b.ptrAdd(this.pointer(), this.value(i64));
        break;
      case "copy": {
        const ty = t.pick(SCALAR_TYPES);
        inst = b.copy(this.slotValue(ty), ty);
        break;
      }
      case "load":
        inst = b.load(t.pick(SCALAR_TYPES), this.pointer(), t.below(1024) - 512);
        break;
      case "store": {
        const ty = t.pick(SCALAR_TYPES);
        if (ty === ptr) b.create("store", voidType, ptr, [this.slotValue(ptr), this.pointer()], { offset: t.below(64) });
        else b.store(this.value(ty), this.pointer(), t.below(64));
        break;
      }
      case "atomic":
        inst = b.atomic(t.pick(ATOMIC), this.pointer(), this.value(t.pick([i32, i64])), t.below(64));
        break;
      case "pktload":
        inst = b.pktLoad(t.pick([i8, i16, i32]), this.pointer(), this.value(i64), t.below(100));
        break;
      case "alloca":
        inst = b.alloca(1 + t.below(512), t.pick([1, 2, 4, 8]));
        break;
      case "call": {
        const args = (n: number, types?: readonly Type[]) =>
          Array.from({ length: n }, (_, i) => this.value(types?.[i] ?? t.pick(SCALAR_TYPES)));
        if (t.chance(0.5)) {
          const ret = t.chance(0.2) ? voidType : t.pick(SCALAR_TYPES);
          inst = b.callHelper(t.below(HELPERS.length), args(t.below(6)), ret);
        } else {
          const sig = t.pick(this.sigs);
          inst = b.callFunction(sig.name, args(sig.params.length, sig.params), sig.ret);
        }
        break;
      }
      case "mapref":
        if (this.m.maps.length > 0) inst = b.mapRef(t.pick(this.m.maps).name);
        break;
      case "coreval":
        if (this.m.coreRelocations.length > 0) inst = b.coreValue(t.pick(this.m.coreRelocations).name);
        break;
    }
    if (inst) this.add(inst);
  }

  private terminator(): void {
    const { t, b, fn } = this;
    switch (t.below(8)) {
      case 0:
      case 1:
        b.ret(fn.returnType.kind === "void" ? undefined : this.slotValue(fn.returnType));
        break;
      case 2:
      case 3:
        b.br(t.pick(this.blocks));
        break;
      case 7:
        b.unreachable();
        break;
      default:
        b.condBr(this.intValue(), t.pick(this.blocks), t.pick(this.blocks));
    }
  }
}

const SHAPES: readonly OpShape[] = ["binary", "unary", "cast", "compare", "select", "ptradd", "copy", "load", "store", "atomic", "pktload", "alloca", "call", "mapref", "coreval"];

/** Random well-formed modules (see the file comment). */
export function arbitraryModule(): fc.Arbitrary<Module> {
  return fc
    .tuple(
      fc.array(fc.nat({ max: 0x7fffffff }), { minLength: 0, maxLength: 1200, size: "max" }),
      fc.array(fc.oneof(fc.constantFrom(...EXTREME_CONSTANTS), fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n })), { maxLength: 20 }),
    )
    .map(([numbers, bigs]) => {
      const m = buildModule(numbers, bigs);
      // Counterexamples are reported as IR text rather than as a dump of the object graph.
      Object.defineProperty(m, fc.toStringMethod, { value: () => printModule(m) });
      return m;
    });
}
