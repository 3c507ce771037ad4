package auto

import (
	"errors"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
	"github.com/ebpfhost/ebpfhost/internal/source/file/fanotify"
	"github.com/ebpfhost/ebpfhost/internal/source/file/fusefs"
	"github.com/ebpfhost/ebpfhost/internal/source/file/tracepoint"
)

func init() {
	constructors["fuse"] = func(o Options) (file.Source, error) {
		if o.Mount == "" {
			return nil, errors.New("the fuse source needs the directory to mount over: --mount DIR")
		}
		return fusefs.New(fusefs.Options{Dir: o.Mount, Interest: o.Interest, Logf: o.Logf, Ready: o.Ready}), nil
	}
	constructors["fanotify"] = func(o Options) (file.Source, error) {
		return fanotify.New(fanotify.Options{Paths: o.Paths, Deny: o.Deny, Interest: o.Interest, Logf: o.Logf, Ready: o.Ready}), nil
	}
	constructors["tracepoint"] = func(o Options) (file.Source, error) {
		return tracepoint.New(tracepoint.Options{Interest: o.Interest, Ready: o.Ready}), nil
	}
}
