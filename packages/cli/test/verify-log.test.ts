// Reading verifier logs: the rejected instruction and the message, for the shapes the
// kernel's logs take (an error after the last instruction, register-state lines around it,
// structural errors naming their instruction), and the annotation with Lua lines.
import { describe, expect, test } from "vitest";
import type { ObjectLine } from "@luabpf/elf";
import { annotateLog, findRejection, lineOfSlot } from "../src/verify.js";

const lines: ObjectLine[] = [
  { offset: 0, file: "dir/prog.lua", line: 4, column: 3, text: "  local v = counts[k]" },
  { offset: 24, file: "dir/prog.lua", line: 5, column: 3, text: "  return v" },
];

describe("findRejection", () => {
  test.each([
    [
      "an out-of-bounds map value access",
      `0: R1=ctx() R10=fp0
0: (18) r1 = 0xffff8881 ll
2: (85) call bpf_map_lookup_elem#1        ; R0_w=map_value_or_null(id=1,map=counts,ks=4,vs=8)
3: (15) if r0 == 0x0 goto pc+1        ; R0_w=map_value(map=counts,ks=4,vs=8)
4: (79) r0 = *(u64 *)(r0 +8)
invalid access to map value, value_size=8 off=8 size=8
R0 min value is outside of the allowed memory range
processed 5 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`,
      4,
      "invalid access to map value, value_size=8 off=8 size=8",
    ],
    [
      "an uninitialised register (the message starts with its name)",
      `0: R1=ctx() R10=fp0
0: (79) r0 = *(u64 *)(r2 +0)
R2 !read_ok
processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`,
      0,
      "R2 !read_ok",
    ],
    ["a structural error naming its instruction", "unreachable insn 5\nprocessed 0 insns\n", 5, "unreachable insn 5"],
    ["a back edge", "back-edge from insn 4 to 2\n", 4, "back-edge from insn 4 to 2"],
  ])("%s", (_, log, slot, message) => {
    expect(findRejection(log)).toEqual({ slot, message });
  });
});

test("lineOfSlot: the last record at or before the instruction", () => {
  expect(lineOfSlot(lines, 0)?.line).toBe(4);
  expect(lineOfSlot(lines, 2)?.line).toBe(4);
  expect(lineOfSlot(lines, 3)?.line).toBe(5);
  expect(lineOfSlot(lines, 99)?.line).toBe(5);
  expect(lineOfSlot(undefined, 0)).toBeUndefined();
});

test("annotateLog: the kernel's `; text @ base:line` before the first instruction of each line, once", () => {
  const log = "0: R1=ctx() R10=fp0\n0: (b7) r0 = 0\n1: (b7) r1 = 1\n3: (95) exit\nok\n";
  expect(annotateLog(log, lines)).toBe(
    "0: R1=ctx() R10=fp0\n; local v = counts[k] @ prog.lua:4\n0: (b7) r0 = 0\n1: (b7) r1 = 1\n; return v @ prog.lua:5\n3: (95) exit\nok",
  );
  // A log the kernel already annotated is left as it is.
  const annotated = "; local v = counts[k] @ prog.lua:4\n0: (b7) r0 = 0\n";
  expect(annotateLog(annotated, lines)).toBe(annotated.trimEnd());
});
