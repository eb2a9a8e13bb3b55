// Another kernel's layout of the types core_probe.bpf.c uses, for the CO-RE tests: compiled
// with clang-16 -g -target bpf, its .BTF is the target BTF (the relocated offsets must be
// these, not the running kernel's). Members moved, one widened, one inside an anonymous
// union, bit-fields elsewhere, another enum numbering.
struct task_struct {
  long padding[5];
  char comm[16];
  union {
    int tgid;
    unsigned int tgid_bits;
  };
  unsigned short prio;
  unsigned long __state;
  unsigned int before : 7;
  unsigned int in_execve : 1;
  unsigned int init_private_fork_class : 4;
  struct task_struct *real_parent;
};

enum pid_type { PIDTYPE_MAX = 1, PIDTYPE_SID = 9, PIDTYPE_PID = 2 };

struct task_struct luabpf_task;
enum pid_type luabpf_pid_type;
