#!/usr/bin/env node
// `npm run bench:loops`: how cheaply the kernel verifier bounds our loops, against clang.
// For every loop in bench/loops/ (a .lua program and its C twin), loads our object (-O0 and
// -O2) and clang's (clang-16 -O2 -target bpf -mcpu=v3) with bpftool and prints the
// verifier's processed-instruction count (`verified_insns`) and the program's size. Needs
// root and bpftool; pins under /sys/fs/bpf are removed again.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSource } from "../packages/cli/dist/driver.js";
import { readObject, writeObject } from "../packages/elf/dist/index.js";
import { close, objGet } from "../packages/loader/dist/index.js";
// Not exported by @luabpf/loader (yet): BPF_OBJ_GET_INFO_BY_FD; this bpftool prints no verified_insns.
import { objInfo } from "../packages/loader/dist/syscall-objects.js";

/** `struct bpf_prog_info`: 232 bytes on Linux 6.18, `verified_insns` at byte 216 (its BTF says). */
const PROG_INFO_SIZE = 232;
const VERIFIED_INSNS = 216;
const XLATED_PROG_LEN = 20;

const root = join(import.meta.dirname, "..");
const dir = join(root, "bench/loops");
const loops = readdirSync(dir).filter((f) => f.endsWith(".lua")).map((f) => f.replace(/\.lua$/, "")).sort();
const multiarch = (() => {
  try {
    return execFileSync("gcc", ["-print-multiarch"], { encoding: "utf8" }).trim();
  } catch {
    return "x86_64-linux-gnu";
  }
})();
execFileSync("sh", ["-c", "mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"]);
const tmp = mkdtempSync(join(tmpdir(), "luabpf-loops-"));

/** Loads `object` with bpftool and returns [verified_insns, xlated instructions]. */
function verify(object, tag) {
  const pin = `/sys/fs/bpf/luabpf-loops-${process.pid}-${tag}`;
  try {
    execFileSync("bpftool", ["prog", "load", object, pin], { stdio: ["ignore", "ignore", "pipe"] });
    const fd = objGet(pin);
    try {
      const info = objInfo(fd, PROG_INFO_SIZE);
      return [String(info.readUInt32LE(VERIFIED_INSNS)), String(info.readUInt32LE(XLATED_PROG_LEN) / 8)];
    } finally {
      close(fd);
    }
  } catch (e) {
    return [`rejected: ${String(e.stderr ?? e.message).split("\n").filter((l) => /processed|too|invalid|!read_ok/.test(l))[0] ?? "see bpftool"}`, "-"];
  } finally {
    rmSync(pin, { force: true });
  }
}

const rows = [["loop", "ours -O0", "ours -O2", "clang -O2", "insns -O0/-O2/clang"]];
try {
  for (const name of loops) {
    const source = readFileSync(join(dir, `${name}.lua`), "utf8");
    const cells = [name];
    const sizes = [];
    for (const optLevel of [0, 2]) {
      const obj = join(tmp, `${name}-O${optLevel}.o`);
      writeFileSync(obj, writeObject(compileSource(source, { file: `bench/loops/${name}.lua`, optLevel }).object));
      const [verified, insns] = verify(obj, `${name}-O${optLevel}`);
      cells.push(String(verified));
      sizes.push(insns);
    }
    const cobj = join(tmp, `${name}-clang.o`);
    execFileSync("clang-16", ["-O2", "-g", "-target", "bpf", "-mcpu=v3", `-I/usr/include/${multiarch}`, "-c", join(dir, `${name}.c`), "-o", cobj]);
    readObject(readFileSync(cobj)); // our reader accepts clang's object too
    const [verified, insns] = verify(cobj, `${name}-clang`);
    cells.push(String(verified));
    sizes.push(insns);
    cells.push(sizes.join(" / "));
    rows.push(cells);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "));
