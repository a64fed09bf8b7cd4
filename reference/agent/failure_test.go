package agent_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"github.com/smpkit/smpkit/reference/db/dbtest"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/internal/faultvfs"
	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// restartable is a relay with a store on disk that a test can kill and
// start again on the same address, as an operator restarting it would.
type restartable struct {
	t     *testing.T
	dir   string
	creds *transport.Credentials
	addr  string
	srv   smp.Server

	mu    sync.Mutex
	r     *relay.Relay
	st    *store.Store
	ln    net.Listener
	serve chan error
}

func startRestartable(t *testing.T) *restartable {
	t.Helper()
	creds, err := transport.GenerateCredentials("localhost", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rr := &restartable{t: t, dir: t.TempDir(), creds: creds, addr: "127.0.0.1:0"}
	rr.start()
	_, port, _ := net.SplitHostPort(rr.ln.Addr().String())
	rr.addr = rr.ln.Addr().String()
	rr.srv = smp.Server{Hosts: []string{"127.0.0.1"}, Port: port, KeyHash: creds.Identity()}
	t.Cleanup(rr.kill)
	return rr
}

func (rr *restartable) start() {
	rr.t.Helper()
	st, _, err := store.Open(rr.dir, store.Options{})
	if err != nil {
		rr.t.Fatal(err)
	}
	r, err := relay.New(relay.Config{Credentials: rr.creds, Store: st})
	if err != nil {
		rr.t.Fatal(err)
	}
	var ln net.Listener
	for i := 0; ; i++ { // the old listener's port may take a moment to free
		if ln, err = net.Listen("tcp", rr.addr); err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		rr.t.Fatal(err)
	}
	serve := make(chan error, 1)
	go func() { serve <- r.Serve(ln) }()
	rr.mu.Lock()
	rr.r, rr.st, rr.ln, rr.serve = r, st, ln, serve
	rr.mu.Unlock()
}

// kill stops the relay: connections drop, the store is closed.
func (rr *restartable) kill() {
	rr.mu.Lock()
	r, st, serve := rr.r, rr.st, rr.serve
	rr.r = nil
	rr.mu.Unlock()
	if r == nil {
		return
	}
	r.Close()
	<-serve
	st.Close()
}

func newAgentWith(t *testing.T, dir string, srv smp.Server, opts *dbOpts) *agent.Agent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o := testDB()
	if opts.vfs != nil {
		o.VFS = opts.vfs
	}
	a, err := agent.New(ctx, agent.Config{Dir: dir, Relay: srv, Passphrase: testPassphrase, DBOptions: o,
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
		Client: client.Config{ConnectTimeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

type dbOpts struct{ vfs *faultvfs.VFS }

// collect reads MSG events until want bodies arrived; it fails on a body
// seen twice or out of order, and tolerates only the error events ok
// accepts.
func collect(t *testing.T, a *agent.Agent, want []string, ok func(agent.Event) bool) {
	t.Helper()
	got := 0
	deadline := time.After(30 * time.Second)
	for got < len(want) {
		select {
		case ev := <-a.Events():
			switch ev.Kind {
			case agent.EventMsg:
				if string(ev.Body) != want[got] {
					t.Fatalf("message %d: %q, want %q", got, ev.Body, want[got])
				}
				got++
			case agent.EventErr:
				if ok == nil || !ok(ev) {
					t.Fatalf("error event: %v", ev.Err)
				}
				t.Logf("tolerated: %v", ev.Err)
			}
		case <-deadline:
			t.Fatalf("%d of %d messages arrived", got, len(want))
		}
	}
}

// noMore checks that no further message arrives for a while.
func noMore(t *testing.T, a *agent.Agent, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev := <-a.Events():
			if ev.Kind == agent.EventMsg || ev.Kind == agent.EventErr {
				t.Fatalf("unexpected %s: %q %v", ev.Kind, ev.Body, ev.Err)
			}
		case <-deadline:
			return
		}
	}
}

func bodies(prefix string, from, to int) []string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, fmt.Sprint(prefix, i))
	}
	return s
}

// A resent envelope whose first copy the relay had stored (its answer was
// lost with the connection) reaches the peer twice on the same queue: the
// copy is reported as a replay, never delivered as a second message.
func duplicateCopy(ev agent.Event) bool {
	return strings.Contains(ev.Err.Error(), "ratchet")
}

// TestRelayRestartMidConversation kills both relays while messages flow
// each way and starts them again: every message arrives once, in order.
func TestRelayRestartMidConversation(t *testing.T) {
	r1, r2 := startRestartable(t), startRestartable(t)
	alice := newAgentWith(t, t.TempDir(), r1.srv, &dbOpts{})
	bob := newAgentWith(t, t.TempDir(), r2.srv, &dbOpts{})
	aConn, bConn := connect(t, alice, bob)
	ctx := context.Background()
	const n = 60
	var wg sync.WaitGroup
	progress := make(chan int, 2*n)
	send := func(a *agent.Agent, conn, prefix string) {
		defer wg.Done()
		for i := range n {
			if _, err := a.Send(ctx, conn, []byte(fmt.Sprint(prefix, i))); err != nil {
				t.Error(err)
				return
			}
			progress <- i
			time.Sleep(2 * time.Millisecond)
		}
	}
	wg.Add(2)
	go send(alice, aConn, "a")
	go send(bob, bConn, "b")
	// Both relays go down a third of the way in and come back at two
	// thirds, while both sides keep sending.
	down, up := false, false
	for sent := 0; sent < 2*n; sent++ {
		i := <-progress
		if i >= n/3 && !down {
			down = true
			r1.kill()
			r2.kill()
		}
		if i >= 2*n/3 && !up {
			up = true
			r1.start()
			r2.start()
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		collect(t, alice, bodies("b", 0, n), duplicateCopy)
	}()
	collect(t, bob, bodies("a", 0, n), duplicateCopy)
	<-done
	wg.Wait()
	// Restarted again with the conversation idle: still nothing repeated.
	r2.kill()
	r2.start()
	if _, err := alice.Send(ctx, aConn, []byte("after")); err != nil {
		t.Fatal(err)
	}
	collect(t, bob, []string{"after"}, nil)
	noMore(t, bob, 200*time.Millisecond)
}

// TestNewWithRelaysDown starts an agent whose relays are down: New
// succeeds, messages sent meanwhile wait in the outbox, and when the relays
// come back the queues are subscribed again and everything is delivered.
func TestNewWithRelaysDown(t *testing.T) {
	r1, r2 := startRestartable(t), startRestartable(t)
	aDir, bDir := t.TempDir(), t.TempDir()
	alice := newAgentWith(t, aDir, r1.srv, &dbOpts{})
	bob := newAgentWith(t, bDir, r2.srv, &dbOpts{})
	aConn, bConn := connect(t, alice, bob)
	alice.Close()
	bob.Close()
	r1.kill()
	r2.kill()
	alice = newAgentWith(t, aDir, r1.srv, &dbOpts{})
	bob = newAgentWith(t, bDir, r2.srv, &dbOpts{})
	ctx := context.Background()
	for i := range 5 {
		if _, err := alice.Send(ctx, aConn, []byte(fmt.Sprint("a", i))); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Send(ctx, bConn, []byte(fmt.Sprint("b", i))); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // several failed attempts
	r1.start()
	r2.start()
	collect(t, bob, bodies("a", 0, 5), nil)
	collect(t, alice, bodies("b", 0, 5), nil)
}

// TestDiskFullDuringSave (GC-DUPLEX-6) fills bob's disk: a message he receives cannot be
// committed, so it is not acknowledged and nothing is reported; when space
// is back the relay delivers it again and it is processed once; the
// conversation goes on, and a restart repeats nothing.
func TestDiskFullDuringSave(t *testing.T) {
	r1, r2 := startRelay(t), startRelay(t)
	fv := faultvfs.New(nil)
	bDir := t.TempDir()
	alice := newAgentWith(t, t.TempDir(), r1, &dbOpts{})
	bob := newAgentWith(t, bDir, r2, &dbOpts{vfs: fv})
	aConn, bConn := connect(t, alice, bob)
	ctx := context.Background()

	fv.FailAfter(0)
	if _, err := alice.Send(ctx, aConn, []byte("while full")); err != nil {
		t.Fatal(err)
	}
	// Bob's sends fail too, before anything is sent: no state moved.
	if _, err := bob.Send(ctx, bConn, []byte("lost")); err == nil {
		t.Fatal("Send succeeded on a full disk")
	}
	noMore(t, bob, 500*time.Millisecond)
	if fv.Failed() < 2 {
		t.Fatalf("%d failed writes: the message was not retried", fv.Failed())
	}
	fv.Heal()
	collect(t, bob, []string{"while full"}, nil)
	if _, err := alice.Send(ctx, aConn, []byte("next")); err != nil {
		t.Fatal(err)
	}
	collect(t, bob, []string{"next"}, nil)
	if _, err := bob.Send(ctx, bConn, []byte("reply")); err != nil {
		t.Fatal(err)
	}
	collect(t, alice, []string{"reply"}, nil)
	bob.Close()
	bob = newAgentWith(t, bDir, r2, &dbOpts{})
	noMore(t, bob, 300*time.Millisecond)
}

// TestSlowApplication: an application that does not read its events for a
// while, and even restarts before reading them, loses none. The messages
// are processed and acknowledged meanwhile (more than the relay's quota of
// 128 per queue), their events wait in the database.
func TestSlowApplication(t *testing.T) {
	r1, r2 := startRelay(t), startRelay(t)
	bDir := t.TempDir()
	alice := newAgentWith(t, t.TempDir(), r1, &dbOpts{})
	bob := newAgentWith(t, bDir, r2, &dbOpts{})
	aConn, _ := connect(t, alice, bob)
	ctx := context.Background()
	const n = 300
	for i := range n {
		if _, err := alice.Send(ctx, aConn, []byte(fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	// Bob's application reads a third, then is restarted.
	collect(t, bob, bodies("m", 0, n/3), nil)
	waitOutboxEmpty(t, alice, aConn)
	time.Sleep(300 * time.Millisecond) // bob goes on receiving unread
	bob.Close()
	bob = newAgentWith(t, bDir, r2, &dbOpts{})
	time.Sleep(200 * time.Millisecond)
	collect(t, bob, bodies("m", n/3, n), nil)
	noMore(t, bob, 200*time.Millisecond)
}

// waitOutboxEmpty waits until the relays accepted everything queued.
func waitOutboxEmpty(t *testing.T, a *agent.Agent, connID string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n, err := a.Pending(context.Background(), connID); err != nil {
			t.Fatal(err)
		} else if n == 0 {
			return
		}
	}
	t.Fatal("outbox not delivered")
}

// TestThousandConnections establishes 1,000 connections between two
// agents and exchanges a message each way on every one, then restarts
// both agents and does it again on a tenth of them.
func TestThousandConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connections")
	}
	r1, r2 := startRelay(t), startRelay(t)
	aDir, bDir := t.TempDir(), t.TempDir()
	alice := newAgentWith(t, aDir, r1, &dbOpts{})
	bob := newAgentWith(t, bDir, r2, &dbOpts{})
	n := 1000
	if raceEnabled {
		n = 200
	}
	pairs := connectMany(t, alice, bob, n)
	exchangeAll(t, alice, bob, pairs, "x")
	alice.Close()
	bob.Close()
	alice = newAgentWith(t, aDir, r1, &dbOpts{})
	bob = newAgentWith(t, bDir, r2, &dbOpts{})
	// After the restart, every tenth connection, spread over all: each
	// agent subscribed its 1,000 queues again.
	var sample []pair
	for i := 0; i < n; i += 10 {
		sample = append(sample, pairs[i])
	}
	exchangeAll(t, alice, bob, sample, "y")
	t.Logf("alice's database with %d connections: %d bytes", n, dirSize(t, aDir))
}

// blackhole replaces a killed relay by a listener that accepts connections
// and never answers: a relay that hangs.
func (rr *restartable) blackhole() (unhole func()) {
	rr.t.Helper()
	ln, err := net.Listen("tcp", rr.addr)
	if err != nil {
		rr.t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	return func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}
}

// TestHungRelayHoldsUpOnlyItsQueues: with the relay of one peer hanging,
// sending to that peer waits in the background, and the agent's other
// connections go on both ways; when the relay is back, the message waiting
// for it is delivered.
func TestHungRelayHoldsUpOnlyItsQueues(t *testing.T) {
	r1 := startRestartable(t)
	r2, r3 := startRelay(t), startRelay(t)
	alice := newAgentWith(t, t.TempDir(), r1.srv, &dbOpts{})
	bob := newAgentWith(t, t.TempDir(), r2, &dbOpts{})
	carol := newAgentWith(t, t.TempDir(), r3, &dbOpts{})
	aConn, caConn := connect(t, alice, carol)
	bConn, cbConn := connect(t, bob, carol)
	ctx := context.Background()
	r1.kill()
	unhole := r1.blackhole()
	t0 := time.Now()
	if _, err := carol.Send(ctx, caConn, []byte("to alice")); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := carol.Send(ctx, cbConn, []byte(fmt.Sprint("c", i))); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Send(ctx, bConn, []byte(fmt.Sprint("b", i))); err != nil {
			t.Fatal(err)
		}
	}
	collect(t, bob, bodies("c", 0, 5), nil)
	collect(t, carol, bodies("b", 0, 5), nil)
	t.Logf("10 messages past a hung relay in %v", time.Since(t0))
	unhole()
	r1.start()
	collect(t, alice, []string{"to alice"}, nil)
	_ = aConn
}

// TestNothingInTheClearOnDisk: after a conversation, neither agent's files
// hold a message, a profile or the names of the state's fields in the
// clear (the database is encrypted page by page, docs/db.md).
func TestNothingInTheClearOnDisk(t *testing.T) {
	r1, r2 := startRelay(t), startRelay(t)
	aDir, bDir := t.TempDir(), t.TempDir()
	alice := newAgentWith(t, aDir, r1, &dbOpts{})
	bob := newAgentWith(t, bDir, r2, &dbOpts{})
	aConn, _ := connect(t, alice, bob)
	if _, err := alice.Send(context.Background(), aConn, []byte("the secret canary message")); err != nil {
		t.Fatal(err)
	}
	collect(t, bob, []string{"the secret canary message"}, nil)
	check := func(when string) {
		for _, dir := range []string{aDir, bDir} {
			for name, b := range dbtest.SnapshotDir(t, dir) {
				for _, s := range []string{"the secret canary message", "bob's profile", "alice's profile", "snd_msg_id", "SQLite format 3"} {
					if strings.Contains(string(b), s) {
						t.Errorf("%s: %s holds %q", when, name, s)
					}
				}
			}
		}
	}
	check("open")
	alice.Close()
	bob.Close()
	check("closed")
}

// TestNoLeakWithRelayDown: an agent whose relay is down keeps trying in
// the background; Close stops every attempt and client.
func TestNoLeakWithRelayDown(t *testing.T) {
	r1 := startRestartable(t)
	dir := t.TempDir()
	a := newAgentWith(t, dir, r1.srv, &dbOpts{})
	if _, _, err := a.CreateInvitation(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.Close()
	r1.kill()
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()
	for range 3 {
		a = newAgentWith(t, dir, r1.srv, &dbOpts{})
		time.Sleep(300 * time.Millisecond) // several failed connection attempts
		a.Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}
