// Reading a perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY) the way libbpf's perf_buffer does:
// for every online CPU, open a software "bpf-output" perf event on that CPU
// (PERF_COUNT_SW_BPF_OUTPUT, PERF_SAMPLE_RAW, a wakeup per sample unless `wakeupEvents` batches
// them), mmap its ring (one metadata
// page + 2^n data pages), enable it, and store its descriptor in the map at the CPU's index;
// bpf_perf_event_output(ctx, &map, BPF_F_CURRENT_CPU, ...) then writes into the current CPU's ring.
//
// Ring protocol (include/uapi/linux/perf_event.h, struct perf_event_mmap_page):
//   data_head u64 at 1024 (written by the kernel; read with acquire), data_tail u64 at 1032
//   (written by the reader; release), data_offset u64 at 1040, data_size u64 at 1048.
//   Records are `struct perf_event_header { u32 type; u16 misc; u16 size; }` + body, and may
//   wrap around the end of the data area (copied out in two pieces then).
//   PERF_RECORD_SAMPLE body: u32 size, then `size` raw bytes (the program's data, padded).
//   PERF_RECORD_LOST body: u64 id, u64 lost — samples dropped because this ring was full.
import { readFileSync } from "node:fs";
import type { BtfType } from "@luabpf/elf";
import { MapType } from "@luabpf/platform";
import { LoaderError } from "./errors.js";
import { EventStream, type EventStreamOptions } from "./events.js";
import { Os, ioctlInt, memoryView, mmapShared, munmap, pageSize } from "./libc.js";
import { parseCpuList } from "./object.js";
import { Perf, perfEventOpen } from "./perf-event.js";
import { close, mapDelete, mapUpdate } from "./syscall.js";

/** The map fields a perf buffer reader needs (a MapHandle has them). */
export interface PerfEventArrayMap {
  readonly name: string;
  readonly fd: number;
  readonly type: number;
  readonly maxEntries: number;
  readonly recordType?: BtfType | undefined;
}

/** Options of {@link PerfBufferReader}. */
export interface PerfBufferOptions extends EventStreamOptions {
  /** Data pages per CPU, a power of two (default 64: 256 KiB per CPU with 4 KiB pages). */
  pagesPerCpu?: number;
  /**
   * Wake the reader after this many samples on a CPU (default 1, as libbpf: every record is
   * seen at once). Larger values cost the producer far fewer wakeups, at the price of latency:
   * up to N-1 records per CPU wait for the next wakeup (or for readAvailable()/close()).
   */
  wakeupEvents?: number;
}

/** The CPU numbers listed in /sys/devices/system/cpu/online (e.g. "0-3,6"). */
export function onlineCpus(): number[] {
  const text = readFileSync("/sys/devices/system/cpu/online", "utf8").trim();
  const cpus: number[] = [];
  parseCpuList(text); // validates the syntax with the same parser as the possible-CPU count
  for (const range of text.split(",")) {
    const [first, last] = range.trim().split("-").map(Number) as [number, number | undefined];
    for (let cpu = first; cpu <= (last ?? first); cpu++) cpus.push(cpu);
  }
  return cpus;
}

interface CpuRing {
  cpu: number;
  fd: number;
  address: bigint;
  length: number;
  meta: BigUint64Array;
  data: Uint8Array;
  view: DataView;
  dataSize: number;
}

/** An async iterator over the records every CPU writes into a perf event array. */
export class PerfBufferReader extends EventStream {
  private readonly rings: CpuRing[] = [];
  private readonly mapFd: number;

  constructor(map: PerfEventArrayMap, options: PerfBufferOptions = {}) {
    super(map.name, options.recordType ?? map.recordType, options.poller);
    if (map.type !== MapType.perf_event_array) throw new LoaderError(`map ${map.name} is not a perf event array (type ${map.type})`);
    const pages = options.pagesPerCpu ?? 64;
    if (!Number.isInteger(pages) || pages <= 0 || (pages & (pages - 1)) !== 0) {
      throw new LoaderError(`perf buffer ${map.name}: pages per CPU must be a power of two, not ${pages}`);
    }
    const wakeup = options.wakeupEvents ?? 1;
    if (!Number.isInteger(wakeup) || wakeup < 1) throw new LoaderError(`perf buffer ${map.name}: wakeupEvents must be a positive integer, not ${wakeup}`);
    this.mapFd = map.fd;
    const page = pageSize();
    try {
      for (const cpu of onlineCpus()) {
        if (cpu >= map.maxEntries) break;
        const context = `perf buffer ${map.name} CPU ${cpu}`;
        const fd = perfEventOpen(
          { type: Perf.TYPE_SOFTWARE, config: BigInt(Perf.COUNT_SW_BPF_OUTPUT), sampleType: Perf.SAMPLE_RAW, wakeupEvents: wakeup },
          -1,
          cpu,
          context,
        );
        const length = (pages + 1) * page;
        let address: bigint;
        try {
          address = mmapShared(fd, length, Os.PROT_READ | Os.PROT_WRITE, 0, context);
        } catch (error) {
          close(fd);
          throw error;
        }
        const memory = memoryView(address, length);
        const meta = new BigUint64Array(memory, 0, page / 8);
        const dataOffset = Number(meta[1040 / 8]) || page;
        const dataSize = Number(meta[1048 / 8]) || pages * page;
        this.rings.push({
          cpu,
          fd,
          address,
          length,
          meta,
          data: new Uint8Array(memory, dataOffset, dataSize),
          view: new DataView(memory, dataOffset, dataSize),
          dataSize,
        });
        ioctlInt(fd, Perf.IOC_ENABLE, 0, context);
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, cpu, true);
        const value = new Uint8Array(4);
        new DataView(value.buffer).setUint32(0, fd, true);
        mapUpdate(map.fd, key, value);
      }
    } catch (error) {
      this.release();
      throw error;
    }
    this.startWatching();
  }

  protected get descriptors(): readonly number[] {
    return this.rings.map((ring) => ring.fd);
  }

  protected drain(out: (cpu: number | undefined, data: Uint8Array) => void): number {
    let count = 0;
    for (const ring of this.rings) count += this.drainRing(ring, out);
    return count;
  }

  private drainRing(ring: CpuRing, out: (cpu: number | undefined, data: Uint8Array) => void): number {
    const head = Atomics.load(ring.meta, 1024 / 8);
    let tail = ring.meta[1032 / 8]!;
    let count = 0;
    const size = BigInt(ring.dataSize);
    while (tail < head) {
      const start = Number(tail % size);
      // Records are 8-byte aligned and the data size is a power of two, so a header never wraps.
      const type = ring.view.getUint32(start, true);
      const recordSize = ring.view.getUint16(start + 6, true);
      if (recordSize < 8) break; // malformed: stop rather than spin
      const bodyStart = (start + 8) % ring.dataSize;
      const bodyLength = recordSize - 8;
      if (bodyStart + bodyLength <= ring.dataSize) {
        // The common case: the record is contiguous; only the sample's bytes are copied.
        if (type === Perf.RECORD_SAMPLE && bodyLength >= 4) {
          const rawSize = ring.view.getUint32(bodyStart, true);
          out(ring.cpu, ring.data.slice(bodyStart + 4, bodyStart + 4 + Math.min(rawSize, bodyLength - 4)));
          count++;
        } else if (type === Perf.RECORD_LOST && bodyLength >= 16) {
          this.lost += Number(ring.view.getBigUint64(bodyStart + 8, true));
        }
      } else {
        const body = this.copy(ring, bodyStart, bodyLength);
        const bodyView = new DataView(body.buffer);
        if (type === Perf.RECORD_SAMPLE && body.length >= 4) {
          const rawSize = bodyView.getUint32(0, true);
          out(ring.cpu, body.slice(4, 4 + rawSize));
          count++;
        } else if (type === Perf.RECORD_LOST && body.length >= 16) {
          this.lost += Number(bodyView.getBigUint64(8, true));
        }
      }
      tail += BigInt(recordSize);
      Atomics.store(ring.meta, 1032 / 8, tail);
    }
    return count;
  }

  /** `length` bytes of a ring's data area from `start`, joined across the wrap-around. */
  private copy(ring: CpuRing, start: number, length: number): Uint8Array {
    const first = Math.min(length, ring.dataSize - start);
    const bytes = new Uint8Array(length);
    bytes.set(ring.data.subarray(start, start + first), 0);
    if (first < length) bytes.set(ring.data.subarray(0, length - first), first);
    return bytes;
  }

  protected release(): void {
    for (const ring of this.rings.splice(0)) {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, ring.cpu, true);
      try {
        mapDelete(this.mapFd, key);
      } catch {
        // The map may already be gone with its object.
      }
      try {
        ioctlInt(ring.fd, Perf.IOC_DISABLE, 0);
      } catch {
        // closing below disables it anyway
      }
      munmap(ring.address, ring.length);
      close(ring.fd);
    }
  }
}
