//go:build !race

package verifier_test

// raceEnabled scales down the long tests under the race detector.
const raceEnabled = false
