package relay_test

import (
	"testing"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// TestX25519AuthenticatorsCached: with the session's agreement cached after
// the first verified authenticator, later commands still verify, and an
// authenticator made with another key still fails (SMP-AUTH-2, VERIFY-3).
func TestX25519AuthenticatorsCached(t *testing.T) {
	tr := startRelay(t, relay.Config{})
	cl := tr.dial(smp.VersionMax)
	q := newQueue(t, cl, smp.CmdNEW{QueueReq: &smp.QueueReq{Mode: smp.QueueMessaging}}, smpcrypto.X25519)
	for range 3 {
		mustDo(t, cl, q.rcv(smp.CmdQUE{}))
	}
	other := genKey(t, smpcrypto.X25519)
	_, err := do(t, cl, client.Request{Key: other, EntityID: q.ids.RcvID, Command: smp.CmdQUE{}})
	wantErr(t, err, smp.AUTH)
	mustDo(t, cl, q.rcv(smp.CmdQUE{}))
	// A second session agrees on its own secret.
	cl2 := tr.dial(smp.VersionMax)
	mustDo(t, cl2, q.rcv(smp.CmdQUE{}))
	_, err = do(t, cl2, client.Request{Key: other, EntityID: q.ids.RcvID, Command: smp.CmdQUE{}})
	wantErr(t, err, smp.AUTH)
}
