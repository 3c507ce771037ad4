package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// monitorFiles runs `ebpfhost monitor files ARGS` in-process for up to d
// and returns its exit status and output, as mainContext would.
func monitorFiles(t *testing.T, stdin string, d time.Duration, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, ctx: ctx}
	err := runMonitorFiles(e, args)
	var ue *usageError
	code := 0
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, &ue):
		fmt.Fprintf(&errOut, "ebpfhost monitor: %v\n", err)
		code = 2
	default:
		fmt.Fprintf(&errOut, "ebpfhost monitor: %v\n", err)
		code = 1
	}
	return code, out.String(), errOut.String()
}

// notBuilt is the error of a source not yet in this binary.
const notBuilt = "not built into this binary"

const fileEvents = `{"op":"open","id":1,"time_ns":1000,"path":"/srv/data/a","pid":42,"uid":1000,"image":"/usr/bin/cat"}
{"op":"open","post":true,"id":1,"time_ns":2500,"path":"/srv/data/a","pid":42,"uid":1000,"image":"/usr/bin/cat"}
{"op":"read","id":2,"time_ns":3000,"path":"/srv/data/a","pid":42,"uid":1000,"image":"/usr/bin/cat","length":131072}
{"op":"read","post":true,"id":2,"time_ns":9000,"path":"/srv/data/a","pid":42,"uid":1000,"image":"/usr/bin/cat","length":131072,"result":5}
{"op":"write","id":3,"time_ns":10000,"path":"/srv/data/b","pid":43,"uid":0,"image":"/usr/bin/tee","length":5}
{"op":"write","post":true,"id":3,"time_ns":12000,"path":"/srv/data/b","pid":43,"uid":0,"image":"/usr/bin/tee","length":5,"result":-28}
{"op":"rename","id":4,"time_ns":13000,"path":"/srv/data/b","target":"/srv/data/c","pid":44,"image":"/usr/bin/mv"}
{"op":"rename","post":true,"id":4,"time_ns":14000,"path":"/srv/data/b","target":"/srv/data/c","pid":44,"image":"/usr/bin/mv"}
`

func TestMonitorFilesCommand(t *testing.T) {
	code, out, errOut := monitorFiles(t, fileEvents, 5*time.Second, "--source", "simulated", "--events", "-", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], `"op":"open","pid":42,"tid":42,"uid":1000,"result":0`) ||
		!strings.Contains(lines[1], `"result":5`) || !strings.Contains(lines[2], `"result":-28`) ||
		!strings.Contains(lines[3], `"path":"/srv/data/b","target":"/srv/data/c"`) {
		t.Fatalf("output:\n%s", out)
	}
	// --exe and --ops: only tee's writes.
	code, out, errOut = monitorFiles(t, fileEvents, 5*time.Second, "--source", "simulated", "--events", "-", "--exe", "/usr/bin/tee", "--ops", "open,write")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "TIME ") || !strings.Contains(lines[1], " write ") || !strings.Contains(lines[1], "ENOSPC") {
		t.Fatalf("output:\n%s", out)
	}
	// --path: a plain string prefix for a path that does not exist here.
	code, out, _ = monitorFiles(t, fileEvents, 5*time.Second, "--source", "simulated", "--events", "-", "--path", "/srv/data/c", "--json")
	if code != 0 || out != "" {
		t.Fatalf("--path /srv/data/c: exit %d, output %q (the rename's path is /srv/data/b)", code, out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--ops", "open,frob"}, 2, `unknown operation "frob"`},
		{[]string{"--source", "nosuch"}, 2, `unknown event source "nosuch"`},
		{[]string{"--events", "x"}, 2, "--events is for --source simulated"},
		{[]string{"extra"}, 2, "takes no arguments"},
		{[]string{"--mount", "/nonexistent/dir"}, 1, "--mount"},
		{[]string{"--source", "simulated", "--events", "/nonexistent/events"}, 1, "no such file"},
	} {
		code, _, errOut := monitorFiles(t, "", time.Second, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d, %q; want exit %d and one line containing %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	if code, out, _ := monitorFiles(t, "", time.Second, "--help"); code != 0 || !strings.Contains(out, "Usage: ebpfhost monitor files") || !strings.Contains(out, "--exe PATH") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}

func TestIOLatencyCommand(t *testing.T) {
	code, out, errOut := runTimeout(t, fileEvents, 5*time.Second, "iolatency", "--source", "simulated", "--events", "-", "--unit", "nsecs")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// open: 1500 ns (slot 11), read: 6000 ns (slot 13), write 2000 (slot
	// 11), rename 1000 (slot 10).
	for _, want := range []string{
		"operation = open\n     nsecs               : count     distribution\n",
		"      1024 -> 2047       : 1        |****************************************|\n\navg = 1500 nsecs, total: 1500 nsecs, count: 1\n",
		"operation = read\n", "      4096 -> 8191       : 1        |****************************************|\n\navg = 6000 nsecs",
		"operation = write\n", "operation = rename\n", "       512 -> 1023       : 1        |****************************************|\n\navg = 1000 nsecs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"iolatency", "--unit", "hours"}, "--unit must be one of msecs, nsecs, usecs"},
		{[]string{"iolatency", "--interval", "-1s"}, "--interval must not be negative"},
		{[]string{"iolatency", "x"}, "takes no arguments"},
		{[]string{"iolatency", "--ops", "nope"}, `unknown operation "nope"`},
	} {
		if code, _, errOut := run(t, "", tc.args...); code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want a usage error containing %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestRedirectCommand(t *testing.T) {
	events := `{"op":"open","id":1,"path":"/srv/app/config/db.json","pid":42,"uid":1000,"image":"/usr/bin/app"}
{"op":"open","id":2,"path":"/srv/app/other","pid":42,"uid":1000,"image":"/usr/bin/app"}
`
	code, out, errOut := runTimeout(t, events, 5*time.Second, "redirect", "--from", "/srv/app/config", "--to", "/srv/app/config.test", "--source", "simulated", "--events", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[1], "redirect      42   1000 open     /usr/bin/app             /srv/app/config/db.json => /srv/app/config.test/db.json") {
		t.Fatalf("output:\n%s", out)
	}
	if !strings.Contains(errOut, "1 open(s) redirected") {
		t.Errorf("stderr: %s", errOut)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"redirect", "--from", "/a"}, 2, "redirect needs --from and --to"},
		{[]string{"redirect", "--from", "/a", "--to", "/a"}, 1, "the same path"},
		{[]string{"redirect", "--from", "/a", "--to", "/b", "--source", "tracepoint"}, 1, "cannot redirect"}, // or, before the source is built in, "not built into this binary"
	} {
		if code, _, errOut := run(t, "", tc.args...); code != tc.code || !(strings.Contains(errOut, tc.want) || strings.Contains(errOut, notBuilt)) {
			t.Errorf("%v: exit %d, %q; want exit %d with %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

func TestDenyWriteCommand(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	events := fmt.Sprintf(`{"op":"open","id":1,"path":"%[1]s/f","flags":0,"pid":42,"image":"/usr/bin/cat"}
{"op":"open","id":2,"path":"%[1]s/f","flags":577,"pid":43,"image":"/usr/bin/sh"}
{"op":"unlink","id":3,"path":"%[1]s/f","pid":44,"image":"/usr/bin/rm"}
{"op":"unlink","id":4,"path":"/tmp/other","pid":44,"image":"/usr/bin/rm"}
`, dir)
	code, out, errOut := runTimeout(t, events, 5*time.Second, "deny-write", dir, "--source", "simulated", "--events", "-", "--errno", "30")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "EROFS         43      0 open     /usr/bin/sh              "+dir+"/f") ||
		!strings.Contains(lines[2], "EROFS         44      0 unlink   /usr/bin/rm              "+dir+"/f") {
		t.Fatalf("output:\n%s", out)
	}
	if !strings.Contains(errOut, "2 operation(s) refused (open 1, unlink 1)") {
		t.Errorf("stderr: %s", errOut)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"deny-write"}, 2, "deny-write takes one PREFIX"},
		{[]string{"deny-write", "/a", "/b"}, 2, "deny-write takes one PREFIX"},
		{[]string{"deny-write", "/a", "--errno", "0"}, 2, "--errno must be 1 to 4095"},
		{[]string{"deny-write", "/", "--source", "simulated"}, 1, "not supported"},
		{[]string{"deny-write", "/tmp", "--source", "tracepoint"}, 1, "cannot refuse"}, // or, before the source is built in, "not built into this binary"
	} {
		if code, _, errOut := run(t, "", tc.args...); code != tc.code || !(strings.Contains(errOut, tc.want) || strings.Contains(errOut, notBuilt)) {
			t.Errorf("%v: exit %d, %q; want exit %d with %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

// TestFileCommandsStop checks that the long-running commands stop, with
// status 0, when their context ends (as on Ctrl-C).
func TestFileCommandsStop(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"iolatency", "--source", "simulated", "--interval", "10ms"},
		{"redirect", "--from", dir, "--to", "/tmp", "--source", "simulated"},
		{"deny-write", dir, "--source", "simulated"},
	} {
		start := time.Now()
		code, _, errOut := runTimeout(t, "", 500*time.Millisecond, args...)
		if code != 0 || time.Since(start) > 5*time.Second {
			t.Errorf("%v: exit %d after %v: %s", args, code, time.Since(start), errOut)
		}
		if !strings.Contains(errOut, "with the simulated source") {
			t.Errorf("%v: stderr does not name the source: %s", args, errOut)
		}
	}
	if code, _, errOut := monitorFiles(t, "", 500*time.Millisecond, "--source", "simulated"); code != 0 || !strings.Contains(errOut, "watching file operations with the simulated source") {
		t.Errorf("monitor files: exit %d: %s", code, errOut)
	}
}
