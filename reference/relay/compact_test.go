package relay_test

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/store/storetest"
)

// TestSendDuringCompaction: the relay calls the store under its
// relay-wide lock, and the store used to compact messages.log inside that
// call, writing and fsyncing the snapshot: every connection waited for it.
// Here the compaction's fsync is held on a channel (the MemFS hook) and a
// SEND on another connection is answered OK, and its MSG delivered, while
// it is held.
func TestSendDuringCompaction(t *testing.T) {
	for _, name := range []string{"never", "each"} {
		t.Run("fsync="+name, func(t *testing.T) {
			policy, _ := store.ParseSyncPolicy(name)
			mem := storetest.NewMemFS()
			var armed atomic.Bool
			parked, release := make(chan struct{}, 1), make(chan struct{})
			mem.SyncHook = func(name string) {
				if strings.HasSuffix(name, ".tmp") && armed.CompareAndSwap(true, false) {
					parked <- struct{}{}
					<-release
				}
			}
			st, _, err := store.Open("/data", store.Options{FS: mem, Sync: policy, CompactMin: 4 << 10})
			if err != nil {
				t.Fatal(err)
			}
			tr := startRelay(t, relay.Config{Store: st})
			rc := tr.dial(smp.VersionMax)
			q1 := newQueue(t, rc, smp.CmdNEW{}, smpcrypto.Ed25519)
			q2 := newQueue(t, rc, smp.CmdNEW{}, smpcrypto.Ed25519)
			s1, s2 := tr.dial(smp.VersionMax), tr.dial(smp.VersionMax)
			armed.Store(true)
			// Messages sent and acknowledged until one of the writes
			// starts a compaction of messages.log.
			body := bytes.Repeat([]byte{'x'}, 1000)
			started := false
			for i := 0; i < 1000 && !started; i++ {
				mustDo(t, s1, client.Request{EntityID: q1.ids.SndID, Command: smp.CmdSEND{Body: body}})
				m := nextEvent(t, rc).Response.(smp.RspMSG)
				mustDo(t, rc, q1.rcv(smp.CmdACK{MsgID: m.MsgID}))
				select {
				case <-parked:
					started = true
				default:
				}
			}
			if !started {
				t.Fatal("no compaction started")
			}
			// The compaction is held at its snapshot's fsync.
			if rsp := mustDo(t, s2, client.Request{EntityID: q2.ids.SndID, Command: smp.CmdSEND{Body: []byte("during")}}); rsp.Tag() != "OK" {
				t.Fatalf("SEND during compaction: %s", rsp.Tag())
			}
			m := nextEvent(t, rc).Response.(smp.RspMSG)
			if got := q2.open(t, m).Body; string(got) != "during" {
				t.Fatalf("delivered %q", got)
			}
			if c := st.Stats().Compactions; c != 0 {
				t.Fatalf("%d compactions ended while the fsync was held", c)
			}
			close(release)
			tr.r.Close()
			if err := st.Close(); err != nil { // waits for the compaction
				t.Fatal(err)
			}
			if c := st.Stats().Compactions; c != 1 {
				t.Fatalf("%d compactions, want 1", c)
			}
			st2, _, err := store.Open("/data", store.Options{FS: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer st2.Close()
			if got := drain(t, st2, q2.ids.RcvID); len(got) != 1 {
				t.Fatalf("queue 2 holds %d messages after the compaction, want 1", len(got))
			}
		})
	}
}
