// Symbolic assembler: resolves label references of jumps to relative slot offsets and collects
// relocations for lddw map references and CO-RE relocations of instructions.
//
// Two linear passes over the items: the first assigns each item its slot (lddw takes 2) and records
// label slots; the second patches each jump with off = target - (slot + 1) (imm for gotol), checking
// that it fits int16 (int32 for gotol), and emits a relocation at the slot of each referencing lddw.
// Instructions are copied, never mutated. Errors name the item index and the label.

import { IsaError, JumpRangeError, checkInsn, describeInsn, insnSlots, isGotol, isRelativeJump, type Insn } from "./insn.js";
import { LDDW_CODE } from "./opcodes.js";

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
 * offset does not fit (int16 for off, int32 for gotol's imm), a jump item that is not a relative
 * jump, a relocation item that is not a lddw, and instructions checkInsn rejects.
 */
export function assemble(items: readonly AsmItem[]): AsmResult {
  const labels = new Map<string, number>();
  const slots: number[] = new Array<number>(items.length);
  let slot = 0;
  items.forEach((item, index) => {
    slots[index] = slot;
    if (item.kind === "label") {
      if (labels.has(item.name)) throw new IsaError(`item ${index}: label "${item.name}" is defined twice`);
      labels.set(item.name, slot);
    } else {
      slot += insnSlots(item.insn);
    }
  });

  const insns: Insn[] = [];
  const relocations: AsmRelocation[] = [];
  const coreRelocations: AsmCoreRelocation[] = [];
  items.forEach((item, index) => {
    const at = slots[index]!;
    const fail = (why: string): never => {
      throw new IsaError(`item ${index} (slot ${at}): ${why}`);
    };
    let insn: Insn;
    switch (item.kind) {
      case "label":
        return;
      case "insn":
        insn = { ...item.insn };
        break;
      case "jump": {
        if (!isRelativeJump(item.insn)) fail(`${describeInsn(item.insn)} is not a relative jump`);
        const target = labels.get(item.target);
        if (target === undefined) fail(`jump to undefined label "${item.target}"`);
        const delta = target! - (at + 1);
        if (isGotol(item.insn)) {
          if (delta < -0x80000000 || delta > 0x7fffffff) {
            throw new JumpRangeError(`item ${index} (slot ${at}): gotol to "${item.target}" is ${delta} slots away, beyond int32`, delta);
          }
          insn = { ...item.insn, imm: delta };
        } else {
          if (delta < -0x8000 || delta > 0x7fff) {
            throw new JumpRangeError(`item ${index} (slot ${at}): jump to "${item.target}" is ${delta} slots away, beyond the int16 range -32768..32767 (use gotol)`, delta);
          }
          insn = { ...item.insn, off: delta };
        }
        break;
      }
      case "reloc":
        if (item.insn.code !== LDDW_CODE) fail(`relocation against "${item.symbol}" needs a lddw, got ${describeInsn(item.insn)}`);
        insn = { ...item.insn };
        relocations.push({ slot: at, symbol: item.symbol });
        break;
      case "core":
        insn = { ...item.insn };
        coreRelocations.push({ slot: at, name: item.name });
        break;
      default:
        return assertNever(item);
    }
    try {
      checkInsn(insn);
    } catch (cause) {
      throw new IsaError(`item ${index} (slot ${at}): ${(cause as Error).message}`, { cause });
    }
    insns.push(insn);
  });
  return { insns, relocations, coreRelocations, labels };
}

function assertNever(value: never): never {
  throw new Error(`unexpected item ${JSON.stringify(value)}`);
}
