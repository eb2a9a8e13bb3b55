/**
 * @luabpf/backend-ebpf — eBPF code generation from the IR (leaving SSA, instruction
 * selection, register allocation, emission), object packaging, and the eBPF
 * instruction-set layer (encoder, decoder, assembler, objdump-syntax printer).
 *
 * The machine IR and the stages that work on it are internal; the public surface is the
 * compile entry points, the object packager, the target description for allocation tools,
 * and the ISA layer.
 *
 * @packageDocumentation
 */
export * from "./isa/index.js";
export { allocationProblem, compileFunction, compileModule, superoptWindows, type BackendOptions, type CompiledProgram } from "./compile.js";
export { fromInsn, toInsn, readsWrites, refusesPointers, scalarInputs, MAX_WINDOW, type HarvestedWindow, type WindowInst } from "./superopt.js";
export { SUPEROPT_RULES, type SuperoptRule } from "./superopt-rules.js";
export type { LineRow } from "./emit.js";
export { EBPF_TARGET, type RegAllocStats } from "./regalloc.js";
export { objectMap, packageObject } from "./object.js";
export { BtfTypes } from "./btf.js";
export { DEFAULT_CPU } from "./isel.js";
