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
import { isInstruction, mayWriteMemory, regionOf, type Instruction, type Value } from "@luabpf/ir";
import { ANY_EFFECTS, helperById, helperEffects, type HelperEffects } from "@luabpf/platform";

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

/**
 * May `call` write the bytes an access through `address` touches? A helper that writes only
 * the maps its `map` arguments name (`writesOnlyMapArguments`) leaves the stack, the packet,
 * the context and the values of other maps alone: a pointer returned by a lookup of map
 * `@a` is untouched by an update of map `@b`.
 */
export function callMayWrite(call: Instruction, address: Value): boolean {
  const fx = callEffects(call);
  if (!fx.writesMemory) return false;
  if (!fx.writesOnlyMapArguments) return true;
  const region = regionOf(address);
  if (region === "stack" || region === "packet" || region === "ctx") return false;
  const root = pointerRoot(address);
  if (!isInstruction(root, "call") || root.callee !== undefined) return true;
  const lookedUp = mapArguments(root);
  if (lookedUp.length !== 1 || lookedUp[0] === undefined) return true;
  return mapArguments(call).some((m) => m === undefined || m === lookedUp[0]);
}

/** The map names a helper call's `map` arguments reference (undefined where one is not a `mapref`). */
function mapArguments(call: Instruction): (string | undefined)[] {
  const args = helperById(call.helper ?? -1)?.args;
  if (!args) return [undefined];
  const out: (string | undefined)[] = [];
  args.forEach((cls, k) => {
    if (cls !== "map") return;
    const v = call.operands[k];
    out.push(v !== undefined && isInstruction(v, "mapref") ? v.map : undefined);
  });
  return out;
}

/**
 * May `inst` change what `load` reads, or invalidate its pointer? A store or atomic when its
 * address may alias the load's; a call when it may write those bytes (`callMayWrite`) or
 * when the load reads the packet (a helper that writes memory may move or resize it, which
 * invalidates every packet pointer).
 */
export function mayClobberLoad(inst: Instruction, load: Instruction): boolean {
  if (!mayWriteMemory(inst)) return false;
  if (inst.opcode === "call") return regionOf(load.operands[0]!) === "packet" || callMayWrite(inst, load.operands[0]!);
  const address = inst.opcode === "store" ? inst.operands[1]! : inst.operands[0]!;
  return mayAlias(address, load.operands[0]!);
}
