// The packages as people install them: each `npm pack` tarball carries its README, the
// LICENSE, compiled code with types, and source maps whose sources are in the tarball; and
// the tarballs, installed into an empty project without the registry (`npm install
// --offline` of local tarballs only — our packages plus their third-party dependencies
// packed from node_modules), give a working `luabpf` command and library: the READMEs'
// examples type-check against the shipped types and run.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { kernelOrSkip } from "@luabpf/loader";
import { ROOT, example } from "./helpers.js";

interface Workspace {
  dir: string;
  pkg: { name: string; private?: boolean; dependencies?: Record<string, string>; exports?: Record<string, Record<string, string>>; bin?: Record<string, string> };
}

const rootPkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { workspaces: string[] };
const workspaces: Workspace[] = rootPkg.workspaces
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")) }))
  .filter((w) => !w.pkg.private);

/** The README's ```ts blocks. */
function readmeExamples(dir: string): string[] {
  const text = readFileSync(join(ROOT, dir, "README.md"), "utf8");
  return [...text.matchAll(/^```ts\n([^]*?)^```$/gm)].map((m) => m[1]!);
}

describe("npm pack contents", () => {
  const packed = new Map<string, Set<string>>();
  beforeAll(() => {
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", ...workspaces.flatMap((w) => ["-w", w.dir])], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    for (const entry of JSON.parse(out) as { name: string; files: { path: string }[] }[]) packed.set(entry.name, new Set(entry.files.map((f) => f.path)));
  });

  test("every publishable package is packed", () => {
    expect([...packed.keys()].sort()).toEqual(workspaces.map((w) => w.pkg.name).sort());
    expect(workspaces.length).toBeGreaterThanOrEqual(8);
  });

  test.each(workspaces.map((w) => [w.pkg.name, w] as const))("%s has README, LICENSE, code, types and resolvable source maps", (name, w) => {
    const files = packed.get(name)!;
    for (const f of ["README.md", "LICENSE", "package.json", "dist/index.js", "dist/index.d.ts", "src/index.ts"]) expect(files, f).toContain(f);
    expect([...files].some((f) => f.endsWith(".tsbuildinfo"))).toBe(false);
    expect(readFileSync(join(ROOT, w.dir, "LICENSE"), "utf8")).toBe(readFileSync(join(ROOT, "LICENSE"), "utf8"));
    expect(readmeExamples(w.dir).length, "a README example").toBeGreaterThan(0);
    // Entry points named by package.json exist in the tarball.
    for (const conditions of Object.values(w.pkg.exports ?? {})) {
      for (const [condition, target] of Object.entries(conditions)) expect(files, `${condition}: ${target}`).toContain(posix.normalize(target));
    }
    for (const target of Object.values(w.pkg.bin ?? {})) expect(files).toContain(posix.normalize(target));
    // Every source map (code and declarations) points at sources that are in the tarball.
    const maps = [...files].filter((f) => f.endsWith(".map"));
    expect(maps.length).toBeGreaterThan(0);
    for (const map of maps) {
      const json = JSON.parse(readFileSync(join(ROOT, w.dir, map), "utf8")) as { sources: string[]; sourceRoot?: string };
      for (const source of json.sources) {
        const resolved = posix.normalize(posix.join(posix.dirname(map), json.sourceRoot ?? "", source));
        expect(files, `${map} → ${source}`).toContain(resolved);
      }
    }
  });
});

/** The third-party packages our packages need at run time, with their own dependencies and peers. */
function thirdPartyClosure(): string[] {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name) || name.startsWith("@luabpf/") || name === "luabpf") return;
    const manifest = join(ROOT, "node_modules", name, "package.json");
    if (!existsSync(manifest)) return; // an optional dependency for another platform
    seen.add(name);
    const pkg = JSON.parse(readFileSync(manifest, "utf8")) as Record<string, Record<string, string> | undefined>;
    for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) for (const dep of Object.keys(pkg[field] ?? {})) visit(dep);
  };
  for (const w of workspaces) for (const dep of Object.keys(w.pkg.dependencies ?? {})) visit(dep);
  return [...seen].sort();
}

describe("installed from the packed tarballs, offline", () => {
  const dir = mkdtempSync(join(tmpdir(), "luabpf-install-"));
  const app = join(dir, "app");
  const npm = (args: string[], cwd: string) => spawnSync("npm", args, { cwd, encoding: "utf8", env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" } });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(() => {
    const tarballs = join(dir, "tarballs");
    mkdirSync(tarballs);
    const ours = npm(["pack", "--ignore-scripts", "--pack-destination", tarballs, ...workspaces.flatMap((w) => ["-w", w.dir])], ROOT);
    if (ours.status !== 0) throw new Error(`npm pack failed: ${ours.stderr}`);
    for (const name of thirdPartyClosure()) {
      const r = npm(["pack", "--offline", "--ignore-scripts", "--pack-destination", tarballs, join(ROOT, "node_modules", name)], ROOT);
      if (r.status !== 0) throw new Error(`npm pack ${name} failed: ${r.stderr}`);
    }
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true, type: "module" }));
    const files = readdirSync(tarballs).map((f) => join(tarballs, f));
    const install = npm(["install", "--offline", "--ignore-scripts", "--no-package-lock", ...files], app);
    if (install.status !== 0) throw new Error(`npm install --offline failed:\n${install.stderr}`);
  }, 300_000);

  test("the luabpf command runs and compiles (bin and npx --no-install)", () => {
    const bin = join(app, "node_modules/.bin/luabpf");
    expect(existsSync(bin)).toBe(true);
    const version = spawnSync(bin, ["--version"], { cwd: app, encoding: "utf8" });
    expect(version.stdout).toMatch(/^luabpf \d+\.\d+\.\d+\n$/);
    writeFileSync(join(app, "prog.lua"), readFileSync(example("proto-count.lua")));
    const r = spawnSync("npx", ["--no-install", "luabpf", "compile", "prog.lua", "-o", "prog.o"], { cwd: app, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect([...readFileSync(join(app, "prog.o")).subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    // Nothing of the workspace leaked in: the installed copy runs from the app's node_modules.
    expect(readFileSync(join(app, "node_modules/luabpf/package.json"), "utf8")).toMatch(/"name": "luabpf"/);
    expect(existsSync(join(app, "node_modules/luabpf/src"))).toBe(true);
  });

  test.skipIf(!kernelOrSkip())("luabpf run works from the installed copy (koffi and all)", () => {
    const r = spawnSync(join(app, "node_modules/.bin/luabpf"), ["run", "prog.lua", "--packet", "udp,dport=53"], { cwd: app, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^@counts\[17\]: 1$/m);
  });

  test("the READMEs' examples type-check against the shipped types and run", () => {
    const examples = workspaces.flatMap((w) => readmeExamples(w.dir).map((code, i) => ({ name: `${w.dir.replace(/^packages\//, "")}-${i}.ts`, code })));
    const srcDir = join(app, "examples");
    mkdirSync(srcDir);
    for (const e of examples) writeFileSync(join(srcDir, e.name), e.code);
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ["node"],
          typeRoots: [join(ROOT, "node_modules/@types")],
        },
        include: ["examples/*.ts"],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "."], { cwd: app, encoding: "utf8" });
    expect(tsc.stdout + tsc.stderr).toBe("");
    // One process runs them all, one after the other (each is a module of its own).
    const runner = join(srcDir, "run-all.mjs");
    writeFileSync(runner, examples.map((e) => `console.log(${JSON.stringify(e.name)}); await import(${JSON.stringify(`./${e.name}`)});`).join("\n"));
    const r = spawnSync(process.execPath, ["--import", join(ROOT, "node_modules/tsx/dist/esm/index.mjs"), runner], { cwd: app, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual(examples.map((e) => e.name));
    expect(r.status).toBe(0);
  }, 600_000);
});


