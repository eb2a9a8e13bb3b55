/**
 * Linking at the IR level (`luabpf compile --link a.lua b.lua -o both.o`): the modules of
 * several inputs become one module, hence one object, as `bpftool gen object` links
 * clang's objects.
 *
 * - Maps are merged by name: the same name must mean the same map (kind, key and value
 *   types, max_entries, flags), which then exists once in the object and is shared by
 *   every program; different declarations under one name are an error naming both files.
 * - Struct types are merged by name the same way.
 * - Functions keep their names; a name taken by an earlier input gets a numeric suffix
 *   (`socket_2`), and calls inside its own module follow the rename.
 * - The license is the first input's; inputs with different licenses are an error.
 */
import { CompileError, type DataType, type Diagnostic, type MapDecl, type Module } from "@luabpf/ir";

/** A module with the name of the file it came from (for messages). */
export interface LinkInput {
  file: string;
  module: Module;
}

function describeType(t: DataType): string {
  switch (t.kind) {
    case "int":
      return `i${t.bits}`;
    case "struct":
      return `struct ${t.name}`;
    case "array":
      return `${describeType(t.element)}[${t.count}]`;
  }
}

function describeMap(m: MapDecl): string {
  return `${m.kind}, key ${describeType(m.key)}, value ${describeType(m.value)}, max_entries ${m.maxEntries}${m.flags ? `, flags ${m.flags}` : ""}`;
}

function sameType(a: DataType, b: DataType): boolean {
  if (a.kind !== b.kind || a.size !== b.size) return false;
  if (a.kind === "int") return b.kind === "int" && a.bits === b.bits;
  if (a.kind === "array") return b.kind === "array" && a.count === b.count && sameType(a.element, b.element);
  if (b.kind !== "struct" || a.name !== b.name || a.fields.length !== b.fields.length) return false;
  return a.fields.every((f, i) => f.name === b.fields[i]!.name && f.offset === b.fields[i]!.offset && sameType(f.type, b.fields[i]!.type));
}

function sameMap(a: MapDecl, b: MapDecl): boolean {
  return a.kind === b.kind && a.maxEntries === b.maxEntries && a.flags === b.flags && sameType(a.key, b.key) && sameType(a.value, b.value);
}

/**
 * Links `inputs` into the first input's module (which is returned; the others are
 * consumed). Throws a {@link CompileError} listing every conflict.
 */
export function linkModules(inputs: readonly LinkInput[]): Module {
  const [first, ...rest] = inputs;
  if (!first) throw new RangeError("linkModules needs at least one module");
  const into = first.module;
  const problems: Diagnostic[] = [];
  const mapOrigin = new Map(into.maps.map((m) => [m.name, first.file]));
  const structOrigin = new Map(into.structs.map((s) => [s.name, first.file]));
  const taken = new Set(into.functions.map((f) => f.name));
  for (const { file, module } of rest) {
    if (module.license !== into.license) {
      problems.push({ severity: "error", message: `${file} has license '${module.license}' but ${first.file} has '${into.license}'` });
    }
    for (const m of module.maps) {
      const existing = into.getMap(m.name);
      if (!existing) {
        into.addMap(m);
        mapOrigin.set(m.name, file);
      } else if (!sameMap(existing, m)) {
        problems.push({
          severity: "error",
          message: `map '${m.name}' is declared differently in ${mapOrigin.get(m.name)} (${describeMap(existing)}) and in ${file} (${describeMap(m)})`,
        });
      }
    }
    for (const s of module.structs) {
      const existing = into.getStruct(s.name);
      if (!existing) {
        into.addStruct(s);
        structOrigin.set(s.name, file);
      } else if (!sameType(existing, s)) {
        problems.push({ severity: "error", message: `struct '${s.name}' is defined differently in ${structOrigin.get(s.name)} and in ${file}` });
      }
    }
    for (const [name, text] of module.sources) if (!into.sources.has(name)) into.sources.set(name, text);
    const renamed = new Map<string, string>();
    for (const fn of module.functions) {
      let name = fn.name;
      for (let n = 2; taken.has(name); n++) name = `${fn.name}_${n}`;
      taken.add(name);
      if (name !== fn.name) renamed.set(fn.name, name);
    }
    for (const fn of module.functions) {
      if (renamed.size > 0) {
        for (const inst of fn.instructions()) if (inst.callee !== undefined && renamed.has(inst.callee)) inst.callee = renamed.get(inst.callee);
      }
      fn.name = renamed.get(fn.name) ?? fn.name;
      into.functions.push(fn);
    }
  }
  if (problems.length > 0) throw new CompileError(problems);
  return into;
}
