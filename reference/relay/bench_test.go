package relay_test

import (
	"context"
	"crypto/rand"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/store"
)

// BenchmarkDelivery measures SEND → MSG → ACK over TLS on loopback with 100
// queue pairs in flight at once (10 recipient and 10 sender connections,
// 10 queues each): messages per second and the delivery latency from SEND
// to MSG, p50 and p99. Run with -bench Delivery -benchtime 20000x.
func BenchmarkDelivery(b *testing.B) {
	for _, pol := range []struct {
		name string
		sync store.SyncPolicy
	}{{"fsync=each", store.SyncEachWrite}, {"fsync=never", store.SyncNever}} {
		b.Run(pol.name, func(b *testing.B) {
			st, _, err := store.Open(b.TempDir(), store.Options{Sync: pol.sync})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			benchDelivery(b, relay.Config{Store: st})
		})
	}
}

type benchQueue struct {
	rcv    *client.Client
	snd    *client.Client
	key    smpcrypto.PrivateKey
	ids    smp.RspIDS
	events chan client.Event
}

func benchDelivery(b *testing.B, cfg relay.Config) {
	tr := startRelay(b, cfg)
	const conns, perConn = 10, 10
	ctx := context.Background()
	var queues []*benchQueue
	for c := 0; c < conns; c++ {
		rc, sc := tr.dialB(b), tr.dialB(b)
		route := map[string]chan client.Event{}
		for i := 0; i < perConn; i++ {
			k, _ := smpcrypto.GenerateKey(smpcrypto.Ed25519, rand.Reader)
			dh, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
			rsp, err := rc.Do(ctx, client.Request{Key: k, Command: smp.CmdNEW{RcvAuthKey: k.Public(), RcvDHKey: dh.Public(),
				SubMode: smp.SubModeSubscribe, QueueReq: &smp.QueueReq{Mode: smp.QueueMessaging}}})
			if err != nil {
				b.Fatal(err)
			}
			q := &benchQueue{rcv: rc, snd: sc, key: k, ids: rsp.(smp.RspIDS), events: make(chan client.Event, 4)}
			route[string(q.ids.RcvID)] = q.events
			queues = append(queues, q)
		}
		go func() {
			for ev := range rc.Events() {
				if ch := route[string(ev.EntityID)]; ch != nil {
					ch <- ev
				}
			}
		}()
	}
	body := make([]byte, 1000)
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i, q := range queues {
		n := b.N / len(queues)
		if i < b.N%len(queues) {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, n)
			for range n {
				t0 := time.Now()
				if _, err := q.snd.Do(ctx, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Body: body}}); err != nil {
					b.Error(err)
					return
				}
				ev := <-q.events
				local = append(local, time.Since(t0))
				m := ev.Response.(smp.RspMSG)
				if _, err := q.rcv.Do(ctx, client.Request{Key: q.key, EntityID: q.ids.RcvID, Command: smp.CmdACK{MsgID: m.MsgID}}); err != nil {
					b.Error(err)
					return
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

func (tr *testRelay) dialB(b *testing.B) *client.Client {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := client.Dial(ctx, tr.srv, client.Config{PingInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cl.Close() })
	return cl
}
