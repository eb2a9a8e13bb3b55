/**
 * The constant-propagation lattice shared by SCCP (sparse) and the dense dataflow
 * instance in analysis/constants.ts: ⊤ is `undefined` (no information yet), a constant is
 * its bigint, ⊥ is {@link OVERDEFINED} (not a constant). Height 3, so both terminate.
 */

/** ⊥ of the constant lattice: not a constant. */
export const OVERDEFINED = "overdefined" as const;
/** A lattice value: ⊤ `undefined`, a constant, or {@link OVERDEFINED}. */
export type LatticeValue = undefined | bigint | typeof OVERDEFINED;

/** The meet (greatest lower bound) of two lattice values. */
export function meet(a: LatticeValue, b: LatticeValue): LatticeValue {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a === OVERDEFINED || b === OVERDEFINED) return OVERDEFINED;
  return a === b ? a : OVERDEFINED;
}
