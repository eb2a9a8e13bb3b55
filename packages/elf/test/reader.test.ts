// Reader: round trip of writer output, and robustness on truncated, garbage and
// corrupted input (always an ElfError, never a RangeError/TypeError).
import { MapType } from "@luabpf/platform";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ElfError, readObject, writeObject, type BpfObject } from "../src/index.js";
import { lookupProgram, returnZero, sampleObject } from "./fixtures.js";

const throwsElfError = (body: () => unknown): ElfError => {
  try {
    body();
  } catch (error) {
    if (error instanceof ElfError) return error;
    throw new Error(`expected ElfError, got ${String(error)}`, { cause: error });
  }
  throw new Error("expected ElfError, nothing was thrown");
};

describe("readObject round trip", () => {
  it("reads back exactly what the writer wrote", () => {
    const object = sampleObject();
    expect(readObject(writeObject(object))).toEqual(object);
  });

  it("round-trips without .BTF.ext (lines are then lost) ", () => {
    const object = sampleObject();
    const read = readObject(writeObject(object, { btfExt: false }));
    delete object.programs[1]!.lines;
    expect(read).toEqual(object);
  });

  it("gives relocation offsets relative to each program when a section holds several", () => {
    const object: BpfObject = {
      license: "Dual MIT/GPL",
      programs: [
        { name: "first", section: "tc", code: returnZero, relocations: [] },
        { name: "second", section: "tc", code: lookupProgram, relocations: [{ offset: 0, symbol: "m" }] },
        {
          name: "third",
          section: "tracepoint/syscalls/sys_enter_openat",
          code: lookupProgram,
          relocations: [{ offset: 0, symbol: "m" }],
          lines: [{ offset: 16, file: "t.lua", line: 9, column: 2, text: "local k = 0" }],
        },
      ],
      maps: [
        {
          name: "m",
          type: MapType.percpu_array,
          keySize: 4,
          valueSize: 24,
          maxEntries: 3,
          flags: 0,
          value: { kind: "array", elem: { kind: "int", name: "long", size: 8, signed: true }, count: 3 },
        },
      ],
    };
    expect(readObject(writeObject(object))).toEqual(object);
  });

  it("round-trips attach data through .luabpf.attach", () => {
    const object: BpfObject = {
      license: "GPL",
      programs: [
        { name: "filter", section: "socket", code: returnZero, relocations: [], attach: { interface: "lo" } },
        { name: "plain", section: "xdp", code: returnZero, relocations: [] },
        { name: "line", section: "uretprobe//bin/bash:readline", code: returnZero, relocations: [], attach: { path: "/bin/bash", symbol: "readline", retprobe: true, pid: 7, cpu: 0 } },
      ],
      maps: [],
    };
    const bytes = writeObject(object);
    expect(readObject(bytes)).toEqual(object);
    expect(writeObject(object)).toEqual(bytes);
  });

  it("accepts a Node Buffer and returns plain Uint8Arrays", () => {
    const read = readObject(Buffer.from(writeObject(sampleObject())));
    expect(read.programs[0]!.code.constructor).toBe(Uint8Array);
  });
});

describe("readObject errors", () => {
  const bytes = writeObject(sampleObject());

  it("throws ElfError for every truncation of a valid object", () => {
    for (let length = 0; length < bytes.length; length++) {
      throwsElfError(() => readObject(bytes.subarray(0, length)));
    }
  });

  it("throws ElfError on garbage", () => {
    expect(throwsElfError(() => readObject(new TextEncoder().encode("definitely not an ELF file"))).message).toMatch(
      /bad magic/,
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (garbage) => {
        throwsElfError(() => readObject(garbage));
      }),
    );
  });

  it("either parses or throws ElfError when bytes are corrupted", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (edits) => {
          const corrupted = bytes.slice();
          for (const [at, value] of edits) corrupted[at] = value;
          try {
            readObject(corrupted);
          } catch (error) {
            expect(error).toBeInstanceOf(ElfError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("names the section and relocation in errors", () => {
    // Point the first relocation's symbol index past the end of the symbol table.
    const corrupted = bytes.slice();
    const view = new DataView(corrupted.buffer);
    const shoff = Number(view.getBigUint64(40, true));
    const relOffset = Number(view.getBigUint64(shoff + 3 * 64 + 24, true)); // [3] .relsocket
    view.setUint32(relOffset + 12, 99, true);
    const error = throwsElfError(() => readObject(corrupted));
    expect(error.message).toBe("section socket: section .relsocket: relocation 0: symbol 99 out of range (7 symbols)");
  });

  it("rejects a non-BPF machine", () => {
    const corrupted = bytes.slice();
    corrupted[18] = 62; // EM_X86_64
    expect(throwsElfError(() => readObject(corrupted)).message).toMatch(/machine 62 is not EM_BPF/);
  });
});
