/**
 * luabpf — the command line and the in-process compiler driver.
 *
 * @packageDocumentation
 */
export * from "./driver.js";
export { main } from "./main.js";
export type { CliIo } from "./io.js";
export { linkModules, type LinkInput } from "./link.js";
export { annotateLog, explainRejection, findRejection, lineOfSlot, verifyObject, VerifierRejection } from "./verify.js";
export { runObject, verdict, type RunOptions } from "./run.js";
export { REGALLOC_KINDS, type RegAllocKind } from "@luabpf/passes";
