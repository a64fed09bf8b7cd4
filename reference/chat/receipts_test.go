package chat

import (
	"context"
	"testing"

	"github.com/smpkit/smpkit/reference/db"
)

// CH-RCPT-1: only x.msg.new (and x.grp.inv, x.call.inv) is acknowledged
// with a receipt; an edit is acknowledged without one, and the items
// still show delivered.
func TestReceiptsOnlyForNewMessages(t *testing.T) {
	srv := startRelay(t)
	alice, _ := newUser(t, "alice", srv)
	bob, _ := newUser(t, "bob", srv)
	ab, _ := connect(t, alice, bob)
	ctx := context.Background()
	first, err := alice.SendText(ctx, ab.ID, "one")
	if err != nil {
		t.Fatal(err)
	}
	got := received(t, bob, "one")
	waitFor(t, alice, func(e ItemUpdated) bool { return e.Item.ID == first.ID && e.Item.Status == ItemDelivered })
	if _, err := alice.UpdateMessage(ctx, first.ID, text("one, edited")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, func(e ItemUpdated) bool { return e.Item.ID == got.ID && e.Item.Edited })
	last, err := alice.SendText(ctx, ab.ID, "two")
	if err != nil {
		t.Fatal(err)
	}
	received(t, bob, "two")
	// Bob acknowledges in order: the receipt of "two" comes after
	// whatever the edit would have had.
	waitFor(t, alice, func(e ItemUpdated) bool { return e.Item.ID == last.ID && e.Item.Status == ItemDelivered })

	ua, err := alice.user(ab.UserID)
	if err != nil {
		t.Fatal(err)
	}
	var lo, hi int64
	alice.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT min(agent_msg), max(agent_msg) FROM chat_items WHERE contact_id = ?`, ab.ID).Scan(&lo, &hi)
	})
	rcpts := map[int64]string{}
	err = ua.a.DB().View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(`SELECT msg_id, coalesce(rcpt, '') FROM agent_sent WHERE conn = ? AND msg_id BETWEEN ? AND ?`, connOf(t, alice, ab.ID), lo, hi)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var r string
			if err := rows.Scan(&id, &r); err != nil {
				return err
			}
			rcpts[id] = r
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rcpts) != 3 || rcpts[lo] != "ok" || rcpts[hi] != "ok" {
		t.Fatalf("receipts of the messages sent %v (texts %d, %d)", rcpts, lo, hi)
	}
	for id, r := range rcpts {
		if id != lo && id != hi && r != "" {
			t.Fatalf("the edit (agent message %d) got a receipt: %v", id, rcpts)
		}
	}
}
