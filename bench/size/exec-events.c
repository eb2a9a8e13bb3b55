#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct event {
	__u64 pid_tgid;
	__u32 uid, gid;
	__u64 time;
	char comm[16];
	__s64 sent;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(max_entries, 64);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} last SEC(".maps");

SEC("raw_tracepoint/sched_switch")
int exec_events(struct bpf_raw_tracepoint_args *ctx)
{
	struct event e = {};
	__u32 zero = 0;
	e.pid_tgid = bpf_get_current_pid_tgid();
	__u64 ids = bpf_get_current_uid_gid();
	e.uid = ids;
	e.gid = ids >> 32;
	e.time = bpf_ktime_get_ns();
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	e.sent = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	bpf_map_update_elem(&last, &zero, &e, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
