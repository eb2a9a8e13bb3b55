/**
 * What memory operations may touch, for the memory passes (redundant-store, map-lookup-cse).
 *
 * - {@link callEffects}: a call's effects, from the helper table of @luabpf/platform. A
 *   helper whose row records no effects (and every call of an IR function) may write any
 *   memory and change any map, so callers must treat it as a full barrier.
 * - {@link mayAlias}: a deliberately simple alias test on the pointer's root (the value
 *   left after stripping `ptradd`s): two different `alloca`s never overlap, and a stack slot
 *   never overlaps a pointer typed into another region (ctx, packet, map value, map).
 *   Everything else may alias. Sound because the interpreter and the kernel bounds-check
 *   every access against the object its pointer was derived from.
 */
import { isInstruction, regionOf, type Instruction, type Value } from "@luabpf/ir";
import { ANY_EFFECTS, helperEffects, type HelperEffects } from "@luabpf/platform";

/** The effects of a `call` instruction (calls of IR functions may do anything). */
export function callEffects(call: Instruction): HelperEffects {
  return call.callee !== undefined ? ANY_EFFECTS : helperEffects(call.helper);
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
