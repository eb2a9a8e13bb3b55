/**
 * Register allocation behind a target-independent interface (`interface.ts`): the
 * iterated-register-coalescing allocator (`allocate.ts`, `irc.ts`) and an independent
 * checker that replays an allocation symbolically (`checker.ts`).
 */
export * from "./interface.js";
export { allocateIrc, ircAllocator, RegAllocError, type IrcOptions } from "./allocate.js";
export { checkAllocation, RegAllocCheckError } from "./checker.js";
export { isPacked, packFunction, PackedFunctionWriter } from "./packed.js";
export { allocationOfVRegs, interferenceGraph, interferenceToDot, type InterferenceGraph, type InterferenceNode } from "./interference.js";
