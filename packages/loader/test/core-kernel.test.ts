// CO-RE against real BTF: clang-16 compiles test/c/core_probe.bpf.c (fields, bit-fields,
// existence, sizes, signedness, type and enum relocations of partial kernel types); libbpf
// (through test/c/libbpf_core.c, built here with cc -lbpf) and our loader relocate it
// against the running kernel's BTF and against the BTF of test/c/core_target.c (another
// layout, built with clang-16 -g). Both must write the same instructions, the offsets must
// be the ones each BTF gives (checked against bpftool's dump of it), and the kernel must
// accept both results.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readObject, type BpfObject } from "@luabpf/elf";
import { afterAll, describe, expect, it } from "vitest";
import { VMLINUX_BTF_PATH, applyCoreRelocations, kernelOrSkip, loadBtfFile, loadObject, runningKernelBtf } from "../src/index.js";

const kernel = kernelOrSkip();
const source = (name: string) => fileURLToPath(new URL(`./c/${name}`, import.meta.url));
const tools = ["clang-16", "cc", "bpftool"].filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
if (!existsSync("/usr/include/bpf/libbpf.h")) tools.push("libbpf-dev");
const ready = kernel && existsSync(VMLINUX_BTF_PATH) && (tools.length === 0 || process.env.CI !== undefined);

function run(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** Instruction slots as lowercase hex, per program name, as libbpf_core prints them. */
function libbpfInstructions(object: string, btf?: string): Map<string, string[]> {
  const programs = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of run(harness, btf ? [object, btf] : [object]).split("\n")) {
    if (line.startsWith("program ")) programs.set(line.slice(8), (current = []));
    else if (line !== "") current.push(line);
  }
  return programs;
}

function slots(code: Uint8Array): string[] {
  const out: string[] = [];
  for (let at = 0; at < code.length; at += 8) out.push(Buffer.from(code.subarray(at, at + 8)).toString("hex"));
  return out;
}

/**
 * Byte offset of `member` in `struct name` of a BTF file (looking into anonymous members),
 * from bpftool's plain dump — an independent reader:
 *   [114] STRUCT 'task_struct' size=... vlen=...
 *   \t'tgid' type_id=... bits_offset=...
 */
const dumps = new Map<string, string[]>();
function memberOffset(btfFile: string, struct: string, member: string): number {
  let lines = dumps.get(btfFile);
  if (!lines) dumps.set(btfFile, (lines = run("bpftool", ["btf", "dump", "file", btfFile]).split("\n")));
  const membersOf = (header: (line: string) => boolean) => {
    const start = lines.findIndex(header);
    const out: { name: string; typeId: number; bits: number }[] = [];
    for (let at = start + 1; lines![at]?.startsWith("\t"); at++) {
      const m = /^\t'([^']*)' type_id=(\d+) bits_offset=(\d+)/.exec(lines[at]!);
      if (m) out.push({ name: m[1]!, typeId: Number(m[2]), bits: Number(m[3]) });
    }
    return out;
  };
  const members = membersOf((line) => line.includes(`STRUCT '${struct}' `));
  const direct = members.find((m) => m.name === member);
  if (direct) return direct.bits / 8;
  for (const anonymous of members.filter((m) => m.name === "(anon)")) {
    if (membersOf((line) => line.startsWith(`[${anonymous.typeId}] `)).some((m) => m.name === member)) return anonymous.bits / 8;
  }
  throw new Error(`no ${struct}.${member} in ${btfFile}`);
}

let dir = "";
let harness = "";
let objectPath = "";
let targetPath = "";
let object: BpfObject;

describe.skipIf(!ready)("CO-RE relocation against real BTF, compared with libbpf", () => {
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("builds the object, the other layout and the libbpf harness", () => {
    expect(tools, `required tools missing: ${tools.join(", ")}`).toEqual([]);
    dir = mkdtempSync(join(tmpdir(), "luabpf-core-"));
    const machine = run("uname", ["-m"]).trim();
    objectPath = join(dir, "core_probe.o");
    targetPath = join(dir, "core_target.o");
    harness = join(dir, "libbpf_core");
    run("clang-16", ["-O2", "-g", "-target", "bpf", `-I/usr/include/${machine}-linux-gnu`, "-c", source("core_probe.bpf.c"), "-o", objectPath]);
    run("clang-16", ["-g", "-target", "bpf", "-c", source("core_target.c"), "-o", targetPath]);
    run("cc", ["-O2", "-o", harness, source("libbpf_core.c"), "-lbpf"]);
    object = readObject(readFileSync(objectPath));
    expect(object.programs[0]!.coreRelocations!.length).toBeGreaterThanOrEqual(15);
  });

  for (const which of ["the running kernel", "another layout"] as const) {
    it(`relocates as libbpf does against ${which}, and the kernel loads it`, () => {
      const btfFile = which === "the running kernel" ? VMLINUX_BTF_PATH : targetPath;
      const target = which === "the running kernel" ? runningKernelBtf() : loadBtfFile(targetPath);
      const program = object.programs[0]!;
      const { code, results } = applyCoreRelocations(program, target);
      const expected = libbpfInstructions(objectPath, which === "the running kernel" ? undefined : targetPath).get(program.name)!;
      expect(slots(code)).toEqual(expected);

      // The offsets are those of the target BTF, read by bpftool.
      const offsetOf = (path: string) => results.find((r) => r.relocation.kind === "field_byte_offset" && r.description.includes(path))!.targetValue;
      expect(offsetOf(".tgid ")).toBe(BigInt(memberOffset(btfFile, "task_struct", "tgid")));
      expect(offsetOf(".real_parent ")).toBe(BigInt(memberOffset(btfFile, "task_struct", "real_parent")));
      expect(offsetOf(".comm[2] ")).toBe(BigInt(memberOffset(btfFile, "task_struct", "comm") + 2));
      // the relocated instruction (r1 = offset, before r1 += task) holds it
      const tgid = results.find((r) => r.description.includes(".tgid "))!;
      expect(new DataView(code.buffer).getInt32(tgid.relocation.offset + 4, true)).toBe(Number(tgid.targetValue));
      // the guarded read of a field no kernel has is poisoned, its existence test is 0
      expect(results.filter((r) => r.targetValue === undefined).map((r) => r.relocation.kind)).toEqual(["field_byte_offset"]);

      const loaded = loadObject(object, { targetBtf: which === "the running kernel" ? undefined : targetPath });
      loaded.close();
    });
  }

  it("gives different offsets for the two layouts", () => {
    const program = object.programs[0]!;
    const here = applyCoreRelocations(program, runningKernelBtf()).code;
    const there = applyCoreRelocations(program, loadBtfFile(targetPath)).code;
    expect(slots(here)).not.toEqual(slots(there));
    expect(memberOffset(targetPath, "task_struct", "tgid")).toBe(56);
  });
});
