/**
 * `luabpf maps DIR|PATH...`: dumps maps pinned in bpffs (by `luabpf run --pin DIR`, bpftool or
 * libbpf) with the key and value types the kernel keeps in their BTF: a header per map
 * (`counts: hash, key unsigned int, value unsigned long long, 3/1024 entries`) and its contents
 * as `luabpf run` prints maps (tables, scalars, histograms). Pinned links and programs in the
 * directory are listed and skipped.
 */
import { statSync } from "node:fs";
import { IoError } from "../errors.js";
import { DIAGNOSTIC_OPTIONS, HELP_OPTIONS } from "../options.js";
import type { Command, CommandContext } from "./command.js";

export const mapsCommand: Command = {
  name: "maps",
  summary: "Dump maps pinned in bpffs with their BTF key and value types.",
  operands: "DIR|PATH...",
  minOperands: 1,
  maxOperands: Infinity,
  options: {
    json: { type: "boolean", description: "one JSON object per map" },
    ...DIAGNOSTIC_OPTIONS,
    ...HELP_OPTIONS,
  },
  details: `A directory operand dumps every map pinned directly in it (sorted by name).

examples:
  luabpf run trace.lua --pin /sys/fs/bpf/trace &
  luabpf maps /sys/fs/bpf/trace
  luabpf maps --json /sys/fs/bpf/trace/counts`,
  run: runMaps,
};

async function runMaps(ctx: CommandContext): Promise<number> {
  const { io, values } = ctx;
  const loader = await import("../lazy/loader.js");
  const { describeBtfType } = await import("../lazy/elf.js");
  const { mapJson, mapShape, renderMap } = await import("../map-view.js");
  const available = loader.bpfAvailable();
  if (!available.ok) {
    const { KernelUnavailableError } = await import("../errors.js");
    throw new KernelUnavailableError(`cannot use bpf(2) here: ${available.reason}`);
  }
  const paths: string[] = [];
  for (const operand of ctx.operands) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(operand).isDirectory();
    } catch (e) {
      throw IoError.from(operand, "read", e);
    }
    paths.push(...(isDirectory ? loader.pinnedPaths(operand) : [operand]));
  }
  const { mapTypeById } = await import("../lazy/platform.js");
  const typeName = (value: number): string => mapTypeById(value)?.name ?? `type ${value}`;
  let status = 0;
  for (const path of paths) {
    let map;
    try {
      map = loader.openPinnedMap(path);
    } catch (e) {
      if (e instanceof loader.LoaderError && /a pinned (link|program|btf)/.test(e.message)) {
        if (!values.json) io.stdout(`# ${path}: ${/a pinned (\w+)/.exec(e.message)![1]} (not a map)\n`);
        continue;
      }
      status = Math.max(status, await ctx.report(e));
      continue;
    }
    try {
      const key = map.keyType ? describeBtfType(map.keyType) : `${map.keySize} bytes`;
      const value = map.valueType ? describeBtfType(map.valueType) : `${map.valueSize} bytes`;
      if (values.json) {
        const dump = mapJson(map) ?? { type: "map", map: map.name };
        io.stdout(`${JSON.stringify({ ...dump, path, kind: typeName(map.type), keyType: key, valueType: value, maxEntries: map.maxEntries })}\n`);
      } else {
        // Ring buffers, perf event arrays and the like have no entries to count or show.
        const listable = mapShape(map) !== "events" && mapShape(map) !== "none";
        const count = listable ? `${[...map.keys()].length}/${map.maxEntries} entries` : `max_entries ${map.maxEntries}`;
        io.stdout(`# ${path}: ${map.name}: ${typeName(map.type)}, key ${key}, value ${value}, ${count}\n`);
        io.stdout(renderMap(map));
      }
    } finally {
      map.close();
    }
  }
  return status;
}
