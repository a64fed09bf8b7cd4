package chat

import (
	"context"
	"fmt"
	"github.com/smpkit/smpkit/reference/db/dbtest"
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/chatmsg"
)

// CH-CODE-1..3, CH-RSYNC-1: both sides show one code; a wrong code is
// refused and the right one verifies; re-agreeing the ratchets changes the
// code, resets the verification on both sides and messages flow after.
func TestSecurityCodesAndRatchetSync(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	alice, _ := newUser(t, "alice", srv)
	bob, _ := newUser(t, "bob", srv)
	ab, ba := connect(t, alice, bob)

	ca, err := alice.ContactCode(ctx, ab.ID)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := bob.ContactCode(ctx, ba.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ca.Code != cb.Code || ca.Verified || len(strings.ReplaceAll(ca.Code, " ", "")) < 70 {
		t.Fatalf("alice's code %+v, bob's %+v", ca, cb)
	}
	wrong := []byte(ca.Code)
	wrong[0] = '0' + (wrong[0]-'0'+1)%10
	if ok, err := alice.VerifyCode(ctx, ab.ID, string(wrong)); err != nil || ok {
		t.Fatalf("a wrong code verified: %v %v", ok, err)
	}
	// Spaces do not matter (a code typed or scanned).
	if ok, err := alice.VerifyCode(ctx, ab.ID, strings.ReplaceAll(cb.Code, " ", "")); err != nil || !ok {
		t.Fatalf("the right code: %v %v", ok, err)
	}
	if ok, err := bob.VerifyCode(ctx, ba.ID, ca.Code); err != nil || !ok {
		t.Fatalf("bob: %v %v", ok, err)
	}
	if c, _ := alice.ContactCode(ctx, ab.ID); !c.Verified {
		t.Fatal("alice's contact not verified")
	}

	if err := alice.SyncContact(ctx, ab.ID); err != nil {
		t.Fatal(err)
	}
	for _, side := range []struct {
		c  *Client
		id int64
	}{{alice, ab.ID}, {bob, ba.ID}} {
		waitFor(t, side.c, func(e RatchetSynced) bool { return e.Peer.ContactID == side.id })
		waitFor(t, side.c, func(e SecurityCodeChanged) bool { return e.Peer.ContactID == side.id })
	}
	na, _ := alice.ContactCode(ctx, ab.ID)
	nb, _ := bob.ContactCode(ctx, ba.ID)
	if na.Code != nb.Code || na.Code == ca.Code || na.Verified || nb.Verified {
		t.Fatalf("after sync: alice %+v, bob %+v, before %q", na, nb, ca.Code)
	}
	if ok, _ := alice.VerifyCode(ctx, ab.ID, ca.Code); ok {
		t.Fatal("the old code verified")
	}
	if _, err := alice.SendText(ctx, ab.ID, "after sync"); err != nil {
		t.Fatal(err)
	}
	received(t, bob, "after sync")
	if _, err := bob.SendText(ctx, ba.ID, "reply after sync"); err != nil {
		t.Fatal(err)
	}
	received(t, alice, "reply after sync")
}

// CH-SWITCH-1: a queue rotation to another relay completes on both sides,
// keeps the code (and its verification) and messages flow both ways after.
func TestSwitchContactQueue(t *testing.T) {
	r1, r2 := startRelay(t), startRelay(t)
	ctx := context.Background()
	alice, au := newUser(t, "alice", r1)
	bob, _ := newUser(t, "bob", r1)
	ab, ba := connect(t, alice, bob)
	code, _ := alice.ContactCode(ctx, ab.ID)
	if ok, _ := alice.VerifyCode(ctx, ab.ID, code.Code); !ok {
		t.Fatal("not verified")
	}
	if err := alice.SwitchContact(ctx, ab.ID, r2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, func(e QueueSwitched) bool { return e.Peer.ContactID == ab.ID })
	waitFor(t, bob, func(e QueueSwitched) bool { return e.Peer.ContactID == ba.ID })
	ua, _ := alice.user(au.ID)
	st, err := ua.a.ConnState(ctx, connOf(t, alice, ab.ID))
	if err != nil {
		t.Fatal(err)
	}
	if st.Rcv.Server.Port != r2.Port {
		t.Fatalf("alice receives on %v, want %v", st.Rcv.Server, r2)
	}
	for i, m := range []string{"after switch 1", "after switch 2"} {
		if _, err := bob.SendText(ctx, ba.ID, m); err != nil {
			t.Fatal(err)
		}
		received(t, alice, m)
		if _, err := alice.SendText(ctx, ab.ID, m+" back"); err != nil {
			t.Fatal(err)
		}
		received(t, bob, m+" back")
		_ = i
	}
	if c, _ := alice.ContactCode(ctx, ab.ID); c.Code != code.Code || !c.Verified {
		t.Fatalf("code after switch %+v, before %q", c, code.Code)
	}
}

// Members have codes, switches and syncs like contacts.
func TestMemberCodeSwitchSync(t *testing.T) {
	r1, r2 := startRelay(t), startRelay(t)
	ctx := context.Background()
	alice, _ := newUser(t, "alice", r1)
	bob, _ := newUser(t, "bob", r1)
	ab, _ := connect(t, alice, bob)
	g, err := alice.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "team"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.InviteToGroup(ctx, g.ID, ab.ID, chatmsg.RoleMember); err != nil {
		t.Fatal(err)
	}
	inv := waitFor(t, bob, func(e GroupInvited) bool { return true })
	if err := bob.JoinGroup(ctx, inv.Group.ID); err != nil {
		t.Fatal(err)
	}
	am := waitFor(t, alice, func(e MemberConnected) bool { return true }).Member
	bm := waitFor(t, bob, func(e MemberConnected) bool { return e.Member.Host }).Member
	ca, err := alice.MemberCode(ctx, am.ID)
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := bob.MemberCode(ctx, bm.ID)
	if ca.Code != cb.Code {
		t.Fatalf("member codes %q and %q", ca.Code, cb.Code)
	}
	if ok, err := bob.VerifyMember(ctx, bm.ID, ca.Code); err != nil || !ok {
		t.Fatalf("verify member: %v %v", ok, err)
	}
	if err := alice.SwitchMember(ctx, am.ID, r2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, func(e QueueSwitched) bool { return e.Peer.MemberID == am.ID })
	waitFor(t, bob, func(e QueueSwitched) bool { return e.Peer.MemberID == bm.ID })
	if err := bob.SyncMember(ctx, bm.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, func(e RatchetSynced) bool { return e.Peer.MemberID == am.ID && e.Peer.GroupID == g.ID })
	waitFor(t, bob, func(e SecurityCodeChanged) bool { return e.Peer.MemberID == bm.ID })
	if _, err := alice.SendGroupText(ctx, g.ID, "after member sync"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, func(e NewGroupItem) bool { return e.Item.Text == "after member sync" })
	if _, err := bob.SendGroupText(ctx, inv.Group.ID, "member reply"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, func(e NewGroupItem) bool { return e.Item.Text == "member reply" })
}

// CH-RSYNC-1, the seed's "repeat the key exchange": alice's agent state
// is restored from an old backup, so bob's messages no longer decrypt;
// SyncContact re-agrees the ratchets and messages flow both ways again.
func TestSyncRepairsRestoredBackup(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	dir := t.TempDir()
	alice := open(t, dir, srv)
	au, err := alice.CreateUser(ctx, chatmsg.Profile{DisplayName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := newUser(t, "bob", srv)
	ab, ba := connect(t, alice, bob)
	exchange := func(tag string) {
		t.Helper()
		if _, err := alice.SendText(ctx, ab.ID, tag+" from alice"); err != nil {
			t.Fatal(err)
		}
		received(t, bob, tag+" from alice")
		if _, err := bob.SendText(ctx, ba.ID, tag+" from bob"); err != nil {
			t.Fatal(err)
		}
		received(t, alice, tag+" from bob")
	}
	exchange("first")
	waitDelivered(t, alice, ab.ID)
	agentDir := alice.agentDir(au.ID)
	if err := alice.Close(); err != nil {
		t.Fatal(err)
	}
	backup := dbtest.SnapshotDir(t, agentDir)
	alice = open(t, dir, srv)
	for i := range 3 {
		exchange(fmt.Sprint("step ", i)) // ratchet steps the backup lacks
	}
	waitDelivered(t, alice, ab.ID)
	alice.Close()
	dbtest.RestoreDir(t, agentDir, backup)
	alice = open(t, dir, srv)

	if _, err := bob.SendText(ctx, ba.ID, "lost"); err != nil {
		t.Fatal(err)
	}
	waitForEvent(t, alice, func(e Error) bool { return true }) // cannot decrypt
	if err := alice.SyncContact(ctx, ab.ID); err != nil {
		t.Fatal(err)
	}
	waitForEvent(t, alice, func(e RatchetSynced) bool { return e.Peer.ContactID == ab.ID })
	waitFor(t, bob, func(e RatchetSynced) bool { return e.Peer.ContactID == ba.ID })
	after, err := alice.SendText(ctx, ab.ID, "after repair")
	if err != nil {
		t.Fatal(err)
	}
	received(t, bob, "after repair")
	// Its receipt names an agent message id used before the backup was
	// restored: the newer item is the one delivered.
	waitForEvent(t, alice, func(e ItemUpdated) bool { return e.Item.ID == after.ID && e.Item.Status == ItemDelivered })
	if _, err := bob.SendText(ctx, ba.ID, "repaired reply"); err != nil {
		t.Fatal(err)
	}
	waitForEvent(t, alice, func(e NewItem) bool { return e.Item.Text == "repaired reply" })
}

// waitForEvent is waitFor that tolerates Error events (expected ones).
func waitForEvent[T Event](t *testing.T, c *Client, ok func(T) bool) T {
	t.Helper()
	timeout := time.After(testWait)
	for {
		select {
		case ev := <-c.Events():
			if e, is := ev.(T); is && (ok == nil || ok(e)) {
				return e
			}
		case <-timeout:
			var zero T
			t.Fatalf("no %T event", zero)
		}
	}
}

// waitDelivered waits until the user's agent has nothing left to send to
// the contact.
func waitDelivered(t *testing.T, c *Client, contactID int64) {
	t.Helper()
	ct, err := c.Contact(context.Background(), contactID)
	if err != nil {
		t.Fatal(err)
	}
	ua, err := c.user(ct.UserID)
	if err != nil {
		t.Fatal(err)
	}
	conn := connOf(t, c, contactID)
	deadline := time.After(testWait)
	for {
		n, err := ua.a.Pending(context.Background(), conn)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		select {
		case <-deadline:
			t.Fatal("outbox not delivered")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
