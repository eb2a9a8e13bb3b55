/**
 * The worker process of the pool (pool.ts): receives tasks over IPC, runs each in process
 * and answers with a classification. Kinds of task:
 *
 * - `compile`: the luabpf driver on a source text (Lua → object, as `luabpf compile`);
 * - `elf`: @luabpf/elf's `readObject` on bytes;
 * - `difftest`: a differential test (difftest.ts).
 *
 * A compile or read ends as `ok`, a `located` error (a CompileError/ElfError whose every
 * diagnostic has a file:line:col — for objects, a clean ElfError), an `unlocated` error (a
 * CompileError with a diagnostic without location), or an `internal` error (an
 * InternalError or any other exception: always a bug).
 */
import { ElfError, readObject } from "@luabpf/elf";
import { CompileError, InternalError } from "@luabpf/ir";
import { compileSource, type RegAllocKind } from "luabpf";
import { difftest, type DiffResult } from "./difftest.js";
import type { ProgramInput } from "./kernel.js";

export type TaskRequest =
  | { readonly id: number; readonly kind: "compile"; readonly source: string; readonly optLevel: 0 | 1 | 2 }
  | { readonly id: number; readonly kind: "elf"; readonly bytes: Uint8Array }
  /** `regalloc`: the register allocator to compile with (default: the compiler's). */
  | { readonly id: number; readonly kind: "difftest"; readonly source: string; readonly inputs: ProgramInput[]; readonly regalloc?: RegAllocKind }
  /** For testing the pool: a worker that hangs, dies, or throws outside any classification. */
  | { readonly id: number; readonly kind: "misbehave"; readonly how: "hang" | "exit" | "killed" };

export type Classification = "ok" | "located" | "unlocated" | "internal";

export type TaskResponse = (
  | { readonly id: number; readonly kind: "classified"; readonly class: Classification; readonly message: string }
  | { readonly id: number; readonly kind: "diff"; readonly result: DiffResult }
) & {
  /** Time spent on the task inside the worker (module loading excluded). */
  readonly ms?: number;
  /** CPU time (user + system) the worker spent on the task: unlike `ms`, independent of the machine's load. */
  readonly cpuMs?: number;
};

/** The first message of a worker: its modules are loaded. */
export const READY = "ready";

/** How a compile or object read ended. */
export function classify(f: () => unknown): { class: Classification; message: string } {
  try {
    f();
    return { class: "ok", message: "" };
  } catch (e) {
    if (e instanceof CompileError) {
      const located = e.diagnostics.length > 0 && e.diagnostics.every((d) => d.location && d.location.line >= 1 && d.location.column >= 1);
      return { class: located ? "located" : "unlocated", message: e.message };
    }
    if (e instanceof ElfError) return { class: "located", message: e.message };
    if (e instanceof InternalError) return { class: "internal", message: e.message };
    const err = e as Error;
    const where = err?.stack?.split("\n").slice(1, 4).map((l) => l.trim()).join(" < ") ?? "";
    return { class: "internal", message: `${err?.name ?? "Error"}: ${err?.message ?? String(e)}${where ? ` at ${where}` : ""}` };
  }
}

export function handle(task: TaskRequest): TaskResponse {
  switch (task.kind) {
    case "compile":
      return { id: task.id, kind: "classified", ...classify(() => compileSource(task.source, { file: "fuzz.lua", optLevel: task.optLevel })) };
    case "elf":
      return { id: task.id, kind: "classified", ...classify(() => readObject(task.bytes)) };
    case "difftest":
      return { id: task.id, kind: "diff", result: difftest(task.source, task.inputs, undefined, task.regalloc ? { regalloc: task.regalloc } : undefined) };
    case "misbehave":
      if (task.how === "exit") process.exit(3);
      if (task.how === "killed") process.kill(process.pid, "SIGKILL"); // as the OOM killer would
      for (;;) {
        // Busy: what a hang in the compiler looks like.
      }
  }
}

if (process.send) {
  process.on("message", (task: TaskRequest) => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    let response: TaskResponse;
    try {
      response = handle(task);
    } catch (e) {
      response = { id: task.id, kind: "classified", class: "internal", message: `worker: ${(e as Error)?.stack ?? String(e)}` };
    }
    const used = process.cpuUsage(cpu);
    process.send!({ ...response, ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 });
  });
  // The pool went away (its process ended): so does the worker.
  process.on("disconnect", () => process.exit(0));
  process.send(READY);
}
