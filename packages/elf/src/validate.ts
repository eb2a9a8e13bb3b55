// Input checks of the writer, done before any byte is emitted so that a bad object is
// reported with its location (program, relocation index) instead of producing an ELF
// file that libbpf or the kernel reject later with a less helpful message.

import { CallSrc, CoreReloKind, INSN_SIZE as BPF_INSN_SIZE, LDDW_OPCODE } from "@luabpf/platform";

/** Opcode byte of `call` (BPF_JMP | BPF_CALL). */
const CALL_OPCODE = 0x85;
import { ElfError, withContext } from "./errors.js";
import type { BpfObject } from "./object.js";

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Section names the writer uses itself; a program may not claim them. */
const reservedSections = new Set(["", ".strtab", ".symtab", "license", ".maps", ".BTF", ".BTF.ext", "version", ".debug_abbrev", ".debug_info", ".debug_str", ".debug_line"]);

/** Throws ElfError describing the first problem of `object`, if any. */
export function validateObject(object: BpfObject): void {
  if (object.license.includes("\0")) throw new ElfError("license contains a NUL byte");
  const symbolNames = new Set(["_license"]);
  const claim = (name: string) => {
    if (!identifier.test(name)) throw new ElfError(`name ${JSON.stringify(name)} is not a C identifier`);
    if (symbolNames.has(name)) throw new ElfError(`symbol name ${name} is used twice`);
    symbolNames.add(name);
  };
  object.maps.forEach((map, index) =>
    withContext(() => `map ${index} (${map.name})`, () => {
      claim(map.name);
      for (const field of ["type", "keySize", "valueSize", "maxEntries", "flags"] as const) {
        const value = map[field];
        if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
          throw new ElfError(`${field} ${value} is not a u32`);
        }
      }
    }),
  );
  if (object.data !== undefined && object.data.length > 0) {
    throw new ElfError(`data section ${object.data[0]!.name}: global data is read from clang's objects but not written`);
  }
  const mapNames = new Set(object.maps.map((map) => map.name));
  object.programs.forEach((program, index) =>
    withContext(() => `program ${index} (${program.name})`, () => {
      claim(program.name);
      if ((program.section === ".text") !== (program.subprogram === true)) {
        throw new ElfError(program.subprogram ? "a subprogram must be in section .text" : "section .text holds subprograms, not programs");
      }
      if (reservedSections.has(program.section) || program.section.startsWith(".rel")) {
        throw new ElfError(`section name ${JSON.stringify(program.section)} is reserved`);
      }
      if (program.section.includes("\0")) throw new ElfError("section name contains a NUL byte");
      const code = program.code;
      if (code.length === 0 || code.length % BPF_INSN_SIZE !== 0) {
        throw new ElfError(`code size ${code.length} is not a positive multiple of ${BPF_INSN_SIZE}`);
      }
      let previous = -1;
      (program.lines ?? []).forEach((line, lineIndex) =>
        withContext(() => `line ${lineIndex}`, () => {
          const { offset } = line;
          if (!Number.isInteger(offset) || offset % BPF_INSN_SIZE !== 0 || offset < 0 || offset >= code.length) {
            throw new ElfError(`offset ${offset} is not an instruction of the program`);
          }
          if (offset <= previous) throw new ElfError(`offset ${offset} does not increase (previous ${previous})`);
          if (code[offset] === 0) throw new ElfError(`offset ${offset} is the second half of an lddw`);
          if (!Number.isInteger(line.line) || line.line < 0 || line.line >= 1 << 22) {
            throw new ElfError(`line number ${line.line} out of range`);
          }
          if (!Number.isInteger(line.column) || line.column < 0 || line.column >= 1 << 10) {
            throw new ElfError(`column ${line.column} out of range`);
          }
          previous = offset;
        }),
      );
      let previousCore = -1;
      (program.coreRelocations ?? []).forEach((relocation, relocationIndex) =>
        withContext(() => `CO-RE relocation ${relocationIndex}`, () => {
          const { offset } = relocation;
          if (!Number.isInteger(offset) || offset % BPF_INSN_SIZE !== 0 || offset < 0 || offset >= code.length) {
            throw new ElfError(`offset ${offset} is not an instruction of the program`);
          }
          if (offset > 0 && code[offset - BPF_INSN_SIZE] === LDDW_OPCODE && code[offset] === 0) {
            throw new ElfError(`offset ${offset} is the second half of an lddw`);
          }
          if (offset < previousCore) throw new ElfError(`offset ${offset} decreases (previous ${previousCore})`);
          if (!Object.hasOwn(CoreReloKind, relocation.kind)) throw new ElfError(`unknown kind ${JSON.stringify(relocation.kind)}`);
          if (!/^\d+(:\d+)*$/.test(relocation.access)) {
            throw new ElfError(`access string ${JSON.stringify(relocation.access)} is not colon-separated indices`);
          }
          previousCore = offset;
        }),
      );
      program.relocations.forEach((relocation, relocationIndex) =>
        withContext(() => `relocation ${relocationIndex}`, () => {
          const { offset, symbol } = relocation;
          if (!Number.isInteger(offset) || offset % BPF_INSN_SIZE !== 0 || offset < 0) {
            throw new ElfError(`offset ${offset} is not at an instruction boundary`);
          }
          if (relocation.type === "call") {
            if (symbol !== ".text") throw new ElfError(`a call relocation must refer to .text, not ${JSON.stringify(symbol)}`);
            if (offset + BPF_INSN_SIZE > code.length || code[offset] !== CALL_OPCODE || code[offset + 1]! >> 4 !== CallSrc.PSEUDO_CALL) {
              throw new ElfError(`offset ${offset}: not a BPF-to-BPF call`);
            }
            if (!object.programs.some((p) => p.subprogram)) throw new ElfError("a call relocation, but no subprogram in .text");
            return;
          }
          if (relocation.type === "data") {
            throw new ElfError(`global data (${symbol}) is read from clang's objects but not written: luabpf's programs keep no globals`);
          }
          if (offset + 2 * BPF_INSN_SIZE > code.length) {
            throw new ElfError(`offset ${offset}: an lddw needs 16 bytes, code has ${code.length}`);
          }
          if (code[offset] !== LDDW_OPCODE) {
            throw new ElfError(`offset ${offset}: opcode 0x${code[offset]!.toString(16)} is not lddw (0x18)`);
          }
          if (!mapNames.has(symbol)) throw new ElfError(`symbol ${JSON.stringify(symbol)} is not a map`);
        }),
      );
    }),
  );
}
