//go:build !race

package storage

// raceDetector is true in a build with the race detector, which makes
// sync.Pool drop what it holds at random: allocation counts mean nothing.
const raceDetector = false
