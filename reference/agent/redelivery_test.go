package agent

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/db/dbtest"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
)

// TestRedeliveryProcessedOnce (GC-DUPLEX-6) hands every message bob's relay delivers to
// bob twice, as a relay does when it delivers again after a reconnection
// because the ACK was lost: the copy is recognised by the relay's message
// id and only acknowledged, never processed a second time (which the
// ratchet would reject as a duplicate, and which would repeat the event).
func TestRedeliveryProcessedOnce(t *testing.T) {
	start := func() smp.Server {
		l, err := relay.StartLoopback(relay.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l.Server
	}
	r1, r2 := start(), start()
	newA := func(srv smp.Server) *Agent {
		a, err := New(context.Background(), Config{Dir: t.TempDir(), Relay: srv, Passphrase: "p",
			DBOptions: dbtest.Options()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}
	alice, bob := newA(r1), newA(r2)
	// No relay is dialled yet: the hook is in place before bob's first
	// event.
	deliver := bob.pool.event
	copies := 0
	bob.pool.event = func(srv smp.Server, ev client.Event) {
		deliver(srv, ev)
		if _, ok := ev.Response.(smp.RspMSG); ok {
			copies++
			deliver(srv, ev)
		}
	}
	wait := func(a *Agent, kind EventKind) Event {
		t.Helper()
		for {
			select {
			case ev := <-a.Events():
				if ev.Kind == kind {
					return ev
				}
				if ev.Kind == EventErr {
					t.Fatalf("error: %v", ev.Err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no %s", kind)
			}
		}
	}
	ctx := context.Background()
	aConn, link, err := alice.CreateInvitation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Join(ctx, link, []byte("bob")); err != nil {
		t.Fatal(err)
	}
	wait(alice, EventConf)
	if err := alice.Allow(ctx, aConn, []byte("alice")); err != nil {
		t.Fatal(err)
	}
	wait(bob, EventCon)
	wait(alice, EventCon)
	for i := range 20 {
		if _, err := alice.Send(ctx, aConn, []byte(fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		if m := wait(bob, EventMsg); string(m.Body) != fmt.Sprint("m", i) {
			t.Fatalf("message %d: %q", i, m.Body)
		}
	}
	select {
	case ev := <-bob.Events():
		if ev.Kind == EventMsg || ev.Kind == EventErr {
			t.Fatalf("a copy was processed: %+v", ev)
		}
	case <-time.After(300 * time.Millisecond):
	}
	// Messages the relay sends as the answer to an ACK do not pass the
	// hook; those sent as events (after SUB, or to an idle queue) do.
	if copies < 3 {
		t.Fatalf("only %d copies delivered", copies)
	}
	t.Logf("%d messages delivered twice", copies)
}
