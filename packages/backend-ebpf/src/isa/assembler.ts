// Symbolic assembler: resolves label references of jumps to relative slot offsets and collects
// relocations for lddw map references and CO-RE relocations of instructions.
//
// Passes over the items: the first assigns each item its slot (lddw takes 2) and records
// label slots; the last patches each jump with off = target - (slot + 1) (imm for gotol), checking
// that it fits int16 (int32 for gotol), and emits a relocation at the slot of each referencing lddw.
// Instructions are copied, never mutated. Errors name the item index and the label.
//
// Branch relaxation (as assemblers do for short branches, e.g. GNU as): when the target CPU has
// gotol (v4), a jump whose offset does not fit int16 becomes long — `ja` turns into `gotol`, a
// conditional jump into the opposite condition over one slot followed by `gotol` (`jset`, which
// has no opposite, into `jset +1; ja +1; gotol`). Growing a jump can push others out of range,
// so slots are reassigned until no jump changes: jumps only ever grow, so this terminates, in
// practice after one or two extra passes. Without v4 an out-of-range jump is a JumpRangeError.

import { IsaError, JumpRangeError, checkInsn, describeInsn, gotol, insnSlots, invertJump, isGotol, isRelativeJump, ja, type Insn } from "./insn.js";
import { LDDW_CODE, type CpuVersion } from "./opcodes.js";

/** Options of {@link assemble}. */
export interface AsmOptions {
  /**
   * The target CPU: instructions newer than it are refused, and from v4 on out-of-range jumps
   * are relaxed to gotol. Default: no version check and no relaxation.
   */
  cpu?: CpuVersion;
  /**
   * The items' instructions may become the output's own (the caller keeps no reference to
   * them): not copied. Default: copied, so the output shares nothing with the items.
   */
  adopt?: boolean;
}

/** One assembler input item. */
export type AsmItem =
  /** A complete instruction, emitted as is. */
  | { readonly kind: "insn"; readonly insn: Insn }
  /** Defines `name` at the slot of the next instruction. */
  | { readonly kind: "label"; readonly name: string }
  /** A relative jump (ja, gotol, conditional) whose offset is resolved to `target`. */
  | { readonly kind: "jump"; readonly insn: Insn; readonly target: string }
  /** A lddw whose immediate the loader patches with `symbol` (a map, typically). */
  | { readonly kind: "reloc"; readonly insn: Insn; readonly symbol: string }
  /** An instruction whose immediate (or offset) the loader rewrites for CO-RE relocation `name`. */
  | { readonly kind: "core"; readonly insn: Insn; readonly name: string };

/** A relocation: the lddw at 8-byte slot `slot` refers to `symbol`. */
export interface AsmRelocation {
  /** Slot index (in 8-byte units) of the lddw to patch; its byte offset is slot * 8. */
  slot: number;
  /** Referenced symbol name. */
  symbol: string;
}

/** A CO-RE relocation: the instruction at slot `slot` materialises relocation `name`. */
export interface AsmCoreRelocation {
  slot: number;
  name: string;
}

/** Assembler output. */
export interface AsmResult {
  /** Resolved instructions. */
  insns: Insn[];
  /** Relocations in slot order. */
  relocations: AsmRelocation[];
  /** CO-RE relocations in slot order. */
  coreRelocations: AsmCoreRelocation[];
  /** Slot of every label. */
  labels: Map<string, number>;
  /** Slot of every item (a label's: the next instruction's), after relaxation. */
  itemSlots: number[];
}

/** Item constructor: a plain instruction. */
export function asmInsn(insn: Insn): AsmItem {
  return { kind: "insn", insn };
}

/** Item constructor: a label definition. */
export function asmLabel(name: string): AsmItem {
  return { kind: "label", name };
}

/** Item constructor: a jump to `target` (its off, or imm for gotol, is filled in). */
export function asmJump(insn: Insn, target: string): AsmItem {
  return { kind: "jump", insn, target };
}

/** Item constructor: a lddw (e.g. `ldMapFd(1)`) relocated against `symbol`. */
export function asmReloc(insn: Insn, symbol: string): AsmItem {
  return { kind: "reloc", insn, symbol };
}

/** Item constructor: an instruction carrying CO-RE relocation `name`. */
export function asmCore(insn: Insn, name: string): AsmItem {
  return { kind: "core", insn, name };
}

/**
 * Assembles items into instructions. Throws IsaError for duplicate or undefined labels, jumps whose
 * offset does not fit (int16 for off — a {@link JumpRangeError}, unless relaxed — int32 for gotol's
 * imm), a jump item that is not a relative jump, a relocation item that is not a lddw, instructions
 * checkInsn rejects and, with `options.cpu`, instructions newer than that CPU.
 */
export function assemble(items: readonly AsmItem[], options: AsmOptions = {}): AsmResult {
  const relax = options.cpu !== undefined && options.cpu >= 4;
  /** Jump items made long: 0 short, else the number of slots of the long form. */
  const long = new Uint8Array(items.length);
  const longSlots = (insn: Insn): number => (isGotol(insn) || !isConditional(insn) ? 1 : invertJump(insn) ? 2 : 3);
  let labels: Map<string, number>;
  const slots: number[] = new Array<number>(items.length);
  for (;;) {
    labels = new Map<string, number>();
    let slot = 0;
    for (let index = 0; index < items.length; index++) {
      const item = items[index]!;
      slots[index] = slot;
      if (item.kind === "label") {
        if (labels.has(item.name)) throw new IsaError(`item ${index}: label "${item.name}" is defined twice`);
        labels.set(item.name, slot);
      } else slot += long[index] || insnSlots(item.insn);
    }
    if (!relax) break;
    let grown = false;
    for (let index = 0; index < items.length; index++) {
      const item = items[index]!;
      if (item.kind !== "jump" || long[index] || isGotol(item.insn)) continue;
      const target = labels.get(item.target);
      if (target === undefined) continue; // reported below
      const delta = target - (slots[index]! + 1);
      if (delta < -0x8000 || delta > 0x7fff) {
        long[index] = longSlots(item.insn);
        grown = true;
      }
    }
    if (!grown) break;
  }

  const out: AsmResult = { insns: [], relocations: [], coreRelocations: [], labels, itemSlots: slots };
  const own = options.adopt ? (insn: Insn): Insn => insn : (insn: Insn): Insn => ({ ...insn });
  for (let index = 0; index < items.length; index++) {
    const item = items[index]!;
    const at = slots[index]!;
    switch (item.kind) {
      case "label":
        break;
      case "insn":
        push(out, own(item.insn), index, at, options.cpu);
        break;
      case "jump": {
        if (!isRelativeJump(item.insn)) failAt(index, at, `${describeInsn(item.insn)} is not a relative jump`);
        const target = labels.get(item.target);
        if (target === undefined) failAt(index, at, `jump to undefined label "${item.target}"`);
        const delta = target - (at + 1);
        if (isGotol(item.insn)) {
          if (delta < -0x80000000 || delta > 0x7fffffff) {
            throw new JumpRangeError(`item ${index} (slot ${at}): gotol to "${item.target}" is ${delta} slots away, beyond int32`, delta);
          }
          push(out, { ...item.insn, imm: delta }, index, at, options.cpu);
          break;
        }
        if (long[index]) {
          // Relaxed: a gotol at the last slot of the long form.
          if (!isConditional(item.insn)) {
            push(out, gotol(delta), index, at, options.cpu);
            break;
          }
          const inverse = invertJump(item.insn);
          if (inverse) {
            push(out, { ...inverse, off: 1 }, index, at, options.cpu);
            push(out, gotol(target - (at + 2)), index, at + 1, options.cpu);
            break;
          }
          push(out, { ...item.insn, off: 1 }, index, at, options.cpu);
          push(out, ja(1), index, at + 1, options.cpu);
          push(out, gotol(target - (at + 3)), index, at + 2, options.cpu);
          break;
        }
        if (delta < -0x8000 || delta > 0x7fff) {
          throw new JumpRangeError(`item ${index} (slot ${at}): jump to "${item.target}" is ${delta} slots away, beyond the int16 range -32768..32767 (use gotol)`, delta);
        }
        push(out, { ...item.insn, off: delta }, index, at, options.cpu);
        break;
      }
      case "reloc":
        if (item.insn.code !== LDDW_CODE) failAt(index, at, `relocation against "${item.symbol}" needs a lddw, got ${describeInsn(item.insn)}`);
        out.relocations.push({ slot: at, symbol: item.symbol });
        push(out, own(item.insn), index, at, options.cpu);
        break;
      case "core":
        out.coreRelocations.push({ slot: at, name: item.name });
        push(out, own(item.insn), index, at, options.cpu);
        break;
      default:
        return assertNever(item);
    }
  }
  return out;
}

/** Checks `insn` (item `index` at slot `at`) against the form table and the target CPU, and appends it. */
function push(out: AsmResult, insn: Insn, index: number, at: number, cpu: CpuVersion | undefined): void {
  let form;
  try {
    form = checkInsn(insn);
  } catch (cause) {
    throw new IsaError(`item ${index} (slot ${at}): ${(cause as Error).message}`, { cause });
  }
  if (cpu !== undefined && form.cpu > cpu) {
    throw new IsaError(`item ${index} (slot ${at}): ${form.name} needs cpu v${form.cpu}, the target is v${cpu}`);
  }
  out.insns.push(insn);
}

/** Throws the IsaError of item `index` at slot `at`. */
function failAt(index: number, at: number, why: string): never {
  throw new IsaError(`item ${index} (slot ${at}): ${why}`);
}

/** A conditional jump (not ja or gotol). */
function isConditional(insn: Insn): boolean {
  return isRelativeJump(insn) && (insn.code & 0xf0) !== 0x00;
}

function assertNever(value: never): never {
  throw new Error(`unexpected item ${JSON.stringify(value)}`);
}
