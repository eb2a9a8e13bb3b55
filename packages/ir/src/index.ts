/**
 * @luabpf/ir — the SSA intermediate representation shared by the Lua front end, the
 * optimisation passes and the eBPF backend.
 *
 * @packageDocumentation
 */
export * from "./errors.js";
export * from "./timing.js";
export * from "./types.js";
export * from "./opcodes.js";
export * from "./typing.js";
export * from "./core.js";
export * from "./module.js";
export * from "./ctypes.js";
export * from "./builder.js";
export * from "./cfg.js";
export * from "./motion.js";
export * from "./print.js";
export * from "./parse.js";
export * from "./equal.js";
export * from "./verify.js";
export * from "./analysis/index.js";
export * from "./interp.js";
