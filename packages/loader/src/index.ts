// @luabpf/loader: runs luabpf's eBPF output on the real kernel through bpf(2).
//
//   syscall.ts   typed wrappers of single bpf(2) commands (map create/lookup/update/delete/
//                next-key, program load with verifier log, test run), over ffi.ts (koffi → libc)
//   object.ts    whole-object loading: maps, map relocations, program types, handles
//   packet.ts    Ethernet/IPv4/TCP/UDP/ICMP test packets from short spec strings
//   kernel.ts    "does bpf(2) work here?" probe and the test-skipping policy

export { BpfError, LoaderError, VerifierError, commandName, describeErrno } from "./errors.js";
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
  PACKET_DEFAULTS,
  PacketSpecError,
  SOURCE_MAC,
  buildPacket,
  headersLength,
  internetChecksum,
  parseIpv4,
  parsePacketSpec,
  type PacketProtocol,
  type PacketSpec,
} from "./packet.js";
export { REQUIRE_KERNEL_ENV, bpfAvailable, kernelOrSkip, type BpfAvailability, type KernelOrSkipOptions } from "./kernel.js";
