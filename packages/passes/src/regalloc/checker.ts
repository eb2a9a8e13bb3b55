/**
 * An independent checker of register allocations (after regalloc2's checker and the
 * "symbolic verification" of Cranelift/Wasmtime): it replays the allocated program
 * symbolically and proves that every use reads the value of its virtual register.
 *
 * It shares nothing with the allocator but the interface types. The abstract state maps
 * each location (physical register or spill slot) to the set of values it certainly
 * holds: virtual registers, and each physical register's "own" value for precoloured
 * operands (so a call argument written to r1 must still be in r1 at the call). It is a
 * forward dataflow over the CFG with set intersection as the meet (a location holds a
 * value at a block entry only if it holds it on every incoming path), iterated to a
 * fixpoint; at the entry every register holds its own incoming value and slots hold
 * nothing. Replay of one instruction:
 *
 *   edits before → check constraints and uses → clobbers empty their registers →
 *   each def removes its value from every location, then its location holds just it
 *   (a copy's destination holds the source's values plus the copy's def) → edits after.
 *
 * An edit copies the source location's set to the destination. Besides reads, it checks
 * constraints: fixed operands in their register, reuse operands in the reused operand's
 * location, early defs apart from every use, defs apart from each other, non-copy operands
 * in allocatable registers. Cost: O(instructions × locations × set size) per iteration.
 */
import { LuabpfError } from "@luabpf/platform/errors";
import type { Allocation, Edit, Operand, PReg, RegAllocFunction, RegAllocOutput, RegAllocTarget } from "./interface.js";

/** An allocation the checker refuted, with every problem found (first 50). */
export class RegAllocCheckError extends LuabpfError {
  readonly kind = "internal" as const;
  readonly category = "internal" as const;
  constructor(readonly problems: readonly string[]) {
    super(`register allocation is wrong:\n  ${problems.slice(0, 20).join("\n  ")}${problems.length > 20 ? `\n  ... ${problems.length - 20} more` : ""}`);
    this.name = "RegAllocCheckError";
  }
}

/** A value: virtual register v is `v`, physical register p's own value is `-1 - p`. */
type Value = number;
type State = Map<string, Set<Value>>;

const locKey = (a: Allocation): string => (a.kind === "reg" ? `r${a.reg}` : `s${a.slot}`);
const physValue = (p: PReg): Value => -1 - p;

/**
 * Checks `out` against `fn`; throws a {@link RegAllocCheckError} listing the problems.
 * Returns the number of uses proved.
 */
export function checkAllocation(fn: RegAllocFunction, target: RegAllocTarget, out: RegAllocOutput): number {
  const problems: string[] = [];
  const regName = (p: PReg): string => target.regName?.(p) ?? `p${p}`;
  const locName = (a: Allocation): string => (a.kind === "reg" ? regName(a.reg) : `slot${a.slot}`);
  const valueName = (v: Value): string => (v >= 0 ? `v${v}` : `${regName(-1 - v)}(incoming/precoloured)`);
  const allocatable = new Set(target.allocatable);

  // Instruction numbering and edits by (instruction, side).
  const firstInst: number[] = [];
  let numInsts = 0;
  for (const b of fn.blocks) {
    firstInst.push(numInsts);
    numInsts += b.insts.length;
  }
  if (out.allocs.length !== numInsts) problems.push(`allocs cover ${out.allocs.length} instructions, the function has ${numInsts}`);
  const before: Edit[][] = Array.from({ length: numInsts }, () => []);
  const after: Edit[][] = Array.from({ length: numInsts }, () => []);
  for (const e of out.edits) {
    if (e.inst < 0 || e.inst >= numInsts) {
      problems.push(`edit attached to instruction ${e.inst}, which does not exist`);
      continue;
    }
    (e.pos === "before" ? before : after)[e.inst]!.push(e);
    for (const a of [e.from, e.to]) checkLocation(a, `edit at instruction ${e.inst}`);
    if (e.from.kind === "stack" && e.to.kind === "stack") problems.push(`edit at instruction ${e.inst}: stack-to-stack move`);
  }
  if (problems.length > 0) throw new RegAllocCheckError(problems);

  function checkLocation(a: Allocation, where: string): void {
    if (a.kind === "reg" && (a.reg < 0 || a.reg >= target.numRegs)) problems.push(`${where}: register ${a.reg} does not exist`);
    if (a.kind === "stack" && (a.slot < 0 || a.slot >= out.numSpillSlots)) problems.push(`${where}: spill slot ${a.slot} out of range`);
  }

  // Static checks of each instruction's allocations (independent of the dataflow).
  fn.blocks.forEach((b, bi) =>
    b.insts.forEach((inst, k) => {
      const id = firstInst[bi]! + k;
      const where = `block ${bi} inst ${k} (#${id})`;
      const allocs = out.allocs[id] ?? [];
      if (allocs.length !== inst.operands.length) {
        problems.push(`${where}: ${allocs.length} allocations for ${inst.operands.length} operands`);
        return;
      }
      inst.operands.forEach((o, j) => {
        const a = allocs[j]!;
        const w = `${where} operand ${j}`;
        checkLocation(a, w);
        if (a.kind === "stack" && !inst.copy) problems.push(`${w}: only copies may have stack operands`);
        if ("preg" in o) {
          if (a.kind !== "reg" || a.reg !== o.preg) problems.push(`${w}: precoloured ${regName(o.preg)} allocated to ${locName(a)}`);
          return;
        }
        if (a.kind === "reg" && !allocatable.has(a.reg)) problems.push(`${w}: v${o.vreg} in non-allocatable ${regName(a.reg)}`);
        const c = o.constraint;
        if (c.kind === "fixed" && (a.kind !== "reg" || a.reg !== c.reg)) problems.push(`${w}: v${o.vreg} must be in ${regName(c.reg)}, is in ${locName(a)}`);
        if (c.kind === "reuse") {
          const r = allocs[c.operand];
          if (!r || locKey(r) !== locKey(a)) problems.push(`${w}: v${o.vreg} must reuse operand ${c.operand}'s location, is in ${locName(a)}`);
        }
      });
      const defs = inst.operands.map((o, j) => [o, allocs[j]!] as const).filter(([o]) => o.kind === "def");
      const uses = inst.operands.map((o, j) => [o, allocs[j]!] as const).filter(([o]) => o.kind === "use");
      defs.forEach(([d, da], x) => {
        for (const [, ea] of defs.slice(x + 1)) if (locKey(ea) === locKey(da)) problems.push(`${where}: two defs in ${locName(da)}`);
        if (d.early) for (const [, ua] of uses) if (locKey(ua) === locKey(da)) problems.push(`${where}: early def in ${locName(da)}, also read by a use`);
      });
    }),
  );
  if (problems.length > 0) throw new RegAllocCheckError(problems);

  const apply = (s: State, e: Edit): void => {
    s.set(locKey(e.to), new Set(s.get(locKey(e.from)) ?? []));
  };
  const valueOf = (o: Operand): Value => ("preg" in o ? physValue(o.preg) : o.vreg);
  let proved = 0;

  /** Replays block `bi` from `inState`; reports problems when `report`. */
  const replay = (bi: number, inState: State, report: boolean): State => {
    const s: State = new Map([...inState].map(([k, v]) => [k, new Set(v)]));
    const b = fn.blocks[bi]!;
    b.insts.forEach((inst, k) => {
      const id = firstInst[bi]! + k;
      for (const e of before[id]!) apply(s, e);
      const allocs = out.allocs[id]!;
      let copied: Set<Value> | undefined;
      inst.operands.forEach((o, j) => {
        if (o.kind !== "use") return;
        const held = s.get(locKey(allocs[j]!));
        const v = valueOf(o);
        if (report) {
          if (!held?.has(v)) {
            problems.push(
              `block ${bi} inst ${k} (#${id}) operand ${j}: reads ${valueName(v)} from ${locName(allocs[j]!)}, which holds {${[...(held ?? [])].map(valueName).join(", ")}}`,
            );
          } else proved++;
        }
        if (inst.copy) copied = new Set(held ?? []);
      });
      for (const c of inst.clobbers) s.set(`r${c}`, new Set());
      inst.operands.forEach((o, j) => {
        if (o.kind !== "def") return;
        const v = valueOf(o);
        for (const set of s.values()) set.delete(v);
        const held = inst.copy && copied ? copied : new Set<Value>();
        held.add(v);
        s.set(locKey(allocs[j]!), held);
      });
      for (const e of after[id]!) apply(s, e);
    });
    return s;
  };

  // Forward dataflow to a fixpoint (states only shrink: intersection meet).
  const n = fn.blocks.length;
  const inStates: (State | undefined)[] = new Array(n).fill(undefined);
  const entry: State = new Map();
  for (let p = 0; p < target.numRegs; p++) entry.set(`r${p}`, new Set([physValue(p)]));
  if (n > 0) inStates[0] = entry;
  const work = n > 0 ? [0] : [];
  const queued = new Set(work);
  while (work.length > 0) {
    const bi = work.shift()!;
    queued.delete(bi);
    const outState = replay(bi, inStates[bi]!, false);
    for (const succ of fn.blocks[bi]!.succs) {
      const old = inStates[succ];
      let next: State;
      if (!old) next = outState;
      else {
        next = new Map();
        for (const [key, set] of old) {
          const other = outState.get(key);
          if (other) next.set(key, new Set([...set].filter((v) => other.has(v))));
        }
      }
      if (old && sameState(old, next)) continue;
      inStates[succ] = new Map([...next].map(([k2, v]) => [k2, new Set(v)]));
      if (!queued.has(succ)) {
        queued.add(succ);
        work.push(succ);
      }
    }
  }
  for (let bi = 0; bi < n; bi++) if (inStates[bi]) replay(bi, inStates[bi]!, true);
  if (problems.length > 0) throw new RegAllocCheckError(problems);
  return proved;
}

function sameState(a: State, b: State): boolean {
  let nonEmptyA = 0;
  for (const [k, set] of a) {
    if (set.size === 0) continue;
    nonEmptyA++;
    const other = b.get(k);
    if (!other || other.size !== set.size) return false;
    for (const v of set) if (!other.has(v)) return false;
  }
  let nonEmptyB = 0;
  for (const set of b.values()) if (set.size > 0) nonEmptyB++;
  return nonEmptyA === nonEmptyB;
}
