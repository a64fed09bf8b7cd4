package chat

import (
	"context"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db/dbtest"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
)

const testPassphrase = "chat test passphrase"

// testWait bounds every wait of a test for something the protocol
// promises (an event, a state reached). It is generous: CI runs the race
// detector on two shared cores, where a step taking milliseconds alone
// can take seconds; a test that passes waits no longer for it.
const testWait = 60 * time.Second

func startRelay(t *testing.T) smp.Server {
	t.Helper()
	l, err := relay.StartLoopback(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Server
}

func testConfig(dir string, srv smp.Server) Config {
	// Cheap key derivation: the real parameters are package db's tests.
	return Config{Dir: dir, Passphrase: testPassphrase, Relay: srv, DBOptions: dbtest.Options()}
}

func open(t *testing.T, dir string, srv smp.Server) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	c, err := Open(ctx, testConfig(dir, srv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newUser opens a client in a fresh directory with one user.
func newUser(t *testing.T, name string, srv smp.Server) (*Client, User) {
	t.Helper()
	c := open(t, t.TempDir(), srv)
	u, err := c.CreateUser(context.Background(), chatmsg.Profile{DisplayName: name, FullName: name + " full"})
	if err != nil {
		t.Fatal(err)
	}
	return c, u
}

// waitFor returns the next event of type T that ok accepts, skipping
// others; an Error event fails the test.
func waitFor[T Event](t *testing.T, c *Client, ok func(T) bool) T {
	t.Helper()
	timeout := time.After(testWait)
	for {
		select {
		case ev := <-c.Events():
			if e, is := ev.(Error); is {
				t.Fatalf("error event: %v", e.Err)
			}
			if e, is := ev.(T); is && (ok == nil || ok(e)) {
				return e
			}
			if testing.Verbose() {
				t.Logf("skipped %T %+v", ev, ev)
			}
		case <-timeout:
			var zero T
			t.Fatalf("no %T event", zero)
		}
	}
}

// connect makes a and b (active users) contacts by a one-time invitation.
func connect(t *testing.T, a, b *Client) (aSide, bSide Contact) {
	t.Helper()
	ctx := context.Background()
	ac, link, err := a.CreateInvitation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := b.Connect(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	ea := waitFor(t, a, func(e ContactConnected) bool { return e.Contact.ID == ac.ID })
	eb := waitFor(t, b, func(e ContactConnected) bool { return e.Contact.ID == bc.ID })
	return ea.Contact, eb.Contact
}

func text(s string) chatmsg.Content {
	return chatmsg.Content{Type: chatmsg.ContentText, Text: s, HasText: true}
}

func received(t *testing.T, c *Client, txt string) Item {
	t.Helper()
	return waitFor(t, c, func(e NewItem) bool { return e.Item.Text == txt }).Item
}

func timeAfterWait() <-chan time.Time     { return time.After(testWait) }
func timeAfterMs(ms int) <-chan time.Time { return time.After(time.Duration(ms) * time.Millisecond) }
