/**
 * A pool of worker processes (worker.ts) that run compiles, object reads and differential
 * tests one task at a time each, so that a crash (the process dies) or a hang (no answer
 * within the timeout; the process is killed by its pid and replaced) is observed and
 * classified instead of taking the tool down.
 *
 * The timeout counts the worker's CPU time (Linux `/proc/PID/stat`), not wall-clock time: on
 * a shared machine a low-priority worker may get a small share of a core, and a compile of a
 * few seconds would otherwise look hung. Wall-clock time is still capped (10 × the timeout).
 *
 * Workers are Node processes running the TypeScript sources through tsx, as the tests do.
 */
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
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
   * A task whose worker spends more CPU time than this is a hang (default 120 s: generous, so
   * that a slow compile shows as slow, not hung); so is one unanswered after 10 × this time.
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
      const cpuAtStart = cpuTimeMs(child.pid);
      const check = (): void => {
        const wall = performance.now() - started;
        const now = cpuTimeMs(child.pid);
        const cpu = now === undefined || cpuAtStart === undefined ? wall : now - cpuAtStart;
        if (cpu >= this.timeoutMs || wall >= 10 * this.timeoutMs) finish({ kind: "hang", ms: wall }, true);
        else timer = setTimeout(check, Math.max(this.timeoutMs - cpu, 1000));
      };
      let timer = setTimeout(check, this.timeoutMs);
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

/** Clock ticks per second of `/proc/PID/stat` (`USER_HZ`, 100 on every Linux architecture Node runs on). */
const USER_HZ = 100;

/** CPU time (user + system) process `pid` has used, or undefined where `/proc` cannot tell. */
export function cpuTimeMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces, inside parentheses): state is
    // field 3, utime field 14, stime field 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}
