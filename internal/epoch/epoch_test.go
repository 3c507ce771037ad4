package epoch

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestRetireWaitsForActiveParticipants(t *testing.T) {
	d := New(2)
	d.Enter(0)
	freed := false
	d.Retire(func() { freed = true })
	for i := 0; i < 10; i++ {
		d.Collect()
	}
	if freed {
		t.Fatal("freed while participant 0, which entered before the retire, is still active")
	}
	// A participant that enters after the retire does not hold it back
	// forever: it observes the new epoch.
	d.Enter(1)
	d.Exit(0)
	d.Collect()
	d.Exit(1)
	d.Collect()
	if !freed {
		t.Fatal("not freed after every participant exited")
	}
	if d.Pending() != 0 {
		t.Fatalf("%d items still pending", d.Pending())
	}
}

func TestNoParticipantsFreesPromptly(t *testing.T) {
	d := New(4)
	n := 0
	for i := 0; i < 10; i++ {
		d.Retire(func() { n++ })
	}
	d.Collect()
	if n != 10 {
		t.Fatalf("freed %d of 10", n)
	}
}

// TestStress has participants read a shared pointer while a writer swaps and
// retires it; a freed object must never be seen by a reader that entered
// before it was retired.
func TestStress(t *testing.T) {
	const readers = 4
	d := New(readers)
	type obj struct{ dead atomic.Bool }
	var cur atomic.Pointer[obj]
	cur.Store(&obj{})
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad atomic.Int64
	for i := 0; i < readers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for !stop.Load() {
				d.Enter(i)
				o := cur.Load()
				for j := 0; j < 50; j++ {
					if o.dead.Load() {
						bad.Add(1)
					}
				}
				d.Exit(i)
			}
		}(i)
	}
	for i := 0; i < 20000; i++ {
		old := cur.Swap(&obj{})
		d.Retire(func() { old.dead.Store(true) })
	}
	stop.Store(true)
	wg.Wait()
	d.Barrier()
	if bad.Load() != 0 {
		t.Fatalf("readers saw %d freed objects", bad.Load())
	}
	if d.Pending() != 0 {
		t.Fatalf("%d items never reclaimed", d.Pending())
	}
}
