/**
 * Passes from outside: loads an ES module and registers the passes it exports, so that a
 * researcher's pass works in textual pipelines (`--passes`, file-test `run:` lines, the
 * differential tests) without editing `pipelines.ts` (LLVM's `-load-pass-plugin`).
 *
 * A pass module exports, by name or as its default export (alone or in an array):
 * - factories made with `defineFunctionPass`/`defineModulePass` (options and all), or
 * - plain pass objects `{ kind: "function", name, description, run }` (no options).
 * Anything else exported is ignored; a module that exports no pass is an error. The passes
 * are registered with the module's path as their origin (`PassRegistry.registerExternal`),
 * so that an exception or invalid IR from them is reported as their failure.
 */
import { LuabpfError } from "@luabpf/platform/errors";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import type { OptionsSchema, Pass, PassFactory } from "./pass.js";
import type { PassRegistry } from "./registry.js";

/** A pass module that cannot be loaded or exports no usable pass: the user's error. */
export class PassLoadError extends LuabpfError {
  readonly kind = "user" as const;
  readonly category = "pass" as const;
  constructor(
    readonly path: string,
    message: string,
    options?: { cause: unknown },
  ) {
    super(`cannot load passes from ${path}: ${message}`, options);
    this.name = "PassLoadError";
  }
}

function isFactory(x: unknown): x is PassFactory<OptionsSchema> {
  return typeof x === "function" && typeof (x as PassFactory).passName === "string" && typeof (x as PassFactory).schema === "object";
}

function isPassObject(x: unknown): x is Pass {
  const p = x as Pass;
  return typeof x === "object" && x !== null && (p.kind === "function" || p.kind === "module") && typeof p.name === "string" && typeof p.run === "function";
}

/** A factory for a plain pass object: no options, each call a fresh copy. */
function factoryOfObject(pass: Pass): PassFactory<OptionsSchema> {
  const schema = z.object({}).strict();
  const factory = (() => ({ ...pass, options: {} })) as unknown as PassFactory<OptionsSchema>;
  Object.defineProperties(factory, {
    passName: { value: pass.name },
    description: { value: pass.description ?? "" },
    kind: { value: pass.kind },
    schema: { value: schema },
  });
  return factory;
}

/** The pass factories among a module's exports, in export order (the default export first). */
export function passFactoriesOf(exports: Record<string, unknown>): PassFactory<OptionsSchema>[] {
  const candidates: unknown[] = [];
  const add = (v: unknown) => (Array.isArray(v) ? candidates.push(...v) : candidates.push(v));
  if ("default" in exports) add(exports.default);
  for (const [k, v] of Object.entries(exports)) if (k !== "default") add(v);
  const out: PassFactory<OptionsSchema>[] = [];
  const seen = new Set<string>();
  for (const c of candidates) {
    const f = isFactory(c) ? c : isPassObject(c) ? factoryOfObject(c) : undefined;
    if (!f || seen.has(f.passName)) continue;
    seen.add(f.passName);
    out.push(f);
  }
  return out;
}

/**
 * Imports the ES module at `path` (relative to `cwd`) and registers its passes in
 * `registry` with `path` as their origin. Returns the names registered. Throws
 * {@link PassLoadError} when the module cannot be imported, exports no pass, or exports a
 * pass whose name is taken.
 */
export async function loadPassModule(path: string, registry: PassRegistry, cwd: string = process.cwd()): Promise<string[]> {
  const full = isAbsolute(path) ? path : resolve(cwd, path);
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(full).href)) as Record<string, unknown>;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new PassLoadError(path, msg.split("\n")[0]!, { cause: e });
  }
  const factories = passFactoriesOf(exports);
  if (factories.length === 0) {
    throw new PassLoadError(path, "the module exports no pass (export factories made with defineFunctionPass/defineModulePass, or pass objects { kind, name, description, run })");
  }
  for (const f of factories) {
    try {
      registry.registerExternal(path, f);
    } catch (e) {
      throw new PassLoadError(path, (e as Error).message, { cause: e });
    }
  }
  return factories.map((f) => f.passName);
}
