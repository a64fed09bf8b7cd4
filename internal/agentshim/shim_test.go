package agentshim

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/smpkit/smpkit/internal/driver"
	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/relay"
)

// TestShimConnects drives the shim through hello, start, an invitation
// that a reference agent joins, and one message each way.
func TestShimConnects(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rl, err := relay.StartLoopback(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, inR, outW, Options{}); outW.Close() }()
	w, r := driver.NewWriter(inW), driver.NewReader(outR)
	lines := make(chan driver.Msg, 100)
	go func() {
		for {
			m, err := r.Read()
			if err != nil {
				close(lines)
				return
			}
			lines <- m
		}
	}()
	next := func(pred func(driver.Msg) bool) driver.Msg {
		t.Helper()
		for {
			select {
			case m, ok := <-lines:
				if !ok {
					t.Fatal("shim output ended")
				}
				if pred(m) {
					return m
				}
			case <-ctx.Done():
				t.Fatal("timeout")
			}
		}
	}
	var id int64
	call := func(m driver.Msg) driver.Msg {
		t.Helper()
		id++
		m.ID = id
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
		rep := next(func(x driver.Msg) bool { return x.IsReply() && x.ID == id })
		if rep.OK == nil || !*rep.OK {
			t.Fatalf("%s: %s", m.Cmd, rep.Error)
		}
		return rep
	}
	rng, _ := json.Marshal(driver.Range{Min: 1, Max: 1})
	if h := call(driver.Msg{Cmd: driver.CmdHello, Driver: rng}); string(h.Driver) != "1" {
		t.Fatalf("hello: driver %s", h.Driver)
	}
	call(driver.Msg{Cmd: driver.CmdStart, Relay: rl.Server.String(), DataDir: t.TempDir()})
	inv := call(driver.Msg{Cmd: driver.CmdCreateInvitation, Procedure: "fast"})
	peer, err := agent.New(ctx, ReferenceConfig(rl.Server, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	pc, err := peer.Join(ctx, inv.Link, []byte("peer"))
	if err != nil {
		t.Fatal(err)
	}
	conf := next(func(x driver.Msg) bool { return x.Event == driver.EvConf })
	if driver.Val(conf.Info) != "peer" || conf.Conn != inv.Conn {
		t.Fatalf("conf %+v", conf)
	}
	call(driver.Msg{Cmd: driver.CmdAllow, Conn: inv.Conn, Info: driver.Str("shim")})
	next(func(x driver.Msg) bool { return x.Event == driver.EvCon })
	sent := call(driver.Msg{Cmd: driver.CmdSend, Conn: inv.Conn, Body: driver.Str("hi")})
	for e := range peer.Events() {
		if e.Kind == agent.EventMsg {
			if string(e.Body) != "hi" || e.MsgID != sent.MsgID {
				t.Fatalf("peer got %q id %d, sent id %d", e.Body, e.MsgID, sent.MsgID)
			}
			if err := peer.Ack(ctx, pc, e.MsgID); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if got := next(func(x driver.Msg) bool { return x.Event == driver.EvRcvd }); got.MsgID != sent.MsgID {
		t.Fatalf("rcvd %d, want %d", got.MsgID, sent.MsgID)
	}
	if _, err := peer.Send(ctx, pc, []byte("back")); err != nil {
		t.Fatal(err)
	}
	if got := next(func(x driver.Msg) bool { return x.Event == driver.EvMsg }); driver.Val(got.Body) != "back" {
		t.Fatalf("msg %+v", got)
	}
	call(driver.Msg{Cmd: driver.CmdRestart})
	call(driver.Msg{Cmd: driver.CmdSend, Conn: inv.Conn, Body: driver.Str("after restart")})
	id++
	w.Write(driver.Msg{ID: id, Cmd: driver.CmdQuit})
	next(func(x driver.Msg) bool { return x.IsReply() && x.ID == id })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
