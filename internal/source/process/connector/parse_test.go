package connector

import (
	"encoding/binary"
	"reflect"
	"testing"
	"time"
)

// message builds one netlink message carrying a proc_event.
func message(idx uint32, ack uint32, what uint32, ts uint64, data ...uint32) []byte {
	ev := make([]byte, procEventHdrLen+4*len(data))
	ne := binary.NativeEndian
	ne.PutUint32(ev, what)
	ne.PutUint64(ev[8:], ts)
	for i, d := range data {
		ne.PutUint32(ev[procEventHdrLen+4*i:], d)
	}
	b := make([]byte, nlmsgHdrLen+cnMsgLen, nlmsgHdrLen+cnMsgLen+len(ev))
	ne.PutUint32(b, uint32(nlmsgHdrLen+cnMsgLen+len(ev)))
	ne.PutUint16(b[4:], 3)
	c := b[nlmsgHdrLen:]
	ne.PutUint32(c, idx)
	ne.PutUint32(c[4:], cnValProc)
	ne.PutUint32(c[12:], ack)
	ne.PutUint16(c[16:], uint16(len(ev)))
	return append(b, ev...)
}

func TestParseMessages(t *testing.T) {
	fork := message(cnIdxProc, 0, evFork, 10, 100, 99, 101, 101, 0, 0)
	exec := message(cnIdxProc, 0, evExec, 11, 101, 101, 0, 0, 0, 0)
	exit := message(cnIdxProc, 0, evExit, 12, 101, 101, 45<<8, 17, 100, 99)
	oldExit := message(cnIdxProc, 0, evExit, 13, 102, 102, 9, 17)
	ack := message(cnIdxProc, 8, evNone, 0, 1, 0, 0, 0, 0, 0)
	foreign := message(7, 0, evExec, 11, 5, 5)
	uid := message(cnIdxProc, 0, 0x4, 14, 1, 1, 0, 0)
	var all []byte
	for _, m := range [][]byte{fork, exec, exit, oldExit, ack, foreign, uid} {
		all = append(all, m...)
	}
	var got []event
	if err := parseMessages(all, func(e event) { got = append(got, e) }); err != nil {
		t.Fatal(err)
	}
	want := []event{
		{What: evFork, Timestamp: 10, ParentPID: 100, ParentTGID: 99, ChildPID: 101, ChildTGID: 101},
		{What: evExec, Timestamp: 11, PID: 101, TGID: 101},
		{What: evExit, Timestamp: 12, PID: 101, TGID: 101, ExitCode: 45 << 8, ExitSignal: 17, ParentPID: 100, ParentTGID: 99},
		{What: evExit, Timestamp: 13, PID: 102, TGID: 102, ExitCode: 9, ExitSignal: 17},
		{What: evNone, Ack: 8, Err: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseMessages:\n got %+v\nwant %+v", got, want)
	}
	for _, bad := range [][]byte{
		fork[:10],
		fork[:len(fork)-4],
		append([]byte{1, 0, 0, 0}, make([]byte, 12)...),
	} {
		if err := parseMessages(bad, func(event) {}); err == nil {
			t.Errorf("no error for %x", bad)
		}
	}
	if err := parseMessages(nil, func(event) { t.Error("event from nothing") }); err != nil {
		t.Error(err)
	}
	// A cn_msg too short for a proc_event is skipped.
	short := message(cnIdxProc, 0, evExec, 1)
	binary.NativeEndian.PutUint16(short[nlmsgHdrLen+16:], 8)
	binary.NativeEndian.PutUint32(short, uint32(nlmsgHdrLen+cnMsgLen+8))
	if err := parseMessages(short[:nlmsgHdrLen+cnMsgLen+8], func(event) { t.Error("event from a short message") }); err != nil {
		t.Error(err)
	}
}

func TestRequest(t *testing.T) {
	b := request(mcastListen, 7, 9)
	ne := binary.NativeEndian
	if len(b) != 40 || ne.Uint32(b) != 40 || ne.Uint16(b[4:]) != 3 ||
		ne.Uint32(b[16:]) != cnIdxProc || ne.Uint32(b[20:]) != cnValProc ||
		ne.Uint32(b[24:]) != 7 || ne.Uint32(b[28:]) != 9 || ne.Uint16(b[32:]) != 4 || ne.Uint32(b[36:]) != mcastListen {
		t.Errorf("request: %x", b)
	}
}

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct{ status, code, sig uint32 }{
		{0, 0, 0},
		{45 << 8, 45, 0},
		{255 << 8, 255, 0},
		{9, 137, 9},
		{15, 143, 15},
		{11 | 0x80, 139, 11}, // SIGSEGV with a core dump
	} {
		code, sig := exitStatus(tc.status)
		if code != tc.code || sig != tc.sig {
			t.Errorf("exitStatus(%#x) = %d, %d; want %d, %d", tc.status, code, sig, tc.code, tc.sig)
		}
	}
}

func TestParseStat(t *testing.T) {
	line := "1234 (a) b) (c) S 77 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 100 18446744073709551615\n"
	ppid, start, ok := parseStat([]byte(line))
	if !ok || ppid != 77 || start != 98765 {
		t.Errorf("parseStat = %d, %d, %v; want 77, 98765, true", ppid, start, ok)
	}
	for _, bad := range []string{"", "1234 (x", "1 (x) S 2 3", "1 (x) S y 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 1 0 5"} {
		if _, _, ok := parseStat([]byte(bad)); ok {
			t.Errorf("parseStat(%q) ok", bad)
		}
	}
}

func TestParseUID(t *testing.T) {
	if uid, ok := parseUID([]byte("Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t5\n")); !ok || uid != 1000 {
		t.Errorf("parseUID = %d, %v", uid, ok)
	}
	for _, bad := range []string{"", "Name:\tx\n", "Uid:\n", "Uid:\tx\n"} {
		if _, ok := parseUID([]byte(bad)); ok {
			t.Errorf("parseUID(%q) ok", bad)
		}
	}
}

func TestSplitCmdline(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"sleep\x001\x00", []string{"sleep", "1"}},
		{"a\x00\x00b\x00", []string{"a", "", "b"}},
		{"\x00", []string{""}},
		{"nginx: worker process", []string{"nginx: worker process"}},
	} {
		if got := splitCmdline([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitCmdline(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestInitNamespaces(t *testing.T) {
	initMap := "         0          0 4294967295\n"
	for _, tc := range []struct {
		status, uidMap string
		pidOK, userOK  bool
	}{
		{"Name:\tx\nNSpid:\t42\n", initMap, true, true},
		{"NSpid:\t4242\t7\n", initMap, false, true},
		{"Name:\tx\n", initMap, true, true}, // before Linux 4.1: no NSpid
		{"NSpid:\t42\n", "0 1000 1\n", true, false},
		{"NSpid:\t42\n", "", true, false},
	} {
		p, u := initNamespaces([]byte(tc.status), []byte(tc.uidMap))
		if p != tc.pidOK || u != tc.userOK {
			t.Errorf("initNamespaces(%q, %q) = %v, %v; want %v, %v", tc.status, tc.uidMap, p, u, tc.pidOK, tc.userOK)
		}
	}
}

func TestClocks(t *testing.T) {
	c := clocks{monoToWall: 1e9, bootToWall: 2e9}
	if got := c.fromMono(5); !got.Equal(time.Unix(1, 5)) {
		t.Errorf("fromMono = %v", got)
	}
	if got := c.fromBoot(5); !got.Equal(time.Unix(2, 5)) {
		t.Errorf("fromBoot = %v", got)
	}
}

func FuzzParseMessages(f *testing.F) {
	f.Add(message(cnIdxProc, 0, evExit, 12, 101, 101, 45<<8, 17, 100, 99))
	f.Add(message(cnIdxProc, 0, evFork, 10, 100, 99, 101, 101, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseMessages(b, func(event) {})
		parseStat(b)
		parseUID(b)
		splitCmdline(b)
	})
}
