package examples

import _ "embed" // the objects below

// ProcessMonitor is process_monitor.o, the program `ebpfhost monitor
// process` runs.
//
//go:embed process_monitor.o
var ProcessMonitor []byte

// ProcessDeny is process_deny.o, the program `ebpfhost monitor process
// --deny` adds.
//
//go:embed process_deny.o
var ProcessDeny []byte

// FileAccess is file_access.o, the program `ebpfhost monitor files` runs.
//
//go:embed file_access.o
var FileAccess []byte

// FileIOLatency is file_iolatency.o, the programs `ebpfhost iolatency`
// runs.
//
//go:embed file_iolatency.o
var FileIOLatency []byte

// FileRedirect is file_redirect.o, the program `ebpfhost redirect` runs.
//
//go:embed file_redirect.o
var FileRedirect []byte

// FileDenyWrite is file_deny_write.o, the program `ebpfhost deny-write`
// runs.
//
//go:embed file_deny_write.o
var FileDenyWrite []byte
