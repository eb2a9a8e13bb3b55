// Assembly text for eBPF instructions in the syntax `llvm-objdump -d` prints (LLVM 16), derived from
// the templates in INSN_FORMS: a printer, a parser (template -> anchored regular expression), and a
// listing printer that reproduces objdump's full output with addresses and raw bytes.
//
// Fidelity notes, checked against llvm-objdump-16/-19 by test/isa-encoding.test.ts:
// - Immediates print in hex by default, as `llvm-objdump -d` does since LLVM 16 (`--print-imm-hex`);
//   `hex: false` gives the `--no-print-imm-hex` form.
// - Narrow (8/16/32-bit) loads and stores print rN by default, like plain `llvm-objdump -d`;
//   `subregisters: true` prints wN like `llvm-objdump -d --mattr=+alu32`.
// - Forms LLVM 16 cannot disassemble (store-immediate, jset, 32-bit atomics other than add, and the
//   cpu v4 forms) print as LLVM 17+ prints them.
// - Where LLVM's syntax would drop a non-zero field we extend it instead of losing it:
//   `skb[r3 + 0x4]` for an IND load with imm != 0, and a fourth `ld_pseudo` operand for a non-zero
//   high immediate half. LLVM also drops call's src/off; we follow it, so text does not carry them.

import { IsaError, checkInsn, insnSlots, isGotol, isRelativeJump, type Insn } from "./insn.js";
import { encodeInsn } from "./encode.js";
import { INSN_FORMS, LDDW_CODE, templatePlaceholders, type InsnForm, type Placeholder } from "./opcodes.js";

/** Options of the text printer. */
export interface PrintOptions {
  /** Print immediates and offsets in hex (`0x10`, the llvm-objdump 16 default); false prints decimal. Default true. */
  hex?: boolean;
  /** Print wN for narrow load/store registers (like `--mattr=+alu32`); false prints rN. Default false. */
  subregisters?: boolean;
}

function formatNumber(value: number | bigint, hex: boolean): string {
  if (!hex) return value.toString();
  return value < 0 ? "-0x" + (-value).toString(16) : "0x" + value.toString(16);
}

function formatDisplacement(value: number, hex: boolean): string {
  return value < 0 ? ` - ${formatNumber(-value, hex)}` : ` + ${formatNumber(value, hex)}`;
}

function formatJump(value: number, hex: boolean): string {
  return value < 0 ? `-${formatNumber(-value, hex)}` : `+${formatNumber(value, hex)}`;
}

function low32(insn: Insn): number {
  return Number(BigInt.asUintN(32, insn.imm64 ?? BigInt(insn.imm)));
}

function high32(insn: Insn): number {
  return Number(BigInt.asUintN(32, (insn.imm64 ?? 0n) >> 32n));
}

function printPlaceholder(p: Placeholder, insn: Insn, hex: boolean, subregisters: boolean): string {
  switch (p) {
    case "rd": return `r${insn.dst}`;
    case "wd": return `w${insn.dst}`;
    case "xd": return `${subregisters ? "w" : "r"}${insn.dst}`;
    case "rs": return `r${insn.src}`;
    case "ws": return `w${insn.src}`;
    case "xs": return `${subregisters ? "w" : "r"}${insn.src}`;
    case "imm": return formatNumber(insn.imm, hex);
    case "uimm": return formatNumber(low32(insn), hex);
    case "imm64": return formatNumber(BigInt.asIntN(64, insn.imm64 ?? 0n), hex);
    case "moff": return formatDisplacement(insn.off, hex);
    case "joff": return formatJump(insn.off, hex);
    case "jimm": return formatJump(insn.imm, hex);
    case "indoff": return insn.imm === 0 ? "" : formatDisplacement(insn.imm, hex);
    case "srcn": return formatNumber(insn.src, hex);
    case "hiimm": return high32(insn) === 0 ? "" : `, ${formatNumber(high32(insn), hex)}`;
    default: return assertNever(p);
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected value ${String(value)}`);
}

/**
 * Prints one instruction in `llvm-objdump -d` syntax, e.g. `r1 = *(u32 *)(r1 + 0x0)`, `w0 += 0x1`,
 * `if r1 != 0x50 goto +0x3`, `r1 = 0x0 ll`. Jump targets print as relative `goto +N` without the
 * `<symbol>` objdump appends (see printListing). Throws IsaError for invalid instructions.
 */
export function printInsn(insn: Insn, options: PrintOptions = {}): string {
  const form = checkInsn(insn);
  const hex = options.hex ?? true;
  const subregisters = options.subregisters ?? false;
  return form.syntax.replace(/\{(\w+)\}/g, (_, p: Placeholder) => printPlaceholder(p, insn, hex, subregisters));
}

// ---------------------------------------------------------------------------------------------
// Parser: each template becomes an anchored regular expression with one capture per placeholder.

const NUM = String.raw`(?:0[xX][0-9a-fA-F]+|[0-9]+)`;

const PLACEHOLDER_REGEX: Record<Placeholder, string> = {
  rd: String.raw`(r\d+)`, wd: String.raw`(w\d+)`, xd: String.raw`([rw]\d+)`,
  rs: String.raw`(r\d+)`, ws: String.raw`(w\d+)`, xs: String.raw`([rw]\d+)`,
  imm: `(-?${NUM})`, uimm: `(-?${NUM})`, imm64: `(-?${NUM})`, srcn: `(${NUM})`,
  moff: String.raw`(\s*[+-]\s*${NUM})`,
  indoff: String.raw`((?:\s*[+-]\s*${NUM})?)`,
  joff: `([+-]?${NUM})`, jimm: `([+-]?${NUM})`,
  hiimm: String.raw`((?:\s*,\s*${NUM})?)`,
};

interface CompiledForm {
  form: InsnForm;
  regex: RegExp;
  placeholders: Placeholder[];
}

let compiled: CompiledForm[] | undefined;

function compileForms(): CompiledForm[] {
  compiled ??= INSN_FORMS.map((form) => {
    const placeholders = templatePlaceholders(form.syntax);
    const source = form.syntax
      .split(/(\{\w+\}|\s+)/)
      .map((part) => {
        if (part === "") return "";
        if (/^\s+$/.test(part)) return String.raw`\s+`;
        const m = /^\{(\w+)\}$/.exec(part);
        if (m) return PLACEHOLDER_REGEX[m[1] as Placeholder];
        return part.replace(/[.*+?^${}()|[\]\\]/g, String.raw`\$&`);
      })
      .join("");
    // objdump may append the jump target as ` <symbol>`; accept and ignore it.
    return { form, placeholders, regex: new RegExp(String.raw`^${source}(?:\s+<[^<>]*>)?$`) };
  });
  return compiled;
}

function parseBigInt(token: string): bigint {
  const t = token.replace(/\s+/g, "");
  const negative = t.startsWith("-");
  const body = t.replace(/^[+-]/, "");
  const value = BigInt(body.toLowerCase());
  return negative ? -value : value;
}

function parseRanged(token: string, lo: number, hi: number, what: string): number {
  const value = parseBigInt(token);
  if (value < BigInt(lo) || value > BigInt(hi)) throw new IsaError(`${what} ${token.replace(/\s+/g, "")} is out of range ${lo}..${hi}`);
  return Number(value);
}

function parseRegister(token: string): number {
  return parseRanged(token.slice(1), 0, 10, "register number");
}

/** Parses one instruction in the syntax printInsn prints (hex or decimal, rN or wN for narrow accesses). */
export function parseInsn(text: string): Insn {
  const line = text.trim();
  for (const { form, regex, placeholders } of compileForms()) {
    const m = regex.exec(line);
    if (!m) continue;
    try {
      return buildInsn(form, placeholders, m.slice(1));
    } catch (cause) {
      throw new IsaError(`cannot parse "${line}": ${(cause as Error).message}`, { cause });
    }
  }
  throw new IsaError(`cannot parse "${line}": not an eBPF instruction in llvm-objdump syntax`);
}

function buildInsn(form: InsnForm, placeholders: Placeholder[], tokens: string[]): Insn {
  const fields: Record<"dst" | "src" | "off" | "imm", number | undefined> = {
    dst: undefined, src: undefined, off: form.select.off, imm: form.select.imm,
  };
  let imm64: bigint | undefined;
  let hi = 0n;
  const set = (field: keyof typeof fields, value: number): void => {
    const old = fields[field];
    if (old !== undefined && old !== value) throw new IsaError(`${field} is given two different values (${old} and ${value})`);
    fields[field] = value;
  };
  placeholders.forEach((p, i) => {
    const token = tokens[i]!;
    switch (p) {
      case "rd": case "wd": case "xd": set("dst", parseRegister(token)); break;
      case "rs": case "ws": case "xs": set("src", parseRegister(token)); break;
      case "imm": case "jimm": set("imm", parseRanged(token, -0x80000000, 0xffffffff, "immediate") | 0); break;
      case "uimm": imm64 = BigInt.asUintN(32, BigInt(parseRanged(token, -0x80000000, 0xffffffff, "immediate"))); break;
      case "imm64": {
        const value = parseBigInt(token);
        if (value < -(1n << 63n) || value >= 1n << 64n) throw new IsaError(`immediate ${token} does not fit in 64 bits`);
        imm64 = BigInt.asIntN(64, value);
        break;
      }
      case "moff": case "joff": set("off", parseRanged(token, -0x8000, 0x7fff, "offset")); break;
      case "indoff": set("imm", token.trim() === "" ? 0 : parseRanged(token, -0x80000000, 0x7fffffff, "offset")); break;
      case "srcn": set("src", parseRanged(token, 0, 15, "pseudo source")); break;
      case "hiimm": hi = token.trim() === "" ? 0n : BigInt(parseRanged(token.replace(",", ""), 0, 0xffffffff, "high immediate")); break;
      default: assertNever(p);
    }
  });
  const insn: Insn = { code: form.code, dst: fields.dst ?? 0, src: fields.src ?? 0, off: fields.off ?? 0, imm: fields.imm ?? 0 };
  if (form.code === LDDW_CODE) {
    if (form.select.srcNonZero && insn.src === 0) throw new IsaError("ld_pseudo needs a non-zero pseudo source");
    insn.imm = 0;
    insn.imm64 = form.select.srcNonZero ? BigInt.asIntN(64, (hi << 32n) | (imm64 ?? 0n)) : imm64 ?? 0n;
  }
  checkInsn(insn);
  return insn;
}

/**
 * Parses a program: one instruction per line; blank lines and `#` comments are skipped.
 * Errors name the 1-based line number.
 */
export function parseProgram(text: string): Insn[] {
  const insns: Insn[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    try {
      insns.push(parseInsn(line));
    } catch (cause) {
      throw new IsaError(`line ${i + 1}: ${(cause as Error).message}`, { cause });
    }
  });
  return insns;
}

/** Prints instructions one per line (no addresses), the inverse of parseProgram. */
export function printProgram(insns: readonly Insn[], options: PrintOptions = {}): string {
  return insns.map((insn) => printInsn(insn, options) + "\n").join("");
}

// ---------------------------------------------------------------------------------------------
// Listings in llvm-objdump's layout.

/** A symbol in a listing: a function or label starting at an instruction slot. */
export interface ListingSymbol {
  /** 8-byte slot index the symbol points at. */
  slot: number;
  /** Symbol name as objdump prints it. */
  name: string;
}

/** One section of a listing. */
export interface ListingSection {
  /** ELF section name, e.g. `.text` or `socket`. */
  name: string;
  /** Its instructions from offset 0. */
  insns: readonly Insn[];
  /** Symbols (functions, labels) in the section, in any order. */
  symbols?: readonly ListingSymbol[];
  /**
   * Source lines to show before instructions, as `llvm-objdump -S` does (`; text` lines
   * after any symbol header at that slot), in slot order.
   */
  source?: readonly { slot: number; text: string }[];
}

function hexAddress(address: bigint): string {
  return address.toString(16).padStart(16, "0");
}

/**
 * Prints one section the way `llvm-objdump -d` does: `Disassembly of section NAME:`, a
 * `0000000000000030 <name>:` header before each symbol, and lines `       0:\t<bytes>\t<text>`.
 * Relative jumps get objdump's ` <symbol>` or ` <symbol+0xN>` annotation, naming the nearest symbol
 * at or before the target (the first listed when several share an address); none when no symbol precedes it.
 */
export function printSectionListing(section: ListingSection, options: PrintOptions = {}): string {
  const symbols = [...(section.symbols ?? [])]
    .map((s, order) => ({ ...s, order, address: BigInt(s.slot) * 8n }))
    .sort((a, b) => a.slot - b.slot || a.order - b.order);
  const firstAt = new Map<number, string>();
  for (const s of symbols) if (!firstAt.has(s.slot)) firstAt.set(s.slot, s.name);
  const annotation = (target: bigint): string => {
    // Binary search for the last symbol address <= target; then the first symbol at that address.
    let lo = 0;
    let hi = symbols.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (symbols[mid]!.address <= target) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return "";
    const best = symbols[lo - 1]!;
    const name = firstAt.get(best.slot)!;
    return target === best.address ? ` <${name}>` : ` <${name}+0x${(target - best.address).toString(16)}>`;
  };

  let out = `Disassembly of section ${section.name}:\n`;
  let symbolIndex = 0;
  let sourceIndex = 0;
  const source = section.source ?? [];
  let slot = 0;
  for (const insn of section.insns) {
    while (symbolIndex < symbols.length && symbols[symbolIndex]!.slot <= slot) {
      const s = symbols[symbolIndex++]!;
      out += `\n${hexAddress(s.address)} <${s.name}>:\n`;
    }
    while (sourceIndex < source.length && source[sourceIndex]!.slot <= slot) out += `; ${source[sourceIndex++]!.text}\n`;
    let text = printInsn(insn, options);
    if (isRelativeJump(insn)) {
      const delta = isGotol(insn) ? insn.imm : insn.off;
      // objdump computes the target address modulo 2^64.
      text += annotation(BigInt.asUintN(64, BigInt(slot + 1 + delta) * 8n));
    }
    const bytes = [...encodeInsn(insn)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    out += `${String(slot).padStart(8)}:\t${bytes}\t${text}\n`;
    slot += insnSlots(insn);
  }
  return out;
}

/**
 * Prints a whole `llvm-objdump -d FILE` output: the `FILE:\tfile format elf64-bpf` banner followed by
 * each section's listing (see printSectionListing).
 */
export function printObjdump(fileName: string, sections: readonly ListingSection[], options: PrintOptions = {}): string {
  let out = `\n${fileName}:\tfile format elf64-bpf\n`;
  for (const section of sections) out += "\n" + printSectionListing(section, options);
  return out;
}
