//go:build race

package fanotify

// raceEnabled is set in binaries built with -race, whose helper would
// otherwise sleep a second at exit (the race runtime's atexit_sleep_ms)
// before Run can return.
const raceEnabled = true
