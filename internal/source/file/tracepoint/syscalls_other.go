//go:build !linux || !amd64

package tracepoint

const supported = false

var syscalls = map[uint32]syscallEntry{}
