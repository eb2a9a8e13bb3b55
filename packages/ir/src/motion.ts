/**
 * What a pass may move, derived from the opcode table (`pure`, `memory`) and the region
 * table (`REGION_INFO`): the questions loop-invariant code motion, hoisting and sinking ask.
 *
 * - {@link isSpeculatable}: may the instruction execute on a path where it did not (its
 *   operands being available there)? Pure instructions, and loads through a region whose
 *   loads cannot trap (the context).
 * - {@link mayWriteMemory}: may the instruction change memory (stores, atomics, calls)?
 *   A speculatable load may be hoisted out of a loop only when no instruction of the loop
 *   may write memory it may alias (the alias test lives with the passes).
 */
import type { Instruction } from "./core.js";
import { REGION_INFO } from "./types.js";

/** May `inst` run where it did not (hoisted out of a loop, above a branch), given its operands? */
export function isSpeculatable(inst: Instruction): boolean {
  if (inst.info.pure) return true;
  if (inst.opcode !== "load") return false;
  const p = inst.operands[0];
  const region = p?.type.kind === "ptr" ? p.type.region : undefined;
  return region !== undefined && REGION_INFO[region].speculativeLoads;
}

/** May `inst` write memory (a store, an atomic, a call)? */
export function mayWriteMemory(inst: Instruction): boolean {
  return inst.info.memory === "write" || inst.info.memory === "readwrite";
}
