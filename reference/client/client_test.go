package client_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

func startRelay(t *testing.T, cfg relay.Config) smp.Server {
	t.Helper()
	l, err := relay.StartLoopback(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Server
}

func dial(t *testing.T, srv smp.Server, cfg client.Config) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := client.Dial(ctx, srv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func TestVersionPinAndALPN(t *testing.T) {
	srv := startRelay(t, relay.Config{})
	for v := smp.VersionMin; v <= smp.VersionMax; v++ {
		if got := dial(t, srv, client.Config{Versions: smp.VersionRange{Min: v, Max: v}}).Version(); got != v {
			t.Errorf("pinned v%d, agreed v%d", v, got)
		}
	}
	if got := dial(t, srv, client.Config{NoALPN: true}).Version(); got != 6 {
		t.Errorf("without ALPN agreed v%d, want 6", got)
	}
	if got := dial(t, srv, client.Config{}).Version(); got != smp.VersionMax {
		t.Errorf("default agreed v%d", got)
	}
}

func TestWrongIdentityRejectedBeforeAnyCommand(t *testing.T) {
	srv := startRelay(t, relay.Config{})
	srv.KeyHash = make([]byte, 32)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := client.Dial(ctx, srv, client.Config{}); !errors.Is(err, transport.ErrIdentity) {
		t.Fatalf("got %v, want the identity error", err)
	}
}

func TestCancelAndClose(t *testing.T) {
	srv := startRelay(t, relay.Config{})
	cl := dial(t, srv, client.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cl.Do(ctx, client.Request{Command: smp.CmdPING{}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Do: %v", err)
	}
	if _, err := cl.Do(context.Background(), client.Request{Command: smp.CmdPING{}}); err != nil {
		t.Fatalf("PING after a cancelled call: %v", err)
	}
	cl.Close()
	<-cl.Done()
	if _, err := cl.Do(context.Background(), client.Request{Command: smp.CmdPING{}}); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Do after Close: %v", err)
	}
	if _, ok := <-cl.Events(); ok {
		t.Fatal("events channel open after Close")
	}
}

// A relay that closes idle connections keeps a pinging client.
func TestKeepAlive(t *testing.T) {
	srv := startRelay(t, relay.Config{IdleTimeout: 300 * time.Millisecond})
	alive := dial(t, srv, client.Config{PingInterval: 100 * time.Millisecond})
	silent := dial(t, srv, client.Config{PingInterval: -1})
	select {
	case <-silent.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the relay did not close the idle connection")
	}
	select {
	case <-alive.Done():
		t.Fatalf("pinging client closed: %v", alive.Err())
	default:
	}
}

func TestSubscriptionEvents(t *testing.T) {
	srv := startRelay(t, relay.Config{})
	rc, sc := dial(t, srv, client.Config{}), dial(t, srv, client.Config{})
	k, _ := smpcrypto.GenerateKey(smpcrypto.Ed25519, rand.Reader)
	dh, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	ctx := context.Background()
	rsp, err := rc.Do(ctx, client.Request{Key: k, Command: smp.CmdNEW{RcvAuthKey: k.Public(), RcvDHKey: dh.Public(),
		SubMode: smp.SubModeSubscribe, QueueReq: &smp.QueueReq{Mode: smp.QueueMessaging}}})
	if err != nil {
		t.Fatal(err)
	}
	ids := rsp.(smp.RspIDS)
	// A batch of commands in one block, answered by correlation id.
	res, err := sc.DoBatch(ctx, []client.Request{
		{EntityID: ids.SndID, Command: smp.CmdSEND{Body: []byte("a")}},
		{Command: smp.CmdPING{}},
		{EntityID: make([]byte, 24), Command: smp.CmdSEND{Body: []byte("b")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var se *client.ServerError
	if res[0].Err != nil || res[1].Response.Tag() != "PONG" || !errors.As(res[2].Err, &se) || !se.Err.Equal(smp.AUTH) {
		t.Fatalf("batch results %+v", res)
	}
	select {
	case ev := <-rc.Events():
		if ev.Response.Tag() != "MSG" {
			t.Fatalf("event %s", ev.Response.Tag())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no MSG event")
	}
}

func TestProxiedSend(t *testing.T) {
	dest := startRelay(t, relay.Config{})
	proxy := startRelay(t, relay.Config{})
	rc := dial(t, dest, client.Config{})
	k, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader) // X25519 keys: authenticators through the proxy
	dh, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	ctx := context.Background()
	rsp, err := rc.Do(ctx, client.Request{Key: k, Command: smp.CmdNEW{RcvAuthKey: k.Public(), RcvDHKey: dh.Public(),
		SubMode: smp.SubModeSubscribe, QueueReq: &smp.QueueReq{Mode: smp.QueueMessaging}}})
	if err != nil {
		t.Fatal(err)
	}
	ids := rsp.(smp.RspIDS)
	pc := dial(t, proxy, client.Config{})
	p, err := pc.ProxyTo(ctx, dest, nil, smp.VersionRange{})
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	if _, err := p.Do(ctx, client.Request{Key: sk, EntityID: ids.SndID, Command: smp.CmdSKEY{SenderKey: sk.Public()}}); err != nil {
		t.Fatalf("proxied SKEY: %v", err)
	}
	if _, err := p.Do(ctx, client.Request{Key: sk, EntityID: ids.SndID, Command: smp.CmdSEND{Body: []byte("via proxy")}}); err != nil {
		t.Fatalf("proxied SEND: %v", err)
	}
	select {
	case ev := <-rc.Events():
		m := ev.Response.(smp.RspMSG)
		secret, _ := dh.DH(ids.RcvDHKey)
		b, err := smp.OpenMsgBody(secret, m.MsgID, m.Body)
		if err != nil || string(b.Body) != "via proxy" {
			t.Fatalf("%q, %v", b.Body, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no MSG event")
	}
	// An unsigned SEND to the now secured queue: the destination's ERR AUTH
	// comes back inside PRES.
	_, err = p.Do(ctx, client.Request{EntityID: ids.SndID, Command: smp.CmdSEND{Body: []byte("x")}})
	var se *client.ServerError
	if !errors.As(err, &se) || !se.Err.Equal(smp.AUTH) {
		t.Fatalf("unsigned proxied SEND: %v", err)
	}
	// An unknown destination: PROXY BROKER error from the proxy.
	bad := dest
	bad.Port = "1"
	if _, err := pc.ProxyTo(ctx, bad, nil, smp.VersionRange{}); !errors.As(err, &se) || se.Err.Kind != smp.ErrPROXY {
		t.Fatalf("PRXY to a closed port: %v", err)
	}
}
