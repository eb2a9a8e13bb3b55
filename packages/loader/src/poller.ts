// Waiting for kernel event buffers without polling: one epoll instance watches the ring buffer
// and perf buffer descriptors, and epoll_wait blocks on a libuv worker thread (libc.ts
// epollWaitAsync), so the JavaScript thread is free until a buffer has data.
//
// Descriptors are registered edge-triggered (EPOLLET): a reader drains its buffer completely
// before it waits again, so it needs to hear only about data that arrived after that, and a
// reader that is slow to ask for more does not make epoll_wait return in a loop. An edge that
// arrives while nobody waits is remembered (`pending`) and satisfies the next wait at once.
//
// The blocking call runs only while some reader waits; close() and the last waiter going away
// wake it through an eventfd, so no worker thread stays blocked and the process can exit.
// Every reader of a process shares one Poller (sharedPoller) so that many buffers occupy one
// worker thread, not one each (libuv has four by default, also used by fs and dns).
import { closeSync } from "node:fs";
import { Os, epollCreate, epollCtl, epollWaitAsync, eventfdCreate, eventfdDrain, eventfdSignal } from "./libc.js";

interface Waiter {
  resolve: () => void;
}

/** An epoll set whose waits run off the JavaScript thread. */
export class Poller {
  private readonly epfd: number;
  private readonly wakeFd: number;
  private readonly watched = new Set<number>();
  private readonly pending = new Set<number>();
  private readonly waiters = new Map<number, Waiter[]>();
  private running: Promise<void> | undefined;
  private closed = false;

  constructor() {
    this.epfd = epollCreate();
    try {
      this.wakeFd = eventfdCreate();
      epollCtl(this.epfd, Os.EPOLL_CTL_ADD, this.wakeFd, Os.EPOLLIN, this.wakeFd);
    } catch (error) {
      closeSync(this.epfd);
      throw error;
    }
  }

  /** Number of descriptors being watched. */
  get size(): number {
    return this.watched.size;
  }

  /** Starts watching `fd` for readability. */
  watch(fd: number): void {
    if (this.closed) throw new Error("poller is closed");
    epollCtl(this.epfd, Os.EPOLL_CTL_ADD, fd, Os.EPOLLIN | Os.EPOLLET, fd);
    this.watched.add(fd);
    // Data may already be there: report it once, so the first wait does not block on it.
    this.pending.add(fd);
  }

  /** Stops watching `fd` (before the caller closes it) and releases anyone waiting on it. */
  unwatch(fd: number): void {
    if (!this.watched.delete(fd)) return;
    try {
      epollCtl(this.epfd, Os.EPOLL_CTL_DEL, fd, 0, fd);
    } catch {
      // Already closed: epoll forgot it by itself.
    }
    this.pending.delete(fd);
    this.release(fd);
    this.wake();
  }

  /**
   * Resolves when any of `fds` has become readable since it was last reported (at once if one
   * already has), or when one of them is unwatched or the poller closes.
   */
  wait(fds: readonly number[]): Promise<void> {
    for (const fd of fds) {
      if (this.pending.delete(fd) || !this.watched.has(fd)) return Promise.resolve();
    }
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      let done = false;
      const waiter: Waiter = {
        resolve: () => {
          if (done) return;
          done = true;
          for (const fd of fds) {
            const list = this.waiters.get(fd);
            if (!list) continue;
            const index = list.indexOf(waiter);
            if (index >= 0) list.splice(index, 1);
            if (list.length === 0) this.waiters.delete(fd);
          }
          resolve();
        },
      };
      for (const fd of fds) {
        const list = this.waiters.get(fd) ?? [];
        list.push(waiter);
        this.waiters.set(fd, list);
      }
      this.run();
    });
  }

  /** Wakes every waiter, stops the worker, closes the epoll and eventfd descriptors. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const fd of [...this.waiters.keys()]) this.release(fd);
    this.wake();
    await this.running;
    closeSync(this.wakeFd);
    closeSync(this.epfd);
  }

  private release(fd: number): void {
    for (const waiter of [...(this.waiters.get(fd) ?? [])]) waiter.resolve();
  }

  private wake(): void {
    if (this.running) eventfdSignal(this.wakeFd);
  }

  private run(): void {
    if (this.running || this.closed) return;
    this.running = (async () => {
      try {
        while (!this.closed && this.waiters.size > 0) {
          const events = await epollWaitAsync(this.epfd, 64, -1);
          for (const event of events) {
            if (event.data === this.wakeFd) {
              eventfdDrain(this.wakeFd);
              continue;
            }
            if (!this.watched.has(event.data)) continue;
            if (this.waiters.has(event.data)) this.release(event.data);
            else this.pending.add(event.data);
          }
        }
      } finally {
        this.running = undefined;
      }
    })();
  }
}

let shared: { poller: Poller; users: number } | undefined;

/** The process's shared Poller; every acquire must be paired with {@link releaseSharedPoller}. */
export function acquireSharedPoller(): Poller {
  if (!shared) shared = { poller: new Poller(), users: 0 };
  shared.users++;
  return shared.poller;
}

/** Releases the shared Poller; the last release closes it (and its descriptors). */
export async function releaseSharedPoller(poller: Poller): Promise<void> {
  if (!shared || shared.poller !== poller) return;
  shared.users--;
  if (shared.users > 0) return;
  shared = undefined;
  await poller.close();
}
