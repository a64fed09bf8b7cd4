package chat

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/relay"
)

func names(us []User) string {
	var s []string
	for _, u := range us {
		s = append(s, u.Profile.DisplayName)
	}
	return strings.Join(s, ",")
}

// CH-USER-2, CH-USER-3 (upstream tests/ChatTests/Direct.hs testUserPrivacy):
// a hidden user is listed only while active, becomes active only with its
// password, keeps receiving (muted) while hidden, and is unhidden or
// deleted only with its password.
func TestHiddenUser(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	me, alice := newUser(t, "alice", srv)
	alisa, err := me.CreateUser(ctx, chatmsg.Profile{DisplayName: "alisa"})
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := newUser(t, "bob", srv)
	if err := me.SetActiveUser(ctx, alisa.ID); err != nil {
		t.Fatal(err)
	}
	mine, theirs := connect(t, me, bob)

	if err := me.HideUser(ctx, alisa.ID, ""); !errors.Is(err, ErrEmptyPassword) {
		t.Fatalf("hide with an empty password: %v", err)
	}
	if err := me.HideUser(ctx, alisa.ID, "my_password"); err != nil {
		t.Fatal(err)
	}
	if err := me.HideUser(ctx, alisa.ID, "password"); !errors.Is(err, ErrUserHidden) {
		t.Fatalf("hide twice: %v", err)
	}
	if err := me.HideUser(ctx, alice.ID, "other"); !errors.Is(err, ErrHideLastUser) {
		t.Fatalf("hide the last visible user: %v", err)
	}
	if us, _ := me.Users(ctx); names(us) != "alice,alisa" || !us[1].Hidden || !us[1].Muted || !us[1].Active {
		t.Fatalf("users while the hidden one is active: %+v", us)
	}
	if err := me.SetActiveUser(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if us, _ := me.Users(ctx); names(us) != "alice" {
		t.Fatalf("hidden user listed: %+v", us)
	}
	// Its name is refused without saying that a user has it.
	if _, err := me.CreateUser(ctx, chatmsg.Profile{DisplayName: "alisa"}); err == nil || errors.Is(err, ErrUserExists) {
		t.Fatalf("a new user named as the hidden one: %v", err)
	}
	if _, err := me.CreateUser(ctx, chatmsg.Profile{DisplayName: "alice"}); !errors.Is(err, ErrUserExists) {
		t.Fatalf("a new user named as a visible one: %v", err)
	}

	// Its messages keep arriving and are kept, but are not to be shown.
	if _, err := bob.SendText(ctx, theirs.ID, "this won't show"); err != nil {
		t.Fatal(err)
	}
	e := waitFor(t, me, func(e NewItem) bool { return e.Item.Text == "this won't show" })
	if e.User() != alisa.ID || me.Shown(ctx, e) {
		t.Fatalf("event of the hidden user: user %d, shown %v", e.User(), me.Shown(ctx, e))
	}

	for _, pw := range []string{"", "wrong_password"} {
		if _, err := me.ActivateUser(ctx, alisa.ID, pw); !errors.Is(err, ErrUserUnknown) {
			t.Fatalf("activate with password %q: %v", pw, err)
		}
		if _, err := me.FindUser(ctx, "alisa", pw); !errors.Is(err, ErrUserUnknown) {
			t.Fatalf("find with password %q: %v", pw, err)
		}
	}
	if err := me.DeleteUser(ctx, alisa.ID); !errors.Is(err, ErrUserUnknown) {
		t.Fatalf("delete a hidden user without its password: %v", err)
	}
	if err := me.UnmuteUser(ctx, alisa.ID); !errors.Is(err, ErrHiddenMuted) {
		t.Fatalf("unmute a hidden user: %v", err)
	}
	found, err := me.FindUser(ctx, "alisa", "my_password")
	if err != nil || found.ID != alisa.ID {
		t.Fatalf("find with the password: %+v %v", found, err)
	}
	if _, err := me.ActivateUser(ctx, alisa.ID, "my_password"); err != nil {
		t.Fatal(err)
	}
	if items, _ := me.Items(ctx, mine.ID, 0, 10); len(items) != 1 || items[0].Text != "this won't show" {
		t.Fatalf("hidden user's history %+v", items)
	}
	if !me.Shown(ctx, e) {
		t.Fatal("event of the active user not shown")
	}

	if err := me.UnhideUser(ctx, alisa.ID, "wrong_password"); !errors.Is(err, ErrUserUnknown) {
		t.Fatalf("unhide with a wrong password: %v", err)
	}
	if err := me.UnhideUser(ctx, alisa.ID, "my_password"); err != nil {
		t.Fatal(err)
	}
	if err := me.UnhideUser(ctx, alisa.ID, "my_password"); !errors.Is(err, ErrUserNotHidden) {
		t.Fatalf("unhide twice: %v", err)
	}
	if err := me.HideUser(ctx, alisa.ID, "new_password"); err != nil {
		t.Fatal(err)
	}
	if err := me.SetActiveUser(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	// Muting a visible user.
	if err := me.MuteUser(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if us, _ := me.Users(ctx); len(us) != 1 || !us[0].Muted {
		t.Fatalf("muted user %+v", us)
	}
	if err := me.UnmuteUser(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := me.DeleteUserWithPassword(ctx, alisa.ID, "my_password"); !errors.Is(err, ErrUserUnknown) {
		t.Fatalf("delete with the old password: %v", err)
	}
	if err := me.DeleteUserWithPassword(ctx, alisa.ID, "new_password"); err != nil {
		t.Fatal(err)
	}
	if _, err := me.FindUser(ctx, "alisa", "new_password"); !errors.Is(err, ErrUserUnknown) {
		t.Fatalf("deleted user found: %v", err)
	}
}

// waitErr waits for an Error event whose text holds want.
func waitErr(t *testing.T, c *Client, want string) Error {
	t.Helper()
	timeout := time.After(testWait)
	for {
		select {
		case ev := <-c.Events():
			if e, ok := ev.(Error); ok && strings.Contains(e.Err.Error(), want) {
				return e
			}
		case <-timeout:
			t.Fatalf("no error event with %q", want)
		}
	}
}

// CH-USER-4 (upstream testDeleteUser): deleting a user deletes its queues on
// the relays, so a contact's next message is refused (AUTH); its agent's
// database and rows go; the last user is deleted even while active, leaving
// none active.
func TestDeleteUser(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	me, alice := newUser(t, "alice", srv)
	alisa, err := me.CreateUser(ctx, chatmsg.Profile{DisplayName: "alisa"})
	if err != nil {
		t.Fatal(err)
	}
	cath, cu := newUser(t, "cath", srv)
	if err := me.SetActiveUser(ctx, alisa.ID); err != nil {
		t.Fatal(err)
	}
	_, toAlisa := connect(t, me, cath)
	if err := me.SetActiveUser(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := me.DeleteUser(ctx, alisa.ID); err != nil {
		t.Fatal(err)
	}
	if us, _ := me.Users(ctx); names(us) != "alice" {
		t.Fatalf("users after delete: %+v", us)
	}
	if _, err := os.Stat(me.agentDir(alisa.ID)); !os.IsNotExist(err) {
		t.Fatalf("agent directory of a deleted user: %v", err)
	}
	if cs, _ := me.Contacts(ctx, alisa.ID); len(cs) != 0 {
		t.Fatalf("contacts of a deleted user: %+v", cs)
	}
	if _, err := cath.SendText(ctx, toAlisa.ID, "hey"); err != nil {
		t.Fatal(err)
	}
	if e := waitErr(t, cath, "AUTH"); e.UserID != cu.ID {
		t.Fatalf("error for user %d", e.UserID)
	}
	// The last user: deleted while active; then there is no active user.
	if err := me.DeleteUser(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := me.ActiveUser(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("active user after deleting the last: %v", err)
	}
	select {
	case ev := <-me.Events():
		if _, ok := ev.(NewItem); ok {
			t.Fatalf("a deleted user received %+v", ev)
		}
	default:
	}
}

// CH-PROF-3, CH-PROF-4: a profile update reaches the contacts as x.info
// and the members of the user's groups redacted (no preferences).
func TestProfileUpdateReachesContactsAndGroups(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	alice, _ := newUser(t, "alice", srv)
	bob, bu := newUser(t, "bob", srv)
	ab, _ := connect(t, alice, bob)
	g, err := alice.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "team", FullName: ""})
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
	waitFor(t, alice, func(e MemberConnected) bool { return true })
	waitFor(t, bob, func(e MemberConnected) bool { return e.Member.Host })

	no := chatmsg.Preferences{}
	if err := bob.UpdateProfile(ctx, bu.ID, chatmsg.Profile{DisplayName: "robert", FullName: "Robert B", Preferences: &no}); err != nil {
		t.Fatal(err)
	}
	up := waitFor(t, alice, func(e ContactUpdated) bool { return true })
	if up.Contact.ID != ab.ID || up.Contact.Profile.DisplayName != "robert" || up.Contact.Profile.Preferences == nil {
		t.Fatalf("contact update %+v", up.Contact)
	}
	deadline := time.Now().Add(testWait)
	for {
		ms, err := alice.Members(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 1 && ms[0].Profile != nil && ms[0].Profile.DisplayName == "robert" {
			if ms[0].Profile.FullName != "Robert B" || ms[0].Profile.Preferences != nil {
				t.Fatalf("member profile not redacted: %+v", ms[0].Profile)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("member profile not updated: %+v", ms)
		}
		time.Sleep(20 * time.Millisecond) // polling, not an assertion
	}
}

// Two profiles in one client are not linkable by their relay: each user's
// agent has its own TLS session, so the relay sees one session per user
// and no session carries the queues of both. One agent for both users
// would be one session.
func TestProfilesSeparateSessions(t *testing.T) {
	mine, err := relay.StartLoopback(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mine.Close() })
	ctx := context.Background()
	me := open(t, t.TempDir(), mine.Server)
	if n := connections(t, mine); n != 0 {
		t.Fatalf("%d sessions before any user", n)
	}
	var ids []int64
	for i, name := range []string{"home", "work", "club"} {
		u, err := me.CreateUser(ctx, chatmsg.Profile{DisplayName: name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
		if err := me.SetActiveUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		// Each user's queue is created and subscribed over its own session.
		if _, _, err := me.CreateInvitation(ctx); err != nil {
			t.Fatal(err)
		}
		if n := connections(t, mine); n != i+1 {
			t.Fatalf("%d sessions for %d users", n, i+1)
		}
	}
	// A user's sessions end with it; the others' stay.
	if err := me.SetActiveUser(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := me.DeleteUser(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testWait)
	for connections(t, mine) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions after deleting one of three users", connections(t, mine))
		}
		time.Sleep(20 * time.Millisecond) // polling, not an assertion
	}
}

// A wrong passphrase is refused with a typed error, and the databases are
// left exactly as they were: the right passphrase opens them with their
// users and contacts.
func TestWrongPassphraseLeavesDatabase(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	dir := t.TempDir()
	c := open(t, dir, srv)
	if _, err := c.CreateUser(ctx, chatmsg.Profile{DisplayName: "alice"}); err != nil {
		t.Fatal(err)
	}
	bob, _ := newUser(t, "bob", srv)
	connect(t, c, bob)
	c.Close()
	before := snapshot(t, dir)
	cfg := testConfig(dir, srv)
	for _, pw := range []string{"not it", testPassphrase + " "} {
		cfg.Passphrase = pw
		if _, err := Open(ctx, cfg); !errors.Is(err, ErrWrongPassphrase) {
			t.Fatalf("open with passphrase %q: %v", pw, err)
		}
	}
	if after := snapshot(t, dir); !equalFiles(before, after) {
		t.Fatal("a refused open changed the files")
	}
	c2 := open(t, dir, srv)
	us, _ := c2.Users(ctx)
	if names(us) != "alice" {
		t.Fatalf("users after reopening: %+v", us)
	}
	if cs, _ := c2.Contacts(ctx, us[0].ID); len(cs) != 1 || cs[0].LocalName != "bob" {
		t.Fatalf("contacts after reopening: %+v", cs)
	}
}

func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func equalFiles(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}
