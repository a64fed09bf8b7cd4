//go:build race

package agent_test

// raceEnabled: under the race detector the volume tests run a fifth of
// their volume. The race run looks for unsynchronised access, which a
// few hundred rounds show as well as a thousand; the plain run keeps the
// full volume.
const raceEnabled = true
