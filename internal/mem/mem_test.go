package mem

import (
	"runtime"
	"testing"
)

func TestAllocFree(t *testing.T) {
	for _, n := range []int{1, 100, 4096, 4097, 1 << 20} {
		b, err := Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() != n || len(Slice(b.Addr(), n)) != n {
			t.Errorf("size %d: block of %d", n, b.Len())
		}
		Slice(b.Addr(), n)[n-1] = 1
		if err := b.Free(); err != nil {
			t.Errorf("free of %d bytes: %v", n, err)
		}
	}
	if _, err := Alloc(0); err == nil {
		t.Error("Alloc(0) succeeded")
	}
}

func TestAllocLow(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("low memory is only implemented on Linux")
	}
	for _, n := range []int{64, 70000} {
		b, err := AllocLow(n)
		if err != nil {
			t.Fatal(err)
		}
		if end := b.Addr() + uint64(n); end > 1<<32 {
			t.Errorf("block ends at 0x%x, above 4 GiB", end)
		}
		Slice(b.Addr(), n)[0] = 1
		if err := b.Free(); err != nil {
			t.Error(err)
		}
	}
}

func TestExtent(t *testing.T) {
	b, err := Alloc(100)
	if err != nil {
		t.Fatal(err)
	}
	a := b.Addr()
	for _, tc := range []struct {
		addr uint64
		want uint64
	}{{a, 100}, {a + 99, 1}, {a + 100, 0}, {a - 1, 0}, {0, 0}} {
		if got := Extent(tc.addr); got != tc.want {
			t.Errorf("Extent(base%+d) = %d, want %d", int64(tc.addr-a), got, tc.want)
		}
	}
	b.Free()
	if Extent(a) != 0 {
		t.Error("a freed block is still registered")
	}
}
