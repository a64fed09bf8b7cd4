package relay_test

import (
	"net"
	"testing"

	"github.com/smpkit/smpkit/conformance"
	"github.com/smpkit/smpkit/reference/relay"
)

// TestConformance certifies the reference relay with the whole catalogue,
// at the top version and at the lowest.
func TestConformance(t *testing.T) {
	tr := startRelay(t, relay.Config{Password: "conformance-test"})
	target := conformance.Target{
		HostPort: net.JoinHostPort(tr.srv.Hosts[0], tr.srv.Port),
		KeyHash:  tr.srv.KeyHash,
		Password: "conformance-test",
		Display:  "reference relay",
	}
	conformance.TestRelay(t, target, conformance.Options{})
}
