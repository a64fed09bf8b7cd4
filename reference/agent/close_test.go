package agent_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Closing right after a Send keeps the message: it goes after the
// restart. (A delivery worker that found the agent closing took it for a
// deleted connection and dropped the envelope.) The window is small, so
// the test closes many times, at varying points.
func TestCloseKeepsOutbox(t *testing.T) {
	srv := startRelay(t)
	aDir := t.TempDir()
	alice, bob := newAgent(t, aDir, srv, nil), newAgent(t, t.TempDir(), srv, nil)
	aConn, _ := connect(t, alice, bob)
	ctx := context.Background()
	for i := 0; i < 40; i++ {
		id, err := alice.Send(ctx, aConn, []byte(fmt.Sprint("m", i)))
		if err != nil {
			t.Fatal(err)
		}
		// Close at varying points of the delivery under way (a timing
		// spread, not an assertion).
		time.Sleep(time.Duration(i%20) * 100 * time.Microsecond)
		alice.Close()
		alice = newAgent(t, aDir, srv, nil)
		for {
			ev := next(t, bob, "MSG", "ERR")
			if ev.Kind == "MSG" && ev.MsgID == id {
				break
			}
			// ERR: a copy sent again after the restart (the relay had it).
		}
	}
}
