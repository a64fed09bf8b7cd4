// Package relay is the reference SMP relay (spec/smp.md §9). This first
// stage accepts connections, runs TLS with session binding and keeps each
// connection open until the client leaves; the SMP handshake and commands
// build on it.
package relay

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/smpkit/smpkit/reference/transport"
)

// Config configures a relay.
type Config struct {
	Credentials *transport.Credentials
	// Password, if set, is required by NEW and PRXY.
	Password string
	// HandshakeTimeout bounds TLS plus the SMP handshake; zero means 60 s.
	HandshakeTimeout time.Duration
	// MaxConnections and MaxConnectionsPerIP refuse connections beyond
	// these counts (closed at once, before TLS); zero means no limit.
	MaxConnections      int
	MaxConnectionsPerIP int
	Logger              *slog.Logger
}

// Relay serves SMP on the listeners given to Serve.
type Relay struct {
	cfg    Config
	log    *slog.Logger
	mu     sync.Mutex
	lns    []net.Listener
	conns  map[net.Conn]struct{}
	perIP  map[string]int
	closed bool
	wg     sync.WaitGroup
	stats  stats
}

// New returns a relay; it serves nothing until Serve is called.
func New(cfg Config) (*Relay, error) {
	if cfg.Credentials == nil {
		return nil, errors.New("relay: no credentials")
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = 60 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Relay{cfg: cfg, log: log, conns: map[net.Conn]struct{}{}, perIP: map[string]int{}}, nil
}

// Serve accepts connections on ln until Close. It returns nil after Close.
func (r *Relay) Serve(ln net.Listener) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return net.ErrClosed
	}
	r.lns = append(r.lns, ln)
	r.mu.Unlock()
	tlsCfg := transport.ServerTLSConfig(r.cfg.Credentials)
	for {
		c, err := ln.Accept()
		if err != nil {
			r.mu.Lock()
			closed := r.closed
			r.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		if !r.track(c, true) {
			c.Close()
			continue
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer r.track(c, false)
			defer c.Close()
			r.serveConn(c, tlsCfg)
		}()
	}
}

// track adds or removes a connection, applying the connection limits.
func (r *Relay) track(c net.Conn, add bool) bool {
	ip := remoteIP(c)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !add {
		delete(r.conns, c)
		if r.perIP[ip]--; r.perIP[ip] <= 0 {
			delete(r.perIP, ip)
		}
		r.stats.connections.Add(-1)
		return true
	}
	switch {
	case r.closed:
		return false
	case r.cfg.MaxConnections > 0 && len(r.conns) >= r.cfg.MaxConnections,
		r.cfg.MaxConnectionsPerIP > 0 && r.perIP[ip] >= r.cfg.MaxConnectionsPerIP:
		r.stats.refused.Add(1)
		r.log.Debug("connection refused by limit", "remote", ip)
		return false
	}
	r.conns[c] = struct{}{}
	r.perIP[ip]++
	r.stats.connections.Add(1)
	r.stats.accepted.Add(1)
	return true
}

func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

func (r *Relay) serveConn(raw net.Conn, tlsCfg *tlsConfig) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.HandshakeTimeout)
	defer cancel()
	c := transport.TLSServer(raw, tlsCfg)
	if err := c.Handshake(ctx); err != nil {
		r.stats.tlsFailures.Add(1)
		r.log.Debug("tls handshake failed", "remote", remoteIP(raw), "err", err)
		return
	}
	r.serveSMP(c)
}

// Close stops every listener and connection and waits for them to end.
func (r *Relay) Close() error {
	r.mu.Lock()
	r.closed = true
	for _, ln := range r.lns {
		ln.Close()
	}
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}
