package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/internal/chatapi"
	"github.com/smpkit/smpkit/internal/chatcmd"
	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/chatmsg"
)

// fakeChat answers the commands the bot sends the way smp-chat does, with
// the values as apiValue shapes them, and records what was sent.
type fakeChat struct {
	events chan chatcmd.Response
	mu     sync.Mutex
	lines  []string
	sent   chan string
}

func (f *fakeChat) Events() <-chan chatcmd.Response { return f.events }

func (f *fakeChat) Exec(_ context.Context, line string) []chatcmd.Response {
	f.mu.Lock()
	f.lines = append(f.lines, line)
	f.mu.Unlock()
	addr := chat.Address{UserID: 1, Link: "simplex:/contact#/?v=2-7&smp=fake"}
	switch {
	case line == "/show_address":
		return []chatcmd.Response{{Type: "chatCmdError", Fields: map[string]any{"chatError": map[string]any{"type": "errorStore", "storeError": map[string]any{"type": "userContactLinkNotFound"}}}}}
	case line == "/address":
		return []chatcmd.Response{{Type: "userContactLinkCreated", Fields: map[string]any{"connLinkContact": chatcmd.ConnLink(addr.Link)}}}
	case strings.HasPrefix(line, "/auto_accept on"):
		addr.AutoAccept = true
		return []chatcmd.Response{{Type: "userContactLinkUpdated", Fields: map[string]any{"contactLink": addr}}}
	case strings.HasPrefix(line, "/_send @"):
		f.sent <- line
		return []chatcmd.Response{{Type: "newChatItems"}}
	}
	return []chatcmd.Response{{Type: "chatCmdError"}}
}

func TestEchoBotAgainstFakeSession(t *testing.T) {
	f := &fakeChat{events: make(chan chatcmd.Response), sent: make(chan string, 4)}
	ctx, b, done := servedBot(t, f, 20*time.Second)
	defer done()
	link, err := b.Setup(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if link != "simplex:/contact#/?v=2-7&smp=fake" {
		t.Fatalf("address %q", link)
	}
	var log strings.Builder
	echoed := make(chan error, 1)
	go func() { echoed <- b.Echo(ctx, &log) }()

	bob := chat.Contact{ID: 2, UserID: 1, LocalName: "bob smith", Profile: &chatmsg.Profile{DisplayName: "bob smith"}, Status: chat.StatusConnected}
	in := chat.Item{ID: 5, UserID: 1, ContactID: 2, Content: chatmsg.Content{Type: "text", Text: "hello there", HasText: true}, Text: "hello there", Status: chat.ItemReceived, CreatedAt: time.Now()}
	mine := in
	mine.Sent, mine.ID = true, 6
	f.events <- chatcmd.Response{Type: "newChatItems", Fields: map[string]any{"chatItems": []chatcmd.AChatItem{{Contact: &bob, Item: &mine}, {Contact: &bob, Item: &in}}}}
	select {
	case got := <-f.sent:
		if want := `/_send @2 json [{"msgContent":{"text":"hello there","type":"text"}}]`; got != want {
			t.Fatalf("bot sent %q, want %q", got, want)
		}
	case <-ctx.Done():
		t.Fatal("bot sent nothing")
	}
	done()
	<-echoed
	f.mu.Lock()
	defer f.mu.Unlock()
	if want := []string{"/show_address", "/address", "/auto_accept on", `/_send @2 json [{"msgContent":{"text":"hello there","type":"text"}}]`}; strings.Join(f.lines, "|") != strings.Join(want, "|") {
		t.Errorf("commands %q, want %q", f.lines, want)
	}
}

func TestFlags(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"--version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "echo-bot ") {
		t.Errorf("--version: %d %q %q", code, out.String(), errb.String())
	}
	errb.Reset()
	if code := run([]string{"--nope"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "nope") {
		t.Errorf("bad flag: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"--api", "ws://127.0.0.1:1"}, &out, &errb); code != 1 || !strings.HasPrefix(errb.String(), "echo-bot: connect to ws://127.0.0.1:1") || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("no server: %d %q", code, errb.String())
	}
}

// syncBuilder is a strings.Builder safe for a writer and a reader.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// servedBot serves the bot API over sess on a loopback port and dials
// the bot to it. done, which may be called more than once, closes the
// bot and stops the server (the caller defers it, so that they end before
// the session does); ctx ends after timeout or at done.
func servedBot(t *testing.T, sess chatcmd.Session, timeout time.Duration) (ctx context.Context, b *Bot, done func()) {
	t.Helper()
	srv := chatapi.New(sess, chatapi.Config{})
	ln, err := chatapi.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	if b, err = Dial(ctx, "ws://"+ln.Addr().String()); err != nil {
		stop()
		<-served
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	return ctx, b, func() {
		once.Do(func() {
			b.Close()
			stop()
			<-served
			cancel()
		})
	}
}
