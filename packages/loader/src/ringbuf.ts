// Reading a BPF ring buffer (BPF_MAP_TYPE_RINGBUF, Linux 5.8+) from user space, the protocol of
// kernel/bpf/ringbuf.c and libbpf's ringbuf.c:
//
//   mmap(fd, offset 0, 1 page, read/write)          consumer page: consumer_pos u64 at 0
//   mmap(fd, offset page, page + 2 * size, read)    producer page: producer_pos u64 at 0,
//                                                   then the data pages, mapped twice in a row
//                                                   so a record that wraps is contiguous
//
// Each record starts with an 8-byte header: u32 len (bit 31 BUSY: still being written, bit 30
// DISCARD: dropped by the program) and u32 page offset, then len bytes, padded to 8. The reader
// walks from consumer_pos to producer_pos, stops at a BUSY record, and publishes its new
// consumer_pos after each record so the kernel can reuse the space.
//
// Lost records: the kernel counts none. A program learns of a full buffer from
// bpf_ringbuf_reserve/output failing and must count that itself (the throughput benchmark does).
import type { BtfType } from "@luabpf/elf";
import { MapType } from "@luabpf/platform";
import { LoaderError } from "./errors.js";
import { EventStream, type EventStreamOptions } from "./events.js";
import { Os, memoryView, mmapShared, munmap, pageSize } from "./libc.js";

const BUSY_BIT = 0x80000000;
const DISCARD_BIT = 0x40000000;
const HEADER_SIZE = 8;

/** The map fields a ring buffer reader needs (a MapHandle has them). */
export interface RingBufferMap {
  readonly name: string;
  readonly fd: number;
  readonly type: number;
  readonly maxEntries: number;
  readonly recordType?: BtfType | undefined;
}

/** An async iterator over the records of a ring buffer map. */
export class RingBufferReader extends EventStream {
  private readonly fd: number;
  private readonly size: number;
  private readonly page: number;
  private readonly consumerAddress: bigint;
  private readonly producerAddress: bigint;
  private readonly consumer: BigUint64Array;
  private readonly producer: BigUint64Array;
  private readonly data: Uint8Array;
  /** The data pages as 32-bit words, for reading headers with one atomic load. */
  private readonly words: Uint32Array;

  constructor(map: RingBufferMap, options: EventStreamOptions = {}) {
    super(map.name, options.recordType ?? map.recordType, options.poller);
    if (map.type !== MapType.ringbuf) throw new LoaderError(`map ${map.name} is not a ring buffer (type ${map.type})`);
    this.fd = map.fd;
    this.size = map.maxEntries;
    this.page = pageSize();
    const context = `ring buffer ${map.name}`;
    this.consumerAddress = mmapShared(map.fd, this.page, Os.PROT_READ | Os.PROT_WRITE, 0, context);
    try {
      this.producerAddress = mmapShared(map.fd, this.page + 2 * this.size, Os.PROT_READ, this.page, context);
    } catch (error) {
      munmap(this.consumerAddress, this.page);
      throw error;
    }
    this.consumer = new BigUint64Array(memoryView(this.consumerAddress, 8));
    const producerPages = memoryView(this.producerAddress, this.page + 2 * this.size);
    this.producer = new BigUint64Array(producerPages, 0, 1);
    this.data = new Uint8Array(producerPages, this.page, 2 * this.size);
    this.words = new Uint32Array(producerPages, this.page, (2 * this.size) / 4);
    this.startWatching();
  }

  protected get descriptors(): readonly number[] {
    return [this.fd];
  }

  protected drain(out: (cpu: number | undefined, data: Uint8Array) => void): number {
    const mask = BigInt(this.size - 1);
    let consumed = this.consumer[0]!;
    let count = 0;
    for (;;) {
      const produced = Atomics.load(this.producer, 0);
      if (consumed >= produced) break;
      const at = Number(consumed & mask);
      const header = Atomics.load(this.words, at >>> 2);
      if ((header & BUSY_BIT) !== 0) break;
      const length = header & 0x3fffffff;
      if ((header & DISCARD_BIT) === 0) {
        out(undefined, this.data.slice(at + HEADER_SIZE, at + HEADER_SIZE + length));
        count++;
      }
      consumed += BigInt((length + HEADER_SIZE + 7) & ~7);
      Atomics.store(this.consumer, 0, consumed);
    }
    return count;
  }

  protected release(): void {
    munmap(this.producerAddress, this.page + 2 * this.size);
    munmap(this.consumerAddress, this.page);
  }
}
