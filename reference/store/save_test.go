package store_test

import (
	"testing"

	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/store/storetest"
)

// TestSave: with fsync = never, a power loss takes what was written since
// Open; after Save it takes nothing, and messages.log holds only the live
// messages.
func TestSave(t *testing.T) {
	for _, save := range []bool{false, true} {
		mem := storetest.NewMemFS()
		s, _ := mustOpen(t, "/data", store.Options{FS: mem, Sync: store.SyncNever})
		for n := 0; n < 3; n++ {
			if err := s.CreateQueue(newQueue(n)); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 4; i++ {
				if err := s.AddMessage(qid('r', n), msg(10*n+i)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := s.DeleteHead(qid('r', 0), qid('m', 0)); err != nil {
			t.Fatal(err)
		}
		if save {
			before := s.Stats()
			if err := s.Save(); err != nil {
				t.Fatal(err)
			}
			after := s.Stats()
			// One compaction job rewrites both logs.
			if after.MessagesLog >= before.MessagesLog || after.Compactions != before.Compactions+1 {
				t.Errorf("Save: messages.log %d → %d bytes, compactions %d → %d; want smaller, +1",
					before.MessagesLog, after.MessagesLog, before.Compactions, after.Compactions)
			}
		}
		mem.CrashAfter(1)
		s.AddMessage(qid('r', 1), msg(99)) // the power goes during this write
		mem.Restart()
		s2, _ := mustOpen(t, "/data", store.Options{FS: mem})
		queues, messages := s2.Counts()
		s2.Close()
		switch {
		case save && (queues != 3 || messages != 11):
			t.Errorf("after Save and a power loss: %d queues, %d messages; want 3, 11", queues, messages)
		case !save && queues == 3 && messages == 11:
			t.Error("without Save nothing was lost: the test cannot tell what Save does")
		}
	}
}
