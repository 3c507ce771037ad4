package fanotifyx

import (
	"reflect"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	in := "22 27 0:21 / /proc rw,relatime - proc proc rw\n" +
		"27 1 254:0 / / rw,relatime shared:1 master:2 - ext4 /dev/vda rw\n" +
		"40 27 0:50 /sub /mnt/with\\040space\\134x rw - tmpfs tmpfs rw\n" +
		"garbage line\n" +
		"41 27 x:1 / /bad rw - tmpfs tmpfs rw\n" +
		"42 27 0:51 / /nosep rw tmpfs tmpfs rw\n" +
		"99 27 0:53 /a\\040b /mnt/a\\040b rw shared:1 - tmpfs none rw\n" +
		"43 27 0:52 / /last rw - overlay overlay rw"
	want := []Mount{
		{ID: 22, Major: 0, Minor: 21, Root: "/", Point: "/proc", FSType: "proc"},
		{ID: 27, Major: 254, Minor: 0, Root: "/", Point: "/", FSType: "ext4"},
		{ID: 40, Major: 0, Minor: 50, Root: "/sub", Point: "/mnt/with space\\x", FSType: "tmpfs"},
		{ID: 99, Major: 0, Minor: 53, Root: "/a b", Point: "/mnt/a b", FSType: "tmpfs"},
		{ID: 43, Major: 0, Minor: 52, Root: "/", Point: "/last", FSType: "overlay"},
	}
	if got := ParseMountinfo([]byte(in)); !reflect.DeepEqual(got, want) {
		t.Errorf("ParseMountinfo:\n got %+v\nwant %+v", got, want)
	}
	if got := ParseMountinfo(nil); got != nil {
		t.Errorf("ParseMountinfo(nil) = %+v", got)
	}
}

func TestIsPseudoFS(t *testing.T) {
	for fs, want := range map[string]bool{"proc": true, "cgroup2": true, "hugetlbfs": true, "ext4": false, "tmpfs": false, "devtmpfs": false, "overlay": false} {
		if got := IsPseudoFS(fs); got != want {
			t.Errorf("IsPseudoFS(%q) = %v", fs, got)
		}
	}
}

func TestParseStatus(t *testing.T) {
	const exec = StatusTgid | StatusPPid | StatusUID // the exec source's
	const all = exec | StatusGID                     // the file source's
	for _, tc := range []struct {
		in   string
		want StatusField
		st   Status
		ok   bool
	}{
		{"Name:\tsh\nState:\tS\nTgid:\t40\nPid:\t41\nPPid:\t42\nTracerPid:\t0\nUid:\t1000\t0\t0\t0\nGid:\t0\n", exec, Status{40, 42, 1000, 0}, true},
		{"PPid:\t1\n", exec, Status{PPid: 1}, false},
		{"Tgid:\t9\nUid:\t5\t5\t5\t5\nPPid:\t0", exec, Status{9, 0, 5, 0}, true},
		{"Tgid:\t9\nUid:\t5\t5\t5\t5\nPPid:\t0", all, Status{9, 0, 5, 0}, false},
		{"Tgid:\t9\nPPid:\tx\nUid:\t1\n", exec, Status{Tgid: 9, UID: 1}, false},
		{"", exec, Status{}, false},
		{"Name:\tcat\nTgid:\t70\nPid:\t71\nPPid:\t1\nUid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\n", all, Status{70, 1, 1000, 100}, true},
		// Stops once it has what it wants; ignores what it was not asked for.
		{"Tgid:\t70\nPPid:\t1\nUid:\t1000\nGid:\t100\n", exec, Status{70, 1, 1000, 0}, true},
		{"Gid:\t100\nTgid:\t70\n", StatusTgid, Status{Tgid: 70}, true},
	} {
		st, ok := ParseStatus([]byte(tc.in), tc.want)
		if st != tc.st || ok != tc.ok {
			t.Errorf("ParseStatus(%q, %b) = %+v, %v; want %+v, %v", tc.in, tc.want, st, ok, tc.st, tc.ok)
		}
	}
}

func TestParseSyscall(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Syscall
		ok   bool
	}{
		{"59 0xc000012345 0x7ffd0000 0x7ffd1000 0x0 0x0 0x0 0x7ffc0000 0x7f0000001234\n",
			Syscall{59, [6]uint64{0xc000012345, 0x7ffd0000, 0x7ffd1000}, 0x7ffc0000, true}, true},
		{"322 0xffffff9c 0x55aa 0x7ffe 0x7fff 0x1000 0x0 0x1 0x2",
			Syscall{322, [6]uint64{0xffffff9c, 0x55aa, 0x7ffe, 0x7fff, 0x1000}, 1, true}, true},
		{"257 0xffffff9c 0x7ffd1234 0x241 0x1b6 0x0 0x0 0x7ffd0000 0x7f00aaaa\n",
			Syscall{257, [6]uint64{0xffffff9c, 0x7ffd1234, 0x241, 0o666}, 0x7ffd0000, true}, true},
		// Six arguments but no stack pointer, or a bad one.
		{"59 0x1 0x2 0x3 0x4 0x5 0x6", Syscall{59, [6]uint64{1, 2, 3, 4, 5, 6}, 0, false}, true},
		{"59 0x1 0x2 0x3 0x4 0x5 0x6 7 0x8", Syscall{59, [6]uint64{1, 2, 3, 4, 5, 6}, 0, false}, true},
		{"running\n", Syscall{}, false},
		{"-1 0x7ffc0000 0x7f0000001234\n", Syscall{}, false},
		{"-1 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8\n", Syscall{}, false},
		{"59 0x1 0x2 0x3", Syscall{}, false},
		{"59 1 2 3 4 5 6 7 8", Syscall{}, false},
		{"59 0x1 0x2 0x3 0x4 0x5 0xg 0x7 0x8", Syscall{}, false},
		{"", Syscall{}, false},
	} {
		sc, ok := ParseSyscall([]byte(tc.in))
		if ok != tc.ok || sc != tc.want {
			t.Errorf("ParseSyscall(%q) = %+v, %v; want %+v, %v", tc.in, sc, ok, tc.want, tc.ok)
		}
	}
}
