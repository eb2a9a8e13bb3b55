/**
 * Where the compiler finds kernel types (`--btf FILE`): the kernel's BTF, by default
 * /sys/kernel/btf/vmlinux when it exists (as bpftool and libbpf's CO-RE use it), and
 * tracepoint formats from tracefs (/sys/kernel/tracing, or the older debugfs path) when it
 * is mounted. Both are read only when a program needs them (a tracing context, a kernel
 * type name), so compiling a socket filter reads nothing. A BTF file read once is kept for
 * the process and used again while the file is unchanged (same inode, size and modification
 * time): reading and indexing the kernel's 6 MB of BTF is most of a tracing program's warm
 * compile.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { readBtfFile, type BtfIndex } from "@luabpf/elf";
import type { KernelTypeSource } from "@luabpf/frontend-lua";
import { IoError } from "./errors.js";

/** The running kernel's BTF. */
export const VMLINUX_BTF = "/sys/kernel/btf/vmlinux";

/** Where tracefs may be mounted, in the order tried. */
const TRACEFS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/**
 * Kernel types from BTF file `btfPath` (default: the running kernel's, when present) and
 * tracefs. A `btfPath` that cannot be read is an {@link IoError} when first needed.
 */
export function kernelTypeSource(btfPath?: string): KernelTypeSource {
  // Where the BTF is, decided when first asked (most programs never ask: no file system access).
  let where: { path: string | undefined } | undefined;
  const btfFile = (): string | undefined => (where ??= { path: btfPath ?? (existsSync(VMLINUX_BTF) ? VMLINUX_BTF : undefined) }).path;
  let btf: BtfIndex | undefined;
  let loaded = false;
  return {
    get btf(): BtfIndex | undefined {
      const path = btfFile();
      if (!loaded && path !== undefined) {
        loaded = true;
        btf = readBtfCached(path);
      }
      return btf;
    },
    get btfOrigin(): string | undefined {
      return btfFile();
    },
    tracepointFormat(category: string, name: string): string | undefined {
      // An explicit --btf describes another kernel: this machine's tracefs does not.
      if (btfPath !== undefined) return undefined;
      for (const root of TRACEFS) {
        try {
          return readFileSync(`${root}/events/${category}/${name}/format`, "utf8");
        } catch {
          // not mounted here, or no such event
        }
      }
      return undefined;
    },
  };
}

/** BTF files read in this process, by path, with the file identity they were read at. */
const btfCache = new Map<string, { identity: string; btf: BtfIndex }>();

/** The BTF index of file `path`, read again only when the file changed since it was last read. */
function readBtfCached(path: string): BtfIndex {
  let identity: string;
  try {
    const st = statSync(path);
    identity = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch (e) {
    throw IoError.from(path, "read", e);
  }
  const cached = btfCache.get(path);
  if (cached?.identity === identity) return cached.btf;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw IoError.from(path, "read", e);
  }
  let btf: BtfIndex;
  try {
    btf = readBtfFile(bytes, path);
  } catch (e) {
    throw new IoError(path, "read", undefined, `not a BTF file (${(e as Error).message})`);
  }
  btfCache.set(path, { identity, btf });
  return btf;
}
