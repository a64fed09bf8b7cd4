package chat

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
	"github.com/smpkit/smpkit/reference/smp"
	"pgregory.net/rapid"
)

// CH-PROF-2: whatever display names contacts send (repeats, names that
// look like derived ones, renames), local names stay unique per user and
// each is the display name or the display name with _N.
func TestLocalNamesUnique(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t.TempDir(), smp.Server{})
	d, err := db.Open(ctx, filepath.Join(cfg.Dir, "chat.db"), cfg.Passphrase, cfg.DBOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Migrate(ctx, Schema); err != nil {
		t.Fatal(err)
	}
	run := 0
	rapid.Check(t, func(t *rapid.T) {
		run++
		name := rapid.SampledFrom([]string{"a", "a_1", "a_2", "b", "a_1_1"})
		var uid int64
		var cts []Contact
		err := d.Update(ctx, func(tx *db.Tx) error {
			res, err := tx.Exec(`INSERT INTO chat_users (name, profile, created_at) VALUES (?, ?, 0)`, fmt.Sprint("u", run), infoBody(&chatmsg.Profile{DisplayName: "u"}))
			if err != nil {
				return err
			}
			uid, _ = res.LastInsertId()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		n := rapid.IntRange(1, 8).Draw(t, "contacts")
		for i := range n {
			p := &chatmsg.Profile{DisplayName: name.Draw(t, "name")}
			err := d.Update(ctx, func(tx *db.Tx) error {
				ct, err := insertContact(tx, uid, fmt.Sprint(run, "-", i), StatusConnected, p, "")
				cts = append(cts, ct)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		for range rapid.IntRange(0, 4).Draw(t, "renames") {
			k := rapid.IntRange(0, n-1).Draw(t, "who")
			p := &chatmsg.Profile{DisplayName: name.Draw(t, "new name")}
			err := d.Update(ctx, func(tx *db.Tx) error { return setProfile(tx, &cts[k], p) })
			if err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]bool{}
		for _, ct := range cts {
			if seen[ct.LocalName] {
				t.Fatalf("local name %q twice", ct.LocalName)
			}
			seen[ct.LocalName] = true
			dn := ct.Profile.DisplayName
			if ct.LocalName != dn && !strings.HasPrefix(ct.LocalName, dn+"_") {
				t.Fatalf("local name %q for display name %q", ct.LocalName, dn)
			}
		}
	})
}
