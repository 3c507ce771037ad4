// Package examples holds example eBPF programs in C, each committed with
// the object clang builds from it, and the tests that load those objects
// into ebpfhost, run every program in fast and in checked mode, and check
// exactly what they leave in their maps and ring buffers.
//
//   - xdp_pass.c: the trivial program, for benchmarks
//   - xdp_stats.c: IPv4 statistics per protocol and source, a blocklist and
//     a ring buffer record per packet
//   - maps_tour.c: every map type, from the program side
//   - helpers_tour.c: every other helper
//   - process_monitor.c: a ring buffer record per process start and exit
//     (embedded: ebpfhost monitor process runs it)
//   - process_deny.c: refuses execs by image path or directory
//     (ebpfhost monitor process --deny)
//
// See README.md for how to build and run them. The objects are rebuilt with
// go generate; the tests fail if one is out of date with its source (when
// the clang that built it is installed).
package examples

//go:generate clang -O2 -g -target bpf -fdebug-compilation-dir=. -I ../include -c xdp_pass.c -o xdp_pass.o
//go:generate clang -O2 -g -target bpf -fdebug-compilation-dir=. -I ../include -c xdp_stats.c -o xdp_stats.o
//go:generate clang -O2 -g -target bpf -fdebug-compilation-dir=. -I ../include -c maps_tour.c -o maps_tour.o
//go:generate clang -O2 -g -target bpf -fdebug-compilation-dir=. -I ../include -c helpers_tour.c -o helpers_tour.o
//go:generate clang -O2 -g -target bpf -fdebug-compilation-dir=. -I ../include -c process_monitor.c -o process_monitor.o
//go:generate clang -O2 -g -target bpf -fdebug-compilation-dir=. -I ../include -c process_deny.c -o process_deny.o
