package chat

import (
	"context"
	"testing"

	"github.com/smpkit/smpkit/reference/chatmsg"
)

// CH-CONN-1: profiles travel in the handshake; both sides see the other's.
func TestInvitationExchangesProfiles(t *testing.T) {
	srv := startRelay(t)
	alice, _ := newUser(t, "alice", srv)
	bob, _ := newUser(t, "bob", srv)
	ab, ba := connect(t, alice, bob)
	if ab.Profile == nil || ab.Profile.DisplayName != "bob" || ab.LocalName != "bob" || ab.Profile.FullName != "bob full" {
		t.Fatalf("alice's contact %+v", ab)
	}
	if ba.Profile == nil || ba.Profile.DisplayName != "alice" {
		t.Fatalf("bob's contact %+v", ba)
	}
	if ab.Status != StatusConnected || ba.Status != StatusConnected {
		t.Fatalf("status %s %s", ab.Status, ba.Status)
	}

	// CH-CONN-4: deleting a contact tells it; the peer keeps its history.
	ctx := context.Background()
	if _, err := alice.SendText(ctx, ab.ID, "bye"); err != nil {
		t.Fatal(err)
	}
	received(t, bob, "bye")
	if err := alice.DeleteContact(ctx, ab.ID); err != nil {
		t.Fatal(err)
	}
	d := waitFor(t, bob, func(e ContactDeleted) bool { return e.Contact.ID == ba.ID })
	if d.Contact.Status != StatusDeletedByPeer {
		t.Fatalf("status %s", d.Contact.Status)
	}
	if items, err := bob.Items(ctx, ba.ID, 0, 10); err != nil || len(items) != 1 {
		t.Fatalf("bob's history after deletion: %v %v", items, err)
	}
	if _, err := bob.SendText(ctx, ba.ID, "still there?"); err == nil {
		t.Fatal("sent to a contact that deleted us")
	}
	// Alice's side goes once the relay accepted x.direct.del (SENT; bob
	// sends no receipt for it, CH-RCPT-1).
	deadline := timeAfterWait()
	for {
		cs, err := alice.Contacts(ctx, ab.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("alice's contact not deleted: %+v", cs)
		case <-timeAfterMs(50):
		}
	}
	if err := bob.DeleteContact(ctx, ba.ID); err != nil {
		t.Fatal(err)
	}
	if cs, _ := bob.Contacts(ctx, ba.UserID); len(cs) != 0 {
		t.Fatalf("bob's contacts %+v", cs)
	}
}

// CH-INCOG-1..3: an incognito contact sees a random profile, whichever
// side made the link; the user's profile updates do not reach it and it
// cannot be invited to a group.
func TestIncognitoContacts(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	alice, _ := newUser(t, "alice", srv)
	bob, bu := newUser(t, "bob", srv)

	// bob joins alice's link incognito.
	_, link, err := alice.CreateInvitation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bob.ConnectIncognito(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	ab := waitFor(t, alice, func(e ContactConnected) bool { return true }).Contact
	ba := waitFor(t, bob, func(e ContactConnected) bool { return e.Contact.ID == bc.ID }).Contact
	if ab.Profile.DisplayName == "bob" || ab.Profile.DisplayName != ba.Incognito.DisplayName || ab.Profile.FullName != "" {
		t.Fatalf("alice sees %+v, bob's incognito %+v", ab.Profile, ba.Incognito)
	}
	if ba.Profile.DisplayName != "alice" {
		t.Fatalf("bob sees %+v", ba.Profile)
	}

	// bob makes an incognito link; alice joins it.
	bc2, link2, err := bob.CreateIncognitoInvitation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ac2, err := alice.Connect(ctx, link2)
	if err != nil {
		t.Fatal(err)
	}
	a2 := waitFor(t, alice, func(e ContactConnected) bool { return e.Contact.ID == ac2.ID }).Contact
	b2 := waitFor(t, bob, func(e ContactConnected) bool { return e.Contact.ID == bc2.ID }).Contact
	if a2.Profile.DisplayName == "bob" || a2.Profile.DisplayName != b2.Incognito.DisplayName {
		t.Fatalf("alice sees %+v (and %+v)", a2, ab)
	}

	if err := bob.UpdateProfile(ctx, bu.ID, chatmsg.Profile{DisplayName: "robert"}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.SendText(ctx, ba.ID, "still incognito"); err != nil {
		t.Fatal(err)
	}
	received(t, alice, "still incognito")
	if got, _ := alice.Contact(ctx, ab.ID); got.Profile.DisplayName != ab.Profile.DisplayName {
		t.Fatalf("update reached an incognito contact: %+v", got.Profile)
	}
	g, err := bob.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "g"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.InviteToGroup(ctx, g.ID, ba.ID, chatmsg.RoleMember); err == nil {
		t.Fatal("invited an incognito contact to a group")
	}
}
