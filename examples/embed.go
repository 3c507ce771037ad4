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
