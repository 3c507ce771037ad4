//go:build !unix

package mem

import "sync"

// Without mmap the memory comes from the Go heap. The blocks are kept
// reachable here until freed so the collector never reclaims memory a program
// addresses only through an integer.
var live = map[*byte][]byte{}

func alloc(n int) ([]byte, error) {
	b := make([]byte, n)
	mu.Lock()
	live[&b[0]] = b
	mu.Unlock()
	return b, nil
}

func free(b []byte) error {
	mu.Lock()
	delete(live, &b[0])
	mu.Unlock()
	return nil
}

var mu sync.Mutex
