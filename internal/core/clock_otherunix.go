//go:build unix && !linux

package core

import "golang.org/x/sys/unix"

const clockBoottime = unix.CLOCK_MONOTONIC
