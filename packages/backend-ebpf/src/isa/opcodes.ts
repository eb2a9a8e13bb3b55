// The eBPF instruction set as one declarative table.
//
// The opcode byte is split the way the kernel's instruction-set.rst describes it:
//   ALU/ALU64/JMP/JMP32:  op (4 bits) | source (1 bit: K = imm, X = src register) | class (3 bits)
//   LD/LDX/ST/STX:        mode (3 bits) | size (2 bits) | class (3 bits)
// A few operations are further selected by the `off` field (sdiv/smod: off=1, movsx: off=8/16/32,
// cpu v4), by `imm` (byte swaps: width; atomics: operation) or by `src` (lddw pseudo kinds).
//
// The field tables (classes, sizes, modes and jump op codes from @luabpf/platform's isa.ts; the
// ALU and atomic ops below) are expanded once into
// INSN_FORMS: one row per distinct instruction form with its opcode byte, the field values that
// select it, and an assembly template in the syntax `llvm-objdump -d` prints. The encoder's
// validation, the decoder, the printer and the parser all read INSN_FORMS and nothing else, in the
// manner of cilium/ebpf's asm/opcode.go and LLVM's AsmString.

import { ACCESS_SIZES, CallSrc, InsnClass, JmpOpCode, LDDW_OPCODE, Mode, PseudoSrc, Source, type InsnClassName } from "@luabpf/platform";

/**
 * The opcode byte's fields (classes, source bit, modes, size codes, jump op codes) are the
 * platform table's (@luabpf/platform isa.ts), shared with the ELF validator and the loader;
 * re-exported here for the ISA layer's users.
 */
export { InsnClass, Mode, Source, type InsnClassName };

/** Facts about one access size of load/store opcodes. */
export interface SizeInfo {
  /** Bits 3..4 of the opcode byte. */
  readonly code: number;
  /** Width in bytes. */
  readonly bytes: 1 | 2 | 4 | 8;
  /** Unsigned C type printed in memory operands. */
  readonly unsigned: string;
  /** Signed C type printed by sign-extending loads. */
  readonly signed: string;
}

/** Access sizes of load/store opcodes: B = 8, H = 16, W = 32, DW = 64 bits. */
export const SIZES = {
  B: { ...ACCESS_SIZES.B, unsigned: "u8", signed: "s8" },
  H: { ...ACCESS_SIZES.H, unsigned: "u16", signed: "s16" },
  W: { ...ACCESS_SIZES.W, unsigned: "u32", signed: "s32" },
  DW: { ...ACCESS_SIZES.DW, unsigned: "u64", signed: "s64" },
} as const satisfies Record<string, SizeInfo>;

/** Name of an access size. */
export type SizeName = keyof typeof SIZES;

/** Facts about one binary ALU operation. */
export interface AluOpInfo {
  /** Bits 4..7 of the opcode byte. */
  readonly op: number;
  /** Value of `off` that selects this operation among those sharing `op` (sdiv/smod use 1). */
  readonly off: number;
  /** Compound-assignment operator printed between the operands. */
  readonly operator: string;
  /** Oldest `-mcpu` version that has the operation. */
  readonly cpu: CpuVersion;
}

/** eBPF ISA versions as LLVM's `-mcpu=vN` names them. */
export type CpuVersion = 1 | 2 | 3 | 4;

/** Binary ALU operations; each exists in the ALU (32-bit, `wN`) and ALU64 (`rN`) classes, with K and X sources. */
export const ALU_BINARY_OPS = {
  add: { op: 0x00, off: 0, operator: "+=", cpu: 1 },
  sub: { op: 0x10, off: 0, operator: "-=", cpu: 1 },
  mul: { op: 0x20, off: 0, operator: "*=", cpu: 1 },
  div: { op: 0x30, off: 0, operator: "/=", cpu: 1 },
  sdiv: { op: 0x30, off: 1, operator: "s/=", cpu: 4 },
  or: { op: 0x40, off: 0, operator: "|=", cpu: 1 },
  and: { op: 0x50, off: 0, operator: "&=", cpu: 1 },
  lsh: { op: 0x60, off: 0, operator: "<<=", cpu: 1 },
  rsh: { op: 0x70, off: 0, operator: ">>=", cpu: 1 },
  mod: { op: 0x90, off: 0, operator: "%=", cpu: 1 },
  smod: { op: 0x90, off: 1, operator: "s%=", cpu: 4 },
  xor: { op: 0xa0, off: 0, operator: "^=", cpu: 1 },
  mov: { op: 0xb0, off: 0, operator: "=", cpu: 1 },
  arsh: { op: 0xc0, off: 0, operator: "s>>=", cpu: 1 },
} as const satisfies Record<string, AluOpInfo>;

/** Name of a binary ALU operation. */
export type AluBinaryOp = keyof typeof ALU_BINARY_OPS;

/** ALU operations that are not binary: negation, sign-extending move and byte swap. */
export const ALU_OTHER_OPS = {
  /** `dst = -dst` (K source only). */
  neg: 0x80,
  /** Sign-extending move: `mov` with X source and off = 8, 16 or 32 (cpu v4). */
  movsx: 0xb0,
  /** Byte swap: ALU class K = to little endian, X = to big endian; ALU64 class K = unconditional bswap (cpu v4). */
  end: 0xd0,
} as const satisfies Record<string, number>;

/** Facts about one jump operation. */
export interface JmpOpInfo {
  /** Bits 4..7 of the opcode byte. */
  readonly op: number;
  /** Comparison operator printed in `if dst OP src goto`; absent for ja/call/exit. */
  readonly operator?: string;
  /** Oldest `-mcpu` version that has the operation in the JMP class (JMP32 needs v3). */
  readonly cpu: CpuVersion;
}

/** Jump operations (JMP and JMP32 classes). */
export const JMP_OPS = {
  ja: { op: JmpOpCode.ja, cpu: 1 },
  jeq: { op: JmpOpCode.jeq, operator: "==", cpu: 1 },
  jgt: { op: JmpOpCode.jgt, operator: ">", cpu: 1 },
  jge: { op: JmpOpCode.jge, operator: ">=", cpu: 1 },
  jset: { op: JmpOpCode.jset, operator: "&", cpu: 1 },
  jne: { op: JmpOpCode.jne, operator: "!=", cpu: 1 },
  jsgt: { op: JmpOpCode.jsgt, operator: "s>", cpu: 1 },
  jsge: { op: JmpOpCode.jsge, operator: "s>=", cpu: 1 },
  call: { op: JmpOpCode.call, cpu: 1 },
  exit: { op: JmpOpCode.exit, cpu: 1 },
  jlt: { op: JmpOpCode.jlt, operator: "<", cpu: 2 },
  jle: { op: JmpOpCode.jle, operator: "<=", cpu: 2 },
  jslt: { op: JmpOpCode.jslt, operator: "s<", cpu: 2 },
  jsle: { op: JmpOpCode.jsle, operator: "s<=", cpu: 2 },
} as const satisfies Record<string, JmpOpInfo>;

/** Name of a jump operation. */
export type JmpOp = keyof typeof JMP_OPS;

/** Name of a conditional jump operation (those with a comparison operator). */
export type JmpCondOp = Exclude<JmpOp, "ja" | "call" | "exit">;

/** Facts about one atomic operation (the `imm` of an STX ATOMIC instruction). */
export interface AtomicOpInfo {
  /** The `imm` value. */
  readonly imm: number;
  /** How it prints; `{d}`/`{s}` are the address and value registers, `{o}` the offset, `{t}` the access type. */
  readonly syntax: string;
  /** Oldest `-mcpu` version that has the operation (plain add exists since v1). */
  readonly cpu: CpuVersion;
}

/** The `imm` flag that makes an atomic operation return the old value in `src`. */
export const ATOMIC_FETCH = 0x01;

/** Atomic operations of the STX ATOMIC mode; each exists for W and DW sizes. */
export const ATOMIC_OPS = {
  add: { imm: 0x00, syntax: "lock *({t} *)({d}{o}) += {s}", cpu: 1 },
  or: { imm: 0x40, syntax: "lock *({t} *)({d}{o}) |= {s}", cpu: 3 },
  and: { imm: 0x50, syntax: "lock *({t} *)({d}{o}) &= {s}", cpu: 3 },
  xor: { imm: 0xa0, syntax: "lock *({t} *)({d}{o}) ^= {s}", cpu: 3 },
  fetch_add: { imm: 0x01, syntax: "{s} = atomic_fetch_add(({t} *)({d}{o}), {s})", cpu: 3 },
  fetch_or: { imm: 0x41, syntax: "{s} = atomic_fetch_or(({t} *)({d}{o}), {s})", cpu: 3 },
  fetch_and: { imm: 0x51, syntax: "{s} = atomic_fetch_and(({t} *)({d}{o}), {s})", cpu: 3 },
  fetch_xor: { imm: 0xa1, syntax: "{s} = atomic_fetch_xor(({t} *)({d}{o}), {s})", cpu: 3 },
  xchg: { imm: 0xe1, syntax: "{s} = xchg{n}({d}{o}, {s})", cpu: 3 },
  cmpxchg: { imm: 0xf1, syntax: "{r0} = cmpxchg{n}({d}{o}, {r0}, {s})", cpu: 3 },
} as const satisfies Record<string, AtomicOpInfo>;

/** Name of an atomic operation. */
export type AtomicOp = keyof typeof ATOMIC_OPS;

/**
 * `src` values of `lddw` (uapi `BPF_PSEUDO_*`) and of `call` (helper, BPF-to-BPF call,
 * kfunc): the platform table's, re-exported for the ISA layer's users.
 */
export { CallSrc, PseudoSrc };

/**
 * The placeholders an assembly template may contain. Each names how an instruction field prints:
 * - `{rd}` `{wd}` `{xd}`: dst register as `rN`, `wN`, or either (by the printer's `subregisters` option);
 * - `{rs}` `{ws}` `{xs}`: the same for src;
 * - `{imm}`: imm as a signed 32-bit number; `{uimm}`: as unsigned (ld_pseudo);
 * - `{imm64}`: the 64-bit immediate of lddw;
 * - `{moff}`: off as a memory displacement ` + 0x8` / ` - 0x8`;
 * - `{joff}` / `{jimm}`: off / imm as a jump offset `+0x3` / `-0x3`;
 * - `{indoff}`: imm of a legacy IND load, printed ` + N` only when non-zero;
 * - `{srcn}`: src as a number (ld_pseudo); `{hiimm}`: the high half of a ld_pseudo immediate, printed `, N` only when non-zero.
 */
export type Placeholder =
  | "rd" | "wd" | "xd"
  | "rs" | "ws" | "xs"
  | "imm" | "uimm" | "imm64"
  | "moff" | "joff" | "jimm" | "indoff"
  | "srcn" | "hiimm";

/** Instruction fields that can select a form or carry an operand. */
export type InsnField = "dst" | "src" | "off" | "imm";

/** One distinct instruction form: an opcode byte, the field values that select it, and its syntax. */
export interface InsnForm {
  /** Unique, stable name, e.g. `alu64.add.x`, `ldx.w`, `atomic.dw.fetch_add`. */
  readonly name: string;
  /** The opcode byte. */
  readonly code: number;
  /** Fields whose value selects this form among those sharing `code` (e.g. off=1 for sdiv). */
  readonly select: { readonly off?: number; readonly imm?: number; readonly srcNonZero?: boolean };
  /** Assembly template in `llvm-objdump -d` syntax with `{placeholder}`s (see {@link Placeholder}). */
  readonly syntax: string;
  /** Fields that carry operands, derived from the placeholders in `syntax` plus `unprinted`. */
  readonly operands: ReadonlySet<InsnField>;
  /**
   * Operand fields that the syntax does not print (LLVM's syntax for `call` drops src and off),
   * so a text round trip resets them to zero.
   */
  readonly unprinted: readonly InsnField[];
  /** Number of 8-byte slots: 2 for lddw, 1 otherwise. */
  readonly slots: 1 | 2;
  /** Oldest `-mcpu` version that has the form. */
  readonly cpu: CpuVersion;
  /**
   * The fields the form uses (its operands and selectors) as a bit mask of `FIELD_BIT`:
   * what `checkInsn` tests per instruction, without a set lookup.
   */
  readonly used: number;
}

/** One bit per instruction field, for {@link InsnForm.used}. */
export const FIELD_BIT: Readonly<Record<InsnField, number>> = { dst: 1, src: 2, off: 4, imm: 8 };

const PLACEHOLDER_FIELD: Record<Placeholder, InsnField> = {
  rd: "dst", wd: "dst", xd: "dst",
  rs: "src", ws: "src", xs: "src", srcn: "src",
  imm: "imm", uimm: "imm", imm64: "imm", jimm: "imm", indoff: "imm", hiimm: "imm",
  moff: "off", joff: "off",
};

/** Placeholder names in a template, in order of appearance. */
export function templatePlaceholders(syntax: string): Placeholder[] {
  return [...syntax.matchAll(/\{(\w+)\}/g)].map((m) => {
    const name = m[1] as Placeholder;
    if (!(name in PLACEHOLDER_FIELD)) throw new Error(`unknown placeholder {${name}} in "${syntax}"`);
    return name;
  });
}

interface FormSpec {
  name: string;
  code: number;
  select?: InsnForm["select"];
  syntax: string;
  unprinted?: InsnField[];
  slots?: 1 | 2;
  cpu: CpuVersion;
}

function form(spec: FormSpec): InsnForm {
  const unprinted = spec.unprinted ?? [];
  const operands = new Set<InsnField>(unprinted);
  for (const p of templatePlaceholders(spec.syntax)) operands.add(PLACEHOLDER_FIELD[p]);
  const select = spec.select ?? {};
  let used = select.off !== undefined ? FIELD_BIT.off : 0;
  if (select.imm !== undefined) used |= FIELD_BIT.imm;
  for (const field of operands) used |= FIELD_BIT[field];
  return {
    name: spec.name,
    code: spec.code,
    select,
    syntax: spec.syntax,
    operands,
    unprinted,
    slots: spec.slots ?? 1,
    cpu: spec.cpu,
    used,
  };
}

/** Expands the field tables into every instruction form. Runs once at module load. */
function buildForms(): InsnForm[] {
  const forms: InsnForm[] = [];
  const max = (a: CpuVersion, b: CpuVersion): CpuVersion => (a > b ? a : b);

  // ALU and ALU64: binary ops, negation, sign-extending moves, byte swaps.
  for (const [cls, reg, cpu] of [["alu", "w", 1], ["alu64", "r", 1]] as const) {
    const code = cls === "alu" ? InsnClass.ALU : InsnClass.ALU64;
    for (const [name, info] of Object.entries(ALU_BINARY_OPS)) {
      const c = max(cpu, info.cpu);
      forms.push(form({ name: `${cls}.${name}.k`, code: code | info.op | Source.K, select: { off: info.off },
        syntax: `{${reg}d} ${info.operator} {imm}`, cpu: c }));
      forms.push(form({ name: `${cls}.${name}.x`, code: code | info.op | Source.X, select: { off: info.off },
        syntax: `{${reg}d} ${info.operator} {${reg}s}`, cpu: c }));
    }
    forms.push(form({ name: `${cls}.neg`, code: code | ALU_OTHER_OPS.neg | Source.K, syntax: `{${reg}d} = -{${reg}d}`, cpu }));
    for (const bits of cls === "alu" ? [8, 16] : [8, 16, 32]) {
      forms.push(form({ name: `${cls}.movsx${bits}`, code: code | ALU_OTHER_OPS.movsx | Source.X, select: { off: bits },
        syntax: `{${reg}d} = (s${bits}){${reg}s}`, cpu: 4 }));
    }
  }
  for (const bits of [16, 32, 64]) {
    // LLVM prints byte swaps with 64-bit register names in every class.
    forms.push(form({ name: `alu.le${bits}`, code: InsnClass.ALU | ALU_OTHER_OPS.end | Source.K, select: { imm: bits },
      syntax: `{rd} = le${bits} {rd}`, cpu: 1 }));
    forms.push(form({ name: `alu.be${bits}`, code: InsnClass.ALU | ALU_OTHER_OPS.end | Source.X, select: { imm: bits },
      syntax: `{rd} = be${bits} {rd}`, cpu: 1 }));
    forms.push(form({ name: `alu64.bswap${bits}`, code: InsnClass.ALU64 | ALU_OTHER_OPS.end | Source.K, select: { imm: bits },
      syntax: `{rd} = bswap${bits} {rd}`, cpu: 4 }));
  }

  // JMP and JMP32.
  forms.push(form({ name: "jmp.ja", code: InsnClass.JMP | JMP_OPS.ja.op, syntax: "goto {joff}", cpu: 1 }));
  forms.push(form({ name: "jmp32.ja", code: InsnClass.JMP32 | JMP_OPS.ja.op, syntax: "gotol {jimm}", cpu: 4 }));
  forms.push(form({ name: "jmp.call", code: InsnClass.JMP | JMP_OPS.call.op, syntax: "call {imm}", unprinted: ["src", "off"], cpu: 1 }));
  forms.push(form({ name: "jmp.exit", code: InsnClass.JMP | JMP_OPS.exit.op, syntax: "exit", cpu: 1 }));
  for (const [cls, reg, cpu] of [["jmp", "r", 1], ["jmp32", "w", 3]] as const) {
    const code = cls === "jmp" ? InsnClass.JMP : InsnClass.JMP32;
    for (const [name, info] of Object.entries(JMP_OPS)) {
      if (!("operator" in info)) continue;
      const c = max(cpu, info.cpu);
      forms.push(form({ name: `${cls}.${name}.k`, code: code | info.op | Source.K,
        syntax: `if {${reg}d} ${info.operator} {imm} goto {joff}`, cpu: c }));
      forms.push(form({ name: `${cls}.${name}.x`, code: code | info.op | Source.X,
        syntax: `if {${reg}d} ${info.operator} {${reg}s} goto {joff}`, cpu: c }));
    }
  }

  // LD: 64-bit immediates and legacy packet loads.
  const lddw = InsnClass.LD | Mode.IMM | SIZES.DW.code;
  forms.push(form({ name: "ld.imm64", code: lddw, select: { srcNonZero: false }, syntax: "{rd} = {imm64} ll", slots: 2, cpu: 1 }));
  forms.push(form({ name: "ld.pseudo", code: lddw, select: { srcNonZero: true },
    syntax: "ld_pseudo\t{rd}, {srcn}, {uimm}{hiimm}", slots: 2, cpu: 1 }));
  for (const size of ["W", "H", "B"] as const) {
    const s = SIZES[size];
    forms.push(form({ name: `ld.abs.${size.toLowerCase()}`, code: InsnClass.LD | Mode.ABS | s.code,
      syntax: `r0 = *(${s.unsigned} *)skb[{imm}]`, cpu: 1 }));
    forms.push(form({ name: `ld.ind.${size.toLowerCase()}`, code: InsnClass.LD | Mode.IND | s.code,
      syntax: `r0 = *(${s.unsigned} *)skb[{rs}{indoff}]`, cpu: 1 }));
  }

  // LDX, ST, STX: memory access, sign-extending loads, atomics.
  for (const size of ["W", "H", "B", "DW"] as const) {
    const s = SIZES[size];
    const lower = size.toLowerCase();
    const narrow = size !== "DW";
    forms.push(form({ name: `ldx.${lower}`, code: InsnClass.LDX | Mode.MEM | s.code,
      syntax: `{${narrow ? "x" : "r"}d} = *(${s.unsigned} *)({rs}{moff})`, cpu: 1 }));
    if (narrow) {
      forms.push(form({ name: `ldxsx.${lower}`, code: InsnClass.LDX | Mode.MEMSX | s.code,
        syntax: `{rd} = *(${s.signed} *)({rs}{moff})`, cpu: 4 }));
    }
    forms.push(form({ name: `st.${lower}`, code: InsnClass.ST | Mode.MEM | s.code,
      syntax: `*(${s.unsigned} *)({rd}{moff}) = {imm}`, cpu: 1 }));
    forms.push(form({ name: `stx.${lower}`, code: InsnClass.STX | Mode.MEM | s.code,
      syntax: `*(${s.unsigned} *)({rd}{moff}) = {${narrow ? "x" : "r"}s}`, cpu: 1 }));
  }
  for (const size of ["W", "DW"] as const) {
    const s = SIZES[size];
    for (const [name, info] of Object.entries(ATOMIC_OPS)) {
      // LLVM 16 prints the 32-bit non-fetching add like a narrow store (rN or wN); every other
      // 32-bit atomic only exists in its alu32 syntax with wN.
      const value = size === "DW" ? "{rs}" : name === "add" ? "{xs}" : "{ws}";
      const syntax = info.syntax
        .replaceAll("{t}", s.unsigned)
        .replaceAll("{d}", "{rd}")
        .replaceAll("{o}", "{moff}")
        .replaceAll("{s}", value)
        .replaceAll("{n}", size === "DW" ? "_64" : "32_32")
        .replaceAll("{r0}", size === "DW" ? "r0" : "w0");
      forms.push(form({ name: `atomic.${size.toLowerCase()}.${name}`, code: InsnClass.STX | Mode.ATOMIC | s.code,
        select: { imm: info.imm }, syntax, cpu: info.cpu }));
    }
  }
  return forms;
}

/** Every instruction form, the single table that drives encoding, decoding, printing and parsing. */
export const INSN_FORMS: readonly InsnForm[] = buildForms();

const FORMS_BY_NAME = new Map(INSN_FORMS.map((f) => [f.name, f]));
/** The forms of each opcode byte, indexed by the byte (undefined: no form has it). */
const FORMS_BY_CODE: (InsnForm[] | undefined)[] = new Array<InsnForm[] | undefined>(256).fill(undefined);
for (const f of INSN_FORMS) {
  if (FORMS_BY_NAME.get(f.name) !== f) throw new Error(`duplicate instruction form ${f.name}`);
  (FORMS_BY_CODE[f.code] ??= []).push(f);
}

/** The form with the given name, e.g. `formByName("alu64.add.k")`; throws if there is none. */
export function formByName(name: string): InsnForm {
  const f = FORMS_BY_NAME.get(name);
  if (!f) throw new Error(`no instruction form named ${name}`);
  return f;
}

/**
 * The form an instruction's code and selector fields pick, or undefined if no form matches.
 * It does not check operand ranges or that unused fields are zero (see `checkInsn`).
 */
export function lookupForm(fields: { code: number; src: number; off: number; imm: number }): InsnForm | undefined {
  const candidates = FORMS_BY_CODE[fields.code];
  if (!candidates) return undefined;
  for (const f of candidates) {
    const select = f.select;
    if (
      (select.off === undefined || select.off === fields.off) &&
      (select.imm === undefined || select.imm === fields.imm) &&
      (select.srcNonZero === undefined || select.srcNonZero === (fields.src !== 0))
    ) {
      return f;
    }
  }
  return undefined;
}

/** The forms that share an opcode byte (empty for an unknown opcode). */
export function formsWithCode(code: number): readonly InsnForm[] {
  return FORMS_BY_CODE[code] ?? [];
}

/** Whether an opcode byte is known at all (some form uses it). */
export function isKnownCode(code: number): boolean {
  return FORMS_BY_CODE[code] !== undefined;
}

/** The class bits of an opcode byte. */
export function classOf(code: number): number {
  return code & 0x07;
}

/** The opcode byte of `lddw` (LD | IMM | DW), the only two-slot instruction. */
export const LDDW_CODE = LDDW_OPCODE;
