// Package fanotifyx holds what the two fanotify sources share: the exec
// source (internal/source/process/fanotify) and the file source
// (internal/source/file/fanotify). Both mark mounts found in
// /proc/self/mountinfo, read the /proc files of the process behind an
// event, split event records, answer permission events (with an errno
// where the kernel takes one) and tell their own process's vfork children
// from others with kcmp.
//
// Only the pieces that behave the same for both live here, with no
// knowledge of either source's events, options or logging: each source
// keeps its policy (which mounts to mark, which fields it needs, what to
// log) and calls these for the mechanics. The parsers build on every OS so
// that they are tested and fuzzed anywhere; what needs system calls is in
// _linux files.
package fanotifyx
