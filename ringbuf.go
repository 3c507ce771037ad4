package ebpfhost

import (
	"fmt"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/maps"
)

// RingBufReader reads the records programs write to a ringbuf map, in the
// order they reserved them. A record is never torn: a reader sees it only
// once the program submitted it. When the ring is full, programs' writes
// fail (they are not blocked) and Dropped counts them.
type RingBufReader struct {
	r   *maps.RingBufReader
	rec maps.RingBufRecord
}

// RingBufRecord is one record.
type RingBufRecord struct {
	// RawSample is the record's data.
	RawSample []byte
	// Remaining is how many bytes were still unread in the ring after this
	// record.
	Remaining int
}

// NewRingBufReader opens the reader of a ringbuf map; a map has at most one
// reader at a time.
func NewRingBufReader(m *Map) (*RingBufReader, error) {
	rb, ok := m.m.Impl().(*maps.RingBufMap)
	if !ok {
		return nil, fmt.Errorf("map %q is a %s map, not a ringbuf", m.Name(), m.TypeName())
	}
	r, err := rb.NewReader()
	if err != nil {
		return nil, err
	}
	return &RingBufReader{r: r}, nil
}

// Read waits for the next record. It fails with os.ErrDeadlineExceeded
// after the deadline (SetDeadline) and with os.ErrClosed once the reader is
// closed.
func (r *RingBufReader) Read() (RingBufRecord, error) {
	rec, err := r.r.Read()
	return RingBufRecord{RawSample: rec.RawSample, Remaining: rec.Remaining}, err
}

// ReadInto is Read reusing rec's storage: a loop over ReadInto with one
// record allocates nothing in the steady state.
func (r *RingBufReader) ReadInto(rec *RingBufRecord) error {
	r.rec.RawSample = rec.RawSample
	err := r.r.ReadInto(&r.rec)
	rec.RawSample, rec.Remaining = r.rec.RawSample, r.rec.Remaining
	return err
}

// Poll waits until a record is available or timeout passes
// (os.ErrDeadlineExceeded); a negative timeout waits indefinitely.
func (r *RingBufReader) Poll(timeout time.Duration) error { return r.r.Poll(timeout) }

// SetDeadline makes reads fail with os.ErrDeadlineExceeded when nothing
// arrived by t; the zero time removes the deadline.
func (r *RingBufReader) SetDeadline(t time.Time) { r.r.SetDeadline(t) }

// Dropped returns how many records programs could not write because the
// ring was full.
func (r *RingBufReader) Dropped() uint64 { return r.r.Dropped() }

// Close stops the reader; a blocked Read returns os.ErrClosed.
func (r *RingBufReader) Close() error { return r.r.Close() }
