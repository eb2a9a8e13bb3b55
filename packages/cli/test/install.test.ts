// The `luabpf` command as a user gets it: `npm ci` must link the workspace bin, which it does
// only when package-lock.json records it (a bin added to package.json alone links nothing on
// a fresh clone). CI also runs `npx --no-install luabpf --version` on its clean clone.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { ROOT } from "./helpers.js";

const json = (file: string): any => JSON.parse(readFileSync(join(ROOT, file), "utf8"));

test("package-lock.json records the cli's bin exactly as its package.json declares it", () => {
  const pkg = json("packages/cli/package.json");
  const lock = json("package-lock.json");
  expect(pkg.bin).toEqual({ luabpf: "bin/luabpf.js" });
  expect(lock.packages["packages/cli"].bin).toEqual(pkg.bin);
});

test("npx runs the local luabpf command and never asks the registry", () => {
  expect(existsSync(join(ROOT, "node_modules/.bin/luabpf"))).toBe(true);
  const pkg = json("packages/cli/package.json");
  // --no-install: if the local bin were missing npx would fail here instead of downloading.
  const r = spawnSync("npx", ["--no-install", "luabpf", "--version"], { cwd: ROOT, encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(r.stdout.trim()).toBe(`luabpf ${pkg.version}`);
});
