// Package conformance certifies an SMP relay over the network: a catalogue
// of test cases, each citing the spec/smp.md requirements it checks, a
// runner, and reports in text, JSON and JUnit XML.
//
// Other projects call it from their own tests with TestRelay, in the spirit
// of testing/fstest.TestFS.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"

	"github.com/smpkit/smpkit/reference/smp"
)

// Level is how binding a case's requirement is.
type Level string

const (
	MUST       Level = "MUST"
	SHOULD     Level = "SHOULD"
	Robustness Level = "ROBUSTNESS" // not a spec clause: the relay must stay up
)

// Path says which side of its requirements a case checks; every case
// declares one (the catalogue test fails for the zero value).
type Path string

const (
	// Positive: the case checks an allowed path (a command that must
	// succeed, bytes or events the relay must send).
	Positive Path = "positive"
	// Negative: the case tries what a requirement forbids and checks the
	// refusal (an error, a closed connection, an absence).
	Negative Path = "negative"
	// Both: the case checks the allowed path and tries the forbidden one.
	Both Path = "both"
)

// A Case is one check against a relay.
type Case struct {
	ID       string           // stable, e.g. "TLS-ALPN"
	Group    string           // "transport", "handshake", "commands", ...
	Title    string           // one line, what is checked
	Spec     []string         // spec/smp.md ids this case checks
	Level    Level            // MUST, SHOULD or ROBUSTNESS
	Path     Path             // positive, negative or both
	Versions smp.VersionRange // SMP versions the case applies to
	// Long marks a case that runs for Options.FuzzTime: its timeout is
	// the case timeout plus that time.
	Long bool
	// Single runs the case once, at the top of the range: it loops over
	// versions itself.
	Single bool
	// Extra are version points added to those derived from the gates.
	Extra []smp.Version
	Run   func(ctx context.Context, t *T) error
}

// ErrSkip is returned (wrapped) by a case that cannot run against this relay.
var ErrSkip = errors.New("skipped")

// Skipf returns an error that marks the case skipped with a reason.
func Skipf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSkip, fmt.Sprintf(format, args...))
}

var catalog []*Case

// register adds cases to the catalogue; ids must be unique.
func register(cs ...*Case) {
	for _, c := range cs {
		switch c.Path {
		case Positive, Negative, Both:
		default:
			panic("conformance: case " + c.ID + " declares no path (positive, negative or both)")
		}
		for _, o := range catalog {
			if o.ID == c.ID {
				panic("conformance: duplicate case id " + c.ID)
			}
		}
		catalog = append(catalog, c)
	}
}

// Catalog returns every case, sorted by group then id.
func Catalog() []*Case {
	out := append([]*Case(nil), catalog...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return groupOrder(out[i].Group) < groupOrder(out[j].Group)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

var groups = []string{"transport", "handshake", "framing", "commands", "delivery", "authorization", "links", "notifications", "services", "proxy", "persistence", "state-machine", "fuzz"}

func groupOrder(g string) int {
	for i, n := range groups {
		if n == g {
			return i
		}
	}
	return len(groups)
}

// Select returns the cases whose id matches re (all when re is nil).
func Select(re *regexp.Regexp) []*Case {
	var out []*Case
	for _, c := range Catalog() {
		if re == nil || re.MatchString(c.ID) {
			out = append(out, c)
		}
	}
	return out
}
