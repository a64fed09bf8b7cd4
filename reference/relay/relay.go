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
	Logger           *slog.Logger
}

// Relay serves SMP on the listeners given to Serve.
type Relay struct {
	cfg    Config
	log    *slog.Logger
	mu     sync.Mutex
	lns    []net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
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
	return &Relay{cfg: cfg, log: log, conns: map[net.Conn]struct{}{}}, nil
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

func (r *Relay) track(c net.Conn, add bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if add {
		if r.closed {
			return false
		}
		r.conns[c] = struct{}{}
	} else {
		delete(r.conns, c)
	}
	return true
}

func (r *Relay) serveConn(raw net.Conn, tlsCfg *tlsConfig) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.HandshakeTimeout)
	defer cancel()
	c := transport.TLSServer(raw, tlsCfg)
	if err := c.Handshake(ctx); err != nil {
		r.log.Debug("tls handshake failed", "remote", raw.RemoteAddr(), "err", err)
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
