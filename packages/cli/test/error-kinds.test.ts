// The command line decides exit statuses from the error's kind (user or internal) and
// category, declared by each error class on the one base of @luabpf/platform/errors —
// not from class names.
import { IsaError, JumpRangeError } from "@luabpf/backend-ebpf";
import { ElfError } from "@luabpf/elf";
import { CompileError, InternalError, InterpError } from "@luabpf/ir";
import { CDeclError, TracepointFormatError } from "@luabpf/frontend-lua";
import { BpfError, CoreError, LoaderError, PacketSpecError, VerifierError } from "@luabpf/loader";
import { PassError, PassLoadError, PipelineError } from "@luabpf/passes";
import { isLuabpfError } from "@luabpf/platform/errors";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { IoError, KernelUnavailableError, UsageError } from "../src/errors.js";
import { exitStatusOf } from "../src/main.js";

describe("every error class says whose fault it is", () => {
  test.each([
    ["CompileError", new CompileError({ severity: "error", message: "x" }), "user", "compile", 1],
    ["InterpError", new InterpError("trap"), "user", "compile", 1],
    ["ElfError", new ElfError("bad section"), "user", "kernel", 1],
    ["BpfError", new BpfError(0, 1), "user", "kernel", 1],
    ["VerifierError", new VerifierError(5, 13, "log"), "user", "verifier", 1],
    ["LoaderError", new LoaderError("no type"), "user", "kernel", 1],
    ["PacketSpecError", new PacketSpecError("bad packet"), "user", "kernel", 1],
    ["PassLoadError", new PassLoadError("/x.js", "exports no pass"), "user", "pass", 1],
    ["PipelineError", new PipelineError("nope", ["unknown pass"]), "user", "usage", 2],
    ["UsageError", new UsageError("bad option"), "user", "usage", 2],
    ["IoError", new IoError("/x", "read", "ENOENT", "No such file or directory"), "user", "io", 1],
    ["KernelUnavailableError", new KernelUnavailableError("no bpf(2)"), "user", "kernel", 1],
    ["CDeclError", new CDeclError("unexpected character '@'", 4), "user", "compile", 1],
    ["TracepointFormatError", new TracepointFormatError("tracepoint a/b: format file: no `field:` lines"), "user", "kernel", 1],
    ["CoreError", new CoreError("program p: CO-RE relocation 0: no enumerator 3"), "user", "kernel", 1],
    ["InternalError", new InternalError("broken"), "internal", "internal", 70],
    ["IsaError", new IsaError("bad opcode"), "internal", "internal", 70],
    ["JumpRangeError", new JumpRangeError("too far", 40000), "internal", "internal", 70],
  ] as const)("%s", (_name, error, kind, category, status) => {
    expect(isLuabpfError(error)).toBe(true);
    expect(error.kind).toBe(kind);
    expect(error.category).toBe(category);
    expect(exitStatusOf(error)).toBe(status);
  });

  test("a pass error is the user's when the pass was theirs or the cause was bad input, luabpf's otherwise", () => {
    expect(new PassError("p", "f", undefined, { cause: new Error("boom") }, "/my/pass.js").kind).toBe("user");
    expect(new PassError("p", "f", undefined, { cause: new CompileError({ severity: "error", message: "bad" }) }).kind).toBe("user");
    const bug = new PassError("gvn", "f", undefined, { cause: new TypeError("undefined is not a function") });
    expect(bug.kind).toBe("internal");
    expect(exitStatusOf(bug)).toBe(70);
  });

  test("anything else is an internal error", () => {
    expect(exitStatusOf(new TypeError("x is undefined"))).toBe(70);
    expect(exitStatusOf("a string")).toBe(70);
  });
});

test("no source file dispatches on an error's class name", () => {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const offenders: string[] = [];
  for (const pkg of readdirSync(root)) {
    const src = join(root, pkg, "src");
    if (!existsSync(src)) continue;
    for (const file of readdirSync(src, { recursive: true, encoding: "utf8" })) {
      if (!file.endsWith(".ts")) continue;
      const text = readFileSync(join(src, file), "utf8");
      if (/\.name\s*[!=]==?\s*["'`]\w*(Error|Rejection)["'`]/.test(text)) offenders.push(`${pkg}/src/${file}`);
    }
  }
  expect(offenders).toEqual([]);
});

test("a real luabpf process: an internal error exits 70 with one line asking for a report, the stack only with LUABPF_DEBUG", () => {
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  const out = join(mkdtempSync(join(tmpdir(), "luabpf-fault-")), "x.o");
  const fault = fileURLToPath(new URL("./fixtures/internal-fault.mjs", import.meta.url));
  const bin = join(root, "packages/cli/bin/luabpf.js");
  const env = (extra: Record<string, string> = {}) => ({ ...process.env, LUABPF_NO_BUNDLE: "1", NO_COLOR: "1", ...extra });
  const args = ["--import", fault, bin, "compile", join(root, "examples/proto-count.lua"), "-o", out];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", env: env() });
  expect(r.status).toBe(70);
  expect(r.stderr).toMatch(/^luabpf: error: internal error: .*injected fault: Module\.getFunction is broken.* \(this is a bug in luabpf; please report it with the input that caused it\)\n$/);
  expect(existsSync(out)).toBe(false);
  const json = spawnSync(process.execPath, [...args, "--diagnostics-format=json"], { encoding: "utf8", env: env() });
  expect(json.status).toBe(70);
  expect(JSON.parse(json.stderr.trim())).toMatchObject({ severity: "error", category: "internal" });
  const debug = spawnSync(process.execPath, args, { encoding: "utf8", env: env({ LUABPF_DEBUG: "1" }) });
  expect(debug.status).toBe(70);
  expect(debug.stderr).toMatch(/\n\s+at .*internal-fault\.mjs/);
});
