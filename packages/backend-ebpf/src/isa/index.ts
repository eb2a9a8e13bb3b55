// Public API of the eBPF instruction-set layer: the opcode/form table, the Insn type and its
// constructors, binary encoding, llvm-objdump-compatible text, and the symbolic assembler.

export {
  InsnClass, Source, SIZES, Mode, ALU_BINARY_OPS, ALU_OTHER_OPS, JMP_OPS, ATOMIC_OPS, ATOMIC_FETCH, PseudoSrc, CallSrc,
  INSN_FORMS, LDDW_CODE, formByName, formsWithCode, lookupForm, isKnownCode, classOf, templatePlaceholders,
  type InsnClassName, type SizeInfo, type SizeName, type AluOpInfo, type CpuVersion, type AluBinaryOp, type JmpOpInfo,
  type JmpOp, type JmpCondOp, type AtomicOpInfo, type AtomicOp, type Placeholder, type InsnField, type InsnForm,
} from "./opcodes.js";
export {
  IsaError, JumpRangeError, Reg, MAX_REG, insnSlots, describeInsn, checkInsn, insnEquals, isRelativeJump, isGotol, invertJump, INVERSE_JUMPS, SWAPPED_JUMPS,
  alu64Reg, alu64Imm, alu32Reg, alu32Imm, mov64Reg, mov64Imm, mov32Reg, mov32Imm, neg64, neg32, movsx64, movsx32,
  endian, ldxMem, ldxMemSx, stxMem, stMem, ldAbs, ldInd, jmpImm, jmpReg, jmp32Imm, jmp32Reg, ja, gotol, call,
  callLocal, callKfunc, exit, lddw, ldMapFd, atomic, atomicAdd,
  type Insn, type EndianKind,
} from "./insn.js";
export { SLOT_BYTES, countSlots, encodeInsns, encodeInsn, decodeInsns, decodeInsn } from "./encode.js";
export {
  printInsn, parseInsn, parseProgram, printProgram, printSectionListing, printObjdump,
  type PrintOptions, type ListingSymbol, type ListingSection,
} from "./text.js";
export {
  assemble, asmCore, asmInsn, asmLabel, asmJump, asmReloc,
  type AsmCoreRelocation, type AsmItem, type AsmOptions, type AsmRelocation, type AsmResult,
} from "./assembler.js";
