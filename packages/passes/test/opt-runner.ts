/**
 * `luabpf opt <path> ...args` in this process, output captured: the runner of the file
 * tests. (The command lives in the `luabpf` package, which depends on this one; tests may
 * use it, as LLVM's tests use the tools built from LLVM.)
 */
import { main } from "luabpf";
import type { OptRunner } from "@luabpf/test-support";

export function optRunner(path: string): OptRunner {
  return async (args) => {
    let stdout = "";
    let stderr = "";
    const status = await main(["opt", path, ...args], {
      stdout: (s) => (stdout += typeof s === "string" ? s : Buffer.from(s).toString("latin1")),
      stderr: (s) => (stderr += s),
      env: {},
    });
    return { status, stdout, stderr };
  };
}
