//go:build !linux

package fanotify

import (
	"context"
	"errors"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

func (s *Source) run(ctx context.Context, h process.Handler) error {
	return unavailable("fanotify", errors.ErrUnsupported, "fanotify exists only on Linux")
}

func unixErrnoName(int32) string { return "" }
