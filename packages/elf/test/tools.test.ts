// Independent readers: llvm-readelf-16 and llvm-objdump-16 (LLVM's ELF/BPF
// decoders), bpftool/libbpf (BTF parsing, object opening, relocation) and the kernel
// itself (BTF and program verification on `prog loadall`), and clang-16 output read
// by our reader. Skipped when a tool is missing outside CI (see tools.ts).
import { MapType, MapFlag } from "@luabpf/platform";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect } from "vitest";
import { readObject, writeObject, type BpfObject } from "../src/index.js";
import { sampleObject } from "./fixtures.js";
import { itWith, run, withPinDir, withTempDir, writeTemp } from "./tools.js";

const sampleBytes = writeObject(sampleObject(), { dwarf: false });

describe("LLVM tools", () => {
  itWith(["llvm-readelf-16"])("llvm-readelf-16 -a reads the object without warnings", () => {
    withTempDir((dir) => {
      const result = run("llvm-readelf-16", ["-a", writeTemp(dir, "sample.o", sampleBytes)]);
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      const out = result.stdout;
      expect(out).toMatch(/Type:\s+REL \(Relocatable file\)/);
      expect(out).toMatch(/Machine:\s+EM_BPF/);
      expect(out).toMatch(/\]\s+socket\s+PROGBITS\s+\S+\s+\S+\s+000048\s+00\s+AX\s+0\s+0\s+8/);
      expect(out).toMatch(/\]\s+kprobe\/do_sys_open\s+PROGBITS/);
      expect(out).toMatch(/\]\s+\.relsocket\s+REL\s+\S+\s+\S+\s+000010\s+10\s+I\s+11\s+2\s+8/);
      expect(out).toMatch(/\]\s+license\s+PROGBITS\s+\S+\s+\S+\s+000004\s+00\s+WA/);
      expect(out).toMatch(/\]\s+\.maps\s+PROGBITS\s+\S+\s+\S+\s+000048\s+00\s+WA/);
      expect(out).toMatch(/\]\s+\.BTF\s+PROGBITS/);
      expect(out).toMatch(/\]\s+\.BTF\.ext\s+PROGBITS/);
      expect(out).toMatch(/\]\s+\.symtab\s+SYMTAB\s+\S+\s+\S+\s+\S+\s+18\s+1\s+1\s+8/);
      expect(out).toMatch(/0000000000000000\s+0000000500000001\s+R_BPF_64_64\s+0000000000000000\s+counters/);
      expect(out).toMatch(/0000000000000000\s+0000000600000001\s+R_BPF_64_64\s+0000000000000020\s+table/);
      expect(out).toMatch(/72 FUNC\s+GLOBAL DEFAULT\s+2 count_packets/);
      expect(out).toMatch(/16 FUNC\s+GLOBAL DEFAULT\s+4 pass_all/);
      expect(out).toMatch(/4 OBJECT\s+GLOBAL DEFAULT\s+7 _license/);
      expect(out).toMatch(/32 OBJECT\s+GLOBAL DEFAULT\s+8 counters/);
      expect(out).toMatch(/0000000000000020\s+40 OBJECT\s+GLOBAL DEFAULT\s+8 table/);
    });
  });

  itWith(["llvm-objdump-16"])("llvm-objdump-16 -d -r disassembles every instruction and shows relocations", () => {
    withTempDir((dir) => {
      const result = run("llvm-objdump-16", ["-d", "-r", writeTemp(dir, "sample.o", sampleBytes)]);
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      const out = result.stdout;
      expect(out).not.toContain("<unknown>");
      expect(out).toMatch(/Disassembly of section socket:\s+0+ <count_packets>:\s+0:\s+18 01( 00)+\s+r1 = 0x0 ll\s+0+:\s+R_BPF_64_64\s+counters/);
      expect(out).toMatch(/Disassembly of section xdp:\s+0+ <pass_all>:\s+0:\s+b7 00 00 00 00 00 00 00\s+r0 = 0x0\s+1:\s+95( 00){7}\s+exit/);
      expect(out).toMatch(/R_BPF_64_64\s+table/);
      expect(out).toContain("call 0x1");
    });
  });
});

describe("bpftool and the kernel", () => {
  itWith(["bpftool"])("bpftool btf dump file shows the functions and the map layout", () => {
    withTempDir((dir) => {
      const result = run("bpftool", ["btf", "dump", "file", writeTemp(dir, "sample.o", sampleBytes)]);
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      const out = result.stdout;
      expect(out).toMatch(/FUNC 'count_packets' type_id=\d+ linkage=global/);
      expect(out).toMatch(/FUNC 'probe_open' type_id=\d+ linkage=global/);
      expect(out).toMatch(/FUNC_PROTO '\(anon\)' ret_type_id=\d+ vlen=1\n\s+'ctx' type_id=\d+/);
      expect(out).toMatch(/DATASEC '\.maps' size=72 vlen=2\n\s+type_id=\d+ offset=0 size=32 \(VAR 'counters'\)\n\s+type_id=\d+ offset=32 size=40 \(VAR 'table'\)/);
      expect(out).toMatch(/STRUCT '\(anon\)' size=32 vlen=4\n\s+'type'.*\n\s+'key'.*\n\s+'value'.*\n\s+'max_entries'/);
      expect(out).toMatch(/STRUCT '\(anon\)' size=40 vlen=5\n\s+'type'.*\n\s+'key_size'.*\n\s+'value_size'.*\n\s+'max_entries'.*\n\s+'map_flags'/);
      expect(out).toMatch(/ARRAY '\(anon\)' type_id=\d+ index_type_id=\d+ nr_elems=1024/);
    });
  });

  itWith(["bpftool"], { kernel: true })("bpftool prog loadall: libbpf relocates and the kernel verifies", () => {
    withTempDir((dir) =>
      withPinDir((pins) => {
        const path = writeTemp(dir, "sample.o", sampleBytes);
        const load = run("bpftool", ["prog", "loadall", path, pins, "pinmaps", `${pins}/maps`]);
        expect(load.stderr).toBe("");
        expect(load.status).toBe(0);
        const prog = (name: string) => JSON.parse(run("bpftool", ["-j", "prog", "show", "pinned", `${pins}/${name}`]).stdout);
        const map = (name: string) => JSON.parse(run("bpftool", ["-j", "map", "show", "pinned", `${pins}/maps/${name}`]).stdout);
        expect(prog("count_packets")).toMatchObject({ type: "socket_filter", name: "count_packets", gpl_compatible: true });
        expect(prog("count_packets").btf_id).toBeGreaterThan(0);
        expect(prog("count_packets").map_ids).toEqual([map("counters").id]);
        expect(prog("pass_all")).toMatchObject({ type: "xdp", name: "pass_all" });
        expect(prog("probe_open")).toMatchObject({ type: "kprobe", name: "probe_open" });
        expect(prog("probe_open").map_ids).toEqual([map("table").id]);
        expect(map("counters")).toMatchObject({ type: "array", bytes_key: 4, bytes_value: 8, max_entries: 16, flags: 0 });
        expect(map("counters").btf_id).toBeGreaterThan(0);
        expect(map("table")).toMatchObject({ type: "hash", bytes_key: 4, bytes_value: 16, max_entries: 1024, flags: 1 });
        // Func info gives the kernel the full signature; line info interleaves source lines.
        const dump = run("bpftool", ["prog", "dump", "xlated", "pinned", `${pins}/pass_all`]);
        expect(dump.stderr).toBe("");
        expect(dump.stdout).toMatch(/int pass_all\(void \* ctx\):\n; return 0\n\s+0: \(b7\) r0 = 0\n; end\n\s+1: \(95\) exit/);
        const lookup = run("bpftool", ["prog", "dump", "xlated", "pinned", `${pins}/count_packets`]);
        expect(lookup.stdout).toMatch(/\(18\) r1 = map\[id:\d+\]/);
      }),
    );
  });
});

const sourceFile = fileURLToPath(new URL("./c/array_map.bpf.c", import.meta.url));

function compileC(dir: string): Uint8Array {
  const machine = run("uname", ["-m"]).stdout.trim();
  const output = `${dir}/array_map.bpf.o`;
  const result = run("clang-16", [
    "-O2",
    "-g",
    "-target",
    "bpf",
    `-I/usr/include/${machine}-linux-gnu`,
    "-c",
    sourceFile,
    "-o",
    output,
  ]);
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return readFileSync(output);
}

describe("clang-16 objects", () => {
  itWith(["clang-16"])("readObject reads programs, relocations, lines, license and BTF-defined maps", () => {
    const object = withTempDir(compileC) as Uint8Array;
    const read = readObject(object);
    expect(read.license).toBe("Dual BSD/GPL");
    expect(read.programs.map((program) => [program.name, program.section])).toEqual([
      ["count", "socket"],
      ["pass", "xdp"],
    ]);
    for (const program of read.programs) {
      expect(program.code.length % 8).toBe(0);
      expect(program.code.at(-8)).toBe(0x95); // exit
      expect(program.relocations).toHaveLength(1);
      expect(program.code[program.relocations[0]!.offset]).toBe(0x18); // lddw
      expect(program.lines?.[0]).toMatchObject({ offset: 0, file: sourceFile });
    }
    expect(read.programs[0]!.relocations[0]!.symbol).toBe("stats_map");
    expect(read.programs[1]!.relocations[0]!.symbol).toBe("sizes_only");
    expect(read.programs[0]!.lines!.map((line) => line.text)).toContain("  __u32 key = 0;");
    const [stats, sizes] = read.maps;
    expect(stats).toMatchObject({ name: "stats_map", type: MapType.array, keySize: 4, valueSize: 16, maxEntries: 4, flags: 0 });
    expect(stats!.key).toEqual({
      kind: "typedef",
      name: "__u32",
      target: { kind: "int", name: "unsigned int", size: 4, signed: false },
    });
    expect(stats!.value).toMatchObject({ kind: "struct", name: "stats", size: 16 });
    expect(sizes).toEqual({
      name: "sizes_only",
      type: MapType.hash,
      keySize: 8,
      valueSize: 4,
      maxEntries: 128,
      flags: MapFlag.noPrealloc,
    });
  });

  itWith(["clang-16", "bpftool"], { kernel: true })("a clang object read and rewritten by us still loads", () => {
    withTempDir((dir) => {
      const read: BpfObject = readObject(compileC(dir));
      const path = writeTemp(dir, "rewritten.o", writeObject(read));
      withPinDir((pins) => {
        const load = run("bpftool", ["prog", "loadall", path, pins, "pinmaps", `${pins}/maps`]);
        expect(load.stderr).toBe("");
        expect(load.status).toBe(0);
        const map = JSON.parse(run("bpftool", ["-j", "map", "show", "pinned", `${pins}/maps/stats_map`]).stdout);
        expect(map).toMatchObject({ type: "array", bytes_key: 4, bytes_value: 16, max_entries: 4 });
        const dump = run("bpftool", ["prog", "dump", "xlated", "pinned", `${pins}/count`]);
        expect(dump.stdout).toContain("__u32 key = 0;");
      });
    });
  });
});

describe("attach data (.luabpf.attach)", () => {
  itWith(["llvm-objcopy-16"])("a .luabpf.attach section added by llvm-objcopy is read back into ObjectProgram.attach", () => {
    withTempDir((dir) => {
      const object = writeTemp(dir, "sample.o", sampleBytes);
      const notes = writeTemp(
        dir,
        "attach.jsonl",
        new TextEncoder().encode(
          [
            JSON.stringify({ program: "count_packets", interface: "eth0", future: { ignored: true } }),
            JSON.stringify({ program: "pass_all", symbol: "do_sys_open", retprobe: true, pid: 42, cpu: "not a number" }),
            "",
          ].join("\n"),
        ),
      );
      const result = run("llvm-objcopy-16", ["--add-section", `.luabpf.attach=${notes}`, object]);
      expect(result.stderr).toBe("");
      const read = readObject(readFileSync(object));
      expect(read.programs.find((p) => p.name === "count_packets")?.attach).toEqual({ interface: "eth0" });
      expect(read.programs.find((p) => p.name === "pass_all")?.attach).toEqual({ symbol: "do_sys_open", retprobe: true, pid: 42 });

      const bad = writeTemp(dir, "bad.jsonl", new TextEncoder().encode(`${JSON.stringify({ program: "nobody" })}\n`));
      const copy = writeTemp(dir, "copy.o", sampleBytes);
      expect(run("llvm-objcopy-16", ["--add-section", `.luabpf.attach=${bad}`, copy]).status).toBe(0);
      expect(() => readObject(readFileSync(copy))).toThrow(/section \.luabpf\.attach: line 1: no program named nobody/);
    });
  });
});
