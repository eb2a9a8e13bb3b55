/**
 * The SSA IR core: values with users lists, instructions, basic blocks and functions.
 *
 * Invariants kept here (and recomputed from scratch by the verifier):
 * - every value's `uses` list holds exactly one entry `(user, index)` per operand slot
 *   that refers to it; only `setOperand`, `replaceAllUsesWith`, `dropOperands`, `erase`
 *   and construction touch operands;
 * - every block's `preds` list holds one entry per CFG edge into it (a `condbr` with both
 *   targets equal contributes two), kept in agreement with the terminators that are linked
 *   into blocks; moving, erasing and retargeting a terminator updates it;
 * - instructions of a block form a doubly linked list (O(1) insert and erase anywhere).
 *
 * Phi incoming pairs are `(operand i, incoming[i])`; keeping them equal to the block's
 * predecessors is the job of the CFG edit helpers in `cfg.ts`.
 */
import type { CType } from "./ctypes.js";
import { assert, InternalError, type SourceLocation } from "./errors.js";
import { OPCODES, type Opcode, type OpInfo } from "./opcodes.js";
import { normalizeConstant, type PtrType, type Type } from "./types.js";

/** One operand slot that refers to a value. */
export interface Use {
  readonly user: Instruction;
  readonly index: number;
}

/**
 * A users list of two or more entries: `(user, index)` pairs laid out flat, the user at
 * `2p` and the slot's index at `2p + 1` for the entry at position `p` (no object per
 * entry: a million-instruction function has a million and a half operand slots). The
 * user keeps each entry's position ({@link Instruction.usePos}), so removing one is O(1)
 * (the last pair moves into its place) instead of a scan: a value with a million users (a
 * packet length, the constant 0) is no longer a quadratic hazard. The order of a users
 * list is therefore not insertion order.
 */
type UsePairs = (Instruction | number)[];

/** The users list of a value without users (shared; never written: {@link Value.attachUse} replaces it). */
const NO_USES: UsePairs = Object.freeze([]) as unknown as UsePairs;
/** The targets of a non-terminator and the incoming blocks of a non-phi (shared, never written). */
const NO_BLOCKS: readonly BasicBlock[] = Object.freeze([]);
/** The predecessors of a block that has none yet (shared, never written: {@link BasicBlock.addPred} replaces it). */
const NO_PREDS: BasicBlock[] = Object.freeze([]) as unknown as BasicBlock[];
/** The attributes of an instruction that has none (shared). */
const NO_ATTRS: Readonly<InstructionAttrs> = Object.freeze({});
/** The operands of an instruction that has none (shared, never written: {@link Instruction.appendOperand} replaces it). */
const NO_OPERANDS: readonly Value[] = Object.freeze([]);
/** Users lists of fewer entries than this are copied to exact size when one is added. */
const SMALL_USES = 4;
/** Operand, incoming-block and predecessor lists shorter than this are copied to exact size when one is added (see `appended`). */
const SMALL_LIST = 4;

/** Anything an operand can refer to: a constant, a parameter, or an instruction result. */
export abstract class Value {
  abstract readonly kind: "constant" | "param" | "instruction";
  /**
   * Users of this value, one entry per operand slot: a new array of new `Use` records,
   * made on each read (a snapshot: the value's users may change while it is walked).
   * Counting or testing users is cheaper through {@link useCount} and {@link hasUses}.
   */
  get uses(): Use[] {
    const l = this.useList;
    if (!Array.isArray(l)) return [{ user: l, index: this.bareIndex(l) }];
    const n = l.length;
    const out = new Array<Use>(n >> 1);
    for (let p = 0; p < n; p += 2) out[p >> 1] = { user: l[p] as Instruction, index: l[p + 1] as number };
    return out;
  }
  /**
   * @internal The users list: `NO_USES`; the user itself when it is the only one and
   * uses this value in its slot 0 or 1 (most values: no array, no entry object, and the
   * slot is the one of the two that holds this value, see {@link bareIndex}); else the
   * value's own {@link UsePairs} (never shared).
   */
  private useList: Instruction | UsePairs = NO_USES;
  constructor(
    /** Dense id, unique within the function; printed as `%id` for params and instructions. */
    public readonly id: number,
    public type: Type,
  ) {}

  get hasUses(): boolean {
    const l = this.useList;
    return !Array.isArray(l) || l.length > 0;
  }
  /** The number of users (operand slots that refer to this value), without making an array. */
  get useCount(): number {
    const l = this.useList;
    return Array.isArray(l) ? l.length >> 1 : 1;
  }

  /** Makes every user of this value use `other` instead. O(number of uses). */
  replaceAllUsesWith(other: Value): void {
    if (other === this) return;
    for (;;) {
      const l = this.useList;
      if (!Array.isArray(l)) l.setOperand(this.bareIndex(l), other);
      else if (l.length === 0) return;
      else (l[l.length - 2] as Instruction).setOperand(l[l.length - 1] as number, other);
    }
  }

  /** The slot of `user`, the only user, kept alone in the users list: 0 or 1, whichever holds this value (-1 for neither: broken IR). */
  private bareIndex(user: Instruction): number {
    const ops = user.operands;
    return ops[0] === this ? 0 : ops[1] === this ? 1 : -1;
  }
  /** @internal Adds the entry of slot `index` of `user` (which already holds this value there) to the users list. */
  attachUse(user: Instruction, index: number): void {
    const l = this.useList;
    if (!Array.isArray(l)) {
      user.setUsePos(index, 1);
      // The user kept alone may be this one, now holding the value in both slots 0 and 1.
      this.useList = [l, l === user && index < 2 && user.operands[1 - index] === this ? 1 - index : this.bareIndex(l), user, index];
      return;
    }
    const n = l.length;
    user.setUsePos(index, n >> 1);
    if (n === 0) this.useList = index < 2 && this.bareIndex(user) === index ? user : [user, index];
    // Copied while small (exact size: a push onto a short array reserves 16 more slots),
    // pushed onto (amortised growth) once larger.
    else if (n < 2 * SMALL_USES) this.useList = [...l, user, index];
    else l.push(user, index);
  }
  /**
   * The user of entry `pos` of the users list (0 ≤ pos < {@link useCount}), without
   * making `uses`' snapshot: `for (let p = 0; p < v.useCount; p++) v.useUserAt(p)` walks
   * the users (in `uses`' order) and may stop early at no cost for the rest.
   */
  useUserAt(pos: number): Instruction | undefined {
    const l = this.useList;
    return Array.isArray(l) ? (l[2 * pos] as Instruction | undefined) : pos === 0 ? l : undefined;
  }
  /** The operand slot of entry `pos` of the users list (see {@link useUserAt}; -1 when there is none). */
  useIndexAt(pos: number): number {
    const l = this.useList;
    return Array.isArray(l) ? ((l[2 * pos + 1] as number | undefined) ?? -1) : pos === 0 ? this.bareIndex(l) : -1;
  }
  /** @internal Is the entry at position `pos` that of slot `index` of `user`? */
  hasUseAt(pos: number, user: Instruction, index: number): boolean {
    const l = this.useList;
    return Array.isArray(l) ? l[2 * pos] === user && l[2 * pos + 1] === index : pos === 0 && l === user && this.bareIndex(user) === index;
  }
  /** @internal Forgets every user at once (see {@link Function.discardBody}); the users keep their operands. */
  forgetUses(): void {
    this.useList = NO_USES;
  }
  /** @internal Removes the entry of slot `index` of `user` (which still holds this value there) in O(1). */
  detachUse(user: Instruction, index: number): void {
    const l = this.useList;
    const pos = user.usePos(index);
    if (!this.hasUseAt(pos, user, index)) throw new InternalError(`users list of %${this.id} lacks (%${user.id}, ${index})`);
    if (!Array.isArray(l) || l.length === 2) {
      this.useList = NO_USES;
      return;
    }
    const n = l.length;
    if (n === 4) {
      // Down to one user: alone again when that is in its slot 0 or 1 (and the slot is the one `bareIndex` finds).
      const q = 2 - 2 * pos;
      const rest = l[q] as Instruction;
      const k = l[q + 1] as number;
      if (k < 2 && this.bareIndex(rest) === k) {
        this.useList = rest;
        rest.setUsePos(k, 0);
        return;
      }
    }
    const lastUser = l[n - 2] as Instruction;
    const lastIndex = l[n - 1] as number;
    if (2 * pos !== n - 2) {
      l[2 * pos] = lastUser;
      l[2 * pos + 1] = lastIndex;
      lastUser.setUsePos(lastIndex, pos);
    }
    l.length = n - 2;
  }
  /** @internal Operand slot `from` of `user` becomes slot `to` (see {@link Instruction.removeOperand}). */
  renumberUse(user: Instruction, from: number, to: number): void {
    const pos = user.usePos(from);
    if (!this.hasUseAt(pos, user, from)) throw new InternalError(`users list of %${this.id} lacks (%${user.id}, ${from})`);
    const l = this.useList;
    if (Array.isArray(l)) l[2 * pos + 1] = to;
    // A user kept alone: its slot is where the value is, once the operands have moved.
  }
}

/** A 64-bit exact integer constant of a given type, interned per function. */
export class Constant extends Value {
  /** On the prototype, not a field of every value. */
  declare readonly kind: "constant";
  constructor(
    id: number,
    type: Type,
    /** The value, wrapped to the signed range of `type`. */
    public readonly value: bigint,
  ) {
    super(id, type);
  }
}

/** A function parameter. */
export class Param extends Value {
  /** On the prototype, not a field of every value. */
  declare readonly kind: "param";
  /**
   * The C type the source gives this parameter (a Lua number is `long long`, a boolean
   * `_Bool`, C data its pointer type), for the object's BTF prototype of a BPF-to-BPF
   * function. Debug information only: no pass reads it, the text form does not carry it.
   */
  ctype?: CType;
  constructor(
    id: number,
    type: Type,
    public readonly index: number,
    public name?: string,
  ) {
    super(id, type);
  }
}

/** Opcode-specific attributes; each opcode uses the ones its shape needs. */
export interface InstructionAttrs {
  /** Byte offset for load, store, atomic and pktload. */
  offset?: number;
  /** Bytes and alignment for alloca. */
  size?: number;
  align?: number;
  /** Helper id for `call T helper N`. */
  helper?: number;
  /** Callee name for `call T @f`. */
  callee?: string;
  /** Map name for mapref. */
  map?: string;
  /** CO-RE relocation name for coreval. */
  core?: string;
}

/**
 * @internal What an instruction is apart from its id, result type, operands, edges, place
 * and location: its opcode, the opcode's table row, the type parameter and the attributes.
 * Instructions that agree on all four share one record (interned per function,
 * {@link Function.formOf}): an instruction holds one field for the four, the opcode's row is
 * a field read (not a string-keyed table lookup), and loads, stores, calls and allocas share
 * their attributes instead of a record each. Never changed: a setter gives the instruction
 * another form.
 */
export class InstructionForm {
  readonly info: OpInfo;
  readonly isPhi: boolean;
  readonly isTerminator: boolean;
  constructor(
    readonly opcode: Opcode,
    readonly typeParam: Type,
    readonly attrs: Readonly<InstructionAttrs>,
  ) {
    this.info = OPCODES[opcode];
    this.isPhi = opcode === "phi";
    this.isTerminator = this.info.terminator;
  }
}

/** The attributes of `attrs` as a record of its own, or {@link NO_ATTRS} when there are none. */
function ownAttrs(attrs: InstructionAttrs): Readonly<InstructionAttrs> {
  return attrs.offset === undefined && attrs.size === undefined && attrs.align === undefined && attrs.helper === undefined && attrs.callee === undefined && attrs.map === undefined && attrs.core === undefined
    ? NO_ATTRS
    : Object.freeze({ offset: attrs.offset, size: attrs.size, align: attrs.align, helper: attrs.helper, callee: attrs.callee, map: attrs.map, core: attrs.core });
}

/** A key naming the attributes of a record that has some (names quoted: any string may be a name). */
function attrsKey(a: Readonly<InstructionAttrs>): string {
  const name = (x: string | undefined) => (x === undefined ? "" : JSON.stringify(x));
  return `${a.offset},${a.size},${a.align},${a.helper},${name(a.callee)},${name(a.map)},${name(a.core)}`;
}

/**
 * The forms of a function's instructions (see {@link InstructionForm}): one per opcode and
 * type parameter without attributes, and one per distinct attributes beside it.
 */
class FormTable {
  private readonly plain = new Map<Opcode, Map<Type, InstructionForm>>();
  private withAttrs: Map<InstructionForm, Map<string, InstructionForm>> | undefined;
  /** The last opcode asked for and its map (runs of one opcode are common: a block of adds). */
  private lastOpcode: Opcode | undefined;
  private lastMap: Map<Type, InstructionForm> | undefined;

  get(opcode: Opcode, typeParam: Type, attrs: InstructionAttrs): InstructionForm {
    let byType = this.lastMap;
    if (opcode !== this.lastOpcode || byType === undefined) {
      byType = this.plain.get(opcode);
      if (byType === undefined) this.plain.set(opcode, (byType = new Map()));
      this.lastOpcode = opcode;
      this.lastMap = byType;
    }
    let plain = byType.get(typeParam);
    if (plain === undefined) byType.set(typeParam, (plain = new InstructionForm(opcode, typeParam, NO_ATTRS)));
    if (attrs === NO_ATTRS) return plain;
    const own = ownAttrs(attrs);
    if (own === NO_ATTRS) return plain;
    this.withAttrs ??= new Map();
    let byKey = this.withAttrs.get(plain);
    if (byKey === undefined) this.withAttrs.set(plain, (byKey = new Map()));
    const key = attrsKey(own);
    let form = byKey.get(key);
    if (form === undefined) byKey.set(key, (form = new InstructionForm(opcode, typeParam, own)));
    return form;
  }
}

/** An instruction; also the value of its result (`type` is void when there is none). */
export class Instruction extends Value {
  /** On the prototype, not a field of every value. */
  declare readonly kind: "instruction";
  readonly operands: Value[];
  /**
   * Where the users-list entry of each operand slot is in that operand's users list
   * (see {@link Value.useUserAt}): slots 0 and 1 in fields of their own (small integers, no
   * object), the rest (calls, phis) in an array made only for them. Most instructions
   * have at most two operands.
   */
  private pos0 = 0;
  private pos1 = 0;
  private posFrom2: number[] | undefined;
  /**
   * A terminator's targets, a phi's incoming blocks (see {@link targets},
   * {@link incoming}): one field for both, as no instruction has both. Only terminators
   * and phis with pairs have an array of their own; the rest share one frozen empty array.
   */
  private edges: BasicBlock[];
  /** The block this instruction is linked into, if any. */
  block: BasicBlock | undefined;
  prev: Instruction | undefined;
  next: Instruction | undefined;
  /**
   * The opcode, its table row, the type parameter and the attributes, shared with every
   * instruction of the function that agrees on them (see {@link InstructionForm}); read
   * through {@link opcode}, {@link info}, {@link typeParam} and the attributes' getters.
   */
  private form: InstructionForm;
  /**
   * Where in the source this instruction comes from. Front ends set it through
   * `Builder.loc`; an instruction linked into a block without one inherits the
   * location of the instruction it is inserted before (or, at a block's end, after),
   * so instructions that passes create carry the location of the code they replace or
   * serve without the pass doing anything. Code generation carries it into the
   * object's line table.
   */
  loc: SourceLocation | undefined;

  /** @internal Made by {@link Function.createInstruction} and {@link Function.cloneInstruction} only. */
  constructor(
    id: number,
    form: InstructionForm,
    /** The result type (void when the instruction produces no value). */
    type: Type,
    operands: readonly Value[],
  ) {
    super(id, type);
    this.form = form;
    // Phis: replaced as pairs are added (see addIncoming).
    this.edges = form.isTerminator ? [] : (NO_BLOCKS as BasicBlock[]);
    // Exactly sized arrays (a push onto an empty array reserves 17 slots): most
    // instructions never change their operand count, and a big function has millions.
    // Without operands (`br`, `mapref`, `alloca`), one shared frozen empty array.
    const n = operands.length;
    this.operands = n === 0 ? (NO_OPERANDS as Value[]) : operands.slice();
    if (n > 2) this.posFrom2 = new Array<number>(n - 2).fill(0);
    for (let k = 0; k < n; k++) this.operands[k]!.attachUse(this, k);
  }

  /** The opcode. */
  get opcode(): Opcode {
    return this.form.opcode;
  }
  /** The printed type parameter `T` (see opcodes.ts). */
  get typeParam(): Type {
    return this.form.typeParam;
  }
  set typeParam(t: Type) {
    this.reform(this.form.opcode, t, this.form.attrs);
  }
  /** Gives this instruction the form of `opcode`, `typeParam` and `attrs` (from its function's table when it is in one). */
  private reform(opcode: Opcode, typeParam: Type, attrs: InstructionAttrs): void {
    const fn = this.block?.parent;
    this.form = fn ? fn.formOf(opcode, typeParam, attrs) : new InstructionForm(opcode, typeParam, ownAttrs(attrs));
  }

  /** Byte offset for load, store, atomic and pktload (0 when none). */
  get offset(): number {
    return this.form.attrs.offset ?? 0;
  }
  set offset(value: number) {
    this.setAttr("offset", value);
  }
  /** Bytes of an alloca (0 when none). */
  get size(): number {
    return this.form.attrs.size ?? 0;
  }
  set size(value: number) {
    this.setAttr("size", value);
  }
  /** Alignment of an alloca (0 when none). */
  get align(): number {
    return this.form.attrs.align ?? 0;
  }
  set align(value: number) {
    this.setAttr("align", value);
  }
  /** Helper id of `call T helper N`. */
  get helper(): number | undefined {
    return this.form.attrs.helper;
  }
  set helper(value: number | undefined) {
    this.setAttr("helper", value);
  }
  /** Callee name of `call T @f` (settable: the linker renames functions). */
  get callee(): string | undefined {
    return this.form.attrs.callee;
  }
  set callee(name: string | undefined) {
    this.setAttr("callee", name);
  }
  /** Attributes are rarely written (the linker, tests): another form, never a shared one changed. */
  private setAttr<K extends keyof InstructionAttrs>(key: K, value: InstructionAttrs[K]): void {
    const a = this.form.attrs;
    const next: InstructionAttrs = { offset: a.offset, size: a.size, align: a.align, helper: a.helper, callee: a.callee, map: a.map, core: a.core };
    next[key] = value;
    this.reform(this.form.opcode, this.form.typeParam, next);
  }
  /**
   * All of the opcode's attributes as one read-only record: what a copy of this
   * instruction passes to {@link Function.createInstruction} (see {@link Function.cloneInstruction}).
   */
  get attributes(): Readonly<InstructionAttrs> {
    return this.form.attrs;
  }
  /** Map name of mapref. */
  get map(): string | undefined {
    return this.form.attrs.map;
  }
  set map(value: string | undefined) {
    this.setAttr("map", value);
  }
  /** CO-RE relocation name of coreval. */
  get core(): string | undefined {
    return this.form.attrs.core;
  }
  set core(value: string | undefined) {
    this.setAttr("core", value);
  }

  get info(): OpInfo {
    return this.form.info;
  }
  /**
   * Branch targets (br: 1, condbr: 2 — true then false); empty for a non-terminator. Read
   * it; change it only through {@link setTarget} (and {@link initTargets}).
   */
  get targets(): BasicBlock[] {
    return this.form.isPhi ? (NO_BLOCKS as BasicBlock[]) : this.edges;
  }
  /** Phi only: `incoming[i]` is the predecessor that operand i flows in from (empty for others). */
  get incoming(): BasicBlock[] {
    return this.form.isPhi ? this.edges : (NO_BLOCKS as BasicBlock[]);
  }
  get isTerminator(): boolean {
    return this.form.isTerminator;
  }
  get isPhi(): boolean {
    return this.form.isPhi;
  }
  /** The function this instruction belongs to (through its block). */
  get parentFunction(): Function | undefined {
    return this.block?.parent;
  }

  /** @internal Where the users-list entry of operand slot `i` is in its operand's users list. */
  usePos(i: number): number {
    return i === 0 ? this.pos0 : i === 1 ? this.pos1 : this.posFrom2![i - 2]!;
  }
  /** @internal Records where the users-list entry of slot `i` is (its operand's list moved it). */
  setUsePos(i: number, pos: number): void {
    if (i === 0) this.pos0 = pos;
    else if (i === 1) this.pos1 = pos;
    else this.posFrom2![i - 2] = pos;
  }

  operand(i: number): Value {
    const v = this.operands[i];
    if (!v) throw new InternalError(`%${this.id} (${this.opcode}) has no operand ${i}`);
    return v;
  }

  /** Replaces operand `i`, keeping both users lists right. */
  setOperand(i: number, v: Value): void {
    const old = this.operands[i];
    assert(old !== undefined, `setOperand: %${this.id} has no operand ${i}`);
    if (old === v) return;
    old.detachUse(this, i);
    this.operands[i] = v;
    v.attachUse(this, i);
  }

  /** Appends an operand (calls, phis, ret). */
  appendOperand(v: Value): void {
    const n = this.operands.length;
    if (n >= 2) this.posFrom2 = appended(this.posFrom2 ?? [], 0);
    (this as { operands: Value[] }).operands = appended(this.operands, v);
    v.attachUse(this, n);
  }

  /** Removes operand `i`, renumbering the uses of later operands. O(operands). */
  removeOperand(i: number): void {
    const n = this.operands.length;
    assert(i >= 0 && i < n, `removeOperand: %${this.id} has no operand ${i}`);
    this.operands[i]!.detachUse(this, i);
    // Later slots move down by one: their entries' indices and positions with them.
    for (let k = i; k < n - 1; k++) {
      this.operands[k + 1]!.renumberUse(this, k + 1, k);
      this.setUsePos(k, this.usePos(k + 1));
    }
    this.operands.splice(i, 1);
    if (n - 1 > 2) this.posFrom2!.length = n - 3;
    else this.posFrom2 = undefined;
    if (this.opcode === "phi" && this.edges !== NO_BLOCKS) this.edges.splice(i, 1);
  }

  /** Drops every operand reference (so that mutually dependent dead code can be erased). */
  dropOperands(): void {
    for (let k = this.operands.length - 1; k >= 0; k--) this.operands[k]!.detachUse(this, k);
    (this as { operands: Value[] }).operands = NO_OPERANDS as Value[];
    this.posFrom2 = undefined;
    if (this.opcode === "phi" && this.edges.length > 0) this.edges.length = 0;
  }

  // ---- phis ----

  /** Adds the incoming pair `(value, from)` to a phi. */
  addIncoming(value: Value, from: BasicBlock): void {
    assert(this.opcode === "phi", `addIncoming on ${this.opcode}`);
    this.appendOperand(value);
    this.edges = appended(this.edges, from);
  }
  /** The index of the first incoming pair from `from`, or -1. */
  incomingIndex(from: BasicBlock): number {
    return this.incoming.indexOf(from);
  }
  /** The value flowing in from `from`. */
  incomingValue(from: BasicBlock): Value {
    const i = this.incoming.indexOf(from);
    if (i < 0) throw new InternalError(`phi %${this.id} has no incoming value from @bb${from.id}`);
    return this.operands[i]!;
  }
  /** Removes the first incoming pair from `from`. */
  removeIncoming(from: BasicBlock): void {
    const i = this.incoming.indexOf(from);
    assert(i >= 0, () => `phi %${this.id} has no incoming pair from @bb${from.id}`);
    this.removeOperand(i);
  }

  // ---- branch targets ----

  /**
   * Gives an unlinked terminator without targets its targets (an exactly sized copy of
   * `targets`: pushed one by one, they would reserve 17 slots per branch).
   */
  initTargets(targets: readonly BasicBlock[]): void {
    assert(this.isTerminator && this.block === undefined && this.targets.length === 0, () => `initTargets: %${this.id} (${this.opcode}) is not an unlinked terminator without targets`);
    this.edges = targets.slice();
  }

  /** Retargets edge `i` of a terminator, keeping predecessor lists right. */
  setTarget(i: number, bb: BasicBlock): void {
    const old = this.targets[i];
    assert(old !== undefined, `setTarget: %${this.id} has no target ${i}`);
    if (old === bb) return;
    if (this.block) removeOne(old.preds, this.block);
    this.targets[i] = bb;
    if (this.block) bb.addPred(this.block);
  }

  // ---- placement ----

  /** Inserts this (unlinked) instruction before `pos`. */
  insertBefore(pos: Instruction): void {
    const bb = pos.block;
    assert(bb !== undefined, "insertBefore: position is not in a block");
    bb.link(this, pos.prev, pos);
  }
  /** Inserts this (unlinked) instruction after `pos`. */
  insertAfter(pos: Instruction): void {
    const bb = pos.block;
    assert(bb !== undefined, "insertAfter: position is not in a block");
    bb.link(this, pos, pos.next);
  }
  /** Moves this instruction before `pos` (possibly into another block). */
  moveBefore(pos: Instruction): void {
    this.unlink();
    this.insertBefore(pos);
  }
  /** Moves this instruction after `pos`. */
  moveAfter(pos: Instruction): void {
    this.unlink();
    this.insertAfter(pos);
  }
  /** Moves this instruction to the end of `bb`. */
  moveToEnd(bb: BasicBlock): void {
    this.unlink();
    bb.append(this);
  }

  /** Unlinks this instruction from its block without touching operands or users. */
  unlink(): void {
    this.block?.unlinkInstruction(this);
  }

  /**
   * Removes this instruction from its block and drops its operands. Its result must be
   * unused (use `replaceAllUsesWith` first).
   */
  erase(): void {
    if (this.hasUses) {
      throw new InternalError(`erase: %${this.id} (${this.opcode}) still has ${this.useCount} users`);
    }
    this.unlink();
    this.dropOperands();
  }
}

/**
 * `list` with `x` appended: a new exactly sized array while the list is short (a push onto
 * an array reserves 16 more slots: a block's predecessors, a phi's operands and incoming
 * blocks are mostly one or two long), the same array pushed onto once longer. The caller
 * stores the result.
 */
function appended<T>(list: T[], x: T): T[] {
  const n = list.length;
  if (n >= SMALL_LIST) {
    list.push(x);
    return list;
  }
  return n === 0 ? [x] : n === 1 ? [list[0]!, x] : [...list, x];
}

function removeOne<T>(list: T[], x: T): void {
  const i = list.lastIndexOf(x);
  if (i < 0) throw new InternalError("predecessor list out of sync with terminators");
  list.splice(i, 1);
}

/** A basic block: a linked list of instructions, phis first, one terminator last. */
export class BasicBlock {
  first: Instruction | undefined;
  last: Instruction | undefined;
  /** Predecessors, one entry per incoming edge, maintained with the terminators. */
  readonly preds: BasicBlock[] = NO_PREDS;
  /** Number of linked instructions. */
  size = 0;

  constructor(
    /** Dense id, unique in the function; printed as `@bbN`. */
    public readonly id: number,
    public parent: Function | undefined,
  ) {}

  /** The terminator, if the block has one. */
  get terminator(): Instruction | undefined {
    return this.last && this.last.isTerminator ? this.last : undefined;
  }
  /** Successors in terminator order (a block may appear twice). */
  get succs(): readonly BasicBlock[] {
    return this.terminator?.targets ?? EMPTY_BLOCKS;
  }

  /** The block's instructions as an array (a snapshot; safe to mutate the block while iterating). */
  instructions(): Instruction[] {
    const out: Instruction[] = [];
    for (let i = this.first; i; i = i.next) out.push(i);
    return out;
  }
  *[Symbol.iterator](): IterableIterator<Instruction> {
    for (let i = this.first; i; ) {
      const next = i.next;
      yield i;
      i = next;
    }
  }
  /** The leading phi instructions. */
  phis(): Instruction[] {
    const out: Instruction[] = [];
    for (let i = this.first; i && i.opcode === "phi"; i = i.next) out.push(i);
    return out;
  }
  /** The first instruction that is not a phi. */
  firstNonPhi(): Instruction | undefined {
    let i = this.first;
    while (i && i.opcode === "phi") i = i.next;
    return i;
  }

  /** Appends an unlinked instruction. */
  append(inst: Instruction): void {
    this.link(inst, this.last, undefined);
  }
  /** Prepends an unlinked instruction. */
  prepend(inst: Instruction): void {
    this.link(inst, undefined, this.first);
  }

  /** @internal Adds an edge from `pred` to the predecessor list (a new array while it is short: see `appended`). */
  addPred(pred: BasicBlock): void {
    (this as { preds: BasicBlock[] }).preds = appended(this.preds, pred);
  }

  /** @internal Links `inst` between `prev` and `next` (neighbours in this block). */
  link(inst: Instruction, prev: Instruction | undefined, next: Instruction | undefined): void {
    assert(inst.block === undefined, () => `%${inst.id} is already in @bb${inst.block!.id}`);
    inst.loc ??= next?.loc ?? prev?.loc;
    inst.block = this;
    inst.prev = prev;
    inst.next = next;
    if (prev) prev.next = inst;
    else this.first = inst;
    if (next) next.prev = inst;
    else this.last = inst;
    this.size++;
    const targets = inst.targets;
    for (let k = 0; k < targets.length; k++) targets[k]!.addPred(this);
  }
  /** @internal */
  unlinkInstruction(inst: Instruction): void {
    assert(inst.block === this, "unlink: instruction not in this block");
    const targets = inst.targets;
    for (let k = 0; k < targets.length; k++) removeOne(targets[k]!.preds, this);
    if (inst.prev) inst.prev.next = inst.next;
    else this.first = inst.next;
    if (inst.next) inst.next.prev = inst.prev;
    else this.last = inst.prev;
    inst.block = inst.prev = inst.next = undefined;
    this.size--;
  }
}

const EMPTY_BLOCKS: readonly BasicBlock[] = Object.freeze([]);

/** Program metadata of a function that is an eBPF program entry point. */
export interface ProgramInfo {
  /** ELF section name, e.g. `socket`, `xdp`, `kprobe/do_sys_open`. */
  section: string;
  /** Program type, e.g. `socket_filter`, `xdp`, `sched_cls`, `kprobe`. */
  type: string;
  /**
   * Where the source said to attach the program, for the loader: an interface
   * (`bpf.socket('lo', f)`), a probe name and symbol, a binary path, a pid or cpu, ...
   */
  attach?: Record<string, string | number | boolean>;
}

/**
 * A function: parameters and blocks (the first block is the entry).
 *
 * The block list is settled lazily: {@link removeBlock} and {@link createBlock} with
 * `after` only record the change, and the next read of {@link blocks} applies every
 * recorded change in one O(blocks) pass. A pass that removes or inserts thousands of
 * blocks therefore costs O(blocks) in list maintenance, not O(blocks²) of `splice`.
 */
export class Function {
  readonly params: Param[] = [];
  private readonly blockList: BasicBlock[] = [];
  /** Blocks created with `after`, per anchor block, in creation order (not yet in `blockList`). */
  private pendingAfter: Map<BasicBlock, BasicBlock[]> | undefined;
  private blocksDirty = false;
  program: ProgramInfo | undefined;
  /** The C type of the result, when the source gives one (see {@link Param.ctype}); `void` for a function that returns nothing. */
  cReturnType: CType | undefined;
  private nextValueId = 0;
  private nextBlockId = 0;
  /** Every constant, in creation order. */
  private readonly constantList: Constant[] = [];
  /**
   * Constants by type (types are interned: the type object is the key) and value: a map
   * per type, keyed by the value as a number when it is in the 32-bit signed range (small
   * integers hash and compare far faster than bigints: a bigint-keyed `get` is ~5× a
   * number-keyed one) and by the bigint itself otherwise, so no value has two keys.
   */
  private readonly constantsByType = new Map<Type, Map<number | bigint, Constant>>();
  /** The last type {@link constant} was asked for and its map (most runs of lookups share one type). */
  private lastConstantType: Type | undefined;
  private lastConstantMap: Map<number | bigint, Constant> | undefined;
  /** The instructions' shared forms (see {@link InstructionForm}), made on the first instruction. */
  private forms: FormTable | undefined;

  constructor(
    public name: string,
    paramTypes: readonly Type[],
    public returnType: Type,
  ) {
    paramTypes.forEach((t, i) => this.params.push(new Param(this.newValueId(), t, i)));
  }

  /** The blocks in layout order (the entry first). Reading it applies pending block insertions and removals. */
  get blocks(): BasicBlock[] {
    if (this.blocksDirty) this.settleBlocks();
    return this.blockList;
  }

  private settleBlocks(): void {
    this.blocksDirty = false;
    const pending = this.pendingAfter;
    this.pendingAfter = undefined;
    // Written over the list in place, then cut to length: emptied and pushed to again, a huge
    // function's list would be reallocated, growth after growth (fresh large-object pages),
    // on every settle.
    const list = this.blockList;
    let n = 0;
    if (pending === undefined) {
      // Removals only: kept blocks move down.
      for (let k = 0; k < list.length; k++) {
        const bb = list[k]!;
        if (bb.parent === this) list[n++] = bb;
      }
    } else {
      // An explicit stack (the old list reversed: one copy of its size): blocks inserted after
      // a block, the latest first (as repeated `splice(i + 1, 0, bb)` would place them), then
      // recursively what was inserted after those.
      const stack = list.slice().reverse();
      while (stack.length > 0) {
        const bb = stack.pop()!;
        if (bb.parent === this) list[n++] = bb;
        const after = pending.get(bb);
        if (after) for (const x of after) stack.push(x);
      }
    }
    list.length = n;
  }

  get entry(): BasicBlock {
    // Never settles: the entry is never removed and nothing is inserted before it.
    const bb = this.blockList[0];
    if (!bb) throw new InternalError(`function ${this.name} has no blocks`);
    return bb;
  }

  /** Upper bound (exclusive) of value ids: size arrays indexed by value id with it. */
  get valueIdBound(): number {
    return this.nextValueId;
  }
  /** Upper bound (exclusive) of block ids. */
  get blockIdBound(): number {
    return this.nextBlockId;
  }

  /** @internal Allocates a value id; `reserve` lets the parser keep printed ids. */
  newValueId(reserve?: number): number {
    if (reserve !== undefined) {
      this.nextValueId = Math.max(this.nextValueId, reserve + 1);
      return reserve;
    }
    return this.nextValueId++;
  }

  /** The interned constant `value` of type `type` (wrapped to the type's width). */
  constant(type: Type, value: bigint | number): Constant {
    let byValue = this.lastConstantMap;
    if (type !== this.lastConstantType || byValue === undefined) {
      byValue = this.constantsByType.get(type);
      if (!byValue) this.constantsByType.set(type, (byValue = new Map()));
      this.lastConstantType = type;
      this.lastConstantMap = byValue;
    }
    // The key: the wrapped value as a number when it is a 32-bit signed integer (a value
    // given in the type's signed range needs no wrapping: a bigint is only converted, as a
    // double, which is exact there), else the wrapped bigint.
    let key: number | bigint;
    let v: bigint | undefined;
    const half = type.kind === "int" && type.bits < 32 ? 1 << (type.bits - 1) : 0x80000000;
    const num = typeof value === "number" ? value : Number(value);
    if (Number.isInteger(num) && num >= -half && num < half) {
      key = num;
      if (typeof value === "bigint") v = value;
    } else {
      v = normalizeConstant(type, BigInt(value));
      key = v >= -0x80000000n && v < 0x80000000n ? Number(v) : v;
    }
    let c = byValue.get(key);
    if (!c) {
      c = new Constant(this.newValueId(), type, v ?? BigInt(key));
      byValue.set(key, c);
      this.constantList.push(c);
    }
    return c;
  }
  /** Every constant created so far, in creation order. */
  allConstants(): Constant[] {
    return [...this.constantList];
  }

  /** Creates a new empty block, appended to the block list (or inserted after `after`). */
  createBlock(options: { after?: BasicBlock; id?: number } = {}): BasicBlock {
    let id: number;
    if (options.id !== undefined) {
      id = options.id;
      this.nextBlockId = Math.max(this.nextBlockId, id + 1);
    } else id = this.nextBlockId++;
    const bb = new BasicBlock(id, this);
    if (options.after) {
      assert(options.after.parent === this, "createBlock: `after` is not in this function");
      this.pendingAfter ??= new Map();
      const list = this.pendingAfter.get(options.after);
      if (list) list.push(bb);
      else this.pendingAfter.set(options.after, [bb]);
      this.blocksDirty = true;
    } else if (this.blocksDirty) {
      this.blocks.push(bb);
    } else this.blockList.push(bb);
    return bb;
  }

  /** Creates an unlinked instruction with a fresh id. */
  createInstruction(
    opcode: Opcode,
    type: Type,
    typeParam: Type,
    operands: readonly Value[] = [],
    attrs: InstructionAttrs = NO_ATTRS,
    id?: number,
  ): Instruction {
    return new Instruction(this.newValueId(id), this.formOf(opcode, typeParam, attrs), type, operands);
  }

  /** @internal The form of this function's instructions of `opcode`, `typeParam` and `attrs` (see {@link InstructionForm}). */
  formOf(opcode: Opcode, typeParam: Type, attrs: InstructionAttrs): InstructionForm {
    return (this.forms ??= new FormTable()).get(opcode, typeParam, attrs);
  }

  /**
   * Creates an unlinked copy of `inst` (which may belong to another function) with a fresh
   * id: the same opcode, types, attributes and source location, over `operands`. Branch
   * targets and phi incoming blocks are not copied: the caller maps them to its own blocks.
   * Passes that duplicate code (inline, unroll) copy instructions only through this, so an
   * attribute added to {@link InstructionAttrs} is never lost in a copy.
   */
  cloneInstruction(inst: Instruction, operands: readonly Value[]): Instruction {
    const clone = new Instruction(this.newValueId(), this.formOf(inst.opcode, inst.typeParam, inst.attributes), inst.type, operands);
    if (inst.loc) clone.loc = inst.loc;
    return clone;
  }

  /**
   * Detaches a block from the function. The block must have no predecessors; its
   * instructions are erased (their results must be unused outside the block), and phis in
   * its successors lose their incoming pairs from it.
   */
  removeBlock(bb: BasicBlock): void {
    assert(bb.parent === this, "removeBlock: block not in this function");
    assert(bb.preds.length === 0, () => `removeBlock: @bb${bb.id} still has predecessors`);
    // Walked in place, without arrays of the successors' phis or of the block's instructions.
    const succs = bb.succs;
    for (let k = 0; k < succs.length; k++)
      for (let phi = succs[k]!.first; phi && phi.opcode === "phi"; phi = phi.next) if (phi.incomingIndex(bb) >= 0) phi.removeIncoming(bb);
    for (let i = bb.first; i; i = i.next) i.dropOperands();
    for (let i = bb.last; i; ) {
      const prev = i.prev;
      if (i.hasUses) throw new InternalError(`removeBlock: %${i.id} in @bb${bb.id} is used elsewhere`);
      i.unlink();
      i = prev;
    }
    bb.parent = undefined;
    this.blocksDirty = true;
  }

  /**
   * Frees the function's body — its blocks, instructions and constants — for a caller that
   * will not read it again: code generation of a module whose caller wants only the object
   * (`discardIr` of the backend and the driver) drops each function's IR once its machine
   * code is selected, so that the IR is no longer live (and traced by every full garbage
   * collection) while registers are allocated and code is emitted. The name, parameters
   * (without their users), result type and program information stay; the function has no
   * blocks afterwards, which is not valid IR: don't verify, print, optimise or compile it again.
   */
  discardBody(): void {
    for (const p of this.params) p.forgetUses();
    this.blockList.length = 0;
    this.pendingAfter = undefined;
    this.blocksDirty = false;
    this.constantList.length = 0;
    this.constantsByType.clear();
    this.lastConstantType = this.lastConstantMap = undefined;
    this.forms = undefined;
  }

  /**
   * All instructions in block order. A generator (an iterator result per instruction, young
   * garbage), not an array: an array pushed to a huge function's length costs ~9× as much on
   * V8 here (fresh large-object pages at every growth: 18 ms against 2 ms for 100k).
   */
  *instructions(): IterableIterator<Instruction> {
    const blocks = this.blocks;
    for (let k = 0; k < blocks.length; k++) for (let i = blocks[k]!.first; i; i = i.next) yield i;
  }

  /** Number of linked instructions (the blocks' sizes summed: O(blocks), no allocation). */
  get instructionCount(): number {
    let n = 0;
    const blocks = this.blocks;
    for (let k = 0; k < blocks.length; k++) n += blocks[k]!.size;
    return n;
  }
}

for (const [cls, kind] of [
  [Constant, "constant"],
  [Param, "param"],
  [Instruction, "instruction"],
] as const)
  Object.defineProperty(cls.prototype, "kind", { value: kind, enumerable: false, writable: false, configurable: false });

/** Narrowing helper: is `v` an instruction with the given opcode? */
export function isInstruction(v: Value, opcode?: Opcode): v is Instruction {
  return v.kind === "instruction" && (opcode === undefined || (v as Instruction).opcode === opcode);
}
/** Narrowing helper: is `v` a constant? */
export function isConstant(v: Value): v is Constant {
  return v.kind === "constant";
}
/** The region a pointer-typed value points into, if known. */
export function regionOf(v: Value): PtrType["region"] {
  return v.type.kind === "ptr" ? v.type.region : undefined;
}
