/**
 * `--load-pass FILE`: loads a researcher's pass module into a registry (see
 * `loadPassModule` in @luabpf/passes for what a module may export).
 *
 * A pass module usually imports `@luabpf/passes` (for `defineFunctionPass`, the analyses)
 * and perhaps `@luabpf/ir` or `zod`. A module kept outside any project that installs
 * luabpf (say in /tmp) could not resolve those names, so the command line registers a
 * module-resolution hook (`node:module` `register`) that falls back, for exactly these
 * names, to the copies luabpf itself uses — which also gives the pass the same classes
 * (`Preserved`, analysis keys) as the pass manager running it. A name the module resolves
 * by itself is left alone.
 */
import { register } from "node:module";
import type { PassRegistry } from "@luabpf/passes";

/** The bare specifiers a pass module may import from luabpf's own installation. */
const SHARED = ["@luabpf/passes", "@luabpf/ir", "@luabpf/platform", "zod"];

const HOOK = `
let shared = {};
export function initialize(data) { shared = data; }
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    const url = shared[specifier];
    if (url) return { url, shortCircuit: true };
    throw e;
  }
}`;

let hooked = false;

/**
 * Registers the resolution fallback once per process — not when this module runs from its
 * TypeScript source (in-process tests under vitest, which resolves modules on its own).
 */
function shareLuabpfModules(): void {
  if (hooked || import.meta.url.endsWith(".ts")) return;
  hooked = true;
  const urls: Record<string, string> = {};
  for (const name of SHARED) {
    try {
      urls[name] = import.meta.resolve(name);
    } catch {
      // not installed next to the CLI: nothing to share
    }
  }
  register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: urls });
}

/** Loads the passes of the module at `path` (relative to the working directory) into `registry`. */
export async function loadPasses(path: string, registry: PassRegistry): Promise<string[]> {
  shareLuabpfModules();
  const { loadPassModule } = await import("./lazy/passes.js");
  return loadPassModule(path, registry);
}
