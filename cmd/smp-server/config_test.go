package main

import (
	"strings"
	"testing"

	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/store"
)

// TestStoreOptions: [STORE_LOG] backups and compact_min reach the store,
// with the file's 0 meaning zero (no backups, no minimum), not the store's
// default.
func TestStoreOptions(t *testing.T) {
	for in, want := range map[string]store.Options{
		"":                                   {Backups: 3, CompactMin: 1 << 20},
		"backups = 7\ncompact_min = 65536\n": {Backups: 7, CompactMin: 65536},
		"backups = 0\ncompact_min = 0\n":     {Backups: -1, CompactMin: 1},
	} {
		s, _, err := relay.ReadSettings(strings.NewReader("[STORE_LOG]\n" + in))
		if err != nil {
			t.Fatal(err)
		}
		o := storeOptions(s)
		if o.Backups != want.Backups || o.CompactMin != want.CompactMin || o.Sync != store.SyncEachWrite {
			t.Errorf("%q: %+v, want backups %d, compact_min %d", in, o, want.Backups, want.CompactMin)
		}
	}
}
