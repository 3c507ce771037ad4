package cli

import "errors"

const monitorHelp = `
Watches every process start and exit on this machine through an eBPF program
verified and run by ebpfhost.

NOT AVAILABLE YET: this command is a placeholder. It arrives with the process
extension (kernel tracepoint, fanotify and proc connector event sources, the
process program type and the embedded monitor program). Until then, ebpfhost
assembles, disassembles and runs programs: see 'ebpfhost --help'.`

func runMonitor(e *env, args []string) error {
	fs := newFlags(e, "monitor", "process [--json]", monitorHelp)
	fs.Bool("json", false, "print one JSON object per event")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "process" {
		return usagef("monitor takes what to monitor: 'process'")
	}
	return errors.New("not available yet: the process monitor arrives with the process extension; " +
		"this build can assemble, disassemble and run programs (see 'ebpfhost --help')")
}
