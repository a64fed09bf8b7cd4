package chat

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/chatmsg"
)

// CH-TIMED-1..3: a message with a ttl of one second goes from the
// sender's history a second after it was sent and from the receiver's a
// second after it was read; the preference set for a contact gives its
// messages a ttl and travels in x.info; "no" from either side turns timed
// messages off.
func TestDisappearingMessages(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	alice, _ := newUser(t, "alice", srv)
	bob, _ := newUser(t, "bob", srv)
	ab, ba := connect(t, alice, bob)

	if _, err := alice.SendText(ctx, ab.ID, "stays"); err != nil {
		t.Fatal(err)
	}
	sent, err := alice.SendMessageTTL(ctx, ab.ID, text("vanishing"), 0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if sent.TTL != time.Second || sent.DeleteAt.IsZero() || sent.DeleteAt.Sub(sent.CreatedAt) != time.Second {
		t.Fatalf("sent %+v", sent)
	}
	got := received(t, bob, "vanishing")
	if got.TTL != time.Second || !got.DeleteAt.IsZero() {
		t.Fatalf("received %+v", got)
	}
	if err := bob.ReadItems(ctx, ba.ID); err != nil {
		t.Fatal(err)
	}
	// Gone already is fine: its second may be over on a loaded machine.
	if it, err := bob.Item(ctx, got.ID); err == nil && it.DeleteAt.IsZero() {
		t.Fatal("read item without a time")
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	waitFor(t, alice, func(e ItemExpired) bool { return e.Item.ID == sent.ID })
	waitFor(t, bob, func(e ItemExpired) bool { return e.Item.ID == got.ID })
	for _, side := range []struct {
		c  *Client
		id int64
	}{{alice, ab.ID}, {bob, ba.ID}} {
		its, err := side.c.Items(ctx, side.id, 0, 10)
		if err != nil || len(its) != 1 || its[0].Text != "stays" {
			t.Fatalf("history after expiry %+v %v", its, err)
		}
	}

	// alice's preference for bob: a ttl for all her messages to him.
	if err := alice.SetTimedMessages(ctx, ab.ID, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	up := waitFor(t, bob, func(e ContactUpdated) bool { return e.Contact.ID == ba.ID })
	if p := up.Contact.Profile.Preferences; p == nil || p.TimedMessages == nil || *p.TimedMessages.TTL != 30 {
		t.Fatalf("bob sees alice's preferences %+v", up.Contact.Profile.Preferences)
	}
	m, err := alice.SendText(ctx, ab.ID, "timed by default")
	if err != nil {
		t.Fatal(err)
	}
	if m.TTL != 30*time.Second {
		t.Fatalf("default ttl %v", m.TTL)
	}
	if r := received(t, bob, "timed by default"); r.TTL != 30*time.Second {
		t.Fatalf("bob's item ttl %v", r.TTL)
	}

	// bob says no: timed messages are off both ways.
	if err := bob.SetTimedMessages(ctx, ba.ID, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, func(e ContactUpdated) bool { return e.Contact.ID == ab.ID })
	m, err = alice.SendMessageTTL(ctx, ab.ID, text("not timed"), 0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.TTL != 0 || !m.DeleteAt.IsZero() {
		t.Fatalf("timed while refused: %+v", m)
	}
	if r := received(t, bob, "not timed"); r.TTL != 0 {
		t.Fatalf("bob's item ttl %v", r.TTL)
	}
}

// CH-TIMED-3: the time is stored with the item: a client closed before it
// comes deletes the item after it is opened again.
func TestDisappearingAfterRestart(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	dir := t.TempDir()
	alice := open(t, dir, srv)
	if _, err := alice.CreateUser(ctx, chatmsg.Profile{DisplayName: "alice"}); err != nil {
		t.Fatal(err)
	}
	bob, _ := newUser(t, "bob", srv)
	ab, _ := connect(t, alice, bob)
	sent, err := alice.SendMessageTTL(ctx, ab.ID, text("gone after restart"), 0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Closed at once, so that the second runs out while it is closed (on
	// a loaded machine it may not: then the item went before, which is
	// no failure either). The message is sent after the restart.
	if err := alice.Close(); err != nil {
		t.Fatal(err)
	}
	alice = open(t, dir, srv)
	received(t, bob, "gone after restart")
	eventually(t, "the expired item deleted", func() bool {
		_, err := alice.Item(ctx, sent.ID)
		return errors.Is(err, ErrNotFound)
	})
}
