/**
 * What memory operations may touch, for the memory passes (redundant-store, map-lookup-cse).
 *
 * - {@link helperEffects}: a small table of the eBPF helpers whose effects are known. Every
 *   helper not listed (and every call of an IR function) may write any memory and change
 *   any map, so callers must treat it as a full barrier.
 * - {@link mayAlias}: a deliberately simple alias test on the pointer's root (the value
 *   left after stripping `ptradd`s): two different `alloca`s never overlap, and a stack slot
 *   never overlaps a pointer typed into another region (ctx, packet, map value, map).
 *   Everything else may alias. Sound because the interpreter and the kernel bounds-check
 *   every access against the object its pointer was derived from.
 */
import { isInstruction, regionOf, type Instruction, type Value } from "@luabpf/ir";

/** What a helper call may do besides returning a value. */
export interface HelperEffects {
  /** May write memory reachable from its arguments or elsewhere (stack, map values, packet). */
  readonly writesMemory: boolean;
  /** May add, remove or replace map entries (so a repeated lookup could return something else). */
  readonly modifiesMaps: boolean;
}

const NONE: HelperEffects = { writesMemory: false, modifiesMaps: false };
const ALL: HelperEffects = { writesMemory: true, modifiesMaps: true };

/** Helpers with known effects, by `BPF_FUNC_*` id. */
const KNOWN: ReadonlyMap<number, HelperEffects> = new Map([
  [1, NONE], // map_lookup_elem: reads the key, returns a pointer to the entry
  [2, ALL], // map_update_elem: adds an entry or copies into an existing one (may evict on LRU maps)
  [3, ALL], // map_delete_elem: kills the entry
  [5, NONE], // ktime_get_ns
  [8, NONE], // get_smp_processor_id
  [14, NONE], // get_current_pid_tgid
]);

/** The effects of helper `id`; unknown helpers may do anything. */
export function helperEffects(id: number | undefined): HelperEffects {
  return (id === undefined ? undefined : KNOWN.get(id)) ?? ALL;
}

/** The effects of a `call` instruction (calls of IR functions may do anything). */
export function callEffects(call: Instruction): HelperEffects {
  return call.callee !== undefined ? ALL : helperEffects(call.helper);
}

/** `p` with every `ptradd` stripped. */
export function pointerRoot(p: Value): Value {
  let v = p;
  while (isInstruction(v, "ptradd")) v = v.operands[0]!;
  return v;
}

/** May an access through `a` touch the bytes an access through `b` touches? (Conservative.) */
export function mayAlias(a: Value, b: Value): boolean {
  const ra = pointerRoot(a);
  const rb = pointerRoot(b);
  if (ra === rb) return true;
  const sa = isInstruction(ra, "alloca");
  const sb = isInstruction(rb, "alloca");
  if (sa && sb) return false;
  if (sa || sb) {
    const region = regionOf(sa ? b : a);
    return region === undefined || region === "stack";
  }
  return true;
}
