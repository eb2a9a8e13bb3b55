/**
 * @luabpf/platform — the eBPF platform as data, read by every other package: map types
 * (maps.ts), helpers (helpers.ts), program types and section rules (programs.ts), the helpers
 * each program type may call (program-helpers.ts), context
 * struct layouts (contexts.ts) and the remaining bpf(2) constants (uapi.ts); and the base
 * class of luabpf's errors (errors.ts, also importable alone). Each kernel
 * number is written once, here. No dependencies, so that `@luabpf/elf` (which otherwise
 * stands alone) and library users can import it without the compiler or koffi.
 *
 * @packageDocumentation
 */
import { MAP_TYPES, type MapTypeName } from "./maps.js";
import { PROGRAM_TYPES, type ProgramTypeName } from "./programs.js";

export * from "./maps.js";
export * from "./helpers.js";
export * from "./programs.js";
export * from "./contexts.js";
export * from "./uapi.js";
export * from "./errors.js";
export * from "./program-helpers.js";

/** `BPF_MAP_TYPE_*` values by map type name (`MapType.hash` is 1), derived from {@link MAP_TYPES}. */
export const MapType: Readonly<Record<MapTypeName, number>> = Object.freeze(
  Object.fromEntries(Object.values(MAP_TYPES).map((t) => [t.name, t.id])) as Record<MapTypeName, number>,
);

/** `BPF_PROG_TYPE_*` values by program type name (`ProgramType.xdp` is 6), derived from {@link PROGRAM_TYPES}. */
export const ProgramType: Readonly<Record<ProgramTypeName, number>> = Object.freeze(
  Object.fromEntries(Object.values(PROGRAM_TYPES).map((t) => [t.name, t.id])) as Record<ProgramTypeName, number>,
);
