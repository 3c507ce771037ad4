package ebpfhost_test

import (
	"context"
	"log"
	"os"
	"os/signal"

	"github.com/ebpfhost/ebpfhost"
	"github.com/ebpfhost/ebpfhost/examples"
)

// Watch every process start and exit on the machine with the monitor
// program `ebpfhost monitor process` embeds, until Ctrl-C.
func ExampleRuntime_RunProcessEvents() {
	rt, err := ebpfhost.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	mon, err := rt.Load(examples.ProcessMonitor, "process_monitor.o")
	if err != nil {
		log.Fatal(err)
	}
	r, err := ebpfhost.NewRingBufReader(mon.Maps["process_events"])
	if err != nil {
		log.Fatal(err)
	}
	link, err := mon.Programs["monitor"].Attach(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer link.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		if err := rt.RunProcessEvents(ctx, nil); err != nil {
			log.Print(err) // ErrUnavailable: not root, or no source works here
		}
		r.Close()
	}()
	for {
		rec, err := r.Read()
		if err != nil {
			return
		}
		log.Printf("record of %d bytes", len(rec.RawSample)) // struct process_event
	}
}

// Refuse writes under /srv/data through a FUSE mount over /srv.
func ExampleProgram_Attach() {
	rt, err := ebpfhost.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	coll, err := rt.LoadFile("file_deny_write.o")
	if err != nil {
		log.Fatal(err)
	}
	// deny_rules is filled as examples/file_deny_write.c describes.
	link, err := coll.Programs["deny_write"].Attach(&ebpfhost.AttachOptions{
		Operations: []string{"open", "write"},
		PathPrefix: "/srv/data/",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer link.Close()
	if err := rt.RunFileEvents(context.Background(), &ebpfhost.FileEventsOptions{Mount: "/srv", Deny: true}); err != nil {
		log.Fatal(err)
	}
}
