// A program calling a function that is declared but defined nowhere in the
// object: loading must fail naming the program, its section and the
// function. Built with
//   clang -O2 -g -target bpf -fdebug-compilation-dir=. -c extern.c -o extern.o
#define SEC(name) __attribute__((section(name), used))

extern int undefined_helper(int x);

SEC("tc")
int calls_extern(void *ctx)
{
	return undefined_helper(3) + 1;
}

char LICENSE[] SEC("license") = "GPL";
