// The documentation works: every `@example` in the TSDoc of the packages' sources is a
// complete program that runs (against the built packages, as a user would import them),
// the key APIs have examples, and the typedoc site builds without a warning with the guides
// of docs/ as pages next to every package's API.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { ROOT } from "./helpers.js";

interface Example {
  /** file:line of the `@example` tag. */
  where: string;
  /** The declaration the comment documents. */
  documents: string;
  code: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** The ```ts blocks after `@example` tags in the doc comments of `file`. */
function examplesOf(file: string): Example[] {
  const text = readFileSync(file, "utf8");
  const out: Example[] = [];
  for (const m of text.matchAll(/\/\*\*([^]*?)\*\/\s*(?:export\s+)?(?:declare\s+)?(?:abstract\s+)?(?:class|function|const|interface|type)\s+([A-Za-z_$][\w$]*)/g)) {
    const comment = m[1]!.split("\n").map((l) => l.replace(/^\s*\* ?/, ""));
    comment.forEach((line, i) => {
      if (!line.startsWith("@example")) return;
      const start = comment.indexOf("```ts", i);
      const end = comment.indexOf("```", start + 1);
      if (start < 0 || end < 0) return;
      const line0 = text.slice(0, m.index).split("\n").length;
      out.push({ where: `${relative(ROOT, file)}:${line0 + i}`, documents: m[2]!, code: comment.slice(start + 1, end).join("\n") + "\n" });
    });
  }
  return out;
}

/** The published packages (not the private test and check packages). */
const packages = readdirSync(join(ROOT, "packages")).filter(
  (p) => existsSync(join(ROOT, "packages", p, "src/index.ts")) && !JSON.parse(readFileSync(join(ROOT, "packages", p, "package.json"), "utf8")).private,
);
const examples = packages.flatMap((p) => sourceFiles(join(ROOT, "packages", p, "src")).flatMap(examplesOf));

describe("API examples", () => {
  test("the Builder, CFG helpers, analyses, pass manager, passes, object writer and driver have examples", () => {
    const documented = new Set(examples.map((e) => e.documents));
    for (const name of ["Builder", "splitEdge", "DominatorTree", "PassManager", "defineFunctionPass", "writeObject", "compileSource"]) expect(documented, name).toContain(name);
  });

  // Written inside the repository, so that package names resolve as in an installed project
  // (through node_modules to each package's built entry point, not its sources).
  const dir = join(ROOT, "packages/cli/test/.doc-examples");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("every @example runs", () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const names = examples.map((e, i) => {
      const name = `${String(i).padStart(2, "0")}-${e.documents}.ts`;
      writeFileSync(join(dir, name), `// ${e.where}\n${e.code}`);
      return name;
    });
    const runner = join(dir, "run-all.mjs");
    writeFileSync(runner, names.map((n) => `console.log(${JSON.stringify(n)}); await import(${JSON.stringify(`./${n}`)});`).join("\n"));
    const r = spawnSync(process.execPath, ["--import", join(ROOT, "node_modules/tsx/dist/esm/index.mjs"), runner], { cwd: dir, encoding: "utf8" });
    const ran = r.stdout.trim().split("\n");
    const failed = examples[ran.length - 1];
    expect(r.stderr, failed ? `example of ${failed.documents} (${failed.where})` : "").toBe("");
    expect(ran).toEqual(names);
    expect(r.status).toBe(0);
  });
});

describe("typedoc site", () => {
  const out = join(ROOT, "packages/cli/test/.typedoc-out");
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test("builds without warnings, with the guides and every package", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules/typedoc/bin/typedoc"), "--out", out, "--logLevel", "Warn"], { cwd: ROOT, encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
    const config = JSON.parse(readFileSync(join(ROOT, "typedoc.json"), "utf8")) as { projectDocuments: string[]; entryPoints: string[] };
    // Every guide in docs/ is a page of the site.
    const guides = readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md"));
    expect(config.projectDocuments.map((d) => d.replace(/^docs\//, "")).sort()).toEqual(guides.sort());
    for (const g of guides) expect(existsSync(join(out, "documents", g.replace(/\.md$/, ".html"))), g).toBe(true);
    // Every package with an index is documented, with its README as its page.
    expect(config.entryPoints.map((e) => e.replace(/^packages\//, "")).sort()).toEqual(packages.sort());
    const builder = readFileSync(join(out, "classes/_luabpf_ir.Builder.html"), "utf8");
    expect(builder).toMatch(/Example/);
    expect(builder).toContain("interpret");
    const index = readFileSync(join(out, "modules/_luabpf_elf.html"), "utf8");
    expect(index).toMatch(/Writes and reads eBPF relocatable ELF objects/);
  }, 900_000);
});
