// Package inject is the common part of the simulated event sources: events
// handed over in code reach a running source's handler, which answers each
// in turn, and events replayed from JSON lines reach it in order. The
// process and file sources differ only in their event and verdict types.
package inject

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
)

type request[E, V any] struct {
	ev    *E
	reply chan V
}

// Queue carries events from Emit to Serve.
type Queue[E, V any] struct{ reqs chan request[E, V] }

// New returns an empty queue.
func New[E, V any]() *Queue[E, V] { return &Queue[E, V]{reqs: make(chan request[E, V])} }

// Serve hands each emitted event to h until ctx is done.
func (q *Queue[E, V]) Serve(ctx context.Context, h func(*E) V) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-q.reqs:
			r.reply <- h(r.ev)
		}
	}
}

// Emit waits for Serve to take ev and returns h's answer; ok is false when
// ctx ended first (nothing serves the queue).
func (q *Queue[E, V]) Emit(ctx context.Context, ev *E) (v V, ok bool) {
	r := request[E, V]{ev: ev, reply: make(chan V, 1)}
	select {
	case q.reqs <- r:
		return <-r.reply, true
	case <-ctx.Done():
		return v, false
	}
}

// Replay decodes one JSON object per line of r into an E and hands it to
// h, until the input or ctx ends. A malformed line stops it with an error
// naming the line; example shows the user a good one.
func Replay[E any](ctx context.Context, r io.Reader, what, example string, h func(*E)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if ctx.Err() != nil {
			return nil
		}
		if len(sc.Bytes()) == 0 {
			continue
		}
		var ev E
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("%s, line %d: %v (want one JSON object per line, e.g. %s)", what, line, err, example)
		}
		h(&ev)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", what, err)
	}
	return nil
}
