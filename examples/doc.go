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
//   - file_access.c: a ring buffer record per file operation of a given
//     executable (embedded: ebpfhost monitor files)
//   - file_iolatency.c: pre/post correlation into a log2 latency histogram
//     per operation (ebpfhost iolatency)
//   - file_redirect.c: rewrites path prefixes on open (ebpfhost redirect)
//   - file_deny_write.c: refuses every change under a path prefix
//     (ebpfhost deny-write)
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
//go:generate clang -O2 -g -target bpf -fdebug-compilation-dir=. -I ../include -c file_access.c -o file_access.o
//go:generate clang -O2 -g -target bpf -fdebug-compilation-dir=. -I ../include -c file_iolatency.c -o file_iolatency.o
//go:generate clang -O2 -g -target bpf -fdebug-compilation-dir=. -I ../include -c file_redirect.c -o file_redirect.o
//go:generate clang -O2 -g -target bpf -fdebug-compilation-dir=. -I ../include -c file_deny_write.c -o file_deny_write.o
