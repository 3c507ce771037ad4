// Package cli is the ebpfhost command line: one function per subcommand,
// each taking its arguments and I/O streams so that tests can drive it
// without a process.
package cli

//go:generate sh -c "cd testdata && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c disasm.c -o disasm.o && clang -O2 -g -target bpf -fdebug-compilation-dir=. -c count.c -o count.o"

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Version is the ebpfhost version the binary reports.
var Version = "0.1.0-dev"

// env is what a subcommand runs with.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// ctx ends long-running commands (monitors) besides Ctrl-C; tests
	// cancel it.
	ctx context.Context
}

type command struct {
	name    string
	args    string // synopsis of the arguments
	summary string
	run     func(e *env, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"monitor", "process|files [flags]", "watch every process start and exit, or file operations, through eBPF programs; refuse some", runMonitor},
		{"iolatency", "[flags]", "histograms of file operation latency, per operation, measured by eBPF programs", runIOLatency},
		{"redirect", "--from A --to B [flags]", "redirect opens of a file or directory to another through an eBPF program", runRedirect},
		{"deny-write", "PREFIX [flags]", "make a directory or file read-only through an eBPF program", runDenyWrite},
		{"asm", "[flags] [FILE]", "assemble eBPF assembler text into bytecode", runAsm},
		{"disasm", "[flags] FILE", "disassemble bytecode or the programs of an ELF object, with source lines", runDisasm},
		{"verify", "OBJ [flags]", "verify the programs of an ELF object: prove them safe, or say why not", runVerify},
		{"store", "export|list|clear [flags]", "export, list or clear the program-information store (program types for verifying elsewhere)", runStore},
		{"prog", "list|run OBJ [flags]", "list the programs of an ELF object, or test-run one (BPF_PROG_TEST_RUN)", runProg},
		{"run", "[flags] FILE", "run a program (assembler text or bytecode) in the interpreter", runRun},
		{"conformance", "[flags] FILE|DIR...", "run bpf_conformance test files (.data) and report pass/fail", runConformance},
		{"conformance-plugin", "[MEMORY-HEX] [flags]", "the plugin the bpf_conformance runner drives (program hex on stdin)", runPlugin},
		{"version", "", "print the version", runVersion},
	}
}

func runVersion(e *env, args []string) error {
	fs := newFlags(e, "version", "", "Prints the ebpfhost version.")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintln(e.stdout, "ebpfhost", Version)
	return nil
}

// usageError is a mistake in how a command was called; it exits with 2.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// exitError ends a command with a status and no further message (the
// command already printed what went wrong).
type exitError struct{ code int }

func (x *exitError) Error() string { return fmt.Sprintf("exit status %d", x.code) }

// Main runs the command line in args (without the program name) and returns
// the process exit status: 0 success, 1 failure, 2 usage error.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return mainContext(context.Background(), args, stdin, stdout, stderr)
}

func mainContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, ctx: ctx}
	if len(args) == 0 {
		printUsage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			return Main([]string{args[1], "--help"}, stdin, stdout, stderr)
		}
		printUsage(stdout)
		return 0
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		err := c.run(e, args[1:])
		var ue *usageError
		var xe *exitError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &xe):
			return xe.code
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "ebpfhost %s: %v\nRun 'ebpfhost %s --help' for usage.\n", c.name, err, c.name)
			return 2
		default:
			fmt.Fprintf(stderr, "ebpfhost %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "ebpfhost: unknown command %q\n\n", name)
	printUsage(stderr)
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "ebpfhost runs eBPF programs in a verified, pure-Go execution environment.")
	fmt.Fprintln(w, "\nUsage: ebpfhost COMMAND [arguments]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-20s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'ebpfhost COMMAND --help' for the flags of a command.")
}

// newFlags returns a flag set whose --help prints the command's synopsis,
// description and flags to stdout.
func newFlags(e *env, name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "Usage: ebpfhost %s %s\n\n%s\n", name, synopsis, strings.TrimSpace(description))
		var flags []*flag.Flag
		fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
		if len(flags) == 0 {
			return
		}
		sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
		fmt.Fprintln(e.stdout, "\nFlags:")
		for _, f := range flags {
			arg, usage := flag.UnquoteUsage(f)
			if arg != "" {
				arg = " " + arg
			}
			def := ""
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(e.stdout, "  --%s%s\n        %s%s\n", f.Name, arg, usage, def)
		}
	}
	return fs
}

// parse parses flags that may appear before, between or after positional
// arguments ("disasm prog.o --section xdp" as well as
// "disasm --section xdp prog.o"), and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err // flag has printed the usage
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// readInput reads a named file, or standard input for "" and "-".
func readInput(e *env, path string) ([]byte, string, error) {
	if path == "" || path == "-" {
		b, err := io.ReadAll(e.stdin)
		return b, "<stdin>", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, path, err
	}
	return b, path, nil
}
