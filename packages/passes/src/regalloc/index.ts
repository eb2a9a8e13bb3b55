/**
 * Register allocation behind a target-independent interface (`interface.ts`): the
 * iterated-register-coalescing allocator (`allocate.ts`, `irc.ts`), a linear-scan
 * allocator for huge functions (`linear-scan.ts`) and an independent checker that replays
 * an allocation symbolically (`checker.ts`).
 */
export * from "./interface.js";
export {
  allocateIrc,
  allocateLinearScan,
  allocatorFor,
  ircAllocator,
  linearScanAllocator,
  LINEAR_SCAN_THRESHOLD,
  REGALLOC_KINDS,
  RegAllocError,
  type IrcOptions,
  type RegAllocKind,
} from "./allocate.js";
export { checkAllocation, RegAllocCheckError } from "./checker.js";
export { withScratch as withRegAllocScratch } from "./scratch.js";
export { isPacked, packFunction, PackedFunctionWriter } from "./packed.js";
export { allocationOfVRegs, interferenceGraph, interferenceToDot, type InterferenceGraph, type InterferenceNode } from "./interference.js";
