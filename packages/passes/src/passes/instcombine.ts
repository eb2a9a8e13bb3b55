/**
 * `instcombine`: local algebraic simplification with exact 64-bit semantics.
 *
 * Rules (T = the instruction's type, bits = its width; all wrap like the interpreter):
 *   fold       every `foldable` instruction with constant operands (util/fold.ts)
 *   identity   x+0, x-0, x*1, x/1, x|0, x^0, x&-1, x<<0, x>>0, ptradd p,0 → x;  copy x → x
 *   absorb     x*0, x&0, 0<<y, 0>>y → 0;  x|-1 → -1;  x%1 → 0
 *   eBPF div   x/0 → 0;  x%0 → x
 *   self       x-x, x^x → 0;  x&x, x|x → x;  select c,a,a → a;  eq/ule/uge/sle/sge x,x → 1, the others → 0
 *   involution neg(neg x), not(not x), bswap(bswap x) → x;  trunc(zext/sext x) to x's type → x
 *   trunc      trunc(zext/sext x) → zext/sext x or trunc x;  trunc(trunc x) → trunc x;
 *              trunc(and x, C) → trunc x when C keeps the result's bits;
 *              zext(trunc (and x, C)) back to x's type → and x, C when C fits the trunc
 *   select     select k,a,b with constant k → a or b
 *   reduce     x * 2^k → x << k
 *   canonical  constants to the right of commutative ops (compares swap their predicate);
 *              shift amounts reduced modulo the width
 *   bswap      eq/ne ([zext] (bswap x)), C → eq/ne ([zext] x), bswap(C) (a network-order field)
 *   booleans   a compare's value is 0 or 1: c & k → c (k odd) or 0 (k even);  c ^ 1 and
 *              eq c, 0 → the inverted compare;  ne c, 0 → c (the `not`/`and` of Lua's tag tests)
 *   high bits  eq/ne (x >> k), 0 → ule/ugt x, 2^k - 1 (one compare, no shift: clang's form)
 *   scaled     shl c, k (c a compare, 1 ≤ k ≤ 30) → select c, 2^k, 0 (set, branch over, set:
 *              one instruction fewer than a 0/1 shifted; util/ir.ts booleanScale)
 *   swap byte  and (bswap x), 0xff → x >> (bits - 8);  (bswap x) >> (bits - 8) → x & 0xff;
 *              bswap (x << (bits - 8)) → x & 0xff, also through a trunc of a wider shift
 *              (the low byte of a swap is the high byte of x, and the reverse; a wider low
 *              mask is a shift plus a narrower swap, no fewer instructions, so it stays)
 *
 * A worklist revisits the users of every replaced instruction, so chains simplify in one
 * run. The CFG is untouched: preserves the CFG analyses. Cost: O(instructions × rules).
 */
import { INVERTED_COMPARE, SWAPPED_COMPARE, bitsOf, type CompareOpcode, type Function, type Instruction, type Value } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { defineFunctionPass, type FunctionPassContext } from "../pass.js";
import { isFoldable, evaluate, log2Exact } from "../util/fold.js";
import { allInstructions, booleanScale, constValue, eraseDeadTree } from "../util/ir.js";

const TRUE_ON_EQUAL = new Set(["eq", "ule", "uge", "sle", "sge"]);

/** A rewrite: replace by a value, or `undefined` for no change (in-place changes return the instruction itself). */
type Rewrite = Value | undefined;

function simplify(inst: Instruction, fn: Function, ctx: FunctionPassContext): Rewrite {
  const op = inst.opcode;
  const ops = inst.operands;
  const T = inst.typeParam;
  const bits = bitsOf(T) || 64;
  const zero = () => fn.constant(inst.type, 0n);
  // The opcode table's row, read once (each `info` is a lookup by opcode name).
  const info = inst.info;

  if (isFoldable(op) && ops.every((v) => v.kind === "constant")) {
    ctx.stat("folded");
    return fn.constant(inst.type, evaluate(op, T, inst.type, ops.map((v) => constValue(v)!)));
  }
  if (op === "copy") return ops[0];
  if (op === "ptradd") return constValue(ops[1]!) === 0n ? ops[0] : undefined;
  if (op === "select") {
    const c = constValue(ops[0]!);
    if (c !== undefined) return ops[c !== 0n ? 1 : 2];
    return ops[1] === ops[2] ? ops[1] : undefined;
  }
  if (info.shape === "unary") {
    const x = ops[0]!;
    if ((op === "neg" || op === "not" || op === "bswap") && x.kind === "instruction" && (x as Instruction).opcode === op) return (x as Instruction).operands[0];
    return op === "bswap" ? swapOfHighByte(inst, fn, ctx) : undefined;
  }
  if (op === "trunc") return simplifyTrunc(inst, fn, ctx);
  if (op === "zext") return zextOfMasked(inst);
  if (info.shape === "compare") {
    const [a, b] = [ops[0]!, ops[1]!];
    if (a === b) return fn.constant(inst.type, TRUE_ON_EQUAL.has(op) ? 1n : 0n);
    if (a.kind === "constant" && b.kind !== "constant") {
      const swapped = fn.createInstruction(SWAPPED_COMPARE[op as CompareOpcode], inst.type, T, [b, a]);
      swapped.loc = inst.loc;
      swapped.insertBefore(inst);
      ctx.stat("canonicalized");
      return swapped;
    }
    if (op !== "eq" && op !== "ne") return undefined;
    return compareBoolean(inst, fn, ctx) ?? compareHighBits(inst, fn, ctx) ?? compareSwapped(inst, fn, ctx);
  }
  if (info.shape !== "binary") return undefined;

  let [a, b] = [ops[0]!, ops[1]!];
  if (info.commutative && a.kind === "constant" && b.kind !== "constant") {
    inst.setOperand(0, b);
    inst.setOperand(1, a);
    [a, b] = [b, a];
    ctx.stat("canonicalized");
  }
  const k = constValue(b);
  const allOnes = k !== undefined && BigInt.asUintN(bits, k) === BigInt.asUintN(bits, -1n);
  switch (op) {
    case "add":
    case "or":
    case "xor":
      if (k === 0n) return a;
      if (op === "xor" && k === 1n && isCompare(a)) return inverted(a, inst, fn, ctx);
      if (op === "or" && allOnes) return b;
      if (a === b) return op === "xor" ? zero() : op === "or" ? a : undefined;
      return undefined;
    case "sub":
      if (k === 0n) return a;
      return a === b ? zero() : undefined;
    case "and":
      if (k === 0n) return b;
      if (allOnes) return a;
      if (k !== undefined && isCompare(a)) return (k & 1n) !== 0n ? a : zero();
      if (k === 0xffn) return swappedByte(inst, a, "lshr", fn, ctx);
      return a === b ? a : undefined;
    case "mul": {
      if (k === undefined) return undefined;
      if (k === 0n) return b;
      const log = log2Exact(bits, k);
      if (log === 0) return a;
      if (log > 0) {
        const shl = fn.createInstruction("shl", inst.type, T, [a, fn.constant(T, BigInt(log))]);
        shl.loc = inst.loc;
        shl.insertBefore(inst);
        ctx.stat("mul-to-shl");
        return shl;
      }
      return undefined;
    }
    case "udiv":
    case "sdiv":
      if (k === 0n) return zero(); // eBPF: x / 0 = 0
      return k === 1n ? a : undefined;
    case "urem":
    case "srem":
      if (k === 0n) return a; // eBPF: x % 0 = x
      return k === 1n ? zero() : undefined;
    case "shl":
    case "lshr":
    case "ashr": {
      if (constValue(a) === 0n) return a;
      if (k === undefined) return undefined;
      const amount = BigInt.asUintN(bits, k) % BigInt(bits);
      if (amount === 0n) return a;
      if (op === "lshr" && amount === BigInt(bits - 8)) return swappedByte(inst, a, "and", fn, ctx);
      if (amount !== k) {
        inst.setOperand(1, fn.constant(b.type, amount));
        ctx.stat("canonicalized");
        return inst;
      }
      const scale = booleanScale(inst);
      if (scale !== undefined && isCompare(a) && a.useCount === 1) {
        const sel = fn.createInstruction("select", inst.type, T, [a, fn.constant(T, scale), zero()]);
        sel.loc = inst.loc;
        sel.insertBefore(inst);
        ctx.stat("boolean-scaled");
        return sel;
      }
      return undefined;
    }
  }
  return undefined;
}

function isCompare(v: Value): v is Instruction {
  return v.kind === "instruction" && (v as Instruction).info.shape === "compare";
}

/** A new compare, before `at`, that is 1 where compare `c` is 0 (operands kept, predicate inverted). */
function inverted(c: Instruction, at: Instruction, fn: Function, ctx: FunctionPassContext): Instruction {
  const inv = fn.createInstruction(INVERTED_COMPARE[c.opcode as CompareOpcode], c.type, c.typeParam, [c.operands[0]!, c.operands[1]!]);
  inv.loc = at.loc;
  inv.insertBefore(at);
  ctx.stat("compare-inverted");
  return inv;
}

/** `ne c, 0` → c and `eq c, 0` → the inverse of c, for a compare c (0 or 1). */
function compareBoolean(inst: Instruction, fn: Function, ctx: FunctionPassContext): Rewrite {
  const [a, b] = [inst.operands[0]!, inst.operands[1]!];
  if (constValue(b) !== 0n || !isCompare(a)) return undefined;
  return inst.opcode === "ne" ? a : inverted(a, inst, fn, ctx);
}

/**
 * `eq/ne (lshr x, k), 0` → `ule/ugt x, 2^k - 1`: "no bit at k or above" is one unsigned
 * compare of x (what clang emits for `x >> 16 != 0`), and x's shift dies.
 */
function compareHighBits(inst: Instruction, fn: Function, ctx: FunctionPassContext): Rewrite {
  const [a, b] = [inst.operands[0]!, inst.operands[1]!];
  if (constValue(b) !== 0n || a.kind !== "instruction" || (a as Instruction).opcode !== "lshr") return undefined;
  const shift = a as Instruction;
  const k = constValue(shift.operands[1]!);
  const bits = BigInt(bitsOf(inst.typeParam) || 64);
  if (k === undefined || k <= 0n || k >= bits) return undefined;
  const op = inst.opcode === "eq" ? "ule" : "ugt";
  const cmp = fn.createInstruction(op, inst.type, inst.typeParam, [shift.operands[0]!, fn.constant(inst.typeParam, (1n << k) - 1n)]);
  cmp.loc = inst.loc;
  cmp.insertBefore(inst);
  ctx.stat("compare-high-bits");
  return cmp;
}

/**
 * The byte a swap moves to one end: `and (bswap x), 0xff` is x's high byte, `x >> (bits -
 * 8)` (flow-hash's `bit.band(bit.bswap(h), 0xff)`: one shift instead of `be64` and a mask),
 * and `(bswap x) >> (bits - 8)` is x's low byte, `x & 0xff`. `swap` must be a bswap of
 * `inst`'s own type; `op` is the instruction that replaces the pair.
 */
function swappedByte(inst: Instruction, swap: Value, op: "lshr" | "and", fn: Function, ctx: FunctionPassContext): Rewrite {
  if (swap.kind !== "instruction" || (swap as Instruction).opcode !== "bswap" || swap.type !== inst.type) return undefined;
  const x = (swap as Instruction).operands[0]!;
  const k = op === "lshr" ? BigInt(bitsOf(inst.type) - 8) : 0xffn;
  const r = fn.createInstruction(op, inst.type, inst.typeParam, [x, fn.constant(inst.typeParam, k)]);
  r.loc = inst.loc;
  r.insertBefore(inst);
  ctx.stat("swap-byte");
  return r;
}

/**
 * `bswap (x << (bits - 8))` is `x & 0xff`: only x's low byte is in the swapped value, at the
 * top, and the swap brings it back down. Through a trunc, `bswap (trunc (y << (bits - 8)))`
 * (the shift in y's wider type) is `trunc (y & 0xff)`: tc-ttl-rewrite's checksum update
 * builds the old TTL's 16-bit network-order word that way, `htons(ttl << 8)`.
 */
function swapOfHighByte(inst: Instruction, fn: Function, ctx: FunctionPassContext): Rewrite {
  const bits = BigInt(bitsOf(inst.type));
  let x = inst.operands[0]!;
  const trunc = x.kind === "instruction" && (x as Instruction).opcode === "trunc" ? (x as Instruction) : undefined;
  if (trunc) x = trunc.operands[0]!;
  if (x.kind !== "instruction" || (x as Instruction).opcode !== "shl" || constValue((x as Instruction).operands[1]!) !== bits - 8n) return undefined;
  const y = (x as Instruction).operands[0]!;
  const masked = fn.createInstruction("and", y.type, y.type, [y, fn.constant(y.type, 0xffn)]);
  masked.loc = inst.loc;
  masked.insertBefore(inst);
  ctx.stat("swap-byte");
  if (!trunc) return masked;
  const r = fn.createInstruction("trunc", inst.type, y.type, [masked]);
  r.loc = inst.loc;
  r.insertBefore(inst);
  return r;
}

/** `zext (trunc (and x, C) to N)` back to x's type is `and x, C` when C < 2^N (nothing was cut). */
function zextOfMasked(inst: Instruction): Rewrite {
  const t = inst.operands[0]!;
  if (t.kind !== "instruction" || (t as Instruction).opcode !== "trunc") return undefined;
  const x = (t as Instruction).operands[0]!;
  if (x.type !== inst.type || x.kind !== "instruction" || (x as Instruction).opcode !== "and") return undefined;
  const c = constValue((x as Instruction).operands[1]!);
  return c !== undefined && c >= 0n && c >> BigInt(bitsOf(t.type)) === 0n ? x : undefined;
}

/**
 * `trunc` of a value whose low bits are another value's: `trunc(zext/sext x)` to x's type
 * is x, to a type wider than x's is `zext/sext x` to it, to a narrower one `trunc x`;
 * `trunc(trunc x)` is one `trunc x`; `trunc(and x, C)` is `trunc x` when C keeps every
 * bit the result has (`bit.band(ids, 0xffffffff)` stored into a u32 field).
 */
function simplifyTrunc(inst: Instruction, fn: Function, ctx: FunctionPassContext): Rewrite {
  const x = inst.operands[0]!;
  if (x.kind !== "instruction") return undefined;
  const xi = x as Instruction;
  const to = bitsOf(inst.type);
  const narrowed = (op: "trunc" | "zext" | "sext", src: Value): Value => {
    const r = fn.createInstruction(op, inst.type, src.type, [src]);
    r.loc = inst.loc;
    r.insertBefore(inst);
    ctx.stat("trunc-narrowed");
    return r;
  };
  if (xi.opcode === "zext" || xi.opcode === "sext" || xi.opcode === "trunc") {
    const src = xi.operands[0]!;
    const from = bitsOf(src.type);
    if (from === to) return src;
    return narrowed(from > to ? "trunc" : (xi.opcode as "zext" | "sext"), src);
  }
  if (xi.opcode === "and") {
    const k = constValue(xi.operands[1]!);
    const low = (1n << BigInt(to)) - 1n;
    if (k !== undefined && (BigInt.asUintN(64, k) & low) === low) return narrowed("trunc", xi.operands[0]!);
  }
  return undefined;
}

/**
 * `eq/ne ([zext] (bswap x)), C` → `eq/ne ([zext] x), bswap(C)`: a field loaded in network
 * byte order is compared with the constant swapped instead of being swapped itself (as
 * clang does for `h_proto == htons(ETH_P_IP)`). Only where the swap and the extension have
 * no other use; a constant wider than x decides nothing here (sccp folds those).
 */
function compareSwapped(inst: Instruction, fn: Function, ctx: FunctionPassContext): Rewrite {
  const [a, b] = [inst.operands[0]!, inst.operands[1]!];
  const k = constValue(b);
  if (k === undefined || a.kind !== "instruction") return undefined;
  let swap = a as Instruction;
  let ext: Instruction | undefined;
  if (swap.opcode === "zext" && swap.useCount === 1) {
    ext = swap;
    const src = swap.operands[0]!;
    if (src.kind !== "instruction") return undefined;
    swap = src as Instruction;
  }
  if (swap.opcode !== "bswap" || swap.useCount !== 1) return undefined;
  const width = bitsOf(swap.type);
  if (k < 0n || k !== BigInt.asUintN(width, k)) return undefined;
  let swapped = 0n;
  for (let i = 0; i < width / 8; i++) swapped = (swapped << 8n) | ((k >> BigInt(8 * i)) & 0xffn);
  let lhs: Value = swap.operands[0]!;
  if (ext) {
    const z = fn.createInstruction("zext", ext.type, lhs.type, [lhs]);
    z.loc = ext.loc;
    z.insertBefore(inst);
    lhs = z;
  }
  const cmp = fn.createInstruction(inst.opcode, inst.type, inst.typeParam, [lhs, fn.constant(inst.typeParam, swapped)]);
  cmp.loc = inst.loc;
  cmp.insertBefore(inst);
  ctx.stat("compare-unswapped");
  return cmp;
}

export const instcombine = defineFunctionPass({
  name: "instcombine",
  description: "algebraic identities, constant folding and canonicalisation of single instructions (exact 64-bit semantics)",
  preserves: Preserved.cfg(),
  run(fn, ctx) {
    let changed = false;
    const work = allInstructions(fn).reverse(); // pop() visits in block order
    // Queued instructions by value id (instructions made on the way may lie past the end).
    let queued = new Uint8Array(fn.valueIdBound);
    for (const i of work) queued[i.id] = 1;
    const enqueue = (i: Instruction): void => {
      if (i.id >= queued.length) {
        const grown = new Uint8Array(Math.max(i.id + 1, queued.length * 2));
        grown.set(queued);
        queued = grown;
      }
      if (queued[i.id] === 0) {
        queued[i.id] = 1;
        work.push(i);
      }
    };
    while (work.length > 0) {
      const inst = work.pop()!;
      queued[inst.id] = 0;
      if (!inst.block || inst.info.sideEffects || inst.type.kind === "void") continue;
      const r = simplify(inst, fn, ctx);
      if (r === undefined) continue;
      changed = true;
      if (r === inst) {
        for (const u of inst.uses) enqueue(u.user);
        enqueue(inst);
        continue;
      }
      ctx.stat("simplified");
      for (const u of inst.uses) enqueue(u.user);
      if (r.kind === "instruction") enqueue(r as Instruction);
      inst.replaceAllUsesWith(r);
      eraseDeadTree(inst);
    }
    return changed;
  },
});
