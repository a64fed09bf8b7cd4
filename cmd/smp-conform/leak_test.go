package main

import (
	"context"
	"flag"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/conformance"
)

// A whole run (top versions) leaves no queue behind in the relay.
func TestRunLeavesNothing(t *testing.T) {
	self, err := startSelf("pw")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	rep := conformance.Run(context.Background(), self.target, conformance.Options{Quick: true, FuzzTime: 500 * time.Millisecond, ModelChecks: 3})
	if !rep.Passed() {
		t.Fatalf("run failed")
	}
	if q, m := self.Store().Counts(); q != 0 {
		t.Errorf("%d queues (%d messages) left in the relay after the run", q, m)
	}
}

// The runner sets no global testing flags: the state machine is its own
// (seeded, shrinking) and rapid, which is configured only through the
// standard flag set, is not linked into the command at all.
func TestNoTestingFlags(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/smpkit/smpkit/cmd/smp-conform").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	if strings.Contains(string(out), "pgregory.net/rapid") {
		t.Error("smp-conform links pgregory.net/rapid, whose settings are global testing flags")
	}
	if flag.Parsed() && flag.Lookup("rapid.seed") != nil {
		t.Error("a rapid flag is registered")
	}
}
