package fuzz

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/store/storetest"
)

// The store's logs are parsed at every start, from files a crash or a disk
// may have damaged: replay must never panic or fail on their contents, and
// what it keeps must survive the compaction it writes (docs/store.md).

// storeFrame frames a record payload as docs/store.md specifies.
func storeFrame(dst, p []byte) []byte {
	h := make([]byte, 10)
	h[0], h[1] = 0xA5, 0x5A
	binary.BigEndian.PutUint32(h[2:6], uint32(len(p)))
	tab := crc32.MakeTable(crc32.Castagnoli)
	binary.BigEndian.PutUint32(h[6:10], crc32.Update(crc32.Checksum(h[2:6], tab), tab, p))
	return append(append(dst, h...), p...)
}

// storeSeed is the logs of a small store with every kind of record.
func storeSeed(f *testing.F) (queues, messages []byte) {
	mem := storetest.NewMemFS()
	s, _, err := store.Open("/d", store.Options{FS: mem, Backups: -1})
	if err != nil {
		f.Fatal(err)
	}
	if err := s.PutService(store.Service{ID: []byte("svc"), Role: 'N', Fingerprint: []byte("fp"), CreatedAt: 1}); err != nil {
		f.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		q := store.Queue{
			RecipientID: []byte(fmt.Sprintf("r%023d", i)), SenderID: []byte(fmt.Sprintf("s%023d", i)),
			RecipientKeys: [][]byte{bytes.Repeat([]byte{7}, 44)}, RcvDHSecret: bytes.Repeat([]byte{1}, 32),
			Mode: 'C', Status: store.Active, UpdatedAt: 1_700_000_000,
		}
		if i == 1 {
			q.LinkID, q.LinkFixed, q.LinkUser = []byte("link"), []byte("fixed"), []byte("user")
			q.Notifier = &store.Notifier{ID: []byte("nid"), Key: []byte("nkey"), DHSecret: []byte("dh"), ServiceID: []byte("svc")}
		}
		if err := s.CreateQueue(q); err != nil {
			f.Fatal(err)
		}
		s.AddMessage(q.RecipientID, store.Message{ID: []byte{byte(i)}, Timestamp: 9, Notify: true, Body: []byte("hello")})
		s.AddMessage(q.RecipientID, store.Message{ID: []byte{byte(i), 1}, Timestamp: 9, Quota: true})
	}
	s.UpdateQueue([]byte(fmt.Sprintf("r%023d", 0)), func(q *store.Queue) error { q.SenderKey = []byte("k"); return nil })
	ttl := int64(3600)
	s.UpdateQueue([]byte(fmt.Sprintf("r%023d", 1)), func(q *store.Queue) error {
		q.Status, q.BlockInfo = store.Blocked, store.BlockInfo{Reason: "spam", Notice: &store.Notice{TTL: &ttl}}
		return nil
	})
	s.DeleteHead([]byte(fmt.Sprintf("r%023d", 1)), []byte{1})
	s.DeleteQueue([]byte(fmt.Sprintf("r%023d", 2)))
	queues, _ = mem.ReadFile("/d/queues.log")
	messages, _ = mem.ReadFile("/d/messages.log")
	s.Close()
	return queues, messages
}

// FuzzStoreReplay gives Open arbitrary queues.log and messages.log files.
// With framed set, each input is one record payload in a valid frame, so
// the fuzzer reaches the record decoders behind the CRC. Minimising its
// two-file inputs is slow; run it with -fuzzminimizetime=100x.
func FuzzStoreReplay(f *testing.F) {
	q, m := storeSeed(f)
	f.Add(q, m, false)
	f.Add(q[8:], m[8:], false)
	f.Add(append(bytes.Clone(q), make([]byte, 8)...), append(bytes.Clone(m), make([]byte, 8)...), false)
	f.Add([]byte{'Q', 1}, []byte{'A'}, true)
	f.Add([]byte{'D', 'x'}, []byte{'R', 1, 'x', 1, 'y'}, true)
	f.Add([]byte{'S', 1, 1, 'i', 'N', 1, 'f', 0, 0, 0, 0, 0, 0, 0, 1}, []byte{'A'}, true)
	f.Fuzz(func(t *testing.T, qlog, mlog []byte, framed bool) {
		if framed {
			qlog = storeFrame([]byte("SMPSTOR2"), qlog)
			mlog = storeFrame([]byte("SMPSTOR2"), mlog)
		}
		mem := storetest.NewMemFS()
		mem.WriteFile("/d/queues.log", qlog)
		mem.WriteFile("/d/messages.log", mlog)
		opts := store.Options{FS: mem, Backups: -1}
		s, rec, err := store.Open("/d", opts)
		if err != nil {
			t.Fatalf("replay failed: %v", err)
		}
		nq, nm := s.Counts()
		if nq != rec.Queues || nm != rec.Messages {
			t.Fatalf("recovery says %d/%d, store holds %d/%d", rec.Queues, rec.Messages, nq, nm)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, rec, err = store.Open("/d", opts)
		if err != nil {
			t.Fatalf("replay of the compacted logs failed: %v", err)
		}
		defer s.Close()
		if len(rec.Dropped) != 0 || rec.Orphans != 0 {
			t.Fatalf("compacted logs are damaged: %q", rec.Dropped)
		}
		if nq2, nm2 := s.Counts(); nq2 != nq || nm2 != nm {
			t.Fatalf("compaction changed %d/%d into %d/%d", nq, nm, nq2, nm2)
		}
	})
}
