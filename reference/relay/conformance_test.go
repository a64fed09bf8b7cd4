package relay_test

import (
	"net"
	"testing"
	"time"

	"github.com/smpkit/smpkit/conformance"
	"github.com/smpkit/smpkit/reference/relay"
)

// TestConformance certifies the reference relay with the whole catalogue
// over the full version matrix: every case at every version point where
// its rule or bytes differ (conformance.Case.Points).
func TestConformance(t *testing.T) {
	tr := startRelay(t, relay.Config{Password: "conformance-test"})
	target := conformance.Target{
		HostPort: net.JoinHostPort(tr.srv.Hosts[0], tr.srv.Port),
		KeyHash:  tr.srv.KeyHash,
		Password: "conformance-test",
		Display:  "reference relay",
	}
	conformance.TestRelay(t, target, conformance.Options{FuzzTime: time.Second, ModelChecks: 8})
}
