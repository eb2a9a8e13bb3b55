/**
 * The local side of CO-RE relocations: the module's relocations (kernel C types and access
 * paths by member name) → `.BTF.ext` records (a BTF type and libbpf's access string).
 *
 * The local types are *pruned*, like a C struct declared with only the members a program
 * uses and `__attribute__((preserve_access_index))`: each record keeps its name, size and
 * the members some relocation of the module reaches (at their real offsets, in their
 * original order), so an object that reads `task->real_parent->tgid` carries a two-member
 * `struct task_struct`, not the kernel's thousands of types. libbpf matches members by
 * name, so the access strings index the pruned member lists. Types the paths only pass
 * by (a pointer's target) become forward declarations.
 *
 * Two passes: every path of the module marks the members it uses (through anonymous
 * members, as C finds a name), then each relocation's BTF and access string are built
 * from the marks, so relocations sharing a root share one BTF record.
 */
import type { BtfType, ObjectCoreRelocation } from "@luabpf/elf";
import { CTypeTranslator } from "./btf.js";
import { cResolve, InternalError, type CMember, type CoreRelocation, type CRecord, type CType } from "@luabpf/ir";
import { coreReloKindsOf } from "@luabpf/platform";

const FIELD_KINDS: ReadonlySet<string> = coreReloKindsOf("field");
const ENUM_KINDS: ReadonlySet<string> = coreReloKindsOf("enumval");

/** One step of a resolved path: a member (by index in its record's full member list) or an array element. */
type Step = { record: CRecord; index: number } | { element: number };

/**
 * The member `name` of `record` as C finds it: directly, or inside anonymous struct/union
 * members (their indices come first in the chain).
 */
function findMemberChain(record: CRecord, name: string): { record: CRecord; index: number }[] | undefined {
  const members = record.members ?? [];
  for (const [index, m] of members.entries()) {
    if (m.name === name) return [{ record, index }];
  }
  for (const [index, m] of members.entries()) {
    if (m.name !== undefined || m.bitSize !== undefined) continue;
    const inner = cResolve(m.type);
    if (inner.kind !== "struct" && inner.kind !== "union") continue;
    const chain = findMemberChain(inner, name);
    if (chain) return [{ record, index }, ...chain];
  }
  return undefined;
}

function describe(t: CType): string {
  const r = cResolve(t);
  if (r.kind === "struct" || r.kind === "union" || r.kind === "enum") return `${r.kind} ${r.tag ?? "(anonymous)"}`;
  return r.kind;
}

/** The steps of a field relocation's path from its root (the root index, then members and elements). */
function resolvePath(r: CoreRelocation): { rootIndex: number; steps: Step[] } {
  let path = r.path;
  let rootIndex = 0;
  if (typeof path[0] === "number") {
    rootIndex = path[0];
    path = path.slice(1);
  }
  const steps: Step[] = [];
  let current: CType = r.type;
  for (const step of path) {
    const t = cResolve(current);
    if (typeof step === "number") {
      if (t.kind !== "array") throw new InternalError(`CO-RE ${r.name}: [${step}] applied to ${describe(t)}`);
      steps.push({ element: step });
      current = t.element;
      continue;
    }
    if (t.kind !== "struct" && t.kind !== "union") throw new InternalError(`CO-RE ${r.name}: .${step} applied to ${describe(t)}`);
    if (t.members === undefined) throw new InternalError(`CO-RE ${r.name}: ${describe(t)} is only known by name (its members are needed)`);
    const chain = findMemberChain(t, step);
    if (!chain) throw new InternalError(`CO-RE ${r.name}: ${describe(t)} has no member ${step}`);
    steps.push(...chain);
    const last = chain[chain.length - 1]!;
    current = (last.record.members as readonly CMember[])[last.index]!.type;
  }
  return { rootIndex, steps };
}

/** Builds the local BTF and access strings of a module's CO-RE relocations. */
export class CoreLocalTypes extends CTypeTranslator {
  /** Members used, per record (indices into the record's full member list). */
  private readonly used = new Map<CRecord, Set<number>>();
  private readonly resolved = new Map<CoreRelocation, { rootIndex: number; steps: Step[] }>();

  constructor(relocations: readonly CoreRelocation[]) {
    super();
    for (const r of relocations) {
      if (!FIELD_KINDS.has(r.kind)) continue;
      const resolved = resolvePath(r);
      this.resolved.set(r, resolved);
      for (const step of resolved.steps) {
        if (!("record" in step)) continue;
        let set = this.used.get(step.record);
        if (!set) this.used.set(step.record, (set = new Set()));
        set.add(step.index);
      }
    }
  }

  /** The `.BTF.ext` record of relocation `r` for the instruction at byte `offset`. */
  objectRelocation(r: CoreRelocation, offset: number): ObjectCoreRelocation {
    // field kinds start from the struct itself, as clang's records do, even when named through a typedef
    const type = this.ofC(FIELD_KINDS.has(r.kind) ? cResolve(r.type) : r.type);
    if (ENUM_KINDS.has(r.kind)) {
      const e = cResolve(r.type);
      const name = r.path[0];
      const index = e.kind === "enum" && typeof name === "string" ? [...(e.values ?? new Map()).keys()].indexOf(name) : -1;
      if (index < 0) throw new InternalError(`CO-RE ${r.name}: ${describe(r.type)} has no enumerator ${String(name)}`);
      return { offset, kind: r.kind, type, access: String(index) };
    }
    const resolved = this.resolved.get(r);
    if (!resolved) return { offset, kind: r.kind, type, access: "0" };
    const indices = [resolved.rootIndex];
    for (const step of resolved.steps) {
      if ("element" in step) indices.push(step.element);
      else indices.push(this.prunedIndex(step.record, step.index));
    }
    return { offset, kind: r.kind, type, access: indices.join(":") };
  }

  private prunedIndex(record: CRecord, index: number): number {
    return [...this.used.get(record)!].sort((a, b) => a - b).indexOf(index);
  }

  protected intOf(t: Extract<CType, { kind: "int" }>): BtfType {
    return { kind: "int", name: t.name, size: t.size, signed: t.signed, ...(t.bool ? { bool: true } : {}) };
  }

  /** Records keep only the members relocations use. */
  protected override keptMembers(record: CRecord): readonly number[] {
    return [...(this.used.get(record) ?? [])].sort((x, y) => x - y);
  }

  /** Function types are kept as empty prototypes (nothing relocates against their signature). */
  protected override readonly functionSignatures = false;

  /** A pointer's target: records the module reaches keep their pruned form, others become forward declarations. */
  protected override pointee(t: CType): BtfType {
    const r = cResolve(t);
    if ((r.kind === "struct" || r.kind === "union") && !this.used.has(r) && r.tag !== undefined) {
      return { kind: "fwd", name: r.tag, union: r.kind === "union" };
    }
    if (r.kind === "struct" || r.kind === "union") return this.ofC(r);
    return this.ofC(t);
  }

}
