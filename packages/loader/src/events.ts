// Event streams: what ring buffer and perf buffer readers have in common. A stream is an async
// iterator of records; `next()` drains the kernel buffer into a queue when the queue is empty
// and waits on the Poller only when the buffer was empty too (ringbuf.ts and perfbuf.ts
// implement the draining). Records are copied out of the shared memory before the consumer
// position moves, so a record stays valid after the kernel reuses its space.
import type { BtfType } from "@luabpf/elf";
import { decodeValue, type CValue } from "./btf-value.js";
import { acquireSharedPoller, releaseSharedPoller, type Poller } from "./poller.js";

/** One record read from a ring buffer or perf event array. */
export interface EventRecord {
  /** The map it came from. */
  readonly map: string;
  /** The CPU whose perf buffer held it (perf event arrays only). */
  readonly cpu: number | undefined;
  /** The record's bytes (perf samples are padded to 8 bytes by the kernel, minus 4). */
  readonly data: Uint8Array;
  /** The record decoded by its C type, when the stream knows one. */
  readonly value: CValue | undefined;
}

/** Options shared by the readers. */
export interface EventStreamOptions {
  /** The C type of records; default the map's declared record type. */
  recordType?: BtfType;
  /** The Poller to wait with; default the process's shared one. */
  poller?: Poller;
}

/** An async iterator of a buffer's records; close() (or leaving a for-await loop) releases it. */
export abstract class EventStream implements AsyncIterableIterator<EventRecord> {
  /** Records the kernel reports as lost (perf buffers that overflowed); ring buffers report none. */
  lost = 0;
  /** Records read so far. */
  received = 0;
  /** Records drained but not yet returned: `queue[queueHead..]` (an index, since shift() is O(n)). */
  private queue: EventRecord[] = [];
  private queueHead = 0;
  protected closed = false;
  private poller: Poller | undefined;
  private readonly givenPoller: Poller | undefined;
  private readonly recordType: BtfType | undefined;

  protected constructor(
    readonly map: string,
    recordType: BtfType | undefined,
    poller: Poller | undefined,
  ) {
    this.recordType = recordType;
    this.givenPoller = poller;
  }

  /** The descriptors to wait on. */
  protected abstract get descriptors(): readonly number[];

  /** Moves every complete record the kernel has published into `out`; returns how many. */
  protected abstract drain(out: (cpu: number | undefined, data: Uint8Array) => void): number;

  /** Unmaps and closes the stream's own resources (descriptors are unwatched first). */
  protected abstract release(): void;

  /**
   * Starts watching the descriptors; subclasses call it last in their constructor, so that a
   * constructor that fails has acquired no poller.
   */
  protected startWatching(): void {
    this.poller = this.givenPoller ?? acquireSharedPoller();
    for (const fd of this.descriptors) this.poller.watch(fd);
  }

  /** Records available now, without waiting (and without touching the queue of `next`). */
  readAvailable(): EventRecord[] {
    const out = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    if (!this.closed) this.drain((cpu, data) => out.push(this.record(cpu, data)));
    return out;
  }

  private record(cpu: number | undefined, data: Uint8Array): EventRecord {
    this.received++;
    let value: CValue | undefined;
    if (this.recordType) {
      try {
        value = decodeValue(this.recordType, data);
      } catch {
        value = undefined; // a record shorter than its type: the bytes are still there
      }
    }
    return { map: this.map, cpu, data, value };
  }

  async next(): Promise<IteratorResult<EventRecord>> {
    for (;;) {
      if (this.queueHead < this.queue.length) {
        const queued = this.queue[this.queueHead++]!;
        if (this.queueHead === this.queue.length) {
          this.queue = [];
          this.queueHead = 0;
        }
        return { value: queued, done: false };
      }
      if (this.closed) return { value: undefined, done: true };
      if (this.drain((cpu, data) => this.queue.push(this.record(cpu, data))) > 0) continue;
      await this.poller!.wait(this.descriptors);
    }
  }

  async return(): Promise<IteratorResult<EventRecord>> {
    await this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<EventRecord> {
    return this;
  }

  /** Stops reading: wakes a pending `next()` (which then ends), unmaps and closes everything. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const poller = this.poller;
    if (poller) for (const fd of this.descriptors) poller.unwatch(fd);
    this.release();
    if (poller && !this.givenPoller) await releaseSharedPoller(poller);
  }
}
