// A CO-RE program for the relocation tests: its struct and enum are partial copies of the
// kernel's (preserve_access_index makes every access a relocation), and it asks for every
// kind of field, type and enum relocation libbpf supports on this object's programs.
// Compiled by the tests with clang-16 -O2 -g -target bpf; loaded by libbpf and by luabpf's
// loader against the running kernel's BTF and against core_target.c's BTF.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
  unsigned int __state;
  int prio;
  int tgid;
  struct task_struct *real_parent;
  char comm[16];
  unsigned int in_execve : 1;
  unsigned int init_private_fork_class : 4;
  int luabpf_no_such_field;
} __attribute__((preserve_access_index));

enum pid_type { PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID, PIDTYPE_SID, PIDTYPE_MAX };

SEC("kprobe/do_nanosleep")
int core_fields(void *ctx) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  struct task_struct *parent = 0;
  int tgid = 0;
  char c = 0;
  bpf_probe_read_kernel(&parent, sizeof(parent), &task->real_parent);
  bpf_probe_read_kernel(&tgid, sizeof(tgid), &parent->tgid);
  bpf_probe_read_kernel(&c, 1, &task->comm[2]);
  long value = tgid + c;
  value += bpf_core_field_size(task->prio) + bpf_core_field_size(task->comm);
  value += bpf_core_field_exists(task->luabpf_no_such_field) * 1000;
  if (bpf_core_field_exists(task->luabpf_no_such_field)) {
    int gone = 0;
    bpf_probe_read_kernel(&gone, sizeof(gone), &task->luabpf_no_such_field); // poisoned, never reached
    value += gone;
  }
  value += __builtin_preserve_field_info(task->in_execve, BPF_FIELD_LSHIFT_U64);
  value += __builtin_preserve_field_info(task->init_private_fork_class, BPF_FIELD_RSHIFT_U64);
  value += __builtin_preserve_field_info(task->init_private_fork_class, BPF_FIELD_BYTE_OFFSET);
  value += __builtin_preserve_field_info(task->prio, BPF_FIELD_SIGNED) + __builtin_preserve_field_info(task->__state, BPF_FIELD_SIGNED);
  value += bpf_core_type_size(struct task_struct) + bpf_core_type_exists(struct task_struct);
  value += bpf_core_enum_value(enum pid_type, PIDTYPE_SID) + bpf_core_enum_value_exists(enum pid_type, PIDTYPE_MAX);
  return value;
}

char LICENSE[] SEC("license") = "GPL";
