package relay_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// TestProxyErrorCounting checks that the sending proxy counts PRXY and
// PFWD outcomes into upstream's buckets for the same events (simplexmq
// Server.hs processProxiedCmd): a PRXY that cannot connect is a connect
// error when the failure may pass (network, timeout: Client.hs
// temporaryClientError) and another error otherwise (handshake, version,
// host); a PRXY that connects to a relay whose versions cannot be proxied
// is a compatibility error; a PFWD whose destination answers, even with
// ERR, is a success, and every other PFWD failure but NO_SESSION is
// another error. Every destination is a real relay on loopback, or a
// closed port, or a listener that never speaks; the counts are read from
// both the metrics and the control port's stats lines.
func TestProxyErrorCounting(t *testing.T) {
	dest := startRelay(t, relay.Config{})
	old := startRelay(t, relay.Config{Versions: smp.VersionRange{Min: 6, Max: 7}})      // no version in common with the proxy's client
	newest := startRelay(t, relay.Config{Versions: smp.VersionRange{Min: 18, Max: 18}}) // connects, but above what is proxied (8..17)
	closed := closedPort(t)
	wrongKey := dest.srv
	wrongKey.KeyHash = bytes.Repeat([]byte{7}, 32) // TLS refuses the identity: a network error upstream too

	// The proxy speaks 8..18 with destinations, so that old fails in the
	// handshake.
	proxy := startRelay(t, relay.Config{Proxy: &relay.ProxyConfig{AllowPrivate: true,
		Client: client.Config{Versions: smp.VersionRange{Min: smp.VersionSendingProxy, Max: smp.SupportedRange.Max}}}})
	addr := startControl(t, proxy, relay.ControlConfig{UserPassword: "usr"})
	pc := proxy.dial(smp.SupportedRange.Max)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	p, err := pc.ProxyTo(ctx, dest.srv, nil, smp.VersionRange{})
	if err != nil {
		t.Fatalf("PRXY to a relay: %v", err)
	}
	for _, tc := range []struct {
		name   string
		srv    smp.Server
		broker smp.BrokerErrKind
	}{
		{"closed port", closed, smp.BrokerNETWORK},
		{"wrong identity", wrongKey, smp.BrokerNETWORK},
		{"no common version", old.srv, smp.BrokerTRANSPORT},
		{"versions not proxied", newest.srv, smp.BrokerTRANSPORT},
	} {
		_, err := pc.ProxyTo(ctx, tc.srv, nil, smp.VersionRange{})
		if k, b := proxyErrKind(err); k != smp.ProxyBROKER || b != tc.broker {
			t.Errorf("PRXY, %s: %v, want PROXY BROKER %s", tc.name, err, tc.broker)
		}
	}

	// PFWD: the destination's answer to the inner command (AUTH for a
	// queue it does not have) comes inside PRES: a success.
	_, err = p.Do(ctx, client.Request{EntityID: bytes.Repeat([]byte{5}, 24), Command: smp.CmdSEND{Body: []byte("x")}})
	wantErr(t, err, smp.AUTH)
	// The destination's ERR to RFWD itself (it cannot open the garbage
	// inner transmission) comes back as PROXY PROTOCOL: a success upstream.
	_, err = pc.Do(ctx, client.Request{EntityID: p.SessionID,
		Command: smp.CmdPFWD{Version: p.Version, Key: genKey(t, smpcrypto.X25519).Public(), EncTx: bytes.Repeat([]byte{1}, 64)}})
	wantErr(t, err, smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &smp.ProxyError{Kind: smp.ProxyPROTOCOL, Protocol: &smp.ErrorType{Kind: smp.ErrCRYPTO}}})
	// No such session: a connect error.
	_, err = pc.Do(ctx, client.Request{EntityID: bytes.Repeat([]byte{8}, 32),
		Command: smp.CmdPFWD{Version: p.Version, Key: genKey(t, smpcrypto.X25519).Public(), EncTx: []byte("x")}})
	wantErr(t, err, smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &smp.ProxyError{Kind: smp.ProxyNOSESSION}})

	wantProxyCounts(t, proxy, addr, "relay_sessions", "pRelays", proxyCounts{requests: 5, successes: 1, connect: 2, compat: 1, other: 1})
	wantProxyCounts(t, proxy, addr, "relay_messages", "pMsgFwds", proxyCounts{requests: 3, successes: 2, connect: 1})

	// A destination that accepts TCP and never answers: a timeout, a
	// connect error.
	held := heldDestination(t)
	slow := startRelay(t, relay.Config{Proxy: &relay.ProxyConfig{AllowPrivate: true, Timeout: 300 * time.Millisecond}})
	_, err = slow.dial(smp.SupportedRange.Max).ProxyTo(ctx, held.srv, nil, smp.VersionRange{})
	if k, b := proxyErrKind(err); k != smp.ProxyBROKER || b != smp.BrokerTIMEOUT {
		t.Errorf("PRXY to a silent destination: %v, want PROXY BROKER TIMEOUT", err)
	}
	wantProxyCounts(t, slow, "", "relay_sessions", "pRelays", proxyCounts{requests: 1, connect: 1})

	// A proxy that agreed no session secret with the destination (its
	// client sends no DH key) answers PFWD with PROXY BROKER TRANSPORT
	// NO_AUTH: another error, as upstream's forwardSMPTransmission
	// failing with TENoServerAuth.
	noKey := startRelay(t, relay.Config{Proxy: &relay.ProxyConfig{AllowPrivate: true, Client: client.Config{NoDHKey: true}}})
	nc := noKey.dial(smp.SupportedRange.Max)
	np, err := nc.ProxyTo(ctx, dest.srv, nil, smp.VersionRange{})
	if err != nil {
		t.Fatalf("PRXY without a DH key: %v", err)
	}
	_, err = np.Do(ctx, client.Request{EntityID: bytes.Repeat([]byte{5}, 24), Command: smp.CmdSEND{Body: []byte("x")}})
	if k, b := proxyErrKind(err); k != smp.ProxyBROKER || b != smp.BrokerTRANSPORT {
		t.Errorf("PFWD without a session secret: %v, want PROXY BROKER TRANSPORT NO_AUTH", err)
	}
	wantProxyCounts(t, noKey, "", "relay_messages", "pMsgFwds", proxyCounts{requests: 1, other: 1})

	// A proxy whose client speaks every version agrees v7 with old: PRXY
	// is a compatibility error, but the session stays open, as upstream's
	// does. A PFWD on it (its id read from old's control port, the
	// proxy's connection being old's only client) is a compatibility
	// error too, the only one PFWD has.
	oldAddr := startControl(t, old, relay.ControlConfig{AdminPassword: "adm"})
	full := startRelay(t, relay.Config{Proxy: &relay.ProxyConfig{AllowPrivate: true}})
	ac := full.dial(smp.SupportedRange.Max)
	_, err = ac.ProxyTo(ctx, old.srv, nil, smp.VersionRange{})
	wantErr(t, err, smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &smp.ProxyError{Kind: smp.ProxyBROKER,
		Broker: smp.BrokerError{Kind: smp.BrokerTRANSPORT, Transport: smp.TransportError{Kind: "VERSION"}}}})
	// The destination lists the session once its side of the handshake
	// has registered it, which may come after the proxy's side is done.
	var rows []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		rows = strings.Split(strings.TrimSuffix(control(t, oldAddr, "adm", "clients"), "\n"), "\n")
		if len(rows) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if len(rows) != 2 {
		t.Fatalf("clients of the v7 destination:\n%s", strings.Join(rows, "\n"))
	}
	sid, err := base64.StdEncoding.DecodeString(strings.Split(rows[1], ",")[1])
	if err != nil {
		t.Fatalf("clients: %q: %v", rows[1], err)
	}
	_, err = ac.Do(ctx, client.Request{EntityID: sid,
		Command: smp.CmdPFWD{Version: smp.VersionSendingProxy, Key: genKey(t, smpcrypto.X25519).Public(), EncTx: []byte("x")}})
	wantErr(t, err, smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &smp.ProxyError{Kind: smp.ProxyBROKER,
		Broker: smp.BrokerError{Kind: smp.BrokerTRANSPORT, Transport: smp.TransportError{Kind: "VERSION"}}}})
	wantProxyCounts(t, full, "", "relay_sessions", "pRelays", proxyCounts{requests: 1, compat: 1})
	wantProxyCounts(t, full, "", "relay_messages", "pMsgFwds", proxyCounts{requests: 1, compat: 1})
}

type proxyCounts struct{ requests, successes, connect, compat, other int64 }

// wantProxyCounts checks one family of proxy counters (source "all"; no
// destination here is the operator's own, so "own" stays 0) in the
// metrics and, when the control port's address is given, in its stats.
func wantProxyCounts(t *testing.T, tr *testRelay, controlAddr, metric, label string, c proxyCounts) {
	t.Helper()
	m := "simplex_smp_" + metric
	want := map[string]int64{
		m + `_requests{source="all"}`: c.requests, m + `_successes{source="all"}`: c.successes,
		m + `_errors{source="all",type="connect"}`: c.connect, m + `_errors{source="all",type="compat"}`: c.compat,
		m + `_errors{source="all",type="other"}`: c.other, m + `_requests{source="own"}`: 0,
	}
	wantMetrics(t, tr.r, want)
	if controlAddr == "" {
		return
	}
	line := label + ": requests=" + itoa(c.requests) + ", successes=" + itoa(c.successes) + ", errorsConnect=" + itoa(c.connect) +
		", errorsCompat=" + itoa(c.compat) + ", errorsOther=" + itoa(c.other)
	if out := control(t, controlAddr, "usr", "stats"); !strings.Contains(out, "\n"+line+"\n") {
		t.Errorf("control port stats lack %q:\n%s", line, out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// closedPort is a loopback destination whose port refuses connections.
func closedPort(t *testing.T) smp.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return smp.Server{Hosts: []string{"127.0.0.1"}, Port: port, KeyHash: make([]byte, 32)}
}
