/**
 * `gvn`: dominator-based global value numbering and redundant load elimination.
 *
 * Pure expressions (the opcode table's `pure`): a walk of the dominator tree in preorder
 * with a scoped hash table from an expression key — opcode, type parameter, result type,
 * attributes and operand value numbers, commutative operands sorted — to the first value
 * computing it (the "hash-based" value numbering of Briggs, Cooper & Simpson, "Value
 * Numbering", 1997). A later instruction with the same key in a dominated block is
 * replaced by that value. Phis are not pure (they cannot move) but are numbered too, keyed
 * by their block and incoming pairs.
 *
 * Loads: within a block, and along chains of blocks whose only predecessor is their
 * dominator-tree parent, a table maps (address value, offset, type) to the loaded or
 * stored value. `load` and `pktload` (same context, index, offset, type; a constant
 * `pktload` index counts as part of the offset: `pktload ctx, 14, 0` reads what `pktload
 * ctx, 0, 14` reads) reuse an earlier one; a `store` makes its value available for a later
 * load of the same address (store to load forwarding). A store or atomic forgets the
 * values whose address may alias its own (util/memory.ts `mayAlias`: two stack slots, or a
 * stack slot and another region, never do) and the classic packet loads unless it writes
 * the stack or a map value; a call keeps everything when the platform table says its
 * helper writes no memory (`map_lookup_elem`, the clocks, `get_current_pid_tgid`) and
 * forgets everything otherwise (as do calls of IR functions). A `pktload` that did not
 * abort the first time will not abort the second time with the same operands.
 *
 * Equalities: in a block whose only way in is the edge on which `eq x, C` holds (or
 * `ne x, C` does not), x an integer, the walk uses the constant C for x in every
 * instruction of that block's dominator subtree (phis excepted: their operands flow in
 * along edges the fact may not cover), as LLVM's GVN propagates equalities; instcombine
 * then folds what C makes constant (ip-checksum's `(hlen & 15) << 8` after `hlen & 15 == 5`).
 *
 * The CFG is untouched: preserves the CFG analyses. Cost: O(instructions × operands).
 */
import type { BasicBlock, Instruction, Type, Value } from "@luabpf/ir";
import { regionOf, typeToString } from "@luabpf/ir";
import { Preserved } from "../analysis-manager.js";
import { dominatorTreeAnalysis } from "../analysis/cfg.js";
import { defineFunctionPass } from "../pass.js";
import { constValue } from "../util/ir.js";
import { callEffects, mayAlias } from "../util/memory.js";

function attrsKey(i: Instruction): string {
  // Most instructions have no attributes: one shared string for them.
  if (i.offset === 0 && i.size === 0 && i.align === 0 && i.helper === undefined && !i.callee && !i.map && !i.core) return NO_ATTRS;
  return `${i.offset}/${i.size}/${i.align}/${i.helper ?? ""}/${i.callee ?? ""}/${i.map ?? ""}/${i.core ?? ""}`;
}
const NO_ATTRS = "0/0/0////";

/** The value-numbering key of a pure instruction (the general form; see {@link NumberedKeys} for the common one). */
function expressionKey(i: Instruction): string {
  const ops = i.operands;
  const head = `${i.opcode} ${typeToString(i.typeParam)} ${typeToString(i.type)} ${attrsKey(i)}`;
  if (i.isPhi) return `${head} @${i.block!.id} ${ops.map((v, k) => `${v.id}:${i.incoming[k]!.id}`).join(",")}`;
  if (ops.length === 1) return `${head} ${ops[0]!.id}`;
  if (ops.length === 2) {
    const a = ops[0]!.id;
    const b = ops[1]!.id;
    return i.info.commutative && a > b ? `${head} ${b},${a}` : `${head} ${a},${b}`;
  }
  let ids = ops.map((v) => v.id);
  if (i.info.commutative && ids[0]! > ids[1]!) ids = [ids[1]!, ids[0]!, ...ids.slice(2)];
  return `${head} ${ids.join(",")}`;
}

/**
 * The keys of the common case — an attribute-less pure instruction of one or two operands —
 * without building a string per instruction: a small number per head (opcode, type
 * parameter, result type; the head string made once per distinct triple) and the operand
 * ids (one operand: `b` is -1; two: commutative operands sorted), in one open-addressing
 * hash table of typed arrays. Two instructions get the same key exactly when
 * {@link expressionKey} gives them the same string; everything else uses that string. A
 * million-instruction function no longer builds, hashes and keeps a million key strings, nor
 * a boxed number and a Map entry per instruction.
 *
 * The walk removes entries in the reverse order it adds them (scopes), so a removal just
 * empties its slot: an entry added before it never probed past that slot (it was empty then),
 * and every entry added after it is gone already. Growing re-inserts the live entries in the
 * order they were added, which keeps that true.
 *
 * @internal Exported for its test.
 */
export class NumberedKeys {
  private readonly heads = new Map<string, Map<Type, Map<Type, number>>>();
  private readonly headIds = new Map<string, number>();
  // Small to start (a run on one of the examples' functions numbers a few dozen keys; tables
  // of 1,024 slots were a third of gvn's time there); it doubles as it fills.
  // (A typed array costs far more to allocate than its few slots: the keys of all slots are
  // one array, slot s's head, a and b at 3s, 3s + 1 and 3s + 2.)
  private mask = 31;
  private keys = new Int32Array(3 * 32);
  /** Slot → value, undefined when empty. */
  private values: (Value | undefined)[] = new Array<Value | undefined>(32);
  /** The occupied slots, in the order they were filled (its length is the number of entries). */
  private added: number[] = [];

  /** The head number of `i`, or -1 when `i` takes the string path. */
  headOf(i: Instruction): number {
    if (i.isPhi || attrsKey(i) !== NO_ATTRS) return -1;
    const ops = i.operands;
    if (ops.length !== 1 && ops.length !== 2) return -1;
    for (const v of ops) if (!(v.id >= 0 && v.id <= 0x7fffffff && Number.isInteger(v.id))) return -1;
    let byParam = this.heads.get(i.opcode);
    if (!byParam) this.heads.set(i.opcode, (byParam = new Map()));
    let byType = byParam.get(i.typeParam);
    if (!byType) byParam.set(i.typeParam, (byType = new Map()));
    let h = byType.get(i.type);
    if (h === undefined) {
      // Types that print alike are one head (types need not be interned objects).
      const k = `${i.opcode} ${typeToString(i.typeParam)} ${typeToString(i.type)}`;
      h = this.headIds.get(k);
      if (h === undefined) this.headIds.set(k, (h = this.headIds.size));
      byType.set(i.type, h);
    }
    return h;
  }

  private slotOf(h: number, a: number, b: number): number {
    let x = Math.imul(h, 0x9e3779b1) ^ Math.imul(a, 0x85ebca6b) ^ Math.imul(b + 1, 0xc2b2ae35);
    x ^= x >>> 15;
    x = Math.imul(x, 0x2c1b3c6d);
    x ^= x >>> 12;
    let slot = x & this.mask;
    const keys = this.keys;
    while (this.values[slot] !== undefined && !(keys[3 * slot] === h && keys[3 * slot + 1] === a && keys[3 * slot + 2] === b)) slot = (slot + 1) & this.mask;
    return slot;
  }

  /** The slot of `i`'s key (head `h`): where its value is, or where it goes. */
  private slotFor(i: Instruction, h: number): number {
    const ops = i.operands;
    if (ops.length === 1) return this.slotOf(h, ops[0]!.id, -1);
    const a = ops[0]!.id;
    const b = ops[1]!.id;
    return i.info.commutative && a > b ? this.slotOf(h, b, a) : this.slotOf(h, a, b);
  }

  /** The value numbered with `i`'s key (head `h`), if any. */
  get(i: Instruction, h: number): Value | undefined {
    return this.values[this.slotFor(i, h)];
  }

  /** Numbers `i` (head `h`, its key absent). */
  add(i: Instruction, h: number): void {
    if (2 * (this.added.length + 1) > this.mask + 1) this.grow();
    const slot = this.slotFor(i, h);
    const ops = i.operands;
    let a = ops[0]!.id;
    let b = ops.length === 1 ? -1 : ops[1]!.id;
    if (ops.length === 2 && i.info.commutative && a > b) [a, b] = [b, a];
    this.keys[3 * slot] = h;
    this.keys[3 * slot + 1] = a;
    this.keys[3 * slot + 2] = b;
    this.values[slot] = i;
    this.added.push(slot);
  }

  /** How many entries there are (a mark for {@link undoTo}). */
  get mark(): number {
    return this.added.length;
  }

  /** Removes the entries added since `mark`. */
  undoTo(mark: number): void {
    while (this.added.length > mark) this.values[this.added.pop()!] = undefined;
  }

  private grow(): void {
    const [k0, v0, order] = [this.keys, this.values, this.added];
    const capacity = 2 * (this.mask + 1);
    this.mask = capacity - 1;
    const keys = (this.keys = new Int32Array(3 * capacity));
    this.values = new Array<Value | undefined>(capacity);
    for (let k = 0; k < order.length; k++) {
      const from = order[k]!;
      const slot = this.slotOf(k0[3 * from]!, k0[3 * from + 1]!, k0[3 * from + 2]!);
      keys[3 * slot] = k0[3 * from]!;
      keys[3 * slot + 1] = k0[3 * from + 1]!;
      keys[3 * slot + 2] = k0[3 * from + 2]!;
      this.values[slot] = v0[from];
      order[k] = slot;
    }
  }
}

function loadKey(i: Instruction): string {
  if (i.opcode === "pktload") {
    // pktload: [ctx, index]. It reads packet byte index + offset, so a constant index is
    // part of the offset: `pktload ctx, 14, 0` (a header's position kept in a local) reads
    // what `pktload ctx, 0, 14` reads.
    const [ctxv, index] = [i.operands[0]!, i.operands[1]!];
    const k = constValue(index);
    if (k !== undefined) return `pkt ${typeToString(i.typeParam)} ${k + BigInt(i.offset)} ${ctxv.id},const`;
    return `pkt ${typeToString(i.typeParam)} ${i.offset} ${ctxv.id},${index.id}`;
  }
  // load: [address]; store: [value, address].
  const addr = i.opcode === "store" ? i.operands[1]! : i.operands[0]!;
  return `mem ${typeToString(i.typeParam)} ${i.offset} ${addr.id}`;
}

/**
 * `[x, C]` when the only way into `bb` is the edge of a `condbr` on `eq x, C` taken when it
 * holds (or on `ne x, C` when it does not), x an integer: x is C everywhere `bb` dominates.
 */
function decidedEquality(bb: BasicBlock): [Value, Value] | undefined {
  if (bb.preds.length !== 1) return undefined;
  const t = bb.preds[0]!.terminator;
  if (!t || t.opcode !== "condbr" || t.targets[0] === t.targets[1]) return undefined;
  const c = t.operands[0]!;
  if (c.kind !== "instruction") return undefined;
  const cmp = c as Instruction;
  const want = t.targets[0] === bb ? "eq" : "ne";
  if (cmp.opcode !== want) return undefined;
  const [x, k] = [cmp.operands[0]!, cmp.operands[1]!];
  if (x.kind === "constant" || k.kind !== "constant" || x.type.kind !== "int") return undefined;
  return [x, k];
}

/** The available values a store or atomic scans before it forgets them all instead. */
const SCAN_LIMIT = 64;

/** A loaded or stored value and the address it was read from or written to (none for a classic packet load). */
interface Available {
  value: Value;
  address: Value | undefined;
}

/**
 * Forgets what a store or atomic through `p` may overwrite: memory values whose address
 * may alias `p` (util/memory.ts `mayAlias`: distinct stack slots, or a stack slot and
 * another region, do not), and classic packet loads unless `p` points into the stack or a
 * map value.
 */
function forgetWrittenThrough(avail: Map<string, Available>, p: Value): void {
  // A long straight run of loads would make every store scan them all: past a bound, forget
  // everything (the cost per store stays constant).
  if (avail.size > SCAN_LIMIT) return avail.clear();
  const region = regionOf(p);
  const packetSafe = region === "stack" || region === "map_value" || region === "map_value_or_null";
  for (const [key, a] of avail) if (a.address ? mayAlias(a.address, p) : !packetSafe) avail.delete(key);
}

export const gvn = defineFunctionPass({
  name: "gvn",
  description: "global value numbering over the dominator tree (pure instructions) and redundant load elimination",
  options: {
    loads: { type: "boolean", default: true, description: "also remove redundant loads and packet loads" },
  },
  preserves: Preserved.cfg(),
  run(fn, ctx, { loads }) {
    const dt = ctx.analyses.get(dominatorTreeAnalysis);
    const table = new Map<string, Value>();
    const numbered = new NumberedKeys();
    let changed = false;
    const replace = (inst: Instruction, v: Value, stat: string) => {
      inst.replaceAllUsesWith(v);
      inst.erase();
      ctx.stat(stat);
      changed = true;
    };
    // Explicit-stack preorder walk; each frame undoes its table insertions when popped.
    // `undo` holds string keys of `table`; a frame's insertions are those above the length
    // (and the numbered keys' mark) it recorded when entered.
    // `known`: integer values the branches into the current block decided to be a constant.
    type Frame = { bb: BasicBlock; undoFrom: number; undoNumberedFrom: number; loadsIn: Map<string, Available> | undefined; entered: boolean; knownAdded?: Value };
    const undo: string[] = [];
    const stack: Frame[] = [{ bb: fn.entry, undoFrom: 0, undoNumberedFrom: 0, loadsIn: undefined, entered: false }];
    const known = new Map<Value, Value>();
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.entered) {
        while (undo.length > frame.undoFrom) table.delete(undo.pop()!);
        numbered.undoTo(frame.undoNumberedFrom);
        if (frame.knownAdded) known.delete(frame.knownAdded);
        stack.pop();
        continue;
      }
      frame.entered = true;
      frame.undoFrom = undo.length;
      frame.undoNumberedFrom = numbered.mark;
      const bb = frame.bb;
      // A phi's key holds its block: only another phi of the same block can be equal to it,
      // so the only phi of a block needs no key.
      const onePhi = !bb.first?.next?.isPhi;
      const fact = decidedEquality(bb);
      if (fact && !known.has(fact[0])) {
        known.set(fact[0], fact[1]);
        frame.knownAdded = fact[0];
      }
      const avail = frame.loadsIn ?? new Map<string, Available>();
      for (const inst of bb.instructions()) {
        const op = inst.opcode;
        if (known.size > 0 && !inst.isPhi) {
          inst.operands.forEach((v, k) => {
            const c = known.get(v);
            if (c) {
              inst.setOperand(k, c);
              ctx.stat("equalities-propagated");
              changed = true;
            }
          });
        }
        // Phis are not pure (they cannot leave their block) but two phis of one block with
        // the same pairs are equal: the key includes the block.
        if ((inst.info.pure && op !== "copy") || op === "phi") {
          const h = numbered.headOf(inst);
          if (h >= 0) {
            const prior = numbered.get(inst, h);
            if (prior) replace(inst, prior, "expressions-numbered");
            else numbered.add(inst, h);
            continue;
          }
          if (op === "phi" && onePhi) continue;
          const key = expressionKey(inst);
          const prior = table.get(key);
          if (prior) replace(inst, prior, "expressions-numbered");
          else {
            table.set(key, inst);
            undo.push(key);
          }
          continue;
        }
        if (!loads) continue;
        if (op === "load" || op === "pktload") {
          const key = loadKey(inst);
          const prior = avail.get(key);
          if (prior && prior.value.type === inst.type) replace(inst, prior.value, op === "load" ? "loads-removed" : "pktloads-removed");
          else avail.set(key, { value: inst, address: op === "load" ? inst.operands[0]! : undefined });
        } else if (op === "store") {
          forgetWrittenThrough(avail, inst.operands[1]!);
          avail.set(loadKey(inst), { value: inst.operands[0]!, address: inst.operands[1]! });
        } else if (inst.info.shape === "atomic") {
          forgetWrittenThrough(avail, inst.operands[0]!);
        } else if (op === "call" && !callEffects(inst).writesMemory) {
          // A helper that writes no memory (the platform table's effects) keeps every value.
        } else if (inst.info.memory === "write" || inst.info.memory === "readwrite") {
          avail.clear();
        }
      }
      const kids = dt.children(bb);
      for (let k = kids.length - 1; k >= 0; k--) {
        const c = kids[k]!;
        const chain = loads && c.preds.length === 1 && c.preds[0] === bb;
        stack.push({ bb: c, undoFrom: 0, undoNumberedFrom: 0, loadsIn: chain ? new Map(avail) : undefined, entered: false });
      }
    }
    return changed;
  },
});
