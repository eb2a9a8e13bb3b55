/**
 * Emission: allocated machine IR → eBPF instructions through the symbolic assembler.
 *
 * Lays out the stack frame (program stack data first, spill slots below it; the kernel
 * allows `MAX_STACK` = 512 bytes), expands the pseudo instructions (`frameaddr`, `setcc`, `cmov`),
 * lays the blocks out in the order placement.ts chooses, drops jumps to the next block and
 * inverts a conditional jump over an unconditional one.
 *
 * Kernel limits are compile errors here, not verifier surprises (the backend driver adds
 * the program's location): a frame over `MAX_STACK` bytes, more than `MAX_PROGRAM_INSNS`
 * instruction slots, and — below cpu v4, which relaxes them to `gotol` in the assembler —
 * a jump farther than a 16-bit offset reaches. Every instruction is checked against the
 * target CPU version.
 */
import { assertNever, CompileError, InternalError, type SourceLocation } from "@luabpf/ir";
import { MAX_PROGRAM_INSNS, MAX_STACK } from "@luabpf/platform";
import {
  alu32Imm, alu32Reg, alu64Imm, alu64Reg, asmInsn, asmJump, asmLabel, asmCore, asmReloc, assemble, atomic, atomicAdd, call, callLocal, endian, exit, ja,
  jmp32Imm, jmp32Reg, jmpImm, jmpReg, lddw, ldAbs, ldInd, ldxMem, mov64Reg, movsx64, neg32, neg64, stMem, stxMem,
  INVERSE_JUMPS, JMP_OPS, JumpRangeError, SWAPPED_JUMPS,
  type AsmItem, type AsmResult, type CpuVersion, type Insn, type JmpCondOp,
} from "./isa/index.js";
import { DEFAULT_CPU } from "./isel.js";
import { placeBlocks } from "./placement.js";
import { FP, isVirtual, type MAddr, type MFunction, type MInst } from "./mir.js";

/** Options of {@link emitFunction}. */
export interface EmitOptions {
  /** The eBPF ISA version (`-mcpu=vN`); default v3. */
  cpu?: CpuVersion;
}

/** Assigns each frame slot its offset below r10; returns the frame size. */
export function layoutFrame(mf: MFunction): number {
  let top = 0;
  // Program data first (in declaration order), spill slots after: deterministic.
  const order = [...mf.slots.keys()].sort((a, b) => Number(!!mf.slots[a]!.spill) - Number(!!mf.slots[b]!.spill) || a - b);
  for (const k of order) {
    const s = mf.slots[k]!;
    top = Math.ceil((top + s.size) / s.align) * s.align;
    s.offset = top;
  }
  return top;
}

/** A BPF-to-BPF call site: the slot of its `call` and the function it calls (linked by link.ts). */
export interface CallSite {
  slot: number;
  callee: string;
}

/** The source location of the instructions from `slot` on (until the next row). */
export interface LineRow {
  slot: number;
  loc: SourceLocation;
}

/** Emitted code: instructions, relocations, call sites, the frame size and the line table (rows where the location changes). */
export interface EmittedFunction extends AsmResult {
  calls: CallSite[];
  frameSize: number;
  lines: LineRow[];
}

const sameLocation = (a: SourceLocation | undefined, b: SourceLocation | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.file === b.file && a.line === b.line && a.column === b.column);

/**
 * Emits `mf` (registers allocated, frame laid out) as instructions and map relocations,
 * with the line table: each instruction has the location of the machine instruction it
 * expands (one without a location continues the previous row).
 */
export function emitFunction(mf: MFunction, options: EmitOptions = {}): EmittedFunction {
  const cpu = options.cpu ?? DEFAULT_CPU;
  const frameSize = layoutFrame(mf);
  if (frameSize > MAX_STACK) {
    throw new CompileError({
      severity: "error",
      message: `program ${mf.name} needs a ${frameSize}-byte stack frame; eBPF allows at most ${MAX_STACK} bytes`,
    });
  }
  const items: AsmItem[] = [];
  /** The location of each item (parallel to `items`), and of the machine instruction being expanded. */
  const itemLocs: (SourceLocation | undefined)[] = [];
  let here: SourceLocation | undefined;
  const push = (item: AsmItem): void => {
    items.push(item);
    itemLocs.push(here);
  };
  let local = 0;
  const reg = (r: number): number => {
    if (isVirtual(r)) throw new InternalError(`emit: virtual register ${r} left after allocation`);
    return r;
  };
  const mem = (a: MAddr): { base: number; off: number } => {
    if ("base" in a) return { base: reg(a.base), off: a.off };
    const s = mf.slots[a.slot];
    if (!s || s.offset === undefined) throw new InternalError(`emit: frame slot ${a.slot} has no offset`);
    return { base: FP, off: a.off - s.offset };
  };
  const jcc = (op: JmpCondOp, w: 32 | 64, a: number, b: number | undefined, imm: number | undefined, target: string): void => {
    const insn: Insn =
      b !== undefined ? (w === 32 ? jmp32Reg(op, a, b, 0) : jmpReg(op, a, b, 0)) : w === 32 ? jmp32Imm(op, a, imm!, 0) : jmpImm(op, a, imm!, 0);
    push(asmJump(insn, target));
  };
  /** Block labels, made once per block (jumps name them). */
  const blockLabels: string[] = [];
  const label = (b: number): string => (blockLabels[b] ??= `LBB${b}`);
  const callSites: { label: string; callee: string }[] = [];

  // Jump threading: a block that is only `ja X` forwards its jumps to X.
  const forward = (b: number): number => {
    for (let hops = 0; hops < mf.blocks.length; hops++) {
      const insts = mf.blocks[b]!.insts;
      if (insts.length !== 1 || insts[0]!.k !== "ja" || insts[0]!.target === b) return b;
      b = insts[0]!.target;
    }
    return b;
  };
  for (const block of mf.blocks) for (const i of block.insts) if (i.k === "ja" || i.k === "jcc") i.target = forward(i.target);

  // The kernel rejects unreachable instructions: emit only blocks reachable by jumps and
  // fall-through from the entry (threading may have orphaned forwarding blocks).
  const reachable = new Uint8Array(mf.blocks.length);
  const work = [0];
  while (work.length > 0) {
    const b = work.pop()!;
    if (reachable[b]) continue;
    reachable[b] = 1;
    const insts = mf.blocks[b]!.insts;
    for (const i of insts) if (i.k === "ja" || i.k === "jcc") work.push(i.target);
    const last = insts[insts.length - 1];
    if (!last || (last.k !== "ja" && last.k !== "exit")) if (b + 1 < mf.blocks.length) work.push(b + 1);
  }
  const order = placeBlocks(
    mf,
    mf.blocks.map((_, b) => b).filter((b) => reachable[b]),
    invertible,
  );

  for (let k = 0; k < order.length; k++) {
    const bi = order[k]!;
    const next = order[k + 1];
    const insts = mf.blocks[bi]!.insts;
    push(asmLabel(label(bi)));
    // Branch layout: fall through where possible (the block's last one or two instructions change).
    let end = insts.length;
    let replaced: MInst | undefined;
    const last = insts[end - 1];
    const prev = insts[end - 2];
    if (last?.k === "ja" && last.target === next) end--;
    else if (last?.k === "ja" && prev?.k === "jcc" && prev.target === next) {
      const inverse = inverted(prev);
      if (inverse) {
        end--;
        replaced = { ...inverse, target: last.target };
      }
    }
    for (let j = 0; j < end; j++) emitOne(replaced !== undefined && j === end - 1 ? replaced : insts[j]!);
  }

  /** Whether the target CPU has a jump on the opposite condition of `j` (see {@link inverted}). */
  function invertible(j: Extract<MInst, { k: "jcc" }>): boolean {
    const op = INVERSE_JUMPS[j.op];
    if (op === undefined) return false;
    return JMP_OPS[op].cpu <= cpu || j.b !== undefined;
  }

  /** The jump on the opposite condition, in a form the target CPU has (undefined when there is none). */
  function inverted(j: Extract<MInst, { k: "jcc" }>): Extract<MInst, { k: "jcc" }> | undefined {
    const op = INVERSE_JUMPS[j.op];
    if (op === undefined) return undefined;
    if (JMP_OPS[op].cpu <= cpu) return { ...j, op };
    // Before v2 (no `<`, `<=`): exchange the operands, which needs a register on the right.
    return j.b !== undefined ? { ...j, op: SWAPPED_JUMPS[op], a: j.b, b: j.a } : undefined;
  }

  function emitOne(i: MInst): void {
    here = i.loc ?? here;
    switch (i.k) {
      case "alu":
        if (i.src !== undefined) push(asmInsn(i.w === 64 ? alu64Reg(i.op, reg(i.dst), reg(i.src)) : alu32Reg(i.op, reg(i.dst), reg(i.src))));
        else {
          const insn = i.w === 64 ? alu64Imm(i.op, reg(i.dst), i.imm!) : alu32Imm(i.op, reg(i.dst), i.imm!);
          push(i.core !== undefined ? asmCore(insn, i.core) : asmInsn(insn));
        }
        return;
      case "neg":
        push(asmInsn(i.w === 64 ? neg64(reg(i.dst)) : neg32(reg(i.dst))));
        return;
      case "end":
        push(asmInsn(endian(i.kind, reg(i.dst), i.bits)));
        return;
      case "movsx":
        push(asmInsn(movsx64(reg(i.dst), reg(i.src), i.bits)));
        return;
      case "ldx": {
        const m = mem(i.addr);
        push(asmInsn(ldxMem(i.size, reg(i.dst), m.base, m.off)));
        return;
      }
      case "stx": {
        const m = mem(i.addr);
        push(asmInsn(stxMem(i.size, m.base, reg(i.src), m.off)));
        return;
      }
      case "st": {
        const m = mem(i.addr);
        push(asmInsn(stMem(i.size, m.base, m.off, i.imm)));
        return;
      }
      case "lddw":
        push(asmInsn(lddw(reg(i.dst), i.imm)));
        return;
      case "ldmap":
        push(asmReloc(lddw(reg(i.dst), 0n), i.map)); // src 0 as clang emits; the loader sets BPF_PSEUDO_MAP_FD
        return;
      case "coreval":
        // the immediate (the value for the program's own types) is filled in with the relocation record
        push(asmCore(alu64Imm("mov", reg(i.dst), 0), i.core));
        return;
      case "frameaddr": {
        const m = mem({ slot: i.slot, off: i.off });
        push(asmInsn(mov64Reg(reg(i.dst), FP)));
        if (m.off !== 0) push(asmInsn(alu64Imm("add", reg(i.dst), m.off)));
        return;
      }
      case "ldpkt":
        push(asmInsn(i.index !== undefined ? ldInd(i.size, reg(i.index), i.imm) : ldAbs(i.size, i.imm)));
        return;
      case "atomic": {
        const m = mem(i.addr);
        push(asmInsn(i.fetch ? atomic("fetch_add", i.size, m.base, reg(i.src), m.off) : atomicAdd(i.size, m.base, reg(i.src), m.off)));
        return;
      }
      case "call":
        if (i.callee !== undefined) {
          // The offset is the linker's (link.ts): the callee's place is known once every function is emitted.
          const site = `.Lcall${local++}`;
          push(asmLabel(site));
          callSites.push({ label: site, callee: i.callee });
          push(asmInsn(callLocal(-1)));
        } else push(asmInsn(call(i.helper)));
        return;
      case "setcc": {
        const after = `.Ltmp${local++}`;
        push(asmInsn(alu64Imm("mov", reg(i.dst), 1)));
        jcc(i.op, i.w, reg(i.a), i.b !== undefined ? reg(i.b) : undefined, i.imm, after);
        push(asmInsn(alu64Imm("mov", reg(i.dst), 0)));
        push(asmLabel(after));
        return;
      }
      case "cmov": {
        // `if !(test) goto +1; dst = src`, or where the inverse test does not exist at this
        // cpu version, `if (test) goto +1; goto +1; dst = src`.
        const after = `.Ltmp${local++}`;
        const test = { k: "jcc" as const, op: i.op, w: i.w, a: i.a, b: i.b, imm: i.imm, target: 0 };
        const inverse = inverted(test);
        if (inverse) jcc(inverse.op, inverse.w, reg(inverse.a), inverse.b !== undefined ? reg(inverse.b) : undefined, inverse.imm, after);
        else {
          const set = `.Ltmp${local++}`;
          jcc(i.op, i.w, reg(i.a), i.b !== undefined ? reg(i.b) : undefined, i.imm, set);
          push(asmJump(ja(0), after));
          push(asmLabel(set));
        }
        const src = i.src;
        push(asmInsn("reg" in src ? mov64Reg(reg(i.dst), reg(src.reg)) : src.w === 64 ? alu64Imm("mov", reg(i.dst), src.imm) : alu32Imm("mov", reg(i.dst), src.imm)));
        push(asmLabel(after));
        return;
      }
      case "jcc":
        jcc(i.op, i.w, reg(i.a), i.b !== undefined ? reg(i.b) : undefined, i.imm, label(i.target));
        return;
      case "ja":
        push(asmJump(ja(0), label(i.target)));
        return;
      case "exit":
        push(asmInsn(exit()));
        return;
      default:
        assertNever(i, "machine instruction");
    }
  }
  let result: AsmResult;
  try {
    // Every item's instruction was made here for this listing alone: the output may keep it.
    result = assemble(items, { cpu, adopt: true });
  } catch (e) {
    if (!(e instanceof JumpRangeError)) throw e;
    throw new CompileError(
      {
        severity: "error",
        message: `program ${mf.name} is too large: a jump spans ${Math.abs(e.distance)} instructions, beyond the ±32,767 of a 16-bit jump offset on -mcpu=v${cpu}; compile with -mcpu=v4 (long jumps with gotol) or make the program smaller`,
      },
      { cause: e },
    );
  }
  let slots = 0;
  for (const insn of result.insns) slots += insn.imm64 !== undefined ? 2 : 1;
  if (slots > MAX_PROGRAM_INSNS) {
    throw new CompileError({
      severity: "error",
      message: `program ${mf.name} is ${slots.toLocaleString("en-US")} instructions long; the kernel loads at most ${MAX_PROGRAM_INSNS.toLocaleString("en-US")} (BPF_COMPLEXITY_LIMIT_INSNS)`,
    });
  }
  // Rows at the slots the assembler gave the items (a relaxed jump takes two or three).
  const lines: LineRow[] = [];
  let row: SourceLocation | undefined;
  for (let k = 0; k < items.length; k++) {
    if (items[k]!.kind === "label") continue;
    const loc = itemLocs[k];
    if (loc && !sameLocation(loc, row)) {
      lines.push({ slot: result.itemSlots[k]!, loc });
      row = loc;
    }
  }
  const { insns, relocations, coreRelocations, labels, itemSlots } = result;
  return { insns, relocations, coreRelocations, labels, itemSlots, frameSize, lines, calls: callSites.map((c) => ({ slot: labels.get(c.label)!, callee: c.callee })) };
}
