// Package client is an SMP client: it connects to a relay by its address,
// sends commands with correlation of responses by correlation id, and
// delivers the relay's events (MSG, END, DELD, NMSG, ...) on a channel. The
// relay's sending proxy, the conformance runner and the agent use it.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

// Config holds the connection options; the zero value is usable.
type Config struct {
	// Versions is the range of versions to speak; pin one version with
	// {v, v}. Default: every version 6..18.
	Versions smp.VersionRange
	// NoALPN leaves ALPN out of TLS, so the relay offers only version 6.
	NoALPN bool
	// ProxyServer marks this client as a relay acting as a sending proxy.
	ProxyServer bool
	// NoDHKey sends no X25519 key in the hello (no block encryption, no
	// X25519 authenticators).
	NoDHKey bool
	// Certificate is a service certificate offered in TLS, if any.
	Certificate *tls.Certificate
	// Service makes the client a service (v ≥ 16); Certificate must hold
	// the same chain.
	Service *transport.ServiceCredentials
	// Dial opens the TCP connection (default: net.Dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// ConnectTimeout bounds TLS and the SMP handshake (default 30 s).
	ConnectTimeout time.Duration
	// PingInterval is how long the connection may stay idle before a PING
	// checks it (default 60 s; negative disables).
	PingInterval time.Duration
	// Events is the capacity of the events channel (default 1024). When it
	// is full the reader waits: events are never dropped.
	Events int
	Logger *slog.Logger
}

// Event is a transmission the relay sent without a pending command: MSG,
// END, ENDS, DELD, NMSG, or an ERR with an empty correlation id.
type Event struct {
	EntityID []byte
	Response smp.Response
}

// ErrClosed is returned by calls on a closed client.
var ErrClosed = errors.New("client: connection closed")

// ServerError is an ERR response to a command.
type ServerError struct {
	Command string
	Err     smp.ErrorType
}

func (e *ServerError) Error() string { return fmt.Sprintf("%s: ERR %s", e.Command, e.Err) }

// Client is one connection to a relay.
type Client struct {
	server  smp.Server
	sess    *transport.Session
	log     *slog.Logger
	events  chan Event
	done    chan struct{}
	pingInt time.Duration

	mu      sync.Mutex
	pending map[string]chan reply
	// abandoned holds correlation ids of calls whose context ended before
	// the response came: a late response is dropped, not made an event.
	abandoned map[string]struct{}
	err       error // why the connection ended
	last      time.Time
	closeMu   sync.Once
}

type reply struct {
	resp smp.Response
	err  error
}

// Dial connects to the relay at server: TCP to each host in turn, TLS with
// the relay identity check, and the SMP handshake.
func Dial(ctx context.Context, server smp.Server, cfg Config) (*Client, error) {
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	dial := cfg.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	port := server.Port
	if port == "" {
		port = smp.DefaultPort
	}
	var raw net.Conn
	var err error
	for _, h := range server.Hosts {
		if raw, err = dial(ctx, "tcp", net.JoinHostPort(h, port)); err == nil {
			break
		}
	}
	if raw == nil {
		if err == nil {
			err = errors.New("no hosts")
		}
		return nil, fmt.Errorf("client: connect: %w", err)
	}
	sess, err := Handshake(ctx, raw, server.KeyHash, cfg)
	if err != nil {
		raw.Close()
		return nil, err
	}
	return New(sess, server, cfg), nil
}

// Handshake runs TLS and the SMP handshake over raw as a client.
func Handshake(ctx context.Context, raw net.Conn, keyHash []byte, cfg Config) (*transport.Session, error) {
	tc := transport.TLSClient(raw, transport.ClientTLSConfig(keyHash, cfg.NoALPN, cfg.Certificate))
	if err := tc.Handshake(ctx); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	sess, err := transport.ClientHandshake(ctx, tc, transport.ClientConfig{
		KeyHash:     keyHash,
		Versions:    cfg.Versions,
		ProxyServer: cfg.ProxyServer,
		NoDHKey:     cfg.NoDHKey,
		Service:     cfg.Service,
	})
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return sess, nil
}

// New runs a client on an established session.
func New(sess *transport.Session, server smp.Server, cfg Config) *Client {
	n := cfg.Events
	if n <= 0 {
		n = 1024
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 60 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		server:    server,
		sess:      sess,
		log:       log,
		events:    make(chan Event, n),
		done:      make(chan struct{}),
		pending:   map[string]chan reply{},
		abandoned: map[string]struct{}{},
		pingInt:   cfg.PingInterval,
		last:      time.Now(),
	}
	go c.readLoop()
	if c.pingInt > 0 {
		go c.pingLoop()
	}
	return c
}

// Session is the transport session (version, session id, keys).
func (c *Client) Session() *transport.Session { return c.sess }

// Version is the agreed SMP version.
func (c *Client) Version() smp.Version { return c.sess.Version }

// Server is the relay address this client is connected to.
func (c *Client) Server() smp.Server { return c.server }

// Events delivers the relay's events. It is closed when the connection ends.
func (c *Client) Events() <-chan Event { return c.events }

// Done is closed when the connection ends; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil while it is up, ErrClosed after Close).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the connection; pending calls return ErrClosed.
func (c *Client) Close() error {
	c.shutdown(ErrClosed)
	return nil
}

func (c *Client) shutdown(err error) {
	c.closeMu.Do(func() {
		c.mu.Lock()
		c.err = err
		pending := c.pending
		c.pending = nil
		c.mu.Unlock()
		c.sess.Close()
		for _, ch := range pending {
			ch <- reply{err: err}
		}
		close(c.done)
	})
}

// Request is one command to send.
type Request struct {
	// Key authorizes the command: Ed25519/Ed448 sign, X25519 makes an
	// authenticator with the relay's session key. Zero means unauthorized.
	Key      smpcrypto.PrivateKey
	EntityID []byte
	Command  smp.Command
	// ServerKey overrides the relay session key for X25519 authenticators
	// (proxied commands use the destination relay's key).
	ServerKey smpcrypto.PublicKey
	// CorrID is the correlation id to use; nil means 24 random bytes. Some
	// commands bind to it (NEW with a client sender id, PFWD, RFWD).
	CorrID []byte
	// NoServiceSig leaves out the service signature a service session adds
	// to NEW, SUB and NSUB (for tests of relays).
	NoServiceSig bool
}

// Do sends one command and waits for its response. An ERR response is
// returned as a *ServerError. Cancelling ctx abandons the wait, not the
// command: the relay may still execute it.
func (c *Client) Do(ctx context.Context, req Request) (smp.Response, error) {
	res, err := c.DoBatch(ctx, []Request{req})
	if err != nil {
		return nil, err
	}
	return res[0].Response, res[0].Err
}

// Result is the outcome of one request of a batch.
type Result struct {
	Response smp.Response
	Err      error
}

// DoBatch sends several commands in as few blocks as batching allows and
// waits for every response.
func (c *Client) DoBatch(ctx context.Context, reqs []Request) ([]Result, error) {
	// A context already done sends nothing: otherwise the answer and the
	// cancellation race in the select below.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	txs := make([][]byte, len(reqs))
	chans := make([]chan reply, len(reqs))
	corrs := make([]string, len(reqs))
	for i, r := range reqs {
		corr := r.CorrID
		if corr == nil {
			corr = make([]byte, 24)
			if _, err := io.ReadFull(rand.Reader, corr); err != nil {
				return nil, err
			}
		}
		tx, err := c.encode(r, corr)
		if err != nil {
			return nil, err
		}
		txs[i], corrs[i] = tx, string(corr)
		chans[i] = make(chan reply, 1)
	}
	c.mu.Lock()
	if c.pending == nil {
		c.mu.Unlock()
		return nil, c.Err()
	}
	for i := range reqs {
		c.pending[corrs[i]] = chans[i]
	}
	c.last = time.Now()
	c.mu.Unlock()
	answered := 0
	defer func() {
		c.mu.Lock()
		for i, k := range corrs {
			if _, waiting := c.pending[k]; waiting && i >= answered {
				if len(c.abandoned) > 4096 {
					clear(c.abandoned) // the relay never answered those
				}
				c.abandoned[k] = struct{}{}
			}
			delete(c.pending, k)
		}
		c.mu.Unlock()
	}()
	if err := c.sess.WriteTransmissions(txs); err != nil {
		c.shutdown(fmt.Errorf("client: write: %w", err))
		return nil, err
	}
	out := make([]Result, len(reqs))
	for i, ch := range chans {
		select {
		case r := <-ch:
			answered = i + 1
			out[i] = Result{Response: r.resp, Err: r.err}
			if r.err == nil {
				if e, ok := r.resp.(smp.RspERR); ok {
					out[i].Err = &ServerError{Command: reqs[i].Command.Tag(), Err: e.Err}
				}
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// encode builds the transmission for a request.
func (c *Client) encode(r Request, corr []byte) ([]byte, error) {
	v := c.sess.Version
	cmd, err := smp.EncodeCommand(v, r.Command)
	if err != nil {
		return nil, err
	}
	t := smp.Transmission{CorrID: corr, EntityID: r.EntityID, Command: cmd, SessionID: c.sess.SessionID}
	if r.Key.Alg != 0 {
		serverKey := r.ServerKey
		if serverKey.IsZero() {
			serverKey = c.sess.ServerKey
		}
		auth := smp.Authorized(c.sess.SessionID, corr, r.EntityID, cmd)
		entityMsg := auth
		if c.sess.ServiceKey.Alg != 0 && smp.UsesServiceAuth(r.Command) && !r.NoServiceSig {
			// SMP-AUTH-4: the service key signs the authorized bytes, the
			// entity key the fingerprint and the authorized bytes.
			if t.ServiceSig, err = c.sess.ServiceKey.Sign(auth); err != nil {
				return nil, err
			}
			entityMsg = smp.ServiceAuthorized(c.sess.ServiceFingerprint, auth)
		}
		if t.Auth, err = smp.Authorize(r.Key, serverKey, corr, entityMsg); err != nil {
			return nil, fmt.Errorf("client: authorize %s: %w", r.Command.Tag(), err)
		}
	}
	return smp.EncodeTransmission(v, t)
}

// SendRaw sends already encoded transmissions, for tests that need bytes
// a well-behaved client would not produce. Responses to them arrive as
// events unless their correlation id is pending.
func (c *Client) SendRaw(txs [][]byte) error { return c.sess.WriteTransmissions(txs) }

func (c *Client) readLoop() {
	defer close(c.events)
	for {
		txs, err := c.sess.ReadTransmissions()
		if err != nil {
			c.shutdown(fmt.Errorf("client: read: %w", err))
			return
		}
		for _, raw := range txs {
			c.dispatch(raw)
		}
	}
}

func (c *Client) dispatch(raw []byte) {
	// raw aliases the session's read buffer, and parsed responses alias
	// raw: copy before handing anything out.
	raw = bytes.Clone(raw)
	v := c.sess.Version
	t, err := smp.ParseTransmission(v, raw)
	if err != nil {
		c.log.Warn("bad transmission from relay", "err", err)
		return
	}
	resp, perr := smp.ParseResponse(v, t.Command)
	c.mu.Lock()
	ch := c.pending[string(t.CorrID)]
	if ch != nil {
		delete(c.pending, string(t.CorrID))
	}
	if _, late := c.abandoned[string(t.CorrID)]; late && len(t.CorrID) > 0 {
		delete(c.abandoned, string(t.CorrID))
		c.mu.Unlock()
		return
	}
	c.last = time.Now()
	c.mu.Unlock()
	if ch != nil {
		ch <- reply{resp: resp, err: perr}
		return
	}
	if perr != nil {
		c.log.Warn("bad event from relay", "err", perr)
		return
	}
	select {
	case c.events <- Event{EntityID: t.EntityID, Response: resp}:
	case <-c.done:
	}
}

// pingLoop keeps an idle connection alive and notices a dead one.
func (c *Client) pingLoop() {
	t := time.NewTicker(c.pingInt / 2)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		c.mu.Lock()
		idle := time.Since(c.last)
		c.mu.Unlock()
		if idle < c.pingInt {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.pingInt)
		_, err := c.Do(ctx, Request{Command: smp.CmdPING{}})
		cancel()
		if err != nil && !errors.Is(err, ErrClosed) {
			c.shutdown(fmt.Errorf("client: keep-alive: %w", err))
			return
		}
	}
}
