package conformance

import (
	_ "embed"
	"strings"
	"sync"
)

// mutantsTxt lists the developer mutant set and what each violates.
//
//go:embed mutants.txt
var mutantsTxt string

// Mutant is one entry of the developer mutant set (conformance/mutants.txt):
// a test-only fault of the reference relay and the requirements it breaks.
type Mutant struct {
	Name string
	Spec []string
}

// Mutants returns the developer mutant set. The reference relay's mutant
// test proves each one is caught by a MUST case citing one of its ids.
var Mutants = sync.OnceValue(func() []Mutant {
	var out []Mutant
	for _, line := range strings.Split(mutantsTxt, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		out = append(out, Mutant{Name: f[0], Spec: f[1:]})
	}
	return out
})

// Cites reports whether the case cites any of ids.
func (c *Case) Cites(ids []string) bool {
	for _, a := range c.Spec {
		for _, b := range ids {
			if a == b {
				return true
			}
		}
	}
	return false
}
