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
	// Addresses in the other refused networks are refused on the address
	// being dialled (the dialer's Control hook runs before connect, so
	// nothing is sent to them): shared address space, benchmarking, and
	// loopback through the NAT64 prefix. (IPv4-mapped literals cannot be
	// named: they have no canonical host form, SMP-ADDR-3.)
	for _, host := range []string{"100.64.0.1", "198.18.0.1", "64:ff9b::7f00:1"} {
		srv := dest.srv
		srv.Hosts = []string{host}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := strict.dial(smp.SupportedRange.Max).ProxyTo(ctx, srv, nil, smp.VersionRange{})
		cancel()
		if k, b := proxyErrKind(err); k != smp.ProxyBROKER || b != smp.BrokerHOST {
			t.Errorf("default policy to %s: %v, want PROXY BROKER HOST", host, err)
		}
	}
	off := startRelay(t, relay.Config{Proxy: &relay.ProxyConfig{Disabled: true, AllowPrivate: true}})
	if k, _ := proxyErrKind(proxyAnswer(t, off, dest)); k != smp.ProxyBASICAUTH {
		t.Errorf("disabled proxy answered %v, want PROXY BASIC_AUTH", k)
	}
}

// TestPrivateAddresses (SMP-PROXY-13): the networks a proxy refuses by
// default, at their edges, directly, IPv4-mapped and through the NAT64
// prefix, and their neighbours it dials.
func TestPrivateAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		refused bool
		what    string
	}{
		{"127.0.0.1", true, "loopback"}, {"127.255.255.254", true, "loopback"}, {"::1", true, "loopback"},
		{"10.1.2.3", true, "private"}, {"172.16.0.1", true, "private"}, {"172.31.255.255", true, "private"},
		{"192.168.1.1", true, "private"}, {"fd00::1", true, "unique local"}, {"fc00::1", true, "unique local"},
		{"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, "unique local"},
		{"169.254.169.254", true, "link-local (metadata)"}, {"fe80::1", true, "link-local"},
		{"fe80::1%eth0", true, "link-local with a zone"}, {"febf::1", true, "link-local"},
		{"0.0.0.0", true, "unspecified"}, {"0.1.2.3", true, "this network"}, {"::", true, "unspecified"},
		{"100.64.0.1", true, "shared (CGNAT)"}, {"100.127.255.255", true, "shared (CGNAT)"},
		{"192.0.0.8", true, "IETF protocol assignments"}, {"192.0.0.255", true, "IETF protocol assignments"},
		{"198.18.0.1", true, "benchmarking"}, {"198.19.255.255", true, "benchmarking"},
		{"224.0.0.1", true, "multicast"}, {"239.255.255.250", true, "multicast"},
		{"ff02::1", true, "multicast"}, {"ff0e::1", true, "multicast"},
		{"240.0.0.1", true, "reserved"}, {"255.255.255.255", true, "broadcast"},
		{"::ffff:127.0.0.1", true, "mapped loopback"}, {"::ffff:10.0.0.1", true, "mapped private"},
		{"::ffff:100.64.0.1", true, "mapped CGNAT"}, {"::ffff:169.254.169.254", true, "mapped link-local"},
		{"::ffff:255.255.255.255", true, "mapped broadcast"}, {"::ffff:0.0.0.0", true, "mapped unspecified"},
		{"64:ff9b::127.0.0.1", true, "NAT64 loopback"}, {"64:ff9b::10.0.0.1", true, "NAT64 private"},
		{"64:ff9b::a9fe:a9fe", true, "NAT64 link-local"}, {"64:ff9b::100.64.0.1", true, "NAT64 CGNAT"},
		{"64:ff9b::224.0.0.1", true, "NAT64 multicast"},

		{"8.8.8.8", false, "public"}, {"1.1.1.1", false, "public"}, {"2606:4700::1111", false, "public"},
		{"172.15.255.255", false, "below 172.16/12"}, {"172.32.0.1", false, "above 172.16/12"},
		{"100.63.255.255", false, "below 100.64/10"}, {"100.128.0.0", false, "above 100.64/10"},
		{"192.0.1.1", false, "above 192.0.0/24"}, {"198.17.255.255", false, "below 198.18/15"},
		{"198.20.0.0", false, "above 198.18/15"}, {"223.255.255.255", false, "below multicast"},
		{"1.0.0.0", false, "above 0/8"}, {"fbff:ffff::1", false, "below fc00::/7"}, {"fec0::1", false, "above fe80::/10"},
		{"192.0.2.1", false, "documentation"}, {"198.51.100.7", false, "documentation"},
		{"203.0.113.9", false, "documentation"}, {"2001:db8::1", false, "documentation"},
		{"::ffff:8.8.8.8", false, "mapped public"}, {"64:ff9b::8.8.8.8", false, "NAT64 public"},
		{"64:ff9c::10.0.0.1", false, "not the NAT64 prefix"},
	} {
		if got := relay.PrivateAddr(netip.MustParseAddr(tc.addr)); got != tc.refused {
			t.Errorf("%s (%s): refused %v, want %v", tc.addr, tc.what, got, tc.refused)
		}
	}
	if !relay.PrivateAddr(netip.Addr{}) {
		t.Error("the zero address is not refused")
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
