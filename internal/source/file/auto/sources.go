package auto

import (
	"errors"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
	"github.com/ebpfhost/ebpfhost/internal/source/file/fusefs"
)

func init() {
	constructors["fuse"] = func(o Options) (file.Source, error) {
		if o.Mount == "" {
			return nil, errors.New("the fuse source needs the directory to mount over: --mount DIR")
		}
		return fusefs.New(fusefs.Options{Dir: o.Mount, Interest: o.Interest, Logf: o.Logf}), nil
	}
}
