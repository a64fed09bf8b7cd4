package fuzz

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/smpkit/smpkit/internal/chatapi"
	"github.com/smpkit/smpkit/internal/chatcmd"
	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db/dbtest"
	"github.com/smpkit/smpkit/reference/relay"
)

// The bot API's request parser never panics; what it refuses is
// ErrRequest, and what it takes encodes back to the same request.
func FuzzAPIRequest(f *testing.F) {
	for _, s := range []string{
		`{"corrId":"1","cmd":"/c"}`, `{"cmd":"@bob hi","corrId":"x","extra":[1,{}]}`, `{"corrId":1,"cmd":"/c"}`,
		`{"corrId":"1"}`, `{"corrId":"1","cmd":null}`, `[]`, `null`, `"x"`, ``, `{"corrId":"\u00e9","cmd":"\ud83d\ude00"}`,
		"{\"corrId\":\"1\",\"cmd\":\"\xff\"}", `{"corrId":"1","cmd":"a","cmd":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		id, cmd, err := chatapi.ParseRequest(data)
		if err != nil {
			if !errors.Is(err, chatapi.ErrRequest) {
				t.Fatalf("ParseRequest(%q): %v is not ErrRequest", data, err)
			}
			return
		}
		again, _ := json.Marshal(map[string]string{"corrId": id, "cmd": cmd})
		id2, cmd2, err := chatapi.ParseRequest(again)
		if err != nil || id2 != id || cmd2 != cmd {
			t.Fatalf("ParseRequest(%q) = %q %q; re-encoded %s gives %q %q %v", data, id, cmd, again, id2, cmd2, err)
		}
	})
}

// Upstream's API-only commands never panic on any arguments: ExecAPI
// would turn a panic into an internalError answer, which fails here.
func FuzzAPICommand(f *testing.F) {
	for _, s := range []string{
		"/_address 1", "/_show_address 1", "/_delete_address x", "/_address_settings 1 {}",
		`/_address_settings 1 {"autoAccept":{"acceptIncognito":true},"autoReply":{"type":"text","text":"hi"}}`,
		`/_send @1 json [{"msgContent":{"type":"text","text":"hi"}}]`, `/_send #1 live=on ttl=5 json [{}]`,
		`/_send @ json`, `/_send @1 live=off json [{"quotedItemId":-1,"msgContent":{"text":""}}]`, "/_send",
		"/_accept 1", "/_accept incognito=on 1", "/_reject -5", "/_contacts 1", "/_connect 1", "/_connect 1 incognito=on",
		"/_connect plan 1 x", "/_connect 1 simplex:/contact#x", `/_update item @1 1 json {"msgContent":{"type":"text","text":"x"}}`,
		"/_update item", "/_delete item @1 1,2,x broadcast", "/_delete @1 full", "/_delete #1", "/_delete",
		`/_reaction @1 1 on {"type":"emoji","emoji":"👍"}`, "/_reaction @1 1 on", "/_x",
	} {
		f.Add(s)
	}
	rl, err := relay.StartLoopback(relay.Config{})
	if err != nil {
		f.Fatal(err)
	}
	defer rl.Close()
	ctx := context.Background()
	c, err := chat.Open(ctx, chat.Config{Dir: f.TempDir(), Passphrase: "fuzz", Relay: rl.Server,
		DBOptions: dbtest.Options()})
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreateUser(ctx, chatmsg.Profile{DisplayName: "fuzz"}); err != nil {
		f.Fatal(err)
	}
	eng := chatcmd.New(c, chatcmd.Options{Log: slog.New(slog.DiscardHandler)})
	defer eng.Close()
	go func() { // nobody else reads the events
		for range eng.Events() {
		}
	}()
	f.Fuzz(func(t *testing.T, line string) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		rs, ok := eng.ExecAPI(ctx, line)
		if !ok {
			return
		}
		if len(rs) == 0 {
			t.Fatalf("%q: no answer", line)
		}
		for _, r := range rs {
			if ce, is := r.Fields["chatError"].(chatcmd.ChatError); is && ce.Type == "internalError" {
				t.Fatalf("%q: %v", line, ce)
			}
		}
	})
}
