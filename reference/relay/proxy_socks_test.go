package relay_test

import (
	"context"
	"crypto/rand"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/smpkit/smpkit/internal/socks5test"
	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// TestProxySOCKS: with socks_proxy and host_mode = onion the sending proxy
// reaches a destination by its .onion name through SOCKS5, the name sent
// unresolved and the isolation username with it, and a message sent
// through the proxy arrives. The SOCKS server stands in for Tor: it alone
// knows where the .onion name leads (the loopback destination relay).
// The destination policy stays on (no AllowPrivate): the proxy cannot see
// where a name leads, so a name passes.
func TestProxySOCKS(t *testing.T) {
	dest := startRelay(t, relay.Config{})
	const onion = "destrelay2kcdzyzf.onion"
	socks := socks5test.Start(t, map[string]string{onion: net.JoinHostPort(dest.srv.Hosts[0], dest.srv.Port)})
	proxy := startRelay(t, relay.Config{Proxy: &relay.ProxyConfig{
		SOCKS: &relay.SOCKSProxy{Addr: socks.Addr, Username: "run-1"}, HostOnion: true}})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The destination's address lists its public (loopback) host first;
	// host_mode = onion takes the .onion one.
	target := dest.srv
	target.Hosts = []string{dest.srv.Hosts[0], onion}
	rc := dest.dial(smp.SupportedRange.Max)
	q := newQueue(t, rc, smp.CmdNEW{QueueReq: &smp.QueueReq{Mode: smp.QueueMessaging}}, smpcrypto.X25519)
	p, err := proxy.dial(smp.SupportedRange.Max).ProxyTo(ctx, target, nil, smp.VersionRange{})
	if err != nil {
		t.Fatalf("PRXY through SOCKS: %v", err)
	}
	sk, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader) // X25519: authenticators through the proxy
	if _, err := p.Do(ctx, client.Request{Key: sk, EntityID: q.ids.SndID, Command: smp.CmdSKEY{SenderKey: sk.Public()}}); err != nil {
		t.Fatalf("proxied SKEY: %v", err)
	}
	if _, err := p.Do(ctx, client.Request{Key: sk, EntityID: q.ids.SndID, Command: smp.CmdSEND{Body: []byte("via tor")}}); err != nil {
		t.Fatalf("proxied SEND: %v", err)
	}
	if m, ok := nextEvent(t, rc).Response.(smp.RspMSG); !ok || string(q.open(t, m).Body) != "via tor" {
		t.Fatalf("MSG: %+v", m)
	}
	port, _ := strconv.Atoi(dest.srv.Port)
	want := socks5test.Request{Method: 2, Username: "run-1", Host: onion, Domain: true, Port: port}
	if got := socks.Requests(); len(got) != 1 || got[0] != want {
		t.Fatalf("SOCKS requests %+v, want [%+v]", got, want)
	}
}

// TestProxyHostMode: which host the proxy uses and how it gets there
// (upstream host_mode, required_host_mode, socks_mode), and the
// destination policy on each path (SMP-PROXY-13).
func TestProxyHostMode(t *testing.T) {
	dest := startRelay(t, relay.Config{})
	const onion = "destrelay2kcdzyzf.onion"
	socks := socks5test.Start(t, map[string]string{onion: net.JoinHostPort(dest.srv.Hosts[0], dest.srv.Port),
		"localhost": net.JoinHostPort(dest.srv.Hosts[0], dest.srv.Port)})
	sp := &relay.SOCKSProxy{Addr: socks.Addr}
	with := func(hosts ...string) smp.Server {
		s := dest.srv
		s.Hosts = hosts
		return s
	}
	loop := dest.srv.Hosts[0]
	for _, tc := range []struct {
		name    string
		pc      relay.ProxyConfig
		dest    smp.Server
		broker  smp.BrokerErrKind // "" for PKEY
		viaSOCK []string          // hosts the SOCKS server was asked for
	}{
		// public: the first host that is not .onion, dialled directly, where
		// the policy refuses loopback.
		{"public/direct", relay.ProxyConfig{SOCKS: sp}, with(onion, loop), smp.BrokerHOST, nil},
		{"public/allowed", relay.ProxyConfig{SOCKS: sp, AllowPrivate: true}, with(onion, loop), "", nil},
		// onion without a SOCKS proxy is public (HMOnionViaSocks).
		{"onion/no-socks", relay.ProxyConfig{HostOnion: true, AllowPrivate: true}, with(onion, loop), "", nil},
		// No host of the wanted kind: the first, or with required_host_mode
		// PROXY BROKER HOST without any connection.
		{"onion/first", relay.ProxyConfig{SOCKS: sp, HostOnion: true, AllowPrivate: true}, with(loop), "", nil},
		{"onion/required", relay.ProxyConfig{SOCKS: sp, HostOnion: true, RequiredHostMode: true, AllowPrivate: true}, with(loop), smp.BrokerHOST, nil},
		{"public/required", relay.ProxyConfig{SOCKS: sp, RequiredHostMode: true}, with(onion), smp.BrokerHOST, nil},
		// socks_mode = always: every host through SOCKS; a loopback IP
		// literal or "localhost" is still refused by the policy, unless
		// allowed, and then goes to the proxy as an address.
		{"always/loopback-ip", relay.ProxyConfig{SOCKS: sp, SOCKSAlways: true}, with(loop), smp.BrokerHOST, nil},
		{"always/localhost", relay.ProxyConfig{SOCKS: sp, SOCKSAlways: true}, with("localhost"), smp.BrokerHOST, nil},
		{"always/allowed", relay.ProxyConfig{SOCKS: sp, SOCKSAlways: true, AllowPrivate: true}, with(loop), "", []string{loop}},
		// socks_mode = onion: only the .onion host goes through SOCKS.
		{"onion/socks", relay.ProxyConfig{SOCKS: sp, HostOnion: true}, with(loop, onion), "", []string{onion}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(socks.Requests())
			pc := tc.pc
			proxy := startRelay(t, relay.Config{Proxy: &pc})
			err := proxyAnswer(t, proxy, &testRelay{t: t, srv: tc.dest})
			if _, b := proxyErrKind(err); b != tc.broker || (tc.broker == "" && err != nil) {
				t.Fatalf("got %v, want broker error %q", err, tc.broker)
			}
			var got []string
			for _, r := range socks.Requests()[before:] {
				got = append(got, r.Host)
			}
			if len(got) != len(tc.viaSOCK) || (len(got) > 0 && got[0] != tc.viaSOCK[0]) {
				t.Fatalf("through SOCKS: %q, want %q", got, tc.viaSOCK)
			}
		})
	}
}
