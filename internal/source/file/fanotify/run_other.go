//go:build !linux

package fanotify

import (
	"context"
	"errors"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

func (s *Source) run(ctx context.Context, h file.Handler) error {
	return unavailable("starting fanotify", errors.New("fanotify exists only on Linux"), "use the FUSE or simulated source")
}

func errnoName(e int32) string { return "" }
