package chat

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
	"github.com/smpkit/smpkit/reference/relay"
)

// CH-PROF-2: a sender never uses a bad display name; users' names differ.
func TestCreateUserDisplayNames(t *testing.T) {
	srv := startRelay(t)
	c := open(t, t.TempDir(), srv)
	ctx := context.Background()
	for _, bad := range []string{"", " alice", "alice ", "#alice", "@alice", "al\x01ice"} {
		if _, err := c.CreateUser(ctx, chatmsg.Profile{DisplayName: bad}); err == nil {
			t.Errorf("display name %q accepted", bad)
		}
	}
	a, err := c.CreateUser(ctx, chatmsg.Profile{DisplayName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Active {
		t.Fatal("first user not active")
	}
	if _, err := c.CreateUser(ctx, chatmsg.Profile{DisplayName: "alice"}); err == nil {
		t.Fatal("second user named alice")
	}
	b, err := c.CreateUser(ctx, chatmsg.Profile{DisplayName: "alice work"})
	if err != nil {
		t.Fatal(err)
	}
	us, err := c.Users(ctx)
	if err != nil || len(us) != 2 || us[0].ID != a.ID || !us[0].Active || us[1].Active {
		t.Fatalf("users %+v %v", us, err)
	}
	if err := c.SetActiveUser(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if act, err := c.ActiveUser(ctx); err != nil || act.ID != b.ID {
		t.Fatalf("active %+v %v", act, err)
	}
	if err := c.SetActiveUser(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("switch to no user: %v", err)
	}
	// CH-USER-4: the active user is not deleted while another visible
	// user remains; another user is, with its agent's database.
	if err := c.DeleteUser(ctx, b.ID); !errors.Is(err, ErrDeleteActiveUser) {
		t.Fatalf("delete the active user: %v", err)
	}
	if err := c.SetActiveUser(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.agentDir(b.ID)); !os.IsNotExist(err) {
		t.Fatalf("agent directory of a deleted user: %v", err)
	}
	if act, err := c.ActiveUser(ctx); err != nil || act.ID != a.ID {
		t.Fatalf("active after delete %+v %v", act, err)
	}
}

// Two profiles in one database: each has its own agent (own relay
// sessions and queues), contacts of one are not the other's, and a
// profile update (CH-PROF-3) reaches only the updated user's contacts.
func TestTwoProfilesOneDatabase(t *testing.T) {
	var home User
	mine, err := relay.StartLoopback(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mine.Close() })
	srv := startRelay(t) // the others' relay
	ctx := context.Background()
	me := open(t, t.TempDir(), mine.Server)
	home, err = me.CreateUser(ctx, chatmsg.Profile{DisplayName: "sam"})
	if err != nil {
		t.Fatal(err)
	}
	work, err := me.CreateUser(ctx, chatmsg.Profile{DisplayName: "samuel", FullName: "Samuel at work"})
	if err != nil {
		t.Fatal(err)
	}
	friend, _ := newUser(t, "friend", srv)
	boss, _ := newUser(t, "boss", srv)

	_, fHome := connect(t, me, friend) // as home, the active user
	if err := me.SetActiveUser(ctx, work.ID); err != nil {
		t.Fatal(err)
	}
	_, bWork := connect(t, me, boss)
	if fHome.Profile.DisplayName != "sam" || bWork.Profile.DisplayName != "samuel" {
		t.Fatalf("profiles seen: %q %q", fHome.Profile.DisplayName, bWork.Profile.DisplayName)
	}

	hc, _ := me.Contacts(ctx, home.ID)
	wc, _ := me.Contacts(ctx, work.ID)
	if len(hc) != 1 || len(wc) != 1 || hc[0].LocalName != "friend" || wc[0].LocalName != "boss" {
		t.Fatalf("contacts home %+v work %+v", hc, wc)
	}
	// Separate transport: each user's connections live only in its own
	// agent, which has its own relay clients.
	ha, _ := me.user(home.ID)
	wa, _ := me.user(work.ID)
	if ha.a == wa.a {
		t.Fatal("users share an agent")
	}
	var hConn, wConn string
	me.db.View(ctx, func(tx *db.Tx) error {
		tx.QueryRow(`SELECT conn_id FROM chat_contacts WHERE id = ?`, hc[0].ID).Scan(&hConn)
		return tx.QueryRow(`SELECT conn_id FROM chat_contacts WHERE id = ?`, wc[0].ID).Scan(&wConn)
	})
	if _, err := wa.a.ConnState(ctx, hConn); err == nil {
		t.Fatal("work's agent knows home's connection")
	}
	if _, err := ha.a.ConnState(ctx, wConn); err == nil {
		t.Fatal("home's agent knows work's connection")
	}

	// CH-PROF-3: the update goes to the work user's contacts only.
	if err := me.UpdateProfile(ctx, work.ID, chatmsg.Profile{DisplayName: "sam_w", FullName: "Sam W"}); err != nil {
		t.Fatal(err)
	}
	up := waitFor(t, boss, func(e ContactUpdated) bool { return true })
	if up.Contact.Profile.DisplayName != "sam_w" || up.Contact.LocalName != "sam_w" || up.Contact.Profile.FullName != "Sam W" {
		t.Fatalf("boss sees %+v", up.Contact)
	}
	// The relay of our queues sees four client sessions: one per user of
	// ours, and one each of friend and boss (sending to us). One agent for
	// both users would be one session, linking their queues.
	if n := connections(t, mine); n != 4 {
		t.Fatalf("%d sessions at our relay, want 4", n)
	}
	if _, err := me.SendText(ctx, hc[0].ID, "ping"); err != nil {
		t.Fatal(err)
	}
	received(t, friend, "ping") // no ContactUpdated before it
	if c, _ := friend.Contact(ctx, fHome.ID); c.Profile.DisplayName != "sam" {
		t.Fatalf("friend sees %+v", c.Profile)
	}
	if err := me.UpdateProfile(ctx, work.ID, chatmsg.Profile{DisplayName: "@bad"}); err == nil {
		t.Fatal("update to a bad display name")
	}
}

// connections reads the relay's gauge of open client connections.
func connections(t *testing.T, l *relay.Loopback) int {
	t.Helper()
	rec := httptest.NewRecorder()
	l.Relay.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		v, ok := strings.CutPrefix(line, "smpkit_connections ")
		if !ok {
			v, ok = strings.CutPrefix(line, "smp_connections ") // its name before relay-ops
		}
		if ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no smpkit_connections in %s", rec.Body)
	return 0
}
