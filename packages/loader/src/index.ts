// @luabpf/loader: runs luabpf's eBPF output on the real kernel through bpf(2). Numbers of the
// kernel ABI (commands, map/program/attach types, section rules) come from @luabpf/platform.
//
//   syscall.ts          typed wrappers of single bpf(2) commands (map create/lookup/update/
//                       delete/next-key, program load with verifier log, test run), over ffi.ts
//                       (koffi → libc)
//   syscall-objects.ts  BTF load, pin/get, object info, batch lookup, link create, raw tp open
//   libc.ts             epoll, eventfd, mmap, ioctl, sockets, setns through koffi
//   object.ts           whole-object loading: maps (with BTF), relocations, program types, handles
//   object-btf.ts       map key/value BTF for the kernel; record types of event maps
//   kernel-btf.ts       vmlinux BTF ids of tracing targets
//   core.ts             CO-RE: .BTF.ext field/type/enum relocations applied against a target BTF
//   attach.ts           attach(program, target) → Attachment; targets from section names
//     attach-net.ts     XDP and tcx links, socket filters on packet sockets
//     attach-trace.ts   tracepoints, raw tracepoints, uprobes/kprobes, fentry/fexit/tp_btf
//     perf-event.ts     perf_event_open: tracepoint ids, uprobe/kprobe PMUs, bpf-output events
//     host-elf.ts       function symbol → file offset in host binaries (uprobes)
//   poller.ts           epoll waits on a worker thread, shared by every event stream
//   events.ts           the async iterator common to both event readers
//     ringbuf.ts        ring buffer reader (mmap'ed consumer/producer pages)
//     perfbuf.ts        perf event array reader (one perf ring per CPU)
//   btf-value.ts        C values ↔ JavaScript by BTF type; name=value and JSON presentation
//   typed-map.ts        map access by C values
//   pinned.ts           maps pinned in bpffs, opened with their kernel BTF types
//   packet.ts           Ethernet/IPv4/TCP/UDP/ICMP test packets from short spec strings
//   kernel.ts           "does bpf(2) work here?" probe and the test-skipping policy

export { BpfError, LoaderError, OsError, VerifierError, commandName, describeErrno } from "./errors.js";
export {
  close,
  mapCreate,
  mapDelete,
  mapLookup,
  mapNextKey,
  mapUpdate,
  progLoad,
  progTestRun,
  sanitizeObjectName,
  type MapCreateOptions,
  type ProgLoadOptions,
  type TestRunOptions,
  type TestRunResult,
} from "./syscall.js";
export {
  bindMapRelocations,
  loadObject,
  loadObjectFile,
  parseCpuList,
  perCpuStride,
  possibleCpus,
  type LoadObjectOptions,
  type LoadedObject,
  makeMapHandle,
  type MapHandle,
  type PerCpuMapHandle,
  type PlainMapHandle,
  type ProgramHandle,
  type ProgramRunOptions,
} from "./object.js";
export {
  DESTINATION_MAC,
  ETH_HEADER_LEN,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
  PACKET_DEFAULTS,
  PACKET_DEFAULTS_IPV6,
  PacketSpecError,
  SOURCE_MAC,
  VLAN_TAG_LEN,
  buildPacket,
  headersLength,
  internetChecksum,
  parseIpv4,
  parseIpv6,
  parsePacketSpec,
  type PacketProtocol,
  type PacketSpec,
} from "./packet.js";
export {
  btfFdById,
  btfLoad,
  btfRawData,
  linkCreate,
  linkDetach,
  linkFdById,
  linkIds,
  linkInfo,
  mapInfo,
  mapLookupBatch,
  objGet,
  objPin,
  rawTracepointOpen,
  type LinkCreateOptions,
  type MapInfo,
} from "./syscall-objects.js";
export {
  attach,
  describeTarget,
  targetForProgram,
  targetForSection,
  type AttachableProgram,
  type AttachTarget,
  type Attachment,
  type InterfaceRef,
  type SectionTargetOptions,
  type XdpMode,
} from "./attach.js";
export { resolveInterface } from "./attach-net.js";
export { resolveBinary } from "./attach-trace.js";
export {
  Perf,
  openProbe,
  openTracepoint,
  perfEventOpen,
  probePmu,
  tracefsRoot,
  tracepointId,
  type PerfEventAttr,
  type ProbePmu,
  type ProbeSpec,
} from "./perf-event.js";
export { functionSymbols, symbolFileOffset, type HostSymbol } from "./host-elf.js";
/** The object section holding what programs' declarations said about attaching (read by {@link attach} callers). */
export { ATTACH_SECTION } from "@luabpf/elf";
export { vmlinuxBtf, vmlinuxTypeId } from "./kernel-btf.js";
export { RECORD_TAG_PREFIX, RECORD_VAR_PREFIX, findTypeByName, recordTypeOf } from "./object-btf.js";
export { Poller } from "./poller.js";
export { EventStream, type EventRecord, type EventStreamOptions } from "./events.js";
export { RingBufferReader, type RingBufferMap } from "./ringbuf.js";
export { PerfBufferReader, onlineCpus, type PerfBufferOptions, type PerfEventArrayMap } from "./perfbuf.js";
export { decodeValue, encodeValue, formatValue, plainIntType, toJsonValue, type CValue } from "./btf-value.js";
export { typedMap, type TypedMap } from "./typed-map.js";
export { bpfObjectKind, openPinnedMap, pinName, pinnedPaths, type PinnedMap } from "./pinned.js";
export {
  Os,
  bind,
  interfaceIndex,
  onCpu,
  recvNonBlocking,
  sendTo,
  setThreadAffinity,
  setns,
  socket,
  threadAffinity,
} from "./libc.js";
export { REQUIRE_KERNEL_ENV, bpfAvailable, kernelOrSkip, type BpfAvailability, type KernelOrSkipOptions } from "./kernel.js";
export {
  CORE_POISON_HELPER,
  CoreError,
  VMLINUX_BTF_PATH,
  applyCoreRelocations,
  essentialName,
  loadBtfFile,
  runningKernelBtf,
  type CoreRelocationResult,
} from "./core.js";
