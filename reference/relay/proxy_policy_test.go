package relay_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
)

// proxyAnswer asks the relay at proxy to open a session with dest and
// returns the proxy's error, nil for PKEY.
func proxyAnswer(t *testing.T, proxy, dest *testRelay) error {
	t.Helper()
	cl := proxy.dial(smp.SupportedRange.Max)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := cl.ProxyTo(ctx, dest.srv, nil, smp.VersionRange{})
	return err
}

func proxyErrKind(err error) (smp.ProxyErrKind, smp.BrokerErrKind) {
	var se *client.ServerError
	if !errors.As(err, &se) || se.Err.Proxy == nil {
		return "", ""
	}
	return se.Err.Proxy.Kind, se.Err.Proxy.Broker.Kind
}

// TestProxyDestinationPolicy (SMP-PROXY-13): by default the sending proxy
// refuses a destination on loopback with PROXY BROKER HOST; allowed
// explicitly it connects; disabled, PRXY gets PROXY BASIC_AUTH.
func TestProxyDestinationPolicy(t *testing.T) {
	dest := startRelay(t, relay.Config{})
	strict := startRelay(t, relay.Config{Proxy: &relay.ProxyConfig{}})
	if k, b := proxyErrKind(proxyAnswer(t, strict, dest)); k != smp.ProxyBROKER || b != smp.BrokerHOST {
		t.Errorf("default policy to a loopback destination: %s %s, want PROXY BROKER HOST", k, b)
	}
	if m := metricsText(t, strict.r); !strings.Contains(m, `simplex_smp_relay_sessions_errors{source="all",type="connect"} 1`) {
		t.Errorf("refused destination not counted:\n%s", m)
	}
	open := startRelay(t, relay.Config{Proxy: &relay.ProxyConfig{AllowPrivate: true, OwnDomains: []string{"127.0.0.1"}}})
	if err := proxyAnswer(t, open, dest); err != nil {
		t.Errorf("allowed private destinations: %v", err)
	}
	// own_server_domains: the destination is counted as own as well.
	if m := metricsText(t, open.r); !strings.Contains(m, `simplex_smp_relay_sessions_successes{source="all"} 1`) ||
		!strings.Contains(m, `simplex_smp_relay_sessions_successes{source="own"} 1`) {
		t.Errorf("proxy session counters:\n%s", m)
	}
	off := startRelay(t, relay.Config{Proxy: &relay.ProxyConfig{Disabled: true, AllowPrivate: true}})
	if k, _ := proxyErrKind(proxyAnswer(t, off, dest)); k != smp.ProxyBASICAUTH {
		t.Errorf("disabled proxy answered %v, want PROXY BASIC_AUTH", k)
	}
}

func TestPrivateAddresses(t *testing.T) {
	for addr, private := range map[string]bool{
		"127.0.0.1": true, "127.8.9.1": true, "::1": true, "10.1.2.3": true, "172.16.0.1": true,
		"192.168.1.1": true, "169.254.169.254": true, "fe80::1": true, "fd00::1": true, "0.0.0.0": true,
		"::": true, "::ffff:127.0.0.1": true, "::ffff:10.0.0.1": true,
		"8.8.8.8": false, "172.32.0.1": false, "2001:db8::1": false, "1.1.1.1": false,
	} {
		if got := relay.PrivateAddr(netip.MustParseAddr(addr)); got != private {
			t.Errorf("%s: private %v, want %v", addr, got, private)
		}
	}
}

func TestOwnDestination(t *testing.T) {
	for _, tc := range []struct {
		hosts []string
		own   bool
	}{
		{[]string{"smp1.example.com"}, true}, {[]string{"example.com"}, true}, {[]string{"a.b.example.com", "x.onion"}, true}, {[]string{"x.onion", "a.b.example.com"}, false},
		{[]string{"badexample.com"}, false}, {[]string{"example.com.evil.net"}, false}, {[]string{"other.net"}, false},
	} {
		if got := relay.OwnDestination([]string{"example.com"}, smp.Server{Hosts: tc.hosts}); got != tc.own {
			t.Errorf("%v: own %v, want %v", tc.hosts, got, tc.own)
		}
	}
}

// TestProxyConcurrency (upstream [PROXY] client_concurrency): with a limit
// of 1, a client's second proxy command waits for the first, and so does
// everything after it on the connection; with the default limit it does
// not. The destination accepts TCP and never answers, so PRXY ends at the
// proxy's timeout.
func TestProxyConcurrency(t *testing.T) {
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(hole.Addr().String())
	dest := smp.Server{Hosts: []string{"127.0.0.1"}, Port: port, KeyHash: make([]byte, 32)}
	for _, limit := range []int{1, 0} {
		tr := startRelay(t, relay.Config{Proxy: &relay.ProxyConfig{AllowPrivate: true, Concurrency: limit, Timeout: time.Second}})
		cl := tr.dial(smp.SupportedRange.Max)
		done := make(chan string, 3)
		do := func(name string, cmd smp.Command) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cl.Do(ctx, client.Request{Command: cmd})
			done <- name
		}
		go do("first PRXY", smp.CmdPRXY{Server: dest})
		time.Sleep(150 * time.Millisecond) // the commands must reach the relay in this order
		go do("second PRXY", smp.CmdPRXY{Server: dest})
		time.Sleep(150 * time.Millisecond)
		go do("PING", smp.CmdPING{})
		order := map[string]int{}
		for i := 0; i < 3; i++ {
			order[<-done] = i
		}
		pingWaited := order["PING"] > order["first PRXY"]
		if pingWaited != (limit == 1) {
			t.Errorf("client_concurrency %d: answers in order %v", limit, order)
		}
	}
}
