/**
 * How each C twin of bench/size is compared with its Lua program on the kernel: packet
 * programs by BPF_PROG_TEST_RUN (twins.test.ts, with per-twin options), tracing programs
 * attached to their hooks for a trigger the test controls (twins-tracing.test.ts), kprobe
 * programs only by loading both (twins-tracing.test.ts: this kernel has no kprobe PMU to
 * attach them, and there is no test run for kprobes). twins-tracing.test.ts checks that
 * every twin in bench/size is in exactly one list.
 */

/** Packet twins, with what not to compare: a map that holds the clock, a program whose every run returns the same. */
export const PACKET_TWINS: Readonly<Record<string, { ignoreMaps?: string[]; sameEveryRun?: string }>> = {
  "bytes-per-source": {},
  "flow-hash": {},
  "flow-stats": {},
  "http-methods": {},
  "ip-checksum": {},
  "ipv6-next-header": {},
  "len-hist": {},
  "len-log2": {},
  "len-sqrt": {},
  "port-classes": {},
  "port-score": {},
  "proto-count": {},
  "syn-sources": {},
  "tc-ttl-rewrite": {},
  "tc-drop-udp": {},
  "tc-talkers": {},
  "tcp-port-filter": {},
  "ttl-range": {},
  "xdp-cpu-budget": { ignoreMaps: ["slot"] },
  "xdp-drop-dns": {},
  "xdp-header-sum": {},
  "xdp-sketch": {},
  "xdp-ifindex": { sameEveryRun: "every test run has the same ingress_ifindex" },
};

/** Tracing twins compared attached (raw tracepoints, tracepoints, uprobes). */
export const ATTACHED_TWINS = ["exec-events", "exec-parents", "opens-by-pid", "readline-trace"] as const;

/** kprobe twins: compared only by loading both. */
export const KPROBE_TWINS = ["kprobe-time", "offcpu-stacks", "sleep-latency"] as const;
