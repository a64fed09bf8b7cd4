package chat

import (
	"context"
	"fmt"
	"testing"
)

// CH-MSG-NEW-1, CH-RCPT-1: a message arrives as one item with its shared
// id; the sender's item turns delivered with the receipt.
func TestMessagesAndReceipts(t *testing.T) {
	srv := startRelay(t)
	alice, _ := newUser(t, "alice", srv)
	bob, _ := newUser(t, "bob", srv)
	ab, ba := connect(t, alice, bob)
	ctx := context.Background()

	sent, err := alice.SendText(ctx, ab.ID, "hello bob")
	if err != nil {
		t.Fatal(err)
	}
	if sent.Status != ItemSent || !sent.Sent || len(sent.SharedID) != 12 {
		t.Fatalf("sent item %+v", sent)
	}
	got := received(t, bob, "hello bob")
	if got.Sent || got.ContactID != ba.ID || string(got.SharedID) != string(sent.SharedID) || got.Status != ItemReceived {
		t.Fatalf("received item %+v", got)
	}
	d := waitFor(t, alice, func(e ItemUpdated) bool { return e.Item.ID == sent.ID })
	if d.Item.Status != ItemDelivered {
		t.Fatalf("status %s", d.Item.Status)
	}

	// A reply quotes the item (CH-MSG-NEW-3's msgRef, sent from the
	// replier's point of view).
	reply, err := bob.SendMessage(ctx, ba.ID, text("hi alice"), got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if reply.QuoteID != got.ID {
		t.Fatalf("reply %+v", reply)
	}
	r := received(t, alice, "hi alice")
	if r.QuoteID != sent.ID {
		t.Fatalf("alice's reply item quotes %d, want %d", r.QuoteID, sent.ID)
	}

	// CH-MSG-UPD-1: an edit changes the receiver's item in place.
	if _, err := alice.UpdateMessage(ctx, sent.ID, text("hello, bob")); err != nil {
		t.Fatal(err)
	}
	up := waitFor(t, bob, func(e ItemUpdated) bool { return e.Item.ID == got.ID })
	if up.Item.Text != "hello, bob" || !up.Item.Edited {
		t.Fatalf("edited %+v", up.Item)
	}
	// CH-MSG-UPD-2: a received item cannot be edited.
	if _, err := bob.UpdateMessage(ctx, got.ID, text("forged")); err == nil {
		t.Fatal("edited a received item")
	}

	// CH-MSG-REACT-1: a reaction to the other's message, then removed.
	if _, err := bob.React(ctx, got.ID, "👍", true); err != nil {
		t.Fatal(err)
	}
	re := waitFor(t, alice, func(e ItemUpdated) bool { return e.Item.ID == sent.ID && len(e.Item.Reactions) == 1 })
	if re.Item.Reactions[0] != (Reaction{Emoji: "👍"}) {
		t.Fatalf("reactions %+v", re.Item.Reactions)
	}
	if _, err := bob.React(ctx, got.ID, "👍", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, func(e ItemUpdated) bool { return e.Item.ID == sent.ID && len(e.Item.Reactions) == 0 })
	if _, err := bob.React(ctx, got.ID, "🦄", true); err == nil {
		t.Fatal("reaction outside the emoji list sent")
	}

	// CH-MSG-DEL-1: deletion for everyone marks the receiver's item; a
	// deletion for me removes only the local item.
	if err := alice.DeleteMessage(ctx, sent.ID, true); err != nil {
		t.Fatal(err)
	}
	del := waitFor(t, bob, func(e ItemUpdated) bool { return e.Item.ID == got.ID && e.Item.Deleted })
	_ = del
	if err := bob.DeleteMessage(ctx, got.ID, true); err == nil {
		t.Fatal("deleted a received item for everyone")
	}
	if err := bob.DeleteMessage(ctx, reply.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Item(ctx, reply.ID); err == nil {
		t.Fatal("item deleted for me still there")
	}
	if it, err := alice.Item(ctx, r.ID); err != nil || it.Deleted {
		t.Fatalf("alice's copy of bob's reply: %+v %v", it, err)
	}
}

// History is stored and paged oldest first within a page.
func TestHistoryPaging(t *testing.T) {
	srv := startRelay(t)
	alice, _ := newUser(t, "alice", srv)
	bob, _ := newUser(t, "bob", srv)
	ab, ba := connect(t, alice, bob)
	ctx := context.Background()
	const n = 12
	for i := range n {
		if _, err := alice.SendText(ctx, ab.ID, fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
	}
	received(t, bob, fmt.Sprint("m", n-1))
	var all []string
	before := int64(0)
	for {
		page, err := bob.Items(ctx, ba.ID, before, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		var texts []string
		for _, it := range page {
			texts = append(texts, it.Text)
		}
		all = append(texts, all...)
		before = page[0].ID
	}
	if len(all) != n {
		t.Fatalf("history %v", all)
	}
	// Search finds by text, newest first; % and _ are literal.
	found, err := bob.Search(ctx, ba.UserID, "M1", 10)
	if err != nil || len(found) != 3 || found[0].Text != "m11" || found[2].Text != "m1" {
		t.Fatalf("search m1: %+v %v", found, err)
	}
	if found, _ := bob.Search(ctx, ba.UserID, "m_", 10); len(found) != 0 {
		t.Fatalf("search m_: %+v", found)
	}
	for i, s := range all {
		if s != fmt.Sprint("m", i) {
			t.Fatalf("history %v: order", all)
		}
	}
}
