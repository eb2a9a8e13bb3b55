// CO-RE relocations as clang emits them, for the reader test (clang-16 -O2 -g -target bpf).
// The struct is a stand-in for a kernel type: preserve_access_index makes every member
// access a field relocation, and __builtin_preserve_field_info asks for other kinds.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct task_struct {
  int pid;
  int tgid;
  struct task_struct *real_parent;
  char comm[16];
} __attribute__((preserve_access_index));

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} out SEC(".maps");

SEC("kprobe/do_nanosleep")
int parent_tgid(void *ctx) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  struct task_struct *parent = 0;
  int tgid = 0;
  bpf_probe_read_kernel(&parent, sizeof(parent), &task->real_parent);
  bpf_probe_read_kernel(&tgid, sizeof(tgid), &parent->tgid);
  __u64 value = tgid + __builtin_preserve_field_info(task->comm, 2 /* FIELD_EXISTS */) +
                __builtin_preserve_field_info(task->comm[3], 1 /* FIELD_BYTE_SIZE */);
  __u32 key = 0;
  bpf_map_update_elem(&out, &key, &value, BPF_ANY);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
