// Package relay is the reference SMP relay (spec/smp.md §9): it accepts
// TLS connections, runs the SMP handshake, and serves every command of
// versions 6..18 against a store that keeps queues and messages on disk.
package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
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
	// NoExpireOnStart skips the expiry run at start (upstream
	// expire_messages_on_start = off).
	NoExpireOnStart bool
	// ExpireOnSend deletes a queue's expired messages before SEND adds
	// one (upstream expire_messages_on_send).
	ExpireOnSend bool
	// NotificationTTL is how long undelivered notifications wait (default 24 h).
	NotificationTTL time.Duration
	// IdleTimeout closes connections without subscriptions and without
	// traffic for that long (SMP-EXP-4); zero disables it.
	IdleTimeout time.Duration
	// IdleCheckInterval is how often idle connections are looked for
	// (default: a quarter of IdleTimeout, at most an hour).
	IdleCheckInterval time.Duration
	// HandshakeTimeout bounds TLS plus the SMP handshake; zero means 60 s.
	HandshakeTimeout time.Duration
	// MaxConnections and MaxConnectionsPerIP refuse connections beyond
	// these counts (closed at once, before TLS); zero means no limit.
	MaxConnections      int
	MaxConnectionsPerIP int
	// LogTLSErrors logs failed TLS handshakes at info level rather than
	// debug (upstream log_tls_errors).
	LogTLSErrors bool
	// NoServiceCredentials refuses service clients in the handshake
	// (upstream accept_service_credentials = off).
	NoServiceCredentials bool
	// DailyBlockQuota limits the queues the control port blocks per UTC
	// day: 0 no limit, negative none may be blocked (upstream
	// daily_block_queue_quota; default 0 here, 20 in smp-server.ini).
	DailyBlockQuota int
	// Proxy configures the sending proxy (§10); nil uses defaults.
	Proxy *ProxyConfig
	// Web, if set, answers HTTPS on the relay's ports to clients that send
	// SNI (upstream [WEB] https on an SMP port).
	Web *WebConfig
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

	tls    atomic.Pointer[tlsState] // the online credentials; replaced by ReloadCredentials
	blocks blockQuota               // control-port blocks today
	web    *webServer               // nil without Config.Web

	clientSeq atomic.Int64 // the next connection's number (control port clients)
	started   time.Time    // for the control port's fromTime
}

// tlsState is the credentials in use and the TLS configuration made from
// them (nil until the first Serve, so that test hooks apply to it).
type tlsState struct {
	creds *transport.Credentials
	cfg   *tls.Config
}

func (r *Relay) tlsConfigFor(creds *transport.Credentials) *tls.Config {
	cfg := transport.ServerTLSConfig(creds)
	if r.web != nil {
		cfg.GetConfigForClient = r.web.forSNI
	}
	if r.hooks != nil && r.hooks.tls != nil {
		r.hooks.tls(cfg)
	}
	return cfg
}

// Credentials returns the online credentials in use.
func (r *Relay) Credentials() *transport.Credentials { return r.tls.Load().creds }

// ReloadCredentials makes new connections use creds, for example after
// `smp-server cert` replaced the online certificate. The identity (the CA
// certificate, so the address) must stay; open connections keep theirs.
func (r *Relay) ReloadCredentials(creds *transport.Credentials) error {
	if creds == nil || !bytes.Equal(creds.Identity(), r.Credentials().Identity()) {
		return errors.New("relay: new credentials have another identity (ca.crt): the address would change")
	}
	r.tls.Store(&tlsState{creds: creds, cfg: r.tlsConfigFor(creds)})
	r.log.Info("online certificate reloaded")
	return nil
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
	r.started = cfg.Now()
	r.tls.Store(&tlsState{creds: cfg.Credentials})
	r.stats.startedAt = cfg.Now()
	if cfg.Web != nil {
		r.web = newWebServer(cfg.Web)
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
	if !cfg.NoExpireOnStart {
		r.expire()
	}
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
	if st := r.tls.Load(); st.cfg == nil {
		r.tls.CompareAndSwap(st, &tlsState{creds: st.creds, cfg: r.tlsConfigFor(st.creds)})
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	sockets := r.stats.socketsFor(port)
	return r.acceptLoop(ln, func(c net.Conn) {
		sockets.accepted.Add(1)
		sockets.active.Add(1)
		defer func() { sockets.active.Add(-1); sockets.closed.Add(1) }()
		r.serveConn(c)
	})
}

// acceptLoop accepts connections on ln until the relay closes and serves
// each one the connection limits admit in a goroutine of its own; the
// connection is closed and untracked when serve returns.
func (r *Relay) acceptLoop(ln net.Listener, serve func(net.Conn)) error {
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
			serve(c)
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

func (r *Relay) serveConn(raw net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.HandshakeTimeout)
	defer cancel()
	st := r.tls.Load()
	c := transport.TLSServer(raw, st.cfg)
	err := c.Handshake(ctx)
	if cs := c.Conn.ConnectionState(); r.web != nil && cs.HandshakeComplete && cs.ServerName != "" {
		// An HTTPS client (SNI, web certificate): not SMP, and its cipher
		// suite may have no tls-unique the SMP handshake could use.
		cancel()
		r.web.serve(c.Conn, r.stop)
		return
	}
	if err != nil {
		r.stats.tlsFailures.Add(1)
		level := slog.LevelDebug
		if r.cfg.LogTLSErrors {
			level = slog.LevelInfo
		}
		r.log.Log(ctx, level, "tls handshake failed", "remote", remoteIP(raw), "err", err)
		return
	}
	scfg := transport.ServerConfig{
		Credentials: st.creds,
		Versions:    r.cfg.Versions,
		Rand:        r.cfg.Rand,
		Service:     r.registerService,
	}
	if r.cfg.NoServiceCredentials {
		scfg.Service = nil
	}
	hs := transport.ServerHandshake
	if r.hooks != nil && r.hooks.handshake != nil {
		hs = r.hooks.handshake
	}
	sess, err := hs(ctx, c, scfg)
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
	if r.web != nil {
		r.web.close()
	}
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
	if r.cfg.IdleCheckInterval > 0 {
		idleEvery = r.cfg.IdleCheckInterval
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
		r.stats.messagesExpired.Add(int64(n))
		r.log.Info("messages expired", "count", n)
	}
	cut := now.Add(-r.cfg.NotificationTTL).Unix()
	r.qmu.Lock()
	for nid, list := range r.ntfs {
		i := 0
		for i < len(list) && list[i].ts < cut {
			i++
		}
		r.stats.msgNtfExpired.Add(int64(i))
		if i == len(list) {
			delete(r.ntfs, nid)
		} else if i > 0 {
			r.ntfs[nid] = list[i:]
		}
	}
	r.qmu.Unlock()
}
