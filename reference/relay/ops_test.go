package relay_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// TestExpireOnSend (upstream expire_messages_on_send): SEND first drops the
// queue's expired messages; without the setting they wait for the
// periodic expiry.
func TestExpireOnSend(t *testing.T) {
	for _, on := range []bool{true, false} {
		c := &clock{now: time.Now()}
		tr := startRelay(t, relay.Config{Now: c.Now, MessageTTL: time.Hour, ExpireOnSend: on})
		cl := tr.dial(smp.SupportedRange.Max)
		q := newQueue(t, cl, smp.CmdNEW{SubMode: smp.SubModeOnlyCreate}, smpcrypto.Ed25519)
		mustDo(t, cl, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Body: []byte("old")}})
		c.add(2 * time.Hour)
		mustDo(t, cl, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Body: []byte("new")}})
		n, _ := tr.r.Store().Size(q.ids.RcvID)
		if want := map[bool]int{true: 1, false: 2}[on]; n != want {
			t.Errorf("expire on send %v: %d messages stored, want %d", on, n, want)
		}
	}
}

// TestExpireOnStart (upstream expire_messages_on_start): a relay expires
// old messages when it starts, unless told not to.
func TestExpireOnStart(t *testing.T) {
	st, _, err := store.Open(t.TempDir(), store.Options{Sync: store.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rid := bytes.Repeat([]byte{1}, 24)
	if err := st.CreateQueue(store.Queue{RecipientID: rid, RecipientKeys: [][]byte{make([]byte, 44)}, RcvDHSecret: make([]byte, 32), SenderID: bytes.Repeat([]byte{2}, 24)}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour).Unix()
	if err := st.AddMessage(rid, store.Message{ID: bytes.Repeat([]byte{3}, 24), Timestamp: old, Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	for _, skip := range []bool{true, false} {
		l, err := relay.StartLoopback(relay.Config{Store: st, MessageTTL: 24 * time.Hour, NoExpireOnStart: skip})
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		n, _ := st.Size(rid)
		if want := map[bool]int{true: 1, false: 0}[skip]; n != want {
			t.Errorf("NoExpireOnStart %v: %d messages left, want %d", skip, n, want)
		}
	}
}

// syncBuffer is a log destination safe for the relay's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogTLSErrors (upstream log_tls_errors): failed TLS handshakes are
// logged at info only when asked.
func TestLogTLSErrors(t *testing.T) {
	for _, on := range []bool{true, false} {
		var logs syncBuffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		tr := startRelay(t, relay.Config{Logger: log, LogTLSErrors: on})
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", tr.srv.Port))
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		c.Read(make([]byte, 64))
		c.Close()
		deadline := time.Now().Add(2 * time.Second)
		for on && !strings.Contains(logs.String(), "tls handshake failed") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := strings.Contains(logs.String(), "tls handshake failed"); got != on {
			t.Errorf("log_tls_errors %v: logged %v:\n%s", on, got, logs.String())
		}
	}
}

// TestInactiveTTLZero (upstream [INACTIVE_CLIENTS] ttl = 0): a connection
// without subscriptions is closed at the first check.
func TestInactiveTTLZero(t *testing.T) {
	s, _, err := relay.ReadSettings(strings.NewReader("[INACTIVE_CLIENTS]\ndisconnect = on\nttl = 0\ncheck_interval = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := relay.ConfigFromSettings(s, nil, nil, nil)
	cfg.Proxy = nil
	tr := startRelay(t, cfg)
	cl := tr.dial(smp.SupportedRange.Max)
	select {
	case <-cl.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("an idle connection outlived ttl = 0 with check_interval = 1")
	}
}

// TestNoServiceCredentials (upstream accept_service_credentials = off):
// a service client is refused in the handshake; an ordinary one is not.
func TestNoServiceCredentials(t *testing.T) {
	svc, err := transport.GenerateCredentials("service", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := smpcrypto.NewPrivateKey(smpcrypto.Ed25519, svc.CertKey.(ed25519.PrivateKey).Seed())
	if err != nil {
		t.Fatal(err)
	}
	cert := svc.TLSCertificate()
	for _, off := range []bool{false, true} {
		tr := startRelay(t, relay.Config{NoServiceCredentials: off})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cl, err := client.Dial(ctx, tr.srv, client.Config{PingInterval: -1, Certificate: &cert,
			Service: &transport.ServiceCredentials{Role: smp.RoleMessaging, Chain: svc.Chain(), Leaf: leaf}})
		cancel()
		if err == nil {
			cl.Close()
		}
		if (err != nil) != off {
			t.Errorf("accept_service_credentials = %v: service handshake error %v", !off, err)
		}
		tr.dial(smp.SupportedRange.Max) // ordinary clients are unaffected
	}
}

// TestWebOnSMPPort (upstream [WEB] https on an SMP port): a client sending
// SNI gets the web certificate and HTTP; SMP clients on the same port are
// served as before.
func TestWebOnSMPPort(t *testing.T) {
	web, err := transport.GenerateCredentials("web.example", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "relay information") })
	tr := startRelay(t, relay.Config{Web: &relay.WebConfig{Certificate: web.TLSCertificate(), Handler: handler}})
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: "web.example", InsecureSkipVerify: true}}}
	rsp, err := hc.Get("https://127.0.0.1:" + tr.srv.Port + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rsp.Body)
	rsp.Body.Close()
	if string(body) != "relay information" || !bytes.Equal(rsp.TLS.PeerCertificates[0].Raw, web.Cert.Raw) {
		t.Fatalf("HTTPS answered %q", body)
	}
	cl := tr.dial(smp.SupportedRange.Max)
	newQueue(t, cl, smp.CmdNEW{}, smpcrypto.Ed25519)
}
