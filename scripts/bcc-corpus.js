#!/usr/bin/env node
// `npm run corpus:bcc -- <bcc checkout>`: how many programs of bcc's own Lua corpus luabpf
// compiles (and, with --load, how many the kernel verifier accepts). Nothing of bcc is
// part of this repository: point the script at a local copy of iovisor/bcc (or set
// BCC_DIR). The corpus is
//   - every kernel program of examples/lua/*.lua that uses require('bpf') — each file is
//     compiled unchanged, and its programs count as compiled when the file compiles;
//   - every `compile { input = function ... end }` of src/lua/bpf/spec/codegen_spec.lua,
//     the program of compile_spec.lua and the function decoder_spec.lua decodes.
// A spec program is a bare function in a test harness, so it is wrapped into a file: the
// harness's mock maps (`makemap(...)`, a table with `__map = true`) become `bpf.map(...)`
// declarations, the locals of its test case are kept, and the function is declared with
// bcc's `local prog = bpf(function ... end)` form. --verbose prints each failure.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import luaparse from "luaparse";
import { compileSource } from "../packages/cli/dist/driver.js";

const args = process.argv.slice(2);
const verbose = args.includes("--verbose");
const load = args.includes("--load");
const keep = args.includes("--keep");
const dir = args.find((a) => !a.startsWith("--")) ?? process.env.BCC_DIR;
if (!dir || !existsSync(join(dir, "src/lua/bpf/spec"))) {
  console.error("usage: npm run corpus:bcc -- <path to an iovisor/bcc checkout> [--verbose] [--load] [--keep]");
  process.exit(2);
}
const parse = (text) => luaparse.parse(text, { ranges: true, locations: true, luaVersion: "LuaJIT", encodingMode: "pseudo-latin1" });

/** Each corpus entry: a name, the Lua source luabpf gets, and how many programs it holds. */
const entries = [];

// ---- examples ----
const exampleDir = join(dir, "examples/lua");
for (const f of readdirSync(exampleDir).filter((x) => x.endsWith(".lua")).sort()) {
  const text = readFileSync(join(exampleDir, f), "utf8");
  if (!/require\(\s*["']bpf["']\s*\)/.test(text)) continue;
  const programs = (text.match(/bpf\.(socket|kprobe|uprobe|tracepoint)\s*\(/g) ?? []).length;
  entries.push({ name: `examples/lua/${f}`, source: text, programs });
}

// ---- spec programs ----
const HEADER = "local ffi = require('ffi')\nlocal bpf = require('bpf')\n";

/** `makemap(type, n, k, v)` → `bpf.map(type, n, k, v)`; a mock map table → `bpf.map('hash', ...)`. */
function declarationOf(text, stmt) {
  const src = text.slice(stmt.range[0], stmt.range[1]);
  if (stmt.type !== "LocalStatement") return undefined;
  const init = stmt.init[0];
  if (init?.type === "TableConstructorExpression" && init.fields.some((fl) => fl.key?.name === "__map")) {
    const field = (name) => {
      const fl = init.fields.find((x) => x.key?.name === name);
      return fl ? text.slice(fl.value.range[0], fl.value.range[1]) : "nil";
    };
    return `local ${stmt.variables[0].name} = bpf.map('hash', ${field("max_entries")}, ${field("key_type")}, ${field("val_type")})`;
  }
  return src.replace(/\bmakemap\s*\(/, "bpf.map(");
}

function specPrograms(file) {
  const text = readFileSync(join(dir, "src/lua/bpf/spec", file), "utf8");
  const out = [];
  const visit = (node, locals, title) => {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node)) return node.forEach((n) => visit(n, locals, title));
    // it('title', function () ... end): the locals before compile { } belong to the case.
    if (node.type === "CallExpression" && node.base.type === "Identifier" && node.base.name === "it") {
      const t = node.arguments[0]?.type === "StringLiteral" ? node.arguments[0].raw.slice(1, -1) : title;
      const body = node.arguments[1]?.body ?? [];
      const caseLocals = [];
      for (const stmt of body) {
        const decl = declarationOf(text, stmt);
        if (decl && !/\bbpf\b\s*=\s*require|\bffi\b\s*=\s*require/.test(decl)) caseLocals.push(decl);
        visit(stmt, [...locals, ...caseLocals], t);
      }
      return;
    }
    if (node.type === "TableCallExpression" && node.base.type === "Identifier" && node.base.name === "compile") {
      const input = node.arguments.fields.find((f) => f.key?.name === "input");
      if (input) out.push({ title, fn: text.slice(input.value.range[0], input.value.range[1]), locals });
      return;
    }
    // compile_spec: bpf(function () ... end)
    if (node.type === "CallExpression" && node.base.type === "Identifier" && node.base.name === "bpf" && node.arguments[0]?.type === "FunctionDeclaration") {
      out.push({ title, fn: text.slice(node.arguments[0].range[0], node.arguments[0].range[1]), locals });
      return;
    }
    // decoder_spec: local f = function (x) ... end, handed to the decoder
    if (file === "decoder_spec.lua" && node.type === "LocalStatement" && node.init[0]?.type === "FunctionDeclaration") {
      out.push({ title: "decoded function", fn: text.slice(node.init[0].range[0], node.init[0].range[1]), locals });
      return;
    }
    for (const [k, v] of Object.entries(node)) if (k !== "loc" && k !== "range") visit(v, locals, title);
  };
  visit(parse(text).body, [], file);
  return out.map((p, i) => ({
    name: `spec/${file}#${i + 1} ${p.title}`,
    source: `${HEADER}${p.locals.join("\n")}\nlocal prog = bpf(${p.fn})\n`,
    programs: 1,
  }));
}
for (const file of ["codegen_spec.lua", "compile_spec.lua", "decoder_spec.lua"]) entries.push(...specPrograms(file));

// ---- compile (and load) ----
let loader;
if (load) loader = await import("../packages/loader/dist/index.js");
const tmp = keep ? mkdtempSync(join(tmpdir(), "bcc-corpus-")) : undefined;
let total = 0;
let compiled = 0;
let loaded = 0;
const failures = [];
for (const e of entries) {
  total += e.programs;
  if (tmp) writeFileSync(join(tmp, e.name.replace(/[^A-Za-z0-9_.-]+/g, "_") + ".lua"), e.source);
  let result;
  try {
    result = compileSource(e.source, { file: e.name, optLevel: 2 });
  } catch (err) {
    failures.push(`${e.name}: ${String(err.message).split("\n")[0]}`);
    continue;
  }
  compiled += e.programs;
  if (loader) {
    try {
      loader.loadObject(result.object).close();
      loaded += e.programs;
    } catch (err) {
      failures.push(`${e.name}: compiled, but loading failed: ${String(err.message).split("\n")[0]}`);
    }
  }
}
if (verbose) for (const f of failures) console.log(f);
if (tmp) console.log(`sources written to ${tmp}`);
console.log(`bcc Lua corpus: ${compiled} of ${total} programs compile${load ? `, ${loaded} load into the kernel` : ""}`);
if (!keep && tmp) rmSync(tmp, { recursive: true, force: true });
