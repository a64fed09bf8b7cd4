package relay_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
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
	// Counted as upstream counts BROKER HOST (PCEIncompatibleHost, not a
	// temporary error): errorsOther.
	if m := metricsText(t, strict.r); !strings.Contains(m, `simplex_smp_relay_sessions_errors{source="all",type="other"} 1`) {
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
// not. Nothing is ordered by sleeping: each destination accepts TCP and
// answers nothing, holding the proxy's connection until the test closes it,
// so a PRXY stays in flight exactly as long as the test wants; a command is
// sent only once the relay has counted the one before (smpkit_commands_total)
// and a PRXY is known to be in flight once its destination was dialled. The
// two PRXY name different destinations: the relay shares one connection
// attempt per destination.
func TestProxyConcurrency(t *testing.T) {
	for _, limit := range []int{1, 0} {
		destA, destB := heldDestination(t), heldDestination(t)
		tr := startRelay(t, relay.Config{Proxy: &relay.ProxyConfig{AllowPrivate: true, Concurrency: limit, Timeout: 20 * time.Second}})
		cl := tr.dial(smp.SupportedRange.Max)
		send := func(cmd smp.Command) <-chan error {
			answered := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_, err := cl.Do(ctx, client.Request{Command: cmd})
				answered <- err
			}()
			return answered
		}
		// sendCounted sends cmd and returns once the relay has read it.
		sendCounted := func(cmd smp.Command) <-chan error {
			before := commandsTotal(t, tr.r)
			answered := send(cmd)
			eventually(t, "the relay to read "+cmd.Tag(), func() bool { return commandsTotal(t, tr.r) > before })
			return answered
		}
		first := sendCounted(smp.CmdPRXY{Server: destA.srv})
		connA := destA.connected(t, "first PRXY")
		second := sendCounted(smp.CmdPRXY{Server: destB.srv})
		if limit == 1 {
			// The relay's reader now waits for the first PRXY's slot: the
			// PING behind the second one must not even be read.
			read := commandsTotal(t, tr.r)
			ping := send(smp.CmdPING{})
			// A relay that enforces the limit can never fail this; one that
			// does not is caught while it answers within the window.
			select {
			case <-ping:
				t.Fatalf("client_concurrency 1: PING answered while the first PRXY was in flight")
			case <-second:
				t.Fatalf("client_concurrency 1: second PRXY answered while the first was in flight")
			case <-destB.conns:
				t.Fatalf("client_concurrency 1: second PRXY connecting while the first was in flight")
			case <-time.After(300 * time.Millisecond):
			}
			if n := commandsTotal(t, tr.r); n != read {
				t.Errorf("client_concurrency 1: the relay read %d more commands while the first PRXY was in flight", n-read)
			}
			connA.Close() // the first PRXY fails, freeing its slot
			wantAnswer(t, first, "first PRXY")
			connB := destB.connected(t, "second PRXY after the first")
			wantAnswer(t, ping, "PING once the second PRXY holds the slot")
			connB.Close()
			wantAnswer(t, second, "second PRXY")
		} else {
			connB := destB.connected(t, "second PRXY alongside the first")
			wantAnswer(t, send(smp.CmdPING{}), "PING with two PRXY in flight")
			for name, ch := range map[string]<-chan error{"first PRXY": first, "second PRXY": second} {
				select {
				case <-ch:
					t.Errorf("default client_concurrency: %s answered before its destination let it go", name)
				default:
				}
			}
			connA.Close()
			connB.Close()
			wantAnswer(t, first, "first PRXY")
			wantAnswer(t, second, "second PRXY")
		}
	}
}

// heldDest is a destination that accepts TCP and never speaks: a proxy
// connecting to it waits until the test closes the connection.
type heldDest struct {
	srv   smp.Server
	conns chan net.Conn
}

func heldDestination(t *testing.T) *heldDest {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	d := &heldDest{srv: smp.Server{Hosts: []string{"127.0.0.1"}, Port: port, KeyHash: make([]byte, 32)}, conns: make(chan net.Conn, 8)}
	stop := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case d.conns <- c:
			case <-stop:
				c.Close()
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		ln.Close()
		for {
			select {
			case c := <-d.conns:
				c.Close()
			default:
				return
			}
		}
	})
	return d
}

// connected waits for the proxy to connect and returns its connection,
// closed at the end of the test if the test does not close it first.
func (d *heldDest) connected(t *testing.T, what string) net.Conn {
	t.Helper()
	select {
	case c := <-d.conns:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the relay did not connect to the destination", what)
	}
	return nil
}

// wantAnswer waits for the relay to answer a command sent with send (its
// result, an error for a PRXY to a held destination, does not matter).
func wantAnswer(t *testing.T, answered <-chan error, what string) {
	t.Helper()
	select {
	case err := <-answered:
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: no answer", what)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no answer within 10 s", what)
	}
}

// commandsTotal is the relay's count of commands read.
func commandsTotal(t *testing.T, r *relay.Relay) int64 {
	t.Helper()
	for _, l := range strings.Split(metricsText(t, r), "\n") {
		if v, ok := strings.CutPrefix(l, "smpkit_commands_total "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("smpkit_commands_total %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("no smpkit_commands_total metric")
	return 0
}

// eventually polls cond until it holds, for at most 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
