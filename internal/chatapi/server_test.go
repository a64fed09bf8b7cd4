package chatapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/smpkit/smpkit/internal/chatcmd"
)

// fakeSession answers a few fixed commands; the real one is tested in
// cmd/smp-chat.
type fakeSession struct {
	events chan chatcmd.Response
}

func newFake() *fakeSession { return &fakeSession{events: make(chan chatcmd.Response)} }

func (f *fakeSession) Events() <-chan chatcmd.Response { return f.events }

func (f *fakeSession) Exec(ctx context.Context, line string) []chatcmd.Response {
	switch {
	case line == "/c":
		return []chatcmd.Response{{Type: "invitation", Fields: map[string]any{"connLinkInvitation": map[string]any{"connFullLink": "simplex:/invitation#x"}}}}
	case line == "/two":
		return []chatcmd.Response{{Type: "first"}, {Type: "second"}}
	case line == "/none":
		return nil
	case line == "/panic":
		panic("boom")
	case strings.HasPrefix(line, "/echo "):
		return []chatcmd.Response{{Type: "echo", Fields: map[string]any{"text": strings.TrimPrefix(line, "/echo ")}}}
	}
	return []chatcmd.Response{{Type: "chatCmdError", Fields: map[string]any{"chatError": map[string]any{"type": "error", "errorType": map[string]any{"type": "commandError", "message": "unknown command"}}}}}
}

// start serves the fake session on a loopback port for the test.
func start(t *testing.T, f *fakeSession, cfg Config) (*Server, string) {
	t.Helper()
	s := New(f, cfg)
	ln, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, "ws://" + ln.Addr().String()
}

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func send(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

func recv(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCommandAnswered(t *testing.T) {
	_, url := start(t, newFake(), Config{})
	c := dial(t, url)
	send(t, c, `{"corrId":"1","cmd":"/c"}`)
	want := `{"corrId":"1","resp":{"connLinkInvitation":{"connFullLink":"simplex:/invitation#x"},"type":"invitation"}}`
	if got := recv(t, c); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	send(t, c, `{"corrId":"2","cmd":"/none"}`)
	if got, want := recv(t, c), `{"corrId":"2","resp":{"type":"cmdOk"}}`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

const invalidRequest = `{"resp":{"chatError":{"errorType":{"message":"invalid request","type":"commandError"},"type":"error"},"type":"chatCmdError"}}`

func TestBadRequestsAnswered(t *testing.T) {
	_, url := start(t, newFake(), Config{})
	c := dial(t, url)
	for _, bad := range []string{
		`not json`,
		``,
		`[]`,
		`{"corrId":1,"cmd":"/c"}`,
		`{"cmd":"/c"}`,
		`{"corrId":"1"}`,
		`{"corrId":"1","cmd":null}`,
		"{\"corrId\":\"1\",\"cmd\":\"\xff\"",
		"{\"corrId\":\"1\",\"cmd\":\"\xff\"}",
	} {
		send(t, c, bad)
		if got := recv(t, c); got != invalidRequest {
			t.Errorf("%q: got %s", bad, got)
		}
	}
	// A binary frame is read like a text one.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageBinary, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, c); got != invalidRequest {
		t.Errorf("binary: got %s", got)
	}
	send(t, c, `{"corrId":"p","cmd":"/panic"}`)
	if got := recv(t, c); !strings.HasPrefix(got, `{"corrId":"p","resp":{"chatError":`) || !strings.Contains(got, "internal error: boom") {
		t.Errorf("panic: got %s", got)
	}
	// The connection still works.
	send(t, c, `{"corrId":"ok","cmd":"/echo hi"}`)
	if got, want := recv(t, c), `{"corrId":"ok","resp":{"text":"hi","type":"echo"}}`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestExtraAnswersFollowAsEvents(t *testing.T) {
	_, url := start(t, newFake(), Config{})
	c := dial(t, url)
	send(t, c, `{"corrId":"7","cmd":"/two"}`)
	if got, want := recv(t, c), `{"corrId":"7","resp":{"type":"first"}}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got, want := recv(t, c), `{"resp":{"type":"second"}}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// Each of several clients gets the answers to its own commands, in order,
// and every event.
func TestManyClients(t *testing.T) {
	f := newFake()
	s, url := start(t, f, Config{})
	const n, cmds = 5, 20
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = dial(t, url)
	}
	waitClients(t, s, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for j := range cmds {
				msg := fmt.Sprintf(`{"corrId":"%d-%d","cmd":"/echo %d %d"}`, i, j, i, j)
				if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
					errs <- err
					return
				}
			}
			for j := range cmds {
				_, b, err := c.Read(ctx)
				if err != nil {
					errs <- err
					return
				}
				want := fmt.Sprintf(`{"corrId":"%d-%d","resp":{"text":"%d %d","type":"echo"}}`, i, j, i, j)
				if string(b) != want {
					errs <- fmt.Errorf("client %d: got %s, want %s", i, b, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	f.events <- chatcmd.Response{Type: "contactConnected", Fields: map[string]any{"note": "x"}}
	for i, c := range conns {
		if got, want := recv(t, c), `{"resp":{"note":"x","type":"contactConnected"}}`; got != want {
			t.Errorf("client %d: got %s, want %s", i, got, want)
		}
	}
}

// A client that stops reading is disconnected; the chat's events never
// wait for it and the other clients get all of them.
func TestSlowClientDisconnected(t *testing.T) {
	f := newFake()
	s, url := start(t, f, Config{Queue: 4, WriteTimeout: 300 * time.Millisecond})
	slow := dial(t, url)
	fast := dial(t, url)
	waitClients(t, s, 2)
	big := strings.Repeat("x", 256<<10)
	for i := 0; s.Clients() == 2; i++ {
		if i == 400 { // 100 MiB: far more than socket buffers hold
			t.Fatal("slow client never disconnected")
		}
		select {
		case f.events <- chatcmd.Response{Type: "big", Fields: map[string]any{"n": i, "text": big}}:
		case <-time.After(5 * time.Second):
			t.Fatal("events blocked by a slow client")
		}
		var got struct {
			Resp struct{ N int }
		}
		if err := json.Unmarshal([]byte(recv(t, fast)), &got); err != nil || got.Resp.N != i {
			t.Fatalf("fast client: event %d: got %d (%v)", i, got.Resp.N, err)
		}
	}
	// The fast client still gets events and answers.
	f.events <- chatcmd.Response{Type: "after"}
	if got, want := recv(t, fast), `{"resp":{"type":"after"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	send(t, fast, `{"corrId":"1","cmd":"/none"}`)
	if got, want := recv(t, fast), `{"corrId":"1","resp":{"type":"cmdOk"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// The slow client finds its connection closed once it reads on.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := slow.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("slow client's connection was not closed")
			}
			break
		}
	}
}

func TestServeStopDisconnects(t *testing.T) {
	f := newFake()
	s := New(f, Config{})
	ln, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	c := dial(t, "ws://"+ln.Addr().String())
	waitClients(t, s, 1)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer rcancel()
	_, _, err = c.Read(rctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("read after stop: %v, want close status 1001", err)
	}
}

func waitClients(t *testing.T, s *Server, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); s.Clients() != n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d clients connected, want %d", s.Clients(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A web page of another origin cannot drive the profile: the browser sends
// its Origin, and the server refuses the upgrade.
func TestOtherOriginRefused(t *testing.T) {
	s, url := start(t, newFake(), Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: map[string][]string{"Origin": {"https://evil.example"}}})
	if err == nil {
		c.CloseNow()
		t.Fatal("connected with a foreign Origin")
	}
	if resp == nil || resp.StatusCode != 403 {
		t.Fatalf("foreign Origin: %v, %v; want 403", resp, err)
	}
	if n := s.Clients(); n != 0 {
		t.Fatalf("%d clients", n)
	}
}

// DNS rebinding: a page's own name pointed at 127.0.0.1 comes as Host (and
// as Origin, so the Origin check lets it by); the server refuses it.
func TestRebindingHostRefused(t *testing.T) {
	_, url := start(t, newFake(), Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Host: "evil.example:5225", HTTPHeader: map[string][]string{"Origin": {"http://evil.example:5225"}}})
	if err == nil {
		c.CloseNow()
		t.Fatal("connected with a foreign Host")
	}
	if resp == nil || resp.StatusCode != 403 {
		t.Fatalf("foreign Host: %v, %v; want 403", resp, err)
	}
	for host, ok := range map[string]bool{"127.0.0.1:5225": true, "localhost:1": true, "[::1]:5225": true, "127.1.2.3": true, "LOCALHOST": true,
		"evil.example:5225": false, "10.0.0.1:5225": false, "": false, "[::2]:1": false} {
		if loopbackHost(host) != ok {
			t.Errorf("loopbackHost(%q) = %v", host, !ok)
		}
	}
}
