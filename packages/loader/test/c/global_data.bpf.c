// Global data as libbpf loads it: a socket filter that reads a `const volatile` setting
// (.rodata), a static table of constants (a .rodata section clang names by its size),
// counts in an initialised global (.data) and a zero-initialised one (.bss), and prints with
// bpf_printk (its format string lives in .rodata). It returns a byte count from all of them so
// that a test run shows each address was bound to the right bytes.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 snap_len = 48;           // .rodata: set before load, constant after
static const __u8 weight[4] = {3, 5, 7, 11};  // .rodata.cst4: a table of constants
__u64 packets = 100;                          // .data: starts at 100
__u64 bytes;                                  // .bss: starts at 0
__u32 last_len;                               // .bss, after `bytes`

SEC("socket")
int count_bytes(struct __sk_buff *skb) {
  __u32 len = skb->len;
  packets += 1;
  bytes += len;
  last_len = len;
  bpf_printk("global_data: len %u", len);
  return (len < snap_len ? len : snap_len) + weight[len & 3];
}

char LICENSE[] SEC("license") = "GPL";
