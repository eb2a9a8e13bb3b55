/**
 * The verifier's reference rule, checked on the IR before code generation: a reference a
 * helper hands out (`ringbuf_reserve`, `sk_lookup_tcp`: helpers whose row in
 * @luabpf/platform's table says `reference: "acquire"`) must, on every path from the call
 * to a return, be either found null (the branch of a `p == 0` test where it is) or given
 * back by a releasing helper (`ringbuf_submit`, `ringbuf_discard`, `sk_release`); and once
 * given back it must not be used. The kernel rejects a program breaking either rule at
 * load time ("Unreleased reference id=2", "R1 invalid mem access 'scalar'"); finding it
 * here lets the front end say where, in the program's own terms.
 *
 * For each acquiring call A, a depth-first search over blocks follows the paths on which A
 * is still held: a release of A (or of a copy, or a phi merging A with null) ends a path,
 * the null side of a null test of A ends it, reaching a `ret` is a leak, and reaching A
 * again is a leak too (the loop reserves a second record while still holding the first).
 * From each release, a second search looks for uses of A or of pointers derived from it.
 * Each block is entered at most once per search: O(references × instructions).
 */
import { helperById } from "@luabpf/platform";
import { isConstant, isInstruction, type BasicBlock, type Function, type Instruction, type Value } from "../core.js";

/** A path on which an acquired reference reaches a return (or is acquired again) unreleased. */
export interface ReferenceLeak {
  /** The call that acquired the reference. */
  readonly acquire: Instruction;
  /** The `ret` reached while it is held, or the acquiring call reached again (`again`). */
  readonly exit: Instruction;
  readonly again: boolean;
}

/** A use of a reference (or of a pointer derived from it) on a path after it was released. */
export interface UseAfterRelease {
  readonly acquire: Instruction;
  readonly release: Instruction;
  readonly use: Instruction;
}

/** What {@link checkReferences} found. */
export interface ReferenceProblems {
  readonly leaks: ReferenceLeak[];
  readonly usesAfterRelease: UseAfterRelease[];
}

function referenceKind(inst: Instruction): "acquire" | "release" | undefined {
  if (inst.opcode !== "call" || inst.helper === undefined || inst.callee !== undefined) return undefined;
  return helperById(inst.helper)?.reference;
}

function isNull(v: Value): boolean {
  return isConstant(v) && v.value === 0n;
}

/**
 * The values that *are* the reference `a`: itself, copies of them, and phis whose incoming
 * values are such values or null (the same reference on every path where it is not null).
 */
function sameReference(a: Instruction): Set<Value> {
  const set = new Set<Value>([a]);
  for (let changed = true; changed; ) {
    changed = false;
    for (const v of [...set]) {
      for (const use of v.uses) {
        const user = use.user;
        if (set.has(user)) continue;
        const joins = user.opcode === "copy" || (user.opcode === "phi" && user.operands.every((o) => set.has(o) || isNull(o)));
        if (joins) {
          set.add(user);
          changed = true;
        }
      }
    }
  }
  return set;
}

/** Values computed from the reference: pointer arithmetic, casts, selects and phis over it. */
function derivedFrom(same: Set<Value>): Set<Value> {
  const set = new Set<Value>(same);
  const work = [...same];
  while (work.length > 0) {
    const v = work.pop()!;
    for (const use of v.uses) {
      const user = use.user;
      if (set.has(user)) continue;
      if (["ptradd", "copy", "phi", "select", "add", "sub", "zext", "trunc", "sext"].includes(user.opcode)) {
        set.add(user);
        work.push(user);
      }
    }
  }
  return set;
}

/** For a condbr on a null test of the reference: the successor index on which it is not null. */
function nonNullEdge(term: Instruction, same: Set<Value>): number | undefined {
  const c = term.operands[0];
  if (!c) return undefined;
  if (same.has(c)) return 0; // condbr %p: true when not null
  if (!isInstruction(c) || (c.opcode !== "eq" && c.opcode !== "ne")) return undefined;
  const [x, y] = c.operands;
  const tested = (same.has(x!) && isNull(y!)) || (same.has(y!) && isNull(x!));
  if (!tested) return undefined;
  return c.opcode === "ne" ? 0 : 1;
}

function releases(inst: Instruction, same: Set<Value>): boolean {
  return referenceKind(inst) === "release" && inst.operands[0] !== undefined && same.has(inst.operands[0]);
}

/** Paths from just after `acquire` on which it stays held. */
function findLeaks(acquire: Instruction, same: Set<Value>, out: ReferenceLeak[]): void {
  const entered = new Set<BasicBlock>();
  const walk = (bb: BasicBlock, from: Instruction | undefined): void => {
    for (let inst = from; inst; inst = inst.next) {
      if (inst === acquire) {
        out.push({ acquire, exit: acquire, again: true });
        return;
      }
      if (releases(inst, same)) return;
      switch (inst.opcode) {
        case "ret":
          out.push({ acquire, exit: inst, again: false });
          return;
        case "unreachable":
          return;
        case "br":
          enter(inst.targets[0]!);
          return;
        case "condbr": {
          const edge = nonNullEdge(inst, same);
          if (edge !== undefined) enter(inst.targets[edge]!);
          else inst.targets.forEach(enter);
          return;
        }
        default:
          break;
      }
    }
    void bb;
  };
  const enter = (bb: BasicBlock): void => {
    if (entered.has(bb)) return;
    entered.add(bb);
    walk(bb, bb.first);
  };
  walk(acquire.block!, acquire.next);
}

/** Uses of the reference after `release`, on any path (until the reference is acquired anew). */
function findUsesAfter(acquire: Instruction, release: Instruction, derived: Set<Value>, out: UseAfterRelease[]): void {
  const entered = new Set<BasicBlock>();
  const walk = (from: Instruction | undefined): void => {
    for (let inst = from; inst; inst = inst.next) {
      if (inst === acquire) return;
      if (!inst.isPhi && inst.operands.some((o) => derived.has(o)) && !derived.has(inst)) {
        out.push({ acquire, release, use: inst });
        return;
      }
      if (inst.isTerminator) inst.targets.forEach(enter);
    }
  };
  const enter = (bb: BasicBlock): void => {
    if (entered.has(bb)) return;
    entered.add(bb);
    walk(bb.first);
  };
  walk(release.next);
}

/** Checks every reference `fn` acquires (see the file comment). */
export function checkReferences(fn: Function): ReferenceProblems {
  const leaks: ReferenceLeak[] = [];
  const usesAfterRelease: UseAfterRelease[] = [];
  for (const bb of fn.blocks) {
    for (const inst of bb) {
      if (referenceKind(inst) !== "acquire") continue;
      const same = sameReference(inst);
      findLeaks(inst, same, leaks);
      const derived = derivedFrom(same);
      for (const user of [...same].flatMap((v) => v.uses.map((u) => u.user))) {
        if (releases(user, same)) findUsesAfter(inst, user, derived, usesAfterRelease);
      }
    }
  }
  return { leaks, usesAfterRelease };
}
