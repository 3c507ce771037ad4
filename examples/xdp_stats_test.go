package examples_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost"
)

func TestXDPPass(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		_, coll := load(t, opts, "xdp_pass")
		p := program(t, coll, "xdp_pass")
		for _, data := range [][]byte{nil, {1}, udp("10.0.0.1", "10.0.0.2", 10)} {
			res, err := p.TestRun(&ebpfhost.TestRunOptions{Data: data, Repeat: 100})
			if err != nil {
				t.Fatal(err)
			}
			if res.ReturnValue != xdpPass || !bytes.Equal(res.Data, data) {
				t.Errorf("r0 %d, data_out %x; want XDP_PASS and the packet unchanged", res.ReturnValue, res.Data)
			}
		}
	})
}

// IP protocols.
const (
	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17
)

// frame builds an Ethernet frame around an IPv4 packet from src to dst
// carrying an ICMP echo request, a TCP SYN or a UDP datagram with payload
// bytes of data.
func frame(src, dst string, proto uint8, payload int) []byte {
	var l4 []byte
	be := binary.BigEndian
	switch proto {
	case protoICMP:
		l4 = []byte{8, 0, 0, 0, 0x12, 0x34, 0, 1} // echo request, id 0x1234, seq 1
	case protoTCP:
		l4 = make([]byte, 20)
		be.PutUint16(l4[0:], 40000) // source port
		be.PutUint16(l4[2:], 443)   // destination port
		be.PutUint32(l4[4:], 1)     // sequence number
		l4[12] = 5 << 4             // data offset: 5 words
		l4[13] = 0x02               // SYN
		be.PutUint16(l4[14:], 65535)
	case protoUDP:
		l4 = make([]byte, 8)
		be.PutUint16(l4[0:], 40000)
		be.PutUint16(l4[2:], 53)
		be.PutUint16(l4[4:], uint16(8+payload))
	}
	for i := 0; i < payload; i++ {
		l4 = append(l4, byte(i))
	}
	ip := make([]byte, 20)
	ip[0] = 0x45 // version 4, 5 words
	be.PutUint16(ip[2:], uint16(20+len(l4)))
	be.PutUint16(ip[4:], 0x1c46) // id
	be.PutUint16(ip[6:], 0x4000) // don't fragment
	ip[8] = 64                   // ttl
	ip[9] = proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	be.PutUint16(ip[10:], ipChecksum(ip))
	return append(append(ether(0x0800), ip...), l4...)
}

func udp(src, dst string, payload int) []byte { return frame(src, dst, protoUDP, payload) }

// ether returns an Ethernet header with the given EtherType.
func ether(etherType uint16) []byte {
	h := []byte{
		0x02, 0, 0, 0, 0, 0x02, // destination
		0x02, 0, 0, 0, 0, 0x01, // source
		0, 0,
	}
	binary.BigEndian.PutUint16(h[12:], etherType)
	return h
}

// ipChecksum is the Internet checksum (RFC 1071) of an IPv4 header.
func ipChecksum(hdr []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(hdr); i += 2 {
		if i == 10 {
			continue // the checksum field itself
		}
		s += uint32(binary.BigEndian.Uint16(hdr[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// packetEvent mirrors struct packet_event in xdp_stats.c.
type packetEvent struct {
	Saddr   [4]byte // network byte order
	Daddr   [4]byte
	Len     uint32
	Proto   uint8
	Verdict uint8
	Pad     uint16
}

// ipv4Prefix mirrors struct ipv4_prefix, the key of the blocklist.
type ipv4Prefix struct {
	PrefixLen uint32
	Addr      [4]byte
}

func prefix(s string) ipv4Prefix {
	p := netip.MustParsePrefix(s)
	return ipv4Prefix{uint32(p.Bits()), p.Addr().As4()}
}

func addr(s string) [4]byte { return netip.MustParseAddr(s).As4() }

// statsPacket is a packet for xdp_stats and what it should do with it.
type statsPacket struct {
	data    []byte
	src     string // "" for frames that are not IPv4
	dst     string
	proto   uint8
	verdict uint64
}

// statsTraffic is the traffic the xdp_stats tests send. 192.0.2.0/24 is on
// the blocklist.
func statsTraffic() []statsPacket {
	p := func(src, dst string, proto uint8, payload int, verdict uint64) statsPacket {
		return statsPacket{frame(src, dst, proto, payload), src, dst, proto, verdict}
	}
	truncated := frame("10.0.0.1", "10.0.0.2", protoTCP, 0)[:14+19] // IPv4 header cut short
	return []statsPacket{
		p("10.0.0.1", "10.0.0.2", protoTCP, 100, xdpPass),
		p("10.0.0.1", "10.0.0.3", protoUDP, 50, xdpPass),
		p("10.0.0.2", "10.0.0.1", protoICMP, 56, xdpPass),
		p("192.0.2.77", "10.0.0.1", protoTCP, 0, xdpDrop),
		p("10.0.0.1", "10.0.0.2", protoTCP, 10, xdpPass),
		p("192.0.2.200", "10.0.0.1", protoUDP, 20, xdpDrop),
		p("192.0.3.1", "10.0.0.1", protoUDP, 0, xdpPass),                     // next to the blocked /24
		{data: append(ether(0x0806), make([]byte, 28)...), verdict: xdpPass}, // ARP
		{data: truncated, verdict: xdpPass},
	}
}

// statsTotals is what xdp_stats should have counted for some traffic.
type statsTotals struct {
	protoPackets map[uint32]uint64
	srcBytes     map[uint32]uint64 // keyed by the address as the map stores it
	blockHits    uint64
	other        uint64
	events       int
}

func expectedTotals(traffic []statsPacket, times int) statsTotals {
	tot := statsTotals{protoPackets: map[uint32]uint64{}, srcBytes: map[uint32]uint64{}}
	for _, p := range traffic {
		if p.src == "" {
			tot.other += uint64(times)
			continue
		}
		a := addr(p.src)
		tot.protoPackets[uint32(p.proto)] += uint64(times)
		tot.srcBytes[binary.NativeEndian.Uint32(a[:])] += uint64(len(p.data) * times)
		if p.verdict == xdpDrop {
			tot.blockHits += uint64(times)
		}
		tot.events += times
	}
	return tot
}

// checkTotals compares the maps of xdp_stats with the expected totals.
func checkTotals(t *testing.T, coll *ebpfhost.Collection, want statsTotals) {
	t.Helper()
	// proto_packets: per-CPU counters; the total is their sum.
	protos := perCPUContents(t, mapOf(t, coll, "proto_packets"))
	if len(protos) != 256 {
		t.Errorf("proto_packets has %d entries, want 256 (an array)", len(protos))
	}
	for proto, v := range protos {
		if got := sum(v); got != want.protoPackets[proto] {
			t.Errorf("proto_packets[%d] = %d (per CPU %v), want %d", proto, got, v, want.protoPackets[proto])
		}
	}
	// src_bytes: one entry per source seen.
	if got := hashContents(t, mapOf(t, coll, "src_bytes")); !mapsEqual(got, want.srcBytes) {
		t.Errorf("src_bytes = %v, want %v", got, want.srcBytes)
	}
	// blocklist: the value of the /24 counts the packets it dropped.
	var hits uint64
	if err := mapOf(t, coll, "blocklist").Lookup(prefix("192.0.2.0/24"), &hits); err != nil || hits != want.blockHits {
		t.Errorf("blocklist hits = %d, %v; want %d", hits, err, want.blockHits)
	}
	// .bss: the frames that were not IPv4.
	var other uint64
	if err := mapOf(t, coll, ".bss").Lookup(uint32(0), &other); err != nil || other != want.other {
		t.Errorf("other_frames = %d, %v; want %d", other, err, want.other)
	}
}

func mapsEqual(a, b map[uint32]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func setUpStats(t *testing.T, opts ebpfhost.Options) (*ebpfhost.Collection, *ebpfhost.RingBufReader) {
	t.Helper()
	_, coll := load(t, opts, "xdp_stats")
	if err := mapOf(t, coll, "blocklist").Put(prefix("192.0.2.0/24"), uint64(0)); err != nil {
		t.Fatal(err)
	}
	rd, err := ebpfhost.NewRingBufReader(mapOf(t, coll, "events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return coll, rd
}

func TestXDPStats(t *testing.T) {
	inModes(t, ebpfhost.Options{}, func(t *testing.T, opts ebpfhost.Options) {
		coll, rd := setUpStats(t, opts)

		// The configuration in .rodata: blocked_verdict and send_events.
		rodata := make([]byte, mapOf(t, coll, ".rodata").ValueSize())
		if err := mapOf(t, coll, ".rodata").Lookup(uint32(0), rodata); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rodata, []byte{xdpDrop, 0, 0, 0, 1}) {
			t.Errorf(".rodata = %x, want blocked_verdict XDP_DROP and send_events 1", rodata)
		}
		// It is frozen: user space cannot change it after loading.
		if err := mapOf(t, coll, ".rodata").Put(uint32(0), rodata); err == nil {
			t.Error("updating .rodata succeeded; it should be frozen")
		}

		traffic := statsTraffic()
		p := program(t, coll, "xdp_stats")
		for i, pkt := range traffic {
			res := run(t, p, pkt.data, pkt.verdict)
			if !bytes.Equal(res.Data, pkt.data) {
				t.Errorf("packet %d: data_out differs from data_in", i)
			}
		}
		checkTotals(t, coll, expectedTotals(traffic, 1))

		// One record per IPv4 packet, in order, field by field.
		for i, pkt := range traffic {
			if pkt.src == "" {
				continue
			}
			rec, err := rd.Read()
			if err != nil {
				t.Fatal(err)
			}
			var ev packetEvent
			if len(rec.RawSample) != binary.Size(ev) {
				t.Fatalf("record %d is %d bytes, want %d", i, len(rec.RawSample), binary.Size(ev))
			}
			if _, err := binary.Decode(rec.RawSample, binary.NativeEndian, &ev); err != nil {
				t.Fatal(err)
			}
			want := packetEvent{addr(pkt.src), addr(pkt.dst), uint32(len(pkt.data)), pkt.proto, uint8(pkt.verdict), 0}
			if ev != want {
				t.Errorf("record %d = %+v, want %+v", i, ev, want)
			}
		}
		noMoreRecords(t, rd)
		if n := rd.Dropped(); n != 0 {
			t.Errorf("%d records dropped", n)
		}

		// Taking the prefix off the blocklist lets the source through.
		if err := mapOf(t, coll, "blocklist").Delete(prefix("192.0.2.0/24")); err != nil {
			t.Fatal(err)
		}
		run(t, p, frame("192.0.2.77", "10.0.0.1", protoTCP, 0), xdpPass)
	})
}

// TestXDPStatsConcurrent runs xdp_stats from several goroutines at once on
// four virtual CPUs while a reader drains the ring buffer, and checks that
// every packet is counted exactly once.
func TestXDPStatsConcurrent(t *testing.T) {
	const goroutines, rounds = 8, 50
	inModes(t, ebpfhost.Options{CPUs: 4}, func(t *testing.T, opts ebpfhost.Options) {
		coll, rd := setUpStats(t, opts)
		traffic := statsTraffic()
		p := program(t, coll, "xdp_stats")

		type key struct {
			src     [4]byte
			verdict uint8
		}
		got := map[key]int{}
		var readErr error
		readerDone := make(chan struct{})
		go func() {
			defer close(readerDone)
			var rec ebpfhost.RingBufRecord
			for {
				if err := rd.ReadInto(&rec); err != nil {
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						readErr = err
					}
					return
				}
				var ev packetEvent
				if _, err := binary.Decode(rec.RawSample, binary.NativeEndian, &ev); err != nil {
					readErr = err
					return
				}
				got[key{ev.Saddr, ev.Verdict}]++
			}
		}()

		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := 0; r < rounds; r++ {
					for _, pkt := range traffic {
						res, err := p.TestRun(&ebpfhost.TestRunOptions{Data: pkt.data})
						if err != nil {
							errs <- err
							return
						}
						if res.ReturnValue != pkt.verdict {
							errs <- errors.New("wrong verdict")
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// Every record is committed: let the reader drain them, then stop
		// at the first read that would wait.
		rd.SetDeadline(time.Unix(0, 1))
		<-readerDone
		if readErr != nil {
			t.Fatal(readErr)
		}

		const times = goroutines * rounds
		checkTotals(t, coll, expectedTotals(traffic, times))
		want := map[key]int{}
		for _, pkt := range traffic {
			if pkt.src != "" {
				want[key{addr(pkt.src), uint8(pkt.verdict)}] += times
			}
		}
		if len(got) != len(want) {
			t.Errorf("records by source and verdict: %v, want %v", got, want)
		}
		for k, n := range want {
			if got[k] != n {
				t.Errorf("%v with verdict %d: %d records, want %d", netip.AddrFrom4(k.src), k.verdict, got[k], n)
			}
		}
		if n := rd.Dropped(); n != 0 {
			t.Errorf("%d records dropped", n)
		}
	})
}
