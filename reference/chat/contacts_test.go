package chat

import (
	"context"
	"testing"
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
	// Alice's side goes once bob's receipt of x.direct.del arrives.
	deadline := timeAfter(10)
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
