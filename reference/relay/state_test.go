package relay_test

import (
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/store"
)

// TestBlockedQueue checks SMP-QSTATE-3 and SMP-ERR-2 on a queue blocked by
// the operator (through the store, as an operator tool would).
func TestBlockedQueue(t *testing.T) {
	tr := startRelay(t, relay.Config{})
	blocked := smp.ErrorType{Kind: smp.ErrBLOCKED, Blocked: &smp.BlockingInfo{Reason: "spam"}}
	for _, v := range []smp.Version{11, 12, 17, 18} {
		t.Run(v.String(), func(t *testing.T) {
			cl := tr.dial(v)
			q := newQueue(t, cl, smp.CmdNEW{QueueReq: &smp.QueueReq{Mode: smp.QueueMessaging}}, smpcrypto.Ed25519)
			n := &struct{ key smpcrypto.PrivateKey }{genKey(t, smpcrypto.Ed25519)}
			nid := mustDo(t, cl, q.rcv(smp.CmdNKEY{NotifierKey: n.key.Public(), DHKey: genKey(t, smpcrypto.X25519).Public()})).(smp.RspNID)
			if _, err := tr.r.Store().UpdateQueue(q.ids.RcvID, func(sq *store.Queue) error {
				sq.Status, sq.BlockInfo = store.Blocked, store.BlockInfo{Reason: "spam"}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			want := blocked
			if v < smp.VersionBlockedEntity {
				want = smp.AUTH // SMP-ERR-2
			}
			for _, cmd := range []smp.Command{smp.CmdSUB{}, smp.CmdGET{}, smp.CmdACK{MsgID: make([]byte, 24)}, smp.CmdQUE{}, smp.CmdNDEL{}, smp.CmdLDEL{}} {
				_, err := do(t, cl, q.rcv(cmd))
				wantErr(t, err, want)
			}
			_, err := do(t, cl, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Body: []byte("x")}})
			wantErr(t, err, want)
			_, err = do(t, cl, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Body: make([]byte, smp.MaxMessageLength(v)+1)}})
			wantErr(t, err, smp.ErrorType{Kind: smp.ErrLARGEMSG}) // length first (SMP-CMD-SEND-3)
			// NSUB, OFF and DEL still run.
			mustDo(t, cl, client.Request{Key: n.key, EntityID: nid.NotifierID, Command: smp.CmdNSUB{}})
			mustDo(t, cl, q.rcv(smp.CmdOFF{}))
			mustDo(t, cl, q.rcv(smp.CmdDEL{}))
		})
	}
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestExpiry checks SMP-EXP-1..3: old messages and notifications go, from
// the head only, up to the quota marker.
func TestExpiry(t *testing.T) {
	clk := &clock{now: time.Now()}
	tr := startRelay(t, relay.Config{MessageTTL: time.Hour, NotificationTTL: time.Hour, ExpireInterval: 20 * time.Millisecond, Now: clk.Now})
	cl := tr.dial(smp.VersionMax)
	q := newQueue(t, cl, smp.CmdNEW{SubMode: smp.SubModeOnlyCreate, QueueReq: &smp.QueueReq{Mode: smp.QueueMessaging}}, smpcrypto.Ed25519)
	nk := genKey(t, smpcrypto.Ed25519)
	nid := mustDo(t, cl, q.rcv(smp.CmdNKEY{NotifierKey: nk.Public(), DHKey: genKey(t, smpcrypto.X25519).Public()})).(smp.RspNID)
	send := func(body string) {
		mustDo(t, cl, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Notify: true, Body: []byte(body)}})
	}
	send("old")
	clk.add(50 * time.Minute)
	send("young")
	clk.add(20 * time.Minute) // "old" is 70 min old, "young" 20 min
	time.Sleep(200 * time.Millisecond)
	m := mustDo(t, cl, q.rcv(smp.CmdGET{})).(smp.RspMSG)
	if b := q.open(t, m); string(b.Body) != "young" {
		t.Fatalf("head after expiry is %q, want young", b.Body)
	}
	// Only the young message's notification is still pending.
	nc := tr.dial(smp.VersionMax)
	mustDo(t, nc, client.Request{Key: nk, EntityID: nid.NotifierID, Command: smp.CmdNSUB{}})
	ev := nextEvent(t, nc)
	if ev.Response.Tag() != "NMSG" {
		t.Fatalf("got %s", ev.Response.Tag())
	}
	noEvent(t, nc)
}
