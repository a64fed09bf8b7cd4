package main

import (
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/internal/chatcmd"
	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/chat/chattest"
	"github.com/smpkit/smpkit/reference/relay"
)

func openClient(t *testing.T, rl *relay.Loopback, name string) *chat.Client {
	return chattest.Open(t, rl.Server, name)
}

// The bot against smp-chat's session over a reference relay: a person
// connects to the address the bot printed and gets each message back.
func TestEchoBotAgainstRealSession(t *testing.T) {
	rl, err := relay.StartLoopback(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	botClient := openClient(t, rl, "echo")
	person := openClient(t, rl, "bob smith")
	sess := chatcmd.New(botClient, chatcmd.Options{})
	defer sess.Close()
	ctx, b, done := servedBot(t, sess, 25*time.Second)
	defer done()
	link, err := b.Setup(ctx, "hi, I echo")
	if err != nil {
		t.Fatal(err)
	}
	// Setup again finds the address.
	if again, err := b.Setup(ctx, "hi, I echo"); err != nil || again != link {
		t.Fatalf("second Setup: %q, %v; want %q", again, err, link)
	}
	var log syncBuilder
	go b.Echo(ctx, &log)

	if _, err := person.ConnectAddress(ctx, link); err != nil {
		t.Fatal(err)
	}
	bot := chattest.WaitEvent[chat.ContactConnected](t, person).Contact
	for _, msg := range []string{"", "ping", "hello, echo"} {
		if msg == "" { // the welcome of the address
			if got := chattest.WaitEvent[chat.NewItem](t, person).Item.Text; got != "hi, I echo" {
				t.Fatalf("welcome: %q", got)
			}
			continue
		}
		if _, err := person.SendText(ctx, bot.ID, msg); err != nil {
			t.Fatal(err)
		}
		for {
			it := chattest.WaitEvent[chat.NewItem](t, person).Item
			if it.ContactID == bot.ID && !it.Sent {
				if it.Text != msg {
					t.Fatalf("echo of %q: got %q", msg, it.Text)
				}
				break
			}
		}
	}
	if got := log.String(); !strings.Contains(got, "echoed to bob smith: ping") {
		t.Errorf("bot log: %q", got)
	}
}
