/**
 * luabpf — the command line and the in-process compiler driver.
 *
 * @packageDocumentation
 */
export * from "./driver.js";
export { main, type CliIo } from "./main.js";
export { runObject, verdict, type RunOptions } from "./run.js";
