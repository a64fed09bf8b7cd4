package relay

import (
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/transport"
)

func startRelay(t *testing.T, cfg Config) (*Relay, string, *transport.Credentials) {
	t.Helper()
	creds, err := transport.GenerateCredentials("localhost", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = creds
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go r.Serve(ln)
	t.Cleanup(func() { r.Close() })
	return r, ln.Addr().String(), creds
}

func dialTLS(t *testing.T, addr string, creds *transport.Credentials) (*transport.TLSConn, error) {
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := transport.TLSClient(raw, transport.ClientTLSConfig(creds.Identity(), false, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t.Cleanup(func() { c.Close() })
	return c, c.Handshake(ctx)
}

func TestConnectionLimitPerIP(t *testing.T) {
	r, addr, creds := startRelay(t, Config{MaxConnectionsPerIP: 2})
	for i := 0; i < 2; i++ {
		if _, err := dialTLS(t, addr, creds); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	if _, err := dialTLS(t, addr, creds); err == nil {
		t.Fatal("third connection from one IP was accepted")
	}
	rec := httptest.NewRecorder()
	r.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if !strings.Contains(string(body), "smpkit_connections_refused_total 1") {
		t.Fatalf("metrics:\n%s", body)
	}
}
