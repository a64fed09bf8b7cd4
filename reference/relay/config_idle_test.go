package relay_test

import (
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
)

// TestInactiveClientsCheckInterval ([INACTIVE_CLIENTS] check_interval):
// the interval is how often the relay looks for idle connections, so with
// ttl = 0 an idle connection closes at the first check after it, and not
// before. Two relays from two files run side by side: check_interval = 1
// and check_interval = 3600. When the first has closed its idle
// connection the second's is still open; were check_interval ignored, the
// second would check every 10 ms (its default for ttl = 0) and close first.
// With disconnect = off nothing is closed at all.
func TestInactiveClientsCheckInterval(t *testing.T) {
	fromFile := func(ini string) *testRelay {
		s, _, err := relay.ReadSettings(strings.NewReader(ini))
		if err != nil {
			t.Fatal(err)
		}
		return startRelay(t, relay.ConfigFromSettings(s, nil, nil, nil))
	}
	fast := fromFile("[INACTIVE_CLIENTS]\ndisconnect = on\nttl = 0\ncheck_interval = 1\n")
	slow := fromFile("[INACTIVE_CLIENTS]\ndisconnect = on\nttl = 0\ncheck_interval = 3600\n")
	off := fromFile("[INACTIVE_CLIENTS]\ndisconnect = off\nttl = 0\ncheck_interval = 1\n")
	slowCl, offCl := slow.dial(smp.SupportedRange.Max), off.dial(smp.SupportedRange.Max)
	fastCl := fast.dial(smp.SupportedRange.Max)
	select {
	case <-fastCl.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("check_interval = 1: the idle connection is still open after 20 s")
	}
	for name, cl := range map[string]interface{ Done() <-chan struct{} }{"check_interval = 3600": slowCl, "disconnect = off": offCl} {
		select {
		case <-cl.Done():
			t.Errorf("%s: the idle connection was closed", name)
		default:
		}
	}
}
