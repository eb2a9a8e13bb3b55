// Access to the independent readers (llvm-readelf/objdump, bpftool/libbpf, clang) for
// the tests. A test that needs a tool is skipped when the tool is missing, unless the
// environment variable CI is set: then a missing tool fails the test, so CI cannot
// silently lose its external checks.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: readonly string[]): RunResult {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function hasTool(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

const isRoot = process.getuid?.() === 0;

/**
 * `it`, or `it.skip` when a tool is missing outside CI. `kernel: true` additionally
 * needs root (to load programs). In CI the body first asserts that everything is
 * present, so a missing tool is reported as a failure rather than a skip.
 */
export function itWith(tools: readonly string[], options: { kernel?: boolean } = {}) {
  const missing = tools.filter((tool) => !hasTool(tool));
  if (options.kernel && !isRoot) missing.push("root privileges");
  if (missing.length > 0 && !process.env.CI) return it.skip;
  return (name: string, body: () => void | Promise<void>) =>
    it(name, async () => {
      expect(missing, `required tools missing: ${missing.join(", ")}`).toEqual([]);
      await body();
    });
}

/** A temporary directory for the duration of `body`, removed afterwards. */
export function withTempDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "luabpf-elf-"));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function writeTemp(dir: string, name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** Mounts bpffs if needed and runs `body` with a fresh pin directory, removed afterwards. */
export function withPinDir<T>(body: (dir: string) => T): T {
  if (run("mountpoint", ["-q", "/sys/fs/bpf"]).status !== 0) {
    const mount = run("mount", ["-t", "bpf", "bpf", "/sys/fs/bpf"]);
    if (mount.status !== 0) throw new Error(`mounting bpffs failed: ${mount.stderr}`);
  }
  const dir = `/sys/fs/bpf/luabpf-elf-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
