package chat

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

func strp(s string) *string { return &s }

// A group of five over three relays, built by introductions from two
// hosts and one group link: alice (owner) invites bob and carol, makes bob
// an admin, bob invites dave, eve joins by alice's link. Messages sent
// before every pair is connected arrive once everywhere (CH-FWD-1..3);
// dave and eve get the history and the welcome message (CH-GRP-HIST-1);
// an edit, a reaction, a moderation, a profile update of the group and
// one of a member reach everyone, and the owner's deletion ends the group
// everywhere.
func TestGroupOfFive(t *testing.T) {
	r1, r2, r3 := startRelay(t), startRelay(t), startRelay(t)
	ctx := context.Background()
	alice, bob, carol := newGM(t, "alice", r1), newGM(t, "bob", r2), newGM(t, "carol", r3)
	dave, eve := newGM(t, "dave", r1), newGM(t, "eve", r2)
	all := []*gm{alice, bob, carol, dave, eve}
	ab, _ := contacts(t, alice, bob)
	ac, _ := contacts(t, alice, carol)
	bd, _ := contacts(t, bob, dave)

	on := &chatmsg.GroupPreference{Enable: "on"}
	g, err := alice.c.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "five", Description: strp("welcome to five"),
		GroupPreferences: &chatmsg.GroupPreferences{History: on}})
	if err != nil {
		t.Fatal(err)
	}
	alice.group = g.ID
	invite(t, alice, bob, ab, chatmsg.RoleMember)
	invite(t, alice, carol, ac, chatmsg.RoleMember)
	meshed(t, alice, bob, carol)
	if _, err := alice.c.SendGroupText(ctx, alice.group, "first"); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.c.SendGroupText(ctx, carol.group, "second"); err != nil {
		t.Fatal(err)
	}
	once(t, "second", alice, bob)
	once(t, "first", bob, carol)

	// CH-GRP-ROLE-1: bob becomes an admin, and may then add dave.
	if err := alice.c.ChangeMemberRole(ctx, alice.group, alice.memberNamed(t, "bob").ID, chatmsg.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	seen(t, bob.r, func(e MemberRoleChanged) bool { return e.Member.ID == 0 && e.To == chatmsg.RoleAdmin })
	seen(t, carol.r, func(e MemberRoleChanged) bool {
		return e.Member.Profile != nil && e.Member.Profile.DisplayName == "bob" && e.From == chatmsg.RoleMember
	})
	invite(t, bob, dave, bd, chatmsg.RoleMember)
	// Before dave is connected with alice and carol: bob forwards.
	if _, err := dave.c.SendGroupText(ctx, dave.group, "dave here"); err != nil {
		t.Fatal(err)
	}
	once(t, "dave here", alice, bob, carol)
	// eve may join while dave is still connecting with alice: alice
	// introduces him to her all the same, and what dave is owed waits for
	// his connection with alice.

	link, err := alice.c.CreateGroupLink(ctx, alice.group, chatmsg.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eve.c.JoinGroupLink(ctx, link); err != nil {
		t.Fatal(err)
	}
	host := seen(t, eve.r, func(e MemberConnected) bool { return e.Member.Host })
	eve.group = host.Group.ID
	if host.Group.Profile.DisplayName != "five" || host.Group.Role != chatmsg.RoleMember || host.Group.Status != GroupActive {
		t.Fatalf("eve's group by link %+v", host.Group)
	}
	if _, err := eve.c.SendGroupText(ctx, eve.group, "eve here"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, ev := range eve.r.events() {
				t.Logf("eve: %T %+v", ev, ev)
			}
			t.Logf("eve texts %v", eve.texts(t))
		}
	})
	once(t, "dave here", eve) // in alice's history for her
	once(t, "eve here", alice, bob, carol, dave)
	meshed(t, all...)
	// x.grp.link.mem brought alice's profile to eve.
	eventually(t, "alice's full profile at eve", func() bool {
		return eve.memberNamed(t, "alice").Profile.FullName == "alice full"
	})

	// History: the two messages before they joined and the welcome
	// message, from their hosts, once each (CH-GRP-HIST-1).
	for _, m := range []*gm{dave, eve} {
		once(t, "first", m)
		once(t, "second", m)
		// The welcome from the host; dave's host bob also passes on the
		// one he had from alice, as upstream's history does.
		m.item(t, "welcome to five")
		if it := m.item(t, "second"); it.Author != m.memberNamed(t, "carol").ID {
			t.Fatalf("%s: history item of carol authored by %d", m.name, it.Author)
		}
	}

	// An edit and a reaction (CH-MSG-UPD-1, CH-MSG-REACT-1).
	sent, err := carol.c.SendGroupText(ctx, carol.group, "tpyo")
	if err != nil {
		t.Fatal(err)
	}
	once(t, "tpyo", alice, bob, dave, eve)
	if _, err := carol.c.UpdateGroupMessage(ctx, sent.ID, text("typo")); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*gm{alice, bob, dave, eve} {
		if it := m.item(t, "typo"); !it.Edited {
			t.Fatalf("%s: edit %+v", m.name, it)
		}
	}
	dv := dave.item(t, "typo")
	if _, err := dave.c.ReactGroup(ctx, dv.ID, "👍", true); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*gm{alice, bob, carol, eve} {
		davesID := m.memberNamed(t, "dave").ID
		eventually(t, m.name+": dave's reaction", func() bool {
			it := m.item(t, "typo")
			return len(it.Reactions) == 1 && it.Reactions[0].Emoji == "👍" && it.Reactions[0].Member == davesID
		})
	}
	// bob, an admin, deletes eve's message for everyone (CH-MSG-DEL-2).
	if err := bob.c.DeleteGroupMessage(ctx, bob.item(t, "eve here").ID, true); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*gm{alice, carol, dave, eve} {
		bobsID := m.memberNamed(t, "bob").ID
		eventually(t, m.name+": moderation", func() bool {
			it := m.item(t, "eve here")
			return it.Deleted && it.ModeratedBy == bobsID
		})
	}
	// carol cannot moderate (CH-ROLE-2).
	if err := carol.c.DeleteGroupMessage(ctx, carol.item(t, "dave here").ID, true); err == nil {
		t.Fatal("a member deleted another's message")
	}

	// A member's new profile (x.info, CH-PROF-3) and the group's
	// (x.grp.info, CH-GRP-INFO-1) reach everyone.
	if err := eve.c.UpdateProfile(ctx, eve.user, chatmsg.Profile{DisplayName: "eve2", FullName: "Eve"}); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.c.UpdateGroupProfile(ctx, carol.group, chatmsg.GroupProfile{DisplayName: "mine"}); err == nil {
		t.Fatal("a member changed the group profile")
	}
	if _, err := alice.c.UpdateGroupProfile(ctx, alice.group, chatmsg.GroupProfile{DisplayName: "five!", GroupPreferences: &chatmsg.GroupPreferences{History: on}}); err != nil {
		t.Fatal(err)
	}
	for _, m := range all[1:] {
		seen(t, m.r, func(e GroupUpdated) bool { return e.Group.Profile.DisplayName == "five!" })
		if g := m.groupRow(t); g.Profile.DisplayName != "five!" {
			t.Fatalf("%s: group %+v", m.name, g)
		}
	}
	for _, m := range all[:4] {
		seen(t, m.r, func(e MemberUpdated) bool { return e.Member.Profile.DisplayName == "eve2" })
	}

	// CH-GRP-DEL-3: only the owner deletes; everyone sees it and stops.
	if err := bob.c.DeleteGroup(ctx, bob.group); err == nil {
		t.Fatal("an admin deleted the group")
	}
	if err := alice.c.DeleteGroup(ctx, alice.group); err != nil {
		t.Fatal(err)
	}
	for _, m := range all[1:] {
		e := seen(t, m.r, func(e GroupDeleted) bool { return true })
		if e.By.Profile.DisplayName != "alice" || m.groupRow(t).Status != GroupWasDeleted {
			t.Fatalf("%s: deletion %+v", m.name, e)
		}
		if _, err := m.c.SendGroupText(ctx, m.group, "still here?"); err == nil {
			t.Fatalf("%s sent to a deleted group", m.name)
		}
	}
	noErrors(t, all...)
	// A deleted group is removed locally with what is left of it.
	if err := carol.c.DeleteGroup(ctx, carol.group); err != nil {
		t.Fatal(err)
	}
	if gs, _ := carol.c.Groups(ctx, carol.user); len(gs) != 0 {
		t.Fatalf("carol's groups after deleting %+v", gs)
	}
}

// rawSend sends body to the member named to straight through m's agent,
// as a client that ignores its role would.
func rawSend(t *testing.T, m *gm, to string, body []byte) {
	t.Helper()
	ctx := context.Background()
	var conn string
	target := m.memberNamed(t, to)
	if err := m.c.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT conn_id FROM chat_members WHERE id = ?`, target.ID).Scan(&conn)
	}); err != nil {
		t.Fatal(err)
	}
	ua, err := m.c.user(m.user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ua.a.Send(ctx, conn, body); err != nil {
		t.Fatal(err)
	}
}

// refusals waits until m has reported n events refused by role (CH-ROLE-3).
func refusals(t *testing.T, m *gm, n int) {
	t.Helper()
	eventually(t, m.name+": refusals", func() bool {
		k := 0
		for _, err := range m.r.errorsSeen() {
			if strings.Contains(err.Error(), "CH-ROLE-3") {
				k++
			}
		}
		return k >= n
	})
}

// CH-ROLE-2..3, CH-GRP-ROLE-1: what a role does not allow is refused by
// the sender's client and, sent anyway, by the receivers; a role change by
// the owner is obeyed at once by the member it names.
func TestGroupRolesEnforced(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	alice, bob, carol := newGM(t, "alice", srv), newGM(t, "bob", srv), newGM(t, "carol", srv)
	ab, _ := contacts(t, alice, bob)
	ac, _ := contacts(t, alice, carol)
	g, err := alice.c.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "club"})
	if err != nil {
		t.Fatal(err)
	}
	alice.group = g.ID
	invite(t, alice, bob, ab, chatmsg.RoleMember)
	invite(t, alice, carol, ac, chatmsg.RoleObserver)
	meshed(t, alice, bob, carol)

	// An observer's message, a member's role change, profile change and
	// deletion of the group: each refused where it arrives.
	rawSend(t, carol, "alice", newBody([]byte("0123456789ab"), chatmsg.Container{Content: &chatmsg.Content{Type: "text", Text: "sneaky", HasText: true}}))
	carolID := bob.memberNamed(t, "carol").MemberID
	rawSend(t, bob, "alice", encode(&chatmsg.GrpMemRole{MemberID: carolID, Role: chatmsg.RoleAdmin}))
	rawSend(t, bob, "carol", encode(&chatmsg.GrpMemRole{MemberID: carolID, Role: chatmsg.RoleAdmin}))
	rawSend(t, bob, "carol", encode(&chatmsg.GrpInfo{GroupProfile: &chatmsg.GroupProfile{DisplayName: "bob's"}}))
	rawSend(t, bob, "carol", encode(&chatmsg.GrpDel{}))
	refusals(t, alice, 2)
	refusals(t, carol, 3)
	if n := alice.texts(t)["sneaky"]; n != 0 {
		t.Fatal("alice shows the observer's message")
	}
	if r := alice.memberNamed(t, "carol").Role; r != chatmsg.RoleObserver {
		t.Fatalf("carol's role at alice %s", r)
	}
	if g := carol.groupRow(t); g.Role != chatmsg.RoleObserver || g.Profile.DisplayName != "club" || g.Status != GroupActive {
		t.Fatalf("carol's group %+v", g)
	}
	if err := bob.c.ChangeMemberRole(ctx, bob.group, bob.memberNamed(t, "carol").ID, chatmsg.RoleMember); err == nil {
		t.Fatal("a member changed a role")
	}
	if err := alice.c.ChangeMemberRole(ctx, alice.group, alice.memberNamed(t, "carol").ID, chatmsg.RoleOwner); err != nil {
		t.Fatal(err) // an owner may make an owner
	}
	seen(t, carol.r, func(e MemberRoleChanged) bool { return e.Member.ID == 0 && e.To == chatmsg.RoleOwner })
	if _, err := carol.c.SendGroupText(ctx, carol.group, "now I can"); err != nil {
		t.Fatal(err)
	}
	once(t, "now I can", alice, bob)
	// bob, made an observer, can no longer send.
	if err := alice.c.ChangeMemberRole(ctx, alice.group, alice.memberNamed(t, "bob").ID, chatmsg.RoleObserver); err != nil {
		t.Fatal(err)
	}
	seen(t, bob.r, func(e MemberRoleChanged) bool { return e.Member.ID == 0 && e.To == chatmsg.RoleObserver })
	seen(t, carol.r, func(e MemberRoleChanged) bool {
		return e.Member.Profile != nil && e.Member.Profile.DisplayName == "bob" && e.To == chatmsg.RoleObserver
	})
	if _, err := bob.c.SendGroupText(ctx, bob.group, "me?"); err == nil {
		t.Fatal("an observer sent")
	}
	// A removal with the member's messages (CH-GRP-DEL-1): carol's
	// message goes at bob, marked as alice's moderation.
	rawSend(t, alice, "bob", encode(&chatmsg.GrpMemDel{MemberID: carolID, Messages: true}))
	eventually(t, "carol's message deleted at bob", func() bool {
		it := bob.item(t, "now I can")
		return it.Deleted && it.ModeratedBy == bob.memberNamed(t, "alice").ID
	})
	if m := bob.memberNamed(t, "carol"); m.Status != MemberWasRemoved {
		t.Fatalf("carol at bob %+v", m)
	}
}

// Every user restarts in the middle of a join, once by invitation and
// once by group link: closed right after the joiner acts and opened again
// from their files, the group completes (everyone connected with
// everyone) and messages reach everyone once.
func TestGroupRestartEveryoneMidJoin(t *testing.T) {
	r1, r2 := startRelay(t), startRelay(t)
	ctx := context.Background()
	alice, bob, carol, dave, eve := newGM(t, "alice", r1), newGM(t, "bob", r2), newGM(t, "carol", r1), newGM(t, "dave", r2), newGM(t, "eve", r1)
	ab, _ := contacts(t, alice, bob)
	ac, _ := contacts(t, alice, carol)
	ad, _ := contacts(t, alice, dave)
	g, err := alice.c.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "sturdy"})
	if err != nil {
		t.Fatal(err)
	}
	alice.group = g.ID
	invite(t, alice, bob, ab, chatmsg.RoleMember)
	invite(t, alice, carol, ac, chatmsg.RoleMember)
	meshed(t, alice, bob, carol)
	restart := func(ms ...*gm) {
		for _, m := range ms {
			m.close(t)
		}
		for _, m := range ms {
			m.reopen(t)
		}
	}

	// dave accepts and everyone goes away at once.
	if _, err := alice.c.InviteToGroup(ctx, alice.group, ad, chatmsg.RoleMember); err != nil {
		t.Fatal(err)
	}
	dave.group = seen(t, dave.r, func(e GroupInvited) bool { return true }).Group.ID
	if err := dave.c.JoinGroup(ctx, dave.group); err != nil {
		t.Fatal(err)
	}
	restart(alice, bob, carol, dave)
	meshed(t, alice, bob, carol, dave)
	if _, err := dave.c.SendGroupText(ctx, dave.group, "made it"); err != nil {
		t.Fatal(err)
	}
	once(t, "made it", alice, bob, carol)

	// eve asks by link and everyone goes away at once.
	link, err := alice.c.CreateGroupLink(ctx, alice.group, chatmsg.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	eg, err := eve.c.JoinGroupLink(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	eve.group = eg.ID
	restart(alice, bob, carol, dave, eve)
	meshed(t, alice, bob, carol, dave, eve)
	if _, err := eve.c.SendGroupText(ctx, eve.group, "me too"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.c.SendGroupText(ctx, bob.group, "welcome eve"); err != nil {
		t.Fatal(err)
	}
	once(t, "me too", alice, bob, carol, dave)
	once(t, "welcome eve", alice, carol, dave, eve)
	noErrors(t, alice, bob, carol, dave, eve)
	if l, role, err := alice.c.GroupLink(ctx, alice.group); err != nil || l != link || role != chatmsg.RoleMember {
		t.Fatalf("group link %q %s %v", l, role, err)
	}
	if err := alice.c.DeleteGroupLink(ctx, alice.group); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.c.GroupLink(ctx, alice.group); !errors.Is(err, ErrNotFound) {
		t.Fatalf("group link after deletion: %v", err)
	}
}
