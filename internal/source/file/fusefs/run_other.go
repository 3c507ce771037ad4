//go:build !linux

package fusefs

import (
	"context"
	"errors"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

func (s *Source) run(ctx context.Context, h file.Handler) error {
	return unavailable("mounting FUSE", errors.ErrUnsupported, "the FUSE source exists only on Linux")
}
