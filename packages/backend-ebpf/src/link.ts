/**
 * Linking of BPF-to-BPF calls, as clang lays them out: the functions programs call are
 * subprograms placed one after another in `.text`; a `call` (src_reg BPF_PSEUDO_CALL)
 * holds the callee's offset in slots relative to the next instruction.
 *
 * - Within `.text` the offset is known: `imm = callee start − (call slot + 1)`.
 * - From a program section into `.text` it is not (the loader places `.text` after the
 *   program): `imm = callee start in .text − 1`, plus an `R_BPF_64_32` relocation against
 *   the `.text` section symbol, which libbpf and our loader resolve by appending the
 *   subprograms they need.
 *
 * Also checks the stack over every call chain: the kernel rounds each frame up to 32
 * bytes and allows 512 bytes over the whole chain. The call graph must be acyclic (eBPF
 * has no recursion); the front end reports recursion with a location, this is the
 * backend's own guard for IR from elsewhere.
 */
import { CompileError, InternalError } from "@luabpf/ir";
import { MAX_STACK } from "@luabpf/platform";
import type { CompiledProgram } from "./compile.js";
import { insnSlots } from "./isa/index.js";

/** The kernel's granularity of frames in a call chain (`round_up(depth, 32)` in the verifier). */
const FRAME_ROUNDING = 32;

/** Fills in the `imm` of every BPF-to-BPF call and the `.text` relocations; checks the call chains' stack. */
export function linkCalls(compiled: CompiledProgram[]): void {
  const byName = new Map(compiled.map((c) => [c.name, c]));
  const textStart = new Map<string, number>();
  let slot = 0;
  for (const c of compiled) {
    if (!c.subprogram) continue;
    textStart.set(c.name, slot);
    slot += c.insns.reduce((n, i) => n + insnSlots(i), 0);
  }
  for (const c of compiled) {
    for (const site of c.calls) {
      const target = textStart.get(site.callee);
      if (target === undefined) throw new InternalError(`${c.name} calls @${site.callee}, which is not a compiled subprogram`);
      const index = slotToIndex(c, site.slot);
      const insn = c.insns[index]!;
      if (c.subprogram) insn.imm = target - (textStart.get(c.name)! + site.slot + 1);
      else {
        insn.imm = target - 1;
        c.textCalls.push(site.slot);
      }
    }
  }
  for (const c of compiled) if (!c.subprogram) checkStack(c, byName);
}

/** The index in `insns` of the instruction at `slot` (an lddw takes two slots). */
function slotToIndex(c: CompiledProgram, slot: number): number {
  let s = 0;
  for (let i = 0; i < c.insns.length; i++) {
    if (s === slot) return i;
    s += insnSlots(c.insns[i]!);
  }
  throw new InternalError(`${c.name}: no instruction at slot ${slot}`);
}

function checkStack(program: CompiledProgram, byName: ReadonlyMap<string, CompiledProgram>): void {
  const frame = (c: CompiledProgram) => Math.ceil(Math.max(c.frameSize, 1) / FRAME_ROUNDING) * FRAME_ROUNDING;
  const visit = (c: CompiledProgram, chain: string[], depth: number): void => {
    if (chain.includes(c.name)) {
      throw new CompileError({ severity: "error", message: `recursive calls ${[...chain, c.name].join(" → ")}: eBPF programs cannot recurse` });
    }
    const total = depth + frame(c);
    if (total > MAX_STACK) {
      throw new CompileError({
        severity: "error",
        message: `the call chain ${[...chain, c.name].join(" → ")} needs ${total} bytes of stack (each frame rounded up to ${FRAME_ROUNDING} bytes, as the kernel counts); eBPF allows ${MAX_STACK}`,
      });
    }
    for (const site of c.calls) visit(byName.get(site.callee)!, [...chain, c.name], total);
  };
  visit(program, [], 0);
}
