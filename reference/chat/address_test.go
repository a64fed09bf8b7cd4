package chat

import (
	"context"
	"testing"
)

// CH-CONN-2: a request to an address carries x.contact with the
// requester's profile; the owner accepts it (x.info back) or rejects it.
func TestAddressRequests(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	alice, au := newUser(t, "alice", srv)
	bob, _ := newUser(t, "bob", srv)
	carol, cu := newUser(t, "carol", srv)
	addr, err := alice.CreateAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := alice.UserAddress(ctx, au.ID); err != nil || got.Link != addr.Link || got.AutoAccept {
		t.Fatalf("address %+v %v", got, err)
	}

	bc, err := bob.ConnectAddress(ctx, addr.Link)
	if err != nil {
		t.Fatal(err)
	}
	req := waitFor(t, alice, func(e ContactRequested) bool { return true }).Request
	if req.Profile.DisplayName != "bob" {
		t.Fatalf("request %+v", req)
	}
	if _, err := carol.ConnectAddress(ctx, addr.Link); err != nil {
		t.Fatal(err)
	}
	creq := waitFor(t, alice, func(e ContactRequested) bool { return e.Request.Profile.DisplayName == "carol" }).Request
	// Carol asks again: the same contactReqId, one request at alice.
	if _, err := carol.ConnectAddress(ctx, addr.Link); err != nil {
		t.Fatal(err)
	}
	if again := waitFor(t, alice, func(e ContactRequested) bool { return true }).Request; again.ID != creq.ID {
		t.Fatalf("repeated request %d, first %d", again.ID, creq.ID)
	}
	if cs, _ := carol.Contacts(ctx, cu.ID); len(cs) > 1 {
		t.Fatalf("carol's contacts %+v", cs)
	}
	if rs, err := alice.Requests(ctx, au.ID); err != nil || len(rs) != 2 {
		t.Fatalf("requests %+v %v", rs, err)
	}

	ac, err := alice.AcceptRequest(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ac.Profile.DisplayName != "bob" {
		t.Fatalf("accepted contact %+v", ac)
	}
	waitFor(t, alice, func(e ContactConnected) bool { return e.Contact.ID == ac.ID })
	got := waitFor(t, bob, func(e ContactConnected) bool { return e.Contact.ID == bc.ID }).Contact
	if got.Profile == nil || got.Profile.DisplayName != "alice" {
		t.Fatalf("bob's contact %+v", got)
	}
	if err := alice.RejectRequest(ctx, creq.ID); err != nil {
		t.Fatal(err)
	}
	if rs, _ := alice.Requests(ctx, au.ID); len(rs) != 0 {
		t.Fatalf("requests after accept and reject %+v", rs)
	}
	if _, err := bob.SendText(ctx, bc.ID, "thanks"); err != nil {
		t.Fatal(err)
	}
	received(t, alice, "thanks")
}

// Auto-accept with a welcome message, then off again.
func TestAddressAutoAccept(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	alice, au := newUser(t, "alice", srv)
	bob, _ := newUser(t, "bob", srv)
	carol, _ := newUser(t, "carol", srv)
	addr, err := alice.CreateAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.SetAutoAccept(ctx, au.ID, true, "welcome!"); err != nil {
		t.Fatal(err)
	}
	bc, err := bob.ConnectAddress(ctx, addr.Link)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, func(e ContactConnected) bool { return e.Contact.ID == bc.ID })
	w := received(t, bob, "welcome!")
	if w.ContactID != bc.ID {
		t.Fatalf("welcome %+v", w)
	}
	waitFor(t, alice, func(e ContactConnected) bool { return e.Contact.Profile.DisplayName == "bob" })

	if err := alice.SetAutoAccept(ctx, au.ID, false, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.ConnectAddress(ctx, addr.Link); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, func(e ContactRequested) bool { return e.Request.Profile.DisplayName == "carol" })

	if err := alice.DeleteAddress(ctx, au.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.UserAddress(ctx, au.ID); err == nil {
		t.Fatal("address after deletion")
	}
}
