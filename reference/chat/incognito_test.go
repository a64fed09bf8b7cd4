package chat

import (
	"context"
	"errors"
	"testing"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

// incognitoContacts connects a (incognito) and b (its main profile) by a
// one-time invitation of b; it returns each one's contact row.
func incognitoContacts(t *testing.T, a, b *gm) (aSide, bSide Contact) {
	t.Helper()
	ctx := context.Background()
	bc, link, err := b.c.CreateInvitation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := a.c.ConnectIncognito(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	aSide = seen(t, a.r, func(e ContactConnected) bool { return e.Contact.ID == ac.ID }).Contact
	bSide = seen(t, b.r, func(e ContactConnected) bool { return e.Contact.ID == bc.ID }).Contact
	return aSide, bSide
}

// profilesAt lists, by display name, every profile peer holds of others:
// its contacts' and every member of each of its groups.
func profilesAt(t *testing.T, peer *gm) map[string][]chatmsg.Profile {
	t.Helper()
	ctx := context.Background()
	out := map[string][]chatmsg.Profile{}
	cs, err := peer.c.Contacts(ctx, peer.user)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Profile != nil {
			out[c.Profile.DisplayName] = append(out[c.Profile.DisplayName], *c.Profile)
		}
	}
	gs, err := peer.c.Groups(ctx, peer.user)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		ms, err := peer.c.Members(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Profile != nil {
				out[m.Profile.DisplayName] = append(out[m.Profile.DisplayName], *m.Profile)
			}
		}
	}
	return out
}

// noLinks fails when a recorder saw contacts merged or a member linked to
// a contact, or when a peer holds a probe and its hash received over two
// connections: what would let it link them itself (CH-PROBE-4).
func noLinks(t *testing.T, ms ...*gm) {
	t.Helper()
	for _, m := range ms {
		var n int
		err := m.c.db.View(context.Background(), func(tx *db.Tx) error {
			return tx.QueryRow(`SELECT count(*) FROM chat_probes_received p JOIN chat_probes_received h ON h.probe_hash = p.probe_hash
				WHERE p.probe IS NOT NULL AND h.probe IS NULL`).Scan(&n)
		})
		if err != nil || n != 0 {
			t.Fatalf("%s: %d probes with their hash (%v)", m.name, n, err)
		}
		for _, ev := range m.r.events() {
			switch ev.(type) {
			case ContactsMerged, ContactMemberLinked:
				t.Fatalf("%s: %T %+v", m.name, ev, ev)
			}
		}
	}
}

// CH-INCOG-4, CH-INCOG-5, CH-PROBE-4, CH-PROF-3: alice is connected to bob
// incognito and to carol with her main profile. Invited by bob, she is in
// his group with the contact's random profile, toward bob and toward
// carol, who was introduced to her; she joined after carol, so she probes
// carol's member connection, and the probe must not link that member to
// carol's contact alice. Her main profile's update reaches carol's contact
// only. Nothing of the one profile goes where the other went.
func TestIncognitoGroupMembership(t *testing.T) {
	ctx := context.Background()
	srv := startRelay(t)
	alice, bob, carol := newGM(t, "alice", srv), newGM(t, "bob", srv), newGM(t, "carol", srv)
	aliceBob, _ := incognitoContacts(t, alice, bob)
	inc := aliceBob.Incognito
	if inc == nil || inc.DisplayName == "alice" || inc.FullName != "" || inc.Preferences != nil {
		t.Fatalf("incognito profile %+v", inc)
	}
	aliceCarol, carolAlice := contacts(t, alice, carol)
	bobCarol, _ := contacts(t, bob, carol)
	g, err := bob.c.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "club"})
	if err != nil {
		t.Fatal(err)
	}
	bob.group = g.ID
	invite(t, bob, carol, bobCarol, chatmsg.RoleMember)
	bobAlice, err := bob.c.Contacts(ctx, bob.user)
	if err != nil {
		t.Fatal(err)
	}
	var toAlice int64
	for _, c := range bobAlice {
		if c.Profile != nil && c.Profile.DisplayName == inc.DisplayName {
			toAlice = c.ID
		}
	}
	if _, err := bob.c.InviteToGroup(ctx, bob.group, toAlice, chatmsg.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	inv := seen(t, alice.r, func(e GroupInvited) bool { return true })
	if inv.Group.Incognito == nil || inv.Group.Incognito.DisplayName != inc.DisplayName {
		t.Fatalf("invitation over an incognito contact: membership %+v", inv.Group.Incognito)
	}
	alice.group = inv.Group.ID
	if err := alice.c.JoinGroup(ctx, alice.group); err != nil {
		t.Fatal(err)
	}
	meshed(t, alice, bob, carol)
	if n := carol.memberNamed(t, inc.DisplayName); n.Profile.FullName != "" {
		t.Fatalf("carol's member alice %+v", n.Profile)
	}
	bob.memberNamed(t, inc.DisplayName)
	// No invitations from an incognito membership (CH-INCOG-5).
	if _, err := alice.c.InviteToGroup(ctx, alice.group, aliceCarol, chatmsg.RoleMember); !errors.Is(err, ErrGroupIncognito) {
		t.Fatalf("invite from an incognito membership: %v", err)
	}
	if _, err := alice.c.SendGroupText(ctx, alice.group, "hi from nobody"); err != nil {
		t.Fatal(err)
	}
	it := carol.item(t, "hi from nobody")
	if m := carol.memberNamed(t, inc.DisplayName); it.Author != m.ID {
		t.Fatalf("carol's item from %d, member %d", it.Author, m.ID)
	}
	// The main profile changes: carol's contact hears of it, no member
	// and not bob (CH-PROF-3).
	if err := alice.c.UpdateProfile(ctx, alice.user, chatmsg.Profile{DisplayName: "alice", FullName: "Alice Main"}); err != nil {
		t.Fatal(err)
	}
	seen(t, carol.r, func(e ContactUpdated) bool {
		return e.Contact.ID == carolAlice && e.Contact.Profile.FullName == "Alice Main"
	})
	// Anything alice's probes or updates sent over these connections was
	// sent before these messages.
	if _, err := alice.c.SendMessage(ctx, aliceCarol, text("to carol"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.c.SendMessage(ctx, aliceBob.ID, text("to bob"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.c.SendGroupText(ctx, alice.group, "after update"); err != nil {
		t.Fatal(err)
	}
	seen(t, carol.r, func(e NewItem) bool { return e.Item.Text == "to carol" })
	seen(t, bob.r, func(e NewItem) bool { return e.Item.Text == "to bob" })
	carol.item(t, "after update")
	bob.item(t, "after update")
	noLinks(t, alice, bob, carol)
	noErrors(t, alice, bob, carol)
	// bob has only the random profile of alice; carol has the main one
	// once (her contact) and the random one once (her member).
	atBob, atCarol := profilesAt(t, bob), profilesAt(t, carol)
	if len(atBob["alice"]) != 0 || len(atBob[inc.DisplayName]) != 2 {
		t.Fatalf("bob holds %v", atBob)
	}
	if len(atCarol["alice"]) != 1 || len(atCarol[inc.DisplayName]) != 1 {
		t.Fatalf("carol holds %v", atCarol)
	}
	for _, ps := range [][]chatmsg.Profile{atBob[inc.DisplayName], atCarol[inc.DisplayName]} {
		for _, p := range ps {
			if p.FullName != "" || p.Image != nil {
				t.Fatalf("a random profile with the main one's fields: %+v", p)
			}
		}
	}
}

// CH-INCOG-4, CH-INCOG-5: a group created incognito invites nobody but
// has a group link, whose joiners know its owner by the random profile
// only (x.grp.link.inv, x.grp.link.mem); a group joined by link incognito
// has a fresh random profile of its own.
func TestIncognitoGroupByLink(t *testing.T) {
	ctx := context.Background()
	srv := startRelay(t)
	alice, bob := newGM(t, "alice", srv), newGM(t, "bob", srv)
	aliceBob, _ := contacts(t, alice, bob)
	g, err := alice.c.CreateIncognitoGroup(ctx, chatmsg.GroupProfile{DisplayName: "hidden"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Incognito == nil || g.Incognito.DisplayName == "alice" {
		t.Fatalf("incognito group %+v", g)
	}
	alice.group = g.ID
	if _, err := alice.c.InviteToGroup(ctx, g.ID, aliceBob, chatmsg.RoleMember); !errors.Is(err, ErrGroupIncognito) {
		t.Fatalf("invite into an incognito group: %v", err)
	}
	link, err := alice.c.CreateGroupLink(ctx, g.ID, chatmsg.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	bg, err := bob.c.JoinGroupLink(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	bob.group = bg.ID
	seen(t, bob.r, func(e MemberConnected) bool { return e.Member.Host })
	// The host sends only to members it has seen connect, which may come
	// after the joiner saw its host.
	seen(t, alice.r, func(e MemberConnected) bool { return e.Group.ID == g.ID && !e.Member.Host })
	if _, err := alice.c.SendGroupText(ctx, g.ID, "welcome"); err != nil {
		t.Fatal(err)
	}
	if it := bob.item(t, "welcome"); it.Author != bob.memberNamed(t, g.Incognito.DisplayName).ID {
		t.Fatalf("bob's item %+v", it)
	}

	// bob's group, joined by alice by its link incognito.
	og, err := bob.c.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "open"})
	if err != nil {
		t.Fatal(err)
	}
	olink, err := bob.c.CreateGroupLink(ctx, og.ID, chatmsg.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	ag, err := alice.c.JoinGroupLinkIncognito(ctx, olink)
	if err != nil {
		t.Fatal(err)
	}
	inc2 := ag.Incognito
	if inc2 == nil || inc2.DisplayName == "alice" || inc2.DisplayName == g.Incognito.DisplayName {
		t.Fatalf("joined by link incognito: %+v", ag)
	}
	seen(t, alice.r, func(e MemberConnected) bool { return e.Group.ID == ag.ID && e.Member.Host })
	if _, err := alice.c.SendGroupText(ctx, ag.ID, "psst"); err != nil {
		t.Fatal(err)
	}
	bob.group = og.ID
	bob.item(t, "psst")
	bob.memberNamed(t, inc2.DisplayName)
	noLinks(t, alice, bob)
	noErrors(t, alice, bob)
	at := profilesAt(t, bob)
	if len(at["alice"]) != 1 || len(at[g.Incognito.DisplayName]) != 1 || len(at[inc2.DisplayName]) != 1 {
		t.Fatalf("bob holds %v", at)
	}
}

// CH-INCOG-6: a request to an address sent incognito, a request accepted
// incognito, and requests accepted automatically incognito each get their
// own random profile; the requester's probes find nothing to merge.
func TestIncognitoAddressRequests(t *testing.T) {
	ctx := context.Background()
	srv := startRelay(t)
	alice, bob, carol := newGM(t, "alice", srv), newGM(t, "bob", srv), newGM(t, "carol", srv)
	contacts(t, alice, carol) // carol also knows alice's main profile
	addr, err := alice.c.CreateAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// bob asks incognito.
	bc, err := bob.c.ConnectAddressIncognito(ctx, addr.Link)
	if err != nil {
		t.Fatal(err)
	}
	if bc.Incognito == nil {
		t.Fatal("no incognito profile for the request")
	}
	req := seen(t, alice.r, func(e ContactRequested) bool { return true }).Request
	if req.Profile.DisplayName != bc.Incognito.DisplayName {
		t.Fatalf("request from %+v, bob's random profile %+v", req.Profile, bc.Incognito)
	}
	ac, err := alice.c.AcceptRequest(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen(t, bob.r, func(e ContactConnected) bool {
		return e.Contact.ID == bc.ID && e.Contact.Incognito != nil && e.Contact.Profile.DisplayName == "alice"
	})
	seen(t, alice.r, func(e ContactConnected) bool { return e.Contact.ID == ac.ID })

	// carol asks with her profile; alice accepts incognito.
	cc, err := carol.c.ConnectAddress(ctx, addr.Link)
	if err != nil {
		t.Fatal(err)
	}
	req = seen(t, alice.r, func(e ContactRequested) bool { return e.Request.Profile.DisplayName == "carol" }).Request
	ac, err = alice.c.AcceptRequestIncognito(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ac.Incognito == nil {
		t.Fatal("accepted incognito without a random profile")
	}
	got := seen(t, carol.r, func(e ContactConnected) bool { return e.Contact.ID == cc.ID }).Contact
	if got.Profile.DisplayName != ac.Incognito.DisplayName {
		t.Fatalf("carol's new contact %+v, alice's random profile %+v", got.Profile, ac.Incognito)
	}
	seen(t, alice.r, func(e ContactConnected) bool { return e.Contact.ID == ac.ID })

	// Automatic acceptance, incognito.
	if err := alice.c.SetAutoAcceptIncognito(ctx, alice.user, "hello!"); err != nil {
		t.Fatal(err)
	}
	if a, err := alice.c.UserAddress(ctx, alice.user); err != nil || !a.AutoAccept || !a.Incognito {
		t.Fatalf("address %+v, %v", a, err)
	}
	dave := newGM(t, "dave", srv)
	dc, err := dave.c.ConnectAddress(ctx, addr.Link)
	if err != nil {
		t.Fatal(err)
	}
	dg := seen(t, dave.r, func(e ContactConnected) bool { return e.Contact.ID == dc.ID }).Contact
	welcome := seen(t, dave.r, func(e NewItem) bool { return e.Item.Text == "hello!" })
	if dg.Profile.DisplayName == "alice" || dg.Profile.DisplayName == ac.Incognito.DisplayName || welcome.Item.ContactID != dc.ID {
		t.Fatalf("dave's contact %+v", dg.Profile)
	}
	if err := alice.c.SetAutoAccept(ctx, alice.user, true, ""); err != nil {
		t.Fatal(err)
	}
	if a, _ := alice.c.UserAddress(ctx, alice.user); a.Incognito {
		t.Fatal("auto-accept stays incognito")
	}
	// Probes of carol (the requester) reached alice's incognito contact
	// before this message.
	if _, err := carol.c.SendMessage(ctx, cc.ID, text("who are you?"), 0); err != nil {
		t.Fatal(err)
	}
	seen(t, alice.r, func(e NewItem) bool { return e.Item.Text == "who are you?" })
	noLinks(t, alice, bob, carol, dave)
	noErrors(t, alice, bob, carol, dave)
	at := profilesAt(t, carol)
	if len(at["alice"]) != 1 || len(at[ac.Incognito.DisplayName]) != 1 {
		t.Fatalf("carol holds %v", at)
	}
}

// CH-MSG-QUOTE-1..2: a reply in a group carries the quoted item's msgId
// and its author's member id, ours for our own; receivers find the item,
// also when both come forwarded in a new member's history (CH-GRP-HIST-1).
func TestGroupQuotes(t *testing.T) {
	ctx := context.Background()
	srv := startRelay(t)
	alice, bob, carol := newGM(t, "alice", srv), newGM(t, "bob", srv), newGM(t, "carol", srv)
	ab, _ := contacts(t, alice, bob)
	ac, _ := contacts(t, alice, carol)
	g, err := alice.c.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "team",
		GroupPreferences: &chatmsg.GroupPreferences{History: &chatmsg.GroupPreference{Enable: "on"}}})
	if err != nil {
		t.Fatal(err)
	}
	alice.group = g.ID
	invite(t, alice, bob, ab, chatmsg.RoleMember)
	invite(t, alice, carol, ac, chatmsg.RoleMember)
	meshed(t, alice, bob, carol)
	if _, err := alice.c.SendGroupText(ctx, g.ID, "hello! how are you?"); err != nil {
		t.Fatal(err)
	}
	q := bob.item(t, "hello! how are you?")
	r, err := bob.c.SendGroupReply(ctx, bob.group, "hello, all good, you?", q.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.QuoteID != q.ID || r.Quote == nil || string(r.Quote.MsgRef.MemberID) != string(g.MemberID) || r.Quote.MsgRef.Sent {
		t.Fatalf("bob's reply %+v quote %+v", r, r.Quote)
	}
	for _, m := range []*gm{alice, carol} {
		it := m.item(t, "hello, all good, you?")
		orig := m.item(t, "hello! how are you?")
		if it.QuoteID != orig.ID || it.Quote.Content.Text != "hello! how are you?" {
			t.Fatalf("%s: reply %+v, original %d", m.name, it, orig.ID)
		}
	}
	// bob quotes his own message: the msgRef names bob.
	own, err := bob.c.SendGroupReply(ctx, bob.group, "will tell more", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !own.Quote.MsgRef.Sent || string(own.Quote.MsgRef.MemberID) != string(bob.groupRow(t).MemberID) {
		t.Fatalf("own quote %+v", own.Quote.MsgRef)
	}
	it := carol.item(t, "will tell more")
	if orig := carol.item(t, "hello, all good, you?"); it.QuoteID != orig.ID || orig.Author != carol.memberNamed(t, "bob").ID {
		t.Fatalf("carol: %+v quotes %d", it, orig.ID)
	}
	if _, err := carol.c.SendGroupReply(ctx, carol.group, "x", 1<<40); err == nil {
		t.Fatal("a reply to no item")
	}
	// dave joins by link and gets both in the history.
	link, err := alice.c.CreateGroupLink(ctx, g.ID, chatmsg.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	dave := newGM(t, "dave", srv)
	dg, err := dave.c.JoinGroupLink(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	dave.group = dg.ID
	it = dave.item(t, "will tell more")
	if orig := dave.item(t, "hello, all good, you?"); it.QuoteID != orig.ID || orig.QuoteID != dave.item(t, "hello! how are you?").ID {
		t.Fatalf("dave's history: %+v quotes %d", it, orig.ID)
	}
	noErrors(t, alice, bob, carol, dave)
}
