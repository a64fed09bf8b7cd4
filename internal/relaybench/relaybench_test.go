package relaybench

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	ChildMain()
	os.Exit(m.Run())
}

// TestCompareSmall keeps the harness working: every system, a few messages.
func TestCompareSmall(t *testing.T) {
	rep, err := Compare(Options{Pairs: []int{3}, Fsyncs: []string{"never"}, Messages: 30, HalfLoad: true, Idle: 3, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{Relay, Baseline, Floor} {
		r := rep.Get(s, "never", 3)
		if r == nil || r.Msgs != 30 || r.Rate <= 0 {
			t.Fatalf("%s: %+v", s, r)
		}
	}
	if len(rep.Half) != 3 || rep.Idle == nil {
		t.Fatalf("half-load runs %d, idle %v", len(rep.Half), rep.Idle)
	}
	// The baseline and the floor again, at the relay's half-load rate.
	if len(rep.SameRate) != 2 {
		t.Fatalf("same-rate runs %d, want 2", len(rep.SameRate))
	}
	for _, r := range rep.SameRate {
		if r.Msgs != 15 || r.P99Sent <= 0 || r.P99Sent > r.P99 {
			t.Fatalf("%s at the relay's rate: %+v", r.System, r)
		}
	}
}
