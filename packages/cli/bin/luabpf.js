#!/usr/bin/env node
// The `luabpf` command. Start-up is most of what compiling a small program costs, so when
// scripts/bundle-cli.js has built dist/luabpf.bundle.js (the command in one file) and its V8
// code cache, and they are at least as new as the compiled packages, this evaluates the bundle
// with the cache. Otherwise — `tsc -b` ran after the bundle was built, there is no bundle,
// LUABPF_NO_BUNDLE=1, or `--load-pass`, whose passes must share the command's @luabpf/*
// module instances — it imports the compiled modules, dist/main.js. LUABPF_SHOW_START=1 says
// which on standard error.
import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const PACKAGES = ["platform", "ir", "passes", "backend-ebpf", "elf", "frontend-lua", "loader", "cli"];
const bundle = fileURLToPath(new URL("../dist/luabpf.bundle.js", import.meta.url));

function bundleIsFresh() {
  if (process.env.LUABPF_NO_BUNDLE === "1") return false;
  if (process.argv.some((a) => a === "--load-pass" || a.startsWith("--load-pass="))) return false;
  let built;
  try {
    built = Math.min(statSync(bundle).mtimeMs, statSync(`${bundle.slice(0, -3)}.cache`).mtimeMs);
  } catch {
    return false;
  }
  for (const name of PACKAGES) {
    try {
      if (statSync(new URL(`../../${name}/dist/.tsbuildinfo`, import.meta.url)).mtimeMs > built) return false;
    } catch {
      // an installed package (no workspace build info): nothing rebuilds it
    }
  }
  return true;
}

const fresh = bundleIsFresh();
if (process.env.LUABPF_SHOW_START === "1") process.stderr.write(`luabpf: starting from ${fresh ? "the bundle" : "the modules"}\n`);
if (fresh) {
  const script = new vm.Script(readFileSync(bundle, "utf8"), { filename: bundle, cachedData: readFileSync(`${bundle.slice(0, -3)}.cache`) });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, fileURLToPath(new URL("../dist", import.meta.url)));
} else {
  await import("../dist/main.js");
}
