/**
 * The C twins of bench/size (docs/performance.md, "Code size"): each `bench/size/NAME.c` is
 * what an eBPF developer would write with clang and libbpf for `examples/NAME.lua`. This
 * module is the one place that knows how a twin is built — `clang-16 -O2 -g -target bpf
 * -mcpu=v3`, libbpf's headers, and for tracing twins a `vmlinux.h` dumped from the running
 * kernel's BTF (`bpftool btf dump file /sys/kernel/btf/vmlinux format c`, as libbpf-tools'
 * build does) — for the kernel comparisons (check/test/twins*.test.ts) and `npm run bench:size`.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** bench/size, where the twins live. */
export const TWINS_DIR = join(import.meta.dirname, "../../../bench/size");

/** The clang that builds the twins and its code generation flags (the size baseline). */
export const TWIN_CLANG = ["clang-16", "-O2", "-g", "-target", "bpf", "-mcpu=v3"] as const;

/** Names of the programs with a C twin (`bench/size/NAME.c` twins `examples/NAME.lua`), sorted. */
export function twinNames(): string[] {
  return readdirSync(TWINS_DIR)
    .filter((f) => f.endsWith(".c"))
    .map((f) => f.slice(0, -2))
    .sort();
}

/** bpf_tracing.h's architecture names, by Node's `process.arch`. */
const TARGET_ARCH: Readonly<Record<string, string>> = { x64: "x86", arm64: "arm64", s390x: "s390", ppc64: "powerpc", riscv64: "riscv", loong64: "loongarch" };

let multiarch: string | undefined;

/**
 * Compiles the twin `name` into `dir/NAME.o` and returns that path. `dir` also receives the
 * `vmlinux.h` the tracing twins include (dumped once per directory).
 */
export function compileTwin(name: string, dir: string): string {
  const header = join(dir, "vmlinux.h");
  if (!existsSync(header)) {
    writeFileSync(header, execFileSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"], { maxBuffer: 1 << 28 }));
  }
  multiarch ??= execFileSync("gcc", ["-print-multiarch"], { encoding: "utf8" }).trim();
  const arch = TARGET_ARCH[process.arch];
  const out = join(dir, `${name}.o`);
  const [clang, ...flags] = TWIN_CLANG;
  execFileSync(clang, [...flags, ...(arch ? [`-D__TARGET_ARCH_${arch}`] : []), `-I${dir}`, `-I/usr/include/${multiarch}`, "-c", join(TWINS_DIR, `${name}.c`), "-o", out]);
  return out;
}
