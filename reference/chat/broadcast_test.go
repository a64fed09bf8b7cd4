package chat

import (
	"bytes"
	"context"
	"testing"
)

// CH-BCAST-1..2: a broadcast to four contacts arrives at each as an
// ordinary message with its own msgId; its edit and its deletion reach all
// four copies; a contact not chosen gets nothing.
func TestBroadcastToFourContacts(t *testing.T) {
	r1, r2 := startRelay(t), startRelay(t)
	ctx := context.Background()
	alice, _ := newUser(t, "alice", r1)
	names := []string{"bob", "carol", "dave", "eve"}
	peers := make([]*Client, len(names))
	var ids []int64
	their := map[*Client]int64{}
	for i, n := range names {
		srv := r1
		if i%2 == 1 {
			srv = r2
		}
		peers[i], _ = newUser(t, n, srv)
		a, b := connect(t, alice, peers[i])
		ids = append(ids, a.ID)
		their[peers[i]] = b.ID
	}
	frank, _ := newUser(t, "frank", r2)
	_, fa := connect(t, alice, frank)

	b, err := alice.Broadcast(ctx, ids, text("news for all"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Items) != 4 || b.Text != "news for all" {
		t.Fatalf("broadcast %+v", b)
	}
	for i, it := range b.Items {
		if it.ContactID != ids[i] || !it.Sent || it.Text != "news for all" {
			t.Fatalf("copy %d: %+v", i, it)
		}
		for _, other := range b.Items[:i] {
			if bytes.Equal(other.SharedID, it.SharedID) {
				t.Fatal("two copies with one msgId")
			}
		}
	}
	got := map[*Client]Item{}
	for _, p := range peers {
		it := received(t, p, "news for all")
		if it.ContactID != their[p] {
			t.Fatalf("item of contact %d, want %d", it.ContactID, their[p])
		}
		got[p] = it
	}

	if b, err = alice.UpdateBroadcast(ctx, b.ID, text("news, corrected")); err != nil {
		t.Fatal(err)
	}
	if !b.Edited || b.Text != "news, corrected" {
		t.Fatalf("edited broadcast %+v", b)
	}
	for _, it := range b.Items {
		if it.Text != "news, corrected" || !it.Edited {
			t.Fatalf("copy after edit %+v", it)
		}
	}
	for _, p := range peers {
		id := got[p].ID
		up := waitFor(t, p, func(e ItemUpdated) bool { return e.Item.ID == id && e.Item.Text == "news, corrected" })
		if !up.Item.Edited {
			t.Fatalf("%+v", up.Item)
		}
	}

	if err := alice.DeleteBroadcast(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		id := got[p].ID
		waitFor(t, p, func(e ItemUpdated) bool { return e.Item.ID == id && e.Item.Deleted })
	}
	if b, _ = alice.GetBroadcast(ctx, b.ID); !b.Deleted || len(b.Items) != 4 || !b.Items[3].Deleted {
		t.Fatalf("deleted broadcast %+v", b)
	}
	if _, err := alice.UpdateBroadcast(ctx, b.ID, text("again")); err == nil {
		t.Fatal("edited a deleted broadcast")
	}
	if its, _ := frank.Items(ctx, fa.ID, 0, 10); len(its) != 0 {
		t.Fatalf("frank got %+v", its)
	}
	if _, err := alice.Broadcast(ctx, []int64{ids[0], ids[0]}, text("twice")); err == nil {
		t.Fatal("a contact chosen twice")
	}
}
