/**
 * The SMT solver behind the superoptimizer's proofs: Debian's `z3` binary, given an
 * SMT-LIB query on standard input (`z3 -in -smt2`). Only the offline search needs it; the
 * compiler never does.
 */
import { execFileSync, spawnSync } from "node:child_process";

/** The solver's version line, or undefined when `z3` is not installed. */
export function z3Version(): string | undefined {
  const r = spawnSync("z3", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** z3's answer to `query` (`sat`, `unsat` or `unknown`), with a timeout in seconds. */
export function solve(query: string, timeoutSeconds = 20): "sat" | "unsat" | "unknown" {
  const out = execFileSync("z3", ["-in", "-smt2", `-T:${timeoutSeconds}`], { input: query, encoding: "utf8" }).trim();
  const first = out.split("\n")[0];
  if (first === "sat" || first === "unsat") return first;
  return "unknown";
}
