package store

import "testing"

// Settled says whether Durable would return at once: always without
// fsync=each, and with it only once an fsync covers the record.
func TestSettled(t *testing.T) {
	for _, sync := range []SyncPolicy{SyncNever, SyncEachWrite} {
		s, _, err := Open(t.TempDir(), Options{Sync: sync})
		if err != nil {
			t.Fatal(err)
		}
		s.DeferSync()
		if err := s.CreateQueue(testQueue(1)); err != nil {
			t.Fatal(err)
		}
		seq := s.Written()
		if got, want := s.Settled(seq), sync != SyncEachWrite; got != want {
			t.Errorf("sync %v: Settled before Durable = %v, want %v", sync, got, want)
		}
		if err := s.Durable(seq); err != nil {
			t.Fatal(err)
		}
		if !s.Settled(seq) {
			t.Errorf("sync %v: not Settled after Durable", sync)
		}
		s.Close()
	}
}
