package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebpfhost/ebpfhost/internal/clangtest"
)

// run executes the command line in-process and returns its exit status and
// output.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// runTimeout is run for a long-running command, stopped after d.
func runTimeout(t *testing.T, stdin string, d time.Duration, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out, errOut bytes.Buffer
	code := mainContext(ctx, args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelp(t *testing.T) {
	code, out, _ := run(t, "", "--help")
	if code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, c := range commands {
		if !strings.Contains(out, c.name) {
			t.Errorf("usage does not list %s", c.name)
		}
		code, out, errOut := run(t, "", c.name, "--help")
		if code != 0 || !strings.Contains(out, "Usage: ebpfhost "+c.name) {
			t.Errorf("%s --help: exit %d, stdout %q, stderr %q", c.name, code, out, errOut)
		}
	}
	if code, _, errOut := run(t, "", "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
	if code, _, _ := run(t, ""); code != 2 {
		t.Errorf("no command: exit %d", code)
	}
	if code, _, errOut := run(t, "", "asm", "--nope"); code != 2 || !strings.Contains(errOut, "--help") {
		t.Errorf("bad flag: exit %d, %q", code, errOut)
	}
}

const prog = `
	mov %r0, 0
	mov %r1, 3
loop:
	add %r0, %r1
	sub %r1, 1
	jne %r1, 0, loop
	exit
`

func TestAsmFormats(t *testing.T) {
	code, out, errOut := run(t, prog, "asm")
	if code != 0 {
		t.Fatalf("asm: %d %s", code, errOut)
	}
	if !strings.Contains(out, "b7 00 00 00 00 00 00 00  # 0: mov %r0, 0") || !strings.Contains(out, "# 4: jne %r1, 0, -3") {
		t.Errorf("hex output:\n%s", out)
	}
	_, words, _ := run(t, prog, "asm", "--format", "words")
	if first := strings.Fields(words)[0]; first != "0x00000000000000b7" {
		t.Errorf("first word %s", first)
	}
	_, raw, _ := run(t, prog, "asm", "--format", "raw")
	if len(raw) != 6*8 || raw[0] != 0xb7 {
		t.Errorf("raw output is %d bytes", len(raw))
	}
	_, js, _ := run(t, prog, "asm", "--json")
	var doc struct {
		Instructions []struct {
			Index     int
			Hex, Text string
		}
		Bytes int
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil || doc.Bytes != 48 || doc.Instructions[2].Text != "add %r0, %r1" {
		t.Errorf("json %v: %s", err, js)
	}
	if code, _, errOut := run(t, prog, "asm", "--format", "elf"); code != 2 || !strings.Contains(errOut, "unknown format") {
		t.Errorf("bad format: %d %s", code, errOut)
	}
	// Output to a file.
	path := filepath.Join(t.TempDir(), "p.bin")
	if code, _, errOut := run(t, prog, "asm", "--format", "raw", "-o", path); code != 0 {
		t.Fatal(errOut)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, []byte(raw)) {
		t.Error("-o wrote different bytes")
	}
}

func TestAsmErrors(t *testing.T) {
	code, _, errOut := run(t, "mov %r0, 1\nfrob %r1\nexit\n", "asm")
	if code != 1 || !strings.Contains(errOut, "<stdin>: line 2: unknown mnemonic") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	code, _, errOut = run(t, "", "asm", "/does/not/exist.s")
	if code != 1 || !strings.Contains(errOut, "/does/not/exist.s") {
		t.Errorf("missing file: exit %d: %s", code, errOut)
	}
	code, _, errOut = run(t, "mov %r10, 1\nexit\n", "asm")
	if code != 1 || !strings.Contains(errOut, "read-only frame pointer") {
		t.Errorf("write to r10: exit %d: %s", code, errOut)
	}
}

func TestAsmTestFile(t *testing.T) {
	code, out, errOut := run(t, "-- asm\nmov %r0, 7\nexit\n-- result\n0x7\n", "asm", "--format", "words")
	if code != 0 || strings.TrimSpace(out) != "0x00000007000000b7\n0x0000000000000095" {
		t.Errorf("exit %d, %q %s", code, out, errOut)
	}
}

func TestDisasmRoundTrip(t *testing.T) {
	_, hex, _ := run(t, prog, "asm")
	code, listing, errOut := run(t, hex, "disasm", "-")
	if code != 0 || !strings.Contains(listing, "L2:\n      2: add %r0, %r1") || !strings.Contains(listing, "jne %r1, 0, L2") {
		t.Fatalf("exit %d:\n%s%s", code, listing, errOut)
	}
	_, plain, _ := run(t, hex, "disasm", "--plain", "-")
	_, again, _ := run(t, plain, "asm")
	if again != hex {
		t.Errorf("disasm --plain | asm changed the program:\n%s\nvs\n%s", again, hex)
	}
	_, raw, _ := run(t, prog, "asm", "--format", "raw")
	if code, listing, _ := run(t, raw, "disasm", "--bytes", "-"); code != 0 || !strings.Contains(listing, "b7 01 00 00 03 00 00 00  mov %r1, 3") {
		t.Errorf("raw input: %d\n%s", code, listing)
	}
	if code, _, errOut := run(t, "b7 00 00", "disasm", "-"); code != 1 || !strings.Contains(errOut, "not a multiple of 8") {
		t.Errorf("truncated: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, raw, "disasm", "--section", "xdp", "-"); code != 2 || !strings.Contains(errOut, "ELF") {
		t.Errorf("--section on bytecode: %d %s", code, errOut)
	}
}

func TestClangObjects(t *testing.T) {
	clangtest.CheckObject(t, "testdata/disasm.c", "testdata/disasm.o")
}

func TestDisasmELF(t *testing.T) {
	code, out, errOut := run(t, "", "disasm", "testdata/disasm.o")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`section xdp, function count_packets: 32 instructions, license "MIT"`,
		"    ; ./disasm.c:31: __u64 *value = bpf_map_lookup_elem(&counts, &key);",
		"lddw %r1, map_fd:0               # map counts",
		"call 1                           # bpf_map_lookup_elem",
		"call local weigh",
		"\nweigh:\n    ; ./disasm.c:24: return x * scale;\n     29: lddw",
		"# map .data",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, ":0:") {
		t.Errorf("listing shows line 0 entries:\n%s", out)
	}

	_, js, _ := run(t, "", "disasm", "--json", "testdata/disasm.o")
	var doc struct {
		Programs []listing
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Programs) != 1 || doc.Programs[0].Name != "count_packets" || doc.Programs[0].Instructions[4].Comment != "map counts" {
		t.Errorf("json: %s", js)
	}
	if src := doc.Programs[0].Instructions[4].Source; src == nil || src.File != "./disasm.c" || src.Line != 31 {
		t.Errorf("source of instruction 4: %+v", src)
	}

	code, _, errOut = run(t, "", "disasm", "--section", "kprobe/x", "testdata/disasm.o")
	if code != 1 || !strings.Contains(errOut, `no program in section "kprobe/x"; sections with programs: xdp`) {
		t.Errorf("missing section: %d %s", code, errOut)
	}
	if code, out, _ := run(t, "", "disasm", "testdata/disasm.o", "--section", "xdp"); code != 0 || !strings.Contains(out, "count_packets") {
		t.Errorf("flag after file: %d", code)
	}
}

func TestDisasmBadELF(t *testing.T) {
	obj, err := os.ReadFile("testdata/disasm.o")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	x86 := bytes.Clone(obj)
	binary.LittleEndian.PutUint16(x86[18:], 62) // e_machine = EM_X86_64
	cases := map[string][]byte{
		"truncated.o": obj[:len(obj)/3],
		"header.o":    obj[:20],
		"x86.o":       x86,
	}
	for name, data := range cases {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := run(t, "", "disasm", path)
		if code != 1 || !strings.Contains(errOut, path) {
			t.Errorf("%s: exit %d: %s", name, code, errOut)
		}
	}
	if _, _, errOut := run(t, "", "disasm", filepath.Join(dir, "x86.o")); !strings.Contains(errOut, "machine") {
		t.Errorf("x86 object: %s", errOut)
	}
}

func TestRun(t *testing.T) {
	code, out, errOut := run(t, "mov %r0, %r2\nldxb %r1, [%r1+2]\nadd %r0, %r1\nexit\n", "run", "--mem", "01 02 03", "-")
	if code != 0 || out != "r0 = 0x6 (6)\n" {
		t.Errorf("exit %d: %q %s", code, out, errOut)
	}
	// Checked by default: an access past the memory is reported, not a crash.
	code, _, errOut = run(t, "ldxdw %r0, [%r1+8]\nexit\n", "run", "--mem", "01 02 03", "-")
	if code != 1 || !strings.Contains(errOut, "instruction 0 (ldxdw %r0, [%r1+8]): read of 8 bytes") {
		t.Errorf("out of bounds: exit %d: %s", code, errOut)
	}
	code, _, errOut = run(t, "ja -1\nexit\n", "run", "--budget", "1000", "-")
	if code != 1 || !strings.Contains(errOut, "budget") {
		t.Errorf("budget: exit %d: %s", code, errOut)
	}
	code, out, _ = run(t, "mov %r0, -2\nexit\n", "run", "--json", "--repeat", "3", "-")
	var doc struct {
		R0   uint64 `json:"r0"`
		Runs int    `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil || doc.R0 != 1<<64-2 || doc.Runs != 3 {
		t.Errorf("json: %d %v %q", code, err, out)
	}
	// A test file brings its own memory.
	code, out, _ = run(t, "-- asm\nmov %r0, %r2\nexit\n-- mem\n00 00 00 00\n-- result\n0x4\n", "run", "-")
	if code != 0 || out != "r0 = 0x4 (4)\n" {
		t.Errorf("test file: %d %q", code, out)
	}
	if code, _, errOut := run(t, "call 99\nexit\n", "run", "-"); code != 1 || !strings.Contains(errOut, "unknown helper 99") {
		t.Errorf("unknown helper: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "", "run", "testdata/disasm.o"); code != 1 || !strings.Contains(errOut, "ELF object") {
		t.Errorf("ELF input: %d %s", code, errOut)
	}
}

const suite = "../conformance/testdata/tests"

func TestConformanceCommand(t *testing.T) {
	code, out, errOut := run(t, "", "conformance", suite)
	if code != 0 || !strings.Contains(out, "626 of 626 passed (313 files, modes: both)") {
		t.Errorf("exit %d: %s%s", code, out, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.data")
	if err := os.WriteFile(bad, []byte("-- asm\nmov %r0, 1\nexit\n-- result\n0x2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, "", "conformance", "--mode", "checked", bad)
	if code != 1 || !strings.Contains(out, "FAIL "+bad+" (checked): returned 0x1, expected 0x2") {
		t.Errorf("failing test: exit %d: %s", code, out)
	}
	code, out, _ = run(t, "", "conformance", "--json", "--mode", "fast", bad)
	if code != 1 || !strings.Contains(out, `"failed": 1`) {
		t.Errorf("json: %d %s", code, out)
	}
}

// runnerHex encodes bytes the way the bpf_conformance runner does: two hex
// digits and two spaces per byte.
func runnerHex(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, "%02x  ", c)
	}
	return s.String()
}

func TestPlugin(t *testing.T) {
	_, code, _ := run(t, "mov %r0, %r2\nldxw %r1, [%r1]\nadd %r0, %r1\nexit\n", "asm", "--format", "raw")
	stdin := runnerHex([]byte(code)) + "\n"
	status, out, errOut := run(t, stdin, "conformance-plugin", runnerHex([]byte{1, 0, 0, 0, 9, 9}))
	if status != 0 || out != "7\n" {
		t.Errorf("exit %d: %q %s", status, out, errOut)
	}
	// Without memory the runner passes no first argument.
	_, code, _ = run(t, "mov %r0, -1\nexit\n", "asm", "--format", "raw")
	if status, out, _ := run(t, runnerHex([]byte(code)), "conformance-plugin", "--fast"); status != 0 || out != "ffffffffffffffff\n" {
		t.Errorf("no memory: %d %q", status, out)
	}
	// Bad programs fail with a reason on stderr.
	if status, _, errOut := run(t, "8e 00 00 00 00 00 00 00", "conformance-plugin"); status != 1 || !strings.Contains(errOut, "unknown opcode 0x8e") {
		t.Errorf("bad opcode: %d %s", status, errOut)
	}
	if status, _, errOut := run(t, "zz", "conformance-plugin"); status != 1 || !strings.Contains(errOut, "standard input") {
		t.Errorf("bad hex: %d %s", status, errOut)
	}
	// --elf: the program arrives as an ELF object.
	obj, err := os.ReadFile("testdata/disasm.o")
	if err != nil {
		t.Fatal(err)
	}
	if status, _, errOut := run(t, runnerHex(obj[:100]), "conformance-plugin", "--elf"); status != 1 || !strings.Contains(errOut, "ELF") {
		t.Errorf("bad ELF: %d %s", status, errOut)
	}
}

// TestPluginProcess drives the built binary exactly as the bpf_conformance
// runner does: memory as argv[1], the program as hex on stdin, r0 in hex on
// stdout.
func TestPluginProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the ebpfhost binary")
	}
	bin := filepath.Join(t.TempDir(), "ebpfhost")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/ebpfhost")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	_, code, _ := run(t, "mov %r0, %r2\nexit\n", "asm", "--format", "raw")
	cmd := exec.Command(bin, "conformance-plugin", runnerHex([]byte{1, 2, 3, 4, 5}))
	cmd.Stdin = strings.NewReader(runnerHex([]byte(code)) + "\n")
	out, err := cmd.Output()
	if err != nil || string(out) != "5\n" {
		t.Errorf("plugin: %v %q", err, out)
	}
}

// TestMonitorSimulated replays events through the embedded monitor
// program with the simulated source; the live sources are tested in
// internal/tools/procmon.
func TestMonitorSimulated(t *testing.T) {
	events := `{"op":"create","pid":42,"ppid":1,"uid":1000,"image":"/usr/bin/true","argv":["true","--x"],"created":"2026-11-21T10:00:00Z"}
{"op":"exit","pid":42,"ppid":1,"uid":1000,"image":"/usr/bin/true","created":"2026-11-21T10:00:00Z","exited":"2026-11-21T10:00:01.5Z","exit_code":45}
`
	code, out, errOut := runTimeout(t, events, 300*time.Millisecond, "monitor", "process", "--source", "simulated", "--events", "-", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"op":"create","pid":42,"ppid":1`) || !strings.Contains(lines[0], `"command_line":"true --x"`) ||
		!strings.Contains(lines[1], `"op":"exit"`) || !strings.Contains(lines[1], `"exit_code":45`) {
		t.Fatalf("output:\n%s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"monitor", "frob"}, "monitor takes what to monitor"},
		{[]string{"monitor", "process", "--source", "nosuch"}, `unknown event source "nosuch"`},
		{[]string{"monitor", "process", "--source", "tracepoint", "--deny", "/tmp"}, "cannot refuse execs"},
		{[]string{"monitor", "process", "--events", "x"}, "--events is for --source simulated"},
		{[]string{"monitor", "process", "--errno", "0"}, "--errno must be 1 to 4095"},
	} {
		if code, _, errOut := run(t, "", tc.args...); code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want an error containing %q", tc.args, code, errOut, tc.want)
		}
	}
	bad := "{\"op\":\"spawn\"}\n"
	if code, _, errOut := runTimeout(t, bad, time.Second, "monitor", "process", "--source", "simulated", "--events", "-"); code != 1 || !strings.Contains(errOut, "line 1") {
		t.Errorf("malformed events: exit %d, %s", code, errOut)
	}
}
