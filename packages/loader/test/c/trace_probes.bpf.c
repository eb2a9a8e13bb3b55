// Probe fixtures for the loader's attach tests: a uprobe and a uretprobe reporting the argument
// and return value of a user function through a ring buffer; a raw tracepoint and a BTF
// tracepoint (tp_btf, a tracing link) counting system calls per process; a kprobe (loadable
// everywhere, attachable only where the kernel has the kprobe PMU). fentry/fexit live in
// trace_fentry.bpf.c, since some kernels refuse to load them at all.
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct call {
  __u32 pid;
  __u32 kind; /* 0 entry (value = first argument), 1 return (value = return value) */
  __s64 value;
};

struct call *__luabpf_record_calls __attribute__((unused));

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 14);
} calls SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u64);
} per_process SEC(".maps");

/* per_process is indexed by tgid | slot << 24: slot 3 raw_tp, 4 kprobe, 5 tp_btf. */
static __always_inline void bump(__u32 slot) {
  __u32 key = (__u32)(bpf_get_current_pid_tgid() >> 32) | slot << 24;
  __u64 one = 1;
  __u64 *n = bpf_map_lookup_elem(&per_process, &key);
  if (n)
    __sync_fetch_and_add(n, 1);
  else
    bpf_map_update_elem(&per_process, &key, &one, BPF_NOEXIST);
}

static __always_inline void report(__u32 kind, __s64 value) {
  struct call *c = bpf_ringbuf_reserve(&calls, sizeof(*c), 0);
  if (!c)
    return;
  c->pid = bpf_get_current_pid_tgid() >> 32;
  c->kind = kind;
  c->value = value;
  bpf_ringbuf_submit(c, 0);
}

SEC("uprobe")
int on_call(struct pt_regs *ctx) {
  report(0, (int)PT_REGS_PARM1(ctx));
  return 0;
}

SEC("uretprobe")
int on_return(struct pt_regs *ctx) {
  report(1, (int)PT_REGS_RC(ctx));
  return 0;
}

SEC("raw_tp/sys_enter")
int on_sys_enter(void *ctx) {
  bump(3);
  return 0;
}

SEC("tp_btf/sys_enter")
int on_sys_enter_btf(void *ctx) {
  bump(5);
  return 0;
}

SEC("kprobe/do_sys_openat2")
int on_openat2_kprobe(struct pt_regs *ctx) {
  bump(4);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
