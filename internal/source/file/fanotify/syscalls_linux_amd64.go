package fanotify

import "golang.org/x/sys/unix"

func init() {
	calls[unix.SYS_OPEN] = callOpen
	calls[unix.SYS_CREAT] = callCreat
}
