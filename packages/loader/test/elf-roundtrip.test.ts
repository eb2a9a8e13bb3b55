// End-to-end with the ELF package: an object written by @luabpf/elf's writeObject is read back
// by loadObjectFile (through readObject) and run on the kernel.
import { MapType } from "@luabpf/platform";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeObject } from "@luabpf/elf";
import { describe, expect, it } from "vitest";
import { buildPacket, kernelOrSkip, loadObjectFile } from "../src/index.js";
import { BPF_FUNC_map_lookup_elem, R0, R1, R2, R10, addImm, atomicAdd64, call, exit, jeqImm, lddw, movImm, movReg, program, readU64, stw, u32 } from "./asm.js";

const kernel = kernelOrSkip();

describe.skipIf(!kernel)("loadObjectFile", () => {
  it("loads an object written by @luabpf/elf and counts packets in its map", () => {
    const code = program(
      stw(R10, -4, 0),
      movReg(R2, R10),
      addImm(R2, -4),
      lddw(R1, 0n),
      call(BPF_FUNC_map_lookup_elem),
      jeqImm(R0, 0, 2),
      movImm(R1, 1),
      atomicAdd64(R0, R1, 0),
      movImm(R0, 2),
      exit(),
    );
    const bytes = writeObject({
      license: "GPL",
      maps: [{ name: "packets", type: MapType.array, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 }],
      programs: [{ name: "count_packets", section: "xdp", code, relocations: [{ offset: 24, symbol: "packets" }] }],
    });
    const dir = mkdtempSync(join(tmpdir(), "luabpf-loader-"));
    const path = join(dir, "count.o");
    writeFileSync(path, bytes);
    try {
      const loaded = loadObjectFile(path);
      try {
        const result = loaded.programs.get("count_packets")!.testRun(buildPacket("tcp"), { repeat: 5 });
        expect(result.retval).toBe(2);
        const packets = loaded.maps.get("packets")!;
        if (packets.perCpu) throw new Error("expected a plain map");
        expect(readU64(packets.get(u32(0))!)).toBe(5n);
      } finally {
        loaded.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("wraps an unreadable file's error with its path", () => {
    const dir = mkdtempSync(join(tmpdir(), "luabpf-loader-"));
    const path = join(dir, "junk.o");
    writeFileSync(path, new Uint8Array(64));
    try {
      expect(() => loadObjectFile(path)).toThrow(`${path}: not a readable BPF object`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
