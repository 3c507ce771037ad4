module github.com/ebpfhost/ebpfhost

go 1.26.0

require (
	github.com/cilium/ebpf v0.22.0
	github.com/hanwen/go-fuse/v2 v2.12.1
)

require golang.org/x/sys v0.49.0
