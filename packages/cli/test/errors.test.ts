// Bad input: a located diagnostic with the source line and a caret, exit status 1, no
// stack trace, and no output file left behind.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { cli } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "luabpf-errors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const cases: { name: string; source: string; line: number; col: number; message: RegExp }[] = [
  { name: "syntax", source: "local bpf = require('bpf')\nbpf.socket(function (skb)\n  return 0 +\nend)\n", line: 4, col: 1, message: /unexpected|expected/i },
  { name: "unknown-global", source: "local bpf = require('bpf')\nbpf.socket(function (skb)\n  return frobnicate(1)\nend)\n", line: 3, col: 10, message: /frobnicate/ },
  { name: "unsupported", source: "local bpf = require('bpf')\nbpf.socket(function (skb)\n  local t = {}\n  return 0\nend)\n", line: 3, col: 13, message: /not supported|unsupported/i },
  { name: "bad-map", source: "local bpf = require('bpf')\nlocal m = bpf.map('tree', 16)\nbpf.socket(function (skb) return 0 end)\n", line: 2, col: 19, message: /tree/ },
];

describe("compile errors", () => {
  test.each(cases)("$name: file:line:col, source line and caret, exit 1, no object", async (c) => {
    const src = file(`${c.name}.lua`, c.source);
    const out = join(dir, `${c.name}.o`);
    const r = await cli("compile", src, "-o", out);
    expect(r.code).toBe(1);
    const [first, line, caret] = r.stderr.split("\n");
    expect(first).toMatch(new RegExp(`^${src.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:${c.line}:\\d+: error: `));
    expect(first).toMatch(c.message);
    expect(line).toBe(c.source.split("\n")[c.line - 1]);
    expect(caret).toMatch(/^\s*\^$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  test("the real process prints no stack trace and exits 1", () => {
    const src = file("proc.lua", "local bpf = require('bpf')\nbpf.socket(function (skb)\n  return nope\nend)\n");
    const r = spawnSync(process.execPath, [join(import.meta.dirname, "../bin/luabpf.js"), "compile", src], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/proc\.lua:3:\d+: error: .*nope/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(src.replace(/\.lua$/, ".o"))).toBe(false);
  });

  test("usage errors exit 2 with the usage text", async () => {
    const r = await cli("compile");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage:/);
    expect((await cli("frob", "x.lua")).stderr).toMatch(/unknown command 'frob'/);
  });

  test("a missing input file is bad input (exit 1), one line without the usage text", async () => {
    const r = await cli("compile", join(dir, "missing.lua"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^luabpf: error: cannot read .*missing\.lua: No such file or directory\n$/);
  });
});
