//go:build !linux

package connector

import (
	"context"
	"errors"

	"github.com/ebpfhost/ebpfhost/internal/source/process"
)

func (s *Source) run(ctx context.Context, h process.Handler) error {
	return unavailable("opening a NETLINK_CONNECTOR socket", errors.ErrUnsupported, "the proc connector exists only on Linux")
}
