package store_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/store/storetest"
)

// TestBlockInfoSurvives: a blocked queue's reason and notice survive a
// power loss right after UpdateQueue returns, the replay after it, and the
// compaction that the next start writes; unblocking clears them for good.
func TestBlockInfoSurvives(t *testing.T) {
	mem := storetest.NewMemFS()
	open := func() *store.Store {
		t.Helper()
		s, _, err := store.Open("/d", store.Options{FS: mem})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rid := bytes.Repeat([]byte{'r'}, 24)
	s := open()
	if err := s.CreateQueue(store.Queue{
		RecipientID: rid, SenderID: bytes.Repeat([]byte{'s'}, 24),
		RecipientKeys: [][]byte{bytes.Repeat([]byte{7}, 44)}, RcvDHSecret: bytes.Repeat([]byte{1}, 32),
		Mode: 'M', Status: store.Active,
	}); err != nil {
		t.Fatal(err)
	}
	ttl := int64(3600)
	want := store.BlockInfo{Reason: "content", Notice: &store.Notice{TTL: &ttl}}
	if _, err := s.UpdateQueue(rid, func(q *store.Queue) error { q.Status, q.BlockInfo = store.Blocked, want; return nil }); err != nil {
		t.Fatal(err)
	}
	s.WaitCompaction()
	mem.CrashAfter(0)
	mem.Restart()
	check := func(s *store.Store, status store.Status, bi store.BlockInfo) {
		t.Helper()
		q, err := s.Queue(store.ByRecipient, rid)
		if err != nil {
			t.Fatal(err)
		}
		if q.Status != status {
			t.Fatalf("status %c, want %c", q.Status, status)
		}
		if d := cmp.Diff(bi, q.BlockInfo); d != "" {
			t.Fatalf("block info after restart: %s", d)
		}
	}
	for i := 0; i < 2; i++ { // replay of the crashed log, then of its compaction
		s = open()
		check(s, store.Blocked, want)
		s.Close()
	}
	s = open()
	if _, err := s.UpdateQueue(rid, func(q *store.Queue) error { q.Status, q.BlockInfo = store.Active, store.BlockInfo{}; return nil }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open()
	defer s.Close()
	check(s, store.Active, store.BlockInfo{})
}
