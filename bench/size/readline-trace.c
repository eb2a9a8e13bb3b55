#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("uretprobe//bin/bash:readline")
int readline_trace(struct pt_regs *ctx)
{
	char line[64];
	bpf_probe_read_user_str(line, sizeof(line), (const void *)PT_REGS_RC(ctx));
	if (line[0] == 0 || __builtin_memcmp(line, "clear", 6) == 0)
		return 0;
	bpf_printk("%d: %s\n", (__u32)bpf_get_current_pid_tgid(), line);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
