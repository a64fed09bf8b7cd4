package clientcert

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/smpkit/smpkit/conformance"
)

// TestPythonSkeleton: the example shim speaks the protocol (DRV-HELLO
// passes) and, having no client behind it, fails the first duplex case
// with a refusal rather than a protocol error.
func TestPythonSkeleton(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	opts := Options{Launch: Exec([]string{py, "../../examples/shim-python/shim.py"}), Wait: 3 * time.Second}
	for _, tc := range []struct {
		id   string
		want conformance.Status
	}{{"DRV-HELLO", conformance.Pass}, {"DUPLEX-FAST-INITIATOR", conformance.Fail}} {
		var c *Case
		for _, x := range Catalog() {
			if x.ID == tc.id {
				c = x
			}
		}
		res := RunCase(context.Background(), c, opts)
		if res.Status != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.id, res.Status, res.Detail, tc.want)
		}
		t.Logf("%s: %s %s", tc.id, res.Status, res.Detail)
	}
}
