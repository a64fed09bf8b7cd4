package chat

import (
	"context"
	"fmt"
	"testing"

	"github.com/smpkit/smpkit/reference/chatmsg"
)

// CH-PROBE-1..5: alice and bob connect twice; alice's probe over the new
// connection and its hash over the old one let bob see they are one
// client: both merge the two contacts into the first, which keeps both
// histories, sends on the newer connection and still receives on the
// older. carol, with another profile, gets a probe and nothing else.
func TestDuplicateContactProbes(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	alice, au := newUser(t, "alice", srv)
	bob, _ := newUser(t, "bob", srv)
	carol, _ := newUser(t, "carol", srv)
	ab1, ba1 := connect(t, alice, bob)
	if _, err := alice.SendText(ctx, ab1.ID, "on the first"); err != nil {
		t.Fatal(err)
	}
	received(t, bob, "on the first")
	first, _ := bob.ContactCode(ctx, ba1.ID)
	if ok, _ := bob.VerifyCode(ctx, ba1.ID, first.Code); !ok {
		t.Fatal("not verified")
	}
	ac, _ := connect(t, alice, carol)
	ab2, ba2 := connect(t, alice, bob)
	if ab2.LocalName != "bob_1" || ba2.LocalName != "alice_1" {
		t.Fatalf("second contacts %q %q", ab2.LocalName, ba2.LocalName)
	}
	olderConn := connOf(t, alice, ab1.ID)
	mb := waitFor(t, bob, func(e ContactsMerged) bool { return true })
	if mb.Contact.ID != ba1.ID || mb.MergedID != ba2.ID || !mb.CodeReset {
		t.Fatalf("bob merged %+v", mb)
	}
	ma := waitFor(t, alice, func(e ContactsMerged) bool { return true })
	if ma.Contact.ID != ab1.ID || ma.MergedID != ab2.ID {
		t.Fatalf("alice merged %+v", ma)
	}
	for _, side := range []struct {
		c    *Client
		user int64
	}{{alice, au.ID}, {bob, ba1.UserID}} {
		cs, err := side.c.Contacts(ctx, side.user)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ct := range cs {
			names = append(names, ct.LocalName)
		}
		if side.c == alice && (len(cs) != 2 || names[0] != "bob" || names[1] != "carol") ||
			side.c == bob && (len(cs) != 1 || names[0] != "alice") {
			t.Fatalf("contacts after merge: %v", names)
		}
	}
	// The merged contacts use the newer connection: its code, not verified.
	ca, _ := alice.ContactCode(ctx, ab1.ID)
	cb, _ := bob.ContactCode(ctx, ba1.ID)
	if ca.Code != cb.Code || ca.Code == first.Code || cb.Verified {
		t.Fatalf("codes after merge %+v %+v, first %q", ca, cb, first.Code)
	}
	if ct, err := alice.Contact(ctx, ac.ID); err != nil || ct.LocalName != "carol" {
		t.Fatalf("carol: %+v %v", ct, err)
	}

	// Both ways on the merged contacts, the newer connection.
	if _, err := bob.SendText(ctx, ba1.ID, "after merge"); err != nil {
		t.Fatal(err)
	}
	if it := received(t, alice, "after merge"); it.ContactID != ab1.ID {
		t.Fatalf("item of contact %d", it.ContactID)
	}
	if _, err := alice.SendText(ctx, ab1.ID, "back"); err != nil {
		t.Fatal(err)
	}
	if it := received(t, bob, "back"); it.ContactID != ba1.ID {
		t.Fatalf("item of contact %d", it.ContactID)
	}
	if newer := connOf(t, alice, ab1.ID); newer == olderConn {
		t.Fatal("merged contact sends on the older connection")
	}
	// A peer that did not merge may still send on the older one.
	ua, _ := alice.user(au.ID)
	body := (&chatmsg.Message{V: chatmsg.Supported, MsgID: []byte("older-conn-1"), Event: &chatmsg.MsgNew{Container: chatmsg.Container{Content: &chatmsg.Content{Type: chatmsg.ContentText, Text: "via the older", HasText: true}}}}).Encode()
	if _, err := ua.a.Send(ctx, olderConn, body); err != nil {
		t.Fatal(err)
	}
	if it := received(t, bob, "via the older"); it.ContactID != ba1.ID {
		t.Fatalf("item of contact %d", it.ContactID)
	}
	// The two connections number their messages each on its own: none
	// of these is taken for a repeat of one on the older connection.
	for i := range 4 {
		if _, err := alice.SendText(ctx, ab1.ID, fmt.Sprint("newer ", i)); err != nil {
			t.Fatal(err)
		}
		received(t, bob, fmt.Sprint("newer ", i))
		if _, err := ua.a.Send(ctx, olderConn, (&chatmsg.Message{V: chatmsg.Supported, Event: &chatmsg.Info{Profile: &chatmsg.Profile{DisplayName: "alice", FullName: "alice full"}}}).Encode()); err != nil {
			t.Fatal(err)
		}
	}
	its, err := bob.Items(ctx, ba1.ID, 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, it := range its {
		texts = append(texts, it.Text)
	}
	if len(its) != 8 || texts[0] != "on the first" || texts[3] != "via the older" {
		t.Fatalf("bob's merged history %q", texts)
	}
}

// CH-PROBE-1..3, CH-PROBE-5 with a member: bob and carol are contacts and
// meet again in alice's group; carol, who joined later, probes bob the
// member and sends the hash to bob the contact: both link the member to
// the contact.
func TestProbeLinksMemberToContact(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	alice, _ := newUser(t, "alice", srv)
	bob, _ := newUser(t, "bob", srv)
	carol, _ := newUser(t, "carol", srv)
	bc, cb := connect(t, bob, carol)
	ab, _ := connect(t, alice, bob)
	ac, _ := connect(t, alice, carol)
	g, err := alice.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "team"})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []struct {
		c       *Client
		contact int64
	}{{bob, ab.ID}, {carol, ac.ID}} {
		if _, err := alice.InviteToGroup(ctx, g.ID, j.contact, chatmsg.RoleMember); err != nil {
			t.Fatal(err)
		}
		inv := waitFor(t, j.c, func(e GroupInvited) bool { return true }).Group
		if err := j.c.JoinGroup(ctx, inv.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, j.c, func(e MemberConnected) bool { return e.Member.Host })
	}
	lc := waitFor(t, carol, func(e ContactMemberLinked) bool { return true })
	if lc.Contact.ID != cb.ID || lc.Member.Profile.DisplayName != "bob" {
		t.Fatalf("carol linked %+v", lc)
	}
	lb := waitFor(t, bob, func(e ContactMemberLinked) bool { return true })
	if lb.Contact.ID != bc.ID || lb.Member.Profile.DisplayName != "carol" {
		t.Fatalf("bob linked %+v", lb)
	}
}
