package store

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkConcurrentWrites: 32 writers store 1 KB messages at once on a
// real disk, under fsync = each and fsync = never. With group commit the
// writers pending at an fsync share it, so the ratio each/never shows what
// durability costs. Run it short:
//
//	go test ./reference/store -run '^$' -bench ConcurrentWrites -benchtime 3000x
func BenchmarkConcurrentWrites(b *testing.B) {
	for _, pol := range []struct {
		name string
		p    SyncPolicy
	}{{"fsync=each", SyncEachWrite}, {"fsync=never", SyncNever}} {
		b.Run(pol.name, func(b *testing.B) {
			s, _, err := Open(b.TempDir(), Options{Sync: pol.p})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const queues = 32
			for i := 0; i < queues; i++ {
				if err := s.CreateQueue(testQueue(i)); err != nil {
					b.Fatal(err)
				}
			}
			body := make([]byte, 1000)
			var next atomic.Int64
			b.SetParallelism(16) // 32 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := next.Add(1)
					q := testQueue(int(n % queues))
					m := Message{ID: []byte(fmt.Sprintf("m%023d", n)), Body: body}
					if err := s.AddMessage(q.RecipientID, m); err != nil {
						b.Error(err)
						return
					}
					if _, err := s.DeleteHead(q.RecipientID, m.ID); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
