// A socket filter reading the packet with the legacy BPF_LD|BPF_ABS
// instruction (LLVM's bpf.load.byte intrinsic), which ebpfhost rejects:
// loading must fail naming the program, section, instruction and the C
// source line. Built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c ldabs.c -o ldabs.o
#define SEC(name) __attribute__((section(name), used))

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");

SEC("socket")
int first_byte(void *skb)
{
	int proto = load_byte(skb, 23);
	return proto == 6;
}

char LICENSE[] SEC("license") = "GPL";
