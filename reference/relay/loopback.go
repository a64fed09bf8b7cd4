package relay

import (
	"crypto/rand"
	"errors"
	"net"
	"sync"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/transport"
)

// Loopback is a relay serving on 127.0.0.1 with fresh credentials: what
// `smp-conform self` certifies and what tests talk to.
type Loopback struct {
	*Relay
	// Server is the relay's address (host 127.0.0.1 and its port).
	Server smp.Server
	done   chan error
	once   sync.Once
	err    error
}

// StartLoopback starts a relay on a free loopback port. cfg.Credentials,
// when nil, are generated for the host "localhost". A loopback relay's
// destinations are loopback relays too, so when cfg.Proxy is nil its
// sending proxy is configured to allow them (ProxyConfig.AllowPrivate);
// pass a ProxyConfig to test the default policy.
func StartLoopback(cfg Config) (*Loopback, error) {
	if cfg.Proxy == nil {
		cfg.Proxy = &ProxyConfig{AllowPrivate: true}
	}
	if cfg.Credentials == nil {
		creds, err := transport.GenerateCredentials("localhost", rand.Reader)
		if err != nil {
			return nil, err
		}
		cfg.Credentials = creds
	}
	r, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.Close()
		return nil, err
	}
	l := &Loopback{Relay: r, done: make(chan error, 1)}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	l.Server = smp.Server{Hosts: []string{"127.0.0.1"}, Port: port, KeyHash: cfg.Credentials.Identity()}
	go func() { l.done <- r.Serve(ln) }()
	return l, nil
}

// Close stops the relay and waits for it; later calls return the same.
func (l *Loopback) Close() error {
	l.once.Do(func() {
		l.err = l.Relay.Close()
		if serr := <-l.done; serr != nil && !errors.Is(serr, net.ErrClosed) {
			l.err = serr
		}
	})
	return l.err
}
