// Package kernelbench runs the same xdp objects in ebpfhost and in the
// Linux kernel (BPF_PROG_TEST_RUN through cilium/ebpf), to compare their
// results and their speed side by side. The kernel side needs root and a
// kernel that lets this process load programs; without them it skips and
// says why.
package kernelbench

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"

	"github.com/ebpfhost/ebpfhost"
)

// objects are the examples compared, with the program each holds.
var objects = []struct{ file, program string }{
	{"xdp_pass.o", "xdp_pass"},
	{"xdp_stats.o", "xdp_stats"},
}

const examples = "../../examples"

// packet is a 64-byte Ethernet/IPv4/UDP packet.
func packet(src byte) []byte {
	p := make([]byte, 64)
	copy(p[0:6], []byte{0, 1, 2, 3, 4, 5})
	copy(p[6:12], []byte{6, 7, 8, 9, 10, 11})
	binary.BigEndian.PutUint16(p[12:], 0x0800)
	ip := p[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], 50)
	ip[8] = 64
	ip[9] = 17 // UDP
	copy(ip[12:16], []byte{10, 0, 0, src})
	copy(ip[16:20], []byte{192, 168, 1, 1})
	udp := ip[20:]
	binary.BigEndian.PutUint16(udp[0:], 1234)
	binary.BigEndian.PutUint16(udp[2:], 53)
	binary.BigEndian.PutUint16(udp[4:], 30)
	return p
}

func objectPath(tb testing.TB, file string) string {
	tb.Helper()
	path := filepath.Join(examples, file)
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("%s is missing (%v)", path, err)
	}
	return path
}

// kernelProgram loads the object into the kernel, or skips.
func kernelProgram(tb testing.TB, path, name string) *ebpf.Program {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("loading programs into the Linux kernel needs root")
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		tb.Skipf("cannot lift the memlock limit for kernel eBPF: %v", err)
	}
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		tb.Fatal(err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, os.ErrPermission) {
			tb.Skipf("the kernel refused the object: %v", err)
		}
		tb.Fatalf("loading %s into the kernel: %v", path, err)
	}
	tb.Cleanup(func() { coll.Close() })
	p := coll.Programs[name]
	if p == nil {
		tb.Fatalf("%s has no program %s", path, name)
	}
	return p
}

func ebpfhostProgram(tb testing.TB, path, name string) *ebpfhost.Program {
	tb.Helper()
	rt, err := ebpfhost.New(&ebpfhost.Options{CPUs: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close() })
	coll, err := rt.LoadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { coll.Close() })
	p := coll.Programs[name]
	if p == nil {
		tb.Fatalf("%s has no program %s", path, name)
	}
	return p
}

// TestKernelAgrees runs each object in both and compares verdicts and
// output packets.
func TestKernelAgrees(t *testing.T) {
	for _, o := range objects {
		t.Run(o.file, func(t *testing.T) {
			path := objectPath(t, o.file)
			kp := kernelProgram(t, path, o.program)
			hp := ebpfhostProgram(t, path, o.program)
			for src := byte(1); src < 8; src++ {
				pkt := packet(src)
				kret, kout, err := kp.Test(pkt)
				if err != nil {
					t.Fatalf("kernel test run: %v", err)
				}
				res, err := hp.TestRun(&ebpfhost.TestRunOptions{Data: pkt})
				if err != nil {
					t.Fatal(err)
				}
				if uint64(kret) != res.ReturnValue || string(kout) != string(res.Data) {
					t.Errorf("source %d: kernel returned %d and %x, ebpfhost %d and %x", src, kret, kout, res.ReturnValue, res.Data)
				}
			}
		})
	}
}

// BenchmarkXDP reports ns/run for each object in ebpfhost and in the
// kernel's JIT.
func BenchmarkXDP(b *testing.B) {
	for _, o := range objects {
		b.Run(o.program+"/ebpfhost", func(b *testing.B) {
			p := ebpfhostProgram(b, objectPath(b, o.file), o.program)
			b.ResetTimer()
			res, err := p.TestRun(&ebpfhost.TestRunOptions{Data: packet(1), Repeat: b.N})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(res.Duration), "ns/run")
		})
		b.Run(o.program+"/kernel", func(b *testing.B) {
			p := kernelProgram(b, objectPath(b, o.file), o.program)
			b.ResetTimer()
			_, d, err := p.Benchmark(packet(1), b.N, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(d.Nanoseconds()), "ns/run")
		})
	}
}
