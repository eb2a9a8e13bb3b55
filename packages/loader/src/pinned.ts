// Maps pinned in bpffs, opened again by path: BPF_OBJ_GET gives a descriptor, the map's info
// gives its sizes and the id of the BTF it was created with, and that BTF (fetched from the
// kernel with BPF_BTF_GET_FD_BY_ID + the BTF object's info) gives its key and value types. So a
// map pinned by `luabpf run --pin DIR` can be dumped with types by `luabpf maps DIR` without
// the object file, as `bpftool map dump pinned PATH` does.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { decodeBtf, type BtfType } from "@luabpf/elf";
import { LoaderError } from "./errors.js";
import { makeMapHandle, type MapHandle } from "./object.js";
import { close } from "./syscall.js";
import { btfFdById, btfRawData, mapInfo, objGet, type MapInfo } from "./syscall-objects.js";

/**
 * The file name a map is pinned under in a bpffs directory: its name with every `.` made `_`
 * (bpffs refuses names with dots — a global-data map such as `.bss` — as libbpf's pin paths
 * do the same).
 */
export function pinName(mapName: string): string {
  return mapName.replaceAll(".", "_");
}

/** A pinned map opened by path; close() releases the descriptor (the pin stays). */
export type PinnedMap = MapHandle & {
  readonly path: string;
  readonly info: MapInfo;
  close(): void;
};

/** The key and value types of a map from the BTF object the kernel keeps with it. */
function kernelMapTypes(info: MapInfo): { key?: BtfType; value?: BtfType } {
  if (info.btfId === 0) return {};
  const btfFd = btfFdById(info.btfId);
  try {
    const table = decodeBtf(btfRawData(btfFd));
    const key = info.btfKeyTypeId ? table.types[info.btfKeyTypeId] : undefined;
    const value = info.btfValueTypeId ? table.types[info.btfValueTypeId] : undefined;
    return { ...(key ? { key } : {}), ...(value ? { value } : {}) };
  } finally {
    close(btfFd);
  }
}

/**
 * What kind of BPF object a descriptor refers to, from /proc/self/fdinfo (maps show
 * `map_type:`, programs `prog_type:`, links `link_type:`).
 */
export function bpfObjectKind(fd: number): "map" | "program" | "link" | "btf" | "unknown" {
  let text: string;
  try {
    text = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
  } catch {
    return "unknown";
  }
  if (/^map_type:/m.test(text)) return "map";
  if (/^prog_type:/m.test(text)) return "program";
  if (/^link_type:/m.test(text)) return "link";
  if (/^btf_id:/m.test(text)) return "btf";
  return "unknown";
}

/**
 * Opens the map pinned at `path`, with its BTF key/value types when it has them.
 *
 * @throws LoaderError when `path` holds a pinned program or link rather than a map
 */
export function openPinnedMap(path: string): PinnedMap {
  const fd = objGet(path);
  try {
    const kind = bpfObjectKind(fd);
    if (kind !== "map") throw new LoaderError(`${path}: a pinned ${kind}, not a map`);
    const info = mapInfo(fd);
    const types = kernelMapTypes(info);
    const handle = makeMapHandle(
      { name: info.name, type: info.type, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.flags, ...types },
      fd,
      undefined,
    );
    let closed = false;
    return Object.assign(handle, {
      path,
      info,
      close() {
        if (closed) return;
        closed = true;
        close(fd);
      },
    });
  } catch (error) {
    close(fd);
    throw error;
  }
}

/** The paths of the files directly in `dir` (pinned objects), sorted by name. */
export function pinnedPaths(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}
