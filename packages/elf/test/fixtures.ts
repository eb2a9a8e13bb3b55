// Hand-encoded programs and objects shared by the tests.
import { MapType } from "@luabpf/platform";
import { type BpfObject, type BtfType } from "../src/index.js";

const hex = (text: string): Uint8Array =>
  new Uint8Array(text.trim().split(/\s+/).map((byte) => Number.parseInt(byte, 16)));

/** r0 = 0; exit */
export const returnZero = hex("b7 00 00 00 00 00 00 00  95 00 00 00 00 00 00 00");

/**
 * r1 = counters ll; r2 = r10; r2 += -4; r3 = 0; *(u32 *)(r10 - 4) = r3; call 1 (map_lookup_elem);
 * r0 = 0; exit. The lddw is at byte offset 0 with src_reg 0; libbpf sets src_reg to
 * BPF_PSEUDO_MAP_FD and the map fd at load time. The store goes through r3 (STX)
 * rather than `*(u32 *)(r10 - 4) = 0` (ST, 0x62) because llvm-objdump-16 cannot
 * disassemble BPF_ST and prints <unknown>; the kernel accepts both.
 */
export const lookupProgram = hex(`
  18 01 00 00 00 00 00 00  00 00 00 00 00 00 00 00
  bf a2 00 00 00 00 00 00
  07 02 00 00 fc ff ff ff
  b7 03 00 00 00 00 00 00
  63 3a fc ff 00 00 00 00
  85 00 00 00 01 00 00 00
  b7 00 00 00 00 00 00 00
  95 00 00 00 00 00 00 00`);

export const u32: BtfType = { kind: "int", name: "unsigned int", size: 4, signed: false };
export const u64: BtfType = { kind: "int", name: "long long unsigned int", size: 8, signed: false };

/** Two programs (socket filter and XDP) and two maps, one typed by BTF and one by sizes. */
export function sampleObject(): BpfObject {
  return {
    license: "GPL",
    programs: [
      { name: "count_packets", section: "socket", code: lookupProgram, relocations: [{ offset: 0, symbol: "counters" }] },
      {
        name: "pass_all",
        section: "xdp",
        code: returnZero,
        relocations: [],
        lines: [
          { offset: 0, file: "pass.lua", line: 3, column: 5, text: "return 0" },
          { offset: 8, file: "pass.lua", line: 4, column: 1, text: "end" },
        ],
      },
      { name: "probe_open", section: "kprobe/do_sys_open", code: lookupProgram, relocations: [{ offset: 0, symbol: "table" }] },
    ],
    maps: [
      { name: "counters", type: MapType.array, keySize: 4, valueSize: 8, maxEntries: 16, flags: 0, key: u32, value: u64 },
      { name: "table", type: MapType.hash, keySize: 4, valueSize: 16, maxEntries: 1024, flags: 1 },
    ],
  };
}
