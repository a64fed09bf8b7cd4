package chat

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smpkit/smpkit/reference/db"
	"github.com/smpkit/smpkit/reference/db/dbtest"
)

// An item deleted here leaves its id unused: the next item gets a larger
// one, so nothing naming the deleted item (a task, an application's
// copy of an event) reaches the new one.
func TestItemIDsNotReused(t *testing.T) {
	srv := startRelay(t)
	alice, _ := newUser(t, "alice", srv)
	bob, _ := newUser(t, "bob", srv)
	ab, _ := connect(t, alice, bob)
	ctx := context.Background()
	first, err := alice.SendText(ctx, ab.ID, "one")
	if err != nil {
		t.Fatal(err)
	}
	received(t, bob, "one")
	if err := alice.DeleteMessage(ctx, first.ID, false); err != nil {
		t.Fatal(err)
	}
	second, err := alice.SendText(ctx, ab.ID, "two")
	if err != nil {
		t.Fatal(err)
	}
	if second.ID <= first.ID {
		t.Fatalf("item id %d after deleted item %d", second.ID, first.ID)
	}
	received(t, bob, "two")
}

// The migration makes the item tables again with AUTOINCREMENT and keeps
// every row, the reactions that refer to the items, and the indexes.
func TestItemIDsMigration(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(t.TempDir(), "chat.db"), testPassphrase, dbtest.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	n := len(Schema.Migrations)
	var at int
	for i, m := range Schema.Migrations {
		if m.Name == itemIDsMigration.Name {
			at = i
		}
	}
	before := db.Schema{Package: Schema.Package, Migrations: Schema.Migrations[:at]}
	if err := d.Migrate(ctx, before); err != nil {
		t.Fatal(err)
	}
	err = d.Update(ctx, func(tx *db.Tx) error {
		for _, s := range []string{
			`INSERT INTO chat_users (id, name, profile, created_at) VALUES (1, 'alice', x'00', 0)`,
			`INSERT INTO chat_contacts (id, user_id, conn_id, status, created_at) VALUES (1, 1, 'c1', 'connected', 0)`,
			`INSERT INTO chat_items (id, contact_id, sent, content, text, status, created_at, ttl) VALUES (1, 1, 1, x'00', 'a', 'sent', 0, 30), (2, 1, 0, x'00', 'b', 'received', 0, NULL)`,
			`INSERT INTO chat_reactions (item_id, sent, reaction) VALUES (2, 1, '{}')`,
			`INSERT INTO chat_groups (id, user_id, profile, member_id, role, status, created_at) VALUES (1, 1, x'00', x'01', 'owner', 'active', 0)`,
			`INSERT INTO chat_members (id, group_id, member_id, role, status) VALUES (1, 1, x'02', 'member', 'connected')`,
			`INSERT INTO chat_group_items (id, group_id, author, sent, shared_id, content, text, created_at) VALUES (5, 1, 1, 0, x'03', x'00', 'g', 0)`,
			`INSERT INTO chat_group_reactions (item_id, member, reaction) VALUES (5, 1, '{}')`,
		} {
			if _, err := tx.Exec(s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Migrate(ctx, Schema); err != nil {
		t.Fatal(err)
	}
	if v, err := d.Version(ctx, "chat"); err != nil || v != n {
		t.Fatalf("version %d, %v; want %d", v, err, n)
	}
	err = d.Update(ctx, func(tx *db.Tx) error {
		for _, tc := range []struct {
			q    string
			want int
		}{
			{`SELECT count(*) FROM chat_items`, 2},
			{`SELECT count(*) FROM chat_items WHERE id = 1 AND ttl = 30 AND text = 'a'`, 1},
			{`SELECT count(*) FROM chat_reactions WHERE item_id = 2`, 1},
			{`SELECT count(*) FROM chat_group_items WHERE id = 5 AND author = 1`, 1},
			{`SELECT count(*) FROM chat_group_reactions WHERE item_id = 5`, 1},
			{`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('chat_items_page', 'chat_items_shared', 'chat_items_agent', 'chat_items_broadcast', 'chat_items_delete_at', 'chat_group_items_page', 'chat_group_items_shared')`, 7},
			{`SELECT count(*) FROM sqlite_master WHERE name LIKE '%\_new' ESCAPE '\' OR name LIKE '%\_keep' ESCAPE '\'`, 0},
		} {
			var got int
			if err := tx.QueryRow(tc.q).Scan(&got); err != nil {
				return err
			}
			if got != tc.want {
				t.Errorf("%s: %d, want %d", tc.q, got, tc.want)
			}
		}
		// The reactions still follow their items.
		if _, err := tx.Exec(`DELETE FROM chat_items WHERE id = 2`); err != nil {
			return err
		}
		var left int
		if err := tx.QueryRow(`SELECT count(*) FROM chat_reactions`).Scan(&left); err != nil || left != 0 {
			t.Errorf("reactions left after their item: %d, %v", left, err)
		}
		// The largest id, now deleted, is not given again.
		res, err := tx.Exec(`INSERT INTO chat_items (contact_id, sent, content, text, status, created_at) VALUES (1, 1, x'00', 'c', 'sent', 0)`)
		if err != nil {
			return err
		}
		if id, _ := res.LastInsertId(); id != 3 {
			t.Errorf("new item id %d, want 3", id)
		}
		var sql string
		if err := tx.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'chat_group_items'`).Scan(&sql); err != nil {
			return err
		}
		if !strings.Contains(sql, "AUTOINCREMENT") || !strings.Contains(sql, "moderated_by") {
			t.Errorf("chat_group_items: %s", sql)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
