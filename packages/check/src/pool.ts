/**
 * A pool of worker processes (worker.ts) that run compiles, object reads and differential
 * tests one task at a time each, so that a crash (the process dies) or a hang (no answer
 * within the timeout; the process is killed by its pid and replaced) is observed and
 * classified instead of taking the tool down.
 *
 * Workers are Node processes running the TypeScript sources through tsx, as the tests do.
 */
import { fork, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { READY, type TaskRequest, type TaskResponse } from "./worker.js";

/** A task without its id (the pool numbers tasks). */
export type Task = TaskRequest extends infer T ? (T extends TaskRequest ? Omit<T, "id"> : never) : never;

/** What happened to a task. */
export type TaskOutcome =
  | { readonly kind: "done"; readonly response: TaskResponse; readonly ms: number }
  /** The worker process died while running it. */
  | { readonly kind: "crash"; readonly detail: string; readonly ms: number }
  /** No answer within the timeout: the worker was killed. */
  | { readonly kind: "hang"; readonly ms: number };

interface Slot {
  child: ChildProcess;
  /** Resolves when the worker has loaded its modules (its first task is not charged for that). */
  ready: Promise<void>;
  busy: boolean;
}

const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

export interface PoolOptions {
  /** Worker processes (default 2, the machine's cores). */
  readonly workers?: number;
  /**
   * A task that takes longer is a hang (default 120 s: generous, so that a slow compile —
   * seconds on a loaded machine for 10,000-statement programs — shows as slow, not hung).
   */
  readonly timeoutMs?: number;
}

/** A pool of worker processes; call {@link close} when done. */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: ((slot: Slot) => void)[] = [];
  private nextId = 0;
  readonly timeoutMs: number;

  constructor(options: PoolOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 120_000;
    for (let k = 0; k < (options.workers ?? 2); k++) this.slots.push({ ...spawnWorker(), busy: false });
  }

  /** Runs `task` on a free worker. */
  async run(task: Task): Promise<TaskOutcome> {
    const slot = await this.acquire();
    try {
      return await this.runOn(slot, { ...task, id: this.nextId++ } as TaskRequest);
    } finally {
      slot.busy = false;
      const next = this.waiting.shift();
      if (next) {
        slot.busy = true;
        next(slot);
      }
    }
  }

  /** Stops every worker. */
  close(): void {
    for (const s of this.slots) {
      s.child.removeAllListeners();
      s.child.kill("SIGKILL");
    }
  }

  private acquire(): Promise<Slot> {
    const free = this.slots.find((s) => !s.busy);
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private async runOn(slot: Slot, request: TaskRequest): Promise<TaskOutcome> {
    await slot.ready;
    const started = performance.now();
    const child = slot.child;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: TaskOutcome, replace: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
        if (replace) {
          child.removeAllListeners();
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
          Object.assign(slot, spawnWorker());
        }
        resolve(outcome);
      };
      const onMessage = (m: TaskResponse): void => {
        if (m.id === request.id) finish({ kind: "done", response: m, ms: m.ms ?? performance.now() - started }, false);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
        finish({ kind: "crash", detail: `worker exited (${signal ?? `code ${code}`})`, ms: performance.now() - started }, true);
      const timer = setTimeout(() => finish({ kind: "hang", ms: performance.now() - started }, true), this.timeoutMs);
      child.on("message", onMessage);
      child.once("exit", onExit);
      if (child.exitCode !== null || child.signalCode !== null || !child.connected) {
        onExit(child.exitCode, child.signalCode);
        return;
      }
      child.send(request);
    });
  }
}

function spawnWorker(): { child: ChildProcess; ready: Promise<void> } {
  const child = fork(WORKER, [], {
    execArgv: ["--import", TSX, "--conditions=@luabpf/source", "--max-old-space-size=2048"],
    serialization: "advanced",
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  // Drain stderr so that a chatty worker cannot block; keep nothing. A send to a worker
  // that just died reports an error event: its exit is what counts.
  child.stderr?.resume();
  child.on("error", () => undefined);
  const ready = new Promise<void>((resolve) => {
    const onReady = (m: unknown): void => {
      if (m !== READY) return;
      child.off("message", onReady);
      resolve();
    };
    child.on("message", onReady);
    // A worker that dies while loading is replaced by the task that finds it dead.
    child.once("exit", () => resolve());
  });
  return { child, ready };
}
