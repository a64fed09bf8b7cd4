package agent_test

import (
	"bytes"
	"context"
	"testing"
)

// The associated-data hash (the chat's security code) is the same on both
// sides, differs between connections and changes when the ratchets are
// re-agreed.
func TestRatchetADHash(t *testing.T) {
	r := startRelay(t)
	alice, bob := newAgent(t, t.TempDir(), r, nil), newAgent(t, t.TempDir(), r, nil)
	aConn, bConn := connect(t, alice, bob)
	aConn2, _ := connect(t, alice, bob)
	ctx := context.Background()
	ha, err := alice.RatchetADHash(ctx, aConn)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := bob.RatchetADHash(ctx, bConn)
	if err != nil {
		t.Fatal(err)
	}
	if len(ha) != 32 || !bytes.Equal(ha, hb) {
		t.Fatalf("alice %x, bob %x", ha, hb)
	}
	if h2, _ := alice.RatchetADHash(ctx, aConn2); bytes.Equal(h2, ha) {
		t.Fatal("two connections with one hash")
	}
	if _, err := alice.RatchetADHash(ctx, "no such connection"); err == nil {
		t.Fatal("hash of a missing connection")
	}
	if err := alice.SyncRatchet(ctx, aConn); err != nil {
		t.Fatal(err)
	}
	next(t, alice, "RSYNC")
	next(t, bob, "RSYNC")
	ha2, _ := alice.RatchetADHash(ctx, aConn)
	hb2, _ := bob.RatchetADHash(ctx, bConn)
	if !bytes.Equal(ha2, hb2) || bytes.Equal(ha2, ha) {
		t.Fatalf("after resync: alice %x, bob %x, before %x", ha2, hb2, ha)
	}
}
