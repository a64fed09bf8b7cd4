package chat

import (
	"context"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

// CH-GRP-INV-1..3, CH-GRP-INTRO-1..6, CH-FWD-1..3: alice makes a group and
// invites bob and carol; carol is introduced to bob; a message carol sends
// before her pair with bob is up reaches bob once (forwarded by alice or
// direct); then everyone's messages reach everyone.
func TestGroupInvitationAndIntroductions(t *testing.T) {
	r1, r2 := startRelay(t), startRelay(t)
	ctx := context.Background()
	alice, au := newUser(t, "alice", r1)
	bob, bu := newUser(t, "bob", r2)
	carol, cu := newUser(t, "carol", r1)
	ab, _ := connect(t, alice, bob)
	ac, _ := connect(t, alice, carol)

	g, err := alice.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "team", FullName: "The team"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Role != chatmsg.RoleOwner {
		t.Fatalf("creator's role %s", g.Role)
	}
	if _, err := alice.InviteToGroup(ctx, g.ID, ab.ID, chatmsg.RoleMember); err != nil {
		t.Fatal(err)
	}
	bInv := waitFor(t, bob, func(e GroupInvited) bool { return true })
	if bInv.Group.Profile.DisplayName != "team" || bInv.Group.Status != GroupPending || bInv.Group.Role != chatmsg.RoleMember {
		t.Fatalf("bob's invitation %+v", bInv.Group)
	}
	if err := bob.JoinGroup(ctx, bInv.Group.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, func(e MemberConnected) bool { return e.Member.Profile.DisplayName == "bob" })
	waitFor(t, bob, func(e MemberConnected) bool { return e.Member.Host })

	if _, err := alice.InviteToGroup(ctx, g.ID, ac.ID, chatmsg.RoleMember); err != nil {
		t.Fatal(err)
	}
	cInv := waitFor(t, carol, func(e GroupInvited) bool { return true })
	if err := carol.JoinGroup(ctx, cInv.Group.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, carol, func(e MemberConnected) bool { return e.Member.Host })
	if _, err := carol.SendGroupText(ctx, cInv.Group.ID, "hi all"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, func(e NewGroupItem) bool { return e.Item.Text == "hi all" })
	waitFor(t, bob, func(e NewGroupItem) bool { return e.Item.Text == "hi all" })
	// The introduction connects carol and bob.
	waitFor(t, bob, func(e MemberConnected) bool {
		return e.Member.Profile != nil && e.Member.Profile.DisplayName == "carol"
	})
	waitFor(t, carol, func(e MemberConnected) bool { return e.Member.Profile != nil && e.Member.Profile.DisplayName == "bob" })

	if _, err := bob.SendGroupText(ctx, bInv.Group.ID, "hello from bob"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, func(e NewGroupItem) bool { return e.Item.Text == "hello from bob" })
	waitFor(t, carol, func(e NewGroupItem) bool { return e.Item.Text == "hello from bob" })
	if _, err := alice.SendGroupText(ctx, g.ID, "welcome both"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, func(e NewGroupItem) bool { return e.Item.Text == "welcome both" })
	waitFor(t, carol, func(e NewGroupItem) bool { return e.Item.Text == "welcome both" })

	// One item per message however it came (CH-FWD-3).
	its, err := bob.GroupItems(ctx, bInv.Group.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, it := range its {
		texts = append(texts, it.Text)
	}
	if len(texts) != 3 || texts[0] != "hi all" {
		t.Fatalf("bob's group history %q", texts)
	}
	// Everyone sees the others as connected members; the host's
	// introduction is marked done by x.grp.mem.con (CH-GRP-INTRO-6).
	for _, x := range []struct {
		c   *Client
		uid int64
	}{{alice, au.ID}, {bob, bu.ID}, {carol, cu.ID}} {
		gs, _ := x.c.Groups(ctx, x.uid)
		ms, _ := x.c.Members(ctx, gs[0].ID)
		if len(ms) != 2 || ms[0].Status != MemberReady || ms[1].Status != MemberReady || gs[0].Status != GroupActive {
			t.Fatalf("user %d: group %+v members %+v", x.uid, gs[0], ms)
		}
	}
	deadline := time.After(testWait)
	for {
		var n int
		alice.db.View(ctx, func(tx *db.Tx) error {
			return tx.QueryRow(`SELECT count(*) FROM chat_intros WHERE connected = 1`).Scan(&n)
		})
		if n == 1 {
			break
		}
		select {
		case <-deadline:
			t.Fatal("introduction not reported connected")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// CH-ROLE-3: an observer's message is reported and not shown; CH-ROLE-2:
// a member cannot invite.
func TestGroupRoles(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	alice, _ := newUser(t, "alice", srv)
	bob, _ := newUser(t, "bob", srv)
	ab, ba := connect(t, alice, bob)
	g, err := alice.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "news"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.InviteToGroup(ctx, g.ID, ab.ID, chatmsg.RoleObserver); err != nil {
		t.Fatal(err)
	}
	inv := waitFor(t, bob, func(e GroupInvited) bool { return true })
	if err := bob.JoinGroup(ctx, inv.Group.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, func(e MemberConnected) bool { return true })
	waitFor(t, alice, func(e MemberConnected) bool { return true })
	if _, err := bob.SendGroupText(ctx, inv.Group.ID, "may I?"); err == nil {
		t.Fatal("an observer sent to the group")
	}
	if _, err := bob.InviteToGroup(ctx, inv.Group.ID, ba.ID, chatmsg.RoleMember); err == nil {
		t.Fatal("an observer invited")
	}
	// A message from the observer anyway (a client that ignores its role):
	// alice reports it and shows nothing.
	var conn string
	bob.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT conn_id FROM chat_members WHERE group_id = ?`, inv.Group.ID).Scan(&conn)
	})
	ua, _ := bob.user(inv.Group.UserID)
	if _, err := ua.a.Send(ctx, conn, newBody([]byte("0123456789ab"), chatmsg.Container{Content: &chatmsg.Content{Type: "text", Text: "sneaky", HasText: true}})); err != nil {
		t.Fatal(err)
	}
	// Other events may come first (nothing orders them before the
	// refusal); the observer's message must never show as an item.
	timeout := time.After(testWait)
	for refused := false; !refused; {
		select {
		case ev := <-alice.Events():
			switch e := ev.(type) {
			case Error:
				t.Log(e.Err)
				refused = true
			case NewGroupItem:
				t.Fatalf("the observer's message shown: %+v", e)
			}
		case <-timeout:
			t.Fatal("the observer's message not refused")
		}
	}
	if its, _ := alice.GroupItems(ctx, g.ID, 0, 10); len(its) != 0 {
		t.Fatalf("items %+v", its)
	}
}

// A member restarts in the middle of an introduction: the pair still
// connects, and the group's messages reach everyone once.
func TestGroupRestartMidIntroduction(t *testing.T) {
	r1, r2 := startRelay(t), startRelay(t)
	ctx := context.Background()
	alice, _ := newUser(t, "alice", r1)
	bobDir := t.TempDir()
	bob := open(t, bobDir, r2)
	if _, err := bob.CreateUser(ctx, chatmsg.Profile{DisplayName: "bob"}); err != nil {
		t.Fatal(err)
	}
	carol, _ := newUser(t, "carol", r1)
	ab, _ := connect(t, alice, bob)
	ac, _ := connect(t, alice, carol)
	g, err := alice.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "team"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.InviteToGroup(ctx, g.ID, ab.ID, chatmsg.RoleMember); err != nil {
		t.Fatal(err)
	}
	bg := waitFor(t, bob, func(e GroupInvited) bool { return true }).Group
	if err := bob.JoinGroup(ctx, bg.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, func(e MemberConnected) bool { return e.Member.Host })
	waitFor(t, alice, func(e MemberConnected) bool { return true })

	// bob goes away; carol joins and is introduced to him meanwhile.
	if err := bob.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.InviteToGroup(ctx, g.ID, ac.ID, chatmsg.RoleMember); err != nil {
		t.Fatal(err)
	}
	cg := waitFor(t, carol, func(e GroupInvited) bool { return true }).Group
	if err := carol.JoinGroup(ctx, cg.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, carol, func(e MemberConnected) bool { return e.Member.Host })
	if _, err := carol.SendGroupText(ctx, cg.ID, "anyone?"); err != nil {
		t.Fatal(err)
	}

	bob = open(t, bobDir, r2)
	waitFor(t, bob, func(e NewGroupItem) bool { return e.Item.Text == "anyone?" })
	waitFor(t, bob, func(e MemberConnected) bool {
		return e.Member.Profile != nil && e.Member.Profile.DisplayName == "carol"
	})
	waitFor(t, carol, func(e MemberConnected) bool { return e.Member.Profile != nil && e.Member.Profile.DisplayName == "bob" })
	if _, err := bob.SendGroupText(ctx, bg.ID, "here"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, carol, func(e NewGroupItem) bool { return e.Item.Text == "here" })
	waitFor(t, alice, func(e NewGroupItem) bool { return e.Item.Text == "here" })
	if its, _ := bob.GroupItems(ctx, bg.ID, 0, 10); len(its) != 2 {
		t.Fatalf("bob's group history %+v", its)
	}
}

type member struct {
	c     *Client
	group int64
}

// team builds a group of alice (owner), bob and carol, all connected.
func team(t *testing.T) (alice, bob, carol member) {
	t.Helper()
	srv := startRelay(t)
	ctx := context.Background()
	ac, _ := newUser(t, "alice", srv)
	bc, _ := newUser(t, "bob", srv)
	cc, _ := newUser(t, "carol", srv)
	ab, _ := connect(t, ac, bc)
	acc, _ := connect(t, ac, cc)
	g, err := ac.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "team"})
	if err != nil {
		t.Fatal(err)
	}
	alice = member{ac, g.ID}
	join := func(c *Client, contact int64) member {
		if _, err := ac.InviteToGroup(ctx, g.ID, contact, chatmsg.RoleMember); err != nil {
			t.Fatal(err)
		}
		inv := waitFor(t, c, func(e GroupInvited) bool { return true }).Group
		if err := c.JoinGroup(ctx, inv.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, c, func(e MemberConnected) bool { return e.Member.Host })
		return member{c, inv.ID}
	}
	bob = join(bc, ab.ID)
	carol = join(cc, acc.ID)
	waitFor(t, bc, func(e MemberConnected) bool {
		return e.Member.Profile != nil && e.Member.Profile.DisplayName == "carol"
	})
	waitFor(t, cc, func(e MemberConnected) bool { return e.Member.Profile != nil && e.Member.Profile.DisplayName == "bob" })
	return alice, bob, carol
}

func memberNamed(t *testing.T, m member, name string) Member {
	t.Helper()
	ms, err := m.c.Members(context.Background(), m.group)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ms {
		if x.Profile != nil && x.Profile.DisplayName == name {
			return x
		}
	}
	t.Fatalf("no member %s in %+v", name, ms)
	return Member{}
}

// CH-GRP-DEL-1..2, CH-GRP-LEAVE-1: a removed member stops receiving and
// cannot send; a member that leaves is marked left everywhere and its
// connections go once the others have its x.grp.leave.
func TestGroupRemoveAndLeave(t *testing.T) {
	ctx := context.Background()
	alice, bob, carol := team(t)
	if err := bob.c.RemoveMember(ctx, bob.group, memberNamed(t, bob, "carol").ID); err == nil {
		t.Fatal("a member removed another")
	}
	if err := alice.c.RemoveMember(ctx, alice.group, memberNamed(t, alice, "carol").ID); err != nil {
		t.Fatal(err)
	}
	self := waitFor(t, carol.c, func(e MemberRemoved) bool { return true })
	if self.Member.ID != 0 || self.Group.Status != GroupRemoved || self.By.Profile.DisplayName != "alice" {
		t.Fatalf("carol's removal %+v", self)
	}
	waitFor(t, bob.c, func(e MemberRemoved) bool { return e.Member.Profile.DisplayName == "carol" })
	if _, err := carol.c.SendGroupText(ctx, carol.group, "let me back"); err == nil {
		t.Fatal("a removed member sent")
	}
	if _, err := alice.c.SendGroupText(ctx, alice.group, "without carol"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob.c, func(e NewGroupItem) bool { return e.Item.Text == "without carol" })
	if _, err := bob.c.SendGroupText(ctx, bob.group, "bob too"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice.c, func(e NewGroupItem) bool { return e.Item.Text == "bob too" })
	if its, _ := carol.c.GroupItems(ctx, carol.group, 0, 10); len(its) != 0 {
		t.Fatalf("carol received after her removal: %+v", its)
	}

	if err := bob.c.LeaveGroup(ctx, bob.group); err != nil {
		t.Fatal(err)
	}
	left := waitFor(t, alice.c, func(e MemberLeft) bool { return true })
	if left.Member.Profile.DisplayName != "bob" || left.Member.Status != MemberHasLeft {
		t.Fatalf("left %+v", left)
	}
	if _, err := bob.c.SendGroupText(ctx, bob.group, "gone"); err == nil {
		t.Fatal("sent after leaving")
	}
	deadline := time.After(testWait)
	for {
		var n int
		bob.c.db.View(ctx, func(tx *db.Tx) error {
			return tx.QueryRow(`SELECT count(*) FROM chat_members WHERE group_id = ? AND conn_id IS NOT NULL AND status = ?`, bob.group, MemberReady).Scan(&n)
		})
		if n == 0 {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("bob still has %d member connections", n)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
