/**
 * `merge-stores`: two stores of the halves of one value into neighbouring bytes become one
 * store of the value — `e.uid = bit.band(ids, 0xffffffff); e.gid = bit.rshift(ids, 32)`
 * stores `ids` once, as clang does for the two u32 fields of a u64.
 *
 * In a block, `store iN (trunc x), p, o` and `store iN (trunc (lshr/ashr x, N)), p, o + N/8`
 * (either first; eBPF is little-endian, so the low half goes to the lower address) are
 * replaced by `store i2N x, p, o` at the later one's place (`trunc x to i2N` when x is
 * wider; for halves of a shifted x, `trunc (lshr x, k)` to i2N), when:
 * - both have the same address value `p`;
 * - what lies between them is pure arithmetic, or loads and stores that cannot touch the
 *   2N/8 bytes (`util/memory.ts` `mayAlias`): nothing in between reads the first half or
 *   leaves the program (a call, a packet load that may abort) while only it is written;
 * - the wide store is naturally aligned: `p` is an `alloca` of that alignment or a map
 *   value or ring buffer record (8-aligned by the kernel), plus constant `ptradd`s, and
 *   the byte offset is a multiple of 2N/8 (the verifier rejects misaligned stack access).
 *   Context and packet stores are never merged (the kernel checks each context field's
 *   access size; packet data has no alignment).
 * Merged stores merge again (two i16 halves, then two i32 halves).
 *
 * Exact: the two bytes ranges are written with the same bytes by one store at the later
 * point, and nothing in between could see the earlier half alone. The CFG is untouched:
 * preserves the CFG analyses. Cost: O(instructions × distance to the partner store).
 */
import { BPF_FUNC } from "@luabpf/platform";
import { bitsOf, intType, isConstant, isInstruction, voidType, type IntBits, type Instruction, type Value } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { defineFunctionPass } from "../pass.js";
import { eraseDeadTree } from "../util/ir.js";
import { mayAlias } from "../util/memory.js";
import { censusAnalysis } from "../analysis/census.js";

/** How far (in instructions) a store looks for its partner. */
const WINDOW = 16;

/** `v` as a piece of a wider value: `trunc x` is x from bit 0, `trunc (lshr/ashr x, k)` x from bit k. */
function pieceOf(v: Value): { x: Value; shift: number } | undefined {
  if (!isInstruction(v, "trunc")) return undefined;
  const x = v.operands[0]!;
  if (isInstruction(x) && (x.opcode === "lshr" || x.opcode === "ashr") && isConstant(x.operands[1]!)) {
    const shift = Number(x.operands[1].value);
    if (shift > 0 && shift + bitsOf(v.type) <= bitsOf(x.type)) return { x: x.operands[0]!, shift };
  }
  return { x, shift: 0 };
}

/** The alignment the object `p` points into is known to have, and `p`'s constant offset into it. */
function alignmentOf(p: Value): { align: number; offset: number } | undefined {
  let offset = 0;
  let v = p;
  while (isInstruction(v, "ptradd")) {
    const n = v.operands[1]!;
    if (!isConstant(n)) return undefined;
    offset += Number(BigInt.asIntN(64, n.value));
    v = v.operands[0]!;
  }
  if (isInstruction(v, "alloca")) return { align: Math.min(8, v.align), offset };
  const region = v.type.kind === "ptr" ? v.type.region : undefined;
  if (region === "map_value" || region === "map_value_or_null") return { align: 8, offset };
  if (isInstruction(v, "call") && v.callee === undefined && v.helper === BPF_FUNC.ringbuf_reserve) return { align: 8, offset };
  return undefined;
}

/** May `i`, between the two stores, see or overwrite the bytes at `p`, or leave the program? */
function interferes(i: Instruction, p: Value): boolean {
  const shape = i.info.shape;
  if (shape === "load") return mayAlias(i.operands[0]!, p);
  if (shape === "store") return mayAlias(i.operands[1]!, p);
  return i.info.memory !== "none" || i.info.sideEffects;
}

export const mergeStores = defineFunctionPass({
  name: "merge-stores",
  description: "merge stores of the low and high halves of one value into neighbouring bytes into one wider store",
  preserves: Preserved.cfg(),
  applies: (fn, ctx) => ctx.analyses.get(censusAnalysis).count("store") >= 2,
  run(fn, ctx) {
    let changed = false;
    for (const bb of fn.blocks) {
      for (let next = bb.first; next; ) {
        const s: Instruction = next;
        next = s.next;
        if (s.opcode !== "store" || s.typeParam.kind !== "int" || s.typeParam.bits === 64) continue;
        // Look back for the partner store: the other half of the same value, next to this one.
        const bits = s.typeParam.bits;
        const piece = pieceOf(s.operands[0]!);
        if (!piece) continue;
        const p = s.operands[1]!;
        let partner: Instruction | undefined;
        let n = 0;
        for (let i = s.prev; i && n < WINDOW; i = i.prev, n++) {
          if (i.opcode === "store" && i.operands[1] === p && i.typeParam === s.typeParam) {
            const other = pieceOf(i.operands[0]!);
            const lowFirst = i.offset + bits / 8 === s.offset;
            const highFirst = s.offset + bits / 8 === i.offset;
            if (other && other.x === piece.x && ((lowFirst && other.shift + bits === piece.shift) || (highFirst && piece.shift + bits === other.shift))) {
              partner = i;
              break;
            }
          }
          if (interferes(i, p)) break;
        }
        if (!partner) continue;
        const low = partner.offset < s.offset ? partner : s;
        const wide = (bits * 2) as IntBits;
        const a = alignmentOf(p);
        if (!a || a.align < wide / 8 || (a.offset + low.offset) % (wide / 8) !== 0) continue;
        // The low half is `trunc v` (v: x, or x shifted right): the wide store writes v's low bits.
        let value = (low.operands[0] as Instruction).operands[0]!;
        if (bitsOf(value.type) !== wide) {
          const t = fn.createInstruction("trunc", intType(wide), value.type, [value]);
          t.insertBefore(s);
          value = t;
        }
        const merged = fn.createInstruction("store", voidType, intType(wide), [value, p], { offset: low.offset });
        merged.insertBefore(s);
        for (const old of [partner, s]) {
          const v = old.operands[0]!;
          old.erase();
          if (isInstruction(v)) eraseDeadTree(v);
        }
        ctx.stat("stores-merged");
        changed = true;
        next = merged; // it may merge again, with the other half of a wider value
      }
    }
    return changed;
  },
});
