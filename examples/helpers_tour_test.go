package examples_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ebpfhost/ebpfhost"
)

// texts reads text i of helpers_tour's texts array (64 bytes).
func texts(t *testing.T, coll *ebpfhost.Collection, i uint32) []byte {
	t.Helper()
	b := make([]byte, 64)
	if err := mapOf(t, coll, "texts").Lookup(i, b); err != nil {
		t.Fatal(err)
	}
	return b
}

// padded returns s followed by zeros up to 64 bytes, a whole text.
func padded(s string) []byte {
	b := make([]byte, 64)
	copy(b, s)
	return b
}

func TestHelpersClocks(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "helpers_tour")
		p := program(t, coll, "clocks")
		var prevNs, prevBoot int64
		for range 2 {
			run(t, p, packet4, xdpPass)
			r := results(t, coll)
			ns1, ms, boot1, bootMs, coarse, ns2, boot2 := r[0], r[1], r[2], r[3], r[4], r[5], r[6]
			if ns1 <= 0 || boot1 <= 0 || coarse <= 0 {
				t.Errorf("clocks read zero: ktime %d, boot %d, coarse %d", ns1, boot1, coarse)
			}
			// Monotonic, across calls and across runs.
			if ns1 > ns2 || boot1 > boot2 || ns1 < prevNs || boot1 < prevBoot {
				t.Errorf("clocks went back: ktime %d then %d (previous run %d), boot %d then %d (previous run %d)",
					ns1, ns2, prevNs, boot1, boot2, prevBoot)
			}
			// The millisecond clocks are the same clocks, read between.
			if ms < ns1/1e6 || ms > ns2/1e6 {
				t.Errorf("bpf_ktime_get_ms %d is not between %d and %d", ms, ns1/1e6, ns2/1e6)
			}
			if bootMs < boot1/1e6 || bootMs > boot2/1e6 {
				t.Errorf("bpf_ktime_get_boot_ms %d is not between %d and %d", bootMs, boot1/1e6, boot2/1e6)
			}
			// The boot clock counts suspend too, so it is never behind.
			if boot1 < ns1 {
				t.Errorf("boot clock %d is behind the monotonic clock %d", boot1, ns1)
			}
			// The coarse clock may lag, but not lead.
			if coarse > ns2 {
				t.Errorf("coarse clock %d is ahead of a later read %d", coarse, ns2)
			}
			prevNs, prevBoot = ns2, boot2
		}
	})
}

func TestHelpersRandomAndCPU(t *testing.T) {
	inModes(t, ebpfhost.Options{CPUs: 2}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "helpers_tour")
		p := program(t, coll, "random_and_cpu")
		var runs [][]int64
		for range 2 {
			run(t, p, packet4, xdpPass)
			r := results(t, coll)
			for i, v := range r[:8] {
				if v < 0 || v > 0xffffffff {
					t.Errorf("random value %d = %d is not a u32", i, v)
				}
			}
			if cpu := r[8]; cpu < 0 || cpu >= 2 {
				t.Errorf("bpf_get_smp_processor_id() = %d, want 0 or 1", cpu)
			}
			runs = append(runs, slices.Clone(r[:8]))
		}
		all := slices.Concat(runs...)
		slices.Sort(all)
		if len(slices.Compact(all)) < 2 || slices.Equal(runs[0], runs[1]) {
			t.Errorf("bpf_get_prandom_u32 does not vary: %v", runs)
		}
	})
}

// selfComm is the name bpf_get_current_comm reports for this process: the
// kernel's comm, at most 15 characters.
func selfComm(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Skipf("no /proc/self/comm: %v", err)
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 15 {
		s = s[:15]
	}
	return s
}

func TestHelpersCurrentTask(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "helpers_tour")
		run(t, program(t, coll, "current_task"), packet4, xdpPass)
		// A test run is attributed to the calling process, in both halves
		// of pid_tgid (Go threads come and go, so there is no one thread
		// to name).
		pid := int64(os.Getpid())
		checkResults(t, coll, pid, pid, int64(os.Getuid()), int64(os.Getgid()), 0)
		if got, want := texts(t, coll, 0), padded(selfComm(t)); !bytes.Equal(got, want) {
			t.Errorf("comm = %q, want %q", cString(got), cString(want))
		}
	})
}

// syncBuffer is a bytes.Buffer for the trace writer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHelpersTracing(t *testing.T) {
	var out syncBuffer
	inModes(t, ebpfhost.Options{Trace: &out}, func(t *testing.T, opts ebpfhost.Options) {
		before := len(out.String())
		rt, coll := load(t, opts, "helpers_tour")
		run(t, program(t, coll, "tracing"), make([]byte, 42), xdpPass)
		msgs := []string{"xdp packet of 42 bytes", "tracing: deadbeefcafe z"}
		// The return values count the bytes written, the newline too.
		checkResults(t, coll, int64(len(msgs[0])), int64(len(msgs[1])+1))
		lines := rt.ReadTrace(10)
		if len(lines) != 2 {
			t.Fatalf("trace has %d lines, want 2: %q", len(lines), lines)
		}
		// Lines read like Linux's trace_pipe:
		//   "   examples.test-1234    [001] 12:00:00.000000: bpf_trace_printk: msg"
		who := fmt.Sprintf("%s-%d", selfComm(t), os.Getpid())
		for i, l := range lines {
			if !strings.HasSuffix(l, ": bpf_trace_printk: "+msgs[i]) || !strings.Contains(l, who) {
				t.Errorf("trace line %d = %q, want %s and the message %q", i, l, who, msgs[i])
			}
		}
		// The Trace writer gets the same lines.
		if got, want := out.String()[before:], lines[0]+"\n"+lines[1]+"\n"; got != want {
			t.Errorf("trace writer got %q, want %q", got, want)
		}
	})
}

func TestHelpersSnprintf(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "helpers_tour")
		run(t, program(t, coll, "formatting"), packet4, xdpPass)
		want := []string{
			"-42|4294967295|ff|FF|   42|42   |00042|%",
			"-1234567890123 18446744073709551615 feedfacecafebeef",
			"strings and C",
			"this do", // truncated to 8 bytes with the NUL
			"192.0.2.1 192.000.002.001",
			"2001:0db8:0000:0000:0000:0000:0000:0001",
		}
		full := []int{len(want[0]), len(want[1]), len(want[2]), len("this does not fit"), len(want[4]), len(want[5])}
		// Each result is the full length plus the NUL, truncated or not.
		checkResults(t, coll, int64(full[0]+1), int64(full[1]+1), int64(full[2]+1), int64(full[3]+1),
			int64(full[0]+1), // the size needed, without a buffer
			int64(full[4]+1), int64(full[5]+1),
			int64(len("[]")+1)) // a NULL string prints as empty
		for i, w := range want {
			if got := texts(t, coll, uint32(i+1)); !bytes.Equal(got, padded(w)) {
				t.Errorf("text %d = %q, want %q", i+1, cString(got), w)
			}
		}
	})
}

func TestHelpersLoops(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "helpers_tour")
		run(t, program(t, coll, "loops"), packet4, xdpPass)
		checkResults(t, coll,
			10, 45, 5, 10, eINVAL, // bpf_loop: all, stopped early, bad flags
			8, 36, 3, 12, // bpf_for_each_map_elem over the array
			5, 55, 1) // and over the hash
		numbers := make([]uint64, 8)
		for i := range numbers {
			if err := mapOf(t, coll, "numbers").Lookup(uint32(i), &numbers[i]); err != nil {
				t.Fatal(err)
			}
		}
		if want := []uint64{4, 8, 12, 8, 10, 12, 14, 16}; !slices.Equal(numbers, want) {
			t.Errorf("numbers = %v, want %v (doubled by the callback)", numbers, want)
		}
		if got, want := hashContents(t, mapOf(t, coll, "squares")), map[uint32]uint64{1: 1, 2: 4, 3: 9, 4: 16, 5: 25}; !mapsEqual(got, want) {
			t.Errorf("squares = %v, want %v", got, want)
		}
	})
}

// csumDiff is bpf_csum_diff computed in Go: the 32-bit one's complement sum
// of seed, the words of to and the complements of the words of from, the
// words read in the host's byte order as the program stores them.
func csumDiff(from, to []uint32, seed uint32) int64 {
	s := uint64(seed)
	for _, w := range from {
		s += uint64(^w)
	}
	for _, w := range to {
		s += uint64(w)
	}
	for s>>32 != 0 {
		s = s&0xffffffff + s>>32
	}
	return int64(s)
}

func TestHelpersChecksums(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "helpers_tour")
		in := frame("10.0.0.1", "10.0.0.2", protoUDP, 12)
		in[24], in[25] = 0xde, 0xad // a wrong checksum for the program to fix
		res := run(t, program(t, coll, "checksums"), in, xdpTX)

		want := slices.Clone(in)
		binary.BigEndian.PutUint16(want[24:], ipChecksum(in[14:34]))
		if !bytes.Equal(res.Data, want) {
			t.Errorf("data_out:\n got %x\nwant %x", res.Data, want)
		}

		from := []uint32{0x01020304, 0x05060708}
		to := []uint32{0x11223344, 0xaabbccdd, 0xffffffff}
		checkResults(t, coll,
			0, 1, 0, -1, // bpf_strncmp, which returns -1, 0 or 1 as in Linux
			csumDiff(from, to, 0x1234), csumDiff(nil, to, 0), csumDiff(from, nil, 0),
			eINVAL,
			int64(binary.LittleEndian.Uint16(want[24:]))) // ip->check as the program read it
	})
}

func TestHelpersWindowsMemory(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "helpers_tour")
		run(t, program(t, coll, "windows_memory"), packet4, xdpPass)
		checkResults(t, coll, 1, 0, eINVAL, 0, 1, 1, 0)
		for i, want := range map[uint32]string{
			8:  "0123456789......",
			9:  "\x00\x00\x00\x00xxxx", // cleared by the failed bpf_memcpy_s
			10: "ababcdef",             // bpf_memmove_s of overlapping regions
		} {
			if got := texts(t, coll, i); !bytes.Equal(got, padded(want)) {
				t.Errorf("text %d = %q, want %q", i, bytes.TrimRight(got, "\x00"), want)
			}
		}
	})
}

func TestHelpersWindowsStrings(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "helpers_tour")
		run(t, program(t, coll, "windows_strings"), packet4, xdpPass)
		checkResults(t, coll, 0, 0, 9, 0, 4, eRANGE, 0, 0, eRANGE)
		if got := texts(t, coll, 11); !bytes.Equal(got, padded("alphabetagamma")) {
			t.Errorf("text 11 = %q", cString(got))
		}
		// The failed bpf_strncat_s left the destination as it was.
		if got := texts(t, coll, 12); !bytes.Equal(got, padded("alp")) {
			t.Errorf("text 12 = %q", cString(got))
		}
	})
}
