package relay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// testRelay is a reference relay on loopback with its address.
type testRelay struct {
	t   testing.TB
	r   *relay.Relay
	srv smp.Server
}

func startRelay(t testing.TB, cfg relay.Config) *testRelay {
	t.Helper()
	l, err := relay.StartLoopback(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &testRelay{t: t, r: l.Relay, srv: l.Server}
}

func (tr *testRelay) dial(v smp.Version) *client.Client {
	tr.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := client.Dial(ctx, tr.srv, client.Config{Versions: smp.VersionRange{Min: v, Max: v}, PingInterval: -1})
	if err != nil {
		tr.t.Fatalf("dial v%d: %v", v, err)
	}
	tr.t.Cleanup(func() { cl.Close() })
	if cl.Version() != v {
		tr.t.Fatalf("agreed v%d, want v%d", cl.Version(), v)
	}
	return cl
}

func genKey(t *testing.T, alg smpcrypto.Alg) smpcrypto.PrivateKey {
	t.Helper()
	k, err := smpcrypto.GenerateKey(alg, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// queue is a recipient's view of a queue.
type queue struct {
	rcvKey smpcrypto.PrivateKey
	dhKey  smpcrypto.PrivateKey
	ids    smp.RspIDS
	secret []byte
}

func do(t *testing.T, cl *client.Client, req client.Request) (smp.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl.Do(ctx, req)
}

func mustDo(t *testing.T, cl *client.Client, req client.Request) smp.Response {
	t.Helper()
	rsp, err := do(t, cl, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Command.Tag(), err)
	}
	return rsp
}

// wantErr checks that err is the relay's ERR e.
func wantErr(t *testing.T, err error, e smp.ErrorType) {
	t.Helper()
	var se *client.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want ERR %s", err, e)
	}
	if !se.Err.Equal(e) {
		t.Fatalf("got ERR %s, want ERR %s", se.Err, e)
	}
}

func newQueue(t *testing.T, cl *client.Client, cmd smp.CmdNEW, alg smpcrypto.Alg) *queue {
	t.Helper()
	q := &queue{rcvKey: genKey(t, alg), dhKey: genKey(t, smpcrypto.X25519)}
	cmd.RcvAuthKey, cmd.RcvDHKey = q.rcvKey.Public(), q.dhKey.Public()
	if cmd.SubMode == 0 {
		cmd.SubMode = smp.SubModeSubscribe
	}
	rsp := mustDo(t, cl, client.Request{Key: q.rcvKey, Command: cmd})
	ids, ok := rsp.(smp.RspIDS)
	if !ok {
		t.Fatalf("NEW: got %s", rsp.Tag())
	}
	q.ids = ids
	var err error
	if q.secret, err = q.dhKey.DH(ids.RcvDHKey); err != nil {
		t.Fatal(err)
	}
	return q
}

func (q *queue) rcv(cmd smp.Command) client.Request {
	return client.Request{Key: q.rcvKey, EntityID: q.ids.RcvID, Command: cmd}
}

func (q *queue) open(t *testing.T, m smp.RspMSG) smp.RcvMessageBody {
	t.Helper()
	b, err := smp.OpenMsgBody(q.secret, m.MsgID, m.Body)
	if err != nil {
		t.Fatalf("open MSG: %v", err)
	}
	return b
}

func nextEvent(t *testing.T, cl *client.Client) client.Event {
	t.Helper()
	select {
	case ev, ok := <-cl.Events():
		if !ok {
			t.Fatalf("connection closed: %v", cl.Err())
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return client.Event{}
}

func noEvent(t *testing.T, cl *client.Client) {
	t.Helper()
	select {
	case ev := <-cl.Events():
		t.Fatalf("unexpected event %s", ev.Response.Tag())
	case <-time.After(100 * time.Millisecond):
	}
}

var lifecycleVersions = []smp.Version{6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18}

func TestLifecycle(t *testing.T) {
	tr := startRelay(t, relay.Config{})
	for _, v := range lifecycleVersions {
		t.Run(v.String(), func(t *testing.T) {
			rc, sc := tr.dial(v), tr.dial(v)
			q := newQueue(t, rc, smp.CmdNEW{}, smpcrypto.Ed25519)
			// Unsecured queue: an unauthorized SEND is accepted and pushed.
			if _, err := do(t, sc, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Notify: true, Body: []byte("hello")}}); err != nil {
				t.Fatal(err)
			}
			ev := nextEvent(t, rc)
			m, ok := ev.Response.(smp.RspMSG)
			if !ok || !bytes.Equal(ev.EntityID, q.ids.RcvID) {
				t.Fatalf("event %s for %x, queue %x snd %x: %+v", ev.Response.Tag(), ev.EntityID, q.ids.RcvID, q.ids.SndID, ev.Response)
			}
			if body := q.open(t, m); string(body.Body) != "hello" || !body.Notify {
				t.Fatalf("body %+v", body)
			}
			if rsp := mustDo(t, rc, q.rcv(smp.CmdACK{MsgID: m.MsgID})); rsp.Tag() != "OK" {
				t.Fatalf("ACK: %s", rsp.Tag())
			}
			// Secure the queue with the recipient's KEY.
			snd := genKey(t, smpcrypto.Ed25519)
			mustDo(t, rc, q.rcv(smp.CmdKEY{SenderKey: snd.Public()}))
			_, err := do(t, sc, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Body: []byte("x")}})
			wantErr(t, err, smp.AUTH)
			mustDo(t, sc, client.Request{Key: snd, EntityID: q.ids.SndID, Command: smp.CmdSEND{Body: []byte("two")}})
			m = nextEvent(t, rc).Response.(smp.RspMSG)
			if b := q.open(t, m); string(b.Body) != "two" {
				t.Fatalf("body %q", b.Body)
			}
			// ACK with a wrong id, then the right one.
			_, err = do(t, rc, q.rcv(smp.CmdACK{MsgID: make([]byte, 24)}))
			wantErr(t, err, smp.ErrorType{Kind: smp.ErrNOMSG})
			mustDo(t, rc, q.rcv(smp.CmdACK{MsgID: m.MsgID}))
			// DEL by another connection's subscriber: DELD (END below v10).
			rc2 := tr.dial(v)
			if rsp := mustDo(t, rc2, q.rcv(smp.CmdSUB{})); rsp.Tag() != "OK" && rsp.Tag() != "SOK" {
				t.Fatalf("SUB: %s", rsp.Tag())
			}
			if ev := nextEvent(t, rc); ev.Response.Tag() != "END" {
				t.Fatalf("old subscriber got %s", ev.Response.Tag())
			}
			mustDo(t, rc, q.rcv(smp.CmdDEL{}))
			want := "DELD"
			if v < smp.VersionDeletedEvent {
				want = "END"
			}
			if ev := nextEvent(t, rc2); ev.Response.Tag() != want {
				t.Fatalf("subscriber got %s, want %s", ev.Response.Tag(), want)
			}
			_, err = do(t, rc, q.rcv(smp.CmdSUB{}))
			wantErr(t, err, smp.AUTH)
		})
	}
}
