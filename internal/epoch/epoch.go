// Package epoch is epoch-based memory reclamation for the memory programs
// address directly.
//
// A program may hold a pointer into a map value until its invocation ends,
// even if another virtual CPU or user space deletes the entry meanwhile (the
// guarantee eBPF for Windows gives with its epoch module, and Linux with
// RCU). Each virtual CPU is a participant: it announces the epoch when an
// invocation starts and withdraws when it ends. Memory that is unlinked from
// a map is retired, not freed; it is reclaimed once every participant that
// could have seen it has left, which the classic three-epoch scheme detects
// cheaply: the global epoch advances only when every active participant has
// observed it, and what was retired in epoch e is safe once the global epoch
// is e+2.
package epoch

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Domain is a reclamation domain with a fixed set of participants.
type Domain struct {
	global atomic.Uint64
	slots  []slot

	mu      sync.Mutex
	pending []retired
	// scanned is the global epoch at the last scan of pending: until the
	// epoch moves again nothing more can be ready, so Collect skips the
	// scan (which keeps a Collect that cannot make progress, because a
	// participant is in a long invocation, from costing O(pending)).
	scanned uint64
}

// slot holds a participant's state: 0 when outside an invocation, else the
// epoch it entered in, shifted left, with the low bit set. Slots are padded
// to a cache line so that participants do not share one.
type slot struct {
	v atomic.Uint64
	_ [56]byte
}

type retired struct {
	epoch uint64
	free  func()
}

// collectEvery is how many retired items accumulate before Retire tries to
// reclaim some on its own.
const collectEvery = 64

// New returns a domain for participants numbered 0 to n-1.
func New(n int) *Domain {
	if n < 1 {
		n = 1
	}
	return &Domain{slots: make([]slot, n)}
}

// Participants returns the number of participants.
func (d *Domain) Participants() int { return len(d.slots) }

// Enter marks participant i as inside an invocation: nothing retired from
// now on is reclaimed until it calls Exit. A participant must not enter
// twice without exiting.
func (d *Domain) Enter(i int) {
	d.slots[i].v.Store(d.global.Load()<<1 | 1)
}

// Exit marks participant i as outside any invocation.
func (d *Domain) Exit(i int) {
	d.slots[i].v.Store(0)
}

// Retire schedules free to run once no participant can still hold a
// reference to what it frees: after every participant active now has
// exited. free runs on some goroutine calling Retire or Collect, never with
// the domain's lock held, so it may take other locks.
func (d *Domain) Retire(free func()) {
	d.mu.Lock()
	d.pending = append(d.pending, retired{epoch: d.global.Load(), free: free})
	n := len(d.pending)
	d.mu.Unlock()
	if n%collectEvery == 0 {
		d.Collect()
	}
}

// Collect advances the epoch if every active participant has observed it,
// and runs the frees that have become safe. It reports how many ran.
// Allocators call it when they run out of free memory.
func (d *Domain) Collect() int {
	d.mu.Lock()
	d.tryAdvance()
	d.tryAdvance() // a second step often succeeds at once when nobody is active
	g := d.global.Load()
	if g == d.scanned && g != 0 {
		d.mu.Unlock()
		return 0
	}
	d.scanned = g
	var ready []func()
	keep := d.pending[:0]
	for _, r := range d.pending {
		if r.epoch+2 <= g {
			ready = append(ready, r.free)
		} else {
			keep = append(keep, r)
		}
	}
	clear(d.pending[len(keep):])
	d.pending = keep
	d.mu.Unlock()
	for _, f := range ready {
		f()
	}
	return len(ready)
}

// tryAdvance moves the global epoch forward by one when no active
// participant is still in an older epoch. It runs with d.mu held.
func (d *Domain) tryAdvance() {
	g := d.global.Load()
	for i := range d.slots {
		v := d.slots[i].v.Load()
		if v&1 == 1 && v>>1 != g {
			return
		}
	}
	d.global.CompareAndSwap(g, g+1)
}

// Pending returns the number of retired items not yet reclaimed.
func (d *Domain) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending)
}

// Barrier waits until everything retired before the call has been
// reclaimed, which requires every participant active now to exit. It is for
// tests and for closing maps.
func (d *Domain) Barrier() {
	d.mu.Lock()
	target := d.global.Load() + 2
	d.mu.Unlock()
	for {
		d.Collect()
		if d.global.Load() >= target {
			d.Collect()
			return
		}
		runtime.Gosched()
	}
}
