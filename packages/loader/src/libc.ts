// The libc calls attaching and event reading need besides bpf(2): epoll and eventfd (waiting
// for ring buffers and perf buffers without polling), mmap (sharing their pages with the
// kernel), ioctl (enabling perf events), sockets (packet sockets for socket filters, test
// traffic), if_nametoindex, setns and the calling thread's CPU affinity. Node has no API for any of them; koffi calls libc.
//
// Every wrapper throws OsError (function name + errno) on failure, so callers never see a raw
// -1. Buffers whose address the kernel keeps or writes asynchronously are allocated with
// ffi.nativeBuffer (outside the V8 heap, where the garbage collector cannot move them).
//
// epoll_wait is the one blocking call: it runs on a libuv worker thread through koffi's async
// calls (`epollWaitAsync`), so the JavaScript thread keeps running while it waits.
import { OsError } from "./errors.js";
import { addressOf, nativeBuffer, nativeLibrary } from "./ffi.js";

/** Numbers of the Linux/glibc ABI used by the wrappers' callers (x86-64 and the generic table agree). */
export const Os = {
  O_CLOEXEC: 0o2000000,
  O_NONBLOCK: 0o4000,
  EPOLL_CTL_ADD: 1,
  EPOLL_CTL_DEL: 2,
  EPOLL_CTL_MOD: 3,
  EPOLLIN: 0x001,
  EPOLLERR: 0x008,
  EPOLLHUP: 0x010,
  EPOLLET: 1 << 31,
  PROT_READ: 1,
  PROT_WRITE: 2,
  MAP_SHARED: 1,
  AF_INET: 2,
  AF_PACKET: 17,
  SOCK_DGRAM: 2,
  SOCK_RAW: 3,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  SOL_SOCKET: 1,
  SO_ATTACH_BPF: 50,
  SO_DETACH_BPF: 27,
  MSG_DONTWAIT: 0x40,
  ETH_P_ALL: 0x0003,
  CLONE_NEWNET: 0x40000000,
  EAGAIN: 11,
  EINTR: 4,
} as const;

type Fn = (...args: unknown[]) => unknown;
type AsyncFn = Fn & { async: (...args: unknown[]) => void };

interface Libc {
  epoll_create1: Fn;
  epoll_ctl: Fn;
  epoll_wait: AsyncFn;
  eventfd: Fn;
  mmap: Fn;
  munmap: Fn;
  ioctl: Fn;
  socket: Fn;
  bind: Fn;
  setsockopt: Fn;
  if_nametoindex: Fn;
  recv: Fn;
  sendto: Fn;
  setns: Fn;
  write: Fn;
  read: Fn;
  sysconf: Fn;
  sched_getaffinity: Fn;
  sched_setaffinity: Fn;
}

let bound: Libc | undefined;

function libc(): Libc {
  if (bound) return bound;
  const { libc: lib } = nativeLibrary();
  const f = (signature: string) => lib.func(signature) as AsyncFn;
  bound = {
    epoll_create1: f("int epoll_create1(int flags)"),
    epoll_ctl: f("int epoll_ctl(int epfd, int op, int fd, void *event)"),
    // The events buffer is passed as an address: the call runs on another thread and must
    // write into memory that stays put, not into a copy koffi would make.
    epoll_wait: f("int epoll_wait(int epfd, intptr_t events, int maxevents, int timeout)"),
    eventfd: f("int eventfd(unsigned int initval, int flags)"),
    mmap: f("intptr_t mmap(intptr_t addr, size_t length, int prot, int flags, int fd, int64_t offset)"),
    munmap: f("int munmap(intptr_t addr, size_t length)"),
    ioctl: f("int ioctl(int fd, unsigned long request, ...)"),
    socket: f("int socket(int domain, int type, int protocol)"),
    bind: f("int bind(int fd, void *addr, uint32_t len)"),
    setsockopt: f("int setsockopt(int fd, int level, int name, void *value, uint32_t len)"),
    if_nametoindex: f("unsigned int if_nametoindex(const char *name)"),
    recv: f("intptr_t recv(int fd, void *buf, size_t len, int flags)"),
    sendto: f("intptr_t sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addrlen)"),
    setns: f("int setns(int fd, int nstype)"),
    write: f("intptr_t write(int fd, void *buf, size_t count)"),
    read: f("intptr_t read(int fd, void *buf, size_t count)"),
    sysconf: f("long sysconf(int name)"),
    sched_getaffinity: f("int sched_getaffinity(int pid, size_t size, void *mask)"),
    sched_setaffinity: f("int sched_setaffinity(int pid, size_t size, void *mask)"),
  };
  return bound;
}

function errno(): number {
  return nativeLibrary().koffi.errno();
}

function check(name: string, ret: unknown, context?: string): number {
  const value = Number(ret);
  if (value < 0) throw new OsError(name, errno(), context);
  return value;
}

// ---------------------------------------------------------------------------------------------
// epoll and eventfd

/** epoll_create1(EPOLL_CLOEXEC). */
export function epollCreate(): number {
  return check("epoll_create1", libc().epoll_create1(Os.O_CLOEXEC));
}

/**
 * epoll_ctl: `op` is EPOLL_CTL_ADD/MOD/DEL; `data` is the 64-bit cookie epoll_wait reports
 * back (callers use the descriptor number). `struct epoll_event` is packed on x86-64
 * (u32 events at 0, u64 data at 4: 12 bytes) and naturally aligned elsewhere (16 bytes).
 */
export function epollCtl(epfd: number, op: number, fd: number, events: number, data: number): void {
  const event = nativeBuffer(EPOLL_EVENT_SIZE);
  event.writeUInt32LE(events >>> 0, 0);
  event.writeBigUInt64LE(BigInt(data), EPOLL_DATA_OFFSET);
  check("epoll_ctl", libc().epoll_ctl(epfd, op, fd, event));
}

const EPOLL_EVENT_SIZE = process.arch === "x64" ? 12 : 16;
const EPOLL_DATA_OFFSET = process.arch === "x64" ? 4 : 8;

/** One readiness report of epoll_wait. */
export interface EpollEvent {
  readonly events: number;
  /** The cookie given to {@link epollCtl}. */
  readonly data: number;
}

/**
 * epoll_wait on a worker thread: resolves with the ready events after at most `timeoutMs`
 * (-1: until something is ready). EINTR resolves with no events.
 */
export function epollWaitAsync(epfd: number, maxEvents: number, timeoutMs: number): Promise<EpollEvent[]> {
  const buffer = nativeBuffer(EPOLL_EVENT_SIZE * maxEvents);
  const address = addressOf(buffer);
  return new Promise((resolve, reject) => {
    libc().epoll_wait.async(epfd, address, maxEvents, timeoutMs, (error: unknown, result: unknown) => {
      if (error) return reject(error instanceof Error ? error : new Error(String(error)));
      const count = Number(result);
      // errno of an async call is not observable through koffi; epoll_wait fails only with
      // EINTR (a signal) or on a bad descriptor, and the caller's loop re-checks its state.
      if (count <= 0) return resolve([]);
      const events: EpollEvent[] = [];
      for (let i = 0; i < count; i++) {
        const at = i * EPOLL_EVENT_SIZE;
        events.push({ events: buffer.readUInt32LE(at), data: Number(buffer.readBigUInt64LE(at + EPOLL_DATA_OFFSET)) });
      }
      // `buffer` is referenced until here, so it outlives the native call.
      resolve(events);
    });
  });
}

/** eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK): a descriptor another thread's epoll_wait can be woken with. */
export function eventfdCreate(): number {
  return check("eventfd", libc().eventfd(0, Os.O_CLOEXEC | Os.O_NONBLOCK));
}

/** Adds 1 to an eventfd's counter (makes it readable). */
export function eventfdSignal(fd: number): void {
  const one = nativeBuffer(8);
  one.writeBigUInt64LE(1n, 0);
  check("write", libc().write(fd, one, 8), "eventfd");
}

/** Resets an eventfd's counter; false when it was already zero. */
export function eventfdDrain(fd: number): boolean {
  const value = nativeBuffer(8);
  const ret = Number(libc().read(fd, value, 8));
  if (ret < 0) {
    const code = errno();
    if (code === Os.EAGAIN) return false;
    throw new OsError("read", code, "eventfd");
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Memory mappings

/** mmap(NULL, length, prot, MAP_SHARED, fd, offset); returns the address. */
export function mmapShared(fd: number, length: number, prot: number, offset: number, context?: string): bigint {
  const address = BigInt(libc().mmap(0, length, prot, Os.MAP_SHARED, fd, offset) as number | bigint);
  // MAP_FAILED is (void *)-1.
  if (address === -1n || address === 0xffffffffffffffffn) throw new OsError("mmap", errno(), context);
  return address;
}

let cachedPageSize: number | undefined;

/** The memory page size (sysconf(_SC_PAGESIZE)): the unit of ring buffer and perf buffer mappings. */
export function pageSize(): number {
  const SC_PAGESIZE = 30;
  cachedPageSize ??= check("sysconf", libc().sysconf(SC_PAGESIZE));
  return cachedPageSize;
}

/** munmap; failures (only possible for a bad range) are programming errors and thrown. */
export function munmap(address: bigint, length: number): void {
  check("munmap", libc().munmap(address, length));
}

/** An ArrayBuffer over `length` bytes of mapped memory at `address` (no copy). */
export function memoryView(address: bigint, length: number): ArrayBuffer {
  return nativeLibrary().koffi.view(Number(address), length) as ArrayBuffer;
}

/** ioctl(fd, request, arg) with an integer argument. */
export function ioctlInt(fd: number, request: number, arg: number, context?: string): number {
  return check("ioctl", libc().ioctl(fd, request, "unsigned long", arg), context);
}

// ---------------------------------------------------------------------------------------------
// Sockets and namespaces

/** socket(domain, type | SOCK_CLOEXEC, protocol). */
export function socket(domain: number, type: number, protocol: number, context?: string): number {
  return check("socket", libc().socket(domain, type | Os.SOCK_CLOEXEC, protocol), context);
}

/** bind(fd, address) with a ready-made `struct sockaddr_*`. */
export function bind(fd: number, address: Uint8Array, context?: string): void {
  const buffer = nativeBuffer(address.byteLength);
  buffer.set(address);
  check("bind", libc().bind(fd, buffer, address.byteLength), context);
}

/** setsockopt(fd, level, name, &value, sizeof value) with an int value. */
export function setsockoptInt(fd: number, level: number, name: number, value: number, context?: string): void {
  const buffer = nativeBuffer(4);
  buffer.writeInt32LE(value, 0);
  check("setsockopt", libc().setsockopt(fd, level, name, buffer, 4), context);
}

/** if_nametoindex; throws OsError (ENODEV) for an interface that does not exist here. */
export function interfaceIndex(name: string): number {
  const index = Number(libc().if_nametoindex(name));
  if (index === 0) throw new OsError("if_nametoindex", errno(), `interface ${name}`);
  return index;
}

/** recv(fd, buf, size, MSG_DONTWAIT): the bytes received, or undefined when nothing is queued. */
export function recvNonBlocking(fd: number, size: number): Uint8Array | undefined {
  const buffer = nativeBuffer(size);
  const ret = Number(libc().recv(fd, buffer, size, Os.MSG_DONTWAIT));
  if (ret < 0) {
    const code = errno();
    if (code === Os.EAGAIN) return undefined;
    throw new OsError("recv", code);
  }
  return new Uint8Array(buffer.buffer, buffer.byteOffset, Math.min(ret, size));
}

/** sendto(fd, data, 0, address). */
export function sendTo(fd: number, data: Uint8Array, address: Uint8Array): number {
  const payload = nativeBuffer(Math.max(1, data.byteLength));
  payload.set(data);
  const to = nativeBuffer(address.byteLength);
  to.set(address);
  return check("sendto", libc().sendto(fd, payload, data.byteLength, 0, to, address.byteLength));
}

/** setns(fd, nstype): moves the calling thread into the namespace `fd` refers to. */
export function setns(fd: number, nstype: number, context?: string): void {
  check("setns", libc().setns(fd, nstype), context);
}

// ---------------------------------------------------------------------------------------------
// CPU affinity of the calling thread (per-CPU buffers: producing an event on a chosen CPU)

/** Bytes of the cpu_set_t the wrappers pass (1,024 CPUs, glibc's CPU_SETSIZE). */
const CPU_SET_BYTES = 128;

/** sched_getaffinity(0, ...): the CPUs the calling thread may run on. */
export function threadAffinity(): number[] {
  const mask = nativeBuffer(CPU_SET_BYTES);
  check("sched_getaffinity", libc().sched_getaffinity(0, CPU_SET_BYTES, mask));
  const cpus: number[] = [];
  for (let cpu = 0; cpu < CPU_SET_BYTES * 8; cpu++) if (mask[cpu >> 3]! & (1 << (cpu & 7))) cpus.push(cpu);
  return cpus;
}

/** sched_setaffinity(0, ...): restricts the calling thread to `cpus`. */
export function setThreadAffinity(cpus: readonly number[]): void {
  const mask = nativeBuffer(CPU_SET_BYTES);
  for (const cpu of cpus) {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= CPU_SET_BYTES * 8) throw new RangeError(`no CPU ${cpu}`);
    mask[cpu >> 3] = mask[cpu >> 3]! | (1 << (cpu & 7));
  }
  check("sched_setaffinity", libc().sched_setaffinity(0, CPU_SET_BYTES, mask), `CPUs ${cpus.join(",")}`);
}

/** Runs `fn` on the calling thread pinned to `cpu`, then restores the thread's affinity. */
export function onCpu<T>(cpu: number, fn: () => T): T {
  const before = threadAffinity();
  setThreadAffinity([cpu]);
  try {
    return fn();
  } finally {
    setThreadAffinity(before);
  }
}
