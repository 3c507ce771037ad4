package maps

import (
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/mem"
)

func init() {
	register(RingBuf, newRingBuf)
}

// Flags of bpf_ringbuf_output, bpf_ringbuf_submit and bpf_ringbuf_discard,
// numbered as in Linux. They decide whether a reader blocked in
// RingBufReader.Read is woken by the record (see RingBufMap.Submit).
const (
	RingBufNoWakeup    = 1 // BPF_RB_NO_WAKEUP: never wake the reader for this record
	RingBufForceWakeup = 2 // BPF_RB_FORCE_WAKEUP: always wake the reader
)

// Queries of bpf_ringbuf_query, numbered as in Linux.
const (
	RingBufAvailData = 0 // BPF_RB_AVAIL_DATA: bytes between consumer and producer
	RingBufRingSize  = 1 // BPF_RB_RING_SIZE: size of the data area
	RingBufConsPos   = 2 // BPF_RB_CONS_POS: consumer position
	RingBufProdPos   = 3 // BPF_RB_PROD_POS: producer position
)

// Record header layout, as in Linux (struct bpf_ringbuf_hdr): a 32-bit length
// whose top two bits are flags, then 32 bits Linux uses for a page offset
// and ebpfhost leaves zero.
const (
	rbHdrSize    = 8
	rbBusyBit    = 1 << 31 // reserved, not yet submitted or discarded
	rbDiscardBit = 1 << 30 // discarded: the reader skips the record
	rbLenMask    = rbDiscardBit - 1
	rbPageSize   = 4096
	rbMaxRecord  = rbLenMask // RINGBUF_MAX_RECORD_SZ: the length must not reach the flag bits
	rbCacheLine  = 64
	rbWakeFlags  = RingBufNoWakeup | RingBufForceWakeup
)

// RingBufMap is a BPF_MAP_TYPE_RINGBUF: a multi-producer, single-consumer
// queue of variable-length records in a data area of MaxEntries bytes.
//
// Layout and protocol follow Linux so that programs see the same behaviour:
// the producer position and the consumer position count bytes since
// creation; a record occupies an 8-byte header and its data rounded up to 8
// bytes, at data offset pos&mask. Reserving advances the producer position
// under a short lock (Linux's spinlock) and writes the header with the BUSY
// bit; submitting or discarding clears BUSY (setting DISCARD for a discard)
// without the lock. The reader consumes in reservation order and stops at
// the first BUSY record, so records are never torn and a slow producer
// holds up the ones reserved after it, as in Linux.
//
// Linux maps the data pages twice, back to back, so that a record that
// wraps past the end of the ring is still contiguous in memory. The same
// effect is had here without a second mapping: the data area is followed by
// an extension of the same size, and a record that starts near the end
// simply runs on into the extension. Both the program (through the address
// Reserve returns) and the reader use that contiguous copy; the bytes at the
// start of the ring that the record's positions cover are left unused. At
// most one unconsumed record can overhang the end at a time (a second one
// would be a whole lap later, beyond what the consumer position allows), so
// the extension is never shared.
//
// The program side (Reserve, Submit, Discard, Output, Query) may run on any
// number of virtual CPUs at once; the reading side is a RingBufReader.
type RingBufMap struct {
	spec   Spec
	blk    *mem.Block
	base   uint64 // address of data offset 0
	size   uint64 // data area size (max_entries)
	mask   uint64
	wakeCh chan struct{} // a wake-up token for the reader; capacity 1
	done   chan struct{} // closed by Close

	_ [rbCacheLine]byte
	// Producer side: the lock and what it guards.
	pmu       sync.Mutex
	prod      atomic.Uint64 // written under pmu; read by the reader and Query
	consCache uint64        // a consumer position seen earlier (under pmu); it only lags

	_ [rbCacheLine]byte
	// Consumer side, owned by the open reader (under its mu): the consumer
	// position, published for every record, and a producer position the
	// reader saw, so that it reads the producers' line only when it has
	// used up what it saw.
	cons      atomic.Uint64
	prodCache uint64

	_ [rbCacheLine]byte
	// waiting is 1 while the reader is about to block, so that submits wake
	// it; producers read it on every submit, the reader writes it only
	// when it runs dry, so it has a line of its own.
	waiting atomic.Uint32

	_       [rbCacheLine]byte
	dropped atomic.Uint64

	// Lifetime. The memory is freed by whichever comes last of Close and
	// the release of the open reader, so that a reader can copy records
	// without taking a lock per record to keep Close from freeing them.
	closed    atomic.Bool // set by Close; the reader checks it per read
	lmu       sync.Mutex
	closing   bool // under lmu: Close was called
	hasReader bool // under lmu: a RingBufReader holds the consumer side
}

func newRingBuf(spec *Spec, _ *Env) (Map, error) {
	if spec.KeySize != 0 || spec.ValueSize != 0 {
		return nil, fmtErr("ring buffers take no keys or values (key and value size must be 0, not %d and %d): %w", spec.KeySize, spec.ValueSize, EINVAL)
	}
	n := uint64(spec.MaxEntries)
	// (max_entries being a uint32 bounds the size at 2 GiB.)
	if n < rbPageSize || n&(n-1) != 0 || n%rbPageSize != 0 {
		return nil, fmtErr("max_entries (the data size in bytes) must be a power of two and a multiple of the %d-byte page size, not %d: %w", rbPageSize, n, EINVAL)
	}
	// The data area plus the extension that keeps wrapping records
	// contiguous (see RingBufMap).
	blk, err := mem.Alloc(int(2 * n))
	if err != nil {
		return nil, err
	}
	return &RingBufMap{
		spec:   *spec,
		blk:    blk,
		base:   blk.Addr(),
		size:   n,
		mask:   n - 1,
		wakeCh: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}, nil
}

func rbHdr(addr uint64) *uint32 { return (*uint32)(mem.Pointer(addr)) }

// Reserve reserves a record of size bytes for a program
// (bpf_ringbuf_reserve) and returns the address of its data: the program
// may write the size bytes from addr to addr+size, which are contiguous even
// when the record wraps around the end of the ring, until it passes addr to
// Submit or Discard. The address is 8-byte aligned. Reserve returns 0, and
// counts a drop, when size exceeds the ring or Linux's record limit, or when
// the ring has no room now; in the last case it also wakes a blocked reader.
//
// The caller checks bpf_ringbuf_reserve's flags argument (Linux requires
// 0); Reserve has none.
func (m *RingBufMap) Reserve(size uint64) uint64 {
	if size > rbMaxRecord || size > m.size {
		m.dropped.Add(1)
		return 0
	}
	total := (size + rbHdrSize + 7) &^ 7
	m.pmu.Lock()
	prod := m.prod.Load()
	if prod+total-m.consCache > m.size {
		// The cached consumer position may be stale; only a fresh look
		// (which costs a cache miss on the reader's line) can tell if
		// the ring is really full.
		m.consCache = m.cons.Load()
		if prod+total-m.consCache > m.size {
			m.pmu.Unlock()
			m.dropped.Add(1)
			// A full ring has records for the reader, unless it is
			// held up by a busy one. Wake it if it sleeps: otherwise
			// records committed with RingBufNoWakeup could leave it
			// asleep while producers fail for want of space, for
			// good if they wait for room before committing more.
			m.wake(0)
			return 0
		}
	}
	hdr := m.base + prod&m.mask
	// Plain stores are enough: the reader looks at the header only after
	// loading the producer position stored below.
	h := (*[2]uint32)(mem.Pointer(hdr))
	h[0] = uint32(size) | rbBusyBit
	h[1] = 0
	m.prod.Store(prod + total)
	m.pmu.Unlock()
	return hdr + rbHdrSize
}

// Submit publishes the record at addr, which Reserve returned
// (bpf_ringbuf_submit).
//
// Wake-up policy: the reader is woken when it is blocked waiting for data
// (whatever record it is waiting on), which is Linux's default rule ("wake
// when the consumer has caught up with this record") made exact for a
// single in-process reader, so no submit is lost and no wake-up is wasted
// on a reader that is busy anyway. RingBufNoWakeup never wakes (the reader
// sees the record the next time it is woken or looks), and
// RingBufForceWakeup always wakes, leaving a token if the reader is not
// blocked yet. As in Linux, Force wins when both are set and other bits are
// ignored (the record must be released in any case, or it would block the
// ring for good). Unlike Linux, a reservation that fails because the ring
// is full also wakes a blocked reader (see Reserve).
//
// Submit fails with EINVAL, and changes nothing, if addr is not the data
// address of a reserved, unsubmitted record; the verifier normally rules
// that out, so helpers may ignore the error.
func (m *RingBufMap) Submit(addr, flags uint64) error { return m.commit(addr, flags, 0) }

// Discard releases the record at addr without publishing it
// (bpf_ringbuf_discard); the reader skips it. Flags and errors are as for
// Submit.
func (m *RingBufMap) Discard(addr, flags uint64) error {
	return m.commit(addr, flags, rbDiscardBit)
}

func (m *RingBufMap) commit(addr, flags uint64, bits uint32) error {
	off := addr - rbHdrSize - m.base
	if addr < m.base+rbHdrSize || off >= m.size || off&7 != 0 {
		return EINVAL
	}
	p := rbHdr(addr - rbHdrSize)
	h := atomic.LoadUint32(p)
	if h&rbBusyBit == 0 {
		return EINVAL
	}
	atomic.StoreUint32(p, h&^rbBusyBit|bits)
	m.wake(flags)
	return nil
}

// wake applies the wake-up policy described at Submit.
func (m *RingBufMap) wake(flags uint64) {
	switch {
	case flags&RingBufForceWakeup != 0:
		m.waiting.Store(0)
	case flags&RingBufNoWakeup != 0:
		return
	case m.waiting.Load() == 0 || m.waiting.Swap(0) == 0:
		return
	}
	select {
	case m.wakeCh <- struct{}{}:
	default: // a token is already pending
	}
}

// Output copies data into a new record and submits it (bpf_ringbuf_output).
// It fails with EAGAIN, counting a drop, when the ring has no room, and with
// EINVAL for flags other than RingBufNoWakeup and RingBufForceWakeup.
func (m *RingBufMap) Output(data []byte, flags uint64) error {
	if flags&^rbWakeFlags != 0 {
		return EINVAL
	}
	addr := m.Reserve(uint64(len(data)))
	if addr == 0 {
		return EAGAIN
	}
	copy(mem.Slice(addr, len(data)), data)
	return m.commit(addr, flags, 0)
}

// Query answers bpf_ringbuf_query: RingBufAvailData, RingBufRingSize,
// RingBufConsPos or RingBufProdPos; 0 for anything else, as Linux. The
// values are snapshots that other CPUs may change at once.
func (m *RingBufMap) Query(flags uint64) uint64 {
	switch flags {
	case RingBufAvailData:
		cons := m.cons.Load()
		return m.prod.Load() - cons
	case RingBufRingSize:
		return m.size
	case RingBufConsPos:
		return m.cons.Load()
	case RingBufProdPos:
		return m.prod.Load()
	}
	return 0
}

// Dropped returns how many records programs failed to reserve or output
// because the ring had no room for them.
func (m *RingBufMap) Dropped() uint64 { return m.dropped.Load() }

// Spec returns the spec the map was created from.
func (m *RingBufMap) Spec() *Spec { return &m.spec }

// Lookup finds nothing: ring buffers have no keys.
func (m *RingBufMap) Lookup([]byte, int) uint64 { return 0 }

// Update is not supported: programs write records with Reserve or Output.
func (m *RingBufMap) Update([]byte, []byte, uint64, int) error { return ENOTSUP }

// Delete is not supported: ring buffers have no keys.
func (m *RingBufMap) Delete([]byte) error { return ENOTSUP }

// LookupUser is not supported: user space reads records with a
// RingBufReader.
func (m *RingBufMap) LookupUser([]byte, []byte) error { return ENOTSUP }

// UpdateUser is not supported: only programs produce records.
func (m *RingBufMap) UpdateUser([]byte, []byte, uint64) error { return ENOTSUP }

// DeleteUser is not supported: ring buffers have no keys.
func (m *RingBufMap) DeleteUser([]byte) error { return ENOTSUP }

// NextKey is not supported: ring buffers have no keys.
func (m *RingBufMap) NextKey([]byte, []byte) error { return ENOTSUP }

// Close closes the map. A reader blocked on it returns os.ErrClosed, as
// does any later read. The memory is released at once, or, while a reader
// is open, when that reader notices the close or is closed itself.
// Programs must no longer run with the map. Closing twice is harmless.
func (m *RingBufMap) Close() error {
	m.lmu.Lock()
	defer m.lmu.Unlock()
	if m.closing {
		return nil
	}
	m.closing = true
	m.closed.Store(true)
	close(m.done)
	if m.hasReader {
		return nil
	}
	return m.free()
}

// free releases the memory; it runs with lmu held.
func (m *RingBufMap) free() error {
	err := m.blk.Free()
	m.blk = nil
	return err
}

// releaseReader gives back the consumer side, freeing the memory if the
// map was closed meanwhile.
func (m *RingBufMap) releaseReader() error {
	m.lmu.Lock()
	defer m.lmu.Unlock()
	m.hasReader = false
	if m.closing && m.blk != nil {
		return m.free()
	}
	return nil
}

// next moves the consumer past discarded records and, if the record at the
// consumer position is submitted, copies it into rec (unless peek) and
// consumes it. It reports whether a record was (or, with peek, is) there.
// fresh makes it look at the producer position even when an earlier look
// promised more records. The open reader calls it with its mu held, so the
// consumer side has one user and needs no lock of its own.
func (m *RingBufMap) next(rec *RingBufRecord, peek, fresh bool) bool {
	cons := m.cons.Load()
	for {
		if cons == m.prodCache || fresh {
			// Only look at the producers' line when the records seen
			// before are used up (or the caller is about to block and
			// must not rely on an old look).
			m.prodCache = m.prod.Load()
			fresh = false
			if cons == m.prodCache {
				return false
			}
		}
		hdr := m.base + cons&m.mask
		h := atomic.LoadUint32(rbHdr(hdr))
		if h&rbBusyBit != 0 {
			return false
		}
		n := uint64(h & rbLenMask)
		total := (n + rbHdrSize + 7) &^ 7
		if h&rbDiscardBit != 0 {
			cons += total
			m.cons.Store(cons)
			continue
		}
		if peek {
			return true
		}
		rec.RawSample = append(rec.RawSample[:0], mem.Slice(hdr+rbHdrSize, int(n))...)
		cons += total
		// Publishing the position hands the record's space back to the
		// producers, so it must come after the copy.
		m.cons.Store(cons)
		rec.Remaining = int(m.prodCache - cons)
		return true
	}
}

// RingBufRecord is one record read from a ring buffer.
type RingBufRecord struct {
	// RawSample is a copy of the record's data.
	RawSample []byte
	// Remaining is how many bytes of the ring (headers included) were
	// still unread after this record when the reader last looked at the
	// producer position; more may have arrived since.
	Remaining int
}

// RingBufReader reads a ring buffer's records in user space, in the order
// programs reserved them. A map has at most one open reader, because the
// consumer position is shared state (as with Linux's single consumer).
// Close the reader when done with it: after the map is closed, the reader
// frees the ring's memory when it notices or is closed.
//
// Read and ReadInto block without spinning: the reader announces that it
// is about to wait, looks once more, and sleeps on a channel that a submit
// signals (see RingBufMap.Submit for when).
type RingBufReader struct {
	m *RingBufMap

	// mu serialises reads, which own the map's consumer side while they
	// run; Close takes it to wait for a read to end.
	mu       sync.Mutex
	timer    *time.Timer // under mu; reused so that timed waits do not allocate
	released bool        // under mu: the consumer side was given back

	deadline atomic.Pointer[time.Time] // nil: none
	closed   atomic.Bool
	done     chan struct{} // closed by Close, after closed is set
	once     sync.Once
}

// NewReader opens the map's reader. It fails with EBUSY while another
// reader is open, and with os.ErrClosed after the map was closed.
func (m *RingBufMap) NewReader() (*RingBufReader, error) {
	m.lmu.Lock()
	defer m.lmu.Unlock()
	if m.closing {
		return nil, os.ErrClosed
	}
	if m.hasReader {
		return nil, fmtErr("ring buffer %q already has a reader: %w", m.spec.Name, EBUSY)
	}
	m.hasReader = true
	return &RingBufReader{m: m, done: make(chan struct{})}, nil
}

// Read waits for the next record and returns it in a newly allocated
// RawSample. It fails with os.ErrClosed once the reader or the map is
// closed, and with os.ErrDeadlineExceeded when the deadline passes first.
func (r *RingBufReader) Read() (RingBufRecord, error) {
	var rec RingBufRecord
	err := r.ReadInto(&rec)
	return rec, err
}

// ReadInto is Read that reuses rec.RawSample's storage, so a loop over
// ReadInto with the same record allocates nothing once the buffer has grown
// to the largest record.
func (r *RingBufReader) ReadInto(rec *RingBufRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.read(rec, false, r.getDeadline())
}

// Poll waits until a record can be read without blocking or timeout has
// passed (os.ErrDeadlineExceeded). A timeout of 0 only looks; a negative one
// waits indefinitely. Discarded records are skipped meanwhile. It fails with
// os.ErrClosed once the reader or the map is closed.
func (r *RingBufReader) Poll(timeout time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var deadline time.Time
	switch {
	case timeout == 0:
		deadline = time.Unix(0, 1) // long past: look once
	case timeout > 0:
		deadline = time.Now().Add(timeout)
	}
	return r.read(nil, true, deadline)
}

// SetDeadline makes Read and ReadInto fail with os.ErrDeadlineExceeded
// when no record has arrived by t, including reads already waiting. The
// zero time removes the deadline.
func (r *RingBufReader) SetDeadline(t time.Time) {
	if t.IsZero() {
		r.deadline.Store(nil)
	} else {
		r.deadline.Store(&t)
	}
	// Wake a waiting read so that it picks up the new deadline.
	select {
	case r.m.wakeCh <- struct{}{}:
	default:
	}
}

func (r *RingBufReader) getDeadline() time.Time {
	if t := r.deadline.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// read is the loop of ReadInto and Poll; it runs with r.mu held.
func (r *RingBufReader) read(rec *RingBufRecord, peek bool, deadline time.Time) error {
	m := r.m
	for {
		if err := r.check(); err != nil {
			return err
		}
		if m.next(rec, peek, false) {
			return nil
		}
		// Announce the wait, then look again: a submit either sees the
		// flag and wakes us, or happened before the flag was set and is
		// seen by this second look (both are sequentially consistent
		// atomics).
		m.waiting.Store(1)
		if m.next(rec, peek, true) {
			m.waiting.Store(0)
			return nil
		}
		if err := r.wait(deadline); err != nil {
			m.waiting.Store(0)
			return err
		}
		if !peek {
			deadline = r.getDeadline()
		}
	}
}

// check fails with os.ErrClosed when the reader or the map is closed; in
// the latter case it gives the memory back. It runs with r.mu held.
func (r *RingBufReader) check() error {
	if r.closed.Load() {
		return os.ErrClosed
	}
	if r.m.closed.Load() {
		if !r.released {
			r.released = true
			if err := r.m.releaseReader(); err != nil {
				return err
			}
		}
		return os.ErrClosed
	}
	return nil
}

// wait blocks until a wake-up token, a close or the deadline.
func (r *RingBufReader) wait(deadline time.Time) error {
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		if r.timer == nil {
			r.timer = time.NewTimer(d)
		} else {
			r.timer.Reset(d)
		}
		defer r.timer.Stop()
		timeout = r.timer.C
	}
	select {
	case <-r.m.wakeCh:
		return nil
	case <-r.done:
		return os.ErrClosed
	case <-r.m.done:
		return nil // check reports it and releases the memory
	case <-timeout:
		return os.ErrDeadlineExceeded
	}
}

// Close closes the reader: a Read blocked in another goroutine returns
// os.ErrClosed, and Close waits for it to return. The map can then have a
// new reader. Closing twice is harmless.
func (r *RingBufReader) Close() error {
	r.once.Do(func() {
		r.closed.Store(true)
		close(r.done)
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.released {
		return nil
	}
	r.released = true
	return r.m.releaseReader()
}

// Dropped returns how many records programs failed to reserve or output
// because the ring was full.
func (r *RingBufReader) Dropped() uint64 { return r.m.Dropped() }

// AvailableBytes returns how many bytes of the ring (headers included, and
// records still being written) are waiting to be read.
func (r *RingBufReader) AvailableBytes() int { return int(r.m.Query(RingBufAvailData)) }

// BufferSize returns the size of the ring's data area.
func (r *RingBufReader) BufferSize() int { return int(r.m.size) }
