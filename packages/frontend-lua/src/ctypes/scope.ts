/**
 * Scopes of C names: struct/union/enum tags, typedef names and integer constants (enum
 * values and `static const` integers). A file's `ffi.cdef` declarations go into one scope
 * whose parent is the built-in scope: the fixed-width and kernel integer types every
 * eBPF program expects (`uint32_t`, `u64`, `__be16`, `size_t`, `pid_t`, ...), as LuaJIT's
 * FFI and the kernel headers define them.
 */
import { C_INTS, cTypedefOf, type CEnum, type CInt, type CRecord, type CType } from "@luabpf/ir";

export type CTagged = CRecord | CEnum;

/** A named integer constant with its type. */
export interface CConstant {
  readonly value: bigint;
  readonly type: CType;
}

export class CScope {
  private readonly tags = new Map<string, CTagged>();
  private readonly typedefs = new Map<string, CType>();
  private readonly constants = new Map<string, CConstant>();

  constructor(readonly parent?: CScope) {}

  lookupTag(name: string): CTagged | undefined {
    return this.tags.get(name) ?? this.parent?.lookupTag(name);
  }
  /** The tag declared in this scope itself (not in a parent). */
  ownTag(name: string): CTagged | undefined {
    return this.tags.get(name);
  }
  defineTag(name: string, t: CTagged): void {
    this.tags.set(name, t);
  }

  lookupTypedef(name: string): CType | undefined {
    return this.typedefs.get(name) ?? this.parent?.lookupTypedef(name);
  }
  ownTypedef(name: string): CType | undefined {
    return this.typedefs.get(name);
  }
  defineTypedef(name: string, t: CType): void {
    this.typedefs.set(name, t);
  }

  lookupConstant(name: string): CConstant | undefined {
    return this.constants.get(name) ?? this.parent?.lookupConstant(name);
  }
  ownConstant(name: string): CConstant | undefined {
    return this.constants.get(name);
  }
  defineConstant(name: string, c: CConstant): void {
    this.constants.set(name, c);
  }
}

function fixedWidth(): [string, CInt][] {
  const pairs: [string, CInt][] = [];
  const u = { 1: C_INTS["unsigned char"], 2: C_INTS["unsigned short"], 4: C_INTS["unsigned int"], 8: C_INTS["unsigned long long"] } as const;
  const s = { 1: C_INTS["signed char"], 2: C_INTS.short, 4: C_INTS.int, 8: C_INTS["long long"] } as const;
  for (const size of [1, 2, 4, 8] as const) {
    const bits = size * 8;
    pairs.push([`uint${bits}_t`, u[size]], [`int${bits}_t`, s[size]]);
    pairs.push([`u${bits}`, u[size]], [`s${bits}`, s[size]], [`__u${bits}`, u[size]], [`__s${bits}`, s[size]]);
    if (size > 1) pairs.push([`__be${bits}`, u[size]], [`__le${bits}`, u[size]]);
  }
  pairs.push(
    ["size_t", C_INTS["unsigned long"]],
    ["ssize_t", C_INTS.long],
    ["uintptr_t", C_INTS["unsigned long"]],
    ["intptr_t", C_INTS.long],
    ["ptrdiff_t", C_INTS.long],
    ["wchar_t", C_INTS.int],
    ["bool", C_INTS._Bool],
    ["pid_t", C_INTS.int],
    ["uid_t", C_INTS["unsigned int"]],
    ["gid_t", C_INTS["unsigned int"]],
    ["off_t", C_INTS.long],
    ["time_t", C_INTS.long],
    ["__wsum", C_INTS["unsigned int"]],
    ["__sum16", C_INTS["unsigned short"]],
  );
  return pairs;
}

let builtinScope: CScope | undefined;

/** The scope of predefined C names (shared, never modified after creation). */
export function builtinCScope(): CScope {
  if (!builtinScope) {
    builtinScope = new CScope();
    for (const [name, t] of fixedWidth()) builtinScope.defineTypedef(name, cTypedefOf(name, t));
  }
  return builtinScope;
}
