// Programs of "mytype", a program type no ebpfhost build hosts: only the
// store tests (internal/cli/store_test.go) define it and export it to a
// program-information store, so these verify only through that store.
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c mytype.c -o mytype.o
typedef unsigned char __u8;
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))

/* 32 bytes; only verdict is writable. */
struct mytype_md {
	__u8 *data;     /* 0: the event's bytes */
	__u8 *data_end; /* 8 */
	__u64 value;    /* 16 */
	__u32 verdict;  /* 24: writable */
	__u32 flags;    /* 28 */
};

/* A helper of the type (ids from 0x10000): copies a label into buf. */
static long (* const bpf_mytype_get_label)(struct mytype_md *ctx, void *buf, __u32 size) = (void *)0x10042;

/* Uses the data pointers, the helper and the writable field, and returns 0 or 1. */
SEC("mytype")
int good(struct mytype_md *ctx)
{
	char label[16];
	__u8 *p = ctx->data;

	if (p + 1 > ctx->data_end)
		return 0;
	if (bpf_mytype_get_label(ctx, label, sizeof(label)) < 0)
		return 0;
	ctx->verdict = p[0] + label[0];
	return ctx->value > 10;
}

/* Writes a read-only field of the context. */
SEC("mytype/readonly")
int write_readonly(struct mytype_md *ctx)
{
	ctx->flags = 1;
	return 0;
}

/* Returns a value outside the type's return range [0, 1]. */
SEC("mytype/range")
int out_of_range(struct mytype_md *ctx)
{
	return ctx->flags;
}
