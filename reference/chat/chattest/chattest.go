// Package chattest opens chat clients for the tests of packages that build
// on reference/chat (the bot API, smp-chat's session, the example bots).
package chattest

import (
	"context"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db/dbtest"
	"github.com/smpkit/smpkit/reference/smp"
)

// Open opens a chat client in a temporary directory, using relay srv and
// the cheap test KDF, with one user called name; it is closed when the
// test ends.
func Open(t testing.TB, srv smp.Server, name string) *chat.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := chat.Open(ctx, chat.Config{Dir: t.TempDir(), Passphrase: "chattest " + name, Relay: srv, DBOptions: dbtest.Options()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.CreateUser(ctx, chatmsg.Profile{DisplayName: name}); err != nil {
		t.Fatal(err)
	}
	return c
}

// WaitEvent returns the client's next event of type T, skipping others,
// and fails the test after 15 s without one.
func WaitEvent[T chat.Event](t testing.TB, c *chat.Client) T {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev := <-c.Events():
			if e, ok := ev.(T); ok {
				return e
			}
		case <-timeout:
			var zero T
			t.Fatalf("no %T event", zero)
		}
	}
}

// JSONAt reads a value from loosely decoded JSON (maps and lists, as
// encoding/json makes them into any) by keys and list indexes; nil where
// the path leads nowhere. For tests of the bot API's JSON.
func JSONAt(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}
