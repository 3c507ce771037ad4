package fanotify

import "github.com/ebpfhost/ebpfhost/internal/source/fanotifyx"

// rawEvent is one fanotify_event_metadata record.
type rawEvent = fanotifyx.Metadata

// parseEvents splits what one read(2) of a fanotify descriptor returned
// into its records (fanotifyx.ParseEvents), skipping info records. On an
// error the records before the bad one have already been passed to fn,
// and the caller must still answer them.
func parseEvents(b []byte, fn func(rawEvent)) error {
	return fanotifyx.ParseEvents(b, func(m fanotifyx.Metadata, _ []byte) error {
		fn(m)
		return nil
	})
}
