/**
 * Instruction selection's multi-instruction patterns: byte-swapped halves joined into one
 * swap of the whole (LLVM's DAGCombiner does both: `MatchBSwapHWord`-like reassociation and
 * `MatchLoadCombine`).
 *
 * - **Swap pair**: `(bswapN(a) << N) | bswapN(b)` (N = 16 or 32, each swap zero-extended
 *   to the `or`'s width) is `bswap2N((b << N) | a)`: `r = b; r <<= N; r |= a; r = be2N r`,
 *   four instructions where the two swaps, the shift and the `or` take five (flow keys built
 *   from network-order halves: xdp-sketch's addresses).
 * - **Wide load**: when `a` and `b` are loads of N bits from the same packet pointer at
 *   offsets `k` and `k + N/8`, the whole is one big-endian load of 2N bits: `r = *(u2N
 *   *)(p + k); r = be2N r` — two instructions for six (xdp-sketch's ports). Only packet
 *   memory, only when nothing between the first load and the `or` writes memory or calls,
 *   and only when the wide access is aligned the way the verifier checks packet accesses
 *   under strict alignment (`BPF_F_STRICT_ALIGNMENT`, and always on architectures without
 *   efficient unaligned access): the offset from the packet start plus NET_IP_ALIGN (2) a
 *   multiple of the size, from the low bits known of the offset (constants, shifts, masks,
 *   sums). The bytes read are those the two loads read: the bounds check that let them
 *   read lets it read.
 *
 * Every instruction of a pattern but the `or` has that one use, so none of them is selected
 * on its own (`absorbed`).
 */
import { isConstant, isInstruction, regionOf, type Instruction, type Value } from "@luabpf/ir";

/** A pattern rooted at an `or` (see the file comment). */
export type Combine =
  | { kind: "swap-pair"; bits: 32 | 64; hi: Value; lo: Value }
  | { kind: "wide-load"; bits: 32 | 64; ptr: Value; offset: number };

/** What the `or`s of a function combine into, and the instructions the patterns absorb. */
export interface Combines {
  roots: Map<Instruction, Combine>;
  absorbed: Set<Instruction>;
}

const single = (v: Value): v is Instruction => isInstruction(v) && v.useCount === 1;
const intBits = (v: Value): number => (v.type.kind === "int" ? v.type.bits : 64);

/** `zext (bswap iN x)` (or the swap itself when the `or` is N bits wide, never here) with one use each: x and the chain. */
function swappedHalf(v: Value, n: number): { x: Value; chain: Instruction[] } | undefined {
  if (!single(v) || v.opcode !== "zext") return undefined;
  const s = v.operands[0]!;
  if (!single(s) || s.opcode !== "bswap" || intBits(s) !== n) return undefined;
  return { x: s.operands[0]!, chain: [v, s] };
}

/** Low bits known of an integer value: its low `k` bits (k ≤ 3) are `r`. */
interface LowBits {
  k: number;
  r: number;
}
const UNKNOWN: LowBits = { k: 0, r: 0 };
const maskOf = (k: number): number => (1 << k) - 1;

/** The low three bits known of `v` (a small known-bits walk, `depth` levels). */
function lowBits(v: Value, depth = 6): LowBits {
  if (isConstant(v)) return { k: 3, r: Number(BigInt.asUintN(3, v.value)) };
  if (!isInstruction(v) || depth === 0) return UNKNOWN;
  const [a, b] = v.operands;
  const of = (x: Value | undefined): LowBits => (x === undefined ? UNKNOWN : lowBits(x, depth - 1));
  switch (v.opcode) {
    case "zext":
      return of(a);
    case "add": {
      const [x, y] = [of(a), of(b)];
      const k = Math.min(x.k, y.k);
      return { k, r: (x.r + y.r) & maskOf(k) };
    }
    case "shl": {
      if (!isConstant(b!)) return UNKNOWN;
      const s = Number(BigInt.asUintN(8, b.value));
      if (s >= intBits(v)) return UNKNOWN;
      const x = of(a);
      const k = Math.min(3, x.k + s);
      return { k, r: (x.r << s) & maskOf(k) };
    }
    case "and": {
      // A bit is known where either side knows a 0, or both know it.
      const [x, y] = [of(a), of(b)];
      let k = 0;
      let r = 0;
      for (; k < 3; k++) {
        const bit = 1 << k;
        const zero = (k < x.k && !(x.r & bit)) || (k < y.k && !(y.r & bit));
        if (!zero && !(k < x.k && k < y.k)) break;
        if (!zero) r |= bit;
      }
      return { k, r };
    }
    default:
      return UNKNOWN;
  }
}

/** Is `p + offset` aligned to `size` bytes as the verifier checks packet accesses under strict alignment? */
function packetAligned(p: Value, offset: number, size: number): boolean {
  let k = 3;
  let r = offset & 7;
  while (isInstruction(p, "ptradd")) {
    const o = lowBits(p.operands[1]!);
    k = Math.min(k, o.k);
    r = (r + o.r) & maskOf(k);
    p = p.operands[0]!;
  }
  // The start of the packet: `data` read from the context, NET_IP_ALIGN = 2 bytes past an aligned address in the verifier's model.
  if (!(isInstruction(p, "load") && regionOf(p) === "packet" && regionOf(p.operands[0]!) === "ctx")) return false;
  const need = Math.log2(size);
  return k >= need && ((r + 2) & maskOf(need)) === 0;
}

/** Does anything between `from` and `to` (same block, `from` first) write memory or call? */
function clobbersBetween(from: Instruction, to: Instruction): boolean {
  for (let i = from.next; i && i !== to; i = i.next) if (i.info.memory === "write" || i.info.memory === "readwrite" || i.opcode === "call" || i.info.sideEffects) return true;
  return false;
}

/** Two loads of `n` bits from one packet pointer, `hi` at `k` and `lo` at `k + n/8`, combinable into one wide load before `or`. */
function wideLoad(hi: Value, lo: Value, n: number, or: Instruction): { ptr: Value; offset: number } | undefined {
  if (!single(hi) || !single(lo) || hi.opcode !== "load" || lo.opcode !== "load") return undefined;
  const p = hi.operands[0]!;
  if (lo.operands[0] !== p || regionOf(p) !== "packet" || lo.offset !== hi.offset + n / 8) return undefined;
  if (hi.block !== or.block || lo.block !== or.block) return undefined;
  let earlier: Instruction | undefined;
  for (let i = or.prev; i; i = i.prev) if (i === hi || i === lo) earlier = i;
  if (!earlier || clobbersBetween(earlier, or)) return undefined;
  return packetAligned(p, hi.offset, (2 * n) / 8) ? { ptr: p, offset: hi.offset } : undefined;
}

/** Finds the patterns of the file comment among `insts` (a function's instructions). */
export function findCombines(insts: Iterable<Instruction>): Combines {
  const roots = new Map<Instruction, Combine>();
  const absorbed = new Set<Instruction>();
  for (const or of insts) {
    if (or.opcode !== "or" || or.type.kind !== "int") continue;
    for (const [s, other] of [or.operands, [...or.operands].reverse()] as [Value, Value][]) {
      if (!single(s) || s.opcode !== "shl" || !isConstant(s.operands[1]!)) continue;
      const n = Number(s.operands[1].value);
      if ((n !== 16 && n !== 32) || intBits(or) < 2 * n) continue;
      const hi = swappedHalf(s.operands[0]!, n);
      const lo = swappedHalf(other, n);
      if (!hi || !lo) continue;
      const bits = (2 * n) as 32 | 64;
      const wide = wideLoad(hi.x, lo.x, n, or);
      if (wide) {
        roots.set(or, { kind: "wide-load", bits, ...wide });
        absorbed.add(hi.x as Instruction).add(lo.x as Instruction);
      } else roots.set(or, { kind: "swap-pair", bits, hi: hi.x, lo: lo.x });
      for (const i of [s, ...hi.chain, ...lo.chain]) absorbed.add(i);
      break;
    }
  }
  return { roots, absorbed };
}
