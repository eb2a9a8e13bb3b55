// The command's fast start (scripts/bundle-cli.js, bin/luabpf.js): after a bundle is built,
// the command starts from it, and it behaves exactly as the compiled modules do — the same
// object bytes for every example, the same listing, the same located error and exit status.
// Not timed: how fast it starts is `npm run bench:speed`'s business.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { example, luabpf, ROOT } from "./helpers.js";

const examples = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".lua")).sort();
const bundled = (args: string[]) => luabpf(args, { env: { LUABPF_SHOW_START: "1" } });
const modules = (args: string[]) => luabpf(args, { env: { LUABPF_SHOW_START: "1", LUABPF_NO_BUNDLE: "1" } });

describe("the bundled command", () => {
  beforeAll(() => {
    const r = spawnSync(process.execPath, [join(ROOT, "scripts/bundle-cli.js")], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  test("starts from the bundle once built, from the modules when told or with --load-pass", () => {
    expect(bundled(["--version"]).stderr).toBe("luabpf: starting from the bundle\n");
    expect(modules(["--version"]).stderr).toBe("luabpf: starting from the modules\n");
    const loadPass = bundled(["opt", join(ROOT, "packages/cli/test/fixtures/loop.ir"), "--load-pass", join(ROOT, "examples/passes/merge-returns.js")]);
    expect(loadPass.stderr).toBe("luabpf: starting from the modules\n");
    expect(loadPass.code).toBe(0);
  });

  test("the code cache is accepted as built, and a refused one is said (the bundle still runs)", () => {
    const start = (nodeArgs: string[]) =>
      spawnSync(process.execPath, [...nodeArgs, join(ROOT, "packages/cli/bin/luabpf.js"), "--version"], { encoding: "utf8", env: { ...process.env, LUABPF_SHOW_START: "1" } });
    expect(start([]).stderr).toBe("luabpf: starting from the bundle\n");
    // A V8 flag the cache was not made under changes V8's flag hash: the cache is refused.
    const refused = start(["--no-opt"]);
    expect(refused.stderr).toMatch(/^luabpf: starting from the bundle\nluabpf: V8 rejected the bundle's code cache/);
    expect(refused.stdout).toMatch(/^luabpf \d/);
    expect(refused.status).toBe(0);
  });

  test("the same objects and listings as the modules for every example", () => {
    const dir = mkdtempSync(join(tmpdir(), "luabpf-bundle-"));
    try {
      for (const emit of ["obj", "asm"]) {
        for (const [how, run] of [["bundle", bundled], ["modules", modules]] as const) {
          const r = run(["compile", ...examples.map(example), "--emit", emit, "-o", join(dir, how, emit)]);
          expect(r.code, r.stderr).toBe(0);
        }
        const outputs = readdirSync(join(dir, "bundle", emit)).sort();
        expect(outputs).toHaveLength(examples.length);
        expect(readdirSync(join(dir, "modules", emit)).sort()).toEqual(outputs);
        for (const f of outputs) {
          const a = readFileSync(join(dir, "bundle", emit, f));
          expect(a.length).toBeGreaterThan(0);
          expect(Buffer.compare(a, readFileSync(join(dir, "modules", emit, f))), f).toBe(0);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the same located error, exit status and version", () => {
    const bad = ["compile", "-", "-o", "-"];
    const input = "local bpf = require('bpf')\nbpf.socket(function (skb)\n  return skb.nosuchfield\nend)\n";
    const a = luabpf(bad, { input, env: { LUABPF_SHOW_START: "1" } });
    const b = luabpf(bad, { input, env: { LUABPF_SHOW_START: "1", LUABPF_NO_BUNDLE: "1" } });
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/^luabpf: starting from the bundle\n<stdin>:3:\d+: error: /);
    expect(a.stderr.replace("the bundle", "the modules")).toBe(b.stderr);
    expect(bundled(["--version"]).stdout).toBe(modules(["--version"]).stdout);
  });

  test("the same pass option errors and pass help (the bundle carries only the zod it uses)", () => {
    for (const args of [
      ["compile", example("proto-count.lua"), "--passes", "dce(aggressive=3),if-convert(speculate=-1),unroll(bogus=1)", "-o", "-"],
      ["help", "compile"],
    ]) {
      const a = bundled(args);
      const b = modules(args);
      expect(a.stderr).toMatch(/^luabpf: starting from the bundle\n/);
      expect(a.code).toBe(b.code);
      expect(a.stdout).toBe(b.stdout);
      expect(a.stderr.replace("the bundle", "the modules")).toBe(b.stderr);
    }
    expect(bundled(["compile", example("proto-count.lua"), "--passes", "dce(aggressive=3)", "-o", "-"]).stderr).toMatch(/option 'aggressive': .*expected boolean/);
  });
});

test("the commands load a package on demand through src/lazy/, never the package itself", () => {
  // `await import("@luabpf/ir")` would make the bundle build ir's whole namespace object (a
  // getter per export) at every start (src/lazy/elf.ts says why).
  const src = join(ROOT, "packages/cli/src");
  const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  expect(files.length).toBeGreaterThan(20);
  const offenders = files.filter((f) => /\bimport\(\s*["']@luabpf\//.test(readFileSync(join(src, f), "utf8").replace(/import\("@luabpf\/[\w-]+"\)\.[A-Z]\w*/g, "")));
  expect(offenders).toEqual([]);
});
