package relay

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

// ProxyConfig configures the sending proxy (spec §10).
type ProxyConfig struct {
	// Disabled refuses PRXY with ERR PROXY BASIC_AUTH (SMP-PROXY-1).
	Disabled bool
	// Client configures the connections to destination relays; ProxyServer
	// is always set (SMP-PROXY-11).
	Client client.Config
	// Timeout bounds connecting to a destination relay and each forwarded
	// command (default 30 s).
	Timeout time.Duration
	// AllowPrivate lets the proxy connect to destinations on loopback,
	// private, link-local, unspecified, shared (CGNAT), multicast and the
	// other special-purpose networks of refusedNets, which it refuses by
	// default (SMP-PROXY-13). Tests with loopback relays set it.
	AllowPrivate bool
	// OwnDomains are host suffixes of the operator's own relays; proxying
	// to them is also counted apart in the metrics (upstream
	// own_server_domains).
	OwnDomains []string
	// Concurrency is how many proxy commands one client connection may
	// have in flight; more wait (default 32, upstream client_concurrency).
	Concurrency int
	// SOCKS, when set, is the SOCKS5 proxy that destinations are reached
	// through (upstream socks_proxy): the .onion ones, or all of them with
	// SOCKSAlways (upstream socks_mode).
	SOCKS       *SOCKSProxy
	SOCKSAlways bool
	// HostOnion makes the proxy connect to a destination's .onion host
	// when SOCKS is set (upstream host_mode = onion); otherwise, and
	// without SOCKS, it uses the first host that is not .onion. Like
	// upstream (Client.hs chooseTransportHost) it connects to that one
	// host only; when a destination has no host of the wanted kind it uses
	// the first, or with RequiredHostMode answers PROXY BROKER HOST.
	HostOnion        bool
	RequiredHostMode bool
}

// SOCKSProxy is a SOCKS5 proxy and the credentials sent to it.
type SOCKSProxy struct {
	Addr string // IP:port
	// Username, when not empty, is sent with Password (RFC 1929);
	// otherwise no authentication is offered.
	Username, Password string
}

// errPrivateDestination is the dial failure for a refused destination.
var errPrivateDestination = errors.New("relay: proxy destination is on a loopback, private or special-purpose network")

// publicOnly is the dialer Control hook enforcing SMP-PROXY-13 on the
// address actually dialled, after name resolution.
func publicOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if privateAddr(ip) {
		return errPrivateDestination
	}
	return nil
}

// refusedNets are the networks the proxy does not dial on behalf of its
// clients unless AllowPrivate (SMP-PROXY-13): the special-purpose ranges
// of the IANA registries (RFC 6890) that are not reachable on the public
// internet, so that a destination there can only be the proxy's own host,
// its network or its provider's. The documentation ranges (192.0.2.0/24,
// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are not listed: nothing
// is there to reach.
var refusedNets = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network", unspecified
	netip.MustParsePrefix("10.0.0.0/8"),     // private (RFC 1918)
	netip.MustParsePrefix("100.64.0.0/10"),  // shared address space, carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("127.0.0.0/8"),    // loopback
	netip.MustParsePrefix("169.254.0.0/16"), // link-local, cloud metadata services
	netip.MustParsePrefix("172.16.0.0/12"),  // private
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("192.168.0.0/16"), // private
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking (RFC 2544), used inside networks
	netip.MustParsePrefix("224.0.0.0/4"),    // multicast
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, with 255.255.255.255 broadcast
	netip.MustParsePrefix("::/128"),         // unspecified
	netip.MustParsePrefix("::1/128"),        // loopback
	netip.MustParsePrefix("fc00::/7"),       // unique local (RFC 4193)
	netip.MustParsePrefix("fe80::/10"),      // link-local
	netip.MustParsePrefix("ff00::/8"),       // multicast
}

// nat64 is the well-known NAT64 prefix (RFC 6052): on a network with a
// NAT64 gateway, 64:ff9b::a.b.c.d reaches the IPv4 address a.b.c.d, so it
// is refused when that address is. RFC 6052 forbids the prefix for
// non-global IPv4 addresses, but a gateway that translates them anyway
// would open the refused networks to anyone; public ones stay reachable,
// as IPv6-only hosts behind DNS64 need them.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// privateAddr reports an address in refusedNets, directly, as an
// IPv4-mapped IPv6 address (::ffff:a.b.c.d, which the kernel dials as
// IPv4) or through the NAT64 prefix. Zones are ignored (fe80::1%eth0 is
// link-local); an invalid address is refused.
func privateAddr(ip netip.Addr) bool {
	if !ip.IsValid() {
		return true
	}
	ip = ip.WithZone("").Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	for _, n := range refusedNets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// proxiedRange is what PKEY offers at most: v8 (the first version with
// proxying) to v17, so that clients upgrading at different times look the
// same to the destination relay (SMP-PROXY-2).
var proxiedRange = smp.VersionRange{Min: smp.VersionSendingProxy, Max: 17}

// failedReuse is how long a failed connection attempt is reported again
// without a new attempt.
const failedReuse = 30 * time.Second

// proxies holds the relay's connections to destination relays, one per
// address, shared by all its clients (SMP-PROXY-11).
type proxies struct {
	mu     sync.Mutex
	byAddr map[string]*dest
	bySess map[string]*dest
}

// dest is one destination relay connection, or the failure to make it.
type dest struct {
	srv   smp.Server
	ready chan struct{} // closed when cl or err is set
	cl    *client.Client
	err   smp.ErrorType
	at    time.Time
}

func (r *Relay) proxyConfig() ProxyConfig {
	var pc ProxyConfig
	if r.cfg.Proxy != nil {
		pc = *r.cfg.Proxy
	}
	if pc.Timeout <= 0 {
		pc.Timeout = 30 * time.Second
	}
	if pc.Concurrency <= 0 {
		pc.Concurrency = 32
	}
	pc.Client.Dial = destDialer(pc)
	pc.Client.ProxyServer = true
	if pc.Client.Logger == nil {
		pc.Client.Logger = r.log
	}
	return pc
}

func proxyErr(p smp.ProxyError) smp.Response {
	return smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &p}}
}

func brokerErr(b smp.BrokerError) smp.ErrorType {
	return smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &smp.ProxyError{Kind: smp.ProxyBROKER, Broker: b}}
}

func transportErr(kind string) smp.ErrorType {
	return brokerErr(smp.BrokerError{Kind: smp.BrokerTRANSPORT, Transport: smp.TransportError{Kind: kind}})
}

// connectErr maps a failure to reach a destination relay (SMP-PROXY-12).
func connectErr(err error) smp.ErrorType {
	var he *transport.HandshakeError
	var ne net.Error
	switch {
	case errors.As(err, &he):
		switch he.Kind {
		case "VERSION", "SESSION", "BLOCK":
			return transportErr(he.Kind)
		}
		const prefix = "HANDSHAKE "
		if len(he.Kind) > len(prefix) {
			return brokerErr(smp.BrokerError{Kind: smp.BrokerTRANSPORT,
				Transport: smp.TransportError{Kind: "HANDSHAKE", Handshake: he.Kind[len(prefix):]}})
		}
	case errors.Is(err, errPrivateDestination):
		return brokerErr(smp.BrokerError{Kind: smp.BrokerHOST})
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return brokerErr(smp.BrokerError{Kind: smp.BrokerTIMEOUT})
	}
	return brokerErr(smp.BrokerError{Kind: smp.BrokerNETWORK})
}

// temporaryConnectErr reports a failure to reach a destination that
// upstream counts as a connect error (errorsConnect): a network failure or
// a timeout, which may pass. The others (handshake and version failures,
// no usable host, a host refused by SMP-PROXY-13) are counted as
// errorsOther. Upstream decides on its client error before mapping it to
// the wire (Server.hs proxyServerResponse, Client.hs temporaryClientError:
// PCENetworkError, PCEResponseTimeout, PCEIOError); on the wire those are
// BROKER NETWORK, BROKER TIMEOUT and INTERNAL (Client.hs smpProxyError),
// and smpkit's connection failures are never INTERNAL.
func temporaryConnectErr(e smp.ErrorType) bool {
	if e.Kind != smp.ErrPROXY || e.Proxy == nil || e.Proxy.Kind != smp.ProxyBROKER {
		return false
	}
	k := e.Proxy.Broker.Kind
	return k == smp.BrokerNETWORK || k == smp.BrokerTIMEOUT
}

// destination returns the shared connection to a relay, connecting when
// there is none (SMP-PROXY-1).
func (r *Relay) destination(srv smp.Server) (*client.Client, *smp.ErrorType) {
	key := srv.String()
	r.px.mu.Lock()
	d := r.px.byAddr[key]
	if d != nil {
		select {
		case <-d.ready:
			if d.cl != nil {
				select {
				case <-d.cl.Done():
					d = nil // closed: connect again
				default:
				}
			} else if time.Since(d.at) > failedReuse {
				d = nil
			}
		default:
		}
	}
	mine := d == nil
	if mine {
		d = &dest{srv: srv, ready: make(chan struct{})}
		r.px.byAddr[key] = d
	}
	r.px.mu.Unlock()
	if mine {
		r.connectDest(srv, d)
	}
	<-d.ready
	if d.cl == nil {
		return nil, &d.err
	}
	return d.cl, nil
}

func (r *Relay) connectDest(srv smp.Server, d *dest) {
	defer close(d.ready)
	pc := r.proxyConfig()
	ctx, cancel := context.WithTimeout(context.Background(), pc.Timeout)
	defer cancel()
	go func() {
		select {
		case <-r.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	host, ok := chooseHost(srv.Hosts, pc)
	if !ok {
		d.at = time.Now()
		d.err = brokerErr(smp.BrokerError{Kind: smp.BrokerHOST})
		return
	}
	one := srv
	one.Hosts = []string{host}
	cl, err := client.Dial(ctx, one, pc.Client)
	d.at = time.Now()
	if err != nil {
		r.log.Debug("proxy: destination unreachable", "err", err)
		d.err = connectErr(err)
		return
	}
	d.cl = cl
	r.px.mu.Lock()
	r.px.bySess[string(cl.Session().SessionID)] = d
	r.px.mu.Unlock()
	r.bg.Add(1)
	go func() {
		// Destination relays send nothing unasked to a proxy; drain
		// anything so the client's reader never blocks, and forget the
		// connection when it ends.
		defer r.bg.Done()
		defer func() {
			r.px.mu.Lock()
			delete(r.px.bySess, string(cl.Session().SessionID))
			r.px.mu.Unlock()
		}()
		for {
			select {
			case <-cl.Events():
			case <-cl.Done():
				return
			case <-r.stop:
				cl.Close()
				return
			}
		}
	}()
}

// proxyConnect executes PRXY (SMP-PROXY-1, PROXY-2).
func (r *Relay) proxyConnect(cmd smp.CmdPRXY) smp.Response {
	pc := r.proxyConfig()
	if pc.Disabled || (r.cfg.Password != "" && (cmd.BasicAuth == nil || *cmd.BasicAuth != r.cfg.Password)) {
		return proxyErr(smp.ProxyError{Kind: smp.ProxyBASICAUTH})
	}
	ps := r.stats.proxyFor(&r.stats.pRelays, &r.stats.pRelaysOwn, ownDestination(pc.OwnDomains, cmd.Server))
	ps.inc(func(c *proxyCounts) *atomic.Int64 { return &c.requests })
	cl, e := r.destination(cmd.Server)
	if e != nil {
		if temporaryConnectErr(*e) {
			ps.inc(func(c *proxyCounts) *atomic.Int64 { return &c.errConnect })
		} else {
			ps.inc(func(c *proxyCounts) *atomic.Int64 { return &c.errOther })
		}
		return smp.RspERR{Err: *e}
	}
	sess := cl.Session()
	vr, ok := sess.Offered.Intersect(proxiedRange)
	if sess.Version < smp.VersionSendingProxy || !ok {
		ps.inc(func(c *proxyCounts) *atomic.Int64 { return &c.errCompat })
		return smp.RspERR{Err: transportErr("VERSION")}
	}
	if sess.ServerSignedKey == nil {
		ps.inc(func(c *proxyCounts) *atomic.Int64 { return &c.errCompat })
		return smp.RspERR{Err: transportErr("NO_AUTH")}
	}
	ps.inc(func(c *proxyCounts) *atomic.Int64 { return &c.successes })
	return smp.RspPKEY{SessionID: sess.SessionID, Versions: vr,
		Key: smp.CertKey{Chain: sess.ServerChain, SignedKey: sess.ServerSignedKey}}
}

// ownDestination reports whether a destination relay is the operator's
// own: its first host is one of the domains or under one, as upstream
// decides (Client/Agent.hs isOwnServer).
func ownDestination(domains []string, srv smp.Server) bool {
	if len(srv.Hosts) == 0 {
		return false
	}
	h := srv.Hosts[0]
	for _, d := range domains {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}

// proxyForward executes PFWD (SMP-PROXY-5, PROXY-6, PROXY-10).
func (r *Relay) proxyForward(t smp.Transmission, cmd smp.CmdPFWD) smp.Response {
	r.px.mu.Lock()
	d := r.px.bySess[string(t.EntityID)]
	r.px.mu.Unlock()
	if d == nil || d.cl == nil {
		r.stats.countNoSession()
		return proxyErr(smp.ProxyError{Kind: smp.ProxyNOSESSION})
	}
	ps := r.stats.proxyFor(&r.stats.pMsgFwds, &r.stats.pMsgFwdsOwn, ownDestination(r.proxyConfig().OwnDomains, d.srv))
	ps.inc(func(c *proxyCounts) *atomic.Int64 { return &c.requests })
	// As upstream (Server.hs, PFWD): a session below the proxying version
	// is the only compatibility error; whatever forwarding then returns
	// is a success or another error, never a connect error (those are
	// only for NO_SESSION, countNoSession).
	if d.cl.Session().Version < smp.VersionSendingProxy {
		ps.inc(func(c *proxyCounts) *atomic.Int64 { return &c.errCompat })
		return smp.RspERR{Err: transportErr("VERSION")}
	}
	rsp := r.forwardTo(d, t, cmd)
	switch e := rsp.(type) {
	case smp.RspPRES:
		ps.inc(func(c *proxyCounts) *atomic.Int64 { return &c.successes })
	case smp.RspERR:
		if e.Err.Proxy != nil && e.Err.Proxy.Kind == smp.ProxyPROTOCOL { // the destination's ERR: a success upstream
			ps.inc(func(c *proxyCounts) *atomic.Int64 { return &c.successes })
		} else { // NO_AUTH, network and timeout errors too
			ps.inc(func(c *proxyCounts) *atomic.Int64 { return &c.errOther })
		}
	}
	return rsp
}

// forwardTo sends one PFWD to its destination as RFWD and turns the answer
// into PRES (SMP-PROXY-5, PROXY-6, PROXY-10).
func (r *Relay) forwardTo(d *dest, t smp.Transmission, cmd smp.CmdPFWD) smp.Response {
	sess := d.cl.Session()
	if sess.Secret == nil {
		return smp.RspERR{Err: transportErr("NO_AUTH")}
	}
	fwd, err := smp.EncodeFwdTransmission(smp.FwdTransmission{CorrID: t.CorrID, Version: cmd.Version, Key: cmd.Key, EncTx: cmd.EncTx})
	if err != nil {
		return smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrINTERNAL}}
	}
	p := make([]byte, smpcrypto.NonceSize)
	if _, err := io.ReadFull(rand.Reader, p); err != nil {
		return smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrINTERNAL}}
	}
	pn := smpcrypto.NonceFromID(p)
	enc, err := smpcrypto.Seal(sess.Secret, pn, fwd)
	if err != nil {
		return smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrCRYPTO}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.proxyConfig().Timeout)
	defer cancel()
	rsp, err := d.cl.Do(ctx, client.Request{CorrID: p, Command: smp.CmdRFWD{EncTx: enc}})
	var se *client.ServerError
	switch {
	case errors.As(err, &se):
		e := se.Err
		return proxyErr(smp.ProxyError{Kind: smp.ProxyPROTOCOL, Protocol: &e})
	case errors.Is(err, context.DeadlineExceeded):
		return smp.RspERR{Err: brokerErr(smp.BrokerError{Kind: smp.BrokerTIMEOUT})}
	case err != nil:
		return smp.RspERR{Err: brokerErr(smp.BrokerError{Kind: smp.BrokerNETWORK})}
	}
	rres, ok := rsp.(smp.RspRRES)
	if !ok {
		return smp.RspERR{Err: brokerErr(smp.BrokerError{Kind: smp.BrokerUNEXPECTED, Text: rsp.Tag()})}
	}
	plain, err := smpcrypto.Open(sess.Secret, pn.Reversed(), rres.Enc)
	if err != nil {
		return smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrCRYPTO}}
	}
	fr, err := smp.ParseFwdResponse(plain)
	if err != nil {
		return smp.RspERR{Err: brokerErr(smp.BrokerError{Kind: smp.BrokerRESPONSE, Text: "RRES"})}
	}
	return smp.RspPRES{Enc: fr.Enc}
}

// forwarded executes RFWD on the destination relay (SMP-PROXY-7..9).
func (c *conn) forwarded(t smp.Transmission, cmd smp.CmdRFWD) smp.Response {
	c.r.stats.pMsgFwdsRecv.Add(1)
	fail := func(e smp.ErrorType) smp.Response { return smp.RspERR{Err: e} }
	if c.sess.Secret == nil {
		return fail(smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &smp.ProxyError{Kind: smp.ProxyBROKER,
			Broker: smp.BrokerError{Kind: smp.BrokerTRANSPORT, Transport: smp.TransportError{Kind: "NO_AUTH"}}}})
	}
	pn := smpcrypto.NonceFromID(t.CorrID)
	plain, err := smpcrypto.Open(c.sess.Secret, pn, cmd.EncTx)
	if err != nil {
		return fail(smp.ErrorType{Kind: smp.ErrCRYPTO})
	}
	ft, err := smp.ParseFwdTransmission(plain)
	if err != nil || !smp.SupportedRange.Contains(ft.Version) {
		return fail(smp.CMDSyntax)
	}
	priv := c.sess.ServerPrivateKey()
	clientSecret, err := priv.DH(ft.Key)
	if err != nil {
		return fail(smp.ErrorType{Kind: smp.ErrCRYPTO})
	}
	cn := smpcrypto.NonceFromID(ft.CorrID)
	content, err := smp.OpenProxied(clientSecret, cn, ft.EncTx)
	if err != nil {
		return fail(smp.ErrorType{Kind: smp.ErrCRYPTO})
	}
	env := &cmdEnv{v: ft.Version, sessionID: c.sess.SessionID, serverDH: priv, forwarded: true}
	var o out
	txs, err := smp.ParseBlockContent(content)
	switch {
	case err != nil:
		o = errOut(nil, nil, smp.BLOCK)
	case len(txs) != 1:
		return fail(smp.BLOCK)
	default:
		rc, failed := c.r.receive(env, txs[0])
		if failed != nil {
			o = *failed
		} else if outs, seq := c.exec(env, rc); c.r.durable(seq) != nil {
			o = errOut(rc.t.CorrID, rc.t.EntityID, smp.ErrorType{Kind: smp.ErrSTORE, Store: "write"})
		} else if len(outs) > 0 {
			o = outs[0]
			if p, ok := o.rsp.(pendingMSG); ok {
				o.rsp = msgResponse(p.q, p.m)
			}
		} else {
			o = errOut(rc.t.CorrID, rc.t.EntityID, smp.ErrorType{Kind: smp.ErrINTERNAL})
		}
	}
	body, err := smp.EncodeResponse(ft.Version, o.rsp)
	if err != nil {
		return fail(smp.BLOCK)
	}
	tx, err := smp.EncodeTransmission(ft.Version, smp.Transmission{SessionID: c.sess.SessionID, CorrID: o.corrID, EntityID: o.entityID, Command: body})
	if err != nil {
		return fail(smp.BLOCK)
	}
	inner, err := smp.EncodeBlockContent([][]byte{tx})
	if err != nil {
		return fail(smp.BLOCK)
	}
	r2, err := smp.SealProxied(clientSecret, cn.Reversed(), inner)
	if err != nil {
		return fail(smp.BLOCK)
	}
	fr, err := smp.EncodeFwdResponse(smp.FwdResponse{CorrID: ft.CorrID, Enc: r2})
	if err != nil {
		return fail(smp.BLOCK)
	}
	enc, err := smpcrypto.Seal(c.sess.Secret, pn.Reversed(), fr)
	if err != nil {
		return fail(smp.BLOCK)
	}
	return smp.RspRRES{Enc: enc}
}
