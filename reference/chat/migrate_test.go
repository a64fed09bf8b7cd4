package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/smpkit/smpkit/reference/chatarchive"
	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

// CH-DEV-1..4: a profile exported from one client and imported into
// another (another directory, another passphrase, a user already there)
// continues its conversations with a contact and its group in both
// directions; the old client refuses to use it, also after a restart, and
// deleting it there leaves the new device's connections alone.
func TestMoveProfile(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	oldDir := t.TempDir()
	old := open(t, oldDir, srv)
	alice, err := old.CreateUser(ctx, chatmsg.Profile{DisplayName: "alice", FullName: "Alice A"})
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := newUser(t, "bob", srv)
	ab, ba := connect(t, old, bob)
	if _, err := old.SendText(ctx, ab.ID, "before the move"); err != nil {
		t.Fatal(err)
	}
	received(t, bob, "before the move")
	if _, err := bob.SendText(ctx, ba.ID, "reply before"); err != nil {
		t.Fatal(err)
	}
	replyItem := received(t, old, "reply before")
	if _, err := old.SendMessage(ctx, ab.ID, text("quoting"), replyItem.ID); err != nil {
		t.Fatal(err)
	}
	received(t, bob, "quoting")
	g, err := old.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "team"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.InviteToGroup(ctx, g.ID, ab.ID, chatmsg.RoleMember); err != nil {
		t.Fatal(err)
	}
	inv := waitFor(t, bob, func(e GroupInvited) bool { return true })
	if err := bob.JoinGroup(ctx, inv.Group.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, old, func(e MemberConnected) bool { return true })
	waitFor(t, bob, func(e MemberConnected) bool { return e.Member.Host })

	// A table keyed by connection, without a foreign key, moves with the
	// user's connections.
	connTable := `CREATE TABLE zz_conn_notes (conn_id TEXT NOT NULL, note TEXT)`
	abConn := ""
	err = old.db.Update(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(connTable); err != nil {
			return err
		}
		if err := tx.QueryRow(`SELECT conn_id FROM chat_contacts WHERE id = ?`, ab.ID).Scan(&abConn); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO zz_conn_notes VALUES (?, 'mine'), ('someone else''s', 'not mine')`, abConn)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	other, err := old.CreateUser(ctx, chatmsg.Profile{DisplayName: "other"})
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	link, err := old.ExportProfile(ctx, alice.ID, &archive)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, "smpkit-migrate:?v=1&key=") {
		t.Fatalf("link %q", link)
	}
	// CH-DEV-2: the old client stops using the profile.
	if _, err := old.SendText(ctx, ab.ID, "after the move"); !errors.Is(err, ErrUserMoved) {
		t.Fatalf("send from a moved user: %v", err)
	}
	if err := old.SetActiveUser(ctx, alice.ID); !errors.Is(err, ErrUserMoved) {
		t.Fatalf("activate a moved user: %v", err)
	}
	if _, err := old.ExportProfile(ctx, alice.ID, &bytes.Buffer{}); !errors.Is(err, ErrUserMoved) {
		t.Fatalf("export twice: %v", err)
	}
	if us, _ := old.Users(ctx); len(us) != 2 || !us[0].Moved || us[0].Active || us[1].ID != other.ID || !us[1].Active {
		t.Fatalf("old client's users %+v", us)
	}

	// The new device: its own directory and passphrase, and a user of its own.
	cfg := testConfig(t.TempDir(), srv)
	cfg.Passphrase = "the new device's passphrase"
	nw, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nw.Close() })
	if _, err := nw.CreateUser(ctx, chatmsg.Profile{DisplayName: "carol"}); err != nil {
		t.Fatal(err)
	}
	if err := nw.db.Update(ctx, func(tx *db.Tx) error { _, err := tx.Exec(connTable); return err }); err != nil {
		t.Fatal(err)
	}
	// Carol's rows come first, so the imported rows get other ids.
	carolBob, bobCarol := connect(t, nw, bob)
	if _, err := nw.SendText(ctx, carolBob.ID, "carol's"); err != nil {
		t.Fatal(err)
	}
	received(t, bob, "carol's")
	cg, err := nw.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: "carol's group"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nw.InviteToGroup(ctx, cg.ID, carolBob.ID, chatmsg.RoleMember); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, func(e GroupInvited) bool { return e.Group.Profile.DisplayName == "carol's group" })
	// CH-DEV-1: a wrong key, a damaged or a cut archive is refused.
	otherKey := chatarchive.Link(bytes.Repeat([]byte{7}, chatarchive.KeySize))
	bad := archive.Bytes()
	flipped := append([]byte(nil), bad...)
	flipped[len(flipped)/2] ^= 1
	for name, tc := range map[string]struct {
		b    []byte
		link string
	}{"wrong key": {bad, otherKey}, "damaged": {flipped, link}, "cut": {bad[:len(bad)-1], link}, "empty": {nil, link}} {
		if _, err := nw.ImportProfile(ctx, bytes.NewReader(tc.b), tc.link); !errors.Is(err, ErrArchive) {
			t.Fatalf("%s archive: %v", name, err)
		}
	}
	if us, _ := nw.Users(ctx); len(us) != 1 || us[0].Profile.DisplayName != "carol" {
		t.Fatalf("a refused import left users %+v", us)
	}
	moved, err := nw.ImportProfile(ctx, bytes.NewReader(archive.Bytes()), link)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nw.ImportProfile(ctx, bytes.NewReader(archive.Bytes()), link); !errors.Is(err, ErrUserExists) {
		t.Fatalf("the same archive imported twice: %v", err)
	}
	entries, _ := os.ReadDir(cfg.Dir)
	for _, e := range entries {
		if n := e.Name(); e.IsDir() && n != "user-1" && n != fmt.Sprintf("user-%d", moved.ID) {
			t.Fatalf("%s left after a refused import", n)
		}
	}
	if moved.Profile.DisplayName != "alice" || moved.Profile.FullName != "Alice A" || moved.Active || moved.Moved {
		t.Fatalf("imported user %+v", moved)
	}
	cs, err := nw.Contacts(ctx, moved.ID)
	if err != nil || len(cs) != 1 || cs[0].LocalName != "bob" || cs[0].Status != StatusConnected {
		t.Fatalf("imported contacts %+v %v", cs, err)
	}
	if cs[0].ID == carolBob.ID || moved.ID == 1 {
		t.Fatalf("imported rows kept ids in use: user %d, contact %d", moved.ID, cs[0].ID)
	}
	items, err := nw.Items(ctx, cs[0].ID, 0, 10)
	if err != nil || len(items) != 3 || items[0].Text != "before the move" || items[1].Text != "reply before" ||
		items[2].Text != "quoting" || items[2].QuoteID != items[1].ID {
		t.Fatalf("imported history %+v %v", items, err)
	}
	if ci, _ := nw.Items(ctx, carolBob.ID, 0, 10); len(ci) != 1 || ci[0].Text != "carol's" {
		t.Fatalf("carol's history after the import %+v", ci)
	}
	var notes []string
	nw.db.View(ctx, func(tx *db.Tx) error {
		notes, err = column[string](tx, `SELECT conn_id || ' ' || note FROM zz_conn_notes`)
		return err
	})
	if len(notes) != 1 || notes[0] != abConn+" mine" {
		t.Fatalf("rows keyed by connection after the import: %q", notes)
	}
	gs, err := nw.Groups(ctx, moved.ID)
	if err != nil || len(gs) != 1 || gs[0].Profile.DisplayName != "team" {
		t.Fatalf("imported groups %+v %v", gs, err)
	}

	// Both directions, contact and group, from the new device.
	if _, err := nw.SendText(ctx, cs[0].ID, "from the new device"); err != nil {
		t.Fatal(err)
	}
	received(t, bob, "from the new device")
	if _, err := bob.SendText(ctx, ba.ID, "to the new device"); err != nil {
		t.Fatal(err)
	}
	if it := received(t, nw, "to the new device"); it.UserID != moved.ID {
		t.Fatalf("item for user %d", it.UserID)
	}
	if _, err := nw.SendGroupText(ctx, gs[0].ID, "group, new device"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, func(e NewGroupItem) bool { return e.Item.Text == "group, new device" })

	// The old client keeps refusing after a restart, and deleting the
	// moved user there does not touch its connections.
	old.Close()
	old = open(t, oldDir, srv)
	if _, err := old.user(alice.ID); !errors.Is(err, ErrUserMoved) {
		t.Fatalf("moved user after restart: %v", err)
	}
	if err := old.DeleteUser(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.SendText(ctx, ba.ID, "still there"); err != nil {
		t.Fatal(err)
	}
	received(t, nw, "still there")
	if _, err := bob.SendText(ctx, bobCarol.ID, "and carol"); err != nil {
		t.Fatal(err)
	}
	if it := received(t, nw, "and carol"); it.ContactID != carolBob.ID {
		t.Fatalf("carol's message on contact %d", it.ContactID)
	}
}

// failWriter fails every write, as a full disk or a closed pipe does.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// CH-DEV-2: an export that cannot write its archive gives the user back:
// it runs again and its conversation goes on, here and after a restart.
func TestExportFailureRestoresUser(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	dir := t.TempDir()
	c := open(t, dir, srv)
	u, err := c.CreateUser(ctx, chatmsg.Profile{DisplayName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := newUser(t, "bob", srv)
	ab, ba := connect(t, c, bob)
	if _, err := c.CreateUser(ctx, chatmsg.Profile{DisplayName: "other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExportProfile(ctx, u.ID, failWriter{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("export to a failing writer: %v", err)
	}
	if us, _ := c.Users(ctx); len(us) != 2 || us[0].Moved || !us[0].Active || us[1].Active {
		t.Fatalf("users after a failed export %+v", us)
	}
	if _, err := c.SendText(ctx, ab.ID, "still mine"); err != nil {
		t.Fatal(err)
	}
	received(t, bob, "still mine")
	c.Close()
	c = open(t, dir, srv)
	if _, err := bob.SendText(ctx, ba.ID, "after the restart"); err != nil {
		t.Fatal(err)
	}
	received(t, c, "after the restart")

	// An archive that went nowhere: the user takes the profile back.
	if _, err := c.ExportProfile(ctx, u.ID, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if err := c.TakeBackProfile(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.TakeBackProfile(ctx, u.ID); err == nil {
		t.Fatal("a user taken back twice")
	}
	if _, err := c.SendText(ctx, ab.ID, "taken back"); err != nil {
		t.Fatal(err)
	}
	received(t, bob, "taken back")
}
