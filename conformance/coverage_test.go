package conformance

import (
	"strings"
	"testing"

	"github.com/smpkit/smpkit/spec"
)

// Every MUST requirement is cited by a case or listed as untestable, and
// every id a case cites exists.
func TestCoverage(t *testing.T) {
	known := map[string]bool{}
	for _, r := range spec.Requirements() {
		known[r.ID] = true
	}
	for _, c := range Catalog() {
		for _, id := range c.Spec {
			if !known[id] {
				t.Errorf("case %s cites unknown requirement %s", c.ID, id)
			}
		}
	}
	var missing []string
	n, covered := 0, 0
	for _, row := range Coverage() {
		if row.Level != "MUST" {
			continue
		}
		n++
		switch {
		case len(row.Cases) > 0:
			covered++
			if row.Reason != "" {
				t.Errorf("%s is covered by %v and also listed as untestable", row.ID, row.Cases)
			}
		case row.Reason == "":
			missing = append(missing, row.ID)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d MUST requirements neither covered nor listed as untestable:\n%s", len(missing), strings.Join(missing, "\n"))
	}
	t.Logf("MUST requirements: %d, covered by cases: %d", n, covered)
}
