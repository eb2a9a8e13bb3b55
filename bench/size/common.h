/* Shared declarations of the C twins: libbpf's headers and the classic packet loads. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* LLVM's intrinsics for eBPF LD_ABS/LD_IND (the same loads luabpf's dissectors use). */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

#define ETH_HLEN 14
#define IP_PROTO (ETH_HLEN + 9)
#define IP_SRC (ETH_HLEN + 12)
#define IP_HLEN(skb) ((load_byte(skb, ETH_HLEN) & 0x0f) << 2)
