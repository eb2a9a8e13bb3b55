// The DWARF of frozen structs (dwarf.ts `sharedBlocks`): a run of type DIEs kept across objects
// and written from a template must give the bytes the DIEs translated one by one give. Generated
// type graphs — typedefs, arrays, bitfields, enums, pointers back to a struct, frozen structs
// inside frozen structs — are written with their structs frozen (the first object keeps a run,
// later ones take it, or translate again where a type of the run is already in the unit) and
// as unfrozen copies of the same graph, which are always translated one by one.
import { describe, expect, it } from "vitest";
import { writeObject, type BpfObject, type BtfType } from "../src/index.js";
import { sharedDieRun } from "../src/dwarf.js";
import { returnZero } from "./fixtures.js";

/** A small deterministic generator (mulberry32). */
function random(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) as number;
  };
}

/** A type graph: some leaves and typedefs, then structs whose members use earlier types (and pointers to any struct). */
function typeGraph(pick: (n: number) => number, tag: string): { structs: BtfType[]; others: BtfType[] } {
  const ints: BtfType[] = [
    { kind: "int", name: "unsigned int", size: 4, signed: false },
    { kind: "int", name: "long long", size: 8, signed: true },
    { kind: "int", name: "char", size: 1, signed: true, char: true },
  ];
  const others: BtfType[] = [...ints];
  for (let i = 0; i < 3; i++) others.push({ kind: "typedef", name: `__u${tag}${i}`, target: ints[pick(ints.length)]! });
  others.push({ kind: "enum", name: `e${tag}`, size: 4, signed: false, values: [{ name: `A${tag}`, value: 1 }, { name: `B${tag}`, value: 2 }] });
  const structs: BtfType[] = [];
  for (let s = 0; s < 4; s++) {
    const members: { name: string; type: BtfType; bitOffset: number; bitSize?: number }[] = [];
    const struct: BtfType = { kind: pick(5) === 0 ? "union" : "struct", name: pick(6) === 0 ? "" : `s${tag}${s}`, size: 64, members };
    const count = 1 + pick(12);
    for (let m = 0; m < count; m++) {
      const choice = pick(6);
      const base = others[pick(others.length)]!;
      const type: BtfType =
        choice === 0 ? { kind: "array", elem: base, count: 1 + pick(4) }
        : choice === 1 && structs.length > 0 ? structs[pick(structs.length)]!
        : choice === 2 ? { kind: "ptr", target: [...structs, struct][pick(structs.length + 1)]! }
        : choice === 3 ? { kind: "const", target: base }
        : base;
      members.push({ name: pick(8) === 0 ? "" : `m${m}`, type, bitOffset: 32 * m, ...(pick(7) === 0 ? { bitSize: 3 } : {}) });
    }
    structs.push(struct);
  }
  return { structs, others };
}

/** A deep copy of `t` (sharing and cycles kept), frozen or not. */
function copier(freeze: boolean): (t: BtfType) => BtfType {
  const copies = new Map<object, object>();
  const copy = <T>(v: T): T => {
    if (typeof v !== "object" || v === null) return v;
    const known = copies.get(v);
    if (known) return known as T;
    const out: Record<string, unknown> | unknown[] = Array.isArray(v) ? [] : {};
    copies.set(v, out);
    for (const [k, x] of Object.entries(v)) (out as Record<string, unknown>)[k] = copy(x);
    return out as T;
  };
  const frozen = new Set<object>();
  const freezeAll = (v: unknown): void => {
    if (typeof v !== "object" || v === null || frozen.has(v)) return;
    frozen.add(v);
    for (const x of Object.values(v)) freezeAll(x);
    Object.freeze(v);
  };
  return (t) => {
    const c = copy(t);
    if (freeze) freezeAll(c);
    return c;
  };
}

/** An object whose programs' prototypes take `params` (each program one), with a line record each. */
function objectWith(params: BtfType[][]): BpfObject {
  return {
    license: "GPL",
    programs: params.map((ps, i) => ({
      name: `p${i}`,
      section: i % 2 ? "xdp" : "socket",
      code: returnZero,
      relocations: [],
      lines: [{ offset: 0, file: "a.lua", line: 1 + i, column: 1, text: `line ${i}` }],
      proto: { kind: "func_proto", ret: { kind: "int", name: "int", size: 4, signed: true }, params: ps.map((type, k) => ({ name: `a${k}`, type })) },
    })),
    maps: [],
    debug: { producer: "test", compDir: "/x" },
  };
}

describe("DWARF of frozen structs kept across objects", () => {
  it("writes the bytes of the DIEs translated one by one, whether a run is kept, taken or translated again", () => {
    let templates = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const pick = random(seed);
      const { structs, others } = typeGraph(pick, String(seed));
      // One copy of the graph per tree: the frozen one's runs are kept by the first object that
      // meets them; the plain one is the reference. Both see the same sequence of objects.
      const frozen = copier(true);
      const plain = copier(false);
      const all = [...structs, ...others];
      const frozenAll = all.map(frozen);
      const plainAll = all.map(plain);
      for (let n = 0; n < 8; n++) {
        // Parameters: pointers to structs, the structs' members' types, in an order that may translate a
        // member type before its struct (then the struct's run does not fit that unit).
        const picks = Array.from({ length: 1 + pick(3) }, () => Array.from({ length: 1 + pick(3) }, () => pick(all.length)));
        const param = (types: BtfType[], k: number): BtfType => (k < structs.length ? { kind: "ptr", target: types[k]! } : types[k]!);
        const a = writeObject(objectWith(picks.map((ks) => ks.map((k) => param(frozenAll, k)))));
        const b = writeObject(objectWith(picks.map((ks) => ks.map((k) => param(plainAll, k)))));
        expect(Buffer.from(a).equals(Buffer.from(b)), `seed ${seed}, object ${n}`).toBe(true);
      }
      for (const s of frozenAll.slice(0, structs.length)) if (sharedDieRun(s) === "template") templates++;
      for (const s of plainAll) expect(sharedDieRun(s)).toBe("none");
    }
    // The generated graphs do exercise the templates.
    expect(templates).toBeGreaterThan(50);
  });
});
