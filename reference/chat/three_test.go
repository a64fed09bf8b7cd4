package chat

import (
	"context"
	"testing"

	"github.com/smpkit/smpkit/reference/chatmsg"
)

// Three users over two relays: alice and carol on one, bob on the other.
// Alice and bob connect by invitation, carol reaches alice by her address,
// and bob and carol by invitation; they talk, edit, react and reply; bob
// restarts mid-conversation (with a message waiting for him on the relay)
// and keeps his history and his conversations.
func TestThreeUsersTwoRelays(t *testing.T) {
	r1, r2 := startRelay(t), startRelay(t)
	ctx := context.Background()
	alice, au := newUser(t, "alice", r1)
	bobDir := t.TempDir()
	bob := open(t, bobDir, r2)
	if _, err := bob.CreateUser(ctx, chatmsg.Profile{DisplayName: "bob"}); err != nil {
		t.Fatal(err)
	}
	carol, _ := newUser(t, "carol", r1)

	// 2. alice and bob by one-time invitation.
	ab, ba := connect(t, alice, bob)
	// 4. carol by alice's address, auto-accepted with a welcome.
	addr, err := alice.CreateAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.SetAutoAccept(ctx, au.ID, true, "hi, this is alice"); err != nil {
		t.Fatal(err)
	}
	ca, err := carol.ConnectAddress(ctx, addr.Link)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, carol, func(e ContactConnected) bool { return e.Contact.ID == ca.ID })
	received(t, carol, "hi, this is alice")
	waitFor(t, alice, func(e ContactConnected) bool { return e.Contact.LocalName == "carol" })
	// bob and carol.
	bc, cb := connect(t, bob, carol)

	// 3. messages every way.
	m1, err := alice.SendText(ctx, ab.ID, "bob, meet carol")
	if err != nil {
		t.Fatal(err)
	}
	g1 := received(t, bob, "bob, meet carol")
	if _, err := bob.SendMessage(ctx, ba.ID, text("we met"), g1.ID); err != nil {
		t.Fatal(err)
	}
	if r := received(t, alice, "we met"); r.QuoteID != m1.ID {
		t.Fatalf("quote %d, want %d", r.QuoteID, m1.ID)
	}
	if _, err := carol.SendText(ctx, cb.ID, "hello bob"); err != nil {
		t.Fatal(err)
	}
	gc := received(t, bob, "hello bob")
	if _, err := bob.React(ctx, gc.ID, "❤️", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, carol, func(e ItemUpdated) bool { return len(e.Item.Reactions) == 1 && e.Item.Reactions[0].Emoji == "❤️" })
	if _, err := carol.SendText(ctx, ca.ID, "thanks alice"); err != nil {
		t.Fatal(err)
	}
	received(t, alice, "thanks alice")

	// 1. alice's new name reaches both contacts.
	if err := alice.UpdateProfile(ctx, au.ID, chatmsg.Profile{DisplayName: "alice2"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, func(e ContactUpdated) bool { return e.Contact.LocalName == "alice2" })
	waitFor(t, carol, func(e ContactUpdated) bool { return e.Contact.LocalName == "alice2" })

	// bob restarts; carol writes and edits while he is away.
	if err := bob.Close(); err != nil {
		t.Fatal(err)
	}
	cm, err := carol.SendText(ctx, cb.ID, "are you there?")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := carol.UpdateMessage(ctx, cm.ID, text("are you there, bob?")); err != nil {
		t.Fatal(err)
	}
	bob = open(t, bobDir, r2)
	got := received(t, bob, "are you there?")
	up := waitFor(t, bob, func(e ItemUpdated) bool { return e.Item.ID == got.ID })
	if up.Item.Text != "are you there, bob?" {
		t.Fatalf("edit after restart %+v", up.Item)
	}
	hist, err := bob.Items(ctx, ba.ID, 0, 10)
	if err != nil || len(hist) != 2 || hist[0].Text != "bob, meet carol" || hist[1].Text != "we met" || hist[1].QuoteID != hist[0].ID {
		t.Fatalf("bob's history with alice after restart: %+v %v", hist, err)
	}
	if c, _ := bob.Contact(ctx, ba.ID); c.LocalName != "alice2" {
		t.Fatalf("bob's contact after restart %+v", c)
	}
	if _, err := bob.SendText(ctx, bc.ID, "back again"); err != nil {
		t.Fatal(err)
	}
	received(t, carol, "back again")
	if _, err := bob.SendText(ctx, ba.ID, "me too"); err != nil {
		t.Fatal(err)
	}
	received(t, alice, "me too")

	// 2. bob deletes carol; carol is told.
	if err := bob.DeleteContact(ctx, bc.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, carol, func(e ContactDeleted) bool { return e.Contact.ID == cb.ID })
}
