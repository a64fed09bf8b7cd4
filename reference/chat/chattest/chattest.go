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
