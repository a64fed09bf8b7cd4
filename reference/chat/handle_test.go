package chat

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

func connOf(t *testing.T, c *Client, contactID int64) string {
	t.Helper()
	var conn string
	err := c.db.View(context.Background(), func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT conn_id FROM chat_contacts WHERE id = ?`, contactID).Scan(&conn)
	})
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// The agent delivers an event at least once: the same MSG or CON handled
// again changes nothing and reports nothing.
func TestRepeatedAgentEvents(t *testing.T) {
	srv := startRelay(t)
	alice, _ := newUser(t, "alice", srv)
	bob, bu := newUser(t, "bob", srv)
	ab, ba := connect(t, alice, bob)
	ctx := context.Background()
	if _, err := alice.SendText(ctx, ab.ID, "once"); err != nil {
		t.Fatal(err)
	}
	got := received(t, bob, "once")
	var agentMsg int64
	bob.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT agent_msg FROM chat_items WHERE id = ?`, got.ID).Scan(&agentMsg)
	})
	var body []byte
	bob.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT content FROM chat_items WHERE id = ?`, got.ID).Scan(&body)
	})
	ua, _ := bob.user(bu.ID)
	conn := connOf(t, bob, ba.ID)
	for _, ev := range []agent.Event{
		{ConnID: conn, Kind: agent.EventMsg, MsgID: agentMsg, Body: body},
		{ConnID: conn, Kind: agent.EventCon},
	} {
		out, err := bob.handle(ua, ev)
		if err != nil || len(out) != 0 {
			t.Fatalf("%s again: %v %v", ev.Kind, out, err)
		}
	}
	if items, _ := bob.Items(ctx, ba.ID, 0, 10); len(items) != 1 {
		t.Fatalf("items %+v", items)
	}
}

// CH-CONTENT-3, CH-EXT-2: content of an unknown type is shown by its text
// (or "unknown message type"); an unknown event changes nothing and is
// no error.
func TestUnknownContentAndEvents(t *testing.T) {
	srv := startRelay(t)
	alice, _ := newUser(t, "alice", srv)
	bob, bu := newUser(t, "bob", srv)
	_, ba := connect(t, alice, bob)
	ua, _ := bob.user(bu.ID)
	conn := connOf(t, bob, ba.ID)
	cases := []struct {
		body, text string
	}{
		{`{"v":"1-9","msgId":"AQIDBAUGBwgJCgsM","event":"x.msg.new","params":{"content":{"type":"voice","text":"listen","duration":5}}}`, "listen"},
		{`{"v":"1-9","msgId":"AQIDBAUGBwgJCgsN","event":"x.msg.new","params":{"content":{"type":"hologram"}}}`, "unknown message type"},
	}
	for i, tc := range cases {
		out, err := bob.handle(ua, agent.Event{ConnID: conn, Kind: agent.EventMsg, MsgID: int64(1000 + i), Body: []byte(tc.body)})
		if err != nil || len(out) != 1 {
			t.Fatalf("%s: %v %v", tc.body, out, err)
		}
		if it := out[0].(NewItem).Item; it.Text != tc.text {
			t.Fatalf("shown as %q, want %q", it.Text, tc.text)
		}
	}
	// A gap in the sender's numbering is reported before the message.
	out, err := bob.handle(ua, agent.Event{ConnID: conn, Kind: agent.EventMsg, MsgID: 1500, Body: []byte(cases[0].body[:len(`{"v":"1-9","msgId":"AQIDBAUGBwgJCgs`)] + `O"` + cases[0].body[len(`{"v":"1-9","msgId":"AQIDBAUGBwgJCgsM"`):]),
		Integrity: agent.MsgIntegrity{Err: agent.MsgSkipped, FromMsgID: 3, ToMsgID: 4}})
	if err != nil || len(out) != 2 {
		t.Fatalf("after a gap: %v %v", out, err)
	}
	if mi, ok := out[0].(MessageIntegrity); !ok || mi.Integrity.String() != "ERR NO_ID 3 4" {
		t.Fatalf("after a gap: %+v", out[0])
	}
	out, err = bob.handle(ua, agent.Event{ConnID: conn, Kind: agent.EventMsg, MsgID: 2000, Body: []byte(`{"v":"1-9","event":"x.future.thing","params":{"a":1}}`)})
	if err != nil || len(out) != 0 {
		t.Fatalf("unknown event: %v %v", out, err)
	}
	// A malformed message is reported, not applied (CH-ERR-1).
	out, err = bob.handle(ua, agent.Event{ConnID: conn, Kind: agent.EventMsg, MsgID: 2001, Body: []byte(`{"v":"1-9","event":"x.msg.new","params":{}}`)})
	if err != nil || len(out) != 1 {
		t.Fatalf("bad message: %v %v", out, err)
	}
	if _, ok := out[0].(Error); !ok {
		t.Fatalf("bad message gave %T", out[0])
	}
}

// The database is encrypted under the passphrase: another one is refused.
func TestWrongPassphrase(t *testing.T) {
	srv := startRelay(t)
	dir := t.TempDir()
	c := open(t, dir, srv)
	c.Close()
	cfg := testConfig(dir, srv)
	cfg.Passphrase = "not it"
	if _, err := Open(context.Background(), cfg); !errors.Is(err, db.ErrWrongPassphrase) {
		t.Fatalf("open with a wrong passphrase: %v", err)
	}
}

// A task recorded but not done when the client stopped (a crash right
// after the commit) is done when it starts again.
func TestTaskResumedAfterRestart(t *testing.T) {
	srv := startRelay(t)
	ctx := context.Background()
	alice, _ := newUser(t, "alice", srv)
	bobDir := t.TempDir()
	bob := open(t, bobDir, srv)
	bu, err := bob.CreateUser(ctx, chatmsg.Profile{DisplayName: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	_, ba := connect(t, alice, bob)
	conn := connOf(t, bob, ba.ID)
	bob.Close()

	cfg := testConfig(bobDir, srv)
	d, err := db.Open(ctx, filepath.Join(bobDir, "chat.db"), cfg.Passphrase, cfg.DBOptions)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Update(ctx, func(tx *db.Tx) error {
		id, body, err := storeSent(tx, nil, ba.ID, text("left over"), 0)
		if err != nil {
			return err
		}
		return addTask(tx, bu.ID, task{Kind: "send", Conn: conn, Body: body, Item: id})
	})
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	bob = open(t, bobDir, srv)
	received(t, alice, "left over")
	// The task marks the item sent after the agent took it, which may be
	// after alice has it already.
	deadline := time.Now().Add(20 * time.Second)
	for {
		its, _ := bob.Items(ctx, ba.ID, 0, 10)
		if len(its) == 1 && its[0].Status != ItemSending {
			break
		}
		if len(its) != 1 || time.Now().After(deadline) {
			t.Fatalf("bob's items %+v", its)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
