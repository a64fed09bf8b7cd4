package relay_test

import (
	"net"
	"testing"
	"time"

	"github.com/smpkit/smpkit/conformance"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
)

// TestConformance certifies the reference relay with the whole catalogue
// over the full range (cases run at their highest version) and pinned to a
// few older versions, where the encodings differ.
func TestConformance(t *testing.T) {
	tr := startRelay(t, relay.Config{Password: "conformance-test"})
	target := conformance.Target{
		HostPort: net.JoinHostPort(tr.srv.Hosts[0], tr.srv.Port),
		KeyHash:  tr.srv.KeyHash,
		Password: "conformance-test",
		Display:  "reference relay",
	}
	for _, vr := range []smp.VersionRange{smp.SupportedRange, {Min: 6, Max: 6}, {Min: 9, Max: 9}, {Min: 11, Max: 11}, {Min: 15, Max: 15}} {
		t.Run(vr.String(), func(t *testing.T) {
			conformance.TestRelay(t, target, conformance.Options{Versions: vr, FuzzTime: 500 * time.Millisecond})
		})
	}
}
