// Linking BPF-to-BPF calls for loading, as libbpf does: a program that calls functions of
// `.text` is loaded with the subprograms it reaches appended after its own code, and every
// call's offset rewritten for that layout.
//
// In the object, a call from a program section carries an `R_BPF_64_32` relocation against
// `.text` with imm = (callee's instruction index in .text) - 1; calls inside `.text` are
// pc-relative (imm = target - (call + 1)). Subprograms are appended in `.text` order, only
// those reachable from the program (the kernel rejects unreachable instructions).
import type { ObjectProgram } from "@luabpf/elf";
import { CallSrc, INSN_SIZE } from "@luabpf/platform";
import { LoaderError } from "./errors.js";

/** Opcode byte of `call` (BPF_JMP | BPF_CALL). */
const CALL_OPCODE = 0x85;

/** A subprogram of `.text` with its start, in instructions. */
interface Placed {
  program: ObjectProgram;
  /** First instruction index in `.text`. */
  start: number;
  /** Its code with map relocations bound. */
  code: Uint8Array;
}

const isLocalCall = (code: Uint8Array, at: number): boolean => code[at] === CALL_OPCODE && code[at + 1]! >> 4 === CallSrc.PSEUDO_CALL;

/**
 * The code to load for `program` (`code`: its own code, maps bound): itself, then the
 * subprograms it calls, transitively, with call offsets fixed. `subprograms` are the
 * object's `.text` functions in section order, with their map relocations bound.
 */
export function linkCalls(program: ObjectProgram, code: Uint8Array, subprograms: readonly { program: ObjectProgram; code: Uint8Array }[], where: string): Uint8Array {
  const calls = program.relocations.filter((r) => r.type === "call");
  if (calls.length === 0) return code;
  const placed: Placed[] = [];
  let start = 0;
  for (const s of subprograms) {
    placed.push({ ...s, start });
    start += s.program.code.length / INSN_SIZE;
  }
  const owner = (index: number): Placed => {
    const p = placed.find((x) => index >= x.start && index < x.start + x.program.code.length / INSN_SIZE);
    if (!p) throw new LoaderError(`${where}: a call targets instruction ${index} of .text, which is in no function`);
    if (index !== p.start) throw new LoaderError(`${where}: a call targets the middle of ${p.program.name}`);
    return p;
  };
  const imm = (c: Uint8Array, at: number): number => new DataView(c.buffer, c.byteOffset).getInt32(at + 4, true);
  // Which subprograms are reached (from the program's relocated calls, then through .text calls).
  const needed = new Set<Placed>();
  const work: Placed[] = [];
  const reach = (p: Placed) => {
    if (!needed.has(p)) {
      needed.add(p);
      work.push(p);
    }
  };
  for (const r of calls) reach(owner(imm(code, r.offset) + 1));
  while (work.length > 0) {
    const p = work.pop()!;
    for (let at = 0; at < p.code.length; at += INSN_SIZE) if (isLocalCall(p.code, at)) reach(owner(p.start + at / INSN_SIZE + 1 + imm(p.code, at)));
  }
  const order = placed.filter((p) => needed.has(p));
  const base = code.length / INSN_SIZE;
  const newStart = new Map<Placed, number>();
  let next = base;
  for (const p of order) {
    newStart.set(p, next);
    next += p.code.length / INSN_SIZE;
  }
  const out = new Uint8Array(next * INSN_SIZE);
  out.set(code, 0);
  for (const p of order) out.set(p.code, newStart.get(p)! * INSN_SIZE);
  const view = new DataView(out.buffer);
  for (const r of calls) {
    const target = owner(imm(code, r.offset) + 1);
    view.setInt32(r.offset + 4, newStart.get(target)! - (r.offset / INSN_SIZE + 1), true);
  }
  for (const p of order) {
    const at0 = newStart.get(p)!;
    for (let at = 0; at < p.code.length; at += INSN_SIZE) {
      if (!isLocalCall(p.code, at)) continue;
      const target = owner(p.start + at / INSN_SIZE + 1 + imm(p.code, at));
      view.setInt32(at0 * INSN_SIZE + at + 4, newStart.get(target)! - (at0 + at / INSN_SIZE + 1), true);
    }
  }
  return out;
}
