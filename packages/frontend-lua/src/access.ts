/**
 * IR emission for the kernel objects a program body touches: map elements (lookup,
 * update, delete, atomic add), program context fields and packet header fields.
 *
 * Shapes emitted (see docs/language.md for the full list):
 *
 *   map[k]         store K k, %keyslot ; %m = mapref @map
 *                  %p = call ptr.map_value_or_null helper 1 (%m, %keyslot)
 *                  condbr (ne %p, 0), @load, @join      ; the verifier's null check
 *                  @load: %v = load V %p, 0 ; zext/sext to i64 ; br @join
 *                  @join: tag = phi [3, @load], [0, @entry]; payload = phi [%v, @load], [0, @entry]
 *   map[k] = v     store K k, %keyslot ; store V v, %valslot ; %m = mapref @map
 *                  call i64 helper 2 (%m, %keyslot, %valslot, 0)
 *   map[k] = nil   store K k, %keyslot ; %m = mapref @map ; call i64 helper 3 (%m, %keyslot)
 *   xadd(map[k],n) lookup as above, then atomic.add V %p, n, 0 in the non-null branch
 *   ctx.field      load i32 %ctx, off ; zext to i64   (8-byte fields: load i64)
 *   pkt.ip.proto   pktload i8 %ctx, 0, 23 ; zext to i64 (then lshr/and for bit fields)
 *
 * Keys and values are truncated to the declared width; loads extend per the C type's
 * signedness. Stack slots are allocas in the entry block, one per (purpose, size), reused
 * by every access: each is written right before the helper call that reads it.
 */
import { BasicBlock, Builder, Function, i64, i8, intTypeOfSize, ptrType, type IntType, type Value } from "@luabpf/ir";
import { BPF_FUNC, UpdateFlag } from "@luabpf/platform";
import type { CType } from "./builtins.js";
import { HEADERS, type ContextField, type HeaderField, type HeaderName } from "./dissectors.js";
import type { Dyn } from "./runtime.js";
import { TAG_NIL, TAG_NUMBER } from "./runtime.js";
import type { MapInfo, PacketPosition } from "./values.js";

/** What accesses need from the function being lowered: its builder and block management. */
export interface Emitter {
  readonly fn: Function;
  readonly b: Builder;
  /** The block instructions go into. */
  readonly current: BasicBlock;
  /** Creates a block whose predecessors will all come from the branches emitted next. */
  newBlock(): BasicBlock;
  /** Makes `bb` the current block. */
  setCurrent(bb: BasicBlock): void;
  /** Declares that all predecessors of `bb` exist (for the SSA builder). */
  seal(bb: BasicBlock): void;
  branch(target: BasicBlock): void;
  condBranch(cond: Value, ifTrue: BasicBlock, ifFalse: BasicBlock): void;
  /** Merges values of the predecessors of `join` (the current block) into phis. */
  merge(incoming: readonly { block: BasicBlock; value: Dyn }[]): Dyn;
}

export class Accesses {
  private readonly slots = new Map<string, Value>();
  private readonly slotBuilder: Builder;

  constructor(
    private readonly e: Emitter,
    private readonly ctx: Value,
  ) {
    this.slotBuilder = new Builder(e.fn).atStart(e.fn.entry);
  }

  /** A stack slot of `size` bytes for `purpose`, allocated once in the entry block. */
  private slot(purpose: "key" | "value", size: number): Value {
    const name = `${purpose}${size}`;
    let s = this.slots.get(name);
    if (!s) {
      s = this.slotBuilder.alloca(size, size);
      this.slots.set(name, s);
    }
    return s;
  }

  /** `v` (i64) converted to the width of `t`. */
  private narrow(v: Value, t: IntType): Value {
    return t.bits === 64 ? v : this.e.b.cast("trunc", v, t);
  }

  /** A loaded `t`-wide value extended to i64 per `c`'s signedness. */
  private widen(v: Value, c: CType): Value {
    return c.type.bits === 64 ? v : this.e.b.cast(c.signed ? "sext" : "zext", v, i64);
  }

  private storeKey(map: MapInfo, key: Value): Value {
    const slot = this.slot("key", map.key.type.size);
    this.e.b.store(this.narrow(key, map.key.type), slot);
    return slot;
  }

  /** `map_lookup_elem`: the value pointer, or null. */
  private lookup(map: MapInfo, key: Value): Value {
    const keySlot = this.storeKey(map, key);
    const m = this.e.b.mapRef(map.decl.name);
    return this.e.b.callHelper(BPF_FUNC.map_lookup_elem, [m, keySlot], ptrType("map_value_or_null"));
  }

  private nonNull(p: Value): Value {
    return this.e.b.compare("ne", p, this.e.fn.constant(ptrType("map_value_or_null"), 0));
  }

  /** `map[key]`: the element as a number, or nil when absent. */
  read(map: MapInfo, key: Value): Dyn {
    const e = this.e;
    const p = this.lookup(map, key);
    const from = e.current;
    const loadBB = e.newBlock();
    const join = e.newBlock();
    e.condBranch(this.nonNull(p), loadBB, join);
    e.seal(loadBB);
    e.setCurrent(loadBB);
    const loaded = this.widen(e.b.load(map.value.type, p, 0), map.value);
    e.branch(join);
    e.seal(join);
    e.setCurrent(join);
    return e.merge([
      { block: loadBB, value: { tag: e.b.const(TAG_NUMBER), payload: loaded } },
      { block: from, value: { tag: e.b.const(TAG_NIL), payload: e.b.const(0) } },
    ]);
  }

  /** `map[key] = value` (`map_update_elem` with flags 0, BPF_ANY). */
  update(map: MapInfo, key: Value, value: Value): void {
    const b = this.e.b;
    const keySlot = this.storeKey(map, key);
    const valueSlot = this.slot("value", map.value.type.size);
    b.store(this.narrow(value, map.value.type), valueSlot);
    const m = b.mapRef(map.decl.name);
    b.callHelper(BPF_FUNC.map_update_elem, [m, keySlot, valueSlot, b.const(UpdateFlag.ANY)]);
  }

  /** `map[key] = nil` (`map_delete_elem`). */
  delete(map: MapInfo, key: Value): void {
    const b = this.e.b;
    const keySlot = this.storeKey(map, key);
    const m = b.mapRef(map.decl.name);
    b.callHelper(BPF_FUNC.map_delete_elem, [m, keySlot]);
  }

  /** `xadd(map[key], n)`: atomically adds `n` to the element if it exists. */
  atomicAdd(map: MapInfo, key: Value, n: Value): void {
    const e = this.e;
    const p = this.lookup(map, key);
    const addBB = e.newBlock();
    const join = e.newBlock();
    e.condBranch(this.nonNull(p), addBB, join);
    e.seal(addBB);
    e.setCurrent(addBB);
    e.b.atomic("atomic.add", p, this.narrow(n, map.value.type), 0);
    e.branch(join);
    e.seal(join);
    e.setCurrent(join);
  }

  /** A context field as an i64. */
  contextField(field: ContextField): Value {
    const b = this.e.b;
    if (field.size === 8) return b.load(i64, this.ctx, field.offset);
    return b.cast("zext", b.load(intTypeOfSize(field.size), this.ctx, field.offset), i64);
  }

  /** A header field at `pos` as an i64 (host byte order, zero-extended, bit field extracted). */
  packetField(pos: PacketPosition, field: HeaderField): Value {
    const b = this.e.b;
    const index = pos.index ?? b.const(0);
    let v: Value = b.cast("zext", b.pktLoad(intTypeOfSize(field.size), this.ctx, index, pos.offset + field.offset), i64);
    if (field.shift) v = b.binary("lshr", v, b.const(field.shift));
    if (field.mask !== undefined) v = b.and(v, b.const(field.mask));
    return v;
  }

  /** The position of header `next` that follows the header at `pos`. */
  nextHeader(pos: PacketPosition, next: HeaderName): PacketPosition {
    const link = HEADERS[pos.header].next[next]!;
    if (link.at.kind === "fixed") return { header: next, offset: pos.offset + link.at.bytes, index: pos.index };
    // IPv4: the header length is the low nibble of its first byte, in 32-bit words.
    const b = this.e.b;
    const first = b.pktLoad(i8, this.ctx, pos.index ?? b.const(0), pos.offset);
    const words = b.and(b.cast("zext", first, i64), b.const(0x0f));
    const bytes = b.shl(words, b.const(2));
    return { header: next, offset: pos.offset, index: pos.index ? b.add(pos.index, bytes) : bytes };
  }
}
