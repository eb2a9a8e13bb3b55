// The workspace's declared dependencies are the real ones: every package a workspace
// package's sources import is in its `dependencies`, everything in its `dependencies` is
// imported by its sources (statically or with `await import`), every `devDependencies`
// entry is imported by its sources or tests, and what its tests import is declared (or is
// a root development tool). A dependency nothing imports (graphology in passes, zod in ir,
// once) or an import that works only because npm hoisted another package's dependency
// fails here.
import { builtinModules } from "node:module";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const PACKAGES = join(ROOT, "packages");

interface Manifest {
  name: string;
  scripts?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const rootManifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Manifest;

/**
 * Imports a package's tests may make without declaring them: the `luabpf` command, which
 * the file tests of passes and backend-ebpf run (as LLVM's tests run the tools built from
 * LLVM); it depends on those packages, so declaring it would make a cycle.
 */
const TOOL_IMPORTS: ReadonlySet<string> = new Set(["luabpf"]);

/** TypeScript files under `dir` (build output and dependencies excluded). */
function files(dir: string): string[] {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return [];
  return readdirSync(dir).flatMap((name) => {
    if (name === "node_modules" || name === "dist") return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`, `x/y` → `x`). */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

const BUILTINS = new Set(builtinModules);

/** The package whose types `@types/x` (or `@types/scope__x`) carries; other names unchanged. */
function typedPackage(name: string): string {
  if (!name.startsWith("@types/")) return name;
  const bare = name.slice("@types/".length);
  return bare.includes("__") ? `@${bare.replace("__", "/")}` : bare;
}

/** The packages that the import and export statements (not comments) of `paths` name. */
function importedPackages(paths: readonly string[]): Set<string> {
  const out = new Set<string>();
  const statement = /^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/gm;
  for (const path of paths) {
    for (const m of readFileSync(path, "utf8").matchAll(statement)) {
      const specifier = m[1] ?? m[2] ?? m[3]!;
      if (specifier.startsWith(".") || specifier.startsWith("node:") || BUILTINS.has(specifier)) continue;
      out.add(packageOf(specifier));
    }
  }
  return out;
}

const workspaces = readdirSync(PACKAGES)
  .filter((p) => statSync(join(PACKAGES, p, "package.json"), { throwIfNoEntry: false })?.isFile())
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(PACKAGES, dir, "package.json"), "utf8")) as Manifest }));

describe("declared dependencies are the real ones", () => {
  test("there are workspace packages to check", () => expect(workspaces.length).toBeGreaterThanOrEqual(8));
  for (const { dir, manifest } of workspaces) {
    test(manifest.name, () => {
      const deps = new Set(Object.keys(manifest.dependencies ?? {}));
      const devDeps = new Set(Object.keys(manifest.devDependencies ?? {}));
      const fromSrc = importedPackages(files(join(PACKAGES, dir, "src")));
      const fromTests = importedPackages(files(join(PACKAGES, dir, "test")));
      fromSrc.delete(manifest.name);
      fromTests.delete(manifest.name);
      const rootTools = new Set(Object.keys(rootManifest.devDependencies ?? {}));
      expect({
        undeclaredInSources: [...fromSrc].filter((p) => !deps.has(p)).sort(),
        // `@types/x` is used where `x` is (frontend-lua ships luaparse's types: its public types use them).
        unusedDependencies: [...deps].filter((p) => !fromSrc.has(typedPackage(p))).sort(),
        unusedDevDependencies: [...devDeps].filter((p) => !fromSrc.has(p) && !fromTests.has(p)).sort(),
        undeclaredInTests: [...fromTests].filter((p) => !deps.has(p) && !devDeps.has(p) && !rootTools.has(p) && !TOOL_IMPORTS.has(p)).sort(),
      }).toEqual({ undeclaredInSources: [], unusedDependencies: [], unusedDevDependencies: [], undeclaredInTests: [] });
    });
  }

  test("the root's development tools are used", () => {
    const imported = importedPackages(workspaces.flatMap(({ dir }) => [...files(join(PACKAGES, dir, "src")), ...files(join(PACKAGES, dir, "test"))]));
    const scripts = Object.values(rootManifest.scripts ?? {}).join(" ");
    // The root's scripts/*.js (npm run build's bundler, the benchmarks) import tools too.
    const scriptDir = join(ROOT, "scripts");
    const scriptImports = importedPackages(readdirSync(scriptDir).filter((n) => n.endsWith(".js")).map((n) => join(scriptDir, n)));
    const commands: Record<string, string> = { typescript: "tsc" };
    const peers = new Set(
      [...imported].flatMap((p) => {
        const manifest = join(ROOT, "node_modules", p, "package.json");
        return statSync(manifest, { throwIfNoEntry: false }) ? Object.keys((JSON.parse(readFileSync(manifest, "utf8")) as Manifest).peerDependencies ?? {}) : [];
      }),
    );
    const used = (tool: string): boolean =>
      imported.has(tool) ||
      scriptImports.has(tool) ||
      peers.has(tool) ||
      new RegExp(`\\b${commands[tool] ?? tool}\\b`).test(scripts) ||
      (tool.startsWith("@types/") && (tool === "@types/node" || imported.has(tool.slice("@types/".length))));
    expect(Object.keys(rootManifest.devDependencies ?? {}).filter((t) => !used(t))).toEqual([]);
  });
});
