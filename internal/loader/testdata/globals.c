// Global variables in .data, .rodata and .bss read and written by code at
// non-zero offsets (both through their own symbols and, for static
// variables, through the section), bpf-to-bpf calls (one nested), and two
// programs in different sections sharing them; a third program passes a
// string literal, which clang puts in .rodata.str1.1. Built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c globals.c -o globals.o
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define noinline __attribute__((noinline))

static long (*bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)6;

__u64 seen = 1;                     /* .data */
__u64 limits[4] = { 10, 20, 30, 40 }; /* .data */
static __u32 hidden[3] = { 7, 8, 9 }; /* .data, reached through the section */
const volatile __u32 mode = 3;        /* .rodata */
const volatile __u64 weights[3] = { 100, 200, 300 }; /* .rodata */
__u64 totals[8];                      /* .bss */
static __u64 scratch[4];              /* .bss, reached through the section */

static noinline __u64 scale(__u64 x)
{
	return x * weights[2] + hidden[1];
}

static noinline __u64 account(__u32 slot, __u64 x)
{
	__u64 v = scale(x);
	totals[slot & 7] += v;
	scratch[3] += v;
	return scratch[3];
}

SEC("process")
int on_process(void *ctx)
{
	seen++;
	return account(mode, limits[2]) > limits[3];
}

SEC("file/pre")
int on_file(void *ctx)
{
	hidden[2]++;
	return (int)account(1, weights[1]);
}

SEC("process/exit")
int on_exit(void *ctx)
{
	bpf_trace_printk("seen %llu\n", sizeof("seen %llu\n"), seen);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
