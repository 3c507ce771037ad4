/* ringbuf.h: the ring buffer the ring buffer corpus programs share. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

struct record {
	__u32 len;
	__u32 flags;
	__u64 stamp;
};
