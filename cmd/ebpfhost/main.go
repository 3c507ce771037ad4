// Command ebpfhost is the command line of the ebpfhost eBPF execution
// environment: it assembles, disassembles, runs and (as extensions land)
// attaches eBPF programs. Run 'ebpfhost --help' for the commands.
package main

import (
	"os"

	"github.com/ebpfhost/ebpfhost/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
