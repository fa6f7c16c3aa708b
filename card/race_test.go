//go:build race

package card

// raceEnabled is true under the race detector, which makes image work (PNG
// compression above all) ten to fifty times slower; a few tests then run
// fewer cases. This package's image code runs on one goroutine.
const raceEnabled = true
