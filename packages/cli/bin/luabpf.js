#!/usr/bin/env node
// The `luabpf` command. Start-up is most of what compiling a small program costs, so when
// scripts/bundle-cli.js has built dist/luabpf.bundle.js (the command in one file) and its V8
// code cache, and they are at least as new as the compiled packages, this evaluates the bundle
// with the cache. Otherwise — `tsc -b` ran after the bundle was built, there is no bundle,
// LUABPF_NO_BUNDLE=1, or `--load-pass`, whose passes must share the command's @luabpf/*
// module instances — it imports the compiled modules, dist/main.js. LUABPF_SHOW_START=1 says
// which on standard error, and whether V8 refused the code cache (made by another Node, or
// under other V8 flags: the bundle then still runs, compiled as it goes, ~2x slower to start).
//
// This file is CommonJS (bin/package.json says so): Node starts a CommonJS entry point
// without setting up its ES module loader, which costs about a tenth of an empty Node's
// start-up (measured: `node empty.mjs` vs `node empty.cjs`, pairwise); the bundle is
// CommonJS too, so a compile never needs that loader. The bundle gets this file's own
// `require` (it resolves node:* and the external packages from the same package directory
// as one made for the bundle would): node:module and node:url stay unloaded (~1 ms cold).
"use strict";
const { readFileSync, statSync } = require("node:fs");
const { join } = require("node:path");

const PACKAGES = ["platform", "ir", "passes", "backend-ebpf", "elf", "frontend-lua", "loader", "cli"];
const dist = join(__dirname, "../dist");
const bundle = join(dist, "luabpf.bundle.js");

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
      if (statSync(join(__dirname, `../../${name}/dist/.tsbuildinfo`)).mtimeMs > built) return false;
    } catch {
      // an installed package (no workspace build info): nothing rebuilds it
    }
  }
  return true;
}

const fresh = bundleIsFresh();
const show = process.env.LUABPF_SHOW_START === "1";
if (show) process.stderr.write(`luabpf: starting from ${fresh ? "the bundle" : "the modules"}\n`);
if (fresh) {
  const { Script } = require("node:vm");
  const script = new Script(readFileSync(bundle, "utf8"), { filename: bundle, cachedData: readFileSync(`${bundle.slice(0, -3)}.cache`) });
  if (show && script.cachedDataRejected) process.stderr.write("luabpf: V8 rejected the bundle's code cache (another Node or other V8 flags; `npm run build` remakes it)\n");
  const loaded = { exports: {} };
  script.runInThisContext()(loaded.exports, require, loaded, bundle, dist);
} else {
  import(require("node:url").pathToFileURL(join(dist, "main.js")).href);
}
