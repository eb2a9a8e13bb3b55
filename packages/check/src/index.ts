/**
 * @luabpf/check — reliability tools for luabpf (private; docs/testing.md):
 *
 *   generate.ts  random dialect programs, a table of constructs others extend
 *   oracle.ts    Lua 5.4 (lua5.4) with shims for the documented deviations and bcc's built-ins
 *   kernel.ts    compile, load (the verifier decides), BPF_PROG_TEST_RUN, read every map
 *   difftest.ts  the two compared: match / mismatch / rejected / compile or internal error
 *   reduce.ts    syntax-aware delta debugging of a failing program
 *   fuzz.ts      hostile inputs for the compiler and the ELF reader, classified
 *   pool.ts      worker processes (worker.ts) that turn crashes and hangs into outcomes
 *   twins.ts     bench/size's C twins of the examples and the clang command that builds them
 *
 * Command lines: `npm run difftest` and `npm run fuzz` (src/bin/).
 *
 * @packageDocumentation
 */
export * from "./kernel.js";
export * from "./oracle.js";
export * from "./generate.js";
export * from "./difftest.js";
export * from "./reduce.js";
export * from "./fuzz.js";
export { compileTwin, twinNames, TWIN_CLANG, TWINS_DIR } from "./twins.js";
export { WorkerPool, type PoolOptions, type Task, type TaskOutcome } from "./pool.js";
export { Random } from "./random.js";
