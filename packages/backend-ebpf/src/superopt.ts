/**
 * Superoptimizer rules on allocated machine IR: a table of proved rewrites of short
 * instruction windows (superopt-rules.ts, generated offline by `npm run superopt`), and
 * the matcher that applies them after the peepholes (peephole.ts), before emission.
 *
 * The rewrites come from a K2-style search (Xu et al., "Synthesizing Safe and Efficient
 * Kernel Extensions for Packet Processing", SIGCOMM 2021) done once, offline, by the tool
 * in packages/check/src/superopt/: it harvests the windows of 2–4 straight-line ALU
 * instructions (optionally ending in a conditional jump) that luabpf emits for the
 * examples, enumerates shorter sequences, and keeps a rewrite only when it is proved equal
 * (exhaustive and random testing, then an SMT proof with z3). The compiler itself only
 * reads the table.
 *
 * A window is written in llvm-objdump syntax with its registers renamed in order of first
 * appearance (`r1`, `r2`, …: pattern registers, distinct registers bound to distinct
 * physical ones) and its immediates kept; a final conditional jump keeps its target, shown
 * as `goto +0x0`. A rule holds:
 * - `find`: the window; `replace`: a shorter sequence over the same pattern registers;
 * - `dead`: the pattern registers whose value after the window may differ (the rule only
 *   applies where liveness says they are dead after it); every other register the window
 *   writes holds the same value after both sequences.
 *
 * Verifier safety: every rule's inputs (registers read before written) are consumed in
 * `find` by an operation the verifier refuses on pointers (bitwise ops, shifts, 32-bit
 * arithmetic; checked when the table is made and by test/superopt-rules.test.ts), so where
 * the original window passed the verifier its inputs were scalars, and the rewrite only
 * computes scalars.
 *
 * Cost: a scan of each block that walks a trie of the rules' windows (one level per
 * instruction text) from each instruction, printing the window's instructions in canonical
 * form one at a time and only while some rule's window goes on (printed texts are
 * remembered by a number made of the fields a text is printed from; an instruction with an
 * immediate no rule's window has stops the walk unprinted); liveness (one
 * backward pass per function) and a
 * block's known widths only when a window matches some rule, and again only after a rewrite.
 * A rule's rewrite is parsed when a window first matches it, so a process pays only for the
 * rules its program uses.
 */
import { InternalError } from "@luabpf/ir";
import { DEFAULT_CPU } from "./isel.js";
import { alu32Imm, alu32Reg, alu64Imm, alu64Reg, INVERSE_JUMPS, jmp32Imm, jmp32Reg, jmpImm, jmpReg, lookupForm, neg32, neg64, parseInsn, printInsn, type AluBinaryOp, type CpuVersion, type Insn, type JmpCondOp } from "./isa/index.js";
import { collectOperands, FP, type MBlock, type MFunction, type MInst, type MReg } from "./mir.js";
import { SUPEROPT_RULES, type SuperoptRule } from "./superopt-rules.js";

/** The instructions a window may hold: ALU (binary or neg) on registers other than r10, and a final conditional jump. */
export type WindowInst = Extract<MInst, { k: "alu" | "neg" | "jcc" }>;

/** Can `i` be part of a window (a jump only as its last instruction)? */
export function isWindowInst(i: MInst): i is WindowInst {
  if (i.k === "alu") return i.dst !== FP && i.src !== FP && ALU_IN_WINDOWS.has(i.op);
  if (i.k === "neg") return true;
  if (i.k === "jcc") return i.a !== FP && i.b !== FP;
  return false;
}

/** ALU operations windows hold (division and modulo have no rules: their by-zero cases make proofs costly). */
const ALU_IN_WINDOWS: ReadonlySet<AluBinaryOp> = new Set(["mov", "add", "sub", "mul", "and", "or", "xor", "lsh", "rsh", "arsh"]);

/** The longest window the table can hold. */
export const MAX_WINDOW = 6;

/** `i` as an encoded instruction with registers mapped by `reg` (a jump's offset 0). */
export function toInsn(i: WindowInst, reg: (r: MReg) => number): Insn {
  switch (i.k) {
    case "alu":
      if (i.src !== undefined) return i.w === 64 ? alu64Reg(i.op, reg(i.dst), reg(i.src)) : alu32Reg(i.op, reg(i.dst), reg(i.src));
      return i.w === 64 ? alu64Imm(i.op, reg(i.dst), i.imm!) : alu32Imm(i.op, reg(i.dst), i.imm!);
    case "neg":
      return i.w === 64 ? neg64(reg(i.dst)) : neg32(reg(i.dst));
    case "jcc":
      if (i.b !== undefined) return i.w === 64 ? jmpReg(i.op, reg(i.a), reg(i.b), 0) : jmp32Reg(i.op, reg(i.a), reg(i.b), 0);
      return i.w === 64 ? jmpImm(i.op, reg(i.a), i.imm!, 0) : jmp32Imm(i.op, reg(i.a), i.imm!, 0);
  }
}

/** An encoded ALU or conditional-jump instruction back as a window instruction (registers as encoded; a jump's target `target`). */
export function fromInsn(insn: Insn, target = 0): WindowInst {
  const [cls, op, src] = formName(insn).split(".") as [string, string, string | undefined];
  const w = cls === "alu64" || cls === "jmp" ? 64 : 32;
  if (cls === "jmp" || cls === "jmp32") {
    const base = { k: "jcc" as const, op: op as JmpCondOp, w: w as 32 | 64, a: insn.dst, target };
    return src === "x" ? { ...base, b: insn.src } : { ...base, imm: insn.imm };
  }
  if (op === "neg") return { k: "neg", w, dst: insn.dst };
  const base = { k: "alu" as const, op: op as AluBinaryOp, w: w as 32 | 64, dst: insn.dst };
  return src === "x" ? { ...base, src: insn.src } : { ...base, imm: insn.imm };
}

/** The name of `insn`'s form in the ISA table (`alu64.and.k`, `jmp32.jgt.x`, …). */
function formName(insn: Insn): string {
  const form = lookupForm(insn);
  if (!form) throw new InternalError(`superopt: no instruction form for opcode 0x${insn.code.toString(16)}`);
  return form.name;
}

/** The registers `i` names, in the order a window's renaming meets them (destination first). */
function regsOf(i: WindowInst): MReg[] {
  if (i.k === "jcc") return i.b !== undefined ? [i.a, i.b] : [i.a];
  if (i.k === "alu" && i.src !== undefined) return [i.dst, i.src];
  return [i.dst];
}

/** The pattern registers a sequence reads before writing them (its inputs), and those it writes. */
export function readsWrites(insts: readonly WindowInst[]): { inputs: number[]; writes: number[] } {
  const written = new Set<number>();
  const inputs = new Set<number>();
  const read = (r: number): void => void (!written.has(r) && inputs.add(r));
  for (const i of insts) {
    if (i.k === "jcc") {
      read(i.a);
      if (i.b !== undefined) read(i.b);
      continue;
    }
    if (i.k === "alu" && i.src !== undefined) read(i.src);
    if (i.k === "neg" || i.op !== "mov") read(i.dst);
    written.add(i.dst);
  }
  return { inputs: [...inputs].sort((a, b) => a - b), writes: [...written].sort((a, b) => a - b) };
}

/**
 * Does the verifier refuse this ALU operation when its destination or register source is
 * a pointer? Everything but `mov`, `sub` (pointer minus pointer is a scalar when pointer
 * leaks are allowed, as for root) and 64-bit `add` (pointer arithmetic), and `neg` (allowed
 * on pointers with leaks; it makes an unknown scalar) — kernel/bpf/verifier.c,
 * adjust_ptr_min_max_vals and check_alu_op.
 */
export function refusesPointers(i: WindowInst): boolean {
  if (i.k !== "alu") return false;
  return !(i.op === "mov" || i.op === "sub" || (i.op === "add" && i.w === 64));
}

/**
 * Are all the window's inputs scalars wherever the verifier accepted it? True when each
 * input's value (in its register or a 64-bit copy of it) is an operand of an operation
 * the verifier refuses on pointers: a pointer there would have been rejected.
 */
export function scalarInputs(insts: readonly WindowInst[]): boolean {
  const { inputs } = readsWrites(insts);
  const holds = new Map<number, number>(inputs.map((r) => [r, r]));
  const forced = new Set<number>();
  for (const i of insts) {
    if (i.k === "jcc") continue;
    if (refusesPointers(i)) {
      for (const r of i.k === "alu" && i.src !== undefined ? [i.dst, i.src] : [i.dst]) {
        const h = holds.get(r);
        if (h !== undefined) forced.add(h);
      }
    }
    const copied = i.k === "alu" && i.op === "mov" && i.w === 64 && i.src !== undefined ? holds.get(i.src) : undefined;
    if (copied !== undefined) holds.set(i.dst, copied);
    else holds.delete(i.dst);
  }
  return inputs.every((r) => forced.has(r));
}

/** A window in canonical form: its text (the rule key) and the physical register of each pattern register (`regs[k - 1]` is `rk`). */
export interface CanonicalWindow {
  text: string;
  regs: MReg[];
}

/** The canonical form of a window (see the file comment). */
export function canonicalWindow(insts: readonly WindowInst[]): CanonicalWindow {
  const canonical = canonicalNumbering();
  return { text: insts.map(canonical.textOf).join("; "), regs: canonical.regs };
}

/**
 * Canonical texts of a window's instructions, one at a time: pattern registers are numbered
 * in order of first appearance (`regs[k - 1]` is the physical register of `rk`), so the texts
 * of the first `len` instructions joined are the canonical text of that shorter window, whose
 * registers are `regs` as they stood after its last instruction.
 */
function canonicalNumbering(): { readonly regs: MReg[]; textOf(i: WindowInst): string } {
  const regs: MReg[] = [];
  const pattern = (r: MReg): number => {
    let k = regs.indexOf(r);
    if (k < 0) k = regs.push(r) - 1;
    return k + 1;
  };
  return {
    regs,
    textOf(i) {
      for (const r of regsOf(i)) pattern(r);
      return printWindowInsn(toInsn(i, pattern));
    },
  };
}

/** Physical registers as a bit set (bit r for rr). */
type RegSet = number;

/**
 * Registers live after each instruction, per block (`liveAfter[b][k]`): a backward
 * dataflow over the machine CFG (successors from `succs`, jump targets and fall-through,
 * so that a missing successor entry can only make more registers live).
 */
export function liveAfterInsts(mf: MFunction): RegSet[][] {
  const n = mf.blocks.length;
  const succsOf = mf.blocks.map((b, k) => {
    const s = new Set(b.succs);
    for (const i of b.insts) if (i.k === "jcc" || i.k === "ja") s.add(i.target);
    const last = b.insts[b.insts.length - 1];
    if ((!last || (last.k !== "ja" && last.k !== "exit")) && k + 1 < n) s.add(k + 1);
    return [...s];
  });
  // What each instruction kills (defs and clobbers) and reads, as register sets.
  const kills = mf.blocks.map((b) => b.insts.map((i) => {
    const e = collectOperands(i);
    let set = 0;
    for (let k = 0; k < e.nDefs; k++) set |= 1 << e.defs[k]!;
    for (let k = 0; k < e.nClobbers; k++) set |= 1 << e.clobbers[k]!;
    return set;
  }));
  const reads = mf.blocks.map((b) => b.insts.map((i) => {
    const e = collectOperands(i);
    let set = 0;
    for (let k = 0; k < e.nUses; k++) set |= 1 << e.uses[k]!;
    return set;
  }));
  const liveIn: RegSet[] = new Array(n).fill(0);
  const walk = (k: number, record?: RegSet[]): RegSet => {
    const b = mf.blocks[k]!;
    let live = 0;
    for (const s of succsOf[k]!) live |= liveIn[s]!;
    for (let j = b.insts.length - 1; j >= 0; j--) {
      const i = b.insts[j]!;
      if (i.k === "jcc") live |= liveIn[i.target]!;
      if (record) record[j] = live;
      live = (live & ~kills[k]![j]!) | reads[k]![j]!;
    }
    return live;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = n - 1; k >= 0; k--) {
      const live = walk(k);
      if (live !== liveIn[k]) {
        liveIn[k] = live;
        changed = true;
      }
    }
  }
  return mf.blocks.map((b, k) => {
    const record: RegSet[] = new Array(b.insts.length);
    walk(k, record);
    return record;
  });
}

/** Bits needed for a non-negative integer (`bitLength(0) = 0`); a negative one needs all 64. */
const bitLength = (x: bigint): number => (x < 0n ? 64 : x.toString(2).length - (x === 0n ? 1 : 0));

/**
 * The known width of each register before each instruction of block `b`: `widths[k][r] = w`
 * means rr holds a value below 2^w before `b.insts[k]` (64: nothing known). A forward scan
 * from the block's start (where nothing is known) over what each instruction writes:
 * narrow loads and packet loads zero-extend, 32-bit ALU results are zero-extended, masks,
 * right shifts and moves of small constants bound their result. Facts about loaded values
 * are only used by rules whose inputs are scalars (see the file comment): a narrow load that
 * the verifier turns into a pointer (`skb->data`) fails every such rule's window.
 */
export function knownWidths(b: MBlock): Uint8Array[] {
  const w = new Uint8Array(11).fill(64);
  const out: Uint8Array[] = [];
  const immBits = (imm: number, w32: boolean): number => bitLength(w32 ? BigInt(imm >>> 0) : BigInt(imm));
  for (const i of b.insts) {
    out.push(w.slice());
    // An ALU instruction's operands as they were before it (its def below forgets its dst).
    const a = i.k === "alu" ? w[i.dst]! : 64;
    const b2 = i.k === "alu" ? (i.src !== undefined ? w[i.src]! : immBits(i.imm!, i.w === 32)) : 64;
    const e = collectOperands(i);
    for (let k = 0; k < e.nClobbers; k++) w[e.clobbers[k]!] = 64;
    for (let k = 0; k < e.nDefs; k++) w[e.defs[k]!] = 64;
    switch (i.k) {
      case "alu": {
        const neg = i.src === undefined && i.imm! < 0 && i.w === 64;
        const k = i.src === undefined ? i.imm! : -1;
        let r = 64;
        switch (i.op) {
          case "mov": r = b2; break;
          case "and": r = neg ? a : Math.min(a, b2); break;
          case "or": case "xor": r = Math.max(a, b2); break;
          case "add": r = Math.min(64, Math.max(a, b2) + 1); break;
          case "mul": r = Math.min(64, a + b2); break;
          case "rsh": r = k >= 0 ? Math.max(0, a - k) : a; break;
          case "arsh": r = k >= 0 && a < (i.w === 32 ? 32 : 64) ? Math.max(0, a - k) : 64; break;
          case "lsh": r = k >= 0 ? Math.min(64, a + k) : 64; break;
          default: r = 64;
        }
        w[i.dst] = i.w === 32 ? Math.min(32, r) : r;
        break;
      }
      case "neg":
        w[i.dst] = i.w === 32 ? 32 : 64;
        break;
      case "end":
        w[i.dst] = i.bits;
        break;
      case "ldx":
        w[i.dst] = { B: 8, H: 16, W: 32, DW: 64 }[i.size];
        break;
      case "ldpkt":
        w[0] = { B: 8, H: 16, W: 32 }[i.size];
        break;
      case "setcc":
        w[i.dst] = 1;
        break;
      case "lddw":
        w[i.dst] = bitLength(BigInt.asUintN(64, i.imm));
        break;
      default:
        break;
    }
  }
  return out;
}

/** Does every width precondition of `rule` hold for the window's registers (`regs`) before it? */
function preconditionsHold(rule: SuperoptRule, regs: readonly MReg[], widths: Uint8Array): boolean {
  return (rule.narrow ?? []).every(([p, bits]) => widths[regs[p - 1]!]! <= bits);
}

/** A rule parsed for matching: its rewrite is parsed when a window first matches it. */
interface ParsedRule {
  rule: SuperoptRule;
  parsed?: { replace: Insn[]; cpu: CpuVersion };
}

/**
 * `rule`'s rewrite parsed, and the oldest `-mcpu` version that has every instruction of it
 * (JMP32: v3; `<`, `<=`: v2). Parsed on first use: a compile process parses only the rules
 * its program's windows match (parsing all of them cost ~25–45 ms of CPU in a process).
 */
function parsedRule(r: ParsedRule): { replace: Insn[]; cpu: CpuVersion } {
  if (r.parsed) return r.parsed;
  const replace = r.rule.replace === "" ? [] : r.rule.replace.split("; ").map((t) => parseInsn(t));
  const cpu = Math.max(1, ...replace.map((insn) => lookupForm(insn)?.cpu ?? 4)) as CpuVersion;
  return (r.parsed = { replace, cpu });
}

/** The generated rules indexed (made once), as {@link indexRules} makes it. */
let table: RuleTrie | undefined;

/** Options of {@link superoptimize}. */
export interface SuperoptOptions {
  /** The target's `-mcpu` version (default v3): rules whose rewrite needs a later one are skipped. */
  cpu?: CpuVersion;
  /** Another rule table (tests); default the generated one. */
  rules?: readonly SuperoptRule[];
}

/**
 * Applies the rule table to `mf` (in place, after register allocation); returns the
 * instructions saved. Longer windows are tried first at each position; after a rewrite
 * the scan resumes a window's length before it, so that rewrites can cascade.
 */
export function superoptimize(mf: MFunction, options: SuperoptOptions = {}): number {
  const ruleTable = options.rules;
  const cpu = options.cpu ?? DEFAULT_CPU;
  const index = ruleTable ? indexRules(ruleTable) : (table ??= indexRules(SUPEROPT_RULES));
  if (index.next.size === 0) return 0;
  let saved = 0;
  let live: RegSet[][] | undefined;
  const liveness = (): RegSet[][] => (live ??= liveAfterInsts(mf));
  for (let bi = 0; bi < mf.blocks.length; bi++) {
    const b = mf.blocks[bi]!;
    const widths: { of?: Uint8Array[] } = {};
    const widthsOf = (): Uint8Array[] => (widths.of ??= knownWidths(b));
    for (let k = 0; k < b.insts.length; k++) {
      const first = b.insts[k]!;
      if (!isWindowInst(first) || first.k === "jcc") continue;
      const done = rewriteAt(b, bi, k, index, cpu, liveness, widthsOf);
      if (done > 0) {
        saved += done;
        live = undefined;
        widths.of = undefined;
        k = Math.max(-1, k - MAX_WINDOW);
      }
    }
  }
  return saved;
}

/**
 * `printInsn` of a window instruction in canonical form, remembered by its encoding: a
 * window's jump offset is 0 and its registers are pattern registers, so the opcode,
 * registers and (32-bit) immediate are an exact key. A program repeats few distinct
 * instructions; the memo is emptied when it grows large.
 */
function printWindowInsn(insn: Insn): string {
  if (insn.off !== 0 || insn.dst > 15 || insn.src > 15 || insn.imm !== (insn.imm | 0) || insn.imm64 !== undefined) return printInsn(insn);
  const key = (insn.code * 256 + insn.dst * 16 + insn.src) * 0x100000000 + (insn.imm >>> 0);
  let text = printed.get(key);
  if (text === undefined) {
    if (printed.size >= 1 << 14) printed.clear();
    printed.set(key, (text = printInsn(insn)));
  }
  return text;
}
const printed = new Map<number, string>();

/**
 * Tries the rules on the windows starting at `b.insts[k]`, longest first; returns the
 * instructions saved (0: none applied). The window's instructions are put in canonical form
 * one at a time while walking the rule trie, and only as far as some rule's window goes.
 */
function rewriteAt(b: MBlock, bi: number, k: number, index: RuleTrie, cpu: CpuVersion, liveness: () => RegSet[][], widthsOf: () => Uint8Array[]): number {
  // The window's physical registers in order of first appearance (`regs[p - 1]` is pattern
  // register rp), numbered by `pattern` as canonicalNumbering numbers them.
  const regs = scratchRegs;
  let count = 0;
  const pattern = (r: MReg): number => {
    for (let p = 0; p < count; p++) if (regs[p] === r) return p + 1;
    regs[count++] = r;
    return count;
  };
  /** The trie node each window length reaches (`nodes[len - 1]`), and how many pattern registers the window has. */
  const nodes: RuleTrie[] = [];
  const patterns: number[] = [];
  let node: RuleTrie = index;
  // A window: up to MAX_WINDOW window instructions, a conditional jump only as the last.
  for (let n = 0; n < MAX_WINDOW && k + n < b.insts.length; n++) {
    const i = b.insts[k + n]!;
    if (!isWindowInst(i) || (n > 0 && b.insts[k + n - 1]!.k === "jcc") || unmatchedImmediate(i, index.imms)) break;
    // The instruction's canonical text, remembered by a number made of the fields it is
    // printed from (kind, operation, width, pattern registers, immediate): no instruction is
    // made to print it again.
    const key = windowKey(i, pattern);
    let text = key === undefined ? undefined : texts.get(key);
    if (text === undefined) {
      const insn = toInsn(i, (r) => regs.indexOf(r) + 1);
      if (key === undefined) text = printWindowInsn(insn);
      else {
        if (texts.size >= 1 << 14) texts.clear();
        texts.set(key, (text = printInsn(insn)));
      }
    }
    const child = node.next.get(text);
    if (child === undefined) break;
    node = child;
    nodes.push(node);
    patterns.push(count);
  }
  for (let len = nodes.length; len >= 2; len--) {
    const candidates = nodes[len - 1]!.rules;
    if (candidates.length === 0) continue;
    const window = b.insts.slice(k, k + len) as WindowInst[];
    const windowRegs = regs.slice(0, patterns[len - 1]);
    const liveAfter = liveness()[bi]![k + len - 1]!;
    for (const candidate of candidates) {
      const { rule } = candidate;
      const { replace, cpu: needs } = parsedRule(candidate);
      if (needs > cpu) continue;
      if (rule.dead.some((p) => (liveAfter >> windowRegs[p - 1]!) & 1)) continue;
      if (rule.narrow && !preconditionsHold(rule, windowRegs, widthsOf()[k]!)) continue;
      const last = window[window.length - 1]!;
      const target = last.k === "jcc" ? last.target : 0;
      const loc = window.find((i) => i.loc)?.loc;
      const out: MInst[] = replace.map((insn) => {
        const i = fromInsn({ ...insn, dst: windowRegs[insn.dst - 1]!, src: insn.src === 0 ? 0 : windowRegs[insn.src - 1]! }, target);
        return loc ? { ...i, loc } : i;
      });
      b.insts.splice(k, len, ...out);
      return len - out.length;
    }
  }
  return 0;
}

/**
 * The rule list as a trie over its windows' instruction texts (a rule's `find` split at
 * `"; "`): at each node, in table order, the rules whose window is the path to it.
 */
interface RuleTrie {
  next: Map<string, RuleTrie>;
  rules: ParsedRule[];
  /**
   * At the root: every number in the rules' window texts as a 32-bit integer (see
   * {@link ruleNumbers}). A window instruction whose 32-bit immediate is not among them prints
   * as no rule's instruction: the walk stops there without printing it (at scale most
   * instructions carry a constant no rule names).
   */
  imms?: ReadonlySet<number>;
}

/** Canonical texts of window instructions by {@link windowKey} (emptied when it grows large). */
const texts = new Map<number, string>();

/** {@link rewriteAt}'s pattern registers (at most two per window instruction). */
const scratchRegs: MReg[] = [];

/** The operations of window instructions, numbered for {@link windowKey}. */
const WINDOW_OPS: ReadonlyMap<string, number> = new Map([...ALU_IN_WINDOWS, ...Object.keys(INVERSE_JUMPS)].map((op, n) => [op, n]));

/**
 * A number for the canonical text of window instruction `i` (its registers numbered by
 * `pattern`, in the order {@link regsOf} gives them): equal numbers, equal texts. Undefined
 * when an immediate is not a 32-bit integer (such an instruction is looked up by its text).
 */
function windowKey(i: WindowInst, pattern: (r: MReg) => number): number | undefined {
  let form: number;
  let a: number;
  let b = 0;
  let imm = 0;
  if (i.k === "jcc") {
    a = pattern(i.a);
    if (i.b !== undefined) {
      b = pattern(i.b);
      form = 0;
    } else {
      imm = i.imm!;
      form = 1;
    }
  } else if (i.k === "alu") {
    a = pattern(i.dst);
    if (i.src !== undefined) {
      b = pattern(i.src);
      form = 2;
    } else {
      imm = i.imm!;
      form = 3;
    }
  } else {
    a = pattern(i.dst);
    form = 4;
  }
  const op = i.k === "neg" ? 0 : WINDOW_OPS.get(i.op);
  if (op === undefined || imm !== (imm | 0) || a > 15 || b > 15) return undefined;
  return ((((form * 32 + op) * 2 + (i.w === 64 ? 1 : 0)) * 16 + a) * 16 + b) * 0x100000000 + (imm >>> 0);
}

/** Indexes `list` by its windows' texts (no rule is parsed here: see {@link parsedRule}). */
function indexRules(list: readonly SuperoptRule[]): RuleTrie {
  const root: RuleTrie = { next: new Map(), rules: [] };
  for (const rule of list) {
    let node = root;
    for (const text of rule.find.split("; ")) {
      let child = node.next.get(text);
      if (!child) node.next.set(text, (child = { next: new Map(), rules: [] }));
      node = child;
    }
    node.rules.push({ rule });
  }
  root.imms = ruleNumbers(list);
  return root;
}

/**
 * Every number written in the rules' windows (immediates, and jump offsets), as a 32-bit
 * integer: `printInsn` writes an instruction's immediate as a number equal to it modulo 2^32
 * (`0x…`, `-0x…`), so an instruction whose text is a rule's has its immediate here. Read off
 * the texts, not parsed (parsing loads the instruction parser: ~25 ms in a process).
 */
export function ruleNumbers(list: readonly SuperoptRule[]): ReadonlySet<number> {
  const numbers = new Set<number>();
  for (const rule of list) {
    for (const m of rule.find.matchAll(/(?<![\w])(-?)(0[xX][0-9a-fA-F]+|[0-9]+)/g)) {
      const value = BigInt(m[2]!);
      numbers.add(Number(BigInt.asIntN(32, m[1] ? -value : value)));
    }
  }
  return numbers;
}

/** Whether window instruction `i` has a 32-bit immediate that no rule's window instruction has (see {@link RuleTrie.imms}). */
export function unmatchedImmediate(i: WindowInst, imms: ReadonlySet<number> | undefined): boolean {
  if (imms === undefined) return false;
  const imm = i.k === "alu" ? (i.src === undefined ? i.imm : undefined) : i.k === "jcc" && i.b === undefined ? i.imm : undefined;
  return imm !== undefined && imm === (imm | 0) && !imms.has(imm);
}

/** A window of emitted code with what is live after it, as the offline search harvests it. */
export interface HarvestedWindow {
  /** Canonical text (see `canonicalWindow` in superopt.ts). */
  text: string;
  /** Pattern registers live after the window (1-based, as in the text). */
  liveOut: number[];
  /** What is known before the window: `[p, bits]` when rp holds a value below 2^bits (bits < 64). */
  narrow: [number, number][];
}

/** Every window of 2..MAX_WINDOW instructions of `mf` (allocated), for the offline search. */
export function harvestWindows(mf: MFunction): HarvestedWindow[] {
  const live = liveAfterInsts(mf);
  const out: HarvestedWindow[] = [];
  mf.blocks.forEach((b, bi) => {
    const widths = knownWidths(b);
    for (let k = 0; k < b.insts.length; k++) {
      for (let len = 2; len <= MAX_WINDOW && k + len <= b.insts.length; len++) {
        const window = b.insts.slice(k, k + len);
        if (!window.every(isWindowInst) || window.slice(0, -1).some((i) => i.k === "jcc")) break;
        const { text, regs } = canonicalWindow(window as WindowInst[]);
        const after = live[bi]![k + len - 1]!;
        const narrow = regs.flatMap((r, p): [number, number][] => (widths[k]![r]! < 64 ? [[p + 1, widths[k]![r]!]] : []));
        out.push({ text, liveOut: regs.flatMap((r, p) => ((after >> r) & 1 ? [p + 1] : [])), narrow });
      }
    }
  });
  return out;
}
