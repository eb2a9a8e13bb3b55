#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} opens SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int opens_by_pid(void *ctx)
{
	/* common_pid, the thread id (the kernel hides a tracepoint's common fields from programs) */
	__u32 pid = bpf_get_current_pid_tgid();
	__u64 one = 1;
	__u64 *n = bpf_map_lookup_elem(&opens, &pid);
	if (n)
		one += *n;
	bpf_map_update_elem(&opens, &pid, &one, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
