/**
 * `luabpf opt` and the pipeline options of `compile`, through the real command (a `node
 * bin/luabpf.js` process): every option of opt, a deliberately broken pass loaded with
 * --load-pass that --verify-each names and --opt-bisect-limit finds, a pass that throws
 * reported as its own failure, and compile refusing the broken pass's IR before code
 * generation with the pass named.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { haveTool, luabpf, ROOT, run } from "./helpers.js";

const FIX = "packages/cli/test/fixtures"; // relative to ROOT, where luabpf runs
const LOOP = `${FIX}/loop.ir`;
const BROKEN = `${FIX}/break-dominance.js`;
const THROWS = `${FIX}/throwing-pass.js`;
const tmp = mkdtempSync(join(tmpdir(), "luabpf-opt-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PROGRAM = `local bpf = require('bpf')
local counts = bpf.map('array', 4, 'uint32_t', 'uint64_t')
bpf.socket(function (skb)
  local n = skb.len
  local k = 0
  local acc = 0
  while k < 4 do
    acc = acc + n * 3
    k = k + 1
  end
  counts[0] = acc
  return 0
end)
`;

describe("luabpf opt", () => {
  test("--passes: the IR after the passes on standard output; no passes by default", () => {
    const r = luabpf(["opt", LOOP, "--passes", "licm,sccp"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // licm moved the invariant product into the entry block (the preheader); sccp folded @g's constant.
    expect(r.stdout).toMatch(/@bb0:\n  %10 = alloca 4, align 4\n  %11 = alloca 8, align 8\n  %7 = mul i64 %1, 3\n  br @bb1\n/);
    expect(r.stdout).toContain("  %2 = mul i64 %0, 5\n");
    const none = luabpf(["opt", LOOP]);
    expect(none.stdout).toContain("@bb2:\n  %7 = mul i64 %1, 3\n");
    expect(none.stdout).toContain("%1 = add i64 2, 3");
  });

  test("-O2 runs the -O2 pipeline; Lua input goes through the front end; '-' reads IR from standard input", () => {
    const lua = join(tmp, "count.lua");
    writeFileSync(lua, PROGRAM);
    const r = luabpf(["opt", lua, "-O2"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^license "GPL"/);
    expect(r.stdout).toContain('func @socket(ptr.ctx %0) -> i64 section "socket" type socket_filter {');
    const stdin = luabpf(["opt", "-", "--passes", "sccp", "--filter-function", "g"], { input: readFileSync(join(ROOT, LOOP)) });
    expect(stdin.code).toBe(0);
    expect(stdin.stdout).toBe("func @g(i64 %0) -> i64 {\n@bb0:\n  %2 = mul i64 %0, 5\n  ret %2\n}\n");
  });

  test("--verify-each names the broken pass, the function and the rule, with the IR before and after", () => {
    const r = luabpf(["opt", LOOP, "--load-pass", BROKEN, "--passes", "sccp,break-dominance,dce", "--verify-each"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toMatch(/internal error|bug in luabpf/);
    expect(r.stderr).toMatch(/^luabpf: error: pass 'break-dominance' \(from packages\/cli\/test\/fixtures\/break-dominance\.js\) produced invalid IR in function @f:\n\[ssa-dominance\] @f @bb2 %6: operand 1 %7 \(defined in @bb2\) does not dominate its use in @bb2\n/);
    expect(r.stderr).toMatch(/; IR before break-dominance:\n(.*\n)*@bb2:\n  %7 = mul i64 %1, 3\n  %5 = add i64 %2, 1\n  %6 = add i64 %3, %7\n/);
    expect(r.stderr).toMatch(/; IR after break-dominance:\n(.*\n)*@bb2:\n  %6 = add i64 %3, %7\n  %7 = mul i64 %1, 3\n/);
  });

  test("without --verify-each the output is still verified and the breaking pass named", () => {
    const r = luabpf(["opt", LOOP, "--load-pass", BROKEN, "--passes", "sccp,break-dominance,dce"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^luabpf: error: pass 'break-dominance' \(from .*\) produced invalid IR in function @f:/);
  });

  test("--opt-bisect-limit numbers every pass execution and finds the one that breaks the IR", () => {
    const pipeline = ["--load-pass", BROKEN, "--passes", "sccp,gvn,break-dominance,dce", "--verify-each"];
    const all = luabpf(["opt", LOOP, ...pipeline, "--opt-bisect-limit=-1"]);
    expect(all.stderr.split("\n").filter((l) => l.startsWith("BISECT:"))).toEqual([
      "BISECT: running pass (1) sccp on @f",
      "BISECT: running pass (2) sccp on @g",
      "BISECT: running pass (3) gvn on @f",
      "BISECT: running pass (4) gvn on @g",
      "BISECT: running pass (5) break-dominance on @f",
    ]);
    // Bisect: the smallest limit that fails names the culprit's execution.
    let first = -1;
    for (let n = 0; n <= 8 && first < 0; n++) if (luabpf(["opt", LOOP, ...pipeline, "--opt-bisect-limit", String(n)]).code !== 0) first = n;
    expect(first).toBe(5);
    const ok = luabpf(["opt", LOOP, ...pipeline, "--opt-bisect-limit", "4"]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain("BISECT: NOT running pass (5) break-dominance on @f\nBISECT: NOT running pass (6) break-dominance on @g\nBISECT: NOT running pass (7) dce on @f\n");
    expect(luabpf(["opt", LOOP, "--opt-bisect-limit", "x"]).code).toBe(2);
  });

  test("a loaded pass that throws is its own failure, with its name, not an internal error", () => {
    const r = luabpf(["opt", LOOP, "--load-pass", THROWS, "--passes", "null-deref"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("luabpf: error: pass 'null-deref' (from packages/cli/test/fixtures/throwing-pass.js) failed on function @f: Cannot read properties of undefined (reading 'size')\n");
    const missing = luabpf(["opt", LOOP, "--load-pass", `${FIX}/nope.js`, "--passes", "sccp"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^luabpf: error: cannot load passes from packages\/cli\/test\/fixtures\/nope\.js: /);
  });

  test("a pass module outside any project still imports @luabpf/passes (luabpf shares its own)", () => {
    const outside = join(tmp, "outside-pass.js");
    copyFileSync(join(ROOT, BROKEN), outside);
    const r = luabpf(["opt", join(ROOT, LOOP), "--load-pass", outside, "--passes", "break-dominance", "--verify-each"], { cwd: tmp });
    expect(r.stderr).toMatch(/^luabpf: error: pass 'break-dominance' \(from .*outside-pass\.js\) produced invalid IR/);
  });

  test("--print-before/--print-after NAME|all, --filter-function", () => {
    const before = luabpf(["opt", LOOP, "--passes", "sccp,dce", "--print-before", "dce", "--filter-function", "g"]);
    expect(before.stderr).toBe("; *** IR before dce on @g ***\nfunc @g(i64 %0) -> i64 {\n@bb0:\n  %2 = mul i64 %0, 5\n  ret %2\n}\n");
    const after = luabpf(["opt", LOOP, "--passes", "sccp,dce", "--print-after", "all"]);
    expect(after.stderr.split("\n").filter((l) => l.startsWith("; ***"))).toEqual([
      "; *** IR after sccp on @f ***",
      "; *** IR after sccp on @g ***",
      "; *** IR after dce on @f ***",
      "; *** IR after dce on @g ***",
    ]);
    const afterOne = luabpf(["opt", LOOP, "--passes", "sccp,dce,sccp", "--print-after", "sccp", "--filter-function", "g"]);
    expect(afterOne.stderr.split("\n").filter((l) => l.startsWith("; ***"))).toEqual(["; *** IR after sccp on @g ***", "; *** IR after sccp on @g ***"]);
    expect(luabpf(["opt", LOOP, "--passes", "sccp,dce", "--print-after-all"]).stderr).toBe(after.stderr);
    const beforeAll = luabpf(["opt", LOOP, "--passes", "sccp", "--print-before", "all", "--filter-function", "f"]);
    expect(beforeAll.stderr.split("\n").filter((l) => l.startsWith("; ***"))).toEqual(["; *** IR before sccp on @f ***"]);
    expect(beforeAll.stdout).not.toContain("func @g");
    const unknown = luabpf(["opt", LOOP, "--passes", "sccp", "--print-after", "scp"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--print-after: unknown pass 'scp'; valid passes: .*sccp/);
  });

  test("--print-changed prints each change as a diff", () => {
    const r = luabpf(["opt", LOOP, "--passes", "licm,sccp,gvn", "--print-changed"]);
    expect(r.code).toBe(0);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("; ***"))).toEqual(["; *** IR changed by licm on @f ***", "; *** IR changed by sccp on @g ***"]);
    expect(r.stderr).toContain("--- @g before sccp\n+++ @g after sccp\n@@ -1,6 +1,5 @@\n func @g(i64 %0) -> i64 {\n @bb0:\n-  %1 = add i64 2, 3\n-  %2 = mul i64 %0, %1\n+  %2 = mul i64 %0, 5\n   ret %2\n }\n");
  });

  test("--stats and --time-passes", () => {
    const r = luabpf(["opt", LOOP, "--passes", "licm,sccp", "--stats", "--time-passes"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/#0 licm: 2 run\(s\), 1 changed, [\d.]+ ms\n +1  instructions-hoisted\n#1 sccp: 2 run\(s\), 1 changed/);
    expect(r.stderr).toMatch(/Pass execution timing report/);
    expect(r.stderr).toMatch(/\d+\.\d{3} +[\d.]+% +2  #0 licm\n/);
    expect(r.stderr).toMatch(/100\.0% +total\n/);
  });

  test("--emit dot, asm and obj", () => {
    const lua = join(tmp, "emit.lua");
    writeFileSync(lua, PROGRAM);
    const dot = luabpf(["opt", LOOP, "--emit", "dot", "--filter-function", "f"]);
    expect(dot.stdout).toMatch(/^digraph "f" \{\n/);
    expect(dot.stdout.match(/^digraph/gm)).toHaveLength(1);
    expect(dot.stdout).toContain("bb1 -> bb2 [label=\"T\", color=darkgreen];");
    const asm = luabpf(["opt", lua, "--passes", "O2,licm", "--emit", "asm"]);
    expect(asm.code).toBe(0);
    expect(asm.stdout).toMatch(/Disassembly of section socket:\n\n0000000000000000 <socket>:\n/);
    // licm: the multiply by 3 comes before the loop's back edge target.
    const lines = asm.stdout.split("\n");
    expect(lines.findIndex((l) => /\*= 0x3/.test(l))).toBeLessThan(lines.findIndex((l) => /goto -0x/.test(l)));
    const obj = join(tmp, "emit.o");
    const o = luabpf(["opt", lua, "-O2", "--emit", "obj", "-o", obj]);
    expect(o.code).toBe(0);
    expect([...readFileSync(obj).subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    if (haveTool("llvm-objdump-19")) expect(run("llvm-objdump-19", ["-d", obj]).stdout).toContain("<socket>:");
  });

  test("--run FN ARG... runs the function in the interpreter, with maps and helpers", () => {
    const r = luabpf(["opt", LOOP, "--passes", "licm", "--run", "f", "3", "5"]);
    expect(r.code).toBe(0);
    // Without licm the multiply runs in each of the 3 iterations: 2 more instructions.
    expect(r.stdout).toBe("@f(3, 5) = 45\nexecuted 34 instructions\nmap @totals:\n  7: 45\n");
    expect(luabpf(["opt", LOOP, "--run", "f", "3", "5"]).stdout).toBe("@f(3, 5) = 45\nexecuted 36 instructions\nmap @totals:\n  7: 45\n");
    const lua = join(tmp, "run.lua");
    writeFileSync(lua, PROGRAM);
    const p = luabpf(["opt", lua, "-O2", "--run", "socket", "--packet", "tcp,len=100"]);
    expect(p.stdout).toMatch(/^@socket\(ctx\) = 0\nexecuted \d+ instructions\nmap @counts:\n  0: 1200\n/);
    expect(luabpf(["opt", LOOP, "--run", "f", "1"]).stderr).toMatch(/--run: @f takes 2 argument\(s\), 1 given/);
    expect(luabpf(["opt", LOOP, "3"]).code).toBe(2);
  });
});

describe("luabpf compile with the pipeline options", () => {
  test("compile refuses a loaded pass's broken IR before code generation, naming the pass; no object is written", () => {
    const lua = join(tmp, "broken.lua");
    writeFileSync(lua, PROGRAM);
    const out = join(tmp, "broken.o");
    const r = luabpf(["compile", lua, "--load-pass", BROKEN, "--passes", "sccp,break-dominance", "-o", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^luabpf: error: pass 'break-dominance' \(from packages\/cli\/test\/fixtures\/break-dominance\.js\) produced invalid IR in function @socket:\n\[ssa-dominance\]/);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(existsSync(out)).toBe(false);
  });

  test("compile --verify-each, --print-before, --print-changed, --opt-bisect-limit, --time-passes", () => {
    const lua = join(tmp, "opts.lua");
    writeFileSync(lua, PROGRAM);
    const verify = luabpf(["compile", lua, "--load-pass", BROKEN, "--passes", "break-dominance", "--verify-each", "--emit", "ir"]);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(/; IR before break-dominance:\n/);
    const printed = luabpf(["compile", lua, "--passes", "sccp,licm", "--print-before", "licm", "--print-changed", "--emit", "ir", "--opt-bisect-limit", "1", "--time-passes"]);
    expect(printed.code).toBe(0);
    expect(printed.stderr).toContain("BISECT: running pass (1) sccp on @socket\n");
    expect(printed.stderr).toContain("BISECT: NOT running pass (2) licm on @socket\n");
    expect(printed.stderr).not.toContain("IR before licm"); // skipped executions print nothing
    expect(printed.stderr).toMatch(/; \*\*\* IR changed by sccp on @socket \*\*\*\n--- @socket before sccp\n/);
    expect(printed.stderr).toMatch(/Pass execution timing report/);
    expect(printed.stdout).toMatch(/^license "GPL"/);
  });
});
