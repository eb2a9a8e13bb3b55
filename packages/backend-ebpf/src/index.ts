/**
 * @luabpf/backend-ebpf — instruction selection, register allocation and emission of
 * eBPF code from the IR, plus the eBPF instruction-set layer (encoder, decoder,
 * assembler, objdump-syntax printer).
 *
 * @packageDocumentation
 */
export * from "./isa/index.js";
export * from "./mir.js";
export { selectFunction } from "./isel.js";
export {
  allocateRegisters,
  applyAllocation,
  describeFunction,
  describeInst,
  EBPF_TARGET,
  type AllocateOptions,
  type RegAllocStats,
} from "./regalloc.js";
export { emitFunction, layoutFrame, MAX_STACK } from "./emit.js";
export { compileFunction, compileModule, splitCriticalEdges, type CompiledProgram } from "./compile.js";
export { objectMap, packageObject } from "./object.js";
export { BtfTypes } from "./btf.js";
