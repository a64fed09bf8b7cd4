package clientcert

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/smpkit/smpkit/internal/agentshim"
	"github.com/smpkit/smpkit/internal/driver"
	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// testRelay is a reference relay on loopback with its store in a
// directory of the case, so that it can be stopped and started again on
// the same address with its queues and messages.
type testRelay struct {
	creds  *transport.Credentials
	dir    string
	addr   string
	Server smp.Server
	mu     sync.Mutex
	r      *relay.Relay
	st     *store.Store
	done   chan error
}

func startRelay(dir string) (*testRelay, error) {
	creds, err := transport.GenerateCredentials("localhost", rand.Reader)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	t := &testRelay{creds: creds, dir: dir, addr: ln.Addr().String(),
		Server: smp.Server{Hosts: []string{"127.0.0.1"}, Port: port, KeyHash: creds.Identity()}}
	if err := t.serve(ln); err != nil {
		ln.Close()
		return nil, err
	}
	return t, nil
}

func (t *testRelay) openStore() (*store.Store, error) {
	st, _, err := store.Open(t.dir, store.Options{Sync: store.SyncNever})
	return st, err
}

func (t *testRelay) serve(ln net.Listener) error {
	st, err := t.openStore()
	if err != nil {
		return err
	}
	r, err := relay.New(relay.Config{Credentials: t.creds, Store: st})
	if err != nil {
		st.Close()
		return err
	}
	t.mu.Lock()
	t.r, t.st, t.done = r, st, make(chan error, 1)
	done := t.done
	t.mu.Unlock()
	go func() { done <- r.Serve(ln) }()
	return nil
}

// stop closes the relay: every client connection drops.
func (t *testRelay) stop() {
	t.mu.Lock()
	r, st, done := t.r, t.st, t.done
	t.r, t.st = nil, nil
	t.mu.Unlock()
	if r != nil {
		r.Close()
		<-done
		// The store is ours: some relay versions close a store they were
		// given, others leave it to its owner. A second Close of a
		// closed store only reports errors.
		st.Close()
	}
}

// start serves again on the same address, from the same store.
func (t *testRelay) start() error {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", t.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("relay restart: %w", err)
	}
	return t.serve(ln)
}

// store returns the running relay's store.
func (t *testRelay) store() *store.Store {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.r == nil {
		return nil
	}
	return t.r.Store()
}

// peer is the reference agent the shim talks to. Every envelope it
// receives is recorded as the relay delivered it (after the relay layer):
// what the shim put on the wire.
type peer struct {
	ag     *agent.Agent
	events *eventLog[agent.Event]
	envs   *eventLog[envelope]
	quit   chan struct{}
	wg     sync.WaitGroup
}

type envelope struct {
	conn string
	body []byte
}

func startPeer(ctx context.Context, dir string, srv smp.Server, dial func(context.Context, string, string) (net.Conn, error)) (*peer, error) {
	p := &peer{events: newEventLog[agent.Event](), envs: newEventLog[envelope](), quit: make(chan struct{})}
	cfg := agentshim.ReferenceConfig(srv, dir)
	cfg.Client = client.Config{Dial: dial}
	cfg.Drop = func(conn string, body []byte) bool {
		p.envs.add(envelope{conn, bytes.Clone(body)})
		return false
	}
	ag, err := agent.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	p.ag = ag
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			select {
			case <-p.quit:
				return
			case e := <-ag.Events():
				p.events.add(e)
			}
		}
	}()
	return p, nil
}

func (p *peer) close() {
	close(p.quit)
	p.wg.Wait()
	p.ag.Close()
}

// T is one case's world: the shim's relay S, the peer's relay P, a
// spare relay R (rotation), the peer, and the shim.
type T struct {
	opts  *Options
	dir   string
	log   []string
	logMu sync.Mutex

	S, P, R *testRelay
	peer    *peer
	// observed: the shim and the peer use the runner's recording relays
	// OS (the shim's) and OP (the peer's) instead of S and P.
	observed bool
	OS, OP   *obsRelay
	// modeless: the relays speak a version below v9, which has no queue
	// modes: every queue is recipient-secured and the procedure is the
	// standard one whatever was asked (upstream Protocol.hs NEW, IDS).
	modeless bool
	shim     *session
	extra    []*session
}

// Logf adds a line to the case's log (shown for failures and in JSON).
func (t *T) Logf(format string, args ...any) {
	t.logMu.Lock()
	defer t.logMu.Unlock()
	if len(t.log) < 400 {
		t.log = append(t.log, fmt.Sprintf(format, args...))
	}
}

func newT(ctx context.Context, opts *Options) (*T, error) {
	dir, err := os.MkdirTemp("", "smp-conform-client-")
	if err != nil {
		return nil, err
	}
	t := &T{opts: opts, dir: dir}
	for _, r := range []struct {
		p    **testRelay
		name string
	}{{&t.S, "relay-s"}, {&t.P, "relay-p"}} {
		if *r.p, err = startRelay(filepath.Join(dir, r.name)); err != nil {
			t.close()
			return nil, err
		}
	}
	if t.peer, err = startPeer(ctx, filepath.Join(dir, "peer"), t.P.Server, nil); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

func (t *T) close() {
	for _, s := range append(t.extra, t.shim) {
		if s != nil {
			if err := s.close(); err != nil {
				t.Logf("%v", err)
			}
		}
	}
	if t.peer != nil {
		t.peer.close()
	}
	for _, o := range []*obsRelay{t.OS, t.OP} {
		if o != nil {
			o.close()
		}
	}
	for _, r := range []*testRelay{t.S, t.P, t.R} {
		if r != nil {
			r.stop()
		}
	}
	os.RemoveAll(t.dir)
}

// shimRelay is the relay the shim creates its queues on.
func (t *T) shimRelay() smp.Server {
	if t.observed {
		return t.OS.Server
	}
	return t.S.Server
}

// observe switches the case to recording relays: the shim will use OS,
// and a new peer on OP replaces the peer; the peer's own connections are
// told apart by their local addresses.
func (t *T) observe(ctx context.Context) error {
	return t.observeAt(ctx, smp.VersionRange{})
}

// observeAt is observe with the recording relays offering only versions.
func (t *T) observeAt(ctx context.Context, versions smp.VersionRange) error {
	var mu sync.Mutex
	mine := map[string]bool{}
	isPeer := func(remote string) bool {
		mu.Lock()
		defer mu.Unlock()
		return mine[remote]
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err == nil {
			mu.Lock()
			mine[c.LocalAddr().String()] = true
			mu.Unlock()
		}
		return c, err
	}
	var err error
	if t.OS, err = startObsRelay(isPeer, versions); err != nil {
		return err
	}
	if t.OP, err = startObsRelay(isPeer, versions); err != nil {
		return err
	}
	t.peer.close()
	if t.peer, err = startPeer(ctx, filepath.Join(t.dir, "observed-peer"), t.OP.Server, dial); err != nil {
		t.peer = nil
		return err
	}
	t.observed = true
	t.modeless = versions.Max != 0 && versions.Max < smp.VersionSndAuthKey
	return nil
}

// spare starts relay R on first use.
func (t *T) spare() (*testRelay, error) {
	if t.R == nil {
		r, err := startRelay(filepath.Join(t.dir, "relay-r"))
		if err != nil {
			return nil, err
		}
		t.R = r
	}
	return t.R, nil
}

// launch starts a shim and negotiates the driver version, without start.
func (t *T) launch(ctx context.Context) (*session, error) {
	s, err := startSession(ctx, t.opts.Launch, t.opts.Wait, t.Logf)
	if err != nil {
		return nil, err
	}
	t.extra = append(t.extra, s)
	if _, err := s.hello(ctx, driver.Range{Min: 1, Max: driver.Version}); err != nil {
		return nil, err
	}
	return s, nil
}

// startShim launches the case's shim and starts it on relay srv.
func (t *T) startShim(ctx context.Context, srv smp.Server) error {
	s, err := t.launch(ctx)
	if err != nil {
		return err
	}
	t.extra = t.extra[:len(t.extra)-1]
	t.shim = s
	dir := filepath.Join(t.dir, fmt.Sprintf("shim-%d", time.Now().UnixNano()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	_, err = s.call(ctx, driver.Msg{Cmd: driver.CmdStart, Relay: srv.String(), DataDir: dir})
	return err
}

// need skips the case when the shim declared cmd unsupported (DRV-VER-2).
func (t *T) need(cmds ...string) error {
	for _, c := range cmds {
		if t.shim.unsupported[c] {
			return Skipf("shim does not support %s", c)
		}
	}
	return nil
}

// call sends a command to the case's shim.
func (t *T) call(ctx context.Context, m driver.Msg) (driver.Msg, error) {
	return t.shim.call(ctx, m)
}

// shimEvent waits for an event of the shim on connection conn.
func (t *T) shimEvent(ctx context.Context, name, conn string) (driver.Msg, error) {
	return t.shim.event(ctx, name, func(m driver.Msg) bool { return m.Event == name && (conn == "" || m.Conn == conn) })
}

// peerEvent waits for an event of the peer on connection conn.
func (t *T) peerEvent(ctx context.Context, kind agent.EventKind, conn string) (agent.Event, error) {
	e, err := t.peer.events.wait(ctx, t.opts.Wait, func(e agent.Event) bool { return e.Kind == kind && (conn == "" || e.ConnID == conn) })
	if err != nil {
		return e, fmt.Errorf("peer: no %s within %v", kind, t.opts.Wait)
	}
	return e, nil
}

// eventually polls cond until it holds or the wait ends.
func (t *T) eventually(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(t.opts.Wait)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New(what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
