package relay

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/socks5"
)

// How the sending proxy reaches destination relays: upstream's network
// configuration of its proxy client (simplexmq Client.hs
// chooseTransportHost, transportClientConfig; Transport/Client.hs
// connectSocksClient), smpkit's destination policy on top (SMP-PROXY-13).

func isOnion(host string) bool { return strings.HasSuffix(strings.ToLower(host), ".onion") }

// chooseHost picks the one host of a destination the proxy connects to.
func chooseHost(hosts []string, pc ProxyConfig) (string, bool) {
	wantOnion := pc.HostOnion && pc.SOCKS != nil
	for _, h := range hosts {
		if isOnion(h) == wantOnion {
			return h, true
		}
	}
	if pc.RequiredHostMode || len(hosts) == 0 {
		return "", false
	}
	return hosts[0], true
}

// destDialer is how the proxy opens TCP to a destination host: through
// SOCKS (for .onion hosts, or every host with SOCKSAlways), else directly.
//
// The destination policy (SMP-PROXY-13, unless AllowPrivate) applies to
// direct connections on the address dialled, after resolution (publicOnly).
// Through SOCKS the proxy resolves names and smpkit never sees the
// address, so the policy applies to what can be checked: an IP literal
// host is refused when private, and so are "localhost" and names under
// ".localhost" (RFC 6761); any other name is the SOCKS proxy's to resolve
// and its own policy's to refuse (Tor refuses private addresses by default).
// The SOCKS proxy's own address is the operator's choice and not checked.
func destDialer(pc ProxyConfig) func(ctx context.Context, network, addr string) (net.Conn, error) {
	direct := pc.Client.Dial
	if direct == nil {
		d := net.Dialer{}
		if !pc.AllowPrivate {
			d.Control = publicOnly
		}
		direct = d.DialContext
	}
	if pc.SOCKS == nil {
		return direct
	}
	sd := &socks5.Dialer{Proxy: pc.SOCKS.Addr, Username: pc.SOCKS.Username, Password: pc.SOCKS.Password}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if !pc.SOCKSAlways && !isOnion(host) {
			return direct(ctx, network, addr)
		}
		if !pc.AllowPrivate && privateName(host) {
			return nil, errPrivateDestination
		}
		return sd.DialContext(ctx, network, addr)
	}
}

// privateName reports a host sent through SOCKS that is known to name a
// refused address (refusedNets) without resolving it.
func privateName(host string) bool {
	if ip, err := netip.ParseAddr(host); err == nil {
		return privateAddr(ip)
	}
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// SOCKSAuth is how the proxy authenticates to the SOCKS proxy, as
// upstream's socks_proxy syntax says (Transport/Client.hs SocksAuth).
type SOCKSAuth int

const (
	// SOCKSIsolate (no "@"): a username per relay run, no password, so
	// that a Tor proxy (IsolateSOCKSAuth) keeps the relay's connections
	// apart from other users of the same Tor.
	SOCKSIsolate SOCKSAuth = iota
	// SOCKSNoAuth ("@host:port"): no authentication.
	SOCKSNoAuth
	// SOCKSUserPass ("user:pass@host:port"): those credentials.
	SOCKSUserPass
)

// SOCKSSetting is a parsed socks_proxy value.
type SOCKSSetting struct {
	Auth               SOCKSAuth
	Username, Password string // SOCKSUserPass
	Addr               string // IP:port
}

// ParseSOCKSProxy reads upstream's socks_proxy syntax
// ([user:pass@ | @][host][:port], Transport/Client.hs StrEncoding
// SocksAuth and SocksProxy): the host defaults to 127.0.0.1 and the port
// to 9050. Upstream wants the host as an IPv4 or IPv6 address; smpkit
// also reads "localhost" as 127.0.0.1, since upstream's init writes
// "# socks_proxy = localhost:9050" as the example.
func ParseSOCKSProxy(v string) (SOCKSSetting, error) {
	var s SOCKSSetting
	rest := v
	if i := strings.IndexByte(v, '@'); i >= 0 {
		cred := v[:i]
		rest = v[i+1:]
		if cred == "" {
			s.Auth = SOCKSNoAuth
		} else {
			u, p, ok := strings.Cut(cred, ":")
			if !ok || u == "" {
				return s, fmt.Errorf("want [user:password@ or @][ip][:port]")
			}
			if len(u) > 255 || len(p) > 255 {
				return s, fmt.Errorf("SOCKS username and password are at most 255 bytes")
			}
			s.Auth, s.Username, s.Password = SOCKSUserPass, u, p
		}
	}
	host, port := rest, "9050"
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return s, fmt.Errorf("unterminated [ in %q", rest)
		}
		host, rest = rest[1:end], rest[end+1:]
		if rest != "" {
			p, ok := strings.CutPrefix(rest, ":")
			if !ok {
				return s, fmt.Errorf("want :port after ]")
			}
			port = p
		}
	} else if i := strings.LastIndexByte(rest, ':'); i >= 0 && strings.Count(rest, ":") == 1 {
		host, port = rest[:i], rest[i+1:]
	}
	switch host {
	case "", "localhost":
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return s, fmt.Errorf("SOCKS proxy host %q: want an IPv4 or IPv6 address", host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return s, fmt.Errorf("%q is not a port number", port)
	}
	s.Addr = net.JoinHostPort(ip.String(), port)
	return s, nil
}

// proxy is the SOCKSProxy for a relay starting at start: with isolation,
// upstream's username (Client.hs clientSocksCredentials for the proxy's
// session (1, server, Nothing) in TSMSession mode): base64 of the SHA-256
// of "1:" and the client agent's start time, with an empty password. The
// text of the time differs from Haskell's show; only its uniqueness per
// run matters.
func (s SOCKSSetting) proxy(start time.Time) *SOCKSProxy {
	p := &SOCKSProxy{Addr: s.Addr}
	switch s.Auth {
	case SOCKSIsolate:
		h := sha256.Sum256([]byte("1:" + start.UTC().Format("2006-01-02 15:04:05.999999999 UTC")))
		p.Username = base64.StdEncoding.EncodeToString(h[:])
	case SOCKSUserPass:
		p.Username, p.Password = s.Username, s.Password
	}
	return p
}
