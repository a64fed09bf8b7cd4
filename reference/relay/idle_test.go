package relay_test

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/transport"
)

// TestIdleConnectionOneGoroutine: an idle connection costs the relay one
// goroutine (its reader); the writer runs only while something is queued.
func TestIdleConnectionOneGoroutine(t *testing.T) {
	tr := startRelay(t, relay.Config{})
	addr := net.JoinHostPort(tr.srv.Hosts[0], tr.srv.Port)
	const n = 20
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		raw, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		tc := transport.TLSClient(raw, transport.ClientTLSConfig(tr.srv.KeyHash, false, nil))
		if err := tc.Handshake(ctx); err != nil {
			t.Fatal(err)
		}
		sess, err := transport.ClientHandshake(ctx, tc, transport.ClientConfig{KeyHash: tr.srv.KeyHash})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sess.Close() })
	}
	// The relay finishes its side of each handshake on its own time.
	var d int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if d = runtime.NumGoroutine() - before; d <= n {
			break
		}
	}
	if d > n {
		t.Fatalf("%d idle connections hold %d goroutines", n, d)
	}
}
