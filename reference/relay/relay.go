// Package relay is the reference SMP relay (spec/smp.md §9): it accepts
// TLS connections, runs the SMP handshake, and serves every command of
// versions 6..18 against a store that keeps queues and messages on disk.
package relay

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// Config configures a relay. Zero values mean the documented defaults.
type Config struct {
	Credentials *transport.Credentials
	// Store holds queues and messages. nil: a store in a temporary
	// directory, removed by Close, without fsync (for tests and smp-conform).
	Store *store.Store
	// Password, if set, is required by NEW and PRXY (SMP-CMD-NEW-3).
	Password string
	// NoNewQueues makes NEW fail with ERR AUTH.
	NoNewQueues bool
	// Versions offered in the handshake (default 6..18).
	Versions smp.VersionRange
	// Quota is the number of messages a queue holds before the QUOTA
	// marker (SMP-QUOTA-1); default 128.
	Quota int
	// MessageTTL is how long messages are kept (default 21 days), checked
	// every ExpireInterval (default 2 h) and at start (SMP-EXP-1).
	MessageTTL, ExpireInterval time.Duration
	// NotificationTTL is how long undelivered notifications wait (default 24 h).
	NotificationTTL time.Duration
	// IdleTimeout closes connections without subscriptions and without
	// traffic for that long (SMP-EXP-4); zero disables it.
	IdleTimeout time.Duration
	// HandshakeTimeout bounds TLS plus the SMP handshake; zero means 60 s.
	HandshakeTimeout time.Duration
	// MaxConnections and MaxConnectionsPerIP refuse connections beyond
	// these counts (closed at once, before TLS); zero means no limit.
	MaxConnections      int
	MaxConnectionsPerIP int
	// Proxy configures the sending proxy (§10); nil uses defaults.
	Proxy *ProxyConfig
	// EventBuffer is how many event groups may wait for a slow connection
	// before the relay closes it (default 256).
	EventBuffer int
	Logger      *slog.Logger
	// Rand is the source of ids and keys (default crypto/rand).
	Rand io.Reader
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Relay serves SMP on the listeners given to Serve.
type Relay struct {
	cfg    Config
	log    *slog.Logger
	store  *store.Store
	tmpDir string

	mu       sync.Mutex // listeners and connections
	lns      []net.Listener
	conns    map[net.Conn]struct{}
	sessions []*conn
	perIP    map[string]int
	closed   bool
	wg       sync.WaitGroup
	stats    stats

	qmu   sync.Mutex       // subscriptions, deliveries and notifications
	subs  map[string]*conn // recipient id → subscribed connection
	nsubs map[string]*conn // notifier id → subscribed connection
	ntfs  map[string][]pendingNtf
	// Services (§11.2), by fingerprint (a cache of the store's), and the
	// connection holding each service subscription. Notifier associations
	// are in the store, with each notifier.
	services map[string]*service
	svcSubs  map[string]*conn

	dummy dummyKeys
	px    *proxies
	hooks *hooks // nil except in tests

	stop chan struct{}
	bg   sync.WaitGroup
}

// New returns a relay; it serves nothing until Serve is called.
func New(cfg Config) (*Relay, error) {
	if cfg.Credentials == nil {
		return nil, errors.New("relay: no credentials")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.HandshakeTimeout, 60*time.Second)
	def(&cfg.MessageTTL, 21*24*time.Hour)
	def(&cfg.ExpireInterval, 2*time.Hour)
	def(&cfg.NotificationTTL, 24*time.Hour)
	if cfg.Quota <= 0 {
		cfg.Quota = 128
	}
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = 256
	}
	if cfg.Versions == (smp.VersionRange{}) {
		cfg.Versions = smp.SupportedRange
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Relay{
		cfg: cfg, log: log, store: cfg.Store,
		conns: map[net.Conn]struct{}{}, perIP: map[string]int{},
		subs: map[string]*conn{}, nsubs: map[string]*conn{}, ntfs: map[string][]pendingNtf{},
		services: map[string]*service{}, svcSubs: map[string]*conn{},
		dummy: newDummyKeys(),
		px:    &proxies{byAddr: map[string]*dest{}, bySess: map[string]*dest{}},
		stop:  make(chan struct{}),
	}
	if r.store == nil {
		dir, err := os.MkdirTemp("", "smp-relay-")
		if err != nil {
			return nil, err
		}
		st, _, err := store.Open(dir, store.Options{Sync: store.SyncNever})
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		r.store, r.tmpDir = st, dir
	}
	// The relay waits for durability itself, outside r.qmu (group commit).
	r.store.DeferSync()
	for _, sv := range r.store.Services() {
		r.services[string(sv.Fingerprint)] = &service{id: sv.ID, role: smp.ServiceRole(sv.Role), fingerprint: sv.Fingerprint}
	}
	r.expire()
	r.bg.Add(1)
	go r.housekeeping()
	return r, nil
}

// Store returns the relay's store.
func (r *Relay) Store() *store.Store { return r.store }

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
	if r.hooks != nil && r.hooks.tls != nil {
		r.hooks.tls(tlsCfg)
	}
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
	sess, err := transport.ServerHandshake(ctx, c, transport.ServerConfig{
		Credentials: r.cfg.Credentials,
		Versions:    r.cfg.Versions,
		Rand:        r.cfg.Rand,
		Service:     r.registerService,
	})
	if err != nil {
		r.log.Debug("smp handshake failed", "remote", remoteIP(raw), "err", err)
		return
	}
	cancel()
	r.serveSession(sess)
}

// Close stops every listener and connection and waits for them to end.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	for _, ln := range r.lns {
		ln.Close()
	}
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	close(r.stop)
	r.bg.Wait()
	if r.tmpDir != "" {
		r.store.Close()
		os.RemoveAll(r.tmpDir)
	}
	return nil
}

// housekeeping expires messages and notifications and closes idle
// connections.
func (r *Relay) housekeeping() {
	defer r.bg.Done()
	exp := time.NewTicker(r.cfg.ExpireInterval)
	defer exp.Stop()
	idleEvery := time.Hour
	if r.cfg.IdleTimeout > 0 && r.cfg.IdleTimeout/4 < idleEvery {
		idleEvery = max(r.cfg.IdleTimeout/4, 10*time.Millisecond)
	}
	idle := time.NewTicker(idleEvery)
	defer idle.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-exp.C:
			r.expire()
		case <-idle.C:
			if r.cfg.IdleTimeout > 0 {
				r.closeIdle()
			}
		}
	}
}

// expire deletes messages past their time to live (SMP-EXP-1..2) and old
// notifications (SMP-EXP-3).
func (r *Relay) expire() {
	now := r.cfg.Now()
	n, err := r.store.ExpireMessages(now.Add(-r.cfg.MessageTTL).Unix())
	if err != nil {
		r.log.Error("message expiry failed", "err", err)
	}
	if n > 0 {
		r.log.Info("messages expired", "count", n)
	}
	cut := now.Add(-r.cfg.NotificationTTL).Unix()
	r.qmu.Lock()
	for nid, list := range r.ntfs {
		i := 0
		for i < len(list) && list[i].ts < cut {
			i++
		}
		if i == len(list) {
			delete(r.ntfs, nid)
		} else if i > 0 {
			r.ntfs[nid] = list[i:]
		}
	}
	r.qmu.Unlock()
}
