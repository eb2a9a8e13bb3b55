#!/usr/bin/env node
// Builds the `luabpf` command's fast start: packages/cli/dist/luabpf.bundle.js, the command
// and the packages it uses in one minified CommonJS module (esbuild), and luabpf.bundle.cache,
// V8's code cache for it, made after compiling an example so that the functions a compile
// runs are in it. bin/luabpf.js runs the bundle with the cache when both are fresh.
//
// Why (measured with `npm run bench:speed`): start-up is most of what compiling a small program
// costs, and most of start-up was Node resolving, reading and compiling ~700 module files
// (zod alone is ~230), then V8 parsing them; one file removes the first, the code cache most of
// the second. koffi (a native addon) and graphology stay outside, loaded on demand as before.
//
// Runs after `tsc -b` (npm run build, prepare), from the compiled dist/ files. Both outputs are
// written to a temporary name and renamed: a running command never sees half a file. If this
// fails, it says so and removes any old bundle (the command then runs the modules): a fast start
// is not worth a failed `npm ci`.
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import vm from "node:vm";

const root = join(import.meta.dirname, "..");
const dist = join(root, "packages/cli/dist");
const bundlePath = join(dist, "luabpf.bundle.js");
const cachePath = join(dist, "luabpf.bundle.cache");

const writeAtomically = (path, data) => {
  writeFileSync(`${path}.tmp-${process.pid}`, data);
  renameSync(`${path}.tmp-${process.pid}`, path);
};

/**
 * `zod` as the packages use it: `import { z } from "zod"` names zod's whole namespace (every
 * schema kind, JSON Schema conversion, ~60 locales), which a bundler cannot prune: 458 KB of
 * the 1.2 MB bundle, read, deserialised and evaluated by every command. Here `z` is a
 * namespace of what the packages name (`zodNamesUsed` refuses to bundle when a bundled file
 * that imports zod names anything else), taken from the same zod modules, so each schema
 * behaves as with the full import (the English messages are registered by ZodType itself).
 * Passes loaded with `--load-pass` never run in the bundle (bin/luabpf.js).
 *
 * And evaluated on first use: `z`'s members are getters that `require` zod's modules (which
 * esbuild then wraps to be initialised on that call), so a command that checks no options
 * (the built-in passes declare theirs as plain data: passes/src/pass.ts) never evaluates
 * zod (~5 ms of CPU, a few % of a compile process).
 */
const ZOD_USED = ["object", "number", "boolean", "string", "enum", "prettifyError", "ZodType", "ZodObject", "ZodDefault", "ZodPrefault", "ZodOptional", "ZodEnum"];
/** The bundled files that import zod (checked by {@link zodNamesUsed}). */
const zodImporters = new Set();
const zodUsed = {
  name: "zod-used",
  setup(b) {
    const resolveDir = join(root, "node_modules/zod/v4/classic");
    b.onResolve({ filter: /^zod$/ }, (args) => {
      zodImporters.add(args.importer);
      return { path: "zod", namespace: "zod-used" };
    });
    b.onResolve({ filter: /^zod-used:names$/ }, () => ({ path: "names", namespace: "zod-used" }));
    b.onLoad({ filter: /^zod$/, namespace: "zod-used" }, () => ({
      resolveDir,
      contents: `let names;\nconst zod = () => (names ??= require("zod-used:names"));\nexport const z = { ${ZOD_USED.map((n) => `get ${n}() { return zod().${n}; }`).join(", ")} };\n`,
    }));
    b.onLoad({ filter: /^names$/, namespace: "zod-used" }, () => ({
      resolveDir,
      contents: `export { ${ZOD_USED.filter((n) => n !== "prettifyError").join(", ")} } from "./schemas.js";\nexport { prettifyError } from "../core/index.js";\n`,
    }));
  },
};

/** Every `z.NAME` in the bundled files that import zod must be in ZOD_USED (else no bundle). */
function zodNamesUsed() {
  for (const file of zodImporters) {
    for (const [, name] of readFileSync(file, "utf8").matchAll(/\bz\.([A-Za-z_$][\w$]*)/g)) {
      if (!ZOD_USED.includes(name)) throw new Error(`${file} uses z.${name}: add it to ZOD_USED in scripts/bundle-cli.js`);
    }
  }
}

try {
  await bundle();
} catch (e) {
  for (const path of [bundlePath, cachePath]) rmSync(path, { force: true });
  console.warn(`scripts/bundle-cli.js: no bundled luabpf command (it will start from the modules): ${e instanceof Error ? e.message : e}`);
}

async function bundle() {
  const { build } = await import("esbuild");
  const { outputFiles } = await build({
    entryPoints: [join(dist, "main.js")],
    outfile: bundlePath,
    write: false,
    bundle: true,
    minify: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["koffi", "graphology"],
    // import.meta.url (the version's package.json, createRequire of lazily loaded packages) is
    // the bundle's own URL: the same directory as dist/main.js. Made when first asked for (only
    // inside functions: a compile never asks), since pathToFileURL costs ~0.5 ms cold.
    // The version (cli/src/version.ts) as a constant: no package.json to read at start-up.
    define: {
      "import.meta.url": "__luabpfMeta.url",
      LUABPF_BUNDLED_VERSION: JSON.stringify(JSON.parse(readFileSync(join(root, "packages/cli/package.json"), "utf8")).version),
    },
    banner: { js: 'var __luabpfMeta = { get url() { return require("node:url").pathToFileURL(__filename).href; } };' },
    legalComments: "none",
    logLevel: "error",
    plugins: [zodUsed],
  });
  // Written as one function expression taking CommonJS's module parameters: bin/luabpf.js
  // evaluates the file's text as it is (the code cache is only valid for the same text).
  zodNamesUsed();
  const source = `(function (exports, require, module, __filename, __dirname) {${outputFiles[0].text}\n})`;

  // The code cache: run the bundle as bin/luabpf.js does, compile an example, then ask V8.
  const script = new vm.Script(source, { filename: bundlePath });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundlePath), module, bundlePath, dirname(bundlePath));
  const tmp = mkdtempSync(join(tmpdir(), "luabpf-bundle-"));
  try {
    const quiet = { stdout: () => {}, stderr: (s) => process.stderr.write(s), stdin: async () => Buffer.alloc(0), stdoutIsTTY: false, stderrIsTTY: false, env: {} };
    const code = await module.exports.main(["compile", join(root, "examples/proto-count.lua"), "-o", join(tmp, "x.o")], quiet);
    if (code !== 0) throw new Error(`the bundled command failed to compile an example (exit ${code})`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  writeAtomically(bundlePath, source);
  writeAtomically(cachePath, script.createCachedData());
}
