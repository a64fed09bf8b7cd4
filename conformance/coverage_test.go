package conformance

import (
	"slices"
	"strings"
	"testing"

	"github.com/smpkit/smpkit/reference/smp"
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

// The matrix puts each version-gated rule on both sides of its gate.
func TestMatrixPoints(t *testing.T) {
	want := map[string][]smp.Version{
		"CMD-SEND-SIZE":       {7, 8, 10, 11},
		"DLV-DELD":            {9, 10},
		"CMD-NEW-PASSWORD":    {6, 8, 9},
		"CMD-NEW-CREATE-ONLY": {8, 9, 14, 15},
		"SM-DELIVERY-MODEL":   {9, 10},
		"HS-PROXY-FLAG-PLAIN": {14},
	}
	for _, c := range Catalog() {
		w, ok := want[c.ID]
		if !ok {
			continue
		}
		pts := c.Points(smp.SupportedRange, false)
		for _, v := range w {
			if !slices.Contains(pts, v) {
				t.Errorf("%s runs at %v, not at %d", c.ID, pts, v)
			}
		}
		if q := c.Points(smp.SupportedRange, true); len(q) != 1 || q[0] != c.Versions.Max {
			t.Errorf("%s quick points %v", c.ID, q)
		}
	}
	if len(Gates()) != 11 {
		t.Errorf("%d gates parsed from spec/smp.md §1.1, want 11 (7..18 without 13)", len(Gates()))
	}
}

// Coverage sorts each citing case by the path it declares: a case doing
// both is listed on both sides, the others on one.
func TestCoveragePaths(t *testing.T) {
	path := map[string]Path{}
	for _, c := range Catalog() {
		path[c.ID] = c.Path
	}
	for _, row := range Coverage() {
		for _, c := range row.Cases {
			pos, neg := slices.Contains(row.Positive, c), slices.Contains(row.Negative, c)
			want := map[Path][2]bool{Positive: {true, false}, Negative: {false, true}, Both: {true, true}}[path[c]]
			if [2]bool{pos, neg} != want {
				t.Errorf("%s: case %s (%s) listed positive=%v negative=%v", row.ID, c, path[c], pos, neg)
			}
		}
	}
}
