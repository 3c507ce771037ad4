package simulated

import "sync/atomic"

var ids atomic.Uint64

func nextID() uint64 { return ids.Add(1) }
